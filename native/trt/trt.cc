// The TensorRT part's exports: version facts, the availability probe (a job: it creates a runtime, which takes
// seconds and GPU memory), exit holding, then the builder and runtime.
#include "../common.h"
#include "../modules.h"
#include "trt_common.h"

#ifdef TRTN_TRT_SIMULATOR
#include "sim/sim.h"
#endif

namespace trtn {
namespace {

std::string VersionString(const trt::Version& v) {
  return std::to_string(v.major) + "." + std::to_string(v.minor) + "." + std::to_string(v.patch);
}

// trtRuntimeInfo() -> { compiled, compiledMajor, loaded, loadedMajor, implicitPrecision, progressMonitor, simulator }
Napi::Value TrtRuntimeInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  trt::Api& api = Trt();
  const trt::Capabilities caps = api.Caps();
  const trt::Version loaded = api.Loaded();
  Napi::Object out = Napi::Object::New(env);
  out.Set("compiled", VersionString(caps.compiled));
  out.Set("compiledMajor", caps.compiled.major);
  out.Set("loaded", VersionString(loaded));
  out.Set("loadedMajor", loaded.major);
  out.Set("implicitPrecision", Napi::Boolean::New(env, caps.implicitPrecision));
  out.Set("progressMonitor", Napi::Boolean::New(env, caps.progressMonitor));
  out.Set("simulator", Napi::Boolean::New(env, caps.simulator));
  return out;
}

// trtProbe(factories?) -> { promise: { cudaDevices, cudaError, runtime, messages }, cancel }: can TensorRT run
// here? Off the JS thread; the runtime is created only when a device exists (or `factories` asks for it anyway, for
// the stub check), and a builder is not needed to know.
Napi::Value TrtProbe(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const bool factories = info.Length() > 0 && info[0].ToBoolean().Value();
  return StartJob(env, "trtn.probe", [factories](JobContext& context) {
    TrtBusy busy(context.cancel);
    auto sink = std::make_shared<LogSink>(-1, nullptr, nullptr);
    ScopedLogSink scoped(sink.get());
    trt::Cuda& cuda = Trt().cuda();
    int count = 0;
    int status = cuda.GetDeviceCount(&count);
    std::string cudaError = status == trt::Cuda::kSuccess ? std::string() : CudaError(status, "cudaGetDeviceCount").message;
    if (status != trt::Cuda::kSuccess) count = 0;
    int runtime = -1;  // not tried
    if (count > 0 || factories) runtime = Trt().CreateRuntime() != nullptr ? 1 : 0;
    std::string messages = sink->Errors();
    JobOutcome outcome;
    outcome.value = [count, cudaError, runtime, messages](Napi::Env env) -> Napi::Value {
      Napi::Object out = Napi::Object::New(env);
      out.Set("cudaDevices", count);
      out.Set("cudaError", cudaError.empty() ? env.Null() : Napi::String::New(env, cudaError));
      out.Set("runtime", runtime < 0 ? env.Null() : Napi::Boolean::New(env, runtime == 1));
      out.Set("messages", messages);
      return out;
    };
    return outcome;
  });
}

// trtHoldExit(ms) -> boolean: cancel every job inside TensorRT and wait until they have left it (process 'exit').
Napi::Value TrtHoldExit(const Napi::CallbackInfo& info) {
  int ms = info.Length() > 0 && info[0].IsNumber() ? info[0].As<Napi::Number>().Int32Value() : 30000;
  return Napi::Boolean::New(info.Env(), TrtBusy::CancelAllAndWait(ms, "the process is exiting"));
}

}  // namespace

void InitTrt(Napi::Env env, Napi::Object exports) {
  exports.Set("trtRuntimeInfo", Napi::Function::New(env, TrtRuntimeInfo, "trtRuntimeInfo"));
  exports.Set("trtProbe", Napi::Function::New(env, TrtProbe, "trtProbe"));
  exports.Set("trtHoldExit", Napi::Function::New(env, TrtHoldExit, "trtHoldExit"));
  InitTrtBuilder(env, exports);
  InitTrtRuntime(env, exports);
#ifdef TRTN_TRT_SIMULATOR
  trt::sim::RegisterJsThread();
  trt::sim::InitTrtSim(env, exports);
#endif
}

}  // namespace trtn
