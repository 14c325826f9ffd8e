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

// Raw N-API for settling: a worker terminated mid-settle must not reach node-addon-api's fatal error path.
struct JobState {
  explicit JobState(Napi::Env env) {
    if (napi_create_promise(env, &deferred, &promise) != napi_ok) throw Napi::Error::New(env, "cannot create a promise");
  }
  napi_deferred deferred = nullptr;
  napi_value promise = nullptr;  // valid only during StartJob
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
  auto state = std::make_shared<JobState>(env);
  JobContext context{JsChannel::Create(env, name), std::make_shared<CancelToken>()};
  if (onStart) onStart(context);

  // Env teardown (worker terminate, process exit) cancels the work so the thread ends soon; it never posts.
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
        napi_resolve_deferred(env, state->deferred, value);
      } else {
        napi_value rejection = MakeJobError(env, error);
        if (rejection != nullptr) napi_reject_deferred(env, state->deferred, rejection);
      }
      if (shared->cleanup) shared->cleanup(env);
    });
    context.channel->Close();
  }).detach();

  Napi::Object handle = Napi::Object::New(env);
  handle.Set("promise", Napi::Value(env, state->promise));
  handle.Set("cancel", Napi::Function::New(env, [token](const Napi::CallbackInfo& info) {
    std::string reason = info.Length() > 0 && info[0].IsString() ? info[0].As<Napi::String>().Utf8Value()
                                                                 : std::string("the operation was aborted");
    token->Cancel(reason);
  }, "cancel"));
  return handle;
}

}  // namespace trtn
