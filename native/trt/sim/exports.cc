// JS functions of the test addon that drive the simulator: trtSimConfigure, trtSimReset, trtSimViolations,
// trtSimHazards, trtSimStats, trtSimSelfTest. The only simulator file that includes napi.h.
#include <napi.h>

#include <algorithm>

#include "trt/sim/sim.h"

namespace trtn {
namespace trt {
namespace sim {
namespace {

[[noreturn]] void TypeError(Napi::Env env, const std::string& message) {
  throw Napi::TypeError::New(env, "trtSimConfigure: " + message);
}

void CheckKeys(Napi::Env env, Napi::Object o, const std::vector<std::string>& known, const std::string& where) {
  Napi::Array keys = o.GetPropertyNames();
  for (uint32_t i = 0; i < keys.Length(); ++i) {
    std::string k = keys.Get(i).As<Napi::String>().Utf8Value();
    if (std::find(known.begin(), known.end(), k) == known.end()) TypeError(env, "unknown option " + where + k);
  }
}

bool Bool(Napi::Env env, Napi::Object o, const char* key) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined()) return false;
  if (!v.IsBoolean()) TypeError(env, std::string("faults.") + key + " must be a boolean");
  return v.As<Napi::Boolean>().Value();
}
double Number(Napi::Env env, Napi::Object o, const char* key, double fallback, double min, const std::string& where) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined()) return fallback;
  if (!v.IsNumber() || v.As<Napi::Number>().DoubleValue() < min)
    TypeError(env, where + key + " must be a number >= " + std::to_string(static_cast<int64_t>(min)));
  return v.As<Napi::Number>().DoubleValue();
}

Napi::Value JsConfigure(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject()) TypeError(env, "expects an options object");
  Napi::Object o = info[0].As<Napi::Object>();
  CheckKeys(env, o, {"version", "streamDelayMs", "deviceMemoryBytes", "deviceName", "faults"}, "");
  Options options;
  for (const char* key : {"version", "deviceName"}) {
    Napi::Value v = o.Get(key);
    if (v.IsUndefined()) continue;
    if (!v.IsString()) TypeError(env, std::string(key) + " must be a string");
    (std::string(key) == "version" ? options.version : options.deviceName) = v.As<Napi::String>().Utf8Value();
  }
  options.streamDelayMs = Number(env, o, "streamDelayMs", -1, 0, "");
  options.deviceMemoryBytes = static_cast<int64_t>(Number(env, o, "deviceMemoryBytes", -1, 0, ""));
  Napi::Value f = o.Get("faults");
  if (!f.IsUndefined()) {
    if (!f.IsObject()) TypeError(env, "faults must be an object");
    Napi::Object faults = f.As<Napi::Object>();
    CheckKeys(env, faults, {"parse", "build", "timingCache", "deserialize", "enqueueFalse", "contextOomAfter",
                            "stickyErrorAtEnqueue", "noBuilder", "noRuntime"}, "faults.");
    options.setFaults = true;  // the object replaces every fault: unnamed ones are off
    Faults& x = options.faults;
    x.parse = Bool(env, faults, "parse");
    x.build = Bool(env, faults, "build");
    x.timingCache = Bool(env, faults, "timingCache");
    x.deserialize = Bool(env, faults, "deserialize");
    x.noBuilder = Bool(env, faults, "noBuilder");
    x.noRuntime = Bool(env, faults, "noRuntime");
    x.enqueueFalse = static_cast<int64_t>(Number(env, faults, "enqueueFalse", 0, 0, "faults."));
    x.contextOomAfter = static_cast<int64_t>(Number(env, faults, "contextOomAfter", -1, 0, "faults."));
    x.stickyErrorAtEnqueue = static_cast<int64_t>(Number(env, faults, "stickyErrorAtEnqueue", 0, 0, "faults."));
  }
  std::string error;
  if (!sim::Configure(options, &error)) TypeError(env, error);
  return env.Undefined();
}

Napi::Array Findings(Napi::Env env, const std::vector<Finding>& findings) {
  Napi::Array a = Napi::Array::New(env, findings.size());
  for (size_t i = 0; i < findings.size(); ++i) {
    Napi::Object o = Napi::Object::New(env);
    o.Set("id", findings[i].id);
    o.Set("message", findings[i].message);
    a.Set(static_cast<uint32_t>(i), o);
  }
  return a;
}

Napi::Value JsStats(const Napi::CallbackInfo& info) {
  sim::Stats s = GetStats();
  Napi::Object o = Napi::Object::New(info.Env());
  auto n = [&](const char* key, int64_t v) { o.Set(key, Napi::Number::New(info.Env(), static_cast<double>(v))); };
  n("liveBuilders", s.liveBuilders), n("liveConfigs", s.liveConfigs), n("liveEngines", s.liveEngines);
  n("liveContexts", s.liveContexts), n("liveRuntimes", s.liveRuntimes), n("deviceBytesInUse", s.deviceBytesInUse);
  n("pinnedBytesInUse", s.pinnedBytesInUse), n("allocations", s.allocations), n("streams", s.streams);
  n("buildsStarted", s.buildsStarted), n("maxConcurrentBuilds", s.maxConcurrentBuilds);
  n("calibrationBatches", s.calibrationBatches);
  o.Set("calibrationThreadIsBuilderThread", s.calibrationThreadIsBuilderThread);
  return o;
}

Napi::Value RunSelfTest(const Napi::CallbackInfo& info) {
  std::vector<SelfTestResult> results = SelfTest();
  Napi::Array a = Napi::Array::New(info.Env(), results.size());
  for (size_t i = 0; i < results.size(); ++i) {
    Napi::Object o = Napi::Object::New(info.Env());
    o.Set("name", results[i].name);
    o.Set("passed", results[i].passed);
    o.Set("detail", results[i].detail);
    a.Set(static_cast<uint32_t>(i), o);
  }
  return a;
}

}  // namespace

void InitTrtSim(Napi::Env env, Napi::Object exports) {
  exports.Set("trtSimConfigure", Napi::Function::New(env, JsConfigure, "trtSimConfigure"));
  exports.Set("trtSimReset", Napi::Function::New(env, [](const Napi::CallbackInfo& info) {
    Reset();
    return info.Env().Undefined();
  }, "trtSimReset"));
  exports.Set("trtSimViolations", Napi::Function::New(env, [](const Napi::CallbackInfo& info) {
    return Findings(info.Env(), Violations());
  }, "trtSimViolations"));
  exports.Set("trtSimHazards", Napi::Function::New(env, [](const Napi::CallbackInfo& info) {
    return Findings(info.Env(), Hazards());
  }, "trtSimHazards"));
  exports.Set("trtSimStats", Napi::Function::New(env, JsStats, "trtSimStats"));
  exports.Set("trtSimSelfTest", Napi::Function::New(env, RunSelfTest, "trtSimSelfTest"));
}

}  // namespace sim
}  // namespace trt
}  // namespace trtn
