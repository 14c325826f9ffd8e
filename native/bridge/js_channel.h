// A channel from native threads to the JS thread of one env (a thread-safe function without a JS callback).
// Posting never blocks and is safe until the env shuts down; after that (or after Close) it returns false.
#pragma once
#include <napi.h>

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

namespace trtn {

class JsRefRegistry;

// A napi_ref that is created and deleted on the JS thread only. Its destructor makes no N-API call, so owners that
// may die on a native thread never call N-API from the wrong place. Node does not free a napi_ref at env
// teardown (a worker terminated mid-job would leak it), so every live JsRef is registered with its env and the
// addon's env cleanup hook deletes what is still held then (JsRefRegistry::ReleaseAll).
class JsRef {
 public:
  JsRef() = default;
  JsRef(Napi::Env env, Napi::Value value);
  ~JsRef();
  JsRef(const JsRef&) = delete;
  JsRef& operator=(const JsRef&) = delete;
  Napi::Value Value(Napi::Env env) const;
  bool IsEmpty() const { return ref_ == nullptr; }
  void Release(Napi::Env env);  // JS thread only

 private:
  friend class JsRefRegistry;
  napi_ref ref_ = nullptr;
  std::shared_ptr<JsRefRegistry> registry_;
};

// The JsRefs of one env. A JsRef destroyed still holding its ref (on a native thread, after its job could no
// longer reach the JS thread) leaves the napi_ref here as an orphan; ReleaseAll deletes those too.
class JsRefRegistry {
 public:
  void Add(JsRef* ref);
  // Unregister; a ref still held becomes an orphan. Any thread.
  void Remove(JsRef* ref);
  // JS thread, from the env cleanup hook: delete every napi_ref still held. JS does not run; only handles go.
  void ReleaseAll(napi_env env);

 private:
  friend class JsRef;
  std::mutex mutex_;
  std::set<JsRef*> live_;
  std::vector<napi_ref> orphans_;
};

// Call a JS function from a channel handler without node-addon-api's exception path: when a worker is terminated
// while the function runs, the pending "exception" is V8's termination, which node-addon-api cannot wrap (it
// aborts the process). Returns kOk, kThrew (with the error's message) or kTerminating (stop touching JS).
enum class CallStatus { kOk, kThrew, kTerminating };
CallStatus SafeCall(napi_env env, napi_value fn, napi_value recv, const std::vector<napi_value>& args, napi_value* result,
                    std::string* error);

class JsChannel : public std::enable_shared_from_this<JsChannel> {
 public:
  using Handler = std::function<void(Napi::Env)>;

  static std::shared_ptr<JsChannel> Create(Napi::Env env, const std::string& name);
  ~JsChannel() = default;

  // Queue `fn` to run on the JS thread. False (fn dropped) once the env shuts down or Close() was called.
  bool Post(Handler fn);
  // Stop accepting posts; already queued handlers still run. Any thread.
  void Close();
  bool IsOpen();
  // Whether this channel keeps the event loop alive (JS thread only).
  void SetReferenced(Napi::Env env, bool ref);

 private:
  JsChannel() = default;
  static void CallJs(napi_env env, napi_value, void* context, void* data);
  static void Finalize(napi_env env, void* data, void* hint);
  static void OnEnvCleanup(void* arg);

  std::mutex mutex_;
  // Set when the env starts shutting down (worker terminate): JS can no longer run, so queued handlers are
  // dropped. This hook is registered after the thread-safe function's own, so it runs before it.
  std::atomic<bool> envClosing_{false};
  napi_threadsafe_function tsfn_ = nullptr;
  bool open_ = false;
};

}  // namespace trtn
