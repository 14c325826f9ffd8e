#include "js_channel.h"

#include <cstdio>

namespace trtn {

JsRef::JsRef(Napi::Env env, Napi::Value value) {
  if (napi_create_reference(env, value, 1, &ref_) != napi_ok) ref_ = nullptr;
}

Napi::Value JsRef::Value(Napi::Env env) const {
  napi_value out = nullptr;
  if (ref_ == nullptr || napi_get_reference_value(env, ref_, &out) != napi_ok || out == nullptr) return env.Undefined();
  return Napi::Value(env, out);
}

void JsRef::Release(Napi::Env env) {
  if (ref_ != nullptr) napi_delete_reference(env, ref_);
  ref_ = nullptr;
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

void JsChannel::CallJs(napi_env env, napi_value, void*, void* data) {
  std::unique_ptr<Handler> handler(static_cast<Handler*>(data));
  if (env == nullptr) return;  // env teardown: drop queued work without touching JS
  Napi::Env napiEnv(env);
  Napi::HandleScope scope(napiEnv);
  try {
    (*handler)(napiEnv);
  } catch (const Napi::Error& err) {
    // A handler must not let a JS exception escape into libuv; report it as an uncaught exception.
    napi_fatal_exception(env, err.Value());
  } catch (const std::exception& err) {
    std::fprintf(stderr, "tensorrt-node: native callback failed: %s\n", err.what());
  }
}

void JsChannel::Finalize(napi_env, void* data, void*) {
  // Runs on the JS thread when the function is released or the env shuts down: no post may follow.
  auto* keep = static_cast<std::shared_ptr<JsChannel>*>(data);
  {
    std::lock_guard<std::mutex> lock((*keep)->mutex_);
    (*keep)->open_ = false;
    (*keep)->tsfn_ = nullptr;
  }
  delete keep;
}

}  // namespace trtn
