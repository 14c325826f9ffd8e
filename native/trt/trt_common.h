// Shared pieces of the TensorRT part: version switches, owners, the process-wide logger, dtype names.
#pragma once
#include <NvInfer.h>
#include <NvInferVersion.h>
#include <NvOnnxParser.h>
#include <cuda_runtime_api.h>
#include <napi.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "../bridge/js_channel.h"
#include "../bridge/native_job.h"
#include "../common.h"

// TensorRT 11 removed the implicit-precision builder flags and the INT8 calibrators (networks are strongly typed).
#define TRTN_TRT_IMPLICIT_PRECISION (NV_TENSORRT_MAJOR < 11)
#define TRTN_TRT_HAS_PROGRESS_MONITOR (NV_TENSORRT_MAJOR >= 10)
#define TRTN_TRT_HAS_STRONGLY_TYPED_FLAG (NV_TENSORRT_MAJOR == 10)
#define TRTN_TRT_NEEDS_EXPLICIT_BATCH_FLAG (NV_TENSORRT_MAJOR < 10)

namespace trtn {

// Every TensorRT object since 8.0 is released with delete.
template <typename T>
using TrtPtr = std::unique_ptr<T>;

// Where TensorRT's messages go for one operation (a build, a deserialize, an inference): the operation's JS logger
// through its channel (non-blocking posts), and a capture of error messages for the JS error it may raise.
class LogSink {
 public:
  LogSink(int minSeverity, std::shared_ptr<JsChannel> channel, std::shared_ptr<JsRef> logger)
      : minSeverity_(minSeverity), channel_(std::move(channel)), logger_(std::move(logger)) {}
  void Log(nvinfer1::ILogger::Severity severity, const char* message);
  // Error messages captured so far, joined with '; ' (TensorRT's own words for the failure).
  std::string Errors();

 private:
  int minSeverity_;
  std::shared_ptr<JsChannel> channel_;
  std::shared_ptr<JsRef> logger_;
  std::mutex mutex_;
  std::vector<std::string> errors_;
};

// The one ILogger handed to every builder, runtime and parser. Messages go to the sink installed on the calling
// thread (ScopedLogSink); messages from other threads print to stderr when they are warnings or worse.
class TrtLogger : public nvinfer1::ILogger {
 public:
  void log(Severity severity, nvinfer1::AsciiChar const* message) noexcept override;
};
TrtLogger& Logger();

class ScopedLogSink {
 public:
  explicit ScopedLogSink(LogSink* sink);
  ~ScopedLogSink();

 private:
  LogSink* previous_;
};

// Severity names shared with lib/engine/types.ts: 'error' | 'warning' | 'info' | 'verbose'.
const char* SeverityName(nvinfer1::ILogger::Severity severity);

// The sink of a job: reads `logger` (function) and `logLevel` (0..4) from the options object on the JS thread.
std::shared_ptr<LogSink> MakeLogSink(Napi::Env env, Napi::Object options, const JobContext& context, std::shared_ptr<JsRef>* loggerRef);

const char* DtypeName(nvinfer1::DataType type);
size_t DtypeSize(nvinfer1::DataType type);
std::vector<int64_t> DimsToVector(const nvinfer1::Dims& dims);
std::string DimsToString(const nvinfer1::Dims& dims);
nvinfer1::Dims VectorToDims(const std::vector<int64_t>& values);

// cudaSetDevice with the right error: ERR_NO_CUDA_DEVICE when there is no usable device.
JobError SelectDevice(int device);
JobError CudaError(cudaError_t status, const std::string& what);

std::vector<int64_t> ReadIntArray(Napi::Value value);
std::vector<uint8_t> ReadBytes(Napi::Value value);
Napi::Value BytesToBuffer(Napi::Env env, const void* data, size_t size);

void InitTrtBuilder(Napi::Env env, Napi::Object exports);
void InitTrtRuntime(Napi::Env env, Napi::Object exports);

}  // namespace trtn
