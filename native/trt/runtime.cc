// Deserialized engines: inspection, inference through a pool of execution contexts (each with its own stream,
// events and buffers, bound to one optimization profile), and benchmarking with trtexec's definitions.
// All TensorRT and CUDA work runs on job threads; the JS thread only reads options and wraps results.
#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <map>
#include <random>

#include "trt_common.h"

namespace trtn {
namespace {

trt::Cuda& Cu() { return Trt().cuda(); }

struct CudaBuffer {
  void* ptr = nullptr;
  size_t size = 0;
  bool pinned = false;
  void Free() {
    if (ptr != nullptr) {
      if (pinned) Cu().FreeHost(ptr);
      else Cu().Free(ptr);
    }
    ptr = nullptr;
    size = 0;
  }
  JobError Ensure(size_t bytes, const std::string& what) {
    bytes = std::max<size_t>(bytes, 1);
    if (bytes <= size && ptr != nullptr) return {};
    Free();
    int status = pinned ? Cu().MallocHost(&ptr, bytes) : Cu().Malloc(&ptr, bytes);
    if (status != trt::Cuda::kSuccess) {
      ptr = nullptr;
      return CudaError(status, std::string(pinned ? "cudaMallocHost" : "cudaMalloc") + " of " + std::to_string(bytes) + " bytes for " + what);
    }
    size = bytes;
    return {};
  }
};

// Events around the stages of one inference: [0] H2D [1] compute [2] D2H [3].
constexpr int kEvents = 4;

// One execution context on one optimization profile, with its stream, events and staging buffers; one job at a time.
struct ExecSlot {
  int device = 0;
  int profile = 0;
  bool broken = false;  // a failed bind, enqueue or CUDA error: never goes back to the pool
  std::unique_ptr<trt::ExecutionContext> context;
  trt::Stream stream = nullptr;
  trt::Event events[kEvents] = {};
  std::map<std::string, CudaBuffer> deviceBuffers, hostBuffers;
  ~ExecSlot() {
    Cu().SetDevice(device);
    // Work still queued may use the context and the buffers: wait for it before releasing anything.
    if (stream) Cu().StreamSynchronize(stream);
    context.reset();
    for (auto& b : deviceBuffers) b.second.Free();
    for (auto& b : hostBuffers) b.second.Free();
    for (trt::Event e : events) {
      if (e) Cu().EventDestroy(e);
    }
    if (stream) Cu().StreamDestroy(stream);
  }
};

struct TensorIn {
  std::string name;
  std::vector<int64_t> dims;
  const uint8_t* data = nullptr;  // the caller's bytes (kept alive by a JS reference until the job settles)
  size_t bytes = 0;
};

struct TensorOut {
  std::string name;
  trt::DataType type = trt::DataType::kFLOAT;
  std::vector<int64_t> dims;
  std::vector<uint8_t> data;
  size_t Bytes() const { return Volume(dims) * DtypeSize(type); }
};

struct EngineHolder {
  int device = 0;
  // Declared first: destroyed last ("Destroying the IRuntime before destroying all associated ICudaEngine
  // instances results in undefined behavior").
  std::unique_ptr<trt::Runtime> runtime;
  std::unique_ptr<trt::Engine> engine;
  int64_t contextBytes = 0;
  std::mutex mutex;
  std::condition_variable available;
  std::map<int, std::vector<std::unique_ptr<ExecSlot>>> idle;  // destroyed before the engine
  std::map<int, int> onProfile;                                // live contexts per profile
  std::map<int, bool> exclusive;                               // 8.6 plan without sharing: one context per profile
  int created = 0;
  int maxSlots = 4;
  bool sticky = false;  // a sticky CUDA error: the CUDA context is unusable from now on
  std::string stickyMessage;

  ~EngineHolder() {
    Cu().SetDevice(device);
    idle.clear();
    engine.reset();
    runtime.reset();
  }

  // The profiles whose range covers these input shapes, tightest first.
  std::vector<int> CoveringProfiles(const std::vector<TensorIn>& inputs) {
    std::vector<std::pair<int64_t, int>> ranked;
    const int count = std::max(1, engine->NbOptimizationProfiles());
    for (int p = 0; p < count; ++p) {
      bool covers = true;
      int64_t slack = 0;
      for (const TensorIn& in : inputs) {
        trt::Dims shape = engine->TensorShape(in.name);
        if (std::none_of(shape.begin(), shape.end(), [](int64_t v) { return v < 0; })) continue;
        trt::Dims lo = engine->ProfileShape(in.name, p, trt::ProfileSelector::kMIN);
        trt::Dims hi = engine->ProfileShape(in.name, p, trt::ProfileSelector::kMAX);
        if (lo.size() != in.dims.size() || hi.size() != in.dims.size()) {
          covers = false;
          break;
        }
        for (size_t d = 0; d < in.dims.size(); ++d) {
          if (in.dims[d] < lo[d] || in.dims[d] > hi[d]) covers = false;
          slack += hi[d] - in.dims[d];
        }
      }
      if (covers) ranked.emplace_back(slack, p);
    }
    std::sort(ranked.begin(), ranked.end());
    std::vector<int> out;
    for (auto& r : ranked) out.push_back(r.second);
    return out;
  }

  std::unique_ptr<ExecSlot> TakeIdle(const std::vector<int>& profiles) {
    for (int p : profiles) {
      auto it = idle.find(p);
      if (it != idle.end() && !it->second.empty()) {
        auto slot = std::move(it->second.back());
        it->second.pop_back();
        return slot;
      }
    }
    return nullptr;
  }

  // A new context on the first of `profiles` it can use, or null with *why set (error) or empty (wait).
  std::unique_ptr<ExecSlot> Create(const std::vector<int>& profiles, LogSink& sink, JobError* error) {
    auto slot = std::make_unique<ExecSlot>();
    slot->device = device;
    int status = Cu().StreamCreate(&slot->stream);
    for (int i = 0; status == trt::Cuda::kSuccess && i < kEvents; ++i) status = Cu().EventCreate(&slot->events[i]);
    if (status != trt::Cuda::kSuccess) {
      *error = CudaError(status, "creating a CUDA stream/event for an execution context");
      return nullptr;
    }
    slot->context = engine->CreateExecutionContext();
    if (!slot->context) {
      size_t freeBytes = 0, total = 0;
      Cu().MemGetInfo(&freeBytes, &total);
      *error = {"ERR_TENSORRT", "createExecutionContext failed (a context needs " + std::to_string(contextBytes) + " bytes of device memory; " + std::to_string(freeBytes) + " free)" + (sink.Errors().empty() ? std::string() : ": " + sink.Errors()), {}};
      return nullptr;
    }
    // Always select the profile explicitly: on 8.6 a new context gets profile 0 only if no other context holds it
    // (else -1, and every enqueueV3 fails).
    for (int p : profiles) {
      if (exclusive[p] && onProfile[p] > 0) continue;
      if (slot->context->SetOptimizationProfileAsync(p, slot->stream) && Cu().StreamSynchronize(slot->stream) == trt::Cuda::kSuccess) {
        slot->profile = p;
        return slot;
      }
      // Only a plan built without profile sharing on 8.6 refuses a profile another context holds.
      if (onProfile[p] > 0) exclusive[p] = true;
    }
    return nullptr;  // every covering profile is held exclusively: wait for its context
  }

  // A context for these inputs: an idle one on a covering profile, a new one while memory and the pool allow,
  // otherwise wait for one to come back. Never an error just because the pool is busy.
  std::unique_ptr<ExecSlot> Acquire(const JobContext& job, const std::vector<int>& profiles, LogSink& sink, JobError* error) {
    std::unique_lock<std::mutex> lock(mutex);
    for (;;) {
      if (sticky) {
        *error = {"ERR_CUDA", "the CUDA context of this engine is unusable after an earlier error (" + stickyMessage + "); dispose the engine and restart the process", {}};
        return nullptr;
      }
      if (job.Cancelled()) {
        *error = job.CancelledError();
        return nullptr;
      }
      if (auto slot = TakeIdle(profiles)) return slot;
      const bool anyAllowed = std::any_of(profiles.begin(), profiles.end(), [&](int p) { return !(exclusive[p] && onProfile[p] > 0); });
      if (created >= maxSlots && anyAllowed) {
        // Full, but an idle context sits on another profile: retire it for one on the profile needed.
        for (auto& entry : idle) {
          if (entry.second.empty()) continue;
          std::unique_ptr<ExecSlot> old = std::move(entry.second.back());
          entry.second.pop_back();
          --created;
          --onProfile[old->profile];
          lock.unlock();
          old.reset();
          lock.lock();
          break;
        }
      }
      if (created < maxSlots && anyAllowed) {
        ++created;
        lock.unlock();
        JobError why;
        std::unique_ptr<ExecSlot> slot = Create(profiles, sink, &why);
        lock.lock();
        if (slot) {
          ++onProfile[slot->profile];
          return slot;
        }
        --created;
        if (!why.ok()) {
          if (created == 0) {
            *error = why;
            return nullptr;
          }
          maxSlots = created;  // out of memory with others alive: the pool is as large as memory allows
        }
        continue;
      }
      available.wait_for(lock, std::chrono::milliseconds(20));
    }
  }

  void Release(std::unique_ptr<ExecSlot> slot) {
    std::unique_lock<std::mutex> lock(mutex);
    if (slot->broken) {
      --created;
      --onProfile[slot->profile];
      lock.unlock();
      slot.reset();
      lock.lock();
    } else {
      idle[slot->profile].push_back(std::move(slot));
    }
    available.notify_all();
  }

  int64_t DeviceMemoryInUse() {
    std::lock_guard<std::mutex> lock(mutex);
    return contextBytes * created;
  }
};

using EngineRef = std::shared_ptr<EngineHolder>;

// Set input shapes and bind device buffers for every IO tensor; fills the outputs' names, types and shapes.
JobError Bind(EngineHolder& holder, ExecSlot& slot, const std::vector<TensorIn>& inputs, std::vector<TensorOut>* outputs, LogSink& sink) {
  trt::Engine& engine = *holder.engine;
  trt::ExecutionContext& context = *slot.context;
  for (const TensorIn& in : inputs) {
    if (engine.TensorIOMode(in.name) != trt::IOMode::kINPUT) {
      return {"ERR_INVALID_ARG", "'" + in.name + "' is not an input of this engine", {{"tensor", in.name}}};
    }
    if (!context.SetInputShape(in.name, in.dims)) {
      trt::Dims lo = engine.ProfileShape(in.name, slot.profile, trt::ProfileSelector::kMIN);
      trt::Dims hi = engine.ProfileShape(in.name, slot.profile, trt::ProfileSelector::kMAX);
      return {"ERR_SHAPE", "input '" + in.name + "' shape " + DimsToString(in.dims) + " is outside the engine's profile " + DimsToString(lo) + " .. " + DimsToString(hi), {{"tensor", in.name}}};
    }
    const trt::DataType type = engine.TensorDataType(in.name);
    const size_t bytes = Volume(in.dims) * DtypeSize(type);
    if (in.data != nullptr && in.bytes != bytes) {
      return {"ERR_SHAPE", "input '" + in.name + "' carries " + std::to_string(in.bytes) + " bytes, expected " + std::to_string(bytes) + " for " + DimsToString(in.dims) + " " + DtypeName(type), {{"tensor", in.name}}};
    }
    CudaBuffer& dev = slot.deviceBuffers[in.name];
    JobError e = dev.Ensure(bytes, "input '" + in.name + "'");
    if (!e.ok()) return e;
    CudaBuffer& host = slot.hostBuffers[in.name];
    host.pinned = true;
    e = host.Ensure(bytes, "input '" + in.name + "' staging");
    if (!e.ok()) return e;
    context.SetTensorAddress(in.name, dev.ptr);
  }
  for (int i = 0; i < engine.NbIOTensors(); ++i) {
    const std::string name = engine.IOTensorName(i);
    if (engine.TensorIOMode(name) != trt::IOMode::kOUTPUT) continue;
    trt::Dims dims = context.GetTensorShape(name);
    for (int64_t d : dims) {
      if (d < 0) return {"ERR_UNSUPPORTED", "output '" + name + "' has a data-dependent shape " + DimsToString(dims) + ", which this runtime does not support", {{"tensor", name}}};
    }
    TensorOut out{name, engine.TensorDataType(name), dims, {}};
    CudaBuffer& dev = slot.deviceBuffers[name];
    JobError e = dev.Ensure(out.Bytes(), "output '" + name + "'");
    if (!e.ok()) return e;
    CudaBuffer& host = slot.hostBuffers[name];
    host.pinned = true;
    e = host.Ensure(out.Bytes(), "output '" + name + "' staging");
    if (!e.ok()) return e;
    context.SetTensorAddress(name, dev.ptr);
    outputs->push_back(std::move(out));
  }
  if (context.InferShapes() != 0) {
    return {"ERR_SHAPE", "not every input shape is set" + (sink.Errors().empty() ? std::string() : ": " + sink.Errors()), {}};
  }
  return {};
}

// H2D (from the pinned staging buffers) + enqueueV3 + D2H on the slot's stream, with the four stage events, without
// waiting.
JobError Enqueue(EngineHolder& holder, ExecSlot& slot, const std::vector<TensorIn>& inputs, const std::vector<TensorOut>& outputs,
                 bool transfers, LogSink& sink) {
  trt::Cuda& cuda = Cu();
  int status = cuda.EventRecord(slot.events[0], slot.stream);
  for (size_t i = 0; status == trt::Cuda::kSuccess && transfers && i < inputs.size(); ++i) {
    const TensorIn& in = inputs[i];
    size_t bytes = Volume(in.dims) * DtypeSize(holder.engine->TensorDataType(in.name));
    status = cuda.MemcpyAsync(slot.deviceBuffers[in.name].ptr, slot.hostBuffers[in.name].ptr, bytes, trt::Cuda::Copy::kHostToDevice, slot.stream);
    if (status != trt::Cuda::kSuccess) return CudaError(status, "copying input '" + in.name + "' to the device");
  }
  if (status == trt::Cuda::kSuccess) status = cuda.EventRecord(slot.events[1], slot.stream);
  if (status != trt::Cuda::kSuccess) return CudaError(status, "recording a CUDA event");
  if (!slot.context->EnqueueV3(slot.stream)) {
    return {"ERR_INFERENCE", "enqueueV3 failed" + (sink.Errors().empty() ? std::string() : ": " + sink.Errors()), {}};
  }
  status = cuda.EventRecord(slot.events[2], slot.stream);
  for (size_t i = 0; status == trt::Cuda::kSuccess && transfers && i < outputs.size(); ++i) {
    const TensorOut& out = outputs[i];
    status = cuda.MemcpyAsync(slot.hostBuffers[out.name].ptr, slot.deviceBuffers[out.name].ptr, out.Bytes(), trt::Cuda::Copy::kDeviceToHost, slot.stream);
    if (status != trt::Cuda::kSuccess) return CudaError(status, "copying output '" + out.name + "' to the host");
  }
  if (status == trt::Cuda::kSuccess) status = cuda.EventRecord(slot.events[3], slot.stream);
  if (status != trt::Cuda::kSuccess) return CudaError(status, "recording a CUDA event");
  return {};
}

// End of every use of a slot: wait for its stream (nothing registered may be touched before), note a sticky CUDA
// error, and hand it back (a broken slot is destroyed instead of pooled).
JobError Finish(EngineHolder& holder, std::unique_ptr<ExecSlot> slot, JobError error) {
  int status = Cu().StreamSynchronize(slot->stream);
  if (status != trt::Cuda::kSuccess) {
    if (error.ok()) error = CudaError(status, "cudaStreamSynchronize after inference");
    slot->broken = true;
    if (Cu().IsStickyError(status)) {
      std::lock_guard<std::mutex> lock(holder.mutex);
      holder.sticky = true;
      holder.stickyMessage = error.message;
    }
  }
  if (!error.ok()) slot->broken = true;
  holder.Release(std::move(slot));
  return error;
}

EngineRef* Unwrap(const Napi::CallbackInfo& info) {
  if (info.Length() < 1 || !info[0].IsExternal()) ThrowError(info.Env(), "ERR_INVALID_ARG", "expected an engine handle");
  EngineRef* ref = info[0].As<Napi::External<EngineRef>>().Data();
  if (!*ref) ThrowError(info.Env(), "ERR_DISPOSED", "the engine was disposed");
  return ref;
}

// Inputs as { name, dims, data? }. With data, the bytes stay where the caller has them: a JS reference to each array
// keeps it alive until the job settles, and the job thread copies straight into pinned staging.
std::vector<TensorIn> ReadInputs(Napi::Env env, Napi::Value value, std::vector<std::shared_ptr<JsRef>>* keep) {
  std::vector<TensorIn> out;
  if (!value.IsArray()) return out;
  Napi::Array array = value.As<Napi::Array>();
  for (uint32_t i = 0; i < array.Length(); ++i) {
    Napi::Object o = array.Get(i).As<Napi::Object>();
    TensorIn in;
    in.name = o.Get("name").As<Napi::String>().Utf8Value();
    in.dims = ReadIntArray(o.Get("dims"));
    Napi::Value data = o.Get("data");
    if (data.IsTypedArray()) {
      Napi::TypedArray typed = data.As<Napi::TypedArray>();
      in.data = static_cast<const uint8_t*>(typed.ArrayBuffer().Data()) + typed.ByteOffset();
      in.bytes = typed.ByteLength();
      if (in.bytes == 0) in.data = reinterpret_cast<const uint8_t*>(&in);  // zero-size: a non-null marker
      keep->push_back(std::make_shared<JsRef>(env, data));
    }
    out.push_back(std::move(in));
  }
  return out;
}

Napi::Array DimsArray(Napi::Env env, const std::vector<int64_t>& v) {
  Napi::Array a = Napi::Array::New(env, v.size());
  for (size_t d = 0; d < v.size(); ++d) a.Set(static_cast<uint32_t>(d), static_cast<double>(v[d]));
  return a;
}

Napi::Array TensorInfos(Napi::Env env, trt::Engine& engine, trt::IOMode mode) {
  Napi::Array out = Napi::Array::New(env);
  uint32_t n = 0;
  for (int i = 0; i < engine.NbIOTensors(); ++i) {
    const std::string name = engine.IOTensorName(i);
    if (engine.TensorIOMode(name) != mode) continue;
    Napi::Object t = Napi::Object::New(env);
    t.Set("name", name);
    t.Set("dtype", DtypeName(engine.TensorDataType(name)));
    t.Set("shape", DimsArray(env, engine.TensorShape(name)));
    if (mode == trt::IOMode::kINPUT && engine.NbOptimizationProfiles() > 0) {
      Napi::Array profiles = Napi::Array::New(env);
      for (int p = 0; p < engine.NbOptimizationProfiles(); ++p) {
        Napi::Object profile = Napi::Object::New(env);
        profile.Set("min", DimsArray(env, engine.ProfileShape(name, p, trt::ProfileSelector::kMIN)));
        profile.Set("opt", DimsArray(env, engine.ProfileShape(name, p, trt::ProfileSelector::kOPT)));
        profile.Set("max", DimsArray(env, engine.ProfileShape(name, p, trt::ProfileSelector::kMAX)));
        profiles.Set(static_cast<uint32_t>(p), profile);
      }
      t.Set("profiles", profiles);
    }
    out.Set(n++, t);
  }
  return out;
}

template <typename Work>
Napi::Value StartEngineJob(const Napi::CallbackInfo& info, const char* name, Napi::Object options, std::vector<std::shared_ptr<JsRef>> keep, Work work) {
  Napi::Env env = info.Env();
  auto sink = std::make_shared<std::shared_ptr<LogSink>>();
  auto logger = std::make_shared<std::shared_ptr<JsRef>>();
  auto kept = std::make_shared<std::vector<std::shared_ptr<JsRef>>>(std::move(keep));
  return StartJob(
      env, name,
      [work, sink, logger, kept](JobContext& context) {
        JobOutcome outcome;
        {
          TrtBusy busy(context.cancel);
          ScopedLogSink scoped(sink->get());
          outcome = work(context, **sink);
        }
        outcome.cleanup = [logger, kept](Napi::Env env) {
          if (*logger) (*logger)->Release(env);
          for (auto& ref : *kept) ref->Release(env);
        };
        return outcome;
      },
      [env, options, sink, logger](JobContext& context) { *sink = MakeLogSink(env, options, context, logger.get()); });
}

// trtLoadEngine(bytes, { device, logger, logLevel }) -> { promise: { handle, info }, cancel }
Napi::Value TrtLoadEngine(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsTypedArray() || !info[1].IsObject()) ThrowError(env, "ERR_INVALID_ARG", "trtLoadEngine(bytes, options)");
  Napi::TypedArray plan = info[0].As<Napi::TypedArray>();
  const uint8_t* bytes = static_cast<const uint8_t*>(plan.ArrayBuffer().Data()) + plan.ByteOffset();
  const size_t size = plan.ByteLength();
  Napi::Object options = info[1].As<Napi::Object>();
  const int device = options.Get("device").IsNumber() ? options.Get("device").As<Napi::Number>().Int32Value() : 0;
  std::vector<std::shared_ptr<JsRef>> keep{std::make_shared<JsRef>(env, info[0])};
  return StartEngineJob(info, "trtn.loadEngine", options, keep, [bytes, size, device](JobContext& context, LogSink& sink) {
    JobOutcome outcome;
    JobError e = SelectDevice(device);
    if (!e.ok()) {
      outcome.error = e;
      return outcome;
    }
    auto holder = std::shared_ptr<EngineHolder>(new EngineHolder(), [](EngineHolder* h) { delete h; });
    holder->device = device;
    holder->runtime = Trt().CreateRuntime();
    if (!holder->runtime) {
      outcome.error = {"ERR_NO_TENSORRT", "createInferRuntime returned null: TensorRT could not initialise" + (sink.Errors().empty() ? std::string() : ": " + sink.Errors()), {}};
      return outcome;
    }
    holder->engine = holder->runtime->DeserializeCudaEngine(bytes, size);
    if (!holder->engine) {
      std::string why = sink.Errors();
      outcome.error = {"ERR_ENGINE_LOAD", "TensorRT could not deserialize the plan (" + std::to_string(size) + " bytes; truncated, corrupt, or built by another TensorRT version or for another GPU)" + (why.empty() ? std::string() : ": " + why), {}};
      return outcome;
    }
    holder->contextBytes = holder->engine->DeviceMemorySize();
    // Bound the pool by device memory: at most as many contexts as fit in half of what is free now.
    size_t freeBytes = 0, total = 0;
    if (holder->contextBytes > 0 && Cu().MemGetInfo(&freeBytes, &total) == trt::Cuda::kSuccess) {
      holder->maxSlots = static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(4, static_cast<int64_t>(freeBytes / 2) / holder->contextBytes)));
    }
    std::string layers = holder->engine->LayerInformationJson();
    outcome.value = [holder, layers](Napi::Env env) -> Napi::Value {
      Napi::Object out = Napi::Object::New(env);
      auto* ref = new EngineRef(holder);
      // A collected handle releases the engine off the JS thread, like dispose.
      out.Set("handle", Napi::External<EngineRef>::New(env, ref, [](Napi::Env, EngineRef* r) {
        ReleaseOffThread(std::move(*r));
        delete r;
      }));
      Napi::Object meta = Napi::Object::New(env);
      meta.Set("inputs", TensorInfos(env, *holder->engine, trt::IOMode::kINPUT));
      meta.Set("outputs", TensorInfos(env, *holder->engine, trt::IOMode::kOUTPUT));
      meta.Set("contextMemoryBytes", static_cast<double>(holder->contextBytes));
      meta.Set("maxContexts", holder->maxSlots);
      meta.Set("layerCount", holder->engine->NbLayers());
      meta.Set("profileCount", holder->engine->NbOptimizationProfiles());
      meta.Set("layerInfo", layers);
      out.Set("info", meta);
      return out;
    };
    return outcome;
  });
}

JobError ProfilesFor(EngineHolder& holder, const std::vector<TensorIn>& inputs, std::vector<int>* profiles) {
  *profiles = holder.CoveringProfiles(inputs);
  if (!profiles->empty()) return {};
  std::string shapes;
  for (const TensorIn& in : inputs) shapes += (shapes.empty() ? "" : ", ") + in.name + " " + DimsToString(in.dims);
  std::string ranges;
  const TensorIn* first = inputs.empty() ? nullptr : &inputs[0];
  for (int p = 0; first && p < holder.engine->NbOptimizationProfiles(); ++p) {
    ranges += (ranges.empty() ? "" : ", ") + DimsToString(holder.engine->ProfileShape(first->name, p, trt::ProfileSelector::kMIN)) + " .. " +
              DimsToString(holder.engine->ProfileShape(first->name, p, trt::ProfileSelector::kMAX));
  }
  return {"ERR_SHAPE", "input shapes " + shapes + " are outside every optimization profile of the engine (" + ranges + ")", first ? std::vector<std::pair<std::string, std::string>>{{"tensor", first->name}} : std::vector<std::pair<std::string, std::string>>{}};
}

// A context on the tightest profile covering these inputs, on the engine's device.
std::unique_ptr<ExecSlot> AcquireFor(EngineHolder& holder, const JobContext& context, const std::vector<TensorIn>& inputs, LogSink& sink, JobError* error) {
  Cu().SetDevice(holder.device);
  std::vector<int> profiles;
  *error = ProfilesFor(holder, inputs, &profiles);
  return error->ok() ? holder.Acquire(context, profiles, sink, error) : nullptr;
}

// trtEngineInfer(handle, { inputs: [{ name, dims, data }] }) -> { promise: [{ name, dtype, dims, data }], cancel }
Napi::Value TrtEngineInfer(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  EngineRef holder = *Unwrap(info);
  if (info.Length() < 2 || !info[1].IsObject()) ThrowError(env, "ERR_INVALID_ARG", "trtEngineInfer(handle, { inputs })");
  Napi::Object options = info[1].As<Napi::Object>();
  std::vector<std::shared_ptr<JsRef>> keep;
  auto inputs = std::make_shared<std::vector<TensorIn>>(ReadInputs(env, options.Get("inputs"), &keep));
  return StartEngineJob(info, "trtn.infer", options, keep, [holder, inputs](JobContext& context, LogSink& sink) {
    JobOutcome outcome;
    JobError e;
    std::unique_ptr<ExecSlot> slot = AcquireFor(*holder, context, *inputs, sink, &e);
    if (!slot) {
      outcome.error = e;
      return outcome;
    }
    auto outputs = std::make_shared<std::vector<TensorOut>>();
    e = Bind(*holder, *slot, *inputs, outputs.get(), sink);
    if (e.ok()) {
      for (const TensorIn& in : *inputs) {
        if (in.bytes > 0) std::memcpy(slot->hostBuffers[in.name].ptr, in.data, in.bytes);
      }
      e = Enqueue(*holder, *slot, *inputs, *outputs, true, sink);
    }
    if (e.ok()) {
      int status = Cu().StreamSynchronize(slot->stream);
      if (status != trt::Cuda::kSuccess) e = CudaError(status, "cudaStreamSynchronize after inference");
    }
    if (e.ok()) {
      for (TensorOut& out : *outputs) {
        const uint8_t* src = static_cast<const uint8_t*>(slot->hostBuffers[out.name].ptr);
        out.data.assign(src, src + out.Bytes());
      }
    }
    e = Finish(*holder, std::move(slot), e);
    if (!e.ok()) {
      outcome.error = e;
      return outcome;
    }
    outcome.value = [outputs](Napi::Env env) -> Napi::Value {
      Napi::Array out = Napi::Array::New(env, outputs->size());
      for (size_t i = 0; i < outputs->size(); ++i) {
        TensorOut& t = (*outputs)[i];
        Napi::Object o = Napi::Object::New(env);
        o.Set("name", t.name);
        o.Set("dtype", DtypeName(t.type));
        o.Set("dims", DimsArray(env, t.dims));
        o.Set("data", VectorToBuffer(env, std::move(t.data)));
        out.Set(static_cast<uint32_t>(i), o);
      }
      return out;
    };
    return outcome;
  });
}

// trtexec's input ranges (sampleInference.cpp): floats in [-1, 1], bool 0/1, uint8 [0, 255], other ints [-128, 127].
void FillLikeTrtexec(void* ptr, size_t count, trt::DataType type, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> real(-1.0f, 1.0f);
  std::uniform_int_distribution<int> small(-128, 127), byte(0, 255), bit(0, 1);
  switch (type) {
    case trt::DataType::kFLOAT: for (size_t i = 0; i < count; ++i) static_cast<float*>(ptr)[i] = real(rng); break;
    case trt::DataType::kHALF: case trt::DataType::kBF16:
      // Random bits would be NaN/Inf half the time: fill the exponent range of [-1, 1] instead.
      for (size_t i = 0; i < count; ++i) {
        float f = real(rng);
        uint32_t bits;
        std::memcpy(&bits, &f, 4);
        uint16_t out;
        if (type == trt::DataType::kBF16) out = static_cast<uint16_t>(bits >> 16);
        else {
          uint32_t sign = (bits >> 16) & 0x8000u;
          int exp = static_cast<int>((bits >> 23) & 0xff) - 127 + 15;
          out = exp <= 0 ? static_cast<uint16_t>(sign) : static_cast<uint16_t>(sign | (exp << 10) | ((bits >> 13) & 0x3ffu));
        }
        static_cast<uint16_t*>(ptr)[i] = out;
      }
      break;
    case trt::DataType::kINT32: for (size_t i = 0; i < count; ++i) static_cast<int32_t*>(ptr)[i] = small(rng); break;
    case trt::DataType::kINT64: for (size_t i = 0; i < count; ++i) static_cast<int64_t*>(ptr)[i] = small(rng); break;
    case trt::DataType::kINT8: for (size_t i = 0; i < count; ++i) static_cast<int8_t*>(ptr)[i] = static_cast<int8_t>(small(rng)); break;
    case trt::DataType::kBOOL: for (size_t i = 0; i < count; ++i) static_cast<uint8_t*>(ptr)[i] = static_cast<uint8_t>(bit(rng)); break;
    default: for (size_t i = 0; i < count * DtypeSize(type); ++i) static_cast<uint8_t*>(ptr)[i] = static_cast<uint8_t>(byte(rng)); break;
  }
}

struct BenchSamples {
  std::vector<double> latency, compute, h2d, d2h, wall;
  int throughputQueries = 0;
  double throughputWallMs = 0;
};

double Elapsed(trt::Event a, trt::Event b, JobError* error) {
  float ms = 0;
  int status = Cu().EventElapsedMs(&ms, a, b);
  if (status != trt::Cuda::kSuccess && error->ok()) *error = CudaError(status, "cudaEventElapsedTime");
  return ms;
}

// trtEngineBenchmark(handle, { inputs: [{ name, dims }], warmupMs, iterations, durationMs, transfers })
//   -> { promise: { latencyMs, computeMs, h2dMs, d2hMs, wallMs: number[], throughputQueries, throughputWallMs }, cancel }
// trtexec's definitions (sampleReporting.cpp): latency = H2D + GPU compute + D2H of one query; GPU compute reported
// separately; throughput = queries / host wall time of a run that keeps the GPU busy; warm-up by time.
Napi::Value TrtEngineBenchmark(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  EngineRef holder = *Unwrap(info);
  if (info.Length() < 2 || !info[1].IsObject()) ThrowError(env, "ERR_INVALID_ARG", "trtEngineBenchmark(handle, options)");
  Napi::Object options = info[1].As<Napi::Object>();
  std::vector<std::shared_ptr<JsRef>> keep;
  auto inputs = std::make_shared<std::vector<TensorIn>>(ReadInputs(env, options.Get("inputs"), &keep));
  const double warmupMs = options.Get("warmupMs").IsNumber() ? options.Get("warmupMs").As<Napi::Number>().DoubleValue() : 200;
  const int iterations = options.Get("iterations").IsNumber() ? options.Get("iterations").As<Napi::Number>().Int32Value() : 10;
  const double durationMs = options.Get("durationMs").IsNumber() ? options.Get("durationMs").As<Napi::Number>().DoubleValue() : 3000;
  const bool transfers = !options.Get("transfers").IsBoolean() || options.Get("transfers").ToBoolean().Value();
  return StartEngineJob(info, "trtn.benchmark", options, keep, [holder, inputs, warmupMs, iterations, durationMs, transfers](JobContext& context, LogSink& sink) {
    JobOutcome outcome;
    JobError e;
    std::unique_ptr<ExecSlot> slot = AcquireFor(*holder, context, *inputs, sink, &e);
    if (!slot) {
      outcome.error = e;
      return outcome;
    }
    std::vector<TensorOut> outputs;
    e = Bind(*holder, *slot, *inputs, &outputs, sink);
    auto samples = std::make_shared<BenchSamples>();
    using Clock = std::chrono::steady_clock;
    auto ms = [](Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double, std::milli>(b - a).count(); };
    if (e.ok()) {
      uint32_t seed = 1;
      for (const TensorIn& in : *inputs) {
        CudaBuffer& host = slot->hostBuffers[in.name];
        const trt::DataType type = holder->engine->TensorDataType(in.name);
        FillLikeTrtexec(host.ptr, Volume(in.dims), type, seed++);
        int status = Cu().Memcpy(slot->deviceBuffers[in.name].ptr, host.ptr, Volume(in.dims) * DtypeSize(type), trt::Cuda::Copy::kHostToDevice);
        if (status != trt::Cuda::kSuccess) e = CudaError(status, "uploading benchmark input '" + in.name + "'");
      }
    }
    // Warm-up for a time, then the latency run: one query in flight, until both the iterations and the duration
    // are reached.
    const Clock::time_point warmStart = Clock::now();
    for (int i = 0; e.ok() && (i == 0 || ms(warmStart, Clock::now()) < warmupMs); ++i) {
      if (context.Cancelled()) e = context.CancelledError();
      if (e.ok()) e = Enqueue(*holder, *slot, *inputs, outputs, transfers, sink);
      int status = e.ok() ? Cu().EventSynchronize(slot->events[3]) : trt::Cuda::kSuccess;
      if (status != trt::Cuda::kSuccess) e = CudaError(status, "waiting for a warm-up query");
    }
    const Clock::time_point runStart = Clock::now();
    for (int i = 0; e.ok() && (i < iterations || ms(runStart, Clock::now()) < durationMs); ++i) {
      if (context.Cancelled()) {
        e = context.CancelledError();
        break;
      }
      const Clock::time_point t0 = Clock::now();
      e = Enqueue(*holder, *slot, *inputs, outputs, transfers, sink);
      if (!e.ok()) break;
      int status = Cu().EventSynchronize(slot->events[3]);
      if (status != trt::Cuda::kSuccess) {
        e = CudaError(status, "waiting for a benchmark query");
        break;
      }
      const Clock::time_point t1 = Clock::now();
      samples->h2d.push_back(Elapsed(slot->events[0], slot->events[1], &e));
      samples->compute.push_back(Elapsed(slot->events[1], slot->events[2], &e));
      samples->d2h.push_back(Elapsed(slot->events[2], slot->events[3], &e));
      samples->latency.push_back(Elapsed(slot->events[0], slot->events[3], &e));
      samples->wall.push_back(ms(t0, t1));
    }
    // The throughput run: queries back to back on the stream (stream order keeps them apart), the host waiting only
    // at the end, as trtexec keeps the GPU busy; throughput = queries / host wall time.
    if (e.ok()) {
      const int queries = std::max<int>(iterations, static_cast<int>(samples->latency.size()));
      const Clock::time_point t0 = Clock::now();
      for (int i = 0; e.ok() && i < queries; ++i) {
        if (context.Cancelled()) e = context.CancelledError();
        if (e.ok()) e = Enqueue(*holder, *slot, *inputs, outputs, transfers, sink);
      }
      int status = Cu().StreamSynchronize(slot->stream);
      if (e.ok() && status != trt::Cuda::kSuccess) e = CudaError(status, "waiting for the throughput run");
      samples->throughputQueries = queries;
      samples->throughputWallMs = ms(t0, Clock::now());
    }
    e = Finish(*holder, std::move(slot), e);
    if (!e.ok()) {
      outcome.error = e;
      return outcome;
    }
    outcome.value = [samples](Napi::Env env) -> Napi::Value {
      auto array = [&](const std::vector<double>& v) {
        Napi::Array a = Napi::Array::New(env, v.size());
        for (size_t i = 0; i < v.size(); ++i) a.Set(static_cast<uint32_t>(i), v[i]);
        return a;
      };
      Napi::Object out = Napi::Object::New(env);
      out.Set("latencyMs", array(samples->latency));
      out.Set("computeMs", array(samples->compute));
      out.Set("h2dMs", array(samples->h2d));
      out.Set("d2hMs", array(samples->d2h));
      out.Set("wallMs", array(samples->wall));
      out.Set("throughputQueries", samples->throughputQueries);
      out.Set("throughputWallMs", samples->throughputWallMs);
      return out;
    };
    return outcome;
  });
}

// trtEngineStats(handle) -> { contexts, deviceMemoryBytes }: what the pool holds now (every context's memory).
Napi::Value TrtEngineStats(const Napi::CallbackInfo& info) {
  EngineRef holder = *Unwrap(info);
  Napi::Object out = Napi::Object::New(info.Env());
  int64_t bytes = holder->DeviceMemoryInUse();
  std::lock_guard<std::mutex> lock(holder->mutex);
  out.Set("contexts", holder->created);
  out.Set("maxContexts", holder->maxSlots);
  out.Set("deviceMemoryBytes", static_cast<double>(bytes));
  return out;
}

// trtEngineDispose(handle): drop the JS side's share; in-flight jobs keep theirs, so the engine is freed after them,
// and never on the JS thread.
Napi::Value TrtEngineDispose(const Napi::CallbackInfo& info) {
  if (info.Length() < 1 || !info[0].IsExternal()) ThrowError(info.Env(), "ERR_INVALID_ARG", "expected an engine handle");
  EngineRef* ref = info[0].As<Napi::External<EngineRef>>().Data();
  ReleaseOffThread(std::move(*ref));
  ref->reset();
  return info.Env().Undefined();
}

}  // namespace

void InitTrtRuntime(Napi::Env env, Napi::Object exports) {
  exports.Set("trtLoadEngine", Napi::Function::New(env, TrtLoadEngine, "trtLoadEngine"));
  exports.Set("trtEngineInfer", Napi::Function::New(env, TrtEngineInfer, "trtEngineInfer"));
  exports.Set("trtEngineBenchmark", Napi::Function::New(env, TrtEngineBenchmark, "trtEngineBenchmark"));
  exports.Set("trtEngineStats", Napi::Function::New(env, TrtEngineStats, "trtEngineStats"));
  exports.Set("trtEngineDispose", Napi::Function::New(env, TrtEngineDispose, "trtEngineDispose"));
}

}  // namespace trtn
