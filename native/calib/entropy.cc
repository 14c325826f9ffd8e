// The entropy threshold search of lib/calib/algorithms.ts (TensorRT's IInt8EntropyCalibrator2 divergence) with
// O(levels) work per candidate instead of O(bins); entropyKeptReference there is the specification, and
// test/calib/entropy-search.test.ts holds the two to one answer. In C++ because the search runs once per tensor:
// JavaScript would spend its first calls unoptimized, several ms each, more than a small model's whole inference.
//
// With N the total count, ep / eq the smoothing shifts of P and Q (zeros become eps = 1e-4, taken evenly from the
// non-zeros) and the sums over the bins where P is non-zero:
//   KL = (1/N) [ sum (p - ep) ln(p - ep) - sum (p - ep) ln(q - eq) ] + ln(qs / N)
// (the smoothed zeros, eps against eps, cancel; qs = sum of Q = the counts below `kept`). Q is constant inside a
// group, so the second sum is one term per group; the groups before the last are the same for every candidate
// with the same group width, and their sum comes from the series of GroupSeries. The first sum comes from prefix
// sums of p ln p, ln p + 1 and p^-r through
//   (p - e) ln(p - e) = p ln p - e (ln p + 1) + sum_{n>=2} e^n / (n (n-1) p^(n-1)),
// which needs e well below the smallest count (integer counts give at most 2048e-4): otherwise the search returns
// -1 and the caller runs the reference. The last kept bin (which takes the outliers) is computed directly.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "../common.h"
#include "calib.h"

namespace trtn {
namespace {

constexpr double kSmoothing = 1e-4;
constexpr double kSeriesRatio = 0.25;  // largest shift over the smallest count for which the series are used
constexpr int kMostTerms = 30;         // 0.25^30 < 1e-18

// For the first `groups` groups of `width` bins (count sum S, nz non-zero bins, c = S / nz):
// out = [sum S ln c, sum nz ln c, W_0, W_1, ...] with W_r = sum nz c^-r, so that for shifts ep and eq
//   sum (S - nz ep) ln(c - eq) = out[0] - ep out[1] - sum_{r>=1} eq^r / r (W_(r-1) - ep W_r).
void GroupSeries(const std::vector<double>& counts, const std::vector<double>& nonZero, size_t width, size_t groups, std::vector<double>& out) {
  std::fill(out.begin(), out.end(), 0.0);
  for (size_t j = 0, start = 0; j < groups; ++j, start += width) {
    const double nz = nonZero[start + width] - nonZero[start];
    if (nz == 0) continue;
    const double sum = counts[start + width] - counts[start];
    const double c = sum / nz;
    const double lc = std::log(c);
    out[0] += sum * lc;
    out[1] += nz * lc;
    const double reciprocal = 1 / c;
    double w = nz;
    for (size_t r = 2; r < out.size(); ++r) {
      out[r] += w;
      w *= reciprocal;
    }
  }
}

// Bins kept by the search over `hist` (as lib/calib entropyHistogram left it), or -1 where the series do not apply.
int64_t EntropyKept(const double* hist, size_t n, size_t levels) {
  size_t lastNonZero = n - 1;
  while (lastNonZero > 0 && hist[lastNonZero] == 0) --lastNonZero;
  const size_t stop = std::max(levels, lastNonZero + 1);
  std::vector<double> counts(n + 1, 0.0), nonZero(n + 1, 0.0), above(n + 1, 0.0);
  double minPositive = INFINITY;
  for (size_t k = 0; k < n; ++k) {
    const double h = hist[k];
    counts[k + 1] = counts[k] + h;
    nonZero[k + 1] = nonZero[k] + (h > 0 ? 1 : 0);
    if (h > 0 && h < minPositive && k < stop) minPositive = h;
  }
  for (size_t k = n; k-- > 0;) above[k] = above[k + 1] + hist[k];
  const double total = above[0];
  // Shifts per candidate (NaN where the divergence is undefined), and the series length their largest ratio to
  // the smallest count needs for 1e-18.
  std::vector<double> shiftP(stop + 1, NAN), shiftQ(stop + 1, NAN);
  double largest = 0;
  for (size_t kept = levels; kept <= stop; ++kept) {
    const size_t last = kept - 1;
    const double pLast = hist[last] + above[kept];
    const double nzp = nonZero[last] + (pLast > 0 ? 1 : 0);
    const size_t lastStart = (levels - 1) * (kept / levels);
    const double zq = static_cast<double>(kept) - nzp + (counts[kept] == counts[lastStart] && pLast > 0 ? 1 : 0);
    if (nzp == 0 || zq == static_cast<double>(kept)) continue;
    shiftP[kept] = kSmoothing * (static_cast<double>(kept) - nzp) / nzp;
    shiftQ[kept] = kSmoothing * zq / (static_cast<double>(kept) - zq);
    largest = std::max(largest, std::max(shiftP[kept], shiftQ[kept]));
  }
  const double ratio = largest / minPositive;
  if (!(ratio <= kSeriesRatio)) return -1;
  const int terms = ratio == 0 ? 1 : std::min(kMostTerms, static_cast<int>(std::ceil(std::log(1e-18) / std::log(ratio))));
  // Prefix sums of p ln p, ln p + 1 and p^-r (r = 1 .. terms - 1) over the non-zero bins; inv[(r - 1) * (n + 1) + k].
  std::vector<double> pLogP(n + 1, 0.0), logP1(n + 1, 0.0), inv(static_cast<size_t>(std::max(terms - 1, 0)) * (n + 1), 0.0);
  for (size_t k = 0; k < n; ++k) {
    const double h = hist[k];
    const double lh = h > 0 ? std::log(h) : 0;
    pLogP[k + 1] = pLogP[k] + (h > 0 ? h * lh : 0);
    logP1[k + 1] = logP1[k] + (h > 0 ? lh + 1 : 0);
    const double reciprocal = h > 0 ? 1 / h : 0;
    double power = 1;
    for (int r = 1; r < terms; ++r) {
      power *= reciprocal;
      const size_t at = static_cast<size_t>(r - 1) * (n + 1) + k;
      inv[at + 1] = inv[at] + power;
    }
  }
  const double logEps = std::log(kSmoothing);
  std::vector<double> series(static_cast<size_t>(terms) + 2, 0.0);
  size_t groupWidth = 0;
  size_t best = stop;
  double bestKl = INFINITY;
  for (size_t kept = levels; kept <= stop; ++kept) {
    const double ep = shiftP[kept];
    const double eq = shiftQ[kept];
    if (std::isnan(ep)) continue;
    const size_t last = kept - 1;
    const double pLast = hist[last] + above[kept];
    // sum (p - ep) ln(p - ep) over the non-zero bins below `last` by the series, then the last bin directly
    double a = pLogP[last] - ep * logP1[last];
    double e = ep;
    for (int r = 1; r < terms; ++r) {
      e *= ep;
      a += e / ((r + 1.0) * r) * inv[static_cast<size_t>(r - 1) * (n + 1) + last];
    }
    if (pLast > 0) a += (pLast - ep) * std::log(pLast - ep);
    const size_t m = kept / levels;
    if (m != groupWidth) {
      groupWidth = m;
      GroupSeries(counts, nonZero, m, levels - 1, series);
    }
    // sum (p - ep) ln(q - eq): the groups before the last through the series, the last one directly
    double b = series[0] - ep * series[1];
    double eqPower = 1;
    for (int r = 1; r < terms; ++r) {
      eqPower *= eq;
      b -= eqPower / r * (series[static_cast<size_t>(r) + 1] - ep * series[static_cast<size_t>(r) + 2]);
    }
    const size_t lastStart = (levels - 1) * m;
    const double lastSum = counts[kept] - counts[lastStart];
    const double lastNz = nonZero[last] - nonZero[lastStart] + (pLast > 0 ? 1 : 0);
    if (lastNz > 0) b += lastSum > 0 ? (lastSum + above[kept] - lastNz * ep) * std::log(lastSum / lastNz - eq) : (pLast - ep) * logEps;
    const double kl = (a - b) / total + std::log(counts[kept] / total);
    if (kl < bestKl) {
      bestKl = kl;
      best = kept;
    }
  }
  return static_cast<int64_t>(best);
}

}  // namespace

Napi::Value CalibEntropyKept(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsTypedArray() || !info[1].IsNumber()) ThrowError(env, "ERR_INVALID_ARG", "calibEntropyKept(hist, levels) expects a Float64Array and a number");
  auto hist = info[0].As<Napi::TypedArray>();
  if (hist.TypedArrayType() != napi_float64_array) ThrowError(env, "ERR_INVALID_ARG", "calibEntropyKept: hist must be a Float64Array");
  const int64_t levels = info[1].As<Napi::Number>().Int64Value();
  const size_t n = hist.ElementLength();
  if (levels < 1 || static_cast<size_t>(levels) > n) ThrowError(env, "ERR_INVALID_ARG", "calibEntropyKept: levels must be in [1, bins]");
  return Napi::Number::New(env, static_cast<double>(EntropyKept(hist.As<Napi::Float64Array>().Data(), n, static_cast<size_t>(levels))));
}

}  // namespace trtn
