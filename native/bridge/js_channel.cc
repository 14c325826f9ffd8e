#include "js_channel.h"

#include <cstdio>

#include "../common.h"

namespace trtn {

JsRef::JsRef(Napi::Env env, Napi::Value value) {
  if (napi_create_reference(env, value, 1, &ref_) != napi_ok) {
    ref_ = nullptr;
    return;
  }
  AddonData* data = GetAddonData(env);
  if (data != nullptr && data->jsRefs) {
    registry_ = data->jsRefs;
    registry_->Add(this);
  }
}

JsRef::~JsRef() {
  if (registry_) registry_->Remove(this);
}

Napi::Value JsRef::Value(Napi::Env env) const {
  napi_value out = nullptr;
  if (ref_ == nullptr || napi_get_reference_value(env, ref_, &out) != napi_ok || out == nullptr) return env.Undefined();
  return Napi::Value(env, out);
}

void JsRef::Release(Napi::Env env) {
  napi_ref ref = nullptr;
  if (registry_) {
    std::lock_guard<std::mutex> lock(registry_->mutex_);
    ref = ref_;
    ref_ = nullptr;
  } else {
    ref = ref_;
    ref_ = nullptr;
  }
  if (ref != nullptr) napi_delete_reference(env, ref);
}

void JsRefRegistry::Add(JsRef* ref) {
  std::lock_guard<std::mutex> lock(mutex_);
  live_.insert(ref);
}

void JsRefRegistry::Remove(JsRef* ref) {
  std::lock_guard<std::mutex> lock(mutex_);
  live_.erase(ref);
  if (ref->ref_ != nullptr) orphans_.push_back(ref->ref_);
  ref->ref_ = nullptr;
}

void JsRefRegistry::ReleaseAll(napi_env env) {
  std::vector<napi_ref> refs;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    refs.swap(orphans_);
    for (JsRef* ref : live_) {
      if (ref->ref_ != nullptr) refs.push_back(ref->ref_);
      ref->ref_ = nullptr;
    }
  }
  for (napi_ref ref : refs) napi_delete_reference(env, ref);
}

CallStatus SafeCall(napi_env env, napi_value fn, napi_value recv, const std::vector<napi_value>& args, napi_value* result,
                    std::string* error) {
  napi_value out = nullptr;
  napi_status status = napi_call_function(env, recv, fn, args.size(), args.empty() ? nullptr : args.data(), &out);
  if (status == napi_ok) {
    if (result != nullptr) *result = out;
    return CallStatus::kOk;
  }
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (!pending) return CallStatus::kTerminating;  // refused before running: JS cannot run in this env any more
  napi_value exception = nullptr;
  if (napi_get_and_clear_last_exception(env, &exception) != napi_ok || exception == nullptr) return CallStatus::kTerminating;
  napi_valuetype type = napi_undefined;
  napi_typeof(env, exception, &type);
  if (type != napi_object && type != napi_function) {
    // A thrown primitive, or V8's termination marker: tell them apart by whether a string conversion still works.
    napi_value str = nullptr;
    if (napi_coerce_to_string(env, exception, &str) != napi_ok || str == nullptr) return CallStatus::kTerminating;
    char buffer[512];
    size_t length = 0;
    napi_get_value_string_utf8(env, str, buffer, sizeof(buffer), &length);
    if (error != nullptr) *error = std::string(buffer, length);
    return CallStatus::kThrew;
  }
  napi_value message = nullptr;
  napi_valuetype messageType = napi_undefined;
  if (napi_get_named_property(env, exception, "message", &message) == napi_ok && napi_typeof(env, message, &messageType) == napi_ok &&
      messageType == napi_string) {
    char buffer[2048];
    size_t length = 0;
    napi_get_value_string_utf8(env, message, buffer, sizeof(buffer), &length);
    if (error != nullptr) *error = std::string(buffer, length);
  } else if (error != nullptr) {
    *error = "unknown error";
  }
  return CallStatus::kThrew;
}

std::shared_ptr<JsChannel> JsChannel::Create(Napi::Env env, const std::string& name) {
  std::shared_ptr<JsChannel> channel(new JsChannel());
  // The finalizer owns one strong reference: the channel outlives the thread-safe function.
  auto* keep = new std::shared_ptr<JsChannel>(channel);
  napi_value resourceName = Napi::String::New(env, name);
  napi_status status = napi_create_threadsafe_function(env, nullptr, nullptr, resourceName, 0, 1, keep, Finalize,
                                                       channel.get(), CallJs, &channel->tsfn_);
  if (status != napi_ok) {
    delete keep;
    throw Napi::Error::New(env, "cannot create a thread-safe function for " + name);
  }
  channel->open_ = true;
  napi_add_env_cleanup_hook(env, OnEnvCleanup, channel.get());
  return channel;
}

bool JsChannel::Post(Handler fn) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!open_) return false;
  auto* data = new Handler(std::move(fn));
  if (napi_call_threadsafe_function(tsfn_, data, napi_tsfn_nonblocking) != napi_ok) {
    delete data;
    return false;
  }
  return true;
}

void JsChannel::Close() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!open_) return;
  open_ = false;
  napi_release_threadsafe_function(tsfn_, napi_tsfn_release);
}

bool JsChannel::IsOpen() {
  std::lock_guard<std::mutex> lock(mutex_);
  return open_;
}

void JsChannel::SetReferenced(Napi::Env env, bool ref) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!open_) return;
  if (ref) napi_ref_threadsafe_function(env, tsfn_);
  else napi_unref_threadsafe_function(env, tsfn_);
}

void JsChannel::OnEnvCleanup(void* arg) {
  auto* channel = static_cast<JsChannel*>(arg);
  std::lock_guard<std::mutex> lock(channel->mutex_);
  channel->envClosing_ = true;
  channel->open_ = false;  // node releases the thread-safe function itself during teardown
}

void JsChannel::CallJs(napi_env env, napi_value, void* context, void* data) {
  std::unique_ptr<Handler> handler(static_cast<Handler*>(data));
  // env teardown: drop queued work without touching JS (it can no longer run there).
  if (env == nullptr || static_cast<JsChannel*>(context)->envClosing_) return;
  Napi::Env napiEnv(env);
  Napi::HandleScope scope(napiEnv);
  try {
    (*handler)(napiEnv);
  } catch (const Napi::Error& err) {
    // A handler must not let a JS exception escape into libuv (handlers call JS through SafeCall; this is a
    // failed N-API call, e.g. while the env shuts down).
    std::fprintf(stderr, "tensorrt-node: native callback failed: %s\n", err.what());
  } catch (const std::exception& err) {
    std::fprintf(stderr, "tensorrt-node: native callback failed: %s\n", err.what());
  }
}

void JsChannel::Finalize(napi_env env, void* data, void*) {
  // Runs on the JS thread when the function is released or the env shuts down: no post may follow.
  auto* keep = static_cast<std::shared_ptr<JsChannel>*>(data);
  if (!(*keep)->envClosing_) napi_remove_env_cleanup_hook(env, OnEnvCleanup, keep->get());
  {
    std::lock_guard<std::mutex> lock((*keep)->mutex_);
    (*keep)->open_ = false;
    (*keep)->tsfn_ = nullptr;
  }
  delete keep;
}

}  // namespace trtn
