// Shared state of the simulator (not part of its interface: sim.h is).
#pragma once
#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "sim.h"
#include "trt/api.h"

namespace trtn {
namespace trt {
namespace sim {

struct Personality {
  std::string name;  // '8.6' ...
  Version version;
  int32_t number = 0;  // getInferLibVersion: 8601, 100001, 101600, 110100
  Capabilities caps;
};
const Personality& Current();
bool FindPersonality(const std::string& name, Personality* out);
Personality PersonalityOfNumber(int32_t number, bool* found);

// Records a broken documented contract. id: '<header>/<Class::method>/<what>'; message quotes the doc sentence.
void Violation(const std::string& id, const std::string& message);
void Hazard(const std::string& id, const std::string& message);
// To the one LogListener (nothing while the self-test is quiet).
void Log(Severity severity, const std::string& message);
// A violation when called on a registered JS thread: `what` blocks the event loop.
void CheckNotJsThread(const std::string& what);

// Counters and faults, all guarded by one mutex.
struct Counters {
  int64_t liveBuilders = 0, liveConfigs = 0, liveEngines = 0, liveContexts = 0, liveRuntimes = 0;
  int64_t buildsStarted = 0, activeBuilds = 0, maxConcurrentBuilds = 0, calibrationBatches = 0;
  bool calibrationThreadIsBuilderThread = false;
};
std::mutex& StateMutex();
Counters& Count();  // under StateMutex
Faults& TheFaults();  // under StateMutex
std::string DeviceName();  // under no lock
// Takes one pending fault flag (true when it was set).
bool TakeFault(bool Faults::*flag);
bool FaultSet(bool Faults::*flag);  // persistent faults (noBuilder, noRuntime)

// ---- simulated device (cuda.cc) ----
Cuda& SimCuda();
// Device memory TensorRT allocates itself (context activation memory): false when it does not fit.
bool DeviceAlloc(size_t bytes, void** ptr);
void DeviceRelease(void* ptr);
// The simulated allocation holding [ptr, ptr + bytes): kind 'd' device, 'p' pinned; false when none.
bool FindAllocation(const void* ptr, size_t bytes, char* kind, size_t* available);
// Queues work on a stream, referencing the allocations holding `refs` until it ran (origin names the API).
// false (and *status) when the stream is invalid or the device is faulted.
bool QueueWork(Stream stream, std::function<void()> work, const std::vector<const void*>& refs, const std::string& origin,
               int* status);
void RaiseSticky(int status);
int StickyStatus();
void ResetCuda();
void CudaStats(Stats* stats);
void SetDeviceCapacity(int64_t bytes);
void SetStreamDelayMs(double ms);
double StreamDelayMs();

// ---- helpers shared by builder.cc and runtime.cc ----
int64_t Volume(const Dims& dims);  // -1 when a dim is unknown
size_t ElementSize(DataType type);
std::string DimsText(const Dims& dims);
std::string TypeName(DataType type);
// One element of a tensor as double, and back (float16 as IEEE half; integers rounded) (runtime.cc).
double ReadElement(const uint8_t* p, DataType type);
void WriteElement(uint8_t* p, DataType type, double value);

struct TensorDesc {
  std::string name;
  bool input = true;
  DataType type = DataType::kFLOAT;
  Dims dims;  // -1: dynamic
};
struct ProfileDesc {
  std::vector<std::string> names;
  std::vector<Dims> min, opt, max;
  int Find(const std::string& name) const;
};
// What a plan holds (the "engine").
struct PlanDesc {
  int32_t version = 0;
  std::vector<TensorDesc> tensors;
  std::vector<ProfileDesc> profiles;
  bool fp16 = false, int8 = false, tf32 = false, stronglyTyped = false, sharing0806 = false;
  int64_t deviceMemory = 0;
  int32_t layers = 0;
};
Bytes SerializePlan(const PlanDesc& plan);
// false + reason; *versionMismatch when the plan is well formed but of another personality.
bool ParsePlan(const void* data, size_t size, PlanDesc* plan, std::string* error);
// Output dims resolved from the input shapes (see runtime.cc for the rule).
Dims ResolveOutput(const PlanDesc& plan, const TensorDesc& output, const std::vector<Dims>& inputShapes);
int64_t ContextMemoryBytes(const PlanDesc& plan);

std::unique_ptr<Builder> MakeBuilder();
std::unique_ptr<Runtime> MakeRuntime();

// Test helpers (selftest.cc)
Bytes TinyOnnx(const std::string& input, const Dims& inDims, int inType, const std::string& output, const Dims& outDims);
std::vector<Finding> ViolationsSince(size_t from);
size_t ViolationCount();
// Saves and restores violations, hazards, faults, build statistics and configuration around the self-test.
struct Snapshot;
std::shared_ptr<Snapshot> SaveState();
void RestoreState(const std::shared_ptr<Snapshot>& snapshot);
void SetQuiet(bool quiet);

}  // namespace sim
}  // namespace trt
}  // namespace trtn
