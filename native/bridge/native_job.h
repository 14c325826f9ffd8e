// Work on a dedicated native std::thread (not a libuv pool thread) that settles a JS promise when done.
// Options cross as plain data captured by the work function; the thread never touches JS values, and errors
// come back as code + message strings that the JS thread turns into a TrtnError.
#pragma once
#include <napi.h>

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "js_channel.h"

namespace trtn {

struct JobError {
  JobError() = default;
  JobError(std::string code_, std::string message_, std::vector<std::pair<std::string, std::string>> details_ = {})
      : code(std::move(code_)), message(std::move(message_)), details(std::move(details_)) {}
  std::string code;
  std::string message;
  // Extra string fields for TrtnError.details (e.g. { node: 'Conv_3', file: 'model.onnx' }).
  std::vector<std::pair<std::string, std::string>> details;
  bool ok() const { return code.empty(); }
};

// Cancellation shared by the JS side (AbortSignal -> cancel()), env teardown, and the native thread.
class CancelToken {
 public:
  void Cancel(const std::string& reason) {
    bool expected = false;
    if (cancelled_.compare_exchange_strong(expected, true)) reason_ = reason;
  }
  bool IsCancelled() const { return cancelled_.load(); }
  // Valid once IsCancelled() is true.
  const std::string& Reason() const { return reason_; }

 private:
  std::atomic<bool> cancelled_{false};
  std::string reason_;
};

// What the native thread sees: cancellation and the channel to the JS thread.
struct JobContext {
  std::shared_ptr<JsChannel> channel;
  std::shared_ptr<CancelToken> cancel;
  bool Cancelled() const { return cancel->IsCancelled(); }
  JobError CancelledError() const { return {"ERR_ABORTED", cancel->Reason()}; }
  // Sleep up to `ms`, waking early on cancellation.
  void SleepMs(int ms) const;
};

// The outcome of the work: an error, or a function that makes the resolved value on the JS thread.
struct JobOutcome {
  JobError error;
  std::function<Napi::Value(Napi::Env)> value;
  // Runs on the JS thread after settling (or is dropped at env teardown): release JS references here.
  std::function<void(Napi::Env)> cleanup;
};

using JobWork = std::function<JobOutcome(JobContext&)>;

// Start `work` on its own thread. Returns { promise, cancel(reason?) }. `onStart` runs on the JS thread after
// the context exists and before the thread starts (for objects that need the channel, e.g. a batch source).
Napi::Object StartJob(Napi::Env env, const std::string& name, JobWork work,
                      std::function<void(JobContext&)> onStart = nullptr);

}  // namespace trtn
