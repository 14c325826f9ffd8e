// Pulling data from JavaScript on native threads (used by the TensorRT INT8 calibrator).
#include "../common.h"
#include "../modules.h"

namespace trtn {
void InitBridge(Napi::Env env, Napi::Object exports) {}
}  // namespace trtn
