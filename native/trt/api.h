// The seam between the TensorRT backend's logic (builder.cc, runtime.cc, calibration_feed.h: pool, staging,
// calibration feed, progress, timing, error mapping) and the TensorRT and CUDA calls it makes.
//
// Two implementations sit behind it:
//   adapter/real.cc  the only file that includes NvInfer.h and cuda_runtime_api.h: a one-to-one forwarding of each
//                    call (compiled against the real headers of 8.6, 10.x and 11.x by trt-compat-check.sh);
//   sim/             a simulator of TensorRT (8.6, 10.x and 11.x personalities) and of the CUDA runtime, linked only
//                    into the test addon (build/sim/tensorrt_node_trtsim.node). It checks what the headers document
//                    and records each violation; it never ships and never reports itself as TensorRT.
//
// The interfaces mirror TensorRT's (same names, same ownership): whatever the logic may not do with TensorRT it may
// not do here either. Objects are released with delete (unique_ptr), as TensorRT's are since 8.0.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace trtn {
namespace trt {

// nvinfer1::DataType's numeric values (later releases add kINT64 = 8, kINT4 = 9, kFP4 = 10 ...).
enum class DataType : int32_t { kFLOAT = 0, kHALF = 1, kINT8 = 2, kINT32 = 3, kBOOL = 4, kUINT8 = 5, kFP8 = 6, kBF16 = 7, kINT64 = 8, kINT4 = 9, kFP4 = 10 };
// nvinfer1::ILogger::Severity's values.
enum class Severity : int32_t { kINTERNAL_ERROR = 0, kERROR = 1, kWARNING = 2, kINFO = 3, kVERBOSE = 4 };
enum class IOMode : int32_t { kNONE = 0, kINPUT = 1, kOUTPUT = 2 };
enum class ProfileSelector : int32_t { kMIN = 0, kOPT = 1, kMAX = 2 };
enum class BuilderFlag : int32_t { kFP16, kINT8, kTF32 };
enum class CalibrationAlgorithm : int32_t { kENTROPY_2, kMINMAX, kLEGACY_ENTROPY };

using Dims = std::vector<int64_t>;
using Bytes = std::vector<uint8_t>;
// cudaStream_t / cudaEvent_t, opaque here.
using Stream = void*;
using Event = void*;

struct Version {
  int major = 0, minor = 0, patch = 0;
};

// What the TensorRT behind the seam can do. The logic decides at run time from these, not from header macros, so
// one compiled logic serves every personality of the simulator and the real adapter alike.
struct Capabilities {
  Version compiled;                    // the headers (real) or the personality (simulator)
  bool implicitPrecision = false;      // kFP16 / kINT8 builder flags and IInt8Calibrator (8.6, 10.x; gone in 11)
  bool progressMonitor = false;        // IProgressMonitor (10.0+)
  bool stronglyTypedFlag = false;      // NetworkDefinitionCreationFlag::kSTRONGLY_TYPED (10.x)
  bool explicitBatchFlag = false;      // kEXPLICIT_BATCH must be passed (8.x)
  bool profileSharingPreview = false;  // PreviewFeature::kPROFILE_SHARING_0806 (8.6): contexts may share a profile
  bool profileSharingAlways = false;   // 10.0+: every context starts on profile 0 and may share it
  bool simulator = false;
};

// ---- CUDA runtime --------------------------------------------------------------------------------------------
// Status values are cudaError_t's (0 = cudaSuccess); the logic only compares with kSuccess and asks for names.
class Cuda {
 public:
  static constexpr int kSuccess = 0;
  enum class Copy : int32_t { kHostToDevice = 1, kDeviceToHost = 2, kDeviceToDevice = 3 };
  virtual ~Cuda() = default;
  virtual int GetDeviceCount(int* count) = 0;
  virtual int SetDevice(int device) = 0;
  virtual int MemGetInfo(size_t* free, size_t* total) = 0;
  virtual int Malloc(void** ptr, size_t bytes) = 0;
  virtual int Free(void* ptr) = 0;
  virtual int MallocHost(void** ptr, size_t bytes) = 0;  // pinned
  virtual int FreeHost(void* ptr) = 0;
  virtual int Memcpy(void* dst, const void* src, size_t bytes, Copy kind) = 0;
  virtual int MemcpyAsync(void* dst, const void* src, size_t bytes, Copy kind, Stream stream) = 0;
  virtual int StreamCreate(Stream* stream) = 0;  // non-blocking
  virtual int StreamDestroy(Stream stream) = 0;
  virtual int StreamSynchronize(Stream stream) = 0;
  virtual int EventCreate(Event* event) = 0;
  virtual int EventDestroy(Event event) = 0;
  virtual int EventRecord(Event event, Stream stream) = 0;
  virtual int EventSynchronize(Event event) = 0;
  virtual int EventElapsedMs(float* ms, Event start, Event end) = 0;
  virtual int GetLastError() = 0;  // and clear it
  virtual std::string ErrorName(int status) = 0;
  virtual std::string ErrorString(int status) = 0;
  // No device, no driver, a stub driver ...: "this machine cannot run CUDA", not "this call went wrong".
  virtual bool IsNoDeviceError(int status) = 0;
  // An error that corrupts the CUDA context (illegal address, launch failure ...): every later call fails too.
  virtual bool IsStickyError(int status) = 0;
};

// ---- Callbacks TensorRT makes into the logic -------------------------------------------------------------------
// Messages of every TensorRT object (one ILogger per process, as TensorRT wants).
class LogListener {
 public:
  virtual ~LogListener() = default;
  virtual void Log(Severity severity, const char* message) = 0;
};

// IProgressMonitor: called by the builder, possibly from several threads at once.
class ProgressListener {
 public:
  virtual ~ProgressListener() = default;
  virtual void PhaseStart(const char* phase, const char* parent, int32_t steps) = 0;
  virtual bool StepComplete(const char* phase, int32_t step) = 0;  // false cancels the build
  virtual void PhaseFinish(const char* phase) = 0;
};

// IInt8Calibrator: called by the builder from its own thread; readCalibrationCache first, then getBatch until it
// returns false, then writeCalibrationCache.
class CalibrationListener {
 public:
  virtual ~CalibrationListener() = default;
  virtual int32_t BatchSize() = 0;
  virtual bool GetBatch(void* bindings[], const char* names[], int32_t count) = 0;
  virtual const void* ReadCache(size_t& length) = 0;
  virtual void WriteCache(const void* data, size_t length) = 0;
};

// ---- Builder side ----------------------------------------------------------------------------------------------
class Network {
 public:
  virtual ~Network() = default;
  virtual int32_t NbInputs() = 0;
  virtual std::string InputName(int32_t index) = 0;
  virtual Dims InputDims(int32_t index) = 0;
  virtual DataType InputType(int32_t index) = 0;
};

struct ParserError {
  int64_t node = -1;
  std::string nodeName, op, desc;
};

class Parser {
 public:
  virtual ~Parser() = default;
  virtual bool ParseFromFile(const std::string& path) = 0;
  virtual bool Parse(const void* data, size_t size) = 0;
  virtual std::vector<ParserError> Errors() = 0;
};

// Owned by the builder (TensorRT's IOptimizationProfile is), valid while the builder lives.
class OptimizationProfile {
 public:
  virtual ~OptimizationProfile() = default;
  virtual bool SetDimensions(const std::string& input, ProfileSelector selector, const Dims& dims) = 0;
};

class TimingCache {
 public:
  virtual ~TimingCache() = default;
  virtual Bytes Serialize() = 0;
  virtual bool Combine(TimingCache& other, bool ignoreMismatch) = 0;
};

// App-owned objects TensorRT only points to: their lifetime must exceed that of the config that uses them.
class ProgressMonitor {
 public:
  virtual ~ProgressMonitor() = default;
};
class Calibrator {
 public:
  virtual ~Calibrator() = default;
};

class BuilderConfig {
 public:
  virtual ~BuilderConfig() = default;
  virtual void SetWorkspaceBytes(uint64_t bytes) = 0;
  virtual bool SetFlag(BuilderFlag flag, bool on) = 0;  // false: the flag does not exist in this TensorRT
  virtual void SetDetailedProfiling() = 0;
  virtual void SetOptimizationLevel(int32_t level) = 0;
  virtual void EnableProfileSharing0806() = 0;  // 8.6 only
  virtual void SetProfileStream(Stream stream) = 0;
  virtual int32_t AddOptimizationProfile(OptimizationProfile* profile) = 0;  // index, or -1
  virtual bool SetCalibrationProfile(OptimizationProfile* profile) = 0;
  virtual void SetCalibrator(Calibrator* calibrator) = 0;  // implicit precision only
  virtual void SetProgressMonitor(ProgressMonitor* monitor) = 0;
  // createTimingCache: size 0 starts an empty cache; null when the bytes cannot be read.
  virtual std::unique_ptr<TimingCache> CreateTimingCache(const void* data, size_t size) = 0;
  virtual bool SetTimingCache(TimingCache& cache, bool ignoreMismatch) = 0;
  // The attached cache, serialized (empty when none).
  virtual Bytes SerializeTimingCache() = 0;
};

class Builder {
 public:
  virtual ~Builder() = default;
  virtual std::unique_ptr<Network> CreateNetwork(bool stronglyTyped) = 0;
  virtual std::unique_ptr<Parser> CreateParser(Network& network) = 0;
  virtual std::unique_ptr<BuilderConfig> CreateConfig() = 0;
  virtual OptimizationProfile* CreateOptimizationProfile() = 0;
  virtual std::unique_ptr<ProgressMonitor> CreateProgressMonitor(ProgressListener* listener) = 0;
  virtual std::unique_ptr<Calibrator> CreateCalibrator(CalibrationAlgorithm algorithm, CalibrationListener* listener) = 0;
  // buildSerializedNetwork: false (and out empty) when TensorRT returned null.
  virtual bool BuildSerializedNetwork(Network& network, BuilderConfig& config, Bytes* out) = 0;
};

// ---- Runtime side ----------------------------------------------------------------------------------------------
class ExecutionContext {
 public:
  virtual ~ExecutionContext() = default;
  virtual bool SetOptimizationProfileAsync(int32_t profile, Stream stream) = 0;
  virtual int32_t GetOptimizationProfile() = 0;
  virtual bool SetInputShape(const std::string& name, const Dims& dims) = 0;
  virtual Dims GetTensorShape(const std::string& name) = 0;
  virtual bool SetTensorAddress(const std::string& name, void* address) = 0;
  virtual int32_t InferShapes() = 0;  // number of inputs whose shape is still missing (0 = all set)
  virtual bool EnqueueV3(Stream stream) = 0;
};

class Engine {
 public:
  virtual ~Engine() = default;
  virtual int32_t NbIOTensors() = 0;
  virtual std::string IOTensorName(int32_t index) = 0;
  virtual IOMode TensorIOMode(const std::string& name) = 0;
  virtual DataType TensorDataType(const std::string& name) = 0;
  virtual Dims TensorShape(const std::string& name) = 0;
  virtual int32_t NbOptimizationProfiles() = 0;
  virtual Dims ProfileShape(const std::string& name, int32_t profile, ProfileSelector selector) = 0;
  virtual int32_t NbLayers() = 0;
  // Device memory one execution context needs (getDeviceMemorySizeV2 from 10.1, getDeviceMemorySize before).
  virtual int64_t DeviceMemorySize() = 0;
  virtual std::string LayerInformationJson() = 0;  // IEngineInspector, '' when unavailable
  virtual std::unique_ptr<ExecutionContext> CreateExecutionContext() = 0;  // null on failure (e.g. out of memory)
};

class Runtime {
 public:
  virtual ~Runtime() = default;
  virtual std::unique_ptr<Engine> DeserializeCudaEngine(const void* data, size_t size) = 0;
};

// ---- The whole seam ------------------------------------------------------------------------------------------
class Api {
 public:
  virtual ~Api() = default;
  virtual Capabilities Caps() = 0;
  virtual Version Loaded() = 0;  // getInferLibVersion of the library actually loaded
  // The one logger: every message TensorRT emits goes to this listener (set once, before any factory call).
  virtual void SetLogListener(LogListener* listener) = 0;
  virtual std::unique_ptr<Builder> CreateBuilder() = 0;  // null when TensorRT cannot initialise
  virtual std::unique_ptr<Runtime> CreateRuntime() = 0;
  virtual Cuda& cuda() = 0;
};

// Defined by the adapter linked in (adapter/real.cc or sim/).
Api& TheApi();

}  // namespace trt
}  // namespace trtn
