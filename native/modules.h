// Each part of the addon exports its functions through one Init function; addon.cc calls those compiled in.
#pragma once
#include <napi.h>

namespace trtn {
void InitBridge(Napi::Env env, Napi::Object exports);  // native/bridge: always compiled
void InitCalib(Napi::Env env, Napi::Object exports);   // native/calib: always compiled
#ifdef TRTN_HAVE_CUDA
void InitCuda(Napi::Env env, Napi::Object exports);  // native/cuda: with the CUDA toolkit
#endif
#ifdef TRTN_HAVE_TENSORRT
void InitTrt(Napi::Env env, Napi::Object exports);  // native/trt: with TensorRT
#endif
#ifdef TRTN_HAVE_JPEG
void InitImage(Napi::Env env, Napi::Object exports);  // native/image: with libjpeg(-turbo)
const char* JpegVersion();                            // "libjpeg-turbo 2.1.5" (or the libjpeg version)
#endif
}  // namespace trtn
