// The CUDA runtime layer's native objects: DeviceBuffer, PinnedBuffer, Stream, Event. Each is a per-env
// ObjectWrap class (constructors live in AddonData, never in statics) with an explicit dispose(), a finalizer
// (the destructor) and an env cleanup hook, so memory is freed whichever comes first, exactly once.
#pragma once
#include <cuda_runtime_api.h>
#include <napi.h>

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "cuda_error.h"

namespace trtn {

// Makes `device` current for a scope and restores the previous device after (several devices may be in use).
class DeviceScope {
 public:
  DeviceScope(Napi::Env env, int device);
  // For release paths: never throws, ignores failures (the memory is gone with the context anyway).
  explicit DeviceScope(int device) noexcept;
  ~DeviceScope();
  // False when the no-throw form could not make `device` current.
  bool ok() const { return ok_; }
  DeviceScope(const DeviceScope&) = delete;
  DeviceScope& operator=(const DeviceScope&) = delete;

 private:
  int previous_ = -1;
  bool ok_ = true;
};

// A non-negative integer (byte count, offset, device index) from JS; ERR_INVALID_ARG naming `what` otherwise.
size_t ToSize(Napi::Env env, const Napi::Value& value, const char* what);
int ToDevice(Napi::Env env, const Napi::Value& value);

// Page-locked host memory shared by its PinnedBuffer, the ArrayBuffer that views it, and streams with copies in
// flight: freed (cudaFreeHost) when the last of them lets go, so no path frees it twice or while in use.
struct PinnedMemory {
  void* ptr = nullptr;
  size_t bytes = 0;
  ~PinnedMemory();
};

// The share of the memory held by the ArrayBuffer that views it (the ArrayBuffer's finalizer deletes it).
// dispose() detaches the ArrayBuffer and empties this share, so a disposed buffer frees its memory at once
// instead of when the detached ArrayBuffer happens to be collected.
struct PinnedViewShare {
  std::shared_ptr<PinnedMemory> memory;
};

class PinnedBuffer : public Napi::ObjectWrap<PinnedBuffer> {
 public:
  static void Init(Napi::Env env, Napi::Object exports);
  // The live PinnedBuffer behind `value`, or nullptr when `value` is not one. Throws ERR_DISPOSED when disposed.
  static PinnedBuffer* From(Napi::Env env, const Napi::Value& value);

  explicit PinnedBuffer(const Napi::CallbackInfo& info);
  ~PinnedBuffer() override;

  uint8_t* data() const { return static_cast<uint8_t*>(memory_->ptr); }
  size_t bytes() const { return bytes_; }
  const std::shared_ptr<PinnedMemory>& memory() const { return memory_; }

 private:
  Napi::Value ArrayBuffer(const Napi::CallbackInfo& info);
  Napi::Value Dispose(const Napi::CallbackInfo& info);
  Napi::Value ByteLength(const Napi::CallbackInfo& info);
  Napi::Value Disposed(const Napi::CallbackInfo& info);
  void EnsureLive(Napi::Env env) const;

  std::shared_ptr<PinnedMemory> memory_;
  Napi::Reference<Napi::ArrayBuffer> arrayBuffer_;
  PinnedViewShare* viewShare_ = nullptr;  // valid while arrayBuffer_ holds the ArrayBuffer
  size_t bytes_ = 0;
};

class Stream : public Napi::ObjectWrap<Stream> {
 public:
  static void Init(Napi::Env env, Napi::Object exports);
  // The live Stream behind `value`; ERR_INVALID_ARG when it is not a Stream, ERR_DISPOSED when disposed.
  static Stream* From(Napi::Env env, const Napi::Value& value, const char* what);

  explicit Stream(const Napi::CallbackInfo& info);
  ~Stream() override;

  cudaStream_t handle() const { return stream_; }
  int device() const { return device_; }
  // Keep `memory` alive until the work enqueued so far on this stream has completed (an event marks the point).
  void KeepUntilDone(Napi::Env env, std::shared_ptr<void> memory);

 private:
  struct Pending {
    cudaEvent_t done;
    std::shared_ptr<void> memory;
  };
  Napi::Value Synchronize(const Napi::CallbackInfo& info);
  Napi::Value Query(const Napi::CallbackInfo& info);
  Napi::Value Dispose(const Napi::CallbackInfo& info);
  Napi::Value Device(const Napi::CallbackInfo& info);
  Napi::Value Disposed(const Napi::CallbackInfo& info);
  Napi::Value PendingCount(const Napi::CallbackInfo& info);
  void EnsureLive(Napi::Env env) const;
  void ReleaseCompleted();  // drop what completed copies no longer need
  void ReleaseAllPending();  // after a synchronize: everything enqueued has completed
  void Release() noexcept;   // synchronize, free events, destroy the stream

  cudaStream_t stream_ = nullptr;
  int device_ = 0;
  bool live_ = false;
  std::deque<Pending> pending_;
  std::vector<cudaEvent_t> spareEvents_;
};

class Event : public Napi::ObjectWrap<Event> {
 public:
  static void Init(Napi::Env env, Napi::Object exports);
  static Event* From(Napi::Env env, const Napi::Value& value, const char* what);

  explicit Event(const Napi::CallbackInfo& info);
  ~Event() override;

  cudaEvent_t handle() const { return event_; }

 private:
  Napi::Value Record(const Napi::CallbackInfo& info);
  Napi::Value Synchronize(const Napi::CallbackInfo& info);
  Napi::Value Query(const Napi::CallbackInfo& info);
  Napi::Value RecordAndSynchronize(const Napi::CallbackInfo& info);
  Napi::Value Dispose(const Napi::CallbackInfo& info);
  Napi::Value Device(const Napi::CallbackInfo& info);
  Napi::Value Disposed(const Napi::CallbackInfo& info);
  void EnsureLive(Napi::Env env) const;
  void Release() noexcept;

  cudaEvent_t event_ = nullptr;
  int device_ = 0;
  bool live_ = false;
};

class DeviceBuffer : public Napi::ObjectWrap<DeviceBuffer> {
 public:
  static void Init(Napi::Env env, Napi::Object exports);

  // For other native parts (e.g. binding TensorRT tensors): the live DeviceBuffer behind `value`;
  // ERR_INVALID_ARG when it is not one, ERR_DISPOSED when disposed.
  static DeviceBuffer* From(Napi::Env env, const Napi::Value& value, const char* what);

  explicit DeviceBuffer(const Napi::CallbackInfo& info);
  ~DeviceBuffer() override;

  void* data() const { return ptr_; }
  size_t bytes() const { return bytes_; }
  int device() const { return device_; }

 private:
  Napi::Value CopyFromHost(const Napi::CallbackInfo& info);
  Napi::Value CopyToHost(const Napi::CallbackInfo& info);
  Napi::Value CopyFromHostAsync(const Napi::CallbackInfo& info);
  Napi::Value CopyToHostAsync(const Napi::CallbackInfo& info);
  Napi::Value Dispose(const Napi::CallbackInfo& info);
  Napi::Value ByteLength(const Napi::CallbackInfo& info);
  Napi::Value Device(const Napi::CallbackInfo& info);
  Napi::Value Disposed(const Napi::CallbackInfo& info);
  void EnsureLive(Napi::Env env) const;
  Napi::Value Copy(const Napi::CallbackInfo& info, bool toDevice, bool async);
  void Release() noexcept;

  void* ptr_ = nullptr;
  size_t bytes_ = 0;
  int device_ = 0;
};

// Registration of the free functions (device query, elapsed time, native benchmarks).
void InitCudaDevice(Napi::Env env, Napi::Object exports);
void InitCudaBench(Napi::Env env, Napi::Object exports);
void InitCudaTestHooks(Napi::Env env, Napi::Object exports);  // test_hooks.cc

// Stored in AddonData::constructors under these names.
constexpr const char* kDeviceBufferClass = "CudaDeviceBuffer";
constexpr const char* kPinnedBufferClass = "CudaPinnedBuffer";
constexpr const char* kStreamClass = "CudaStream";
constexpr const char* kEventClass = "CudaEvent";

// Registers `ctor` for this env and on `exports`.
void RegisterClass(Napi::Env env, Napi::Object exports, const char* name, Napi::Function ctor);
// True when `value` is an instance of the class registered under `name` in this env.
bool IsInstance(Napi::Env env, const Napi::Value& value, const char* name);

}  // namespace trtn
