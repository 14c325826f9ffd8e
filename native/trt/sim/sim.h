// The TensorRT + CUDA simulator behind native/trt/api.h: what the addon and tests may call directly.
// Linked only into the test addon (tensorrt_node_trtsim); it never ships and never reports itself as TensorRT.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace Napi {
class Env;
class Object;
}  // namespace Napi

namespace trtn {
namespace trt {
namespace sim {

// Marks the calling thread as a JavaScript thread: blocking TensorRT/CUDA calls made on it are violations.
void RegisterJsThread();

// Adds trtSimConfigure, trtSimReset, trtSimViolations, trtSimHazards, trtSimStats, trtSimSelfTest (exports.cc).
void InitTrtSim(Napi::Env env, Napi::Object exports);

struct Finding {
  std::string id, message;
};

struct Faults {
  bool parse = false, build = false, timingCache = false, deserialize = false, noBuilder = false, noRuntime = false;
  int64_t enqueueFalse = 0;         // the next n EnqueueV3 calls return false
  int64_t contextOomAfter = -1;     // CreateExecutionContext fails while this many contexts live (-1: off)
  int64_t stickyErrorAtEnqueue = 0; // the kernel of the nth EnqueueV3 from now raises cudaErrorIllegalAddress (0: off)
};

struct Options {
  std::string version;               // '8.6' | '10.0' | '10.16' | '11.1' ('' keeps the current one)
  double streamDelayMs = -1;         // < 0 keeps the current one
  int64_t deviceMemoryBytes = -1;    // < 0 keeps the current one
  std::string deviceName;            // '' keeps the current one (goes into timing caches)
  bool setFaults = false;
  Faults faults;
};

struct Stats {
  int64_t liveBuilders = 0, liveConfigs = 0, liveEngines = 0, liveContexts = 0, liveRuntimes = 0;
  int64_t deviceBytesInUse = 0, pinnedBytesInUse = 0, allocations = 0, streams = 0;
  int64_t buildsStarted = 0, maxConcurrentBuilds = 0, calibrationBatches = 0;
  bool calibrationThreadIsBuilderThread = false;
};

struct SelfTestResult {
  std::string name;
  bool passed = false;
  std::string detail;
};

// false + reason when an option is invalid (unknown version ...).
bool Configure(const Options& options, std::string* error);
void Reset();  // faults, violations, hazards, sticky CUDA error, counters of builds; the personality stays
std::vector<Finding> Violations();
std::vector<Finding> Hazards();
Stats GetStats();
// Runs deliberately wrong sequences against the simulator and checks each is caught. Runs on a thread of its own,
// restores violations, hazards, faults, build statistics and configuration afterwards (do not run it alongside other simulator work).
std::vector<SelfTestResult> SelfTest();

}  // namespace sim
}  // namespace trt
}  // namespace trtn
