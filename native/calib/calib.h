// Calibration compute kernels: plain arrays in, plain numbers out, on the calling thread (the ONNX Runtime
// worker for statistics). The rules they implement live in lib/calib, which tests them against its JavaScript.
#pragma once
#include <napi.h>

namespace trtn {

// calibHistogramAdd(values: Float32Array, bins: Float64Array, state: Float64Array [min, max, count, range]) -> number
// Adds |values| to the histogram (lib/calib/histogram.ts); -1, or the index of the first NaN/Inf.
Napi::Value CalibHistogramAdd(const Napi::CallbackInfo& info);

// calibEntropyKept(hist: Float64Array, levels: number) -> number
// Bins kept by the entropy search (lib/calib/algorithms.ts), or -1 where the caller runs the reference search.
Napi::Value CalibEntropyKept(const Napi::CallbackInfo& info);

}  // namespace trtn
