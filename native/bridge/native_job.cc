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

struct JobState {
  explicit JobState(Napi::Env env) : deferred(Napi::Promise::Deferred::New(env)) {}
  Napi::Promise::Deferred deferred;
};

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
      if (shared->error.ok()) {
        try {
          state->deferred.Resolve(shared->value ? shared->value(env) : env.Undefined());
        } catch (const Napi::Error& err) {
          state->deferred.Reject(err.Value());
        }
      } else {
        Napi::Object error = MakeError(env, shared->error.code, shared->error.message).Value();
        Napi::Value details = error.Get("details");
        if (!details.IsObject()) {
          details = Napi::Object::New(env);
          error.Set("details", details);
        }
        for (const auto& entry : shared->error.details) details.As<Napi::Object>().Set(entry.first, entry.second);
        state->deferred.Reject(error);
      }
      if (shared->cleanup) shared->cleanup(env);
    });
    context.channel->Close();
  }).detach();

  Napi::Object handle = Napi::Object::New(env);
  handle.Set("promise", state->deferred.Promise());
  handle.Set("cancel", Napi::Function::New(env, [token](const Napi::CallbackInfo& info) {
    std::string reason = info.Length() > 0 && info[0].IsString() ? info[0].As<Napi::String>().Utf8Value()
                                                                 : std::string("the operation was aborted");
    token->Cancel(reason);
  }, "cancel"));
  return handle;
}

}  // namespace trtn
