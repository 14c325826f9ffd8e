#include "../common.h"
#include "../modules.h"
#include "cuda_error.h"

namespace trtn {
void InitCuda(Napi::Env env, Napi::Object exports) {}
}  // namespace trtn
