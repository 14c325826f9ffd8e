// Native baselines for bench/cuda-transfer.mjs: the same work as the JS API does, looped in C++, so the
// benchmark can report the JS path as a fraction of what the runtime itself achieves.
#include <chrono>

#include "../common.h"
#include "cuda_error.h"
#include "cuda_objects.h"

namespace trtn {
namespace {

using Clock = std::chrono::steady_clock;

// Owners that free on every exit path (the benchmark may throw half way).
struct BenchResources {
  void* pinned = nullptr;
  void* device = nullptr;
  cudaStream_t stream = nullptr;
  cudaEvent_t event = nullptr;
  ~BenchResources() {
    if (stream) cudaStreamSynchronize(stream);
    if (event) cudaEventDestroy(event);
    if (stream) cudaStreamDestroy(stream);
    if (device) cudaFree(device);
    if (pinned) cudaFreeHost(pinned);
    (void)cudaGetLastError();
  }
};

// cudaBenchMemcpy(direction: 'h2d' | 'd2h', bytes, iterations, device) -> Float64Array of seconds per copy,
// each one cudaMemcpyAsync from/to pinned memory followed by cudaStreamSynchronize, timed on the host clock.
Napi::Value BenchMemcpy(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string direction = info[0].IsString() ? info[0].As<Napi::String>().Utf8Value() : "";
  if (direction != "h2d" && direction != "d2h") ThrowError(env, "ERR_INVALID_ARG", "direction must be 'h2d' or 'd2h'");
  size_t bytes = ToSize(env, info[1], "bytes");
  size_t iterations = ToSize(env, info[2], "iterations");
  if (bytes == 0 || iterations == 0) ThrowError(env, "ERR_INVALID_ARG", "bytes and iterations must be positive");
  int device = ToDevice(env, info[3]);
  DeviceScope scope(env, device);
  BenchResources r;
  TRTN_CHECK_CUDA(env, cudaHostAlloc(&r.pinned, bytes, cudaHostAllocPortable));
  TRTN_CHECK_CUDA(env, cudaMalloc(&r.device, bytes));
  TRTN_CHECK_CUDA(env, cudaStreamCreate(&r.stream));
  bool h2d = direction == "h2d";
  void* dst = h2d ? r.device : r.pinned;
  const void* src = h2d ? r.pinned : r.device;
  cudaMemcpyKind kind = h2d ? cudaMemcpyHostToDevice : cudaMemcpyDeviceToHost;
  // One untimed copy: first-touch costs (context, page mapping) are not bandwidth.
  TRTN_CHECK_CUDA(env, cudaMemcpyAsync(dst, src, bytes, kind, r.stream));
  TRTN_CHECK_CUDA(env, cudaStreamSynchronize(r.stream));
  Napi::Float64Array seconds = Napi::Float64Array::New(env, iterations);
  for (size_t i = 0; i < iterations; i++) {
    auto t0 = Clock::now();
    cudaError_t err = cudaMemcpyAsync(dst, src, bytes, kind, r.stream);
    if (err == cudaSuccess) err = cudaStreamSynchronize(r.stream);
    auto t1 = Clock::now();
    CheckCuda(env, err, "cudaMemcpyAsync+cudaStreamSynchronize");
    seconds[i] = std::chrono::duration<double>(t1 - t0).count();
  }
  return seconds;
}

// cudaBenchEventRoundTrip(iterations, device) -> mean microseconds of cudaEventRecord + cudaEventSynchronize
// on an idle stream, the native floor under Event.recordAndSynchronize.
Napi::Value BenchEventRoundTrip(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  size_t iterations = ToSize(env, info[0], "iterations");
  if (iterations == 0) ThrowError(env, "ERR_INVALID_ARG", "iterations must be positive");
  int device = ToDevice(env, info[1]);
  DeviceScope scope(env, device);
  BenchResources r;
  TRTN_CHECK_CUDA(env, cudaStreamCreate(&r.stream));
  TRTN_CHECK_CUDA(env, cudaEventCreate(&r.event));
  TRTN_CHECK_CUDA(env, cudaEventRecord(r.event, r.stream));
  TRTN_CHECK_CUDA(env, cudaEventSynchronize(r.event));
  auto t0 = Clock::now();
  for (size_t i = 0; i < iterations; i++) {
    cudaError_t err = cudaEventRecord(r.event, r.stream);
    if (err == cudaSuccess) err = cudaEventSynchronize(r.event);
    CheckCuda(env, err, "cudaEventRecord+cudaEventSynchronize");
  }
  auto t1 = Clock::now();
  return Napi::Number::New(env, std::chrono::duration<double, std::micro>(t1 - t0).count() / iterations);
}

}  // namespace

void InitCudaBench(Napi::Env env, Napi::Object exports) {
  exports.Set("cudaBenchMemcpy", Napi::Function::New(env, BenchMemcpy, "cudaBenchMemcpy"));
  exports.Set("cudaBenchEventRoundTrip", Napi::Function::New(env, BenchEventRoundTrip, "cudaBenchEventRoundTrip"));
}

}  // namespace trtn
