// native/calib exports.
#include "calib.h"

#include "../modules.h"

namespace trtn {

void InitCalib(Napi::Env env, Napi::Object exports) {
  exports.Set("calibHistogramAdd", Napi::Function::New(env, CalibHistogramAdd, "calibHistogramAdd"));
  exports.Set("calibEntropyKept", Napi::Function::New(env, CalibEntropyKept, "calibEntropyKept"));
}

}  // namespace trtn
