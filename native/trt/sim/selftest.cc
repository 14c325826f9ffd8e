// The simulator's self-test: deliberately wrong sequences against TheApi(), each of which must be caught, plus
// correct sequences that must produce the documented results and no violation (so the checks can fail both ways).
#include <cmath>
#include <cstring>
#include <chrono>
#include <functional>
#include <set>
#include <sstream>

#include "internal.h"

namespace trtn {
namespace trt {
namespace sim {
namespace {

// ---- a tiny ONNX writer (protobuf wire format) ----
void Varint(std::string& s, uint64_t v) {
  do {
    uint8_t b = v & 0x7f;
    v >>= 7;
    s += static_cast<char>(b | (v ? 0x80 : 0));
  } while (v);
}
std::string Field(uint32_t field, const std::string& payload) {
  std::string s;
  Varint(s, (uint64_t(field) << 3) | 2);
  Varint(s, payload.size());
  return s + payload;
}
std::string FieldInt(uint32_t field, uint64_t v) {
  std::string s;
  Varint(s, uint64_t(field) << 3);
  Varint(s, v);
  return s;
}
std::string ValueInfo(const std::string& name, const Dims& dims, int elemType) {
  std::string shape;
  for (int64_t d : dims) shape += Field(1, d < 0 ? Field(2, "N") : FieldInt(1, static_cast<uint64_t>(d)));
  return Field(1, name) + Field(2, Field(1, FieldInt(1, static_cast<uint64_t>(elemType)) + Field(2, shape)));
}

}  // namespace

Bytes TinyOnnx(const std::string& input, const Dims& inDims, int inType, const std::string& output, const Dims& outDims) {
  std::string graph = Field(1, Field(3, "fc") + Field(4, "Gemm")) + Field(5, Field(8, "W")) +
                      Field(11, ValueInfo(input, inDims, inType)) + Field(11, ValueInfo("W", {4, 3}, 1)) +
                      Field(12, ValueInfo(output, outDims, 1));
  std::string model = FieldInt(1, 8) + Field(7, graph);
  return Bytes(model.begin(), model.end());
}

namespace {

struct Case {
  std::string name;
  std::function<std::string(std::string*)> run;  // returns '' when passed, else why it failed; *detail = what it saw
};

void Use(const std::string& version) {
  Options o;
  o.version = version;
  std::string e;
  Configure(o, &e);
}

bool Has(size_t from, const std::string& idPart, std::string* detail) {
  for (const auto& v : ViolationsSince(from))
    if (v.id.find(idPart) != std::string::npos) return *detail = v.id + ": " + v.message, true;
  return false;
}

using Keep = std::vector<std::shared_ptr<void>>;
using Setup = std::function<void(Builder&, BuilderConfig&, Keep&)>;

// Builds the tiny model: input 'x' inDims (float) -> output 'y'; a dynamic 'x' gets the profile [1,4]..[8,4].
// `setup` adjusts the config; what it creates for the config to point at goes into `keep`, destroyed after the config.
bool BuildTiny(const Dims& inDims, const Dims& outDims, Bytes* plan, const Setup& setup = nullptr) {
  auto builder = TheApi().CreateBuilder();
  auto network = builder->CreateNetwork(false);
  auto parser = builder->CreateParser(*network);
  Bytes onnx = TinyOnnx("x", inDims, 1, "y", outDims);
  if (!parser->Parse(onnx.data(), onnx.size())) return false;
  Keep keep;
  auto config = builder->CreateConfig();
  if (Volume(inDims) < 0) {
    OptimizationProfile* p = builder->CreateOptimizationProfile();
    p->SetDimensions("x", ProfileSelector::kMIN, {1, 4});
    p->SetDimensions("x", ProfileSelector::kOPT, {8, 4});
    p->SetDimensions("x", ProfileSelector::kMAX, {8, 4});
    config->AddOptimizationProfile(p);
  }
  if (setup) setup(*builder, *config, keep);
  return builder->BuildSerializedNetwork(*network, *config, plan);
}
Setup Monitored(ProgressListener* listener) {
  return [listener](Builder& builder, BuilderConfig& config, Keep& keep) {
    std::shared_ptr<ProgressMonitor> monitor = builder.CreateProgressMonitor(listener);
    config.SetProgressMonitor(monitor.get());
    keep.push_back(monitor);
  };
}
Setup Int8(CalibrationListener* listener) {
  return [listener](Builder& builder, BuilderConfig& config, Keep& keep) {
    config.SetFlag(BuilderFlag::kINT8, true);
    std::shared_ptr<Calibrator> calibrator = builder.CreateCalibrator(CalibrationAlgorithm::kENTROPY_2, listener);
    config.SetCalibrator(calibrator.get());
    keep.push_back(calibrator);
  };
}
Bytes BuildTiny(std::string* why) {
  Bytes plan;
  if (!BuildTiny({2, 4}, {2, 3}, &plan)) *why = "build failed";
  return plan;
}

// Reference output of the documented formula, element by element.
std::vector<float> Reference(const std::vector<float>& x, int64_t rows, int64_t rowSize, int64_t K, int j) {
  std::vector<float> out;
  for (int64_t b = 0; b < rows; ++b)
    for (int64_t k = 0; k < K; ++k) {
      double v = j;
      for (int64_t e = 0; e < rowSize; ++e) v += double(x[b * rowSize + e]) * (((e * 7 + k * 13) % 17) - 8) / 16.0;
      out.push_back(static_cast<float>(v));
    }
  return out;
}

struct Running {  // runtime, engine, one context with device buffers for x [2,4] and y [2,3]
  std::unique_ptr<Runtime> runtime;
  std::unique_ptr<Engine> engine;
  std::unique_ptr<ExecutionContext> context;
  void *x = nullptr, *y = nullptr;
  Stream stream = nullptr;
  bool Start(std::string* why) {
    Bytes plan;
    if (!BuildTiny({-1, 4}, {-1, 3}, &plan)) return *why = "build failed", false;
    runtime = TheApi().CreateRuntime();
    engine = runtime->DeserializeCudaEngine(plan.data(), plan.size());
    if (!engine) return *why = "deserialize failed", false;
    context = engine->CreateExecutionContext();
    Cuda& c = TheApi().cuda();
    c.StreamCreate(&stream);
    c.Malloc(&x, 8 * 4 * 4);
    c.Malloc(&y, 8 * 3 * 4);
    return context && context->SetInputShape("x", {2, 4});
  }
  void Stop() {
    Cuda& c = TheApi().cuda();
    if (stream) c.StreamSynchronize(stream), c.StreamDestroy(stream);
    c.Free(x), c.Free(y);
    context.reset(), engine.reset(), runtime.reset();
  }
};

std::vector<Case> Cases() {
  std::vector<Case> cases;
  cases.push_back({"8.6: a second context gets profile -1 and its enqueueV3 fails", [](std::string* d) {
    Use("8.6");
    size_t from = ViolationCount();
    std::string why;
    Bytes plan = BuildTiny(&why);
    if (plan.empty()) return why;
    auto runtime = TheApi().CreateRuntime();
    auto engine = runtime->DeserializeCudaEngine(plan.data(), plan.size());
    if (!engine) return std::string("deserialize failed");
    auto first = engine->CreateExecutionContext();
    auto second = engine->CreateExecutionContext();
    if (first->GetOptimizationProfile() != 0 || second->GetOptimizationProfile() != -1)
      return std::string("expected profiles 0 and -1");
    if (second->SetOptimizationProfileAsync(0, nullptr)) return std::string("sharing profile 0 was allowed without 0806");
    void *x, *y;
    TheApi().cuda().Malloc(&x, 32), TheApi().cuda().Malloc(&y, 24);
    second->SetTensorAddress("x", x), second->SetTensorAddress("y", y);
    bool ok = second->EnqueueV3(nullptr);
    TheApi().cuda().Free(x), TheApi().cuda().Free(y);
    if (ok) return std::string("enqueueV3 succeeded");
    return Has(from, "enqueueV3/profile-unset", d) ? "" : std::string("no violation recorded");
  }});
  cases.push_back({"enqueueV3 without tensor addresses; an address not 256-byte aligned", [](std::string* d) {
    Use("10.16");
    size_t from = ViolationCount();
    Running r;
    std::string why;
    if (!r.Start(&why)) return r.Stop(), why;
    bool ok = r.context->EnqueueV3(r.stream);
    bool misaligned = r.context->SetTensorAddress("x", static_cast<char*>(r.x) + 4);
    r.Stop();
    if (ok) return std::string("enqueueV3 succeeded");
    if (misaligned) return std::string("setTensorAddress accepted a misaligned address");
    std::string second;
    if (!Has(from, "setTensorAddress/alignment", &second)) return std::string("no violation for the misaligned address");
    return Has(from, "enqueueV3/tensor-address-unset", d) ? "" : std::string("no violation recorded");
  }});
  cases.push_back({"cudaFree of a tensor before stream synchronization", [](std::string* d) {
    Use("10.16");
    size_t from = ViolationCount();
    Running r;
    std::string why;
    if (!r.Start(&why)) return r.Stop(), why;
    r.context->SetTensorAddress("x", r.x), r.context->SetTensorAddress("y", r.y);
    if (!r.context->EnqueueV3(r.stream)) return r.Stop(), std::string("enqueueV3 failed");
    TheApi().cuda().Free(r.x);  // the queued kernel still reads it
    r.x = nullptr;
    r.Stop();
    return Has(from, "enqueueV3/memory-released-before-sync", d) ? "" : std::string("no violation recorded");
  }});
  cases.push_back({"a correct sequence gives the documented outputs, no violation; reusing the host buffer early gives "
                   "another answer", [](std::string* d) {
    Use("10.16");
    size_t from = ViolationCount();
    Running r;
    std::string why;
    if (!r.Start(&why)) return r.Stop(), why;
    Cuda& c = TheApi().cuda();
    void* host;
    c.MallocHost(&host, 8 * 4);
    std::vector<float> x = {1, -2, 3.5f, 4, 0.25f, 6, -7, 8}, first(6), second(6);
    std::memcpy(host, x.data(), 32);
    r.context->SetTensorAddress("x", r.x), r.context->SetTensorAddress("y", r.y);
    c.MemcpyAsync(r.x, host, 32, Cuda::Copy::kHostToDevice, r.stream);
    r.context->EnqueueV3(r.stream);
    c.MemcpyAsync(host, r.y, 24, Cuda::Copy::kDeviceToHost, r.stream);
    c.StreamSynchronize(r.stream);
    std::memcpy(first.data(), host, 24);
    // Wrong: the host buffer is overwritten before the stream has copied it.
    std::memcpy(host, x.data(), 32);
    c.MemcpyAsync(r.x, host, 32, Cuda::Copy::kHostToDevice, r.stream);
    std::memset(host, 0, 32);
    r.context->EnqueueV3(r.stream);
    c.MemcpyAsync(host, r.y, 24, Cuda::Copy::kDeviceToHost, r.stream);
    c.StreamSynchronize(r.stream);
    std::memcpy(second.data(), host, 24);
    c.FreeHost(host);
    r.Stop();
    std::vector<float> want = Reference(x, 2, 4, 3, 0);
    std::ostringstream s;
    for (size_t i = 0; i < 6; ++i) s << first[i] << (i < 5 ? "," : "");
    *d = "y = [" + s.str() + "]";
    for (size_t i = 0; i < 6; ++i)
      if (std::fabs(first[i] - want[i]) > 1e-5f * (1 + std::fabs(want[i]))) return "y[" + std::to_string(i) + "] differs from the formula";
    if (!ViolationsSince(from).empty()) return "violation: " + ViolationsSince(from)[0].id;
    return first == second ? std::string("the early reuse went unnoticed (stream work ran at once)") : std::string();
  }});
  cases.push_back({"IProgressMonitor destroyed while a config references it", [](std::string* d) {
    Use("10.16");
    size_t from = ViolationCount();
    struct Quiet : ProgressListener {
      void PhaseStart(const char*, const char*, int32_t) override {}
      bool StepComplete(const char*, int32_t) override { return true; }
      void PhaseFinish(const char*) override {}
    } listener;
    auto builder = TheApi().CreateBuilder();
    auto config = builder->CreateConfig();
    auto monitor = builder->CreateProgressMonitor(&listener);
    config->SetProgressMonitor(monitor.get());
    monitor.reset();
    return Has(from, "IProgressMonitor/lifetime", d) ? "" : std::string("no violation recorded");
  }});
  cases.push_back({"ICudaEngine destroyed before its execution context", [](std::string* d) {
    Use("10.16");
    size_t from = ViolationCount();
    Running r;
    std::string why;
    if (!r.Start(&why)) return r.Stop(), why;
    r.engine.reset();
    r.Stop();
    return Has(from, "ICudaEngine/destroyed-before-contexts", d) ? "" : std::string("no violation recorded");
  }});
  cases.push_back({"IRuntime destroyed before its engine", [](std::string* d) {
    Use("10.16");
    size_t from = ViolationCount();
    std::string why;
    Bytes plan = BuildTiny(&why);
    auto runtime = TheApi().CreateRuntime();
    auto engine = runtime->DeserializeCudaEngine(plan.data(), plan.size());
    if (!engine) return std::string("deserialize failed");
    runtime.reset();
    engine.reset();
    return Has(from, "IRuntime/destroyed-before-engines", d) ? "" : std::string("no violation recorded");
  }});
  cases.push_back({"a timing cache of another TensorRT version is refused", [](std::string* d) {
    Use("10.16");
    auto builder = TheApi().CreateBuilder();
    auto config = builder->CreateConfig();
    Bytes other = config->CreateTimingCache(nullptr, 0)->Serialize();
    Use("10.0");
    auto builder2 = TheApi().CreateBuilder();
    auto config2 = builder2->CreateConfig();
    auto foreign = config2->CreateTimingCache(other.data(), other.size());
    auto own = config2->CreateTimingCache(nullptr, 0);
    if (!foreign || !own) return std::string("could not create the caches");
    if (config2->SetTimingCache(*foreign, false)) return std::string("setTimingCache accepted it");
    if (own->Combine(*foreign, true)) return std::string("combine accepted it (ignoreMismatch does not cover versions)");
    if (config2->CreateTimingCache("garbage", 7)) return std::string("a garbage cache was accepted");
    *d = "setTimingCache false, combine false, garbage refused";
    return std::string();
  }});
  cases.push_back({"calibration getBatch binding smaller than the batch", [](std::string* d) {
    Use("10.16");
    size_t from = ViolationCount();
    struct Small : CalibrationListener {
      void* buffer = nullptr;
      int calls = 0;
      int32_t BatchSize() override { return 2; }
      bool GetBatch(void* bindings[], const char*[], int32_t) override {
        if (calls++) return false;
        bindings[0] = buffer;
        return true;
      }
      const void* ReadCache(size_t& length) override { return length = 0, nullptr; }
      void WriteCache(const void*, size_t) override {}
    } listener;
    TheApi().cuda().Malloc(&listener.buffer, 16);  // [2,4] float32 needs 32
    Bytes plan;
    bool ok = BuildTiny({2, 4}, {2, 3}, &plan, Int8(&listener));
    TheApi().cuda().Free(listener.buffer);
    if (ok) return std::string("the build succeeded");
    return Has(from, "IInt8Calibrator::getBatch/bindings", d) ? "" : std::string("no violation recorded");
  }});
  cases.push_back({"a plan of another TensorRT version is refused", [](std::string* d) {
    Use("10.0");
    std::string why;
    Bytes plan = BuildTiny(&why);
    Use("10.16");
    auto runtime = TheApi().CreateRuntime();
    if (runtime->DeserializeCudaEngine(plan.data(), plan.size())) return std::string("deserialized");
    const char garbage[] = "ftrtSIM1\nversion";
    if (runtime->DeserializeCudaEngine(garbage, sizeof garbage - 1)) return std::string("a truncated plan deserialized");
    *d = "null engine for a 10.0 plan and a truncated plan";
    return std::string();
  }});
  cases.push_back({"11.1: kINT8 does not exist; a sticky CUDA error poisons later calls", [](std::string* d) {
    Use("11.1");
    size_t from = ViolationCount();
    auto builder = TheApi().CreateBuilder();
    auto config = builder->CreateConfig();
    if (config->SetFlag(BuilderFlag::kINT8, true)) return std::string("kINT8 accepted on 11.1");
    if (!Has(from, "setFlag/implicit-precision", d)) return std::string("no violation for kINT8");
    config.reset(), builder.reset();
    Use("10.16");
    Running r;
    std::string why;
    if (!r.Start(&why)) return r.Stop(), why;
    {
      std::lock_guard<std::mutex> lock(StateMutex());
      TheFaults().stickyErrorAtEnqueue = 1;
    }
    r.context->SetTensorAddress("x", r.x), r.context->SetTensorAddress("y", r.y);
    r.context->EnqueueV3(r.stream);
    int sync = TheApi().cuda().StreamSynchronize(r.stream);
    void* p = nullptr;
    int later = TheApi().cuda().Malloc(&p, 4);
    ResetCuda();
    r.Stop();
    if (sync != 700 || later != 700) return "expected 700 twice, got " + std::to_string(sync) + ", " + std::to_string(later);
    *d += "; sync and a later cudaMalloc returned 700";
    return std::string();
  }});
  cases.push_back({"progress: phases reported from two threads; stepComplete false cancels the build", [](std::string* d) {
    Use("10.16");
    struct Recorder : ProgressListener {
      std::mutex m;
      std::set<std::thread::id> threads;
      int steps = 0, cancelAt = -1;
      void PhaseStart(const char*, const char*, int32_t) override { Note(); }
      bool StepComplete(const char*, int32_t) override {
        Note();
        std::lock_guard<std::mutex> lock(m);
        return ++steps != cancelAt;
      }
      void PhaseFinish(const char*) override { Note(); }
      void Note() {
        std::lock_guard<std::mutex> lock(m);
        threads.insert(std::this_thread::get_id());
      }
    } listener;
    auto build = [&](int cancelAt) {
      listener.cancelAt = cancelAt;
      listener.steps = 0;
      Bytes plan;
      return BuildTiny({2, 4}, {2, 3}, &plan, Monitored(&listener));
    };
    if (!build(-1)) return std::string("the build failed");
    size_t threads = listener.threads.size();
    if (threads < 2) return "progress came from " + std::to_string(threads) + " thread(s)";
    if (listener.threads.count(std::this_thread::get_id())) return std::string("progress came from the calling thread");
    if (build(2)) return std::string("the cancelled build succeeded");
    *d = "progress from " + std::to_string(threads) + " builder threads; cancel at step 2 failed the build";
    return std::string();
  }});
  cases.push_back({"calibration: batches from the builder thread, cache written, a second build reads it", [](std::string* d) {
    Use("10.16");
    size_t from = ViolationCount();
    struct Feed : CalibrationListener {
      void* buffer = nullptr;
      int batches = 0, calls = 0;
      std::string cache;
      std::thread::id thread;
      int32_t BatchSize() override { return 2; }
      bool GetBatch(void* bindings[], const char* names[], int32_t n) override {
        thread = std::this_thread::get_id();
        if (n != 1 || std::string(names[0]) != "x" || calls++ == batches) return false;
        std::vector<float> x = {1, -2, 3, -4, 5, -6, 7, -63.5f};
        TheApi().cuda().Memcpy(buffer, x.data(), 32, Cuda::Copy::kHostToDevice);
        bindings[0] = buffer;
        return true;
      }
      const void* ReadCache(size_t& length) override { return length = cache.size(), cache.empty() ? nullptr : cache.data(); }
      void WriteCache(const void* p, size_t length) override { cache.assign(static_cast<const char*>(p), length); }
    } feed;
    TheApi().cuda().Malloc(&feed.buffer, 32);
    auto build = [&] {
      Bytes plan;
      return BuildTiny({2, 4}, {2, 3}, &plan, Int8(&feed));
    };
    feed.batches = 3;
    bool first = build();
    std::string cache = feed.cache;
    int firstCalls = feed.calls;
    feed.calls = 0;
    bool second = build();
    TheApi().cuda().Free(feed.buffer);
    std::string header = "TRT-101600-EntropyCalibration2\nx: 3f000000\n";  // 63.5 / 127 = 0.5f
    *d = "cache: " + cache;
    if (!first || !second) return std::string("a build failed");
    if (firstCalls != 4 || feed.calls != 0) return "getBatch calls " + std::to_string(firstCalls) + " then " + std::to_string(feed.calls);
    if (feed.thread == std::this_thread::get_id()) return std::string("getBatch ran on the calling thread");
    if (cache.compare(0, header.size(), header) != 0) return std::string("unexpected cache text");
    if (!ViolationsSince(from).empty()) return "violation: " + ViolationsSince(from)[0].id;
    return std::string();
  }});
  cases.push_back({"parser errors: garbage, unsupported op (named from 10.0), double input; dynamic input without profile",
                   [](std::string* d) {
    for (const char* version : {"8.6", "10.16"}) {
      Use(version);
      auto builder = TheApi().CreateBuilder();
      auto network = builder->CreateNetwork(false);
      auto parser = builder->CreateParser(*network);
      if (parser->Parse("\x08\x01garbage\xff", 10) || parser->Errors().empty() || parser->Errors()[0].node != -1)
        return std::string("garbage parsed");
      std::string graph = Field(1, Field(3, "bad_node") + Field(4, "TrtSimUnsupported")) +
                          Field(11, ValueInfo("x", {2}, 1)) + Field(12, ValueInfo("y", {2}, 1));
      std::string model = FieldInt(1, 8) + Field(7, Field(1, Field(3, "ok") + Field(4, "Relu")) + graph);
      if (parser->Parse(model.data(), model.size())) return std::string("an unsupported op parsed");
      ParserError e = parser->Errors().at(0);
      bool named = std::string(version) != "8.6";
      if (e.node != 1 || (e.nodeName == "bad_node") != named || (e.op == "TrtSimUnsupported") != named)
        return std::string(version) + ": wrong error node " + std::to_string(e.node) + " '" + e.nodeName + "'";
      Bytes doubles = TinyOnnx("x", {2, 4}, 11, "y", {2, 3});
      if (parser->Parse(doubles.data(), doubles.size()) || parser->Errors().at(0).desc.find("'x'") == std::string::npos)
        return std::string("a double input parsed or the error does not name it");
      Bytes dynamic = TinyOnnx("x", {-1, 4}, 1, "y", {-1, 3});
      auto config = builder->CreateConfig();
      Bytes plan;
      if (!parser->Parse(dynamic.data(), dynamic.size()) || builder->BuildSerializedNetwork(*network, *config, &plan))
        return std::string("a dynamic input built without a profile");
    }
    *d = "all refused";
    return std::string();
  }});
  cases.push_back({"context memory: creation fails when the device is full; 8.6 0806 plans share profile 0", [](std::string* d) {
    Use("8.6");
    std::string why;
    Bytes plan = BuildTiny(&why);
    auto runtime = TheApi().CreateRuntime();
    auto engine = runtime->DeserializeCudaEngine(plan.data(), plan.size());
    if (!engine) return std::string("deserialize failed");
    size_t free = 0, total = 0;
    TheApi().cuda().MemGetInfo(&free, &total);
    void* filler = nullptr;
    TheApi().cuda().Malloc(&filler, free - static_cast<size_t>(engine->DeviceMemorySize()) / 2);
    auto context = engine->CreateExecutionContext();
    TheApi().cuda().Free(filler);
    if (context) return std::string("a context was created without device memory");
    auto ok = engine->CreateExecutionContext();
    if (!ok) return std::string("no context with memory free");
    // The same plan with kPROFILE_SHARING_0806: a second context may take profile 0.
    Bytes shared;
    BuildTiny({2, 4}, {2, 3}, &shared, [](Builder&, BuilderConfig& config, Keep&) { config.EnableProfileSharing0806(); });
    auto sharedEngine = runtime->DeserializeCudaEngine(shared.data(), shared.size());
    auto a = sharedEngine->CreateExecutionContext(), b = sharedEngine->CreateExecutionContext();
    if (b->GetOptimizationProfile() != -1 || !b->SetOptimizationProfileAsync(0, nullptr))
      return std::string("0806 sharing: expected -1 then a successful switch to profile 0");
    *d = "null context when full; sharing allowed with 0806";
    return std::string();
  }});
  cases.push_back({"overlapping builds record the concurrent-timing hazard", [](std::string* d) {
    Use("10.16");
    std::atomic<int> started{0};
    struct Waiter : ProgressListener {  // holds each build until both have started, so they overlap for sure
      std::atomic<int>* started;
      void PhaseStart(const char*, const char* parent, int32_t) override {
        if (parent) return;
        ++*started;
        for (int i = 0; i < 2000 && *started < 2; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
      bool StepComplete(const char*, int32_t) override { return true; }
      void PhaseFinish(const char*) override {}
    };
    auto build = [&] {
      Waiter w;
      w.started = &started;
      Bytes plan;
      BuildTiny({2, 4}, {2, 3}, &plan, Monitored(&w));
    };
    size_t before = Hazards().size();
    std::thread a(build), b(build);
    a.join(), b.join();
    for (size_t i = before; i < Hazards().size(); ++i)
      if (Hazards()[i].id == "builder-concurrent-timing") return *d = Hazards()[i].message, std::string();
    return std::string("no hazard recorded");
  }});
  cases.push_back({"ITimingCache destroyed while a config uses it; a config used after its IBuilder is gone", [](std::string* d) {
    Use("10.16");
    size_t from = ViolationCount();
    auto builder = TheApi().CreateBuilder();
    auto config = builder->CreateConfig();
    auto cache = config->CreateTimingCache(nullptr, 0);
    if (!config->SetTimingCache(*cache, false)) return std::string("setTimingCache refused a fresh cache");
    cache.reset();
    if (!Has(from, "setTimingCache/lifetime", d)) return std::string("no violation for the timing cache");
    builder.reset();
    config->SetWorkspaceBytes(1 << 20);
    std::string second;
    if (!Has(from, "IBuilder/destroyed-before-children", &second) || !Has(from, "builder-destroyed", &second))
      return std::string("no violation for the builder destroyed before its config, or for using the config");
    *d += "; " + second;
    return std::string();
  }});
  cases.push_back({"one context enqueued on two streams at once", [](std::string* d) {
    Use("10.16");
    size_t from = ViolationCount();
    Running r;
    std::string why;
    if (!r.Start(&why)) return r.Stop(), why;
    Stream other = nullptr;
    TheApi().cuda().StreamCreate(&other);
    r.context->SetTensorAddress("x", r.x), r.context->SetTensorAddress("y", r.y);
    bool first = r.context->EnqueueV3(r.stream), second = r.context->EnqueueV3(other);
    TheApi().cuda().StreamSynchronize(r.stream);
    bool afterSync = r.context->EnqueueV3(other);  // the first stream's work is done: allowed
    TheApi().cuda().StreamSynchronize(other);
    TheApi().cuda().StreamDestroy(other);
    r.Stop();
    if (!first || second || !afterSync) return std::string("expected true, false, true");
    return Has(from, "enqueueV3/concurrent-streams", d) ? "" : std::string("no violation recorded");
  }});
  return cases;
}

}  // namespace

std::vector<SelfTestResult> SelfTest() {
  std::vector<SelfTestResult> results;
  std::thread runner([&] {  // not a JS thread: the checks for blocking calls stay out of the way
    auto saved = SaveState();
    SetQuiet(true);
    Options fast;
    fast.streamDelayMs = 5;
    fast.setFaults = true;  // no faults
    std::string e;
    Configure(fast, &e);
    for (auto& c : Cases()) {
      SelfTestResult r;
      r.name = c.name;
      try {
        std::string why = c.run(&r.detail);
        r.passed = why.empty();
        if (!r.passed) r.detail = why + (r.detail.empty() ? "" : " (" + r.detail + ")");
      } catch (const std::exception& ex) {
        r.detail = std::string("exception: ") + ex.what();
      }
      results.push_back(r);
    }
    SetQuiet(false);
    RestoreState(saved);
  });
  runner.join();
  return results;
}

}  // namespace sim
}  // namespace trt
}  // namespace trtn
