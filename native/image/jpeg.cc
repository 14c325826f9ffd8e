// JPEG decoding with libjpeg-turbo at a DCT scale (1/1, 1/2, 1/4, 1/8) on a libuv pool thread, optionally
// followed by a separable resize whose filters (first tap, weights) TypeScript computes (lib/data/jpeg-shrink.ts):
// imageFolder's fast path, where sharp's fixed cost per image is several times the decode itself.
#include <napi.h>

#include <algorithm>
#include <csetjmp>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <jpeglib.h>

#include "common.h"
#include "modules.h"

namespace trtn {
namespace {

#define TRTN_STR2(x) #x
#define TRTN_STR(x) TRTN_STR2(x)

// Largest image decoded here (sharp's default limitInputPixels); larger ones are refused before allocation.
constexpr unsigned long long kMaxPixels = 0x3FFF * 0x3FFFULL;

struct ErrorManager {
  jpeg_error_mgr pub;
  jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
  char warning[JMSG_LENGTH_MAX];
  int warnings;
};

void OnJpegError(j_common_ptr cinfo) {
  auto* err = reinterpret_cast<ErrorManager*>(cinfo->err);
  (*cinfo->err->format_message)(cinfo, err->message);
  std::longjmp(err->jump, 1);
}

// Level -1 is a warning (corrupt or truncated data libjpeg recovered from); the first one is kept for the caller.
void OnJpegMessage(j_common_ptr cinfo, int level) {
  if (level >= 0) return;
  auto* err = reinterpret_cast<ErrorManager*>(cinfo->err);
  if (err->warnings++ == 0) (*cinfo->err->format_message)(cinfo, err->warning);
}

// One axis of a separable filter, as lib/data/jpeg-shrink.ts builds it: output o reads taps inputs from start[o].
struct AxisFilter {
  const int32_t* start = nullptr;
  const float* weights = nullptr;
  size_t outSize = 0;
  size_t taps = 0;
  size_t inSize = 0;
};

struct Decoded {
  unsigned char* pixels = nullptr;  // malloc'd RGB rows, width * height * 3
  unsigned width = 0;
  unsigned height = 0;
  std::string error;
  std::string warning;
};

// Plain C control flow between setjmp and longjmp: no object with a destructor lives across the jump.
void DecodeRgb(const unsigned char* bytes, size_t length, int denom, Decoded* out) {
  jpeg_decompress_struct cinfo;
  ErrorManager err;
  std::memset(&err, 0, sizeof err);
  cinfo.err = jpeg_std_error(&err.pub);
  err.pub.error_exit = OnJpegError;
  err.pub.emit_message = OnJpegMessage;
  unsigned char* volatile pixels = nullptr;
  if (setjmp(err.jump)) {
    std::free(pixels);
    jpeg_destroy_decompress(&cinfo);
    out->error = err.message;
    return;
  }
  jpeg_create_decompress(&cinfo);
  jpeg_mem_src(&cinfo, bytes, static_cast<unsigned long>(length));
  jpeg_read_header(&cinfo, TRUE);
  if (static_cast<unsigned long long>(cinfo.image_width) * cinfo.image_height > kMaxPixels) {
    jpeg_destroy_decompress(&cinfo);
    out->error = "image of " + std::to_string(cinfo.image_width) + "x" + std::to_string(cinfo.image_height) + " pixels is too large";
    return;
  }
  cinfo.scale_num = 1;
  cinfo.scale_denom = denom;
  cinfo.out_color_space = JCS_RGB;  // libjpeg refuses CMYK/YCCK -> RGB with an error, which the caller reports
  jpeg_start_decompress(&cinfo);
  const size_t stride = static_cast<size_t>(cinfo.output_width) * 3;
  pixels = static_cast<unsigned char*>(std::malloc(stride * cinfo.output_height));
  if (!pixels) {
    jpeg_destroy_decompress(&cinfo);
    out->error = "out of memory";
    return;
  }
  while (cinfo.output_scanline < cinfo.output_height) {
    JSAMPROW rows[4];
    const JDIMENSION count = std::min<JDIMENSION>(4, cinfo.output_height - cinfo.output_scanline);
    for (JDIMENSION i = 0; i < count; i++) rows[i] = pixels + (cinfo.output_scanline + i) * stride;
    jpeg_read_scanlines(&cinfo, rows, count);
  }
  jpeg_finish_decompress(&cinfo);
  out->pixels = pixels;
  out->width = cinfo.output_width;
  out->height = cinfo.output_height;
  if (err.warnings > 0) out->warning = err.warning;
  jpeg_destroy_decompress(&cinfo);
}

bool FilterFits(const AxisFilter& f) {
  for (size_t o = 0; o < f.outSize; o++) {
    if (f.start[o] < 0 || static_cast<size_t>(f.start[o]) >= f.inSize) return false;
  }
  return true;
}

// Vertical pass into floats (vectorised along the rows), horizontal pass rounding to bytes: the same order and
// rounding as resizeTriangleHwc.
void ResizeRgb(const unsigned char* src, const AxisFilter& fx, const AxisFilter& fy, std::vector<float>& rows, unsigned char* out) {
  const size_t width = fx.inSize, height = fy.inSize, outWidth = fx.outSize, outHeight = fy.outSize;
  const size_t rowIn = width * 3;
  rows.assign(outHeight * rowIn, 0.0f);
  for (size_t y = 0; y < outHeight; y++) {
    float* acc = rows.data() + y * rowIn;
    const size_t first = static_cast<size_t>(fy.start[y]);
    const size_t used = std::min(fy.taps, height - first);
    for (size_t k = 0; k < used; k++) {
      const float w = fy.weights[y * fy.taps + k];
      if (w == 0.0f) continue;
      const unsigned char* in = src + (first + k) * rowIn;
      for (size_t i = 0; i < rowIn; i++) acc[i] += w * static_cast<float>(in[i]);
    }
  }
  for (size_t y = 0; y < outHeight; y++) {
    const float* in = rows.data() + y * rowIn;
    unsigned char* o = out + y * outWidth * 3;
    for (size_t x = 0; x < outWidth; x++) {
      const size_t first = static_cast<size_t>(fx.start[x]);
      const size_t used = std::min(fx.taps, width - first);
      const float* w = fx.weights + x * fx.taps;
      const float* p = in + first * 3;
      float r = 0.5f, g = 0.5f, b = 0.5f;  // + 0.5 then truncation: round half up (values are never negative)
      for (size_t k = 0; k < used; k++, p += 3) {
        r += w[k] * p[0];
        g += w[k] * p[1];
        b += w[k] * p[2];
      }
      o[x * 3] = static_cast<unsigned char>(std::min(255.0f, r));
      o[x * 3 + 1] = static_cast<unsigned char>(std::min(255.0f, g));
      o[x * 3 + 2] = static_cast<unsigned char>(std::min(255.0f, b));
    }
  }
}

class DecodeWorker : public Napi::AsyncWorker {
 public:
  DecodeWorker(Napi::Env env, Napi::Uint8Array input, int denom)
      : Napi::AsyncWorker(env, "trtn:decodeJpeg"),
        deferred_(Napi::Promise::Deferred::New(env)),
        input_(Napi::Persistent(input)),
        bytes_(input.Data()),
        length_(input.ByteLength()),
        denom_(denom) {}
  ~DecodeWorker() override { std::free(result_.pixels); }

  Napi::Promise Promise() { return deferred_.Promise(); }

  // The filter arrays stay referenced (and so alive and in place) until the worker is destroyed.
  void SetResize(Napi::Object keep, AxisFilter fx, AxisFilter fy) {
    filters_ = Napi::Persistent(keep);
    fx_ = fx;
    fy_ = fy;
    resize_ = true;
  }

  void Execute() override {
    DecodeRgb(bytes_, length_, denom_, &result_);
    if (!result_.error.empty() || !resize_) return;
    if (result_.width != fx_.inSize || result_.height != fy_.inSize) {
      result_.error = "decoded to " + std::to_string(result_.width) + "x" + std::to_string(result_.height) + ", the resize filters expect " +
                      std::to_string(fx_.inSize) + "x" + std::to_string(fy_.inSize);
      return;
    }
    std::vector<float> rows;
    auto* out = static_cast<unsigned char*>(std::malloc(fx_.outSize * fy_.outSize * 3));
    if (!out) {
      result_.error = "out of memory";
      return;
    }
    ResizeRgb(result_.pixels, fx_, fy_, rows, out);
    std::free(result_.pixels);
    result_.pixels = out;
    result_.width = static_cast<unsigned>(fx_.outSize);
    result_.height = static_cast<unsigned>(fy_.outSize);
  }

  void OnOK() override {
    Napi::Env env = Env();
    if (!result_.error.empty()) {
      deferred_.Reject(MakeError(env, "ERR_DATA_FORMAT", result_.error).Value());
      return;
    }
    Napi::Object out = Napi::Object::New(env);
    const size_t size = static_cast<size_t>(result_.width) * result_.height * 3;
    out.Set("data", Napi::Buffer<unsigned char>::Copy(env, result_.pixels, size));
    out.Set("width", Napi::Number::New(env, result_.width));
    out.Set("height", Napi::Number::New(env, result_.height));
    if (!result_.warning.empty()) out.Set("warning", Napi::String::New(env, result_.warning));
    deferred_.Resolve(out);
  }

  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  Napi::Reference<Napi::Uint8Array> input_;  // keeps the bytes alive while the pool thread reads them
  Napi::ObjectReference filters_;
  const unsigned char* bytes_;
  size_t length_;
  int denom_;
  bool resize_ = false;
  AxisFilter fx_;
  AxisFilter fy_;
  Decoded result_;
};

// { start: Int32Array, weights: Float32Array, taps, inSize } as jpeg-shrink.ts's axisFilter() returns it.
AxisFilter ReadFilter(Napi::Env env, Napi::Value value, const char* axis) {
  if (!value.IsObject()) ThrowError(env, "ERR_INVALID_ARG", std::string("decodeJpeg ") + axis + " filter must be an object");
  Napi::Object o = value.As<Napi::Object>();
  Napi::Value start = o.Get("start"), weights = o.Get("weights"), taps = o.Get("taps"), inSize = o.Get("inSize");
  if (!start.IsTypedArray() || start.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array || !weights.IsTypedArray() ||
      weights.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array || !taps.IsNumber() || !inSize.IsNumber()) {
    ThrowError(env, "ERR_INVALID_ARG", std::string("decodeJpeg ") + axis + " filter needs start (Int32Array), weights (Float32Array), taps, inSize");
  }
  AxisFilter f;
  auto s = start.As<Napi::Int32Array>();
  auto w = weights.As<Napi::Float32Array>();
  f.start = s.Data();
  f.weights = w.Data();
  f.outSize = s.ElementLength();
  const int64_t t = taps.As<Napi::Number>().Int64Value(), n = inSize.As<Napi::Number>().Int64Value();
  if (t < 1 || n < 1 || f.outSize < 1 || w.ElementLength() != f.outSize * static_cast<size_t>(t)) {
    ThrowError(env, "ERR_INVALID_ARG", std::string("decodeJpeg ") + axis + " filter sizes do not agree");
  }
  f.taps = static_cast<size_t>(t);
  f.inSize = static_cast<size_t>(n);
  if (!FilterFits(f)) ThrowError(env, "ERR_INVALID_ARG", std::string("decodeJpeg ") + axis + " filter starts outside its input");
  return f;
}

// decodeJpeg(bytes: Uint8Array, scaleDenom: 1 | 2 | 4 | 8, resize?: { x: filter, y: filter }):
//   Promise<{ data (RGB bytes), width, height, warning? }>
Napi::Value DecodeJpeg(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array || !info[1].IsNumber()) {
    ThrowError(env, "ERR_INVALID_ARG", "decodeJpeg expects (Uint8Array, scaleDenom)");
  }
  const int denom = info[1].As<Napi::Number>().Int32Value();
  if (denom != 1 && denom != 2 && denom != 4 && denom != 8) ThrowError(env, "ERR_INVALID_ARG", "decodeJpeg scaleDenom must be 1, 2, 4 or 8");
  AxisFilter fx, fy;
  const bool resize = info.Length() > 2 && info[2].IsObject();
  if (resize) {
    fx = ReadFilter(env, info[2].As<Napi::Object>().Get("x"), "x");
    fy = ReadFilter(env, info[2].As<Napi::Object>().Get("y"), "y");
  }
  auto* worker = new DecodeWorker(env, info[0].As<Napi::Uint8Array>(), denom);
  if (resize) worker->SetResize(info[2].As<Napi::Object>(), fx, fy);
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

}  // namespace

const char* JpegVersion() {
#ifdef LIBJPEG_TURBO_VERSION
  return "libjpeg-turbo " TRTN_STR(LIBJPEG_TURBO_VERSION);
#else
  return "libjpeg " TRTN_STR(JPEG_LIB_VERSION);
#endif
}

void InitImage(Napi::Env env, Napi::Object exports) {
  exports.Set("decodeJpeg", Napi::Function::New(env, DecodeJpeg, "decodeJpeg"));
}

}  // namespace trtn
