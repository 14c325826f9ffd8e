#include "trt_common.h"

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <set>
#include <sstream>
#include <thread>

namespace trtn {

namespace {
thread_local LogSink* currentSink = nullptr;

// Sinks of builds in progress: they also receive what TensorRT logs from its own threads.
std::mutex sharedMutex;
std::multiset<LogSink*>& SharedSinks() {
  static auto* sinks = new std::multiset<LogSink*>();  // never destroyed: TensorRT may log during exit
  return *sinks;
}

class ProcessLogListener : public trt::LogListener {
 public:
  void Log(trt::Severity severity, const char* message) override {
    if (currentSink != nullptr) {
      currentSink->Log(severity, message);
      return;
    }
    std::vector<LogSink*> targets;
    {
      std::lock_guard<std::mutex> lock(sharedMutex);
      for (LogSink* s : SharedSinks()) {
        if (targets.empty() || targets.back() != s) targets.push_back(s);
      }
    }
    for (LogSink* s : targets) s->Log(severity, message);
    if (targets.empty() && static_cast<int>(severity) <= static_cast<int>(trt::Severity::kWARNING)) {
      std::fprintf(stderr, "[TensorRT %s] %s\n", SeverityName(severity), message);
    }
  }
};
}  // namespace

void LogSink::Log(trt::Severity severity, const char* message) {
  const int level = static_cast<int>(severity);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (level <= static_cast<int>(trt::Severity::kERROR) && errors_.size() < 32) errors_.emplace_back(message);
    if (level == static_cast<int>(trt::Severity::kWARNING) && warnings_.size() < 32) warnings_.emplace_back(message);
  }
  if (level > minSeverity_ || !logger_ || !channel_) return;
  std::string text(message);
  const char* name = SeverityName(severity);
  auto logger = logger_;
  // Non-blocking: a slow JS logger never stalls TensorRT's thread.
  channel_->Post([logger, name, text](Napi::Env env) {
    if (logger->IsEmpty()) return;
    Napi::Value fn = logger->Value(env);
    if (!fn.IsFunction()) return;
    // A throwing logger must not break the build it observes.
    SafeCall(env, fn, env.Undefined(), {Napi::String::New(env, name), Napi::String::New(env, text)}, nullptr, nullptr);
  });
}

std::string LogSink::Errors() {
  std::lock_guard<std::mutex> lock(mutex_);
  std::string out;
  for (const std::string& e : errors_) out += (out.empty() ? "" : "; ") + e;
  return out;
}

std::vector<std::string> LogSink::Warnings() {
  std::lock_guard<std::mutex> lock(mutex_);
  return warnings_;
}

ScopedLogSink::ScopedLogSink(LogSink* sink, bool shared) : sink_(sink), previous_(currentSink), shared_(shared && sink != nullptr) {
  currentSink = sink;
  if (shared_) {
    std::lock_guard<std::mutex> lock(sharedMutex);
    SharedSinks().insert(sink_);
  }
}

ScopedLogSink::~ScopedLogSink() {
  if (shared_) {
    std::lock_guard<std::mutex> lock(sharedMutex);
    auto it = SharedSinks().find(sink_);
    if (it != SharedSinks().end()) SharedSinks().erase(it);
  }
  currentSink = previous_;
}

trt::Api& Trt() {
  static trt::Api* api = [] {
    trt::Api* a = &trt::TheApi();
    a->SetLogListener(new ProcessLogListener());  // never destroyed, like TensorRT's own logger contract asks
    return a;
  }();
  return *api;
}

const char* SeverityName(trt::Severity severity) {
  switch (severity) {
    case trt::Severity::kINTERNAL_ERROR:
    case trt::Severity::kERROR: return "error";
    case trt::Severity::kWARNING: return "warning";
    case trt::Severity::kINFO: return "info";
    default: return "verbose";
  }
}

std::shared_ptr<LogSink> MakeLogSink(Napi::Env env, Napi::Object options, const JobContext& context, std::shared_ptr<JsRef>* loggerRef) {
  std::shared_ptr<JsRef> ref;
  Napi::Value logger = options.Get("logger");
  if (logger.IsFunction()) ref = std::make_shared<JsRef>(env, logger);
  int level = options.Has("logLevel") && options.Get("logLevel").IsNumber() ? options.Get("logLevel").As<Napi::Number>().Int32Value() : 2;
  *loggerRef = ref;
  return std::make_shared<LogSink>(level, context.channel, ref);
}

const char* DtypeName(trt::DataType type) {
  switch (type) {
    case trt::DataType::kFLOAT: return "float32";
    case trt::DataType::kHALF: return "float16";
    case trt::DataType::kINT8: return "int8";
    case trt::DataType::kINT32: return "int32";
    case trt::DataType::kBOOL: return "bool";
    case trt::DataType::kUINT8: return "uint8";
    case trt::DataType::kFP8: return "fp8";
    case trt::DataType::kBF16: return "bfloat16";
    case trt::DataType::kINT64: return "int64";
    default: return "unsupported";
  }
}

size_t DtypeSize(trt::DataType type) {
  switch (type) {
    case trt::DataType::kFLOAT: case trt::DataType::kINT32: return 4;
    case trt::DataType::kHALF: case trt::DataType::kBF16: return 2;
    case trt::DataType::kINT8: case trt::DataType::kBOOL: case trt::DataType::kUINT8: case trt::DataType::kFP8: return 1;
    case trt::DataType::kINT64: return 8;
    default: return 0;
  }
}

std::string DimsToString(const trt::Dims& dims) {
  std::ostringstream out;
  out << "[";
  for (size_t i = 0; i < dims.size(); ++i) out << (i ? "," : "") << dims[i];
  out << "]";
  return out.str();
}

size_t Volume(const trt::Dims& dims) {
  size_t n = 1;
  for (int64_t d : dims) n *= static_cast<size_t>(d < 0 ? 0 : d);
  return n;
}

JobError CudaError(int status, const std::string& what) {
  trt::Cuda& cuda = Trt().cuda();
  std::string message = what + " failed: " + cuda.ErrorName(status) + " (" + cuda.ErrorString(status) + ")";
  return {cuda.IsNoDeviceError(status) ? "ERR_NO_CUDA_DEVICE" : "ERR_CUDA", message};
}

JobError SelectDevice(int device) {
  trt::Cuda& cuda = Trt().cuda();
  int count = 0;
  int status = cuda.GetDeviceCount(&count);
  if (status != trt::Cuda::kSuccess) return CudaError(status, "cudaGetDeviceCount");
  if (device < 0 || device >= count) {
    return {"ERR_NO_CUDA_DEVICE", "CUDA device " + std::to_string(device) + " does not exist (" + std::to_string(count) + " device(s) found)"};
  }
  status = cuda.SetDevice(device);
  if (status != trt::Cuda::kSuccess) return CudaError(status, "cudaSetDevice(" + std::to_string(device) + ")");
  return {};
}

namespace {
std::mutex busyMutex;
std::condition_variable busyChanged;
std::multiset<std::shared_ptr<CancelToken>>& BusyTokens() {
  static auto* tokens = new std::multiset<std::shared_ptr<CancelToken>>();
  return *tokens;
}
}  // namespace

TrtBusy::TrtBusy(std::shared_ptr<CancelToken> token) : token_(std::move(token)) {
  std::lock_guard<std::mutex> lock(busyMutex);
  BusyTokens().insert(token_);
}

TrtBusy::~TrtBusy() {
  std::lock_guard<std::mutex> lock(busyMutex);
  auto it = BusyTokens().find(token_);
  if (it != BusyTokens().end()) BusyTokens().erase(it);
  busyChanged.notify_all();
}

bool TrtBusy::CancelAllAndWait(int ms, const std::string& reason) {
  std::unique_lock<std::mutex> lock(busyMutex);
  for (const auto& token : BusyTokens()) token->Cancel(reason);
  return busyChanged.wait_for(lock, std::chrono::milliseconds(ms), [] { return BusyTokens().empty(); });
}

void ReleaseOffThread(std::shared_ptr<void> object) {
  if (!object) return;
  std::thread([object = std::move(object)]() mutable {
    TrtBusy busy(std::make_shared<CancelToken>());
    object.reset();
  }).detach();
}

std::vector<int64_t> ReadIntArray(Napi::Value value) {
  std::vector<int64_t> out;
  if (!value.IsArray()) return out;
  Napi::Array array = value.As<Napi::Array>();
  for (uint32_t i = 0; i < array.Length(); ++i) out.push_back(array.Get(i).As<Napi::Number>().Int64Value());
  return out;
}

std::vector<uint8_t> ReadBytes(Napi::Value value) {
  if (!value.IsTypedArray()) return {};
  Napi::TypedArray array = value.As<Napi::TypedArray>();
  const uint8_t* data = static_cast<const uint8_t*>(array.ArrayBuffer().Data()) + array.ByteOffset();
  return std::vector<uint8_t>(data, data + array.ByteLength());
}

Napi::Value BytesToBuffer(Napi::Env env, const void* data, size_t size) {
  return Napi::Buffer<uint8_t>::Copy(env, static_cast<const uint8_t*>(data), size);
}

Napi::Value VectorToBuffer(Napi::Env env, std::vector<uint8_t>&& bytes) {
  if (bytes.empty()) return Napi::Buffer<uint8_t>::New(env, 0);
  auto* owned = new std::vector<uint8_t>(std::move(bytes));
  return Napi::Buffer<uint8_t>::New(env, owned->data(), owned->size(), [](Napi::Env, uint8_t*, std::vector<uint8_t>* v) { delete v; }, owned);
}

}  // namespace trtn
