// Stream (cudaStream_t) and Event (cudaEvent_t with timing).
#include "../common.h"
#include "cuda_error.h"
#include "cuda_objects.h"

namespace trtn {

// ---- Stream --------------------------------------------------------------------------------------

void Stream::Init(Napi::Env env, Napi::Object exports) {
  Napi::Function ctor = DefineClass(env, kStreamClass,
                                    {
                                        InstanceMethod<&Stream::Synchronize>("synchronize"),
                                        InstanceMethod<&Stream::Query>("query"),
                                        InstanceMethod<&Stream::Dispose>("dispose"),
                                        InstanceAccessor<&Stream::Device>("device"),
                                        InstanceAccessor<&Stream::Disposed>("disposed"),
                                        InstanceAccessor<&Stream::PendingCount>("pendingHostBuffers"),
                                    });
  RegisterClass(env, exports, kStreamClass, ctor);
}

Stream* Stream::From(Napi::Env env, const Napi::Value& value, const char* what) {
  if (!IsInstance(env, value, kStreamClass)) ThrowError(env, "ERR_INVALID_ARG", std::string("Expected a Stream for ") + what);
  Stream* s = Unwrap(value.As<Napi::Object>());
  s->EnsureLive(env);
  return s;
}

// new CudaStream(device)
Stream::Stream(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Stream>(info) {
  Napi::Env env = info.Env();
  device_ = ToDevice(env, info[0]);
  DeviceScope scope(env, device_);
  // A blocking stream: synchronous copies (legacy default stream) still wait for work queued here.
  CheckCuda(env, cudaStreamCreate(&stream_), "cudaStreamCreate on device " + std::to_string(device_));
  live_ = true;
  RegisterCleanup(env, this, [this]() { Release(); });
}

Stream::~Stream() {
  Release();
  UnregisterCleanup(Env(), this);
}

void Stream::Release() noexcept {
  if (!live_) return;
  live_ = false;
  DeviceScope scope(device_);
  // Copies still in flight read or write pinned memory this stream keeps alive: let them finish first.
  cudaStreamSynchronize(stream_);
  for (auto& p : pending_) cudaEventDestroy(p.done);
  pending_.clear();
  for (cudaEvent_t e : spareEvents_) cudaEventDestroy(e);
  spareEvents_.clear();
  cudaStreamDestroy(stream_);
  (void)cudaGetLastError();
  stream_ = nullptr;
}

void Stream::EnsureLive(Napi::Env env) const {
  if (!live_) ThrowError(env, "ERR_DISPOSED", "Stream was used after dispose()");
}

void Stream::KeepUntilDone(Napi::Env env, std::shared_ptr<void> memory) {
  ReleaseCompleted();
  cudaEvent_t done = nullptr;
  if (!spareEvents_.empty()) {
    done = spareEvents_.back();
    spareEvents_.pop_back();
  } else {
    cudaError_t err = cudaEventCreateWithFlags(&done, cudaEventDisableTiming);
    if (err != cudaSuccess) {
      // Without an event the memory can only be released safely after a full synchronize.
      (void)cudaGetLastError();
      cudaStreamSynchronize(stream_);
      (void)cudaGetLastError();
      ThrowCudaError(env, err, "cudaEventCreateWithFlags (tracking an async copy)");
    }
  }
  cudaError_t err = cudaEventRecord(done, stream_);
  if (err != cudaSuccess) {
    (void)cudaGetLastError();
    cudaStreamSynchronize(stream_);
    (void)cudaGetLastError();
    cudaEventDestroy(done);
    ThrowCudaError(env, err, "cudaEventRecord (tracking an async copy)");
  }
  pending_.push_back(Pending{done, std::move(memory)});
}

void Stream::ReleaseCompleted() {
  // Events complete in stream order: stop at the first one still pending.
  while (!pending_.empty()) {
    cudaError_t status = cudaEventQuery(pending_.front().done);
    if (status == cudaErrorNotReady) {
      (void)cudaGetLastError();
      return;
    }
    if (status != cudaSuccess) {
      // A failed stream: keep the memory until a synchronize says the work is over.
      (void)cudaGetLastError();
      return;
    }
    spareEvents_.push_back(pending_.front().done);
    pending_.pop_front();
  }
}

void Stream::ReleaseAllPending() {
  for (auto& p : pending_) spareEvents_.push_back(p.done);
  pending_.clear();
}

Napi::Value Stream::Synchronize(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  EnsureLive(env);
  cudaError_t err = cudaStreamSynchronize(stream_);
  // Whether it succeeded or reported an earlier failure, nothing enqueued so far is still running.
  ReleaseAllPending();
  CheckCuda(env, err, "cudaStreamSynchronize");
  return env.Undefined();
}

// true when all work enqueued so far has completed.
Napi::Value Stream::Query(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  EnsureLive(env);
  cudaError_t err = cudaStreamQuery(stream_);
  if (err == cudaErrorNotReady) {
    (void)cudaGetLastError();
    ReleaseCompleted();
    return Napi::Boolean::New(env, false);
  }
  CheckCuda(env, err, "cudaStreamQuery");
  ReleaseAllPending();
  return Napi::Boolean::New(env, true);
}

Napi::Value Stream::Dispose(const Napi::CallbackInfo& info) {
  Release();
  UnregisterCleanup(info.Env(), this);
  return info.Env().Undefined();
}

Napi::Value Stream::Device(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), device_); }
Napi::Value Stream::Disposed(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), !live_); }
Napi::Value Stream::PendingCount(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(pending_.size()));
}

// ---- Event ---------------------------------------------------------------------------------------

void Event::Init(Napi::Env env, Napi::Object exports) {
  Napi::Function ctor = DefineClass(env, kEventClass,
                                    {
                                        InstanceMethod<&Event::Record>("record"),
                                        InstanceMethod<&Event::Synchronize>("synchronize"),
                                        InstanceMethod<&Event::Query>("query"),
                                        InstanceMethod<&Event::RecordAndSynchronize>("recordAndSynchronize"),
                                        InstanceMethod<&Event::Dispose>("dispose"),
                                        InstanceAccessor<&Event::Device>("device"),
                                        InstanceAccessor<&Event::Disposed>("disposed"),
                                    });
  RegisterClass(env, exports, kEventClass, ctor);
}

Event* Event::From(Napi::Env env, const Napi::Value& value, const char* what) {
  if (!IsInstance(env, value, kEventClass)) ThrowError(env, "ERR_INVALID_ARG", std::string("Expected an Event for ") + what);
  Event* e = Unwrap(value.As<Napi::Object>());
  e->EnsureLive(env);
  return e;
}

// new CudaEvent(device)
Event::Event(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Event>(info) {
  Napi::Env env = info.Env();
  device_ = ToDevice(env, info[0]);
  DeviceScope scope(env, device_);
  CheckCuda(env, cudaEventCreate(&event_), "cudaEventCreate on device " + std::to_string(device_));
  live_ = true;
  RegisterCleanup(env, this, [this]() { Release(); });
}

Event::~Event() {
  Release();
  UnregisterCleanup(Env(), this);
}

void Event::Release() noexcept {
  if (!live_) return;
  live_ = false;
  DeviceScope scope(device_);
  cudaEventDestroy(event_);
  (void)cudaGetLastError();
  event_ = nullptr;
}

void Event::EnsureLive(Napi::Env env) const {
  if (!live_) ThrowError(env, "ERR_DISPOSED", "Event was used after dispose()");
}

Napi::Value Event::Record(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  EnsureLive(env);
  Stream* stream = Stream::From(env, info[0], "stream");
  TRTN_CHECK_CUDA(env, cudaEventRecord(event_, stream->handle()));
  return env.Undefined();
}

Napi::Value Event::Synchronize(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  EnsureLive(env);
  TRTN_CHECK_CUDA(env, cudaEventSynchronize(event_));
  return env.Undefined();
}

Napi::Value Event::Query(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  EnsureLive(env);
  cudaError_t err = cudaEventQuery(event_);
  if (err == cudaErrorNotReady) {
    (void)cudaGetLastError();
    return Napi::Boolean::New(env, false);
  }
  CheckCuda(env, err, "cudaEventQuery");
  return Napi::Boolean::New(env, true);
}

// One call that records on a stream and waits for it: a fence, and the unit of the JS->native round-trip bench.
Napi::Value Event::RecordAndSynchronize(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  EnsureLive(env);
  Stream* stream = Stream::From(env, info[0], "stream");
  TRTN_CHECK_CUDA(env, cudaEventRecord(event_, stream->handle()));
  TRTN_CHECK_CUDA(env, cudaEventSynchronize(event_));
  return env.Undefined();
}

Napi::Value Event::Dispose(const Napi::CallbackInfo& info) {
  Release();
  UnregisterCleanup(info.Env(), this);
  return info.Env().Undefined();
}

Napi::Value Event::Device(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), device_); }
Napi::Value Event::Disposed(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), !live_); }

}  // namespace trtn
