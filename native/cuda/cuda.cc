#include "../common.h"
#include "../modules.h"

namespace trtn {
void InitCuda(Napi::Env env, Napi::Object exports) {}
}  // namespace trtn
