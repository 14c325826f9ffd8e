// Test hooks. testCudaFailure makes a real CUDA runtime call that fails on every machine, GPU or not, driver or not:
// cudaRuntimeGetVersion(nullptr) returns cudaErrorInvalidValue without touching the driver. The error goes through
// the same reporting the CUDA layer uses, so tests see ERR_CUDA (not ERR_NO_CUDA_DEVICE) with the call named.
#include "../bridge/native_job.h"
#include "../common.h"
#include "cuda_error.h"
#include "cuda_objects.h"

namespace trtn {
namespace {

// testCudaFailure(false): throws on the JS thread (TRTN_CHECK_CUDA). testCudaFailure(true) -> { promise, cancel }:
// the call runs on a native thread and the failure crosses as plain data (DescribeCudaError) to reject the promise.
Napi::Value TestCudaFailure(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const bool onNativeThread = info.Length() > 0 && info[0].ToBoolean().Value();
  if (!onNativeThread) {
    TRTN_CHECK_CUDA(env, cudaRuntimeGetVersion(nullptr));
    return env.Undefined();
  }
  return StartJob(env, "trtn.testCudaFailure", [](JobContext&) {
    JobOutcome outcome;
    CudaFailure failure = DescribeCudaError(cudaRuntimeGetVersion(nullptr), "cudaRuntimeGetVersion(nullptr)");
    if (failure) outcome.error = {failure.code, failure.message};
    return outcome;
  });
}

}  // namespace

void InitCudaTestHooks(Napi::Env env, Napi::Object exports) {
  exports.Set("testCudaFailure", Napi::Function::New(env, TestCudaFailure, "testCudaFailure"));
}

}  // namespace trtn
