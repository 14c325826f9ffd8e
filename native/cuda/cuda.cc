// The CUDA runtime layer: registration and the helpers every CUDA object shares.
#include <cmath>

#include "../common.h"
#include "../modules.h"
#include "cuda_error.h"
#include "cuda_objects.h"

namespace trtn {

DeviceScope::DeviceScope(Napi::Env env, int device) {
  int current = -1;
  CheckCuda(env, cudaGetDevice(&current), "cudaGetDevice");
  if (current != device) {
    CheckCuda(env, cudaSetDevice(device), "cudaSetDevice(" + std::to_string(device) + ")");
    previous_ = current;
  }
}

DeviceScope::DeviceScope(int device) noexcept {
  int current = -1;
  if (cudaGetDevice(&current) != cudaSuccess) {
    (void)cudaGetLastError();
    ok_ = false;
    return;
  }
  if (current != device) {
    if (cudaSetDevice(device) == cudaSuccess) {
      previous_ = current;
    } else {
      ok_ = false;
    }
  }
  (void)cudaGetLastError();
}

DeviceScope::~DeviceScope() {
  if (previous_ >= 0) {
    cudaSetDevice(previous_);
    (void)cudaGetLastError();
  }
}

size_t ToSize(Napi::Env env, const Napi::Value& value, const char* what) {
  // The TypeScript layer validates first; this keeps a wrong call from the addon's raw exports from crashing.
  constexpr double kMaxSafe = 9007199254740991.0;  // 2^53 - 1
  if (!value.IsNumber()) ThrowError(env, "ERR_INVALID_ARG", std::string("Expected a non-negative integer for ") + what);
  double d = value.As<Napi::Number>().DoubleValue();
  if (!(d >= 0) || d > kMaxSafe || std::floor(d) != d) {
    ThrowError(env, "ERR_INVALID_ARG",
               std::string("Expected a non-negative integer for ") + what + " but received " + value.ToString().Utf8Value());
  }
  return static_cast<size_t>(d);
}

int ToDevice(Napi::Env env, const Napi::Value& value) {
  if (value.IsUndefined()) return 0;
  size_t device = ToSize(env, value, "device");
  if (device > 1024) ThrowError(env, "ERR_INVALID_ARG", "device index " + std::to_string(device) + " is out of range");
  return static_cast<int>(device);
}

void RegisterClass(Napi::Env env, Napi::Object exports, const char* name, Napi::Function ctor) {
  GetAddonData(env)->constructors[name] = Napi::Persistent(ctor);
  exports.Set(name, ctor);
}

bool IsInstance(Napi::Env env, const Napi::Value& value, const char* name) {
  if (!value.IsObject()) return false;
  auto& constructors = GetAddonData(env)->constructors;
  auto it = constructors.find(name);
  return it != constructors.end() && value.As<Napi::Object>().InstanceOf(it->second.Value());
}

void InitCuda(Napi::Env env, Napi::Object exports) {
  InitCudaDevice(env, exports);
  DeviceBuffer::Init(env, exports);
  PinnedBuffer::Init(env, exports);
  Stream::Init(env, exports);
  Event::Init(env, exports);
  InitCudaBench(env, exports);
  InitCudaTestHooks(env, exports);
}

}  // namespace trtn
