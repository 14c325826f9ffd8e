#include "batch_source.h"

#include <chrono>
#include <condition_variable>
#include <cstring>
#include <mutex>

namespace trtn {

struct BatchSource::Request {
  std::vector<BatchTarget> expected;  // dst pointers are not used on the JS thread
  int index = 0;
  std::mutex mutex;
  std::condition_variable ready;
  bool done = false;
  bool end = false;
  JobError error;
  std::vector<std::vector<uint8_t>> bytes;

  void Finish(JobError err, bool isEnd) {
    std::lock_guard<std::mutex> lock(mutex);
    if (done) return;
    error = std::move(err);
    end = isEnd;
    done = true;
    ready.notify_all();
  }
};

BatchSource::BatchSource(Napi::Env env, Napi::Function pull) : pull_(env, pull) {}

std::shared_ptr<BatchSource> BatchSource::Create(Napi::Env env, Napi::Function pull) {
  auto source = std::make_shared<BatchSource>(env, pull);
  source->self_ = source;
  return source;
}

BatchSource::Status BatchSource::Next(const JobContext& context, std::vector<BatchTarget>& targets, JobError* error) {
  if (context.Cancelled()) {
    *error = context.CancelledError();
    return Status::kError;
  }
  auto request = std::make_shared<Request>();
  request->expected = targets;
  request->index = delivered_;
  auto self = self_.lock();
  if (!context.channel->Post([self, request](Napi::Env env) { Start(env, self, request); })) {
    *error = {"ERR_ABORTED", "calibration data could not be requested: the JavaScript environment is shutting down"};
    return Status::kError;
  }
  std::unique_lock<std::mutex> lock(request->mutex);
  // Wake regularly to notice cancellation: the loader's promise may never settle.
  while (!request->done) {
    if (context.Cancelled()) {
      *error = context.CancelledError();
      return Status::kError;
    }
    request->ready.wait_for(lock, std::chrono::milliseconds(20));
  }
  if (!request->error.ok()) {
    *error = request->error;
    return Status::kError;
  }
  if (request->end) return Status::kEnd;
  for (size_t i = 0; i < targets.size(); ++i) std::memcpy(targets[i].dst, request->bytes[i].data(), targets[i].bytes);
  ++delivered_;
  return Status::kBatch;
}

namespace {

const char* TypedArrayDtype(napi_typedarray_type type) {
  switch (type) {
    case napi_float32_array: return "float32";
    case napi_uint16_array: return "float16";
    case napi_int8_array: return "int8";
    case napi_uint8_array: return "uint8";
    case napi_uint8_clamped_array: return "uint8";
    case napi_int32_array: return "int32";
    case napi_bigint64_array: return "int64";
    default: return nullptr;
  }
}

const char* TypedArrayClass(const std::string& dtype) {
  if (dtype == "float32") return "Float32Array";
  if (dtype == "float16") return "Uint16Array (float16 words)";
  if (dtype == "int8") return "Int8Array";
  if (dtype == "uint8" || dtype == "bool") return "Uint8Array";
  if (dtype == "int32") return "Int32Array";
  if (dtype == "int64") return "BigInt64Array";
  return "TypedArray";
}

std::string ErrorText(Napi::Value value) {
  if (value.IsObject()) {
    Napi::Value message = value.As<Napi::Object>().Get("message");
    if (message.IsString()) return message.As<Napi::String>().Utf8Value();
  }
  napi_value str = nullptr;
  if (napi_coerce_to_string(value.Env(), value, &str) == napi_ok && str != nullptr) {
    return Napi::String(value.Env(), str).Utf8Value();
  }
  return "unknown error";
}

std::string Describe(Napi::Value value) {
  if (value.IsNull()) return "null";
  if (value.IsUndefined()) return "undefined";
  if (value.IsTypedArray()) return "a TypedArray";
  if (value.IsArray()) return "an array";
  if (value.IsNumber()) return "a number";
  if (value.IsString()) return "a string";
  if (value.IsObject()) return "an object";
  return "a value of another type";
}

}  // namespace

void BatchSource::Start(Napi::Env env, const std::shared_ptr<BatchSource>& self, const std::shared_ptr<Request>& request) {
  if (self->pull_.IsEmpty()) {
    request->Finish({"ERR_ABORTED", "the calibration data loader was released"}, false);
    return;
  }
  napi_value result = nullptr;
  std::string why;
  CallStatus status = SafeCall(env, self->pull_.Value(env), env.Undefined(), {}, &result, &why);
  if (status == CallStatus::kTerminating) {
    request->Finish({"ERR_ABORTED", "the JavaScript environment is shutting down"}, false);
    return;
  }
  if (status == CallStatus::kThrew) {
    request->Finish({"ERR_CALIB_DATA", "the calibration data loader threw: " + why}, false);
    return;
  }
  Napi::Value value(env, result);
  if (!value.IsPromise()) {
    Settle(env, request, value);
    return;
  }
  Napi::Object promise = value.As<Napi::Object>();
  Napi::Function onFulfilled = Napi::Function::New(env, [request](const Napi::CallbackInfo& info) {
    Settle(info.Env(), request, info.Length() > 0 ? info[0] : info.Env().Undefined());
  });
  Napi::Function onRejected = Napi::Function::New(env, [request](const Napi::CallbackInfo& info) {
    std::string reason = info.Length() > 0 ? ErrorText(info[0]) : "unknown error";
    request->Finish({"ERR_CALIB_DATA", "the calibration data loader failed: " + reason}, false);
  });
  napi_value then = nullptr;
  if (napi_get_named_property(env, promise, "then", &then) != napi_ok) {
    request->Finish({"ERR_ABORTED", "the JavaScript environment is shutting down"}, false);
    return;
  }
  status = SafeCall(env, then, promise, {onFulfilled, onRejected}, nullptr, &why);
  if (status != CallStatus::kOk) {
    request->Finish(status == CallStatus::kThrew ? JobError{"ERR_CALIB_DATA", "the calibration data loader returned an unusable promise: " + why}
                                                 : JobError{"ERR_ABORTED", "the JavaScript environment is shutting down"},
                    false);
  }
}

void BatchSource::Settle(Napi::Env env, const std::shared_ptr<Request>& request, Napi::Value value) {
  if (value.IsNull() || value.IsUndefined()) {
    request->Finish({}, true);
    return;
  }
  const std::string where = "calibration batch " + std::to_string(request->index);
  if (!value.IsObject() || value.IsTypedArray() || value.IsArray()) {
    request->Finish({"ERR_CALIB_DATA", where + ": expected an object mapping input names to typed arrays, or null at the end, but the loader gave " + Describe(value)}, false);
    return;
  }
  Napi::Object feeds = value.As<Napi::Object>();
  std::vector<std::vector<uint8_t>> bytes;
  for (const BatchTarget& target : request->expected) {
    Napi::Value tensor = feeds.Get(target.name);
    if (!tensor.IsTypedArray()) {
      request->Finish({"ERR_CALIB_DATA", where + ": input '" + target.name + "' should be a " + TypedArrayClass(target.dtype) + " but is " + Describe(tensor)}, false);
      return;
    }
    Napi::TypedArray array = tensor.As<Napi::TypedArray>();
    const char* dtype = TypedArrayDtype(array.TypedArrayType());
    std::string expectedDtype = target.dtype == "bool" ? "uint8" : target.dtype;
    if (dtype == nullptr || expectedDtype != dtype) {
      request->Finish({"ERR_CALIB_DATA", where + ": input '" + target.name + "' has dtype " + (dtype ? dtype : "unsupported") + ", expected " + target.dtype + " (" + TypedArrayClass(target.dtype) + ")"}, false);
      return;
    }
    if (array.ByteLength() != target.bytes) {
      request->Finish({"ERR_CALIB_DATA", where + ": input '" + target.name + "' has " + std::to_string(array.ByteLength()) + " bytes, expected " + std::to_string(target.bytes) + " bytes"}, false);
      return;
    }
    const uint8_t* data = static_cast<const uint8_t*>(array.ArrayBuffer().Data()) + array.ByteOffset();
    bytes.emplace_back(data, data + target.bytes);
  }
  {
    std::lock_guard<std::mutex> lock(request->mutex);
    request->bytes = std::move(bytes);
  }
  request->Finish({}, false);
}

}  // namespace trtn
