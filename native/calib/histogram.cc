// Calibration statistics kernel: one pass over a float32 tensor updating min/max, the NaN/Inf check and the
// histogram of |x| that lib/calib/histogram.ts describes (same bins, same power-of-two re-binning, same results).
// Synchronous on purpose: it is called from the thread that produced the tensor (the ONNX Runtime worker).
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "../common.h"
#include "calib.h"

namespace trtn {
namespace {

enum StateSlot { kMin = 0, kMax = 1, kCount = 2, kRange = 3, kStateSize = 4 };

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

// Returns -1 when every value was added, else the index of the first NaN or Inf (calibration stops there, so
// the partly updated state is never used).
int64_t AddAbsHistogram(const float* values, size_t n, double* bins, size_t nb, double* state) {
  if (n == 0) return -1;
  if (state[kRange] == 0) {
    // Until a non-zero value is seen the range comes from this batch's largest |x|.
    double m = 0;
    for (size_t i = 0; i < n; ++i) {
      const double a = std::fabs(static_cast<double>(values[i]));
      if (!(a < INFINITY)) return static_cast<int64_t>(i);
      if (a > m) m = a;
    }
    state[kRange] = m;
  }
  // Four sets of uint32 counts, one per lane of the unrolled increments: back-to-back increments of one bin (the
  // zero spike of post-Relu tensors) would otherwise wait on each other. Counts flush into `bins` at the end and
  // before any re-binning. Values go in blocks: one pass finds min/max and whether all are finite and in range,
  // one computes bin indices (both vectorize), one increments; a block that is not all in range takes the
  // value-by-value path, which grows the range or reports the NaN/Inf.
  thread_local std::vector<uint32_t> lanes;
  lanes.assign(4 * nb, 0);
  uint32_t* l0 = lanes.data();
  uint32_t* l1 = l0 + nb;
  uint32_t* l2 = l1 + nb;
  uint32_t* l3 = l2 + nb;
  auto flush = [&]() {
    for (size_t k = 0; k < nb; ++k) bins[k] += static_cast<double>(l0[k]) + l1[k] + l2[k] + l3[k];
    std::memset(l0, 0, 4 * nb * sizeof(uint32_t));
  };
  const int64_t last = static_cast<int64_t>(nb) - 1;
  double range = state[kRange];
  double perUnit = range == 0 ? 0 : static_cast<double>(nb) / range;
  double lo = state[kMin];
  double hi = state[kMax];
  constexpr size_t kBlock = 256;
  int32_t index[kBlock];
  size_t i = 0;
  size_t flushed = 0;
  while (i < n) {
    if (i - flushed >= (size_t{1} << 30)) {  // keeps every lane count below 2^32
      flush();
      flushed = i;
    }
    if (i + kBlock <= n) {
      const float* x = values + i;
      float blockLo = x[0], blockHi = x[0];
      int inRange = 1;
      for (size_t j = 0; j < kBlock; ++j) {
        blockLo = x[j] < blockLo ? x[j] : blockLo;
        blockHi = x[j] > blockHi ? x[j] : blockHi;
        inRange &= static_cast<double>(std::fabs(x[j])) <= range;  // false for NaN
      }
      if (inRange) {
        for (size_t j = 0; j < kBlock; ++j) {
          const int64_t k = static_cast<int64_t>(static_cast<double>(std::fabs(x[j])) * perUnit);
          index[j] = static_cast<int32_t>(k > last ? last : k);
        }
        for (size_t j = 0; j < kBlock; j += 4) {
          ++l0[index[j]];
          ++l1[index[j + 1]];
          ++l2[index[j + 2]];
          ++l3[index[j + 3]];
        }
        if (blockLo < lo) lo = blockLo;
        if (blockHi > hi) hi = blockHi;
        i += kBlock;
        continue;
      }
    }
    const size_t stop = i + kBlock <= n ? i + kBlock : n;
    for (; i < stop; ++i) {
      const double x = values[i];
      const double a = std::fabs(x);
      if (!(a <= range)) {
        if (!(a < INFINITY)) return static_cast<int64_t>(i);
        flush();
        Grow(bins, nb, state, a);
        range = state[kRange];
        perUnit = static_cast<double>(nb) / range;
      }
      if (x < lo) lo = x;
      if (x > hi) hi = x;
      const int64_t k = static_cast<int64_t>(a * perUnit);
      ++l0[k > last ? last : k];
    }
  }
  flush();
  state[kMin] = lo;
  state[kMax] = hi;
  state[kCount] += static_cast<double>(n);
  return -1;
}

}  // namespace

Napi::Value CalibHistogramAdd(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 3 || !info[0].IsTypedArray() || !info[1].IsTypedArray() || !info[2].IsTypedArray()) {
    ThrowError(env, "ERR_INVALID_ARG", "calibHistogramAdd(values, bins, state) expects three typed arrays");
  }
  auto values = info[0].As<Napi::TypedArray>();
  auto bins = info[1].As<Napi::TypedArray>();
  auto state = info[2].As<Napi::TypedArray>();
  if (values.TypedArrayType() != napi_float32_array) ThrowError(env, "ERR_INVALID_ARG", "calibHistogramAdd: values must be a Float32Array");
  if (bins.TypedArrayType() != napi_float64_array || bins.ElementLength() < 2) ThrowError(env, "ERR_INVALID_ARG", "calibHistogramAdd: bins must be a Float64Array of at least 2 bins");
  if (state.TypedArrayType() != napi_float64_array || state.ElementLength() != kStateSize) ThrowError(env, "ERR_INVALID_ARG", "calibHistogramAdd: state must be a Float64Array [min, max, count, range]");
  const int64_t bad = AddAbsHistogram(values.As<Napi::Float32Array>().Data(), values.ElementLength(), bins.As<Napi::Float64Array>().Data(),
                                      bins.ElementLength(), state.As<Napi::Float64Array>().Data());
  return Napi::Number::New(env, static_cast<double>(bad));
}

}  // namespace trtn
