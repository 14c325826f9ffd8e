// Pulls batches from a JavaScript loader for a native thread (TensorRT's builder thread calls this from
// IInt8Calibrator::getBatch). The JS side is a function `pull()` returning (a promise of) null at the end or an
// object mapping input name -> TypedArray; the native thread waits for the promise, validates size and dtype,
// and copies the bytes out. Every failure is a JobError (ERR_CALIB_DATA, ERR_ABORTED), never a hang.
#pragma once
#include <napi.h>

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "js_channel.h"
#include "native_job.h"

namespace trtn {

// Where one input's bytes go, and what they must be.
struct BatchTarget {
  std::string name;   // input tensor name (key in the object the loader returns)
  std::string dtype;  // 'float32', 'float16', 'int8', 'uint8', 'int32', 'int64', 'bool'
  size_t bytes = 0;   // exact byte length expected
  void* dst = nullptr;
};

class BatchSource {
 public:
  enum class Status { kBatch, kEnd, kError };

  // JS thread: keeps `pull` alive until ReleaseJs.
  BatchSource(Napi::Env env, Napi::Function pull);

  // Native thread: fill every target with the next batch. kEnd when the loader is exhausted.
  Status Next(const JobContext& context, std::vector<BatchTarget>& targets, JobError* error);
  // Number of batches delivered so far.
  int Delivered() const { return delivered_; }
  // JS thread: drop the reference to the loader function.
  void ReleaseJs(Napi::Env env) { pull_.Release(env); }

 private:
  struct Request;
  static void Start(Napi::Env env, const std::shared_ptr<BatchSource>& self, const std::shared_ptr<Request>& request);
  static void Settle(Napi::Env env, const std::shared_ptr<Request>& request, Napi::Value value);

  JsRef pull_;
  int delivered_ = 0;
  std::weak_ptr<BatchSource> self_;

 public:
  static std::shared_ptr<BatchSource> Create(Napi::Env env, Napi::Function pull);
};

}  // namespace trtn
