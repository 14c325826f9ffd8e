// DeviceBuffer (cudaMalloc) and PinnedBuffer (cudaHostAlloc), with synchronous copies from any host memory and
// stream-ordered copies from pinned memory only (an async copy from pageable memory is not truly asynchronous
// and the source could be moved or collected before the copy runs).
#include "../common.h"
#include "cuda_error.h"
#include "cuda_objects.h"

namespace trtn {
namespace {

// A range of host memory a copy reads or writes.
struct HostRegion {
  uint8_t* data = nullptr;
  size_t length = 0;
  const char* kind = "";
};

// Any host memory: TypedArray (Buffer included), DataView, ArrayBuffer, or a PinnedBuffer.
HostRegion ResolveHost(Napi::Env env, const Napi::Value& value, PinnedBuffer** pinned) {
  HostRegion r;
  *pinned = nullptr;
  // The raw calls give the data pointer directly, which also works for views over a SharedArrayBuffer
  // (and gives null/0 for a detached one).
  if (value.IsTypedArray()) {
    napi_typedarray_type type;
    size_t elements = 0;
    void* data = nullptr;
    napi_status status = napi_get_typedarray_info(env, value, &type, &elements, &data, nullptr, nullptr);
    NAPI_THROW_IF_FAILED(env, status, r);
    r.data = static_cast<uint8_t*>(data);
    r.length = value.As<Napi::TypedArray>().ByteLength();
    r.kind = "TypedArray";
  } else if (value.IsDataView()) {
    size_t length = 0;
    void* data = nullptr;
    napi_status status = napi_get_dataview_info(env, value, &length, &data, nullptr, nullptr);
    NAPI_THROW_IF_FAILED(env, status, r);
    r.data = static_cast<uint8_t*>(data);
    r.length = length;
    r.kind = "DataView";
  } else if (value.IsArrayBuffer()) {
    Napi::ArrayBuffer ab = value.As<Napi::ArrayBuffer>();
    r.data = static_cast<uint8_t*>(ab.Data());
    r.length = ab.ByteLength();
    r.kind = "ArrayBuffer";
  } else if ((*pinned = PinnedBuffer::From(env, value)) != nullptr) {
    r.data = (*pinned)->data();
    r.length = (*pinned)->bytes();
    r.kind = "PinnedBuffer";
  } else {
    ThrowError(env, "ERR_INVALID_ARG", "Expected a TypedArray, Buffer, DataView, ArrayBuffer or PinnedBuffer as the host side of a copy");
  }
  return r;
}

void CheckRange(Napi::Env env, const char* side, size_t offset, size_t bytes, size_t length) {
  if (offset > length || bytes > length - offset) {
    ThrowError(env, "ERR_INVALID_ARG",
               "copy of " + std::to_string(bytes) + " bytes at " + side + " offset " + std::to_string(offset) +
                   " exceeds the " + side + " size of " + std::to_string(length) + " bytes");
  }
}

void FinalizePinnedView(Napi::Env, void*, PinnedViewShare* share) { delete share; }

}  // namespace

// ---- PinnedBuffer --------------------------------------------------------------------------------

PinnedMemory::~PinnedMemory() {
  if (ptr != nullptr) {
    cudaFreeHost(ptr);
    (void)cudaGetLastError();
  }
}

void PinnedBuffer::Init(Napi::Env env, Napi::Object exports) {
  Napi::Function ctor = DefineClass(env, kPinnedBufferClass,
                                    {
                                        InstanceMethod<&PinnedBuffer::ArrayBuffer>("arrayBuffer"),
                                        InstanceMethod<&PinnedBuffer::Dispose>("dispose"),
                                        InstanceAccessor<&PinnedBuffer::ByteLength>("byteLength"),
                                        InstanceAccessor<&PinnedBuffer::Disposed>("disposed"),
                                    });
  RegisterClass(env, exports, kPinnedBufferClass, ctor);
}

PinnedBuffer* PinnedBuffer::From(Napi::Env env, const Napi::Value& value) {
  if (!IsInstance(env, value, kPinnedBufferClass)) return nullptr;
  PinnedBuffer* p = Unwrap(value.As<Napi::Object>());
  p->EnsureLive(env);
  return p;
}

// new CudaPinnedBuffer(bytes)
PinnedBuffer::PinnedBuffer(const Napi::CallbackInfo& info) : Napi::ObjectWrap<PinnedBuffer>(info) {
  Napi::Env env = info.Env();
  bytes_ = ToSize(env, info[0], "bytes");
  if (bytes_ == 0) ThrowError(env, "ERR_INVALID_ARG", "a PinnedBuffer needs at least 1 byte");
  auto memory = std::make_shared<PinnedMemory>();
  // Portable: usable from every device's context, not only the current one.
  CheckCuda(env, cudaHostAlloc(&memory->ptr, bytes_, cudaHostAllocPortable),
            "cudaHostAlloc(" + std::to_string(bytes_) + " bytes)");
  memory->bytes = bytes_;
  memory_ = std::move(memory);
  // Worker termination / process exit: no JS runs any more, so views need nothing; streams hold their own
  // share until their cleanup has synchronised.
  RegisterCleanup(env, this, [this]() {
    if (viewShare_ != nullptr) viewShare_->memory.reset();
    memory_.reset();
  });
}

PinnedBuffer::~PinnedBuffer() {
  // A live view keeps the memory through its own share: a collected PinnedBuffer never frees memory a view reads.
  UnregisterCleanup(Env(), this);
}

void PinnedBuffer::EnsureLive(Napi::Env env) const {
  if (!memory_) ThrowError(env, "ERR_DISPOSED", "PinnedBuffer was used after dispose()");
}

// The memory as one external ArrayBuffer (created once, no copy). Its finalizer only drops a share.
Napi::Value PinnedBuffer::ArrayBuffer(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  EnsureLive(env);
  if (!arrayBuffer_.IsEmpty()) return arrayBuffer_.Value();
  // The ArrayBuffer holds its own share: if this PinnedBuffer is collected while a view lives, the memory stays.
  auto* share = new PinnedViewShare{memory_};
  Napi::ArrayBuffer ab;
  try {
    ab = Napi::ArrayBuffer::New(env, memory_->ptr, bytes_, FinalizePinnedView, share);
  } catch (...) {
    delete share;
    throw;
  }
  arrayBuffer_ = Napi::Persistent(ab);
  viewShare_ = share;
  return ab;
}

Napi::Value PinnedBuffer::Dispose(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!memory_) return env.Undefined();
  // Detach first: every TypedArray over this memory becomes length 0, so none can read it once it is freed.
  if (!arrayBuffer_.IsEmpty()) {
    Napi::ArrayBuffer ab = arrayBuffer_.Value();
    if (!ab.IsDetached()) ab.Detach();
    viewShare_->memory.reset();  // detached: the ArrayBuffer no longer needs the memory
    viewShare_ = nullptr;
    arrayBuffer_.Reset();
  }
  UnregisterCleanup(env, this);
  // cudaFreeHost runs now unless a stream still has a copy from this memory in flight (then at its completion).
  memory_.reset();
  return env.Undefined();
}

Napi::Value PinnedBuffer::ByteLength(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(bytes_));
}

Napi::Value PinnedBuffer::Disposed(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), !memory_);
}

// ---- DeviceBuffer --------------------------------------------------------------------------------

void DeviceBuffer::Init(Napi::Env env, Napi::Object exports) {
  Napi::Function ctor = DefineClass(env, kDeviceBufferClass,
                                    {
                                        InstanceMethod<&DeviceBuffer::CopyFromHost>("copyFromHost"),
                                        InstanceMethod<&DeviceBuffer::CopyToHost>("copyToHost"),
                                        InstanceMethod<&DeviceBuffer::CopyFromHostAsync>("copyFromHostAsync"),
                                        InstanceMethod<&DeviceBuffer::CopyToHostAsync>("copyToHostAsync"),
                                        InstanceMethod<&DeviceBuffer::Dispose>("dispose"),
                                        InstanceAccessor<&DeviceBuffer::ByteLength>("byteLength"),
                                        InstanceAccessor<&DeviceBuffer::Device>("device"),
                                        InstanceAccessor<&DeviceBuffer::Disposed>("disposed"),
                                    });
  RegisterClass(env, exports, kDeviceBufferClass, ctor);
}

DeviceBuffer* DeviceBuffer::From(Napi::Env env, const Napi::Value& value, const char* what) {
  if (!IsInstance(env, value, kDeviceBufferClass)) {
    ThrowError(env, "ERR_INVALID_ARG", std::string("Expected a DeviceBuffer for ") + what);
  }
  DeviceBuffer* b = Unwrap(value.As<Napi::Object>());
  b->EnsureLive(env);
  return b;
}

// new CudaDeviceBuffer(bytes, device)
DeviceBuffer::DeviceBuffer(const Napi::CallbackInfo& info) : Napi::ObjectWrap<DeviceBuffer>(info) {
  Napi::Env env = info.Env();
  bytes_ = ToSize(env, info[0], "bytes");
  if (bytes_ == 0) ThrowError(env, "ERR_INVALID_ARG", "a DeviceBuffer needs at least 1 byte");
  device_ = ToDevice(env, info[1]);
  DeviceScope scope(env, device_);
  CheckCuda(env, cudaMalloc(&ptr_, bytes_),
            "cudaMalloc(" + std::to_string(bytes_) + " bytes) on device " + std::to_string(device_));
  // A terminating worker frees its device memory even if its objects were never collected.
  RegisterCleanup(env, this, [this]() { Release(); });
}

DeviceBuffer::~DeviceBuffer() {
  Release();
  UnregisterCleanup(Env(), this);
}

void DeviceBuffer::Release() noexcept {
  if (ptr_ == nullptr) return;
  DeviceScope scope(device_);
  // cudaFree waits for work using the memory to finish before it is released.
  cudaFree(ptr_);
  (void)cudaGetLastError();
  ptr_ = nullptr;
}

void DeviceBuffer::EnsureLive(Napi::Env env) const {
  if (ptr_ == nullptr) ThrowError(env, "ERR_DISPOSED", "DeviceBuffer was used after dispose()");
}

// copyFromHost(host, hostOffset, deviceOffset, bytes) / copyToHost(...): synchronous, any host memory.
// copyFromHostAsync(pinned, hostOffset, deviceOffset, bytes, stream) / copyToHostAsync(...): pinned only.
Napi::Value DeviceBuffer::Copy(const Napi::CallbackInfo& info, bool toDevice, bool async) {
  Napi::Env env = info.Env();
  EnsureLive(env);
  PinnedBuffer* pinned = nullptr;
  HostRegion host = ResolveHost(env, info[0], &pinned);
  if (async && pinned == nullptr) {
    ThrowError(env, "ERR_INVALID_ARG",
               std::string("an asynchronous copy needs a PinnedBuffer as its host side, not a ") + host.kind +
                   " (pageable memory); use the synchronous copy or stage through a PinnedBuffer");
  }
  size_t hostOffset = ToSize(env, info[1], "hostOffset");
  size_t deviceOffset = ToSize(env, info[2], "deviceOffset");
  size_t bytes = ToSize(env, info[3], "bytes");
  CheckRange(env, "host", hostOffset, bytes, host.length);
  CheckRange(env, "device", deviceOffset, bytes, bytes_);
  Stream* stream = async ? Stream::From(env, info[4], "stream") : nullptr;
  if (bytes == 0) return env.Undefined();

  uint8_t* devicePtr = static_cast<uint8_t*>(ptr_) + deviceOffset;
  uint8_t* hostPtr = host.data + hostOffset;
  void* dst = toDevice ? static_cast<void*>(devicePtr) : static_cast<void*>(hostPtr);
  const void* src = toDevice ? static_cast<const void*>(hostPtr) : static_cast<const void*>(devicePtr);
  cudaMemcpyKind kind = toDevice ? cudaMemcpyHostToDevice : cudaMemcpyDeviceToHost;
  if (!async) {
    DeviceScope scope(env, device_);
    CheckCuda(env, cudaMemcpy(dst, src, bytes, kind),
              std::string("cudaMemcpy ") + (toDevice ? "host->device" : "device->host") + " of " +
                  std::to_string(bytes) + " bytes");
    return env.Undefined();
  }
  DeviceScope scope(env, stream->device());
  CheckCuda(env, cudaMemcpyAsync(dst, src, bytes, kind, stream->handle()),
            std::string("cudaMemcpyAsync ") + (toDevice ? "host->device" : "device->host") + " of " +
                std::to_string(bytes) + " bytes");
  // The pinned memory must outlive the copy even if its PinnedBuffer is disposed or collected meanwhile.
  stream->KeepUntilDone(env, pinned->memory());
  return env.Undefined();
}

Napi::Value DeviceBuffer::CopyFromHost(const Napi::CallbackInfo& info) { return Copy(info, true, false); }
Napi::Value DeviceBuffer::CopyToHost(const Napi::CallbackInfo& info) { return Copy(info, false, false); }
Napi::Value DeviceBuffer::CopyFromHostAsync(const Napi::CallbackInfo& info) { return Copy(info, true, true); }
Napi::Value DeviceBuffer::CopyToHostAsync(const Napi::CallbackInfo& info) { return Copy(info, false, true); }

Napi::Value DeviceBuffer::Dispose(const Napi::CallbackInfo& info) {
  Release();
  UnregisterCleanup(info.Env(), this);
  return info.Env().Undefined();
}

Napi::Value DeviceBuffer::ByteLength(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(bytes_));
}

Napi::Value DeviceBuffer::Device(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), device_); }

Napi::Value DeviceBuffer::Disposed(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), ptr_ == nullptr);
}

}  // namespace trtn
