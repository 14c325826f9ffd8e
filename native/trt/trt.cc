#include "../common.h"
#include "../modules.h"

namespace trtn {
void InitTrt(Napi::Env env, Napi::Object exports) {}
}  // namespace trtn
