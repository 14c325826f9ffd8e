// The real adapter: the seam (../api.h) forwarded one call at a time to TensorRT and the CUDA runtime. The only
// file that includes NvInfer.h; kept free of logic so that what the simulator checks is what runs here.
// Compiled against the real headers of 8.6, 10.x and 11.x by ../shared/tools/trt-compat-check.sh.
#include <NvInfer.h>
#include <NvInferVersion.h>
#include <NvOnnxParser.h>
#include <cuda_runtime_api.h>

#include <atomic>
#include <mutex>

#include "../../cuda/cuda_error.h"
#include "../api.h"

#if defined(__GNUC__)
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
#endif

#define TRTN_TRT_AT_LEAST(major, minor) (NV_TENSORRT_MAJOR > (major) || (NV_TENSORRT_MAJOR == (major) && NV_TENSORRT_MINOR >= (minor)))

namespace trtn {
namespace trt {
namespace {

using nvinfer1::OptProfileSelector;

nvinfer1::Dims ToDims(const Dims& v) {
  nvinfer1::Dims dims{};
  dims.nbDims = static_cast<int32_t>(v.size());
  for (size_t i = 0; i < v.size() && i < static_cast<size_t>(nvinfer1::Dims::MAX_DIMS); ++i) dims.d[i] = static_cast<decltype(dims.d[0] + 0)>(v[i]);
  return dims;
}
Dims FromDims(const nvinfer1::Dims& dims) {
  Dims out;
  for (int i = 0; i < dims.nbDims && i < nvinfer1::Dims::MAX_DIMS; ++i) out.push_back(dims.d[i]);
  return out;
}
OptProfileSelector ToSelector(ProfileSelector s) { return static_cast<OptProfileSelector>(static_cast<int32_t>(s)); }
cudaStream_t ToStream(Stream s) { return static_cast<cudaStream_t>(s); }

// One ILogger for the process, never destroyed: TensorRT may log while the process exits.
class Logger : public nvinfer1::ILogger {
 public:
  void log(Severity severity, nvinfer1::AsciiChar const* message) noexcept override {
    LogListener* l = listener.load();
    if (l != nullptr) l->Log(static_cast<trt::Severity>(static_cast<int32_t>(severity)), message);
  }
  std::atomic<LogListener*> listener{nullptr};
};
Logger& TheLogger() {
  static Logger* logger = new Logger();
  return *logger;
}

class RealCuda : public Cuda {
 public:
  int GetDeviceCount(int* count) override { return cudaGetDeviceCount(count); }
  int SetDevice(int device) override { return cudaSetDevice(device); }
  int MemGetInfo(size_t* free, size_t* total) override { return cudaMemGetInfo(free, total); }
  int Malloc(void** ptr, size_t bytes) override { return cudaMalloc(ptr, bytes); }
  int Free(void* ptr) override { return cudaFree(ptr); }
  int MallocHost(void** ptr, size_t bytes) override { return cudaMallocHost(ptr, bytes); }
  int FreeHost(void* ptr) override { return cudaFreeHost(ptr); }
  int Memcpy(void* dst, const void* src, size_t bytes, Copy kind) override { return cudaMemcpy(dst, src, bytes, static_cast<cudaMemcpyKind>(kind)); }
  int MemcpyAsync(void* dst, const void* src, size_t bytes, Copy kind, Stream stream) override {
    return cudaMemcpyAsync(dst, src, bytes, static_cast<cudaMemcpyKind>(kind), ToStream(stream));
  }
  int StreamCreate(Stream* stream) override {
    cudaStream_t s = nullptr;
    cudaError_t status = cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking);
    *stream = s;
    return status;
  }
  int StreamDestroy(Stream stream) override { return cudaStreamDestroy(ToStream(stream)); }
  int StreamSynchronize(Stream stream) override { return cudaStreamSynchronize(ToStream(stream)); }
  int EventCreate(Event* event) override {
    cudaEvent_t e = nullptr;
    cudaError_t status = cudaEventCreate(&e);
    *event = e;
    return status;
  }
  int EventDestroy(Event event) override { return cudaEventDestroy(static_cast<cudaEvent_t>(event)); }
  int EventRecord(Event event, Stream stream) override { return cudaEventRecord(static_cast<cudaEvent_t>(event), ToStream(stream)); }
  int EventSynchronize(Event event) override { return cudaEventSynchronize(static_cast<cudaEvent_t>(event)); }
  int EventElapsedMs(float* ms, Event start, Event end) override {
    return cudaEventElapsedTime(ms, static_cast<cudaEvent_t>(start), static_cast<cudaEvent_t>(end));
  }
  int GetLastError() override { return cudaGetLastError(); }
  std::string ErrorName(int status) override {
    const char* name = cudaGetErrorName(static_cast<cudaError_t>(status));
    return name ? name : "cudaError " + std::to_string(status);
  }
  std::string ErrorString(int status) override {
    const char* text = cudaGetErrorString(static_cast<cudaError_t>(status));
    return text ? text : "unknown error";
  }
  bool IsNoDeviceError(int status) override { return IsNoCudaDeviceError(static_cast<cudaError_t>(status)); }
  bool IsStickyError(int status) override {
    switch (static_cast<cudaError_t>(status)) {
      case cudaErrorIllegalAddress: case cudaErrorLaunchFailure: case cudaErrorIllegalInstruction:
      case cudaErrorMisalignedAddress: case cudaErrorInvalidAddressSpace: case cudaErrorInvalidPc:
      case cudaErrorHardwareStackError: case cudaErrorAssert: case cudaErrorECCUncorrectable:
        return true;
      default:
        return false;
    }
  }
};

class RealNetwork : public Network {
 public:
  explicit RealNetwork(nvinfer1::INetworkDefinition* n) : network(n) {}
  int32_t NbInputs() override { return network->getNbInputs(); }
  std::string InputName(int32_t i) override { return network->getInput(i)->getName(); }
  Dims InputDims(int32_t i) override { return FromDims(network->getInput(i)->getDimensions()); }
  DataType InputType(int32_t i) override { return static_cast<DataType>(static_cast<int32_t>(network->getInput(i)->getType())); }
  std::unique_ptr<nvinfer1::INetworkDefinition> network;
};

class RealParser : public Parser {
 public:
  explicit RealParser(nvonnxparser::IParser* p) : parser(p) {}
  bool ParseFromFile(const std::string& path) override {
    return parser->parseFromFile(path.c_str(), static_cast<int>(nvinfer1::ILogger::Severity::kWARNING));
  }
  bool Parse(const void* data, size_t size) override { return parser->parse(data, size); }
  std::vector<ParserError> Errors() override {
    std::vector<ParserError> out;
    for (int i = 0; i < parser->getNbErrors(); ++i) {
      const nvonnxparser::IParserError* e = parser->getError(i);
      ParserError error;
      error.node = e->node();
      error.desc = e->desc() ? e->desc() : "";
#if NV_TENSORRT_MAJOR >= 10
      error.nodeName = e->nodeName() ? e->nodeName() : "";
      error.op = e->nodeOperator() ? e->nodeOperator() : "";
#endif
      out.push_back(error);
    }
    return out;
  }
  std::unique_ptr<nvonnxparser::IParser> parser;
};

class RealProfile : public OptimizationProfile {
 public:
  explicit RealProfile(nvinfer1::IOptimizationProfile* p) : profile(p) {}
  bool SetDimensions(const std::string& input, ProfileSelector selector, const Dims& dims) override {
    return profile->setDimensions(input.c_str(), ToSelector(selector), ToDims(dims));
  }
  nvinfer1::IOptimizationProfile* profile;  // owned by the builder
};

class RealTimingCache : public TimingCache {
 public:
  explicit RealTimingCache(nvinfer1::ITimingCache* c) : cache(c) {}
  Bytes Serialize() override {
    std::unique_ptr<nvinfer1::IHostMemory> memory(cache->serialize());
    if (!memory) return {};
    const uint8_t* p = static_cast<const uint8_t*>(memory->data());
    return Bytes(p, p + memory->size());
  }
  bool Combine(TimingCache& other, bool ignoreMismatch) override {
    return cache->combine(*static_cast<RealTimingCache&>(other).cache, ignoreMismatch);
  }
  std::unique_ptr<nvinfer1::ITimingCache> cache;
};

#if NV_TENSORRT_MAJOR >= 10
class RealProgressMonitor : public ProgressMonitor, public nvinfer1::IProgressMonitor {
 public:
  explicit RealProgressMonitor(ProgressListener* l) : listener(l) {}
  void phaseStart(char const* phase, char const* parent, int32_t steps) noexcept override { listener->PhaseStart(phase, parent ? parent : "", steps); }
  bool stepComplete(char const* phase, int32_t step) noexcept override { return listener->StepComplete(phase, step); }
  void phaseFinish(char const* phase) noexcept override { listener->PhaseFinish(phase); }
  ProgressListener* listener;
};
#endif

#if NV_TENSORRT_MAJOR < 11
template <typename Base>
class RealCalibrator : public Calibrator, public Base {
 public:
  explicit RealCalibrator(CalibrationListener* l) : listener(l) {}
  int32_t getBatchSize() const noexcept override { return listener->BatchSize(); }
  bool getBatch(void* bindings[], char const* names[], int32_t nbBindings) noexcept override { return listener->GetBatch(bindings, names, nbBindings); }
  void const* readCalibrationCache(std::size_t& length) noexcept override { return listener->ReadCache(length); }
  void writeCalibrationCache(void const* ptr, std::size_t length) noexcept override { listener->WriteCache(ptr, length); }
  CalibrationListener* listener;
};
nvinfer1::IInt8Calibrator* AsTrtCalibrator(Calibrator* c);
#endif

class RealConfig : public BuilderConfig {
 public:
  explicit RealConfig(nvinfer1::IBuilderConfig* c) : config(c) {}
  void SetWorkspaceBytes(uint64_t bytes) override { config->setMemoryPoolLimit(nvinfer1::MemoryPoolType::kWORKSPACE, bytes); }
  bool SetFlag(BuilderFlag flag, bool on) override {
    nvinfer1::BuilderFlag f;
    switch (flag) {
      case BuilderFlag::kTF32: f = nvinfer1::BuilderFlag::kTF32; break;
#if NV_TENSORRT_MAJOR < 11
      case BuilderFlag::kFP16: f = nvinfer1::BuilderFlag::kFP16; break;
      case BuilderFlag::kINT8: f = nvinfer1::BuilderFlag::kINT8; break;
#endif
      default: return false;
    }
    if (on) config->setFlag(f);
    else config->clearFlag(f);
    return true;
  }
  void SetDetailedProfiling() override { config->setProfilingVerbosity(nvinfer1::ProfilingVerbosity::kDETAILED); }
  void SetOptimizationLevel(int32_t level) override { config->setBuilderOptimizationLevel(level); }
  void EnableProfileSharing0806() override {
#if NV_TENSORRT_MAJOR < 10
    config->setPreviewFeature(nvinfer1::PreviewFeature::kPROFILE_SHARING_0806, true);
#endif
  }
  void SetProfileStream(Stream stream) override { config->setProfileStream(ToStream(stream)); }
  int32_t AddOptimizationProfile(OptimizationProfile* profile) override {
    return config->addOptimizationProfile(static_cast<RealProfile*>(profile)->profile);
  }
  bool SetCalibrationProfile(OptimizationProfile* profile) override {
#if NV_TENSORRT_MAJOR < 11
    return config->setCalibrationProfile(static_cast<RealProfile*>(profile)->profile);
#else
    return false;
#endif
  }
  void SetCalibrator(Calibrator* calibrator) override {
#if NV_TENSORRT_MAJOR < 11
    config->setInt8Calibrator(AsTrtCalibrator(calibrator));
#endif
  }
  void SetProgressMonitor(ProgressMonitor* monitor) override {
#if NV_TENSORRT_MAJOR >= 10
    config->setProgressMonitor(monitor ? static_cast<RealProgressMonitor*>(monitor) : nullptr);
#endif
  }
  std::unique_ptr<TimingCache> CreateTimingCache(const void* data, size_t size) override {
    nvinfer1::ITimingCache* cache = config->createTimingCache(size ? data : nullptr, size);
    if (!cache) return nullptr;
    return std::unique_ptr<TimingCache>(new RealTimingCache(cache));
  }
  bool SetTimingCache(TimingCache& cache, bool ignoreMismatch) override {
    return config->setTimingCache(*static_cast<RealTimingCache&>(cache).cache, ignoreMismatch);
  }
  Bytes SerializeTimingCache() override {
    const nvinfer1::ITimingCache* cache = config->getTimingCache();
    if (!cache) return {};
    std::unique_ptr<nvinfer1::IHostMemory> memory(cache->serialize());
    if (!memory) return {};
    const uint8_t* p = static_cast<const uint8_t*>(memory->data());
    return Bytes(p, p + memory->size());
  }
  std::unique_ptr<nvinfer1::IBuilderConfig> config;
};

class RealBuilder : public Builder {
 public:
  explicit RealBuilder(nvinfer1::IBuilder* b) : builder(b) {}
  std::unique_ptr<Network> CreateNetwork(bool stronglyTyped) override {
    uint32_t flags = 0;
#if NV_TENSORRT_MAJOR < 10
    flags |= 1U << static_cast<uint32_t>(nvinfer1::NetworkDefinitionCreationFlag::kEXPLICIT_BATCH);
#endif
#if NV_TENSORRT_MAJOR == 10
    if (stronglyTyped) flags |= 1U << static_cast<uint32_t>(nvinfer1::NetworkDefinitionCreationFlag::kSTRONGLY_TYPED);
#endif
    nvinfer1::INetworkDefinition* n = builder->createNetworkV2(flags);
    return n ? std::unique_ptr<Network>(new RealNetwork(n)) : nullptr;
  }
  std::unique_ptr<Parser> CreateParser(Network& network) override {
    nvonnxparser::IParser* p = nvonnxparser::createParser(*static_cast<RealNetwork&>(network).network, TheLogger());
    return p ? std::unique_ptr<Parser>(new RealParser(p)) : nullptr;
  }
  std::unique_ptr<BuilderConfig> CreateConfig() override {
    nvinfer1::IBuilderConfig* c = builder->createBuilderConfig();
    return c ? std::unique_ptr<BuilderConfig>(new RealConfig(c)) : nullptr;
  }
  OptimizationProfile* CreateOptimizationProfile() override {
    nvinfer1::IOptimizationProfile* p = builder->createOptimizationProfile();
    if (!p) return nullptr;
    profiles.emplace_back(new RealProfile(p));
    return profiles.back().get();
  }
  std::unique_ptr<ProgressMonitor> CreateProgressMonitor(ProgressListener* listener) override {
#if NV_TENSORRT_MAJOR >= 10
    return std::unique_ptr<ProgressMonitor>(new RealProgressMonitor(listener));
#else
    return nullptr;
#endif
  }
  std::unique_ptr<Calibrator> CreateCalibrator(CalibrationAlgorithm algorithm, CalibrationListener* listener) override {
#if NV_TENSORRT_MAJOR < 11
    switch (algorithm) {
      case CalibrationAlgorithm::kMINMAX: return std::unique_ptr<Calibrator>(new RealCalibrator<nvinfer1::IInt8MinMaxCalibrator>(listener));
      case CalibrationAlgorithm::kLEGACY_ENTROPY: return std::unique_ptr<Calibrator>(new RealCalibrator<nvinfer1::IInt8EntropyCalibrator>(listener));
      default: return std::unique_ptr<Calibrator>(new RealCalibrator<nvinfer1::IInt8EntropyCalibrator2>(listener));
    }
#else
    return nullptr;
#endif
  }
  bool BuildSerializedNetwork(Network& network, BuilderConfig& config, Bytes* out) override {
    std::unique_ptr<nvinfer1::IHostMemory> memory(builder->buildSerializedNetwork(*static_cast<RealNetwork&>(network).network, *static_cast<RealConfig&>(config).config));
    out->clear();
    if (!memory || memory->size() == 0) return false;
    const uint8_t* p = static_cast<const uint8_t*>(memory->data());
    out->assign(p, p + memory->size());
    return true;
  }
  // Declared before the builder: destroyed after it (the builder owns the TensorRT profiles they wrap).
  std::vector<std::unique_ptr<RealProfile>> profiles;
  std::unique_ptr<nvinfer1::IBuilder> builder;
};

#if NV_TENSORRT_MAJOR < 11
nvinfer1::IInt8Calibrator* AsTrtCalibrator(Calibrator* c) {
  if (c == nullptr) return nullptr;
  if (auto* e2 = dynamic_cast<RealCalibrator<nvinfer1::IInt8EntropyCalibrator2>*>(c)) return e2;
  if (auto* mm = dynamic_cast<RealCalibrator<nvinfer1::IInt8MinMaxCalibrator>*>(c)) return mm;
  if (auto* le = dynamic_cast<RealCalibrator<nvinfer1::IInt8EntropyCalibrator>*>(c)) return le;
  return nullptr;
}
#endif

class RealContext : public ExecutionContext {
 public:
  explicit RealContext(nvinfer1::IExecutionContext* c) : context(c) {}
  bool SetOptimizationProfileAsync(int32_t profile, Stream stream) override { return context->setOptimizationProfileAsync(profile, ToStream(stream)); }
  int32_t GetOptimizationProfile() override { return context->getOptimizationProfile(); }
  bool SetInputShape(const std::string& name, const Dims& dims) override { return context->setInputShape(name.c_str(), ToDims(dims)); }
  Dims GetTensorShape(const std::string& name) override { return FromDims(context->getTensorShape(name.c_str())); }
  bool SetTensorAddress(const std::string& name, void* address) override { return context->setTensorAddress(name.c_str(), address); }
  int32_t InferShapes() override { return context->inferShapes(0, nullptr); }
  bool EnqueueV3(Stream stream) override { return context->enqueueV3(ToStream(stream)); }
  std::unique_ptr<nvinfer1::IExecutionContext> context;
};

class RealEngine : public Engine {
 public:
  explicit RealEngine(nvinfer1::ICudaEngine* e) : engine(e) {}
  int32_t NbIOTensors() override { return engine->getNbIOTensors(); }
  std::string IOTensorName(int32_t i) override { return engine->getIOTensorName(i); }
  IOMode TensorIOMode(const std::string& name) override { return static_cast<IOMode>(static_cast<int32_t>(engine->getTensorIOMode(name.c_str()))); }
  DataType TensorDataType(const std::string& name) override { return static_cast<DataType>(static_cast<int32_t>(engine->getTensorDataType(name.c_str()))); }
  Dims TensorShape(const std::string& name) override { return FromDims(engine->getTensorShape(name.c_str())); }
  int32_t NbOptimizationProfiles() override { return engine->getNbOptimizationProfiles(); }
  Dims ProfileShape(const std::string& name, int32_t profile, ProfileSelector selector) override {
    return FromDims(engine->getProfileShape(name.c_str(), profile, ToSelector(selector)));
  }
  int32_t NbLayers() override { return engine->getNbLayers(); }
  int64_t DeviceMemorySize() override {
#if TRTN_TRT_AT_LEAST(10, 1)
    return engine->getDeviceMemorySizeV2();
#else
    return static_cast<int64_t>(engine->getDeviceMemorySize());
#endif
  }
  std::string LayerInformationJson() override {
    std::unique_ptr<nvinfer1::IEngineInspector> inspector(engine->createEngineInspector());
    if (!inspector) return "";
    const char* text = inspector->getEngineInformation(nvinfer1::LayerInformationFormat::kJSON);
    return text ? text : "";
  }
  std::unique_ptr<ExecutionContext> CreateExecutionContext() override {
    nvinfer1::IExecutionContext* c = engine->createExecutionContext();
    return c ? std::unique_ptr<ExecutionContext>(new RealContext(c)) : nullptr;
  }
  std::unique_ptr<nvinfer1::ICudaEngine> engine;
};

class RealRuntime : public Runtime {
 public:
  explicit RealRuntime(nvinfer1::IRuntime* r) : runtime(r) {}
  std::unique_ptr<Engine> DeserializeCudaEngine(const void* data, size_t size) override {
    nvinfer1::ICudaEngine* e = runtime->deserializeCudaEngine(data, size);
    return e ? std::unique_ptr<Engine>(new RealEngine(e)) : nullptr;
  }
  std::unique_ptr<nvinfer1::IRuntime> runtime;
};

// getInferLibVersion() is major*1000+minor*100+patch on 8.x (8601) and major*10000+minor*100+patch from 10.0.
Version DecodeLibVersion(int32_t v) {
  if (v >= 10000) return {v / 10000, (v / 100) % 100, v % 100};
  return {v / 1000, (v / 100) % 10, v % 100};
}

class RealApi : public Api {
 public:
  Capabilities Caps() override {
    Capabilities c;
    c.compiled = {NV_TENSORRT_MAJOR, NV_TENSORRT_MINOR, NV_TENSORRT_PATCH};
    c.implicitPrecision = NV_TENSORRT_MAJOR < 11;
    c.progressMonitor = NV_TENSORRT_MAJOR >= 10;
    c.stronglyTypedFlag = NV_TENSORRT_MAJOR == 10;
    c.explicitBatchFlag = NV_TENSORRT_MAJOR < 10;
    c.profileSharingPreview = NV_TENSORRT_MAJOR < 10;
    c.profileSharingAlways = NV_TENSORRT_MAJOR >= 10;
    return c;
  }
  Version Loaded() override { return DecodeLibVersion(getInferLibVersion()); }
  void SetLogListener(LogListener* listener) override { TheLogger().listener = listener; }
  std::unique_ptr<Builder> CreateBuilder() override {
    nvinfer1::IBuilder* b = nvinfer1::createInferBuilder(TheLogger());
    return b ? std::unique_ptr<Builder>(new RealBuilder(b)) : nullptr;
  }
  std::unique_ptr<Runtime> CreateRuntime() override {
    nvinfer1::IRuntime* r = nvinfer1::createInferRuntime(TheLogger());
    return r ? std::unique_ptr<Runtime>(new RealRuntime(r)) : nullptr;
  }
  Cuda& cuda() override { return cuda_; }

 private:
  RealCuda cuda_;
};

}  // namespace

Api& TheApi() {
  static RealApi* api = new RealApi();  // never destroyed (see Logger)
  return *api;
}

}  // namespace trt
}  // namespace trtn
