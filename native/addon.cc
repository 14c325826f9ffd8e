// Module entry: per-env instance data, build information, and the Init of each compiled-in part.
#include <napi.h>

#include "bridge/js_channel.h"
#include "common.h"
#include "modules.h"

namespace trtn {
namespace {

Napi::Value BuildInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object out = Napi::Object::New(env);
  out.Set("napiVersion", Napi::Number::New(env, NAPI_VERSION));
  out.Set("cuda", std::string(TRTN_CUDA_VERSION_STRING).empty() ? env.Null() : Napi::String::New(env, TRTN_CUDA_VERSION_STRING));
  out.Set("tensorrt", std::string(TRTN_TENSORRT_VERSION_STRING).empty() ? env.Null() : Napi::String::New(env, TRTN_TENSORRT_VERSION_STRING));
#ifdef TRTN_HAVE_JPEG
  out.Set("jpeg", Napi::String::New(env, JpegVersion()));
#else
  out.Set("jpeg", env.Null());
#endif
  out.Set("compiler", Napi::String::New(env, __VERSION__));
  return out;
}

// The loader hands over lib/errors.ts's TrtnError so native errors are the same class as JS ones.
Napi::Value SetErrorClass(const Napi::CallbackInfo& info) {
  if (info.Length() < 1 || !info[0].IsFunction()) {
    throw Napi::TypeError::New(info.Env(), "setErrorClass expects a constructor");
  }
  GetAddonData(info.Env())->errorClass = Napi::Persistent(info[0].As<Napi::Function>());
  return info.Env().Undefined();
}

void Cleanup(void* arg) {
  // Runs when the env shuts down (worker terminate or process exit), before instance data is freed.
  auto* data = static_cast<AddonData*>(arg);
  std::map<void*, std::function<void()>> pending;
  {
    std::lock_guard<std::mutex> lock(data->cleanupMutex);
    pending.swap(data->cleanups);
  }
  for (auto& entry : pending) entry.second();
  // Node frees no napi_ref at teardown, and no JS may run now: delete the handles jobs still held.
  if (data->jsRefs) data->jsRefs->ReleaseAll(data->env);
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  auto* data = new AddonData();
  data->env = env;
  data->jsRefs = std::make_shared<JsRefRegistry>();
  env.SetInstanceData<AddonData>(data);
  napi_add_env_cleanup_hook(env, Cleanup, data);
  exports.Set("buildInfo", Napi::Function::New(env, BuildInfo, "buildInfo"));
  exports.Set("setErrorClass", Napi::Function::New(env, SetErrorClass, "setErrorClass"));
  InitBridge(env, exports);
  InitCalib(env, exports);
#ifdef TRTN_HAVE_CUDA
  InitCuda(env, exports);
#endif
#ifdef TRTN_HAVE_TENSORRT
  InitTrt(env, exports);
#endif
#ifdef TRTN_HAVE_JPEG
  InitImage(env, exports);
#endif
  return exports;
}

}  // namespace
}  // namespace trtn

static Napi::Object InitModule(Napi::Env env, Napi::Object exports) { return trtn::Init(env, exports); }
NODE_API_MODULE(tensorrt_node, InitModule)
