// The TensorRT part's exports: version/availability facts, then the builder and runtime.
#include "../common.h"
#include "../modules.h"
#include "trt_common.h"

namespace trtn {
namespace {

// getInferLibVersion() is major*1000+minor*100+patch on 8.x (8601) and major*10000+minor*100+patch from 10.0
// (100600); a five-digit value can only be the second form with a one-digit major.
int LibMajor(int32_t v) { return v >= 10000 ? v / 10000 : v / 1000; }
std::string VersionString(int32_t v) {
  int minor = v >= 10000 ? (v / 100) % 100 : (v / 100) % 10;
  int patch = v % 100;
  return std::to_string(LibMajor(v)) + "." + std::to_string(minor) + "." + std::to_string(patch);
}

// trtRuntimeInfo() -> { compiled: 'x.y.z', compiledMajor, loaded: 'x.y.z', loadedMajor, implicitPrecision }
Napi::Value TrtRuntimeInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object out = Napi::Object::New(env);
  out.Set("compiled", std::to_string(NV_TENSORRT_MAJOR) + "." + std::to_string(NV_TENSORRT_MINOR) + "." + std::to_string(NV_TENSORRT_PATCH));
  out.Set("compiledMajor", NV_TENSORRT_MAJOR);
  const int32_t loaded = getInferLibVersion();
  out.Set("loaded", VersionString(loaded));
  out.Set("loadedMajor", LibMajor(loaded));
  out.Set("implicitPrecision", Napi::Boolean::New(env, TRTN_TRT_IMPLICIT_PRECISION != 0));
  return out;
}

// trtProbe() -> { cudaDevices, cudaError, runtime: bool, builder: bool, messages } : can TensorRT run here?
// Synchronous and cheap enough for availability checks (the runtime is created only when a device exists).
Napi::Value TrtProbe(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object out = Napi::Object::New(env);
  int count = 0;
  cudaError_t status = cudaGetDeviceCount(&count);
  out.Set("cudaDevices", status == cudaSuccess ? count : 0);
  out.Set("cudaError", status == cudaSuccess ? env.Null() : Napi::String::New(env, CudaError(status, "cudaGetDeviceCount").message));
  LogSink sink(-1, nullptr, nullptr);
  ScopedLogSink scoped(&sink);
  const bool probeFactories = info.Length() > 0 && info[0].ToBoolean().Value();
  if ((status == cudaSuccess && count > 0) || probeFactories) {
    TrtPtr<nvinfer1::IRuntime> runtime(nvinfer1::createInferRuntime(Logger()));
    out.Set("runtime", Napi::Boolean::New(env, runtime != nullptr));
    TrtPtr<nvinfer1::IBuilder> builder(runtime ? nvinfer1::createInferBuilder(Logger()) : nullptr);
    out.Set("builder", Napi::Boolean::New(env, builder != nullptr));
  } else {
    out.Set("runtime", env.Null());
    out.Set("builder", env.Null());
  }
  out.Set("messages", sink.Errors());
  return out;
}

}  // namespace

void InitTrt(Napi::Env env, Napi::Object exports) {
  exports.Set("trtRuntimeInfo", Napi::Function::New(env, TrtRuntimeInfo, "trtRuntimeInfo"));
  exports.Set("trtProbe", Napi::Function::New(env, TrtProbe, "trtProbe"));
  InitTrtBuilder(env, exports);
  InitTrtRuntime(env, exports);
}

}  // namespace trtn
