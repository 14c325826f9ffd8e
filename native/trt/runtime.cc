// Deserialized engines: inspection, inference through a small pool of execution contexts (each with its own
// stream and buffers), and benchmarking timed with CUDA events. All GPU work runs on job threads.
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <map>

#include "trt_common.h"

#if defined(__GNUC__)
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
#endif

namespace trtn {
namespace {

struct CudaBuffer {
  void* ptr = nullptr;
  size_t size = 0;
  bool pinned = false;
  void Free() {
    if (ptr != nullptr) {
      if (pinned) cudaFreeHost(ptr);
      else cudaFree(ptr);
    }
    ptr = nullptr;
    size = 0;
  }
  JobError Ensure(size_t bytes, const std::string& what) {
    if (bytes <= size && ptr != nullptr) return {};
    Free();
    cudaError_t status = pinned ? cudaMallocHost(&ptr, bytes) : cudaMalloc(&ptr, bytes);
    if (status != cudaSuccess) {
      ptr = nullptr;
      return CudaError(status, std::string(pinned ? "cudaMallocHost" : "cudaMalloc") + " of " + std::to_string(bytes) + " bytes for " + what);
    }
    size = bytes;
    return {};
  }
};

// One execution context with its stream, events and staging buffers; used by one job at a time.
struct ExecSlot {
  int device = 0;
  TrtPtr<nvinfer1::IExecutionContext> context;
  cudaStream_t stream = nullptr;
  cudaEvent_t start = nullptr, stop = nullptr;
  std::map<std::string, CudaBuffer> deviceBuffers, hostBuffers;
  ~ExecSlot() {
    cudaSetDevice(device);
    context.reset();
    for (auto& b : deviceBuffers) b.second.Free();
    for (auto& b : hostBuffers) b.second.Free();
    if (start) cudaEventDestroy(start);
    if (stop) cudaEventDestroy(stop);
    if (stream) cudaStreamDestroy(stream);
  }
};

struct EngineHolder {
  int device = 0;
  std::shared_ptr<LogSink> loadSink;
  TrtPtr<nvinfer1::IRuntime> runtime;  // declared first: destroyed last
  TrtPtr<nvinfer1::ICudaEngine> engine;
  std::mutex mutex;
  std::condition_variable available;
  std::vector<std::unique_ptr<ExecSlot>> idle;  // destroyed before the engine
  int created = 0;
  static constexpr int kMaxSlots = 4;

  ~EngineHolder() {
    cudaSetDevice(device);
    idle.clear();
    engine.reset();
    runtime.reset();
  }

  // A free context, creating up to kMaxSlots; further callers wait for one to come back.
  std::unique_ptr<ExecSlot> Acquire(const JobContext& job, LogSink& sink, JobError* error) {
    std::unique_lock<std::mutex> lock(mutex);
    while (idle.empty() && created >= kMaxSlots) {
      if (job.Cancelled()) {
        *error = job.CancelledError();
        return nullptr;
      }
      available.wait_for(lock, std::chrono::milliseconds(20));
    }
    if (!idle.empty()) {
      auto slot = std::move(idle.back());
      idle.pop_back();
      return slot;
    }
    ++created;
    lock.unlock();
    auto slot = std::make_unique<ExecSlot>();
    slot->device = device;
    slot->context.reset(engine->createExecutionContext());
    cudaError_t status = cudaSuccess;
    if (slot->context) status = cudaStreamCreateWithFlags(&slot->stream, cudaStreamNonBlocking);
    if (status == cudaSuccess && slot->context) status = cudaEventCreate(&slot->start);
    if (status == cudaSuccess && slot->context) status = cudaEventCreate(&slot->stop);
    if (!slot->context || status != cudaSuccess) {
      *error = !slot->context ? JobError{"ERR_TENSORRT", "createExecutionContext failed" + (sink.Errors().empty() ? std::string() : ": " + sink.Errors()), {}}
                              : CudaError(status, "creating a CUDA stream/event");
      std::lock_guard<std::mutex> relock(mutex);
      --created;
      available.notify_one();
      return nullptr;
    }
    return slot;
  }

  void Release(std::unique_ptr<ExecSlot> slot) {
    std::lock_guard<std::mutex> lock(mutex);
    idle.push_back(std::move(slot));
    available.notify_one();
  }
};

using EngineRef = std::shared_ptr<EngineHolder>;

struct TensorIn {
  std::string name;
  std::vector<int64_t> dims;
  std::vector<uint8_t> data;  // empty for benchmarks (a fixed pattern is uploaded once)
};

struct TensorOut {
  std::string name;
  std::string dtype;
  std::vector<int64_t> dims;
  std::vector<uint8_t> data;
};

size_t Volume(const std::vector<int64_t>& dims) {
  size_t n = 1;
  for (int64_t d : dims) n *= static_cast<size_t>(d < 0 ? 0 : d);
  return n;
}

// Set input shapes and bind device buffers for every IO tensor; returns the output tensors' shapes.
JobError Bind(EngineHolder& holder, ExecSlot& slot, const std::vector<TensorIn>& inputs, std::vector<TensorOut>* outputs, LogSink& sink) {
  nvinfer1::ICudaEngine& engine = *holder.engine;
  for (const TensorIn& in : inputs) {
    if (engine.getTensorIOMode(in.name.c_str()) != nvinfer1::TensorIOMode::kINPUT) {
      return {"ERR_INVALID_ARG", "'" + in.name + "' is not an input of this engine", {{"tensor", in.name}}};
    }
    if (!slot.context->setInputShape(in.name.c_str(), VectorToDims(in.dims))) {
      nvinfer1::Dims lo = engine.getProfileShape(in.name.c_str(), 0, nvinfer1::OptProfileSelector::kMIN);
      nvinfer1::Dims hi = engine.getProfileShape(in.name.c_str(), 0, nvinfer1::OptProfileSelector::kMAX);
      return {"ERR_SHAPE", "input '" + in.name + "' shape " + DimsToString(VectorToDims(in.dims)) + " is outside the engine's profile " + DimsToString(lo) + " .. " + DimsToString(hi), {{"tensor", in.name}}};
    }
    const nvinfer1::DataType type = engine.getTensorDataType(in.name.c_str());
    const size_t bytes = Volume(in.dims) * DtypeSize(type);
    if (!in.data.empty() && in.data.size() != bytes) {
      return {"ERR_SHAPE", "input '" + in.name + "' carries " + std::to_string(in.data.size()) + " bytes, expected " + std::to_string(bytes) + " for " + DimsToString(VectorToDims(in.dims)) + " " + DtypeName(type), {{"tensor", in.name}}};
    }
    CudaBuffer& dev = slot.deviceBuffers[in.name];
    JobError e = dev.Ensure(bytes, "input '" + in.name + "'");
    if (!e.ok()) return e;
    CudaBuffer& host = slot.hostBuffers[in.name];
    host.pinned = true;
    e = host.Ensure(bytes, "input '" + in.name + "' staging");
    if (!e.ok()) return e;
    slot.context->setTensorAddress(in.name.c_str(), dev.ptr);
  }
  for (int i = 0; i < engine.getNbIOTensors(); ++i) {
    const char* name = engine.getIOTensorName(i);
    if (engine.getTensorIOMode(name) != nvinfer1::TensorIOMode::kOUTPUT) continue;
    nvinfer1::Dims dims = slot.context->getTensorShape(name);
    std::vector<int64_t> shape = DimsToVector(dims);
    for (int64_t d : shape) {
      if (d < 0) return {"ERR_UNSUPPORTED", std::string("output '") + name + "' has a data-dependent shape " + DimsToString(dims) + ", which this runtime does not support", {{"tensor", name}}};
    }
    const nvinfer1::DataType type = engine.getTensorDataType(name);
    const size_t bytes = std::max<size_t>(Volume(shape) * DtypeSize(type), 1);
    CudaBuffer& dev = slot.deviceBuffers[name];
    JobError e = dev.Ensure(bytes, std::string("output '") + name + "'");
    if (!e.ok()) return e;
    CudaBuffer& host = slot.hostBuffers[name];
    host.pinned = true;
    e = host.Ensure(bytes, std::string("output '") + name + "' staging");
    if (!e.ok()) return e;
    slot.context->setTensorAddress(name, dev.ptr);
    outputs->push_back({name, DtypeName(type), shape, {}});
  }
  if (slot.context->inferShapes(0, nullptr) != 0) {
    return {"ERR_SHAPE", "not every input shape is set" + (sink.Errors().empty() ? std::string() : ": " + sink.Errors()), {}};
  }
  return {};
}

size_t OutputBytes(EngineHolder& holder, const TensorOut& out) {
  return Volume(out.dims) * DtypeSize(holder.engine->getTensorDataType(out.name.c_str()));
}

// H2D (from the pinned staging buffers) + enqueueV3 + D2H on the slot's stream, without waiting.
JobError Enqueue(EngineHolder& holder, ExecSlot& slot, const std::vector<TensorIn>& inputs, const std::vector<TensorOut>& outputs,
                 bool copyIn, bool copyOut, bool timeEnqueueOnly, LogSink& sink) {
  cudaError_t status = cudaSuccess;
  if (!timeEnqueueOnly) cudaEventRecord(slot.start, slot.stream);
  if (copyIn) {
    for (const TensorIn& in : inputs) {
      size_t bytes = Volume(in.dims) * DtypeSize(holder.engine->getTensorDataType(in.name.c_str()));
      status = cudaMemcpyAsync(slot.deviceBuffers[in.name].ptr, slot.hostBuffers[in.name].ptr, bytes, cudaMemcpyHostToDevice, slot.stream);
      if (status != cudaSuccess) return CudaError(status, "copying input '" + in.name + "' to the device");
    }
  }
  if (timeEnqueueOnly) cudaEventRecord(slot.start, slot.stream);
  if (!slot.context->enqueueV3(slot.stream)) {
    return {"ERR_INFERENCE", "enqueueV3 failed" + (sink.Errors().empty() ? std::string() : ": " + sink.Errors()), {}};
  }
  if (timeEnqueueOnly) cudaEventRecord(slot.stop, slot.stream);
  if (copyOut) {
    for (const TensorOut& out : outputs) {
      status = cudaMemcpyAsync(slot.hostBuffers[out.name].ptr, slot.deviceBuffers[out.name].ptr, OutputBytes(holder, out), cudaMemcpyDeviceToHost, slot.stream);
      if (status != cudaSuccess) return CudaError(status, "copying output '" + out.name + "' to the host");
    }
  }
  if (!timeEnqueueOnly) cudaEventRecord(slot.stop, slot.stream);
  return {};
}

EngineRef* Unwrap(const Napi::CallbackInfo& info) {
  if (info.Length() < 1 || !info[0].IsExternal()) ThrowError(info.Env(), "ERR_INVALID_ARG", "expected an engine handle");
  EngineRef* ref = info[0].As<Napi::External<EngineRef>>().Data();
  if (!*ref) ThrowError(info.Env(), "ERR_DISPOSED", "the engine was disposed");
  return ref;
}

std::vector<TensorIn> ReadInputs(Napi::Value value, bool withData) {
  std::vector<TensorIn> out;
  if (!value.IsArray()) return out;
  Napi::Array array = value.As<Napi::Array>();
  for (uint32_t i = 0; i < array.Length(); ++i) {
    Napi::Object o = array.Get(i).As<Napi::Object>();
    TensorIn in{o.Get("name").As<Napi::String>().Utf8Value(), ReadIntArray(o.Get("dims")), {}};
    if (withData) in.data = ReadBytes(o.Get("data"));
    out.push_back(std::move(in));
  }
  return out;
}

Napi::Array TensorInfos(Napi::Env env, nvinfer1::ICudaEngine& engine, nvinfer1::TensorIOMode mode) {
  Napi::Array out = Napi::Array::New(env);
  uint32_t n = 0;
  for (int i = 0; i < engine.getNbIOTensors(); ++i) {
    const char* name = engine.getIOTensorName(i);
    if (engine.getTensorIOMode(name) != mode) continue;
    Napi::Object t = Napi::Object::New(env);
    t.Set("name", name);
    t.Set("dtype", DtypeName(engine.getTensorDataType(name)));
    std::vector<int64_t> shape = DimsToVector(engine.getTensorShape(name));
    Napi::Array dims = Napi::Array::New(env, shape.size());
    for (size_t d = 0; d < shape.size(); ++d) dims.Set(static_cast<uint32_t>(d), static_cast<double>(shape[d]));
    t.Set("shape", dims);
    if (mode == nvinfer1::TensorIOMode::kINPUT && engine.getNbOptimizationProfiles() > 0) {
      Napi::Object profile = Napi::Object::New(env);
      const std::pair<const char*, nvinfer1::OptProfileSelector> selectors[] = {
          {"min", nvinfer1::OptProfileSelector::kMIN}, {"opt", nvinfer1::OptProfileSelector::kOPT}, {"max", nvinfer1::OptProfileSelector::kMAX}};
      for (const auto& s : selectors) {
        std::vector<int64_t> v = DimsToVector(engine.getProfileShape(name, 0, s.second));
        Napi::Array a = Napi::Array::New(env, v.size());
        for (size_t d = 0; d < v.size(); ++d) a.Set(static_cast<uint32_t>(d), static_cast<double>(v[d]));
        profile.Set(s.first, a);
      }
      t.Set("profile", profile);
    }
    out.Set(n++, t);
  }
  return out;
}

// trtLoadEngine(bytes, { device, logger, logLevel }) -> { promise: { handle, info }, cancel }
Napi::Value TrtLoadEngine(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsTypedArray() || !info[1].IsObject()) ThrowError(env, "ERR_INVALID_ARG", "trtLoadEngine(bytes, options)");
  auto bytes = std::make_shared<std::vector<uint8_t>>(ReadBytes(info[0]));
  Napi::Object options = info[1].As<Napi::Object>();
  const int device = options.Get("device").IsNumber() ? options.Get("device").As<Napi::Number>().Int32Value() : 0;
  auto sink = std::make_shared<std::shared_ptr<LogSink>>();
  auto logger = std::make_shared<std::shared_ptr<JsRef>>();
  return StartJob(
      env, "trtn.loadEngine",
      [bytes, device, sink, logger](JobContext& context) {
        JobOutcome outcome;
        outcome.cleanup = [logger](Napi::Env env) {
          if (*logger) (*logger)->Release(env);
        };
        ScopedLogSink scoped(sink->get());
        JobError e = SelectDevice(device);
        if (!e.ok()) {
          outcome.error = e;
          return outcome;
        }
        auto holder = std::make_shared<EngineHolder>();
        holder->device = device;
        holder->runtime.reset(nvinfer1::createInferRuntime(Logger()));
        if (!holder->runtime) {
          outcome.error = {"ERR_NO_TENSORRT", "createInferRuntime returned null: TensorRT could not initialise" + ((*sink)->Errors().empty() ? std::string() : ": " + (*sink)->Errors()), {}};
          return outcome;
        }
        holder->engine.reset(holder->runtime->deserializeCudaEngine(bytes->data(), bytes->size()));
        if (!holder->engine) {
          std::string why = (*sink)->Errors();
          outcome.error = {"ERR_ENGINE_LOAD", "TensorRT could not deserialize the plan (" + std::to_string(bytes->size()) + " bytes; truncated, corrupt, or built by another TensorRT version or for another GPU)" + (why.empty() ? std::string() : ": " + why), {}};
          return outcome;
        }
        std::string layers;
        TrtPtr<nvinfer1::IEngineInspector> inspector(holder->engine->createEngineInspector());
        if (inspector) {
          const char* text = inspector->getEngineInformation(nvinfer1::LayerInformationFormat::kJSON);
          if (text) layers = text;
        }
#if NV_TENSORRT_MAJOR >= 10
        const int64_t deviceMemory = holder->engine->getDeviceMemorySizeV2();
#else
        const int64_t deviceMemory = static_cast<int64_t>(holder->engine->getDeviceMemorySize());
#endif
        outcome.value = [holder, layers, deviceMemory](Napi::Env env) -> Napi::Value {
          Napi::Object out = Napi::Object::New(env);
          auto* ref = new EngineRef(holder);
          out.Set("handle", Napi::External<EngineRef>::New(env, ref, [](Napi::Env, EngineRef* r) { delete r; }));
          Napi::Object meta = Napi::Object::New(env);
          meta.Set("inputs", TensorInfos(env, *holder->engine, nvinfer1::TensorIOMode::kINPUT));
          meta.Set("outputs", TensorInfos(env, *holder->engine, nvinfer1::TensorIOMode::kOUTPUT));
          meta.Set("deviceMemoryBytes", static_cast<double>(deviceMemory));
          meta.Set("layerCount", holder->engine->getNbLayers());
          meta.Set("profileCount", holder->engine->getNbOptimizationProfiles());
          meta.Set("layerInfo", layers);
          out.Set("info", meta);
          return out;
        };
        return outcome;
      },
      [env, options, sink, logger](JobContext& context) { *sink = MakeLogSink(env, options, context, logger.get()); });
}

// trtEngineInfer(handle, { inputs: [{ name, dims, data }] }) -> { promise: [{ name, dtype, dims, data }], cancel }
Napi::Value TrtEngineInfer(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  EngineRef holder = *Unwrap(info);
  if (info.Length() < 2 || !info[1].IsObject()) ThrowError(env, "ERR_INVALID_ARG", "trtEngineInfer(handle, { inputs })");
  Napi::Object options = info[1].As<Napi::Object>();
  auto inputs = std::make_shared<std::vector<TensorIn>>(ReadInputs(options.Get("inputs"), true));
  auto sink = std::make_shared<std::shared_ptr<LogSink>>();
  auto logger = std::make_shared<std::shared_ptr<JsRef>>();
  return StartJob(
      env, "trtn.infer",
      [holder, inputs, sink, logger](JobContext& context) {
        JobOutcome outcome;
        outcome.cleanup = [logger](Napi::Env env) {
          if (*logger) (*logger)->Release(env);
        };
        ScopedLogSink scoped(sink->get());
        cudaSetDevice(holder->device);
        JobError e;
        std::unique_ptr<ExecSlot> slot = holder->Acquire(context, **sink, &e);
        if (!slot) {
          outcome.error = e;
          return outcome;
        }
        auto outputs = std::make_shared<std::vector<TensorOut>>();
        e = Bind(*holder, *slot, *inputs, outputs.get(), **sink);
        if (e.ok()) {
          for (const TensorIn& in : *inputs) std::memcpy(slot->hostBuffers[in.name].ptr, in.data.data(), in.data.size());
          e = Enqueue(*holder, *slot, *inputs, *outputs, true, true, false, **sink);
        }
        if (e.ok()) {
          cudaError_t status = cudaStreamSynchronize(slot->stream);
          if (status != cudaSuccess) e = CudaError(status, "cudaStreamSynchronize after inference");
        }
        if (e.ok()) {
          for (TensorOut& out : *outputs) {
            const uint8_t* src = static_cast<const uint8_t*>(slot->hostBuffers[out.name].ptr);
            out.data.assign(src, src + OutputBytes(*holder, out));
          }
        }
        holder->Release(std::move(slot));
        if (!e.ok()) {
          outcome.error = e;
          return outcome;
        }
        outcome.value = [outputs](Napi::Env env) -> Napi::Value {
          Napi::Array out = Napi::Array::New(env, outputs->size());
          for (size_t i = 0; i < outputs->size(); ++i) {
            const TensorOut& t = (*outputs)[i];
            Napi::Object o = Napi::Object::New(env);
            o.Set("name", t.name);
            o.Set("dtype", t.dtype);
            Napi::Array dims = Napi::Array::New(env, t.dims.size());
            for (size_t d = 0; d < t.dims.size(); ++d) dims.Set(static_cast<uint32_t>(d), static_cast<double>(t.dims[d]));
            o.Set("dims", dims);
            o.Set("data", BytesToBuffer(env, t.data.data(), t.data.size()));
            out.Set(static_cast<uint32_t>(i), o);
          }
          return out;
        };
        return outcome;
      },
      [env, options, sink, logger](JobContext& context) { *sink = MakeLogSink(env, options, context, logger.get()); });
}

// trtEngineBenchmark(handle, { inputs: [{ name, dims }], warmup, iterations, transfers })
//   -> { promise: { gpuMs: number[], wallMs: number[] }, cancel }
Napi::Value TrtEngineBenchmark(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  EngineRef holder = *Unwrap(info);
  if (info.Length() < 2 || !info[1].IsObject()) ThrowError(env, "ERR_INVALID_ARG", "trtEngineBenchmark(handle, options)");
  Napi::Object options = info[1].As<Napi::Object>();
  auto inputs = std::make_shared<std::vector<TensorIn>>(ReadInputs(options.Get("inputs"), false));
  const int warmup = options.Get("warmup").As<Napi::Number>().Int32Value();
  const int iterations = options.Get("iterations").As<Napi::Number>().Int32Value();
  const bool transfers = options.Get("transfers").ToBoolean().Value();
  auto sink = std::make_shared<std::shared_ptr<LogSink>>();
  auto logger = std::make_shared<std::shared_ptr<JsRef>>();
  return StartJob(
      env, "trtn.benchmark",
      [holder, inputs, warmup, iterations, transfers, sink, logger](JobContext& context) {
        JobOutcome outcome;
        outcome.cleanup = [logger](Napi::Env env) {
          if (*logger) (*logger)->Release(env);
        };
        ScopedLogSink scoped(sink->get());
        cudaSetDevice(holder->device);
        JobError e;
        std::unique_ptr<ExecSlot> slot = holder->Acquire(context, **sink, &e);
        if (!slot) {
          outcome.error = e;
          return outcome;
        }
        std::vector<TensorOut> outputs;
        e = Bind(*holder, *slot, *inputs, &outputs, **sink);
        auto gpu = std::make_shared<std::vector<double>>();
        auto wall = std::make_shared<std::vector<double>>();
        if (e.ok()) {
          // A fixed, non-trivial pattern uploaded once: the timed region never depends on host data.
          for (const TensorIn& in : *inputs) {
            CudaBuffer& host = slot->hostBuffers[in.name];
            uint8_t* p = static_cast<uint8_t*>(host.ptr);
            for (size_t i = 0; i < host.size; ++i) p[i] = static_cast<uint8_t>((i * 131u + 7u) & 0x3f);
            cudaMemcpy(slot->deviceBuffers[in.name].ptr, host.ptr, host.size, cudaMemcpyHostToDevice);
          }
        }
        for (int i = 0; e.ok() && i < warmup + iterations; ++i) {
          if (context.Cancelled()) {
            e = context.CancelledError();
            break;
          }
          auto t0 = std::chrono::steady_clock::now();
          e = Enqueue(*holder, *slot, *inputs, outputs, transfers, transfers, !transfers, **sink);
          if (!e.ok()) break;
          cudaError_t status = cudaEventSynchronize(slot->stop);
          if (status != cudaSuccess) {
            e = CudaError(status, "waiting for a benchmark iteration");
            break;
          }
          auto t1 = std::chrono::steady_clock::now();
          float ms = 0;
          cudaEventElapsedTime(&ms, slot->start, slot->stop);
          if (i >= warmup) {
            gpu->push_back(ms);
            wall->push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
          }
        }
        holder->Release(std::move(slot));
        if (!e.ok()) {
          outcome.error = e;
          return outcome;
        }
        outcome.value = [gpu, wall](Napi::Env env) -> Napi::Value {
          Napi::Object out = Napi::Object::New(env);
          Napi::Array g = Napi::Array::New(env, gpu->size()), w = Napi::Array::New(env, wall->size());
          for (size_t i = 0; i < gpu->size(); ++i) {
            g.Set(static_cast<uint32_t>(i), (*gpu)[i]);
            w.Set(static_cast<uint32_t>(i), (*wall)[i]);
          }
          out.Set("gpuMs", g);
          out.Set("wallMs", w);
          return out;
        };
        return outcome;
      },
      [env, options, sink, logger](JobContext& context) { *sink = MakeLogSink(env, options, context, logger.get()); });
}

// trtEngineDispose(handle): drop the JS side's share; in-flight jobs keep theirs, so the engine is freed after them.
Napi::Value TrtEngineDispose(const Napi::CallbackInfo& info) {
  if (info.Length() < 1 || !info[0].IsExternal()) ThrowError(info.Env(), "ERR_INVALID_ARG", "expected an engine handle");
  info[0].As<Napi::External<EngineRef>>().Data()->reset();
  return info.Env().Undefined();
}

}  // namespace

void InitTrtRuntime(Napi::Env env, Napi::Object exports) {
  exports.Set("trtLoadEngine", Napi::Function::New(env, TrtLoadEngine, "trtLoadEngine"));
  exports.Set("trtEngineInfer", Napi::Function::New(env, TrtEngineInfer, "trtEngineInfer"));
  exports.Set("trtEngineBenchmark", Napi::Function::New(env, TrtEngineBenchmark, "trtEngineBenchmark"));
  exports.Set("trtEngineDispose", Napi::Function::New(env, TrtEngineDispose, "trtEngineDispose"));
}

}  // namespace trtn
