#include "native_job.h"

#include <chrono>
#include <thread>

#include "../common.h"

namespace trtn {

void JobContext::SleepMs(int ms) const {
  auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  while (!Cancelled() && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(ms < 5 ? ms : 5));
  }
}

namespace {

// The job's promise is settled through its resolve/reject functions held as JsRefs, not a napi_deferred: Node
// frees a deferred only when it is settled, which is impossible once a worker is terminating, whereas a JsRef
// is deleted by the env cleanup hook. Settling uses raw N-API (SafeCall) so that a worker terminated mid-settle
// never reaches node-addon-api's fatal error path.
struct JobState {
  std::unique_ptr<JsRef> resolve;
  std::unique_ptr<JsRef> reject;

  // new Promise(executor), keeping the executor's resolve and reject. JS thread, inside a normal call.
  Napi::Value CreatePromise(Napi::Env env) {
    Napi::Function executor = Napi::Function::New(env, [this](const Napi::CallbackInfo& info) {
      resolve = std::make_unique<JsRef>(info.Env(), info[0]);
      reject = std::make_unique<JsRef>(info.Env(), info[1]);
    }, "executor");
    Napi::Value ctor = env.Global().Get("Promise");
    if (!ctor.IsFunction()) throw Napi::Error::New(env, "cannot create a promise: globalThis.Promise is not a function");
    Napi::Object promise = ctor.As<Napi::Function>().New({executor});
    if (!resolve || !reject || resolve->IsEmpty() || reject->IsEmpty()) throw Napi::Error::New(env, "cannot create a promise");
    return promise;
  }

  // JS thread: resolve (ok) or reject with `value`, then drop both functions. A null value (no error object could
  // be made: the env is terminating) only drops them.
  void Settle(napi_env env, bool ok, napi_value value) {
    Napi::Env napiEnv(env);
    if (value != nullptr) {
      napi_value fn = ok ? resolve->Value(napiEnv) : reject->Value(napiEnv);
      napi_value undefined = nullptr;
      napi_get_undefined(env, &undefined);
      std::string ignored;
      SafeCall(env, fn, undefined, {value}, nullptr, &ignored);
    }
    resolve->Release(napiEnv);
    reject->Release(napiEnv);
  }
};

// TrtnError(code, message) through the registered class, else a plain Error with `code`; null when JS cannot run.
napi_value MakeJobError(napi_env env, const JobError& error) {
  napi_value code = nullptr, message = nullptr, out = nullptr;
  napi_create_string_utf8(env, error.code.c_str(), error.code.size(), &code);
  napi_create_string_utf8(env, error.message.c_str(), error.message.size(), &message);
  AddonData* data = GetAddonData(Napi::Env(env));
  if (data != nullptr && !data->errorClass.IsEmpty()) {
    napi_value args[] = {code, message};
    if (napi_new_instance(env, data->errorClass.Value(), 2, args, &out) != napi_ok) {
      bool pending = false;
      napi_is_exception_pending(env, &pending);
      napi_value ignored = nullptr;
      if (pending) napi_get_and_clear_last_exception(env, &ignored);
      out = nullptr;
    }
  }
  if (out == nullptr) {
    if (napi_create_error(env, code, message, &out) != napi_ok) return nullptr;
    napi_set_named_property(env, out, "code", code);
  }
  napi_value details = nullptr;
  napi_valuetype type = napi_undefined;
  if (napi_get_named_property(env, out, "details", &details) != napi_ok || napi_typeof(env, details, &type) != napi_ok || type != napi_object) {
    if (napi_create_object(env, &details) != napi_ok) return out;
    napi_set_named_property(env, out, "details", details);
  }
  for (const auto& entry : error.details) {
    napi_value v = nullptr;
    napi_create_string_utf8(env, entry.second.c_str(), entry.second.size(), &v);
    napi_set_named_property(env, details, entry.first.c_str(), v);
  }
  return out;
}

}  // namespace

Napi::Object StartJob(Napi::Env env, const std::string& name, JobWork work, std::function<void(JobContext&)> onStart) {
  auto state = std::make_shared<JobState>();
  Napi::Value promise = state->CreatePromise(env);
  JobContext context{JsChannel::Create(env, name), std::make_shared<CancelToken>()};
  if (onStart) onStart(context);

  // Env teardown (worker terminate, process exit) cancels the work so the thread ends soon; it never posts. The
  // JS handles the job holds (resolve/reject, loaders, loggers) are JsRefs, which the addon's cleanup hook deletes.
  auto token = context.cancel;
  void* cleanupKey = state.get();
  RegisterCleanup(env, cleanupKey, [token]() { token->Cancel("the JavaScript environment is shutting down"); });

  std::thread([context, state, cleanupKey, work = std::move(work)]() mutable {
    JobOutcome outcome;
    try {
      outcome = work(context);
    } catch (const std::exception& err) {
      outcome.error = {"ERR_INFERENCE", std::string("native failure: ") + err.what()};
    }
    auto shared = std::make_shared<JobOutcome>(std::move(outcome));
    context.channel->Post([state, shared, cleanupKey](Napi::Env env) {
      UnregisterCleanup(env, cleanupKey);
      JobError error = shared->error;
      napi_value value = nullptr;
      if (error.ok()) {
        try {
          value = shared->value ? static_cast<napi_value>(shared->value(env)) : static_cast<napi_value>(env.Undefined());
        } catch (const Napi::Error& err) {
          error = {"ERR_INFERENCE", std::string("could not return the result: ") + err.what()};
        }
      }
      if (error.ok()) {
        state->Settle(env, true, value);
      } else {
        state->Settle(env, false, MakeJobError(env, error));
      }
      if (shared->cleanup) shared->cleanup(env);
    });
    context.channel->Close();
  }).detach();

  Napi::Object handle = Napi::Object::New(env);
  handle.Set("promise", promise);
  handle.Set("cancel", Napi::Function::New(env, [token](const Napi::CallbackInfo& info) {
    std::string reason = info.Length() > 0 && info[0].IsString() ? info[0].As<Napi::String>().Utf8Value()
                                                                 : std::string("the operation was aborted");
    token->Cancel(reason);
  }, "cancel"));
  return handle;
}

}  // namespace trtn
