// Shared helpers for every part of the addon: per-env instance data and typed errors.
#pragma once
#include <napi.h>

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace trtn {

class JsRefRegistry;

// Everything the addon keeps per JS environment (main thread or worker): no process-wide JS state, so the
// addon loads in several worker threads at once (see napi_set_instance_data).
struct AddonData {
  napi_env env = nullptr;
  Napi::FunctionReference errorClass;  // lib/errors.ts TrtnError, registered by the loader
  std::map<std::string, Napi::FunctionReference> constructors;
  // Native resources that must be released when this env shuts down (worker terminate, process exit).
  std::mutex cleanupMutex;
  std::map<void*, std::function<void()>> cleanups;
  // Every JsRef of this env, deleted at env teardown if still held (bridge/js_channel.h).
  std::shared_ptr<JsRefRegistry> jsRefs;
};

AddonData* GetAddonData(Napi::Env env);

// A TrtnError(code, message) when the class is registered, else an Error with a `code` property.
Napi::Error MakeError(Napi::Env env, const std::string& code, const std::string& message);
[[noreturn]] void ThrowError(Napi::Env env, const std::string& code, const std::string& message);

// Register a callback run at env teardown unless unregistered first (objects unregister in their destructor).
void RegisterCleanup(Napi::Env env, void* key, std::function<void()> fn);
void UnregisterCleanup(Napi::Env env, void* key);

}  // namespace trtn
