// trtBuild(options) -> { promise, cancel }: ONNX -> serialized TensorRT plan on the job's own thread.
// TypeScript validates everything and decides the precision plan (lib/backends/tensorrt/precision.ts); this file
// copies that plan into a plain struct on the JS thread and follows it on the builder thread, through the seam.
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <map>
#include <set>

#include "calibration_feed.h"
#include "trt_common.h"

namespace trtn {
namespace {

struct ProfileRange {
  std::vector<int64_t> min, opt, max;
};

// The baton: everything the builder thread needs, as plain data.
struct BuildPlan {
  std::string onnxPath;
  std::vector<uint8_t> onnxBytes;
  std::set<std::string> flags;  // 'fp16' | 'int8' | 'tf32'
  bool stronglyTyped = false;
  uint64_t workspaceBytes = 0;
  int optimizationLevel = -1;
  int device = 0;
  int64_t maxBatch = 64;
  std::map<std::string, ProfileRange> shapes;
  // One optimization profile per batch size (kernels chosen for each), instead of one 1 / maxBatch / maxBatch.
  std::vector<int64_t> profileBatchSizes;
  std::string timingCachePath;  // '' when no timing cache
  // INT8 implicit calibration (8.6 / 10.x)
  std::string calibAlgorithm;  // '' when not calibrating
  int calibBatchSize = 1;
  std::vector<uint8_t> calibCache;
};

struct BuildResult {
  std::vector<uint8_t> plan;
  std::vector<uint8_t> calibrationCache;
  int calibrationBatches = 0;
  int profiles = 0;
  std::vector<std::string> notes;  // warnings the caller should see (timing cache tolerated, data dropped ...)
};

// Progress to JS (non-blocking posts) and cancellation: stepComplete returning false stops the build, on a cancel
// and when the calibration feed failed (getBatch can only say "end of data").
class ProgressReporter : public trt::ProgressListener {
 public:
  ProgressReporter(const JobContext* context, std::shared_ptr<JsRef> callback, const CalibrationFeed* feed)
      : context_(context), callback_(std::move(callback)), feed_(feed) {}
  void PhaseStart(const char* phase, const char* parent, int32_t steps) override {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      steps_[phase] = steps;
    }
    Report(phase, 0, steps);
  }
  bool StepComplete(const char* phase, int32_t step) override {
    int32_t steps = 0;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      steps = steps_[phase];
    }
    Report(phase, step + 1, steps);
    return !context_->Cancelled() && !(feed_ != nullptr && feed_->Failed());
  }
  void PhaseFinish(const char* phase) override {}

 private:
  void Report(const std::string& phase, int32_t step, int32_t steps) {
    if (!callback_) return;
    auto callback = callback_;
    context_->channel->Post([callback, phase, step, steps](Napi::Env env) {
      Napi::Value fn = callback->Value(env);
      if (!fn.IsFunction()) return;
      Napi::Object p = Napi::Object::New(env);
      p.Set("phase", phase);
      p.Set("step", step);
      p.Set("steps", steps);
      SafeCall(env, fn, env.Undefined(), {p}, nullptr, nullptr);
    });
  }
  const JobContext* context_;
  std::shared_ptr<JsRef> callback_;
  const CalibrationFeed* feed_;
  std::mutex mutex_;
  std::map<std::string, int32_t> steps_;
};

JobError ParserErrors(trt::Parser& parser, const std::string& source, const std::string& logged) {
  JobError error("ERR_ONNX_PARSE", "");
  std::string text;
  std::vector<trt::ParserError> errors = parser.Errors();
  for (size_t i = 0; i < errors.size() && i < 16; ++i) {
    const trt::ParserError& e = errors[i];
    std::string where = "node " + std::to_string(e.node);
    if (!e.nodeName.empty()) where += " '" + e.nodeName + "'";
    if (!e.op.empty()) where += " (" + e.op + ")";
    if (i == 0 && !e.nodeName.empty()) error.details.emplace_back("node", e.nodeName);
    if (i == 0 && !e.op.empty()) error.details.emplace_back("op", e.op);
    if (i == 0) error.details.emplace_back("nodeIndex", std::to_string(e.node));
    text += (text.empty() ? "" : "; ") + where + ": " + e.desc;
  }
  if (text.empty()) text = logged.empty() ? "the parser gave no reason" : logged;
  error.message = "TensorRT's ONNX parser rejected " + (source.empty() ? std::string("the ONNX bytes") : "'" + source + "'") + ": " + text;
  if (!source.empty()) error.details.emplace_back("file", source);
  return error;
}

// One build per device at a time: concurrent builds time their tactics against each other and pick worse kernels.
std::mutex& DeviceBuildMutex(int device) {
  static std::mutex guard;
  static auto* mutexes = new std::map<int, std::unique_ptr<std::mutex>>();
  std::lock_guard<std::mutex> lock(guard);
  auto& m = (*mutexes)[device];
  if (!m) m = std::make_unique<std::mutex>();
  return *m;
}

std::vector<uint8_t> ReadFileBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return {};
  return std::vector<uint8_t>((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// The timing cache file as NVIDIA's cacheUtils keeps it: under an exclusive lock, re-read what other builds wrote
// since we read it, combine it into ours, and replace the file atomically. Never fails the build: returns a note.
std::string WriteTimingCache(trt::BuilderConfig& config, const std::string& path, const std::vector<uint8_t>& ours) {
  const std::string lockPath = path + ".lock";
  int fd = ::open(lockPath.c_str(), O_CREAT | O_RDWR, 0644);
  if (fd < 0) return "timing cache not saved: cannot open lock file '" + lockPath + "'";
  if (::flock(fd, LOCK_EX) != 0) {
    ::close(fd);
    return "timing cache not saved: cannot lock '" + lockPath + "'";
  }
  std::string note;
  std::vector<uint8_t> merged = ours;
  std::vector<uint8_t> disk = ReadFileBytes(path);
  if (!disk.empty() && disk != ours) {
    std::unique_ptr<trt::TimingCache> mine = config.CreateTimingCache(ours.data(), ours.size());
    std::unique_ptr<trt::TimingCache> theirs = config.CreateTimingCache(disk.data(), disk.size());
    if (mine && theirs && mine->Combine(*theirs, false)) {
      merged = mine->Serialize();
    } else {
      note = "the timing cache file '" + path + "' held a cache this TensorRT cannot combine (another version or device); it was replaced";
    }
  }
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(merged.data()), static_cast<std::streamsize>(merged.size()));
    if (!out) note = "timing cache not saved: cannot write '" + tmp + "'";
  }
  if (note.rfind("timing cache not saved", 0) != 0 && std::rename(tmp.c_str(), path.c_str()) != 0) {
    note = "timing cache not saved: cannot replace '" + path + "'";
    std::remove(tmp.c_str());
  }
  ::flock(fd, LOCK_UN);
  ::close(fd);
  return note;
}

JobOutcome RunBuild(JobContext& context, BuildPlan& plan, LogSink& sink, std::shared_ptr<BatchSource> calibSource,
                    std::shared_ptr<JsRef> progress) {
  TrtBusy busy(context.cancel);
  ScopedLogSink scoped(&sink, true);
  JobOutcome outcome;
  auto fail = [&](JobError error) {
    outcome.error = std::move(error);
    return outcome;
  };
  auto withLog = [&](const std::string& message) {
    std::string logged = sink.Errors();
    return logged.empty() ? message : message + ": " + logged;
  };
  if (context.Cancelled()) return fail(context.CancelledError());
  JobError device = SelectDevice(plan.device);
  if (!device.ok()) return fail(device);
  trt::Api& api = Trt();
  trt::Cuda& cuda = api.cuda();
  const trt::Capabilities caps = api.Caps();
  auto result = std::make_shared<BuildResult>();

  std::unique_lock<std::mutex> deviceTurn(DeviceBuildMutex(plan.device));
  if (context.Cancelled()) return fail(context.CancelledError());

  // Declared before the builder and the config, so destroyed after them: TensorRT only points to these, and "the
  // lifetime ... must exceed the lifetime of all TensorRT objects that use it" (NvInfer.h, setTimingCache et al.).
  struct StreamOwner {
    trt::Stream stream = nullptr;
    ~StreamOwner() {
      if (stream) Trt().cuda().StreamDestroy(stream);
    }
  } profileStream;
  std::unique_ptr<CalibrationFeed> feed;
  std::unique_ptr<ProgressReporter> reporter;
  std::unique_ptr<trt::TimingCache> timingCache;
  std::unique_ptr<trt::ProgressMonitor> monitor;
  std::unique_ptr<trt::Calibrator> calibrator;
  std::unique_ptr<trt::Builder> builder(api.CreateBuilder());
  if (!builder) return fail({"ERR_NO_TENSORRT", withLog("createInferBuilder returned null: TensorRT could not initialise"), {}});
  std::unique_ptr<trt::Network> network(builder->CreateNetwork(caps.stronglyTypedFlag && plan.stronglyTyped));
  if (!network) return fail({"ERR_TENSORRT", withLog("createNetworkV2 failed"), {}});
  std::unique_ptr<trt::Parser> parser(builder->CreateParser(*network));
  if (!parser) return fail({"ERR_NO_TENSORRT", withLog("nvonnxparser::createParser returned null: the ONNX parser library could not initialise"), {}});

  bool parsed = plan.onnxPath.empty() ? parser->Parse(plan.onnxBytes.data(), plan.onnxBytes.size()) : parser->ParseFromFile(plan.onnxPath);
  if (!parsed) return fail(ParserErrors(*parser, plan.onnxPath, sink.Errors()));
  if (context.Cancelled()) return fail(context.CancelledError());

  std::unique_ptr<trt::BuilderConfig> config(builder->CreateConfig());
  if (!config) return fail({"ERR_TENSORRT", withLog("createBuilderConfig failed"), {}});
  if (plan.workspaceBytes > 0) config->SetWorkspaceBytes(plan.workspaceBytes);
  // Precision: exactly the flags of the plan TypeScript computed; TF32 is on by default, so clear it unless asked.
  config->SetFlag(trt::BuilderFlag::kTF32, plan.flags.count("tf32") > 0);
  if (plan.flags.count("fp16") || plan.flags.count("int8")) {
    if (!caps.implicitPrecision) {
      return fail({"ERR_UNSUPPORTED", "TensorRT " + std::to_string(caps.compiled.major) + " has no FP16/INT8 builder flags; use the explicit path (strongly typed network from an FP16 or Q/DQ ONNX model)", {}});
    }
    if (plan.flags.count("fp16")) config->SetFlag(trt::BuilderFlag::kFP16, true);
    if (plan.flags.count("int8")) config->SetFlag(trt::BuilderFlag::kINT8, true);
  }
  // 8.6: without this, a second execution context cannot use profile 0 while another holds it.
  if (caps.profileSharingPreview) config->EnableProfileSharing0806();
  config->SetDetailedProfiling();
  if (plan.optimizationLevel >= 0) config->SetOptimizationLevel(plan.optimizationLevel);
  int status = cuda.StreamCreate(&profileStream.stream);
  if (status != trt::Cuda::kSuccess) return fail(CudaError(status, "creating the builder's profiling stream"));
  config->SetProfileStream(profileStream.stream);

  // Optimization profiles: user shapes; else for a dynamic leading dimension one profile 1 / maxBatch / maxBatch,
  // or one per requested batch size (min = previous size + 1, opt = max = the size), so each size gets its kernels.
  std::vector<int64_t> batchSizes = plan.profileBatchSizes;
  std::sort(batchSizes.begin(), batchSizes.end());
  batchSizes.erase(std::unique(batchSizes.begin(), batchSizes.end()), batchSizes.end());
  const size_t profileCount = batchSizes.empty() ? 1 : batchSizes.size();
  std::vector<trt::OptimizationProfile*> profiles;
  for (size_t p = 0; p < profileCount; ++p) profiles.push_back(builder->CreateOptimizationProfile());
  trt::OptimizationProfile* calibProfile = plan.calibAlgorithm.empty() ? nullptr : builder->CreateOptimizationProfile();
  bool dynamic = false;
  std::set<std::string> inputNames;
  std::vector<BatchTarget> calibTargets;
  for (int i = 0; i < network->NbInputs(); ++i) {
    const std::string name = network->InputName(i);
    const trt::DataType type = network->InputType(i);
    inputNames.insert(name);
    std::vector<int64_t> dims = network->InputDims(i);
    ProfileRange range;
    auto given = plan.shapes.find(name);
    if (given != plan.shapes.end()) {
      if (given->second.min.size() != dims.size()) {
        return fail({"ERR_SHAPE", "shapes." + name + " has rank " + std::to_string(given->second.min.size()) + " but input '" + name + "' has rank " + std::to_string(dims.size()) + " " + DimsToString(dims), {{"tensor", name}}});
      }
      for (size_t d = 0; d < dims.size(); ++d) {
        if (dims[d] >= 0 && (given->second.min[d] != dims[d] || given->second.max[d] != dims[d])) {
          return fail({"ERR_SHAPE", "shapes." + name + " sets dimension " + std::to_string(d) + " but input '" + name + "' fixes it at " + std::to_string(dims[d]), {{"tensor", name}}});
        }
      }
      range = given->second;
    } else {
      range = {dims, dims, dims};
      for (size_t d = 0; d < dims.size(); ++d) {
        if (dims[d] >= 0) continue;
        if (d != 0) {
          return fail({"ERR_SHAPE", "input '" + name + "' has dynamic dimension " + std::to_string(d) + " " + DimsToString(dims) + "; give shapes: { '" + name + "': { min, opt, max } }", {{"tensor", name}}});
        }
        range.min[0] = 1;
        range.opt[0] = plan.maxBatch;
        range.max[0] = plan.maxBatch;
      }
    }
    const bool inputDynamic = std::any_of(dims.begin(), dims.end(), [](int64_t v) { return v < 0; });
    if (inputDynamic) {
      dynamic = true;
      for (size_t p = 0; p < profileCount; ++p) {
        ProfileRange r = range;
        if (!batchSizes.empty() && dims[0] < 0) {
          r.min[0] = p == 0 ? 1 : batchSizes[p - 1] + 1;
          r.opt[0] = r.max[0] = batchSizes[p];
        }
        bool ok = profiles[p]->SetDimensions(name, trt::ProfileSelector::kMIN, r.min) &&
                  profiles[p]->SetDimensions(name, trt::ProfileSelector::kOPT, r.opt) &&
                  profiles[p]->SetDimensions(name, trt::ProfileSelector::kMAX, r.max);
        if (!ok) return fail({"ERR_SHAPE", withLog("TensorRT rejected the profile " + DimsToString(r.min) + " / " + DimsToString(r.opt) + " / " + DimsToString(r.max) + " for input '" + name + "'"), {{"tensor", name}}});
      }
    }
    if (calibProfile != nullptr) {
      // The calibration shape: the profile's opt with the calibration batch; TypeScript re-batches to exactly it.
      std::vector<int64_t> calibDims = range.opt;
      if (!calibDims.empty() && dims[0] < 0) calibDims[0] = plan.calibBatchSize;
      if (inputDynamic) {
        for (auto selector : {trt::ProfileSelector::kMIN, trt::ProfileSelector::kOPT, trt::ProfileSelector::kMAX}) {
          calibProfile->SetDimensions(name, selector, calibDims);
        }
      }
      BatchTarget target;
      target.name = name;
      target.dtype = CalibrationFeed::FeedDtype(type);
      target.bytes = Volume(calibDims) * CalibrationFeed::FeedElementSize(type);
      calibTargets.push_back(target);
    }
  }
  for (const auto& entry : plan.shapes) {
    if (!inputNames.count(entry.first)) {
      std::string names;
      for (const std::string& n : inputNames) names += (names.empty() ? "" : ", ") + n;
      return fail({"ERR_INVALID_ARG", "shapes names '" + entry.first + "', which is not an input of the model (inputs: " + names + ")", {{"tensor", entry.first}}});
    }
  }
  if (dynamic) {
    for (trt::OptimizationProfile* profile : profiles) {
      if (config->AddOptimizationProfile(profile) < 0) return fail({"ERR_SHAPE", withLog("TensorRT rejected the optimization profile"), {}});
    }
    result->profiles = static_cast<int>(profiles.size());
  }

  if (!plan.calibAlgorithm.empty()) {
    if (!caps.implicitPrecision) {
      return fail({"ERR_UNSUPPORTED", "TensorRT " + std::to_string(caps.compiled.major) + " has no INT8 calibrators; INT8 goes through the explicit Q/DQ path", {}});
    }
    if (!calibSource && plan.calibCache.empty()) return fail({"ERR_INVALID_ARG", "INT8 calibration needs calib.data or calib.cache", {}});
    feed.reset(new CalibrationFeed(calibSource, &context, calibTargets, plan.calibBatchSize, plan.calibCache));
    trt::CalibrationAlgorithm algorithm = plan.calibAlgorithm == "minmax" ? trt::CalibrationAlgorithm::kMINMAX
                                        : plan.calibAlgorithm == "legacy-entropy" ? trt::CalibrationAlgorithm::kLEGACY_ENTROPY
                                                                                 : trt::CalibrationAlgorithm::kENTROPY_2;
    calibrator = builder->CreateCalibrator(algorithm, feed.get());
    if (!calibrator) return fail({"ERR_TENSORRT", withLog("the INT8 calibrator could not be created"), {}});
    config->SetCalibrator(calibrator.get());
    if (dynamic && !config->SetCalibrationProfile(calibProfile)) {
      return fail({"ERR_SHAPE", withLog("TensorRT rejected the calibration profile"), {}});
    }
  }

  if (caps.progressMonitor) {
    reporter.reset(new ProgressReporter(&context, progress, feed.get()));
    monitor = builder->CreateProgressMonitor(reporter.get());
    if (monitor) config->SetProgressMonitor(monitor.get());
  }

  std::vector<uint8_t> cacheRead;
  if (!plan.timingCachePath.empty()) {
    cacheRead = ReadFileBytes(plan.timingCachePath);
    timingCache = config->CreateTimingCache(cacheRead.data(), cacheRead.size());
    if (!timingCache && !cacheRead.empty()) {
      result->notes.push_back("the timing cache '" + plan.timingCachePath + "' could not be read (corrupt or from another TensorRT); building with a new one");
      timingCache = config->CreateTimingCache(nullptr, 0);
    }
    if (timingCache && !config->SetTimingCache(*timingCache, false)) {
      // A cache from another device or version: NVIDIA's cacheUtils starts afresh rather than failing the build.
      result->notes.push_back("the timing cache '" + plan.timingCachePath + "' was made on another device or TensorRT version; building with a new one");
      timingCache = config->CreateTimingCache(nullptr, 0);
      if (timingCache && !config->SetTimingCache(*timingCache, false)) timingCache.reset();
    }
    if (!timingCache) result->notes.push_back("no timing cache could be created; building without one");
  }
  if (context.Cancelled()) return fail(context.CancelledError());

  std::vector<uint8_t> serialized;
  const bool built = builder->BuildSerializedNetwork(*network, *config, &serialized);
  if (feed && !feed->Error().ok()) return fail(feed->Error());  // the loader's error, not TensorRT's consequence
  if (context.Cancelled()) return fail(context.CancelledError());
  if (!built || serialized.empty()) {
    return fail({"ERR_BUILD", withLog("TensorRT could not build an engine from " + (plan.onnxPath.empty() ? std::string("the ONNX bytes") : "'" + plan.onnxPath + "'")), plan.onnxPath.empty() ? std::vector<std::pair<std::string, std::string>>{} : std::vector<std::pair<std::string, std::string>>{{"file", plan.onnxPath}}});
  }
  result->plan = std::move(serialized);
  if (timingCache) {
    std::string note = WriteTimingCache(*config, plan.timingCachePath, config->SerializeTimingCache());
    if (!note.empty()) result->notes.push_back(note);
  }
  if (feed) {
    result->calibrationCache = feed->CacheOut();
    result->calibrationBatches = feed->Batches();
  }
  for (const std::string& note : result->notes) sink.Log(trt::Severity::kWARNING, note.c_str());
  outcome.value = [result](Napi::Env env) -> Napi::Value {
    Napi::Object out = Napi::Object::New(env);
    out.Set("plan", VectorToBuffer(env, std::move(result->plan)));
    out.Set("calibrationCache", result->calibrationCache.empty() ? env.Null() : BytesToBuffer(env, result->calibrationCache.data(), result->calibrationCache.size()));
    out.Set("calibrationBatches", result->calibrationBatches);
    out.Set("profiles", result->profiles);
    Napi::Array notes = Napi::Array::New(env, result->notes.size());
    for (size_t i = 0; i < result->notes.size(); ++i) notes.Set(static_cast<uint32_t>(i), result->notes[i]);
    out.Set("notes", notes);
    return out;
  };
  return outcome;
}

BuildPlan ReadPlan(Napi::Env env, Napi::Object o) {
  BuildPlan plan;
  if (o.Get("onnxPath").IsString()) plan.onnxPath = o.Get("onnxPath").As<Napi::String>().Utf8Value();
  else plan.onnxBytes = ReadBytes(o.Get("onnxBytes"));
  if (plan.onnxPath.empty() && plan.onnxBytes.empty()) ThrowError(env, "ERR_INVALID_ARG", "trtBuild needs onnxPath or onnxBytes");
  Napi::Value flags = o.Get("flags");
  if (flags.IsArray()) {
    Napi::Array array = flags.As<Napi::Array>();
    for (uint32_t i = 0; i < array.Length(); ++i) plan.flags.insert(array.Get(i).As<Napi::String>().Utf8Value());
  }
  plan.stronglyTyped = o.Get("stronglyTyped").ToBoolean().Value();
  if (o.Get("workspaceBytes").IsNumber()) plan.workspaceBytes = static_cast<uint64_t>(o.Get("workspaceBytes").As<Napi::Number>().Int64Value());
  if (o.Get("optimizationLevel").IsNumber()) plan.optimizationLevel = o.Get("optimizationLevel").As<Napi::Number>().Int32Value();
  if (o.Get("device").IsNumber()) plan.device = o.Get("device").As<Napi::Number>().Int32Value();
  if (o.Get("maxBatch").IsNumber()) plan.maxBatch = o.Get("maxBatch").As<Napi::Number>().Int64Value();
  plan.profileBatchSizes = ReadIntArray(o.Get("profileBatchSizes"));
  Napi::Value shapes = o.Get("shapes");
  if (shapes.IsObject()) {
    Napi::Object s = shapes.As<Napi::Object>();
    Napi::Array names = s.GetPropertyNames();
    for (uint32_t i = 0; i < names.Length(); ++i) {
      std::string name = names.Get(i).As<Napi::String>().Utf8Value();
      Napi::Object r = s.Get(name).As<Napi::Object>();
      plan.shapes[name] = {ReadIntArray(r.Get("min")), ReadIntArray(r.Get("opt")), ReadIntArray(r.Get("max"))};
    }
  }
  if (o.Get("timingCachePath").IsString()) plan.timingCachePath = o.Get("timingCachePath").As<Napi::String>().Utf8Value();
  Napi::Value calib = o.Get("calib");
  if (calib.IsObject()) {
    Napi::Object c = calib.As<Napi::Object>();
    plan.calibAlgorithm = c.Get("algorithm").IsString() ? c.Get("algorithm").As<Napi::String>().Utf8Value() : "entropy";
    if (c.Get("batchSize").IsNumber()) plan.calibBatchSize = c.Get("batchSize").As<Napi::Number>().Int32Value();
    plan.calibCache = ReadBytes(c.Get("cache"));
  }
  return plan;
}

Napi::Value TrtBuild(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject()) ThrowError(env, "ERR_INVALID_ARG", "trtBuild(options) expects an object");
  Napi::Object options = info[0].As<Napi::Object>();
  auto plan = std::make_shared<BuildPlan>(ReadPlan(env, options));
  std::shared_ptr<BatchSource> calibSource;
  Napi::Value calib = options.Get("calib");
  if (calib.IsObject() && calib.As<Napi::Object>().Get("pull").IsFunction()) {
    calibSource = BatchSource::Create(env, calib.As<Napi::Object>().Get("pull").As<Napi::Function>());
  }
  std::shared_ptr<JsRef> progress;
  if (options.Get("onProgress").IsFunction()) progress = std::make_shared<JsRef>(env, options.Get("onProgress"));
  auto sink = std::make_shared<std::shared_ptr<LogSink>>();
  auto logger = std::make_shared<std::shared_ptr<JsRef>>();
  return StartJob(
      env, "trtn.build",
      [plan, sink, calibSource, progress, logger](JobContext& context) {
        JobOutcome outcome = RunBuild(context, *plan, **sink, calibSource, progress);
        outcome.cleanup = [calibSource, progress, logger](Napi::Env env) {
          if (calibSource) calibSource->ReleaseJs(env);
          if (progress) progress->Release(env);
          if (*logger) (*logger)->Release(env);
        };
        return outcome;
      },
      [env, options, sink, logger](JobContext& context) { *sink = MakeLogSink(env, options, context, logger.get()); });
}

}  // namespace

void InitTrtBuilder(Napi::Env env, Napi::Object exports) {
  exports.Set("trtBuild", Napi::Function::New(env, TrtBuild, "trtBuild"));
}

}  // namespace trtn
