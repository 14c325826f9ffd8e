// Shared pieces of the TensorRT backend's logic: the process-wide logger with per-job sinks, dtype names, dims,
// CUDA error mapping, and the bookkeeping that keeps TensorRT calls off the JS thread's shutdown path.
// Nothing here includes NvInfer.h: every TensorRT and CUDA call goes through the seam (api.h).
#pragma once
#include <napi.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "../bridge/js_channel.h"
#include "../bridge/native_job.h"
#include "../common.h"
#include "api.h"

namespace trtn {

// Where TensorRT's messages go for one operation (a build, a deserialize, an inference): the operation's JS logger
// through its channel (non-blocking posts), and a capture of error messages for the JS error it may raise.
class LogSink {
 public:
  LogSink(int minSeverity, std::shared_ptr<JsChannel> channel, std::shared_ptr<JsRef> logger)
      : minSeverity_(minSeverity), channel_(std::move(channel)), logger_(std::move(logger)) {}
  void Log(trt::Severity severity, const char* message);
  // Error messages captured so far, joined with '; ' (TensorRT's own words for the failure).
  std::string Errors();
  // Messages worse than `severity` captured so far (warnings included), for results that report them.
  std::vector<std::string> Warnings();

 private:
  int minSeverity_;
  std::shared_ptr<JsChannel> channel_;
  std::shared_ptr<JsRef> logger_;
  std::mutex mutex_;
  std::vector<std::string> errors_;
  std::vector<std::string> warnings_;
};

// The sink of the calling thread for the scope's duration. TensorRT also logs from threads of its own (tactic
// timing, calibration): a message from a thread with no sink goes to every sink whose scope is `shared` (builds),
// so a build's error keeps TensorRT's reason whichever thread said it.
class ScopedLogSink {
 public:
  explicit ScopedLogSink(LogSink* sink, bool shared = false);
  ~ScopedLogSink();
  ScopedLogSink(const ScopedLogSink&) = delete;
  ScopedLogSink& operator=(const ScopedLogSink&) = delete;

 private:
  LogSink* sink_;
  LogSink* previous_;
  bool shared_;
};

// Installs the process-wide log listener on the seam once; returns the seam.
trt::Api& Trt();

// Severity names shared with lib/engine/types.ts: 'error' | 'warning' | 'info' | 'verbose'.
const char* SeverityName(trt::Severity severity);

// The sink of a job: reads `logger` (function) and `logLevel` (0..4) from the options object on the JS thread.
std::shared_ptr<LogSink> MakeLogSink(Napi::Env env, Napi::Object options, const JobContext& context, std::shared_ptr<JsRef>* loggerRef);

const char* DtypeName(trt::DataType type);
size_t DtypeSize(trt::DataType type);
std::string DimsToString(const trt::Dims& dims);
size_t Volume(const trt::Dims& dims);

// A failed CUDA call as a JobError: ERR_NO_CUDA_DEVICE when there is no usable device, else ERR_CUDA, naming the call.
JobError CudaError(int status, const std::string& what);
// cudaSetDevice with the right error: ERR_NO_CUDA_DEVICE when there is no usable device.
JobError SelectDevice(int device);

// Work inside TensorRT or CUDA on a job thread. process.exit() waits (bounded) until none is running, because the
// libraries' static state is destroyed under a thread still inside them otherwise.
class TrtBusy {
 public:
  explicit TrtBusy(std::shared_ptr<CancelToken> token);
  ~TrtBusy();
  TrtBusy(const TrtBusy&) = delete;
  TrtBusy& operator=(const TrtBusy&) = delete;
  // Cancel every job inside TensorRT and wait up to `ms` for them to leave; true when none is left.
  static bool CancelAllAndWait(int ms, const std::string& reason);

 private:
  std::shared_ptr<CancelToken> token_;
};

// Release TensorRT objects on a thread of their own: destroying an engine or runtime can take time and locks that
// a builder thread waiting on the JS thread (calibration) may hold, so the JS thread never does it.
void ReleaseOffThread(std::shared_ptr<void> object);

std::vector<int64_t> ReadIntArray(Napi::Value value);
std::vector<uint8_t> ReadBytes(Napi::Value value);
Napi::Value BytesToBuffer(Napi::Env env, const void* data, size_t size);
// Hands a vector's storage to JS without copying (the buffer owns it).
Napi::Value VectorToBuffer(Napi::Env env, std::vector<uint8_t>&& bytes);

void InitTrtBuilder(Napi::Env env, Napi::Object exports);
void InitTrtRuntime(Napi::Env env, Napi::Object exports);

}  // namespace trtn
