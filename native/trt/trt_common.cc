#include "trt_common.h"

#include "../cuda/cuda_error.h"

#include <cstdio>
#include <sstream>

namespace trtn {

namespace {
thread_local LogSink* currentSink = nullptr;
}

void LogSink::Log(nvinfer1::ILogger::Severity severity, const char* message) {
  const int level = static_cast<int>(severity);
  if (level <= static_cast<int>(nvinfer1::ILogger::Severity::kERROR)) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (errors_.size() < 32) errors_.emplace_back(message);
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

void TrtLogger::log(Severity severity, nvinfer1::AsciiChar const* message) noexcept {
  if (currentSink != nullptr) {
    currentSink->Log(severity, message);
  } else if (static_cast<int>(severity) <= static_cast<int>(Severity::kWARNING)) {
    std::fprintf(stderr, "[TensorRT %s] %s\n", SeverityName(severity), message);
  }
}

TrtLogger& Logger() {
  static TrtLogger logger;
  return logger;
}

ScopedLogSink::ScopedLogSink(LogSink* sink) : previous_(currentSink) { currentSink = sink; }
ScopedLogSink::~ScopedLogSink() { currentSink = previous_; }

const char* SeverityName(nvinfer1::ILogger::Severity severity) {
  switch (severity) {
    case nvinfer1::ILogger::Severity::kINTERNAL_ERROR:
    case nvinfer1::ILogger::Severity::kERROR: return "error";
    case nvinfer1::ILogger::Severity::kWARNING: return "warning";
    case nvinfer1::ILogger::Severity::kINFO: return "info";
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

// Switch on the numeric value: later releases add types (kINT64 = 8 ...) that older headers lack.
const char* DtypeName(nvinfer1::DataType type) {
  switch (static_cast<int>(type)) {
    case 0: return "float32";
    case 1: return "float16";
    case 2: return "int8";
    case 3: return "int32";
    case 4: return "bool";
    case 5: return "uint8";
    case 6: return "fp8";
    case 7: return "bfloat16";
    case 8: return "int64";
    default: return "unsupported";
  }
}

size_t DtypeSize(nvinfer1::DataType type) {
  switch (static_cast<int>(type)) {
    case 0: case 3: return 4;
    case 1: case 7: return 2;
    case 2: case 4: case 5: case 6: return 1;
    case 8: return 8;
    default: return 0;
  }
}

std::vector<int64_t> DimsToVector(const nvinfer1::Dims& dims) {
  std::vector<int64_t> out;
  for (int i = 0; i < dims.nbDims && i < nvinfer1::Dims::MAX_DIMS; ++i) out.push_back(dims.d[i]);
  return out;
}

std::string DimsToString(const nvinfer1::Dims& dims) {
  std::ostringstream out;
  out << "[";
  for (int i = 0; i < dims.nbDims; ++i) out << (i ? "," : "") << dims.d[i];
  out << "]";
  return out.str();
}

nvinfer1::Dims VectorToDims(const std::vector<int64_t>& values) {
  nvinfer1::Dims dims{};
  dims.nbDims = static_cast<int32_t>(values.size());
  for (size_t i = 0; i < values.size() && i < static_cast<size_t>(nvinfer1::Dims::MAX_DIMS); ++i) {
    dims.d[i] = static_cast<decltype(dims.d[0] + 0)>(values[i]);
  }
  return dims;
}

// The CUDA layer's classification and wording, so both parts of the addon report a CUDA failure alike.
JobError CudaError(cudaError_t status, const std::string& what) { return {CudaErrorCode(status), CudaErrorMessage(status, what)}; }

JobError SelectDevice(int device) {
  int count = 0;
  cudaError_t status = cudaGetDeviceCount(&count);
  if (status != cudaSuccess) return CudaError(status, "cudaGetDeviceCount");
  if (device < 0 || device >= count) {
    return {"ERR_NO_CUDA_DEVICE", "CUDA device " + std::to_string(device) + " does not exist (" + std::to_string(count) + " device(s) found)"};
  }
  status = cudaSetDevice(device);
  if (status != cudaSuccess) return CudaError(status, "cudaSetDevice(" + std::to_string(device) + ")");
  return {};
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

}  // namespace trtn
