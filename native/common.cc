#include "common.h"

namespace trtn {

AddonData* GetAddonData(Napi::Env env) { return env.GetInstanceData<AddonData>(); }

Napi::Error MakeError(Napi::Env env, const std::string& code, const std::string& message) {
  AddonData* data = GetAddonData(env);
  if (data != nullptr && !data->errorClass.IsEmpty()) {
    Napi::Object err = data->errorClass.New({Napi::String::New(env, code), Napi::String::New(env, message)});
    return Napi::Error(env, err);
  }
  Napi::Error err = Napi::Error::New(env, message);
  err.Set("code", Napi::String::New(env, code));
  return err;
}

void ThrowError(Napi::Env env, const std::string& code, const std::string& message) {
  throw MakeError(env, code, message);
}

void RegisterCleanup(Napi::Env env, void* key, std::function<void()> fn) {
  AddonData* data = GetAddonData(env);
  if (data == nullptr) return;
  std::lock_guard<std::mutex> lock(data->cleanupMutex);
  data->cleanups[key] = std::move(fn);
}

void UnregisterCleanup(Napi::Env env, void* key) {
  AddonData* data = GetAddonData(env);
  if (data == nullptr) return;
  std::lock_guard<std::mutex> lock(data->cleanupMutex);
  data->cleanups.erase(key);
}

}  // namespace trtn
