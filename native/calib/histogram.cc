// Calibration statistics kernel: min/max, the NaN/Inf check and the histogram of |x| that lib/calib/histogram.ts
// describes (same bins, same power-of-two re-binning, the same numbers as its addJs), for one float32 tensor.
// Synchronous: it runs on the thread that produced the tensor (the ONNX Runtime worker), with helper threads of
// its own for the binning pass of a large tensor.
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <thread>
#include <vector>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "../common.h"
#include "calib.h"

namespace trtn {
namespace {

enum StateSlot { kMin = 0, kMax = 1, kCount = 2, kRange = 3, kStateSize = 4 };
constexpr size_t kBlock = 256;
// Below this many values per thread a helper thread costs more than it saves.
constexpr size_t kValuesPerThread = size_t{1} << 18;

// Grow the range by the smallest power of two covering `needed`, merging bins in groups of that factor.
void Grow(double* bins, size_t nb, double* state, double needed) {
  if (state[kRange] == 0) {
    state[kRange] = needed;
    return;
  }
  double factor = 1;
  while (state[kRange] * factor < needed) factor *= 2;
  std::vector<double> merged(nb, 0.0);
  for (size_t k = 0; k < nb; ++k) merged[static_cast<size_t>(static_cast<double>(k) / factor)] += bins[k];
  std::memcpy(bins, merged.data(), nb * sizeof(double));
  state[kRange] *= factor;
}

// Index of the first NaN/Inf (or -1) and the largest |x|, in blocks the compiler vectorizes.
int64_t Scan(const float* values, size_t n, double* largest) {
  float m = 0;
  for (size_t i = 0; i < n; i += kBlock) {
    const size_t end = i + kBlock < n ? i + kBlock : n;
    int finite = 1;
    float blockMax = 0;
    for (size_t j = i; j < end; ++j) {
      const float a = std::fabs(values[j]);
      finite &= a < INFINITY;  // false for NaN
      blockMax = a > blockMax ? a : blockMax;
    }
    if (!finite) {
      for (size_t j = i; j < end; ++j) {
        if (!(std::fabs(values[j]) < INFINITY)) return static_cast<int64_t>(j);
      }
    }
    m = blockMax > m ? blockMax : m;
  }
  *largest = m;
  return -1;
}

// One thread's share of a tensor: four lanes of nb counts, one per position mod 4, since back-to-back increments
// of one bin (the zero spike of post-Relu tensors) would otherwise wait on each other. A lane counts at most a
// quarter of a typed array's 2^32 values, so uint32 is enough.
struct Partial {
  std::vector<uint32_t> lanes;
  float lo = INFINITY;
  float hi = -INFINITY;
  bool inRange = true;
};

// Bin values[begin, end) at `range`: bin = min(float(|x| * perUnit), nb - 1) in float arithmetic, as addJs does
// with Math.fround. Per block, a pass (SSE2 where the compiler targets it) takes min/max, whether every value is
// finite and within the range, and the bin indices; then the increments. A value past the range (or NaN) lands
// in the last bin here and clears inRange, which sends the caller to the slow path.
void Accumulate(const float* values, size_t begin, size_t end, size_t nb, double range, Partial* out) {
  out->lanes.assign(4 * nb, 0);
  uint32_t* l0 = out->lanes.data();
  uint32_t* l1 = l0 + nb;
  uint32_t* l2 = l1 + nb;
  uint32_t* l3 = l2 + nb;
  // The range is a float32 |x| times powers of two, so it is exact in float unless it overflows (then: slow path).
  if (!(range <= FLT_MAX)) {
    out->inRange = false;
    return;
  }
  const float rangeF = static_cast<float>(range);
  const float perUnit = range == 0 ? 0.0f : static_cast<float>(static_cast<double>(nb) / range);
  const float last = static_cast<float>(nb - 1);
  float lo = out->lo, hi = out->hi;
  bool inRange = true;
  alignas(16) int32_t index[kBlock];
  size_t i = begin;
#if defined(__SSE2__)
  const __m128 absMask = _mm_castsi128_ps(_mm_set1_epi32(0x7fffffff));
  const __m128 vRange = _mm_set1_ps(rangeF), vPerUnit = _mm_set1_ps(perUnit), vLast = _mm_set1_ps(last);
  __m128 vLo = _mm_set1_ps(lo), vHi = _mm_set1_ps(hi), vIn = _mm_castsi128_ps(_mm_set1_epi32(-1));
  for (; i + kBlock <= end; i += kBlock) {
    for (size_t j = 0; j < kBlock; j += 4) {
      const __m128 x = _mm_loadu_ps(values + i + j);
      vLo = _mm_min_ps(x, vLo);  // a NaN x keeps the old value; NaN is caught by vIn
      vHi = _mm_max_ps(x, vHi);
      const __m128 a = _mm_and_ps(x, absMask);
      vIn = _mm_and_ps(vIn, _mm_cmple_ps(a, vRange));
      _mm_store_si128(reinterpret_cast<__m128i*>(index + j), _mm_cvttps_epi32(_mm_min_ps(_mm_mul_ps(a, vPerUnit), vLast)));
    }
    if (_mm_movemask_ps(vIn) != 0xf) {  // the caller re-bins everything: stop here
      out->inRange = false;
      return;
    }
#else
  for (; i + kBlock <= end; i += kBlock) {
    for (size_t j = 0; j < kBlock; ++j) {
      const float x = values[i + j], a = std::fabs(x), k = a * perUnit;
      lo = x < lo ? x : lo;
      hi = x > hi ? x : hi;
      inRange &= a <= rangeF;
      index[j] = static_cast<int32_t>(k < last ? k : last);
    }
    if (!inRange) {
      out->inRange = false;
      return;
    }
#endif
    for (size_t j = 0; j < kBlock; j += 4) {
      ++l0[index[j]];
      ++l1[index[j + 1]];
      ++l2[index[j + 2]];
      ++l3[index[j + 3]];
    }
  }
#if defined(__SSE2__)
  alignas(16) float lanesLo[4], lanesHi[4];
  _mm_store_ps(lanesLo, vLo);
  _mm_store_ps(lanesHi, vHi);
  for (int k = 0; k < 4; ++k) {
    lo = lanesLo[k] < lo ? lanesLo[k] : lo;
    hi = lanesHi[k] > hi ? lanesHi[k] : hi;
  }
  inRange = _mm_movemask_ps(vIn) == 0xf;
#endif
  for (; i < end; ++i) {
    const float x = values[i], a = std::fabs(x), k = a * perUnit;
    lo = x < lo ? x : lo;
    hi = x > hi ? x : hi;
    inRange &= a <= rangeF;
    ++l0[static_cast<int32_t>(k < last ? k : last)];
  }
  out->lo = lo;
  out->hi = hi;
  out->inRange = inRange;
}

// Bin values[begin, end) on up to `threads` threads into `partials`; true when every value was within `range`.
bool AccumulateParallel(const float* values, size_t n, size_t nb, double range, size_t threads, std::vector<Partial>* partials) {
  size_t parts = n / kValuesPerThread;
  parts = parts < 1 ? 1 : parts > threads ? threads : parts;
  partials->assign(parts, Partial());
  std::vector<std::thread> helpers;
  const size_t step = (n / parts + kBlock - 1) / kBlock * kBlock;
  for (size_t p = 1; p < parts; ++p) {
    const size_t begin = p * step, end = p + 1 == parts ? n : (p + 1) * step;
    helpers.emplace_back(Accumulate, values, begin, end, nb, range, &(*partials)[p]);
  }
  Accumulate(values, 0, parts == 1 ? n : step, nb, range, &(*partials)[0]);
  for (std::thread& t : helpers) t.join();
  for (const Partial& part : *partials) {
    if (!part.inRange) return false;
  }
  return true;
}

// Returns -1 when every value was added, else the index of the first NaN or Inf (and changes nothing).
// Binned at the current range first; a tensor with a value past it (or a NaN/Inf) is scanned, the range grown,
// and binned again, so the result never depends on where in the tensor the large value sits.
int64_t AddAbsHistogram(const float* values, size_t n, double* bins, size_t nb, double* state, size_t threads) {
  if (n == 0) return -1;
  std::vector<Partial> partials;
  // The first batch (range still 0) is scanned right away: binning it at range 0 would only be thrown away.
  if (state[kRange] == 0 || !AccumulateParallel(values, n, nb, state[kRange], threads, &partials)) {
    double largest = 0;
    const int64_t bad = Scan(values, n, &largest);
    if (bad >= 0) return bad;
    if (largest > state[kRange]) Grow(bins, nb, state, largest);
    AccumulateParallel(values, n, nb, state[kRange], threads, &partials);
  }
  for (const Partial& part : partials) {
    const uint32_t* l = part.lanes.data();
    for (size_t k = 0; k < nb; ++k) bins[k] += static_cast<double>(l[k]) + l[nb + k] + l[2 * nb + k] + l[3 * nb + k];
    if (part.lo < state[kMin]) state[kMin] = part.lo;
    if (part.hi > state[kMax]) state[kMax] = part.hi;
  }
  state[kCount] += static_cast<double>(n);
  return -1;
}

}  // namespace

Napi::Value CalibHistogramAdd(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 3 || !info[0].IsTypedArray() || !info[1].IsTypedArray() || !info[2].IsTypedArray()) {
    ThrowError(env, "ERR_INVALID_ARG", "calibHistogramAdd(values, bins, state, threads?) expects three typed arrays");
  }
  auto values = info[0].As<Napi::TypedArray>();
  auto bins = info[1].As<Napi::TypedArray>();
  auto state = info[2].As<Napi::TypedArray>();
  if (values.TypedArrayType() != napi_float32_array) ThrowError(env, "ERR_INVALID_ARG", "calibHistogramAdd: values must be a Float32Array");
  if (bins.TypedArrayType() != napi_float64_array || bins.ElementLength() < 2) ThrowError(env, "ERR_INVALID_ARG", "calibHistogramAdd: bins must be a Float64Array of at least 2 bins");
  if (state.TypedArrayType() != napi_float64_array || state.ElementLength() != kStateSize) ThrowError(env, "ERR_INVALID_ARG", "calibHistogramAdd: state must be a Float64Array [min, max, count, range]");
  int64_t threads = info.Length() > 3 && info[3].IsNumber() ? info[3].As<Napi::Number>().Int64Value() : 1;
  threads = threads < 1 ? 1 : threads > 64 ? 64 : threads;
  const int64_t bad = AddAbsHistogram(values.As<Napi::Float32Array>().Data(), values.ElementLength(), bins.As<Napi::Float64Array>().Data(),
                                      bins.ElementLength(), state.As<Napi::Float64Array>().Data(), static_cast<size_t>(threads));
  return Napi::Number::New(env, static_cast<double>(bad));
}

}  // namespace trtn
