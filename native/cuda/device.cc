// Device query: driver/runtime versions, devices with compute capability and memory. Never throws for a
// machine without a GPU or driver: it reports 0 devices and the CUDA error that says why.
#include <cstdio>

#include "../common.h"
#include "cuda_error.h"
#include "cuda_objects.h"

namespace trtn {
namespace {

Napi::Object ErrorObject(Napi::Env env, cudaError_t err, const std::string& call) {
  Napi::Object e = Napi::Object::New(env);
  e.Set("code", CudaErrorCode(err));
  e.Set("name", cudaGetErrorName(err));
  e.Set("message", CudaErrorMessage(err, call));
  return e;
}

std::string UuidString(const cudaUUID_t& uuid) {
  // GPU-xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx, as nvidia-smi prints it.
  std::string out = "GPU-";
  char hex[3];
  for (int i = 0; i < 16; i++) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out += '-';
    std::snprintf(hex, sizeof hex, "%02x", static_cast<unsigned char>(uuid.bytes[i]));
    out += hex;
  }
  return out;
}

// cudaInfo(withFreeMemory: boolean)
Napi::Value CudaInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  bool withFreeMemory = info.Length() > 0 && info[0].ToBoolean().Value();
  Napi::Object out = Napi::Object::New(env);

  int driver = 0;
  int runtime = 0;
  // cudaDriverGetVersion reports 0 (success) when no driver is installed.
  if (cudaDriverGetVersion(&driver) != cudaSuccess) driver = 0;
  if (cudaRuntimeGetVersion(&runtime) != cudaSuccess) runtime = 0;
  (void)cudaGetLastError();
  out.Set("driverVersion", driver);
  out.Set("runtimeVersion", runtime);

  Napi::Array devices = Napi::Array::New(env);
  int count = 0;
  cudaError_t err = cudaGetDeviceCount(&count);
  if (err != cudaSuccess) {
    (void)cudaGetLastError();
    out.Set("deviceCount", 0);
    out.Set("error", ErrorObject(env, err, "cudaGetDeviceCount"));
    out.Set("devices", devices);
    return out;
  }
  out.Set("deviceCount", count);
  for (int i = 0; i < count; i++) {
    Napi::Object d = Napi::Object::New(env);
    d.Set("index", i);
    cudaDeviceProp prop{};
    err = cudaGetDeviceProperties(&prop, i);
    if (err != cudaSuccess) {
      (void)cudaGetLastError();
      d.Set("error", ErrorObject(env, err, "cudaGetDeviceProperties(" + std::to_string(i) + ")"));
      devices.Set(static_cast<uint32_t>(i), d);
      continue;
    }
    d.Set("name", std::string(prop.name));
    d.Set("major", prop.major);
    d.Set("minor", prop.minor);
    d.Set("totalMemory", static_cast<double>(prop.totalGlobalMem));
    d.Set("multiProcessorCount", prop.multiProcessorCount);
    char pci[32];
    std::snprintf(pci, sizeof pci, "%04x:%02x:%02x.0", prop.pciDomainID, prop.pciBusID, prop.pciDeviceID);
    d.Set("pciBusId", std::string(pci));
    d.Set("uuid", UuidString(prop.uuid));
    if (withFreeMemory) {
      // Needs the device's primary context, which this creates on first use.
      DeviceScope scope(i);
      size_t freeBytes = 0, totalBytes = 0;
      err = scope.ok() ? cudaMemGetInfo(&freeBytes, &totalBytes) : cudaSetDevice(i);
      if (err == cudaSuccess) {
        d.Set("freeMemory", static_cast<double>(freeBytes));
      } else {
        (void)cudaGetLastError();
        d.Set("error", ErrorObject(env, err, "cudaMemGetInfo on device " + std::to_string(i)));
      }
    }
    devices.Set(static_cast<uint32_t>(i), d);
  }
  out.Set("devices", devices);
  return out;
}

// cudaMemInfo(device) -> { free, total } in bytes; throws a TrtnError.
Napi::Value CudaMemInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int device = ToDevice(env, info[0]);
  DeviceScope scope(env, device);
  size_t freeBytes = 0, totalBytes = 0;
  CheckCuda(env, cudaMemGetInfo(&freeBytes, &totalBytes), "cudaMemGetInfo on device " + std::to_string(device));
  Napi::Object out = Napi::Object::New(env);
  out.Set("free", static_cast<double>(freeBytes));
  out.Set("total", static_cast<double>(totalBytes));
  return out;
}

// cudaEventElapsedTime(start, end) -> milliseconds between two recorded, completed events.
Napi::Value EventElapsedTime(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Event* start = Event::From(env, info[0], "start");
  Event* end = Event::From(env, info[1], "end");
  float ms = 0;
  TRTN_CHECK_CUDA(env, cudaEventElapsedTime(&ms, start->handle(), end->handle()));
  return Napi::Number::New(env, ms);
}

}  // namespace

void InitCudaDevice(Napi::Env env, Napi::Object exports) {
  exports.Set("cudaInfo", Napi::Function::New(env, CudaInfo, "cudaInfo"));
  exports.Set("cudaMemInfo", Napi::Function::New(env, CudaMemInfo, "cudaMemInfo"));
  exports.Set("cudaEventElapsedTime", Napi::Function::New(env, EventElapsedTime, "cudaEventElapsedTime"));
}

}  // namespace trtn
