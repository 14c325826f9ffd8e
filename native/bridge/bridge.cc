// Pulling data from JavaScript on native threads (used by the TensorRT INT8 calibrator).
// bridgePullBatches is the test entry point: it runs on its own std::thread through exactly the BatchSource the
// calibrator uses, so the bridge is tested on machines without TensorRT.
#include <cstdint>
#include <memory>
#include <vector>

#include "../common.h"
#include "../modules.h"
#include "batch_source.h"
#include "native_job.h"

namespace trtn {
namespace {

uint32_t Fnv1a(const uint8_t* data, size_t size) {
  uint32_t hash = 2166136261u;
  for (size_t i = 0; i < size; ++i) {
    hash ^= data[i];
    hash *= 16777619u;
  }
  return hash;
}

// bridgePullBatches(pull, { inputs: [{ name, dtype, bytes }], batches, workMs }) -> { promise, cancel }
// Resolves { received, ended, checksums: number[] } (FNV-1a 32 of each input's bytes, batch by batch).
Napi::Value BridgePullBatches(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsFunction() || !info[1].IsObject()) {
    ThrowError(env, "ERR_INVALID_ARG", "bridgePullBatches(pull, { inputs, batches, workMs }) expects a function and an object");
  }
  Napi::Object options = info[1].As<Napi::Object>();
  std::vector<BatchTarget> targets;
  Napi::Value inputsValue = options.Get("inputs");
  if (!inputsValue.IsArray()) ThrowError(env, "ERR_INVALID_ARG", "bridgePullBatches: inputs must be an array");
  Napi::Array inputs = inputsValue.As<Napi::Array>();
  for (uint32_t i = 0; i < inputs.Length(); ++i) {
    Napi::Object input = inputs.Get(i).As<Napi::Object>();
    BatchTarget target;
    target.name = input.Get("name").As<Napi::String>().Utf8Value();
    target.dtype = input.Get("dtype").As<Napi::String>().Utf8Value();
    target.bytes = static_cast<size_t>(input.Get("bytes").As<Napi::Number>().Int64Value());
    targets.push_back(target);
  }
  const int batches = options.Get("batches").As<Napi::Number>().Int32Value();
  const int workMs = options.Has("workMs") ? options.Get("workMs").As<Napi::Number>().Int32Value() : 0;
  auto source = BatchSource::Create(env, info[0].As<Napi::Function>());

  return StartJob(env, "trtn.bridgePullBatches", [source, targets, batches, workMs](JobContext& context) mutable {
    std::vector<std::vector<uint8_t>> buffers;
    for (BatchTarget& target : targets) {
      buffers.emplace_back(target.bytes);
      target.dst = buffers.back().data();
    }
    std::vector<uint32_t> checksums;
    bool ended = false;
    JobOutcome outcome;
    for (int i = 0; i < batches; ++i) {
      JobError error;
      BatchSource::Status status = source->Next(context, targets, &error);
      if (status == BatchSource::Status::kError) {
        outcome.error = error;
        break;
      }
      if (status == BatchSource::Status::kEnd) {
        ended = true;
        break;
      }
      for (const BatchTarget& target : targets) checksums.push_back(Fnv1a(static_cast<const uint8_t*>(target.dst), target.bytes));
      if (workMs > 0) context.SleepMs(workMs);  // stands in for TensorRT's work between getBatch calls
    }
    if (outcome.error.ok()) {
      int received = source->Delivered();
      outcome.value = [checksums, ended, received](Napi::Env env) -> Napi::Value {
        Napi::Object out = Napi::Object::New(env);
        out.Set("received", Napi::Number::New(env, received));
        out.Set("ended", Napi::Boolean::New(env, ended));
        Napi::Array sums = Napi::Array::New(env, checksums.size());
        for (size_t i = 0; i < checksums.size(); ++i) sums.Set(static_cast<uint32_t>(i), Napi::Number::New(env, checksums[i]));
        out.Set("checksums", sums);
        return out;
      };
    }
    outcome.cleanup = [source](Napi::Env env) { source->ReleaseJs(env); };
    return outcome;
  });
}

}  // namespace

void InitBridge(Napi::Env env, Napi::Object exports) {
  exports.Set("bridgePullBatches", Napi::Function::New(env, BridgePullBatches, "bridgePullBatches"));
}

}  // namespace trtn
