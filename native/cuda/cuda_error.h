// CUDA runtime errors as TrtnErrors: the code (ERR_NO_CUDA_DEVICE when there is no usable device or driver,
// ERR_CUDA otherwise) and a message naming the failed call and the CUDA error name and text.
//
// On the JS thread:  CheckCuda(env, cudaMalloc(&p, n), "cudaMalloc");  or  TRTN_CHECK_CUDA(env, cudaMalloc(&p, n));
// Off the JS thread: CudaFailure f = DescribeCudaError(err, "cudaStreamSynchronize"); carry f.code / f.message to
//                    the JS thread and throw there with ThrowCudaFailure(env, f) (or ThrowError(env, code, message)),
//                    or throw CudaCallError (a std::runtime_error with code()) inside C++-only code.
#pragma once
#include <cuda_runtime_api.h>

#include <stdexcept>
#include <string>

#include "../common.h"

namespace trtn {

// The errors that mean "this machine cannot run CUDA here" rather than "this call went wrong".
inline bool IsNoCudaDeviceError(cudaError_t err) {
  switch (err) {
    case cudaErrorNoDevice:               // no GPU
    case cudaErrorInsufficientDriver:     // no driver (libcuda not found) or one older than the runtime
    case cudaErrorInvalidDevice:          // device index out of range
    case cudaErrorStubLibrary:            // libcuda is the toolkit's stub, not a real driver
    case cudaErrorSystemDriverMismatch:   // kernel module and user-space driver differ
    case cudaErrorDevicesUnavailable:     // all devices busy or in prohibited compute mode
    case cudaErrorInitializationError:    // the driver could not initialise (e.g. after fork)
      return true;
    default:
      return false;
  }
}

inline const char* CudaErrorCode(cudaError_t err) { return IsNoCudaDeviceError(err) ? "ERR_NO_CUDA_DEVICE" : "ERR_CUDA"; }

// "cudaMalloc failed: cudaErrorMemoryAllocation (out of memory)". Plain strings only: safe on any thread.
inline std::string CudaErrorMessage(cudaError_t err, const std::string& call) {
  const char* name = cudaGetErrorName(err);
  const char* text = cudaGetErrorString(err);
  return call + " failed: " + (name ? name : "cudaError " + std::to_string(static_cast<int>(err))) + " (" +
         (text ? text : "unknown error") + ")";
}

// A CUDA failure as plain data, to carry from a worker thread to the JS thread.
struct CudaFailure {
  cudaError_t error = cudaSuccess;
  std::string code;     // "" when error == cudaSuccess
  std::string message;
  explicit operator bool() const { return error != cudaSuccess; }
};

inline CudaFailure DescribeCudaError(cudaError_t err, const std::string& call) {
  CudaFailure f;
  if (err == cudaSuccess) return f;
  f.error = err;
  f.code = CudaErrorCode(err);
  f.message = CudaErrorMessage(err, call);
  return f;
}

// For C++-only code off the JS thread: throw, catch at the worker boundary, then ThrowError(env, e.code(), e.what()).
class CudaCallError : public std::runtime_error {
 public:
  CudaCallError(cudaError_t err, const std::string& call)
      : std::runtime_error(CudaErrorMessage(err, call)), error_(err), code_(CudaErrorCode(err)) {}
  cudaError_t error() const { return error_; }
  const std::string& code() const { return code_; }

 private:
  cudaError_t error_;
  std::string code_;
};

inline void ThrowIfCudaFailed(cudaError_t err, const std::string& call) {
  if (err != cudaSuccess) throw CudaCallError(err, call);
}

// On the JS thread: throw a TrtnError (Napi::Error, so it surfaces as a JS exception).
[[noreturn]] inline void ThrowCudaError(Napi::Env env, cudaError_t err, const std::string& call) {
  ThrowError(env, CudaErrorCode(err), CudaErrorMessage(err, call));
}

[[noreturn]] inline void ThrowCudaFailure(Napi::Env env, const CudaFailure& f) { ThrowError(env, f.code, f.message); }

inline void CheckCuda(Napi::Env env, cudaError_t err, const std::string& call) {
  if (err != cudaSuccess) {
    // Clear the sticky "last error" so a later, unrelated cudaGetLastError does not report this one again.
    (void)cudaGetLastError();
    ThrowCudaError(env, err, call);
  }
}

}  // namespace trtn

// Names the call from its source text: TRTN_CHECK_CUDA(env, cudaMalloc(&p, n)) -> "cudaMalloc(&p, n) failed: ...".
#define TRTN_CHECK_CUDA(env, expr) ::trtn::CheckCuda((env), (expr), #expr)
