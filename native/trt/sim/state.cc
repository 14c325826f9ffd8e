// The simulator's global state: personality, findings (violations, hazards), logger, JS threads, counters, faults;
// and the Api behind trtn::trt::TheApi().
#include <algorithm>
#include <cstdio>

#include "internal.h"

namespace trtn {
namespace trt {
namespace sim {
namespace {

Personality Make(const std::string& name, int major, int minor, int patch) {
  Personality p;
  p.name = name;
  p.version = {major, minor, patch};
  // getInferLibVersion: MAJOR * 1000 + MINOR * 100 + PATCH before 10.0, MAJOR * 10000 + MINOR * 100 + PATCH since.
  p.number = major < 10 ? major * 1000 + minor * 100 + patch : major * 10000 + minor * 100 + patch;
  p.caps.compiled = p.version;
  p.caps.simulator = true;
  if (major == 8) {
    p.caps.implicitPrecision = p.caps.explicitBatchFlag = p.caps.profileSharingPreview = true;
  } else if (major == 10) {
    p.caps.implicitPrecision = p.caps.progressMonitor = p.caps.stronglyTypedFlag = p.caps.profileSharingAlways = true;
  } else {
    p.caps.progressMonitor = p.caps.profileSharingAlways = true;
  }
  return p;
}

const std::vector<Personality>& All() {
  static const std::vector<Personality> all = {Make("8.6", 8, 6, 1), Make("10.0", 10, 0, 1), Make("10.16", 10, 16, 0),
                                               Make("11.1", 11, 1, 0)};
  return all;
}

struct Global {
  std::mutex mutex;  // personality, counters, faults, device name
  Personality personality = All()[2];
  Counters counters;
  Faults faults;
  std::string deviceName = "TRT-SIM device 0 (sm_90, 132 SMs)";
  std::mutex findingsMutex;
  std::vector<Finding> violations, hazards;
  std::mutex loggerMutex;
  LogListener* logger = nullptr;
  std::atomic<bool> quiet{false};
};
Global& G() {
  static Global* global = new Global();  // never destroyed: stream threads may outlive static destruction
  return *global;
}

}  // namespace

const Personality& Current() {
  std::lock_guard<std::mutex> lock(G().mutex);
  static thread_local Personality copy;
  copy = G().personality;
  return copy;
}

bool FindPersonality(const std::string& name, Personality* out) {
  for (const auto& p : All())
    if (p.name == name) return *out = p, true;
  return false;
}

Personality PersonalityOfNumber(int32_t number, bool* found) {
  for (const auto& p : All())
    if (p.number == number) return *found = true, p;
  *found = false;
  Personality unknown;
  unknown.number = number;
  unknown.version = number < 100000 ? Version{number / 1000, number / 100 % 10, number % 100}
                                    : Version{number / 10000, number / 100 % 100, number % 100};
  return unknown;
}

void Violation(const std::string& id, const std::string& message) {
  std::lock_guard<std::mutex> lock(G().findingsMutex);
  G().violations.push_back({id, message});
}
void Hazard(const std::string& id, const std::string& message) {
  std::lock_guard<std::mutex> lock(G().findingsMutex);
  G().hazards.push_back({id, message});
}

void Log(Severity severity, const std::string& message) {
  if (G().quiet) return;
  std::lock_guard<std::mutex> lock(G().loggerMutex);  // TensorRT serialises its ILogger calls too
  if (G().logger) G().logger->Log(severity, message.c_str());
}

// Thread-local, not a set of thread ids: an id is reused once a (worker) JS thread has ended.
thread_local bool isJsThread = false;

void RegisterJsThread() { isJsThread = true; }

void CheckNotJsThread(const std::string& what) {
  if (isJsThread)
    Violation("trtn/js-thread/" + what,
              what + " called on a JavaScript thread: it blocks the event loop (run it on a worker thread)");
}

std::mutex& StateMutex() { return G().mutex; }
Counters& Count() { return G().counters; }
Faults& TheFaults() { return G().faults; }
std::string DeviceName() {
  std::lock_guard<std::mutex> lock(G().mutex);
  return G().deviceName;
}
bool TakeFault(bool Faults::*flag) {
  std::lock_guard<std::mutex> lock(G().mutex);
  bool set = G().faults.*flag;
  G().faults.*flag = false;
  return set;
}
bool FaultSet(bool Faults::*flag) {
  std::lock_guard<std::mutex> lock(G().mutex);
  return G().faults.*flag;
}

bool Configure(const Options& options, std::string* error) {
  Personality p;
  if (!options.version.empty() && !FindPersonality(options.version, &p))
    return *error = "unknown version '" + options.version + "' (expected 8.6, 10.0, 10.16 or 11.1)", false;
  if (options.streamDelayMs > 1000) return *error = "streamDelayMs must be at most 1000", false;
  {
    std::lock_guard<std::mutex> lock(G().mutex);
    if (!options.version.empty()) G().personality = p;
    if (!options.deviceName.empty()) G().deviceName = options.deviceName;
    if (options.setFaults) G().faults = options.faults;
  }
  if (options.streamDelayMs >= 0) SetStreamDelayMs(options.streamDelayMs);
  if (options.deviceMemoryBytes >= 0) SetDeviceCapacity(options.deviceMemoryBytes);
  return true;
}

void Reset() {
  {
    std::lock_guard<std::mutex> lock(G().mutex);
    G().faults = Faults();
    Counters& c = G().counters;
    c.buildsStarted = c.maxConcurrentBuilds = c.calibrationBatches = 0;
    c.calibrationThreadIsBuilderThread = false;
  }
  {
    std::lock_guard<std::mutex> lock(G().findingsMutex);
    G().violations.clear();
    G().hazards.clear();
  }
  ResetCuda();
}

std::vector<Finding> Violations() {
  std::lock_guard<std::mutex> lock(G().findingsMutex);
  return G().violations;
}
std::vector<Finding> Hazards() {
  std::lock_guard<std::mutex> lock(G().findingsMutex);
  return G().hazards;
}
size_t ViolationCount() {
  std::lock_guard<std::mutex> lock(G().findingsMutex);
  return G().violations.size();
}
std::vector<Finding> ViolationsSince(size_t from) {
  std::lock_guard<std::mutex> lock(G().findingsMutex);
  if (from >= G().violations.size()) return {};
  return std::vector<Finding>(G().violations.begin() + from, G().violations.end());
}

Stats GetStats() {
  Stats s;
  {
    std::lock_guard<std::mutex> lock(G().mutex);
    const Counters& c = G().counters;
    s.liveBuilders = c.liveBuilders;
    s.liveConfigs = c.liveConfigs;
    s.liveEngines = c.liveEngines;
    s.liveContexts = c.liveContexts;
    s.liveRuntimes = c.liveRuntimes;
    s.buildsStarted = c.buildsStarted;
    s.maxConcurrentBuilds = c.maxConcurrentBuilds;
    s.calibrationBatches = c.calibrationBatches;
    s.calibrationThreadIsBuilderThread = c.calibrationThreadIsBuilderThread;
  }
  CudaStats(&s);
  return s;
}

struct Snapshot {
  Personality personality;
  Faults faults;
  Counters counters;
  std::string deviceName;
  std::vector<Finding> violations, hazards;
  double delay;
};
std::shared_ptr<Snapshot> SaveState() {
  auto s = std::make_shared<Snapshot>();
  {
    std::lock_guard<std::mutex> lock(G().mutex);
    s->personality = G().personality;
    s->faults = G().faults;
    s->counters = G().counters;
    s->deviceName = G().deviceName;
  }
  {
    std::lock_guard<std::mutex> lock(G().findingsMutex);
    s->violations = G().violations;
    s->hazards = G().hazards;
  }
  s->delay = StreamDelayMs();
  return s;
}
void RestoreState(const std::shared_ptr<Snapshot>& s) {
  {
    std::lock_guard<std::mutex> lock(G().mutex);
    G().personality = s->personality;
    G().faults = s->faults;
    Counters& c = G().counters;  // the build statistics; live-object counts stay as they are
    c.buildsStarted = s->counters.buildsStarted;
    c.maxConcurrentBuilds = s->counters.maxConcurrentBuilds;
    c.calibrationBatches = s->counters.calibrationBatches;
    c.calibrationThreadIsBuilderThread = s->counters.calibrationThreadIsBuilderThread;
    G().deviceName = s->deviceName;
  }
  {
    std::lock_guard<std::mutex> lock(G().findingsMutex);
    G().violations = s->violations;
    G().hazards = s->hazards;
  }
  SetStreamDelayMs(s->delay);
}
void SetQuiet(bool quiet) { G().quiet = quiet; }

// ---- small shared helpers ----
int64_t Volume(const Dims& dims) {
  int64_t v = 1;
  for (int64_t d : dims) {
    if (d < 0) return -1;
    v *= d;
  }
  return v;
}
size_t ElementSize(DataType type) {
  switch (type) {
    case DataType::kFLOAT: case DataType::kINT32: return 4;
    case DataType::kHALF: case DataType::kBF16: return 2;
    case DataType::kINT64: return 8;
    default: return 1;
  }
}
std::string DimsText(const Dims& dims) {
  std::string s = "[";
  for (size_t i = 0; i < dims.size(); ++i) s += (i ? "," : "") + std::to_string(dims[i]);
  return s + "]";
}
std::string TypeName(DataType type) {
  static const char* names[] = {"kFLOAT", "kHALF", "kINT8", "kINT32", "kBOOL", "kUINT8", "kFP8", "kBF16", "kINT64", "kINT4", "kFP4"};
  int i = static_cast<int>(type);
  return i >= 0 && i <= 10 ? names[i] : "DataType(" + std::to_string(i) + ")";
}
int ProfileDesc::Find(const std::string& name) const {
  for (size_t i = 0; i < names.size(); ++i)
    if (names[i] == name) return static_cast<int>(i);
  return -1;
}

namespace {
class SimApi : public Api {
 public:
  Capabilities Caps() override { return Current().caps; }
  Version Loaded() override { return Current().version; }
  void SetLogListener(LogListener* listener) override {
    std::lock_guard<std::mutex> lock(G().loggerMutex);
    G().logger = listener;
  }
  std::unique_ptr<Builder> CreateBuilder() override {
    CheckNotJsThread("createInferBuilder");
    if (FaultSet(&Faults::noBuilder)) {
      Log(Severity::kERROR, "createInferBuilder: simulated: TensorRT could not initialise (CUDA initialization failure)");
      return nullptr;
    }
    return MakeBuilder();
  }
  std::unique_ptr<Runtime> CreateRuntime() override {
    CheckNotJsThread("createInferRuntime");
    if (FaultSet(&Faults::noRuntime)) {
      Log(Severity::kERROR, "createInferRuntime: simulated: TensorRT could not initialise (CUDA initialization failure)");
      return nullptr;
    }
    return MakeRuntime();
  }
  Cuda& cuda() override { return SimCuda(); }
};
}  // namespace

}  // namespace sim

Api& TheApi() {
  static sim::SimApi* api = new sim::SimApi();
  return *api;
}

}  // namespace trt
}  // namespace trtn
