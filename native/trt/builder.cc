// trtBuild(options) -> { promise, cancel }: ONNX -> serialized TensorRT plan on the job's own thread.
// TypeScript validates everything and decides the precision plan (lib/backends/tensorrt/precision.ts); this file
// copies that plan into a plain struct on the JS thread and follows it on the builder thread.
#include <algorithm>
#include <map>
#include <set>

#include "../bridge/batch_source.h"
#include "calibrator.h"
#include "trt_common.h"

#if defined(__GNUC__)
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
#endif

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
  bool hasTimingCache = false;
  std::vector<uint8_t> timingCache;
  // INT8 implicit calibration (8.6 / 10.x)
  std::string calibAlgorithm;  // '' when not calibrating
  int calibBatchSize = 1;
  std::vector<uint8_t> calibCache;
};

struct BuildResult {
  std::vector<uint8_t> plan;
  std::vector<uint8_t> timingCache;
  std::vector<uint8_t> calibrationCache;
  int calibrationBatches = 0;
  std::vector<std::string> notes;
};

#if TRTN_TRT_HAS_PROGRESS_MONITOR
// Progress to JS (non-blocking posts) and cancellation: stepComplete returning false stops the build.
class ProgressMonitor : public nvinfer1::IProgressMonitor {
 public:
  ProgressMonitor(const JobContext* context, std::shared_ptr<JsRef> callback) : context_(context), callback_(std::move(callback)) {}
  void phaseStart(char const* phaseName, char const* parentPhase, int32_t nbSteps) noexcept override {
    std::lock_guard<std::mutex> lock(mutex_);
    steps_[phaseName] = nbSteps;
    Report(phaseName, 0, nbSteps);
  }
  bool stepComplete(char const* phaseName, int32_t step) noexcept override {
    int32_t steps = 0;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      steps = steps_[phaseName];
    }
    Report(phaseName, step + 1, steps);
    return !context_->Cancelled();
  }
  void phaseFinish(char const* phaseName) noexcept override {}

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
  std::mutex mutex_;
  std::map<std::string, int32_t> steps_;
};
#endif

JobError ParserErrors(nvonnxparser::IParser& parser, const std::string& source, const std::string& logged) {
  JobError error("ERR_ONNX_PARSE", "");
  std::string text;
  const int count = parser.getNbErrors();
  for (int i = 0; i < count && i < 16; ++i) {
    const nvonnxparser::IParserError* e = parser.getError(i);
    std::string where = "node " + std::to_string(e->node());
#if NV_TENSORRT_MAJOR >= 10
    std::string nodeName = e->nodeName() ? e->nodeName() : "";
    std::string op = e->nodeOperator() ? e->nodeOperator() : "";
    if (!nodeName.empty()) where += " '" + nodeName + "'";
    if (!op.empty()) where += " (" + op + ")";
    if (i == 0 && !nodeName.empty()) error.details.emplace_back("node", nodeName);
    if (i == 0 && !op.empty()) error.details.emplace_back("op", op);
#endif
    if (i == 0) error.details.emplace_back("nodeIndex", std::to_string(e->node()));
    text += (text.empty() ? "" : "; ") + where + ": " + e->desc();
  }
  if (text.empty()) text = logged.empty() ? "the parser gave no reason" : logged;
  error.message = "TensorRT's ONNX parser rejected " + source + ": " + text;
  if (!source.empty()) error.details.emplace_back("file", source);
  return error;
}

JobOutcome RunBuild(JobContext& context, BuildPlan& plan, LogSink& sink, std::shared_ptr<BatchSource> calibSource,
                    std::shared_ptr<JsRef> progress) {
  ScopedLogSink scoped(&sink);
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

  TrtPtr<nvinfer1::IBuilder> builder(nvinfer1::createInferBuilder(Logger()));
  if (!builder) return fail({"ERR_NO_TENSORRT", withLog("createInferBuilder returned null: TensorRT could not initialise"), {}});
  uint32_t networkFlags = 0;
#if TRTN_TRT_NEEDS_EXPLICIT_BATCH_FLAG
  networkFlags |= 1U << static_cast<uint32_t>(nvinfer1::NetworkDefinitionCreationFlag::kEXPLICIT_BATCH);
#endif
#if TRTN_TRT_HAS_STRONGLY_TYPED_FLAG
  if (plan.stronglyTyped) networkFlags |= 1U << static_cast<uint32_t>(nvinfer1::NetworkDefinitionCreationFlag::kSTRONGLY_TYPED);
#endif
  TrtPtr<nvinfer1::INetworkDefinition> network(builder->createNetworkV2(networkFlags));
  if (!network) return fail({"ERR_TENSORRT", withLog("createNetworkV2 failed"), {}});
  TrtPtr<nvonnxparser::IParser> parser(nvonnxparser::createParser(*network, Logger()));
  if (!parser) return fail({"ERR_NO_TENSORRT", withLog("nvonnxparser::createParser returned null: the ONNX parser library could not initialise"), {}});

  const std::string source = plan.onnxPath.empty() ? "the ONNX bytes" : "'" + plan.onnxPath + "'";
  bool parsed = plan.onnxPath.empty()
                    ? parser->parse(plan.onnxBytes.data(), plan.onnxBytes.size())
                    : parser->parseFromFile(plan.onnxPath.c_str(), static_cast<int>(nvinfer1::ILogger::Severity::kWARNING));
  if (!parsed) return fail(ParserErrors(*parser, plan.onnxPath.empty() ? "" : plan.onnxPath, sink.Errors()));
  if (context.Cancelled()) return fail(context.CancelledError());

  TrtPtr<nvinfer1::IBuilderConfig> config(builder->createBuilderConfig());
  if (!config) return fail({"ERR_TENSORRT", withLog("createBuilderConfig failed"), {}});
  if (plan.workspaceBytes > 0) config->setMemoryPoolLimit(nvinfer1::MemoryPoolType::kWORKSPACE, plan.workspaceBytes);
  // Precision: exactly the flags of the plan TypeScript computed; TF32 is on by default, so clear it unless asked.
  if (plan.flags.count("tf32")) config->setFlag(nvinfer1::BuilderFlag::kTF32);
  else config->clearFlag(nvinfer1::BuilderFlag::kTF32);
#if TRTN_TRT_IMPLICIT_PRECISION
  if (plan.flags.count("fp16")) config->setFlag(nvinfer1::BuilderFlag::kFP16);
  if (plan.flags.count("int8")) config->setFlag(nvinfer1::BuilderFlag::kINT8);
#else
  if (plan.flags.count("fp16") || plan.flags.count("int8")) {
    return fail({"ERR_UNSUPPORTED", "TensorRT " + std::to_string(NV_TENSORRT_MAJOR) + " has no FP16/INT8 builder flags; use the explicit path (strongly typed network from an FP16 or Q/DQ ONNX model)", {}});
  }
#endif
  config->setProfilingVerbosity(nvinfer1::ProfilingVerbosity::kDETAILED);
  if (plan.optimizationLevel >= 0) config->setBuilderOptimizationLevel(plan.optimizationLevel);

  // Optimization profile: user shapes, else 1 / maxBatch / maxBatch for a dynamic leading dimension.
  nvinfer1::IOptimizationProfile* profile = builder->createOptimizationProfile();
  nvinfer1::IOptimizationProfile* calibProfile = plan.calibAlgorithm.empty() ? nullptr : builder->createOptimizationProfile();
  bool dynamic = false;
  std::set<std::string> inputNames;
  std::vector<BatchTarget> calibTargets;
  for (int i = 0; i < network->getNbInputs(); ++i) {
    nvinfer1::ITensor* input = network->getInput(i);
    const std::string name = input->getName();
    inputNames.insert(name);
    std::vector<int64_t> dims = DimsToVector(input->getDimensions());
    ProfileRange range;
    auto given = plan.shapes.find(name);
    if (given != plan.shapes.end()) {
      if (given->second.min.size() != dims.size()) {
        return fail({"ERR_SHAPE", "shapes." + name + " has rank " + std::to_string(given->second.min.size()) + " but input '" + name + "' has rank " + std::to_string(dims.size()) + " " + DimsToString(input->getDimensions()), {{"tensor", name}}});
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
          return fail({"ERR_SHAPE", "input '" + name + "' has dynamic dimension " + std::to_string(d) + " " + DimsToString(input->getDimensions()) + "; give shapes: { '" + name + "': { min, opt, max } }", {{"tensor", name}}});
        }
        range.min[0] = 1;
        range.opt[0] = plan.maxBatch;
        range.max[0] = plan.maxBatch;
      }
    }
    const bool inputDynamic = std::any_of(dims.begin(), dims.end(), [](int64_t v) { return v < 0; });
    if (inputDynamic) {
      dynamic = true;
      profile->setDimensions(name.c_str(), nvinfer1::OptProfileSelector::kMIN, VectorToDims(range.min));
      profile->setDimensions(name.c_str(), nvinfer1::OptProfileSelector::kOPT, VectorToDims(range.opt));
      profile->setDimensions(name.c_str(), nvinfer1::OptProfileSelector::kMAX, VectorToDims(range.max));
    }
    if (calibProfile != nullptr) {
      std::vector<int64_t> calibDims = range.opt;
      if (!calibDims.empty() && dims[0] < 0) calibDims[0] = plan.calibBatchSize;
      if (inputDynamic) {
        for (auto selector : {nvinfer1::OptProfileSelector::kMIN, nvinfer1::OptProfileSelector::kOPT, nvinfer1::OptProfileSelector::kMAX}) {
          calibProfile->setDimensions(name.c_str(), selector, VectorToDims(calibDims));
        }
      }
      size_t count = 1;
      for (int64_t v : calibDims) count *= static_cast<size_t>(v);
      BatchTarget target;
      target.name = name;
      target.dtype = DtypeName(input->getType());
      target.bytes = count * DtypeSize(input->getType());
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
  if (dynamic && config->addOptimizationProfile(profile) < 0) {
    return fail({"ERR_SHAPE", withLog("TensorRT rejected the optimization profile"), {}});
  }

#if TRTN_TRT_IMPLICIT_PRECISION
  std::unique_ptr<CalibrationFeed> feed;
  std::unique_ptr<nvinfer1::IInt8Calibrator> calibrator;
  if (!plan.calibAlgorithm.empty()) {
    if (!calibSource && plan.calibCache.empty()) return fail({"ERR_INVALID_ARG", "INT8 calibration needs calib.data or calib.cache", {}});
    feed.reset(new CalibrationFeed(calibSource, &context, calibTargets, plan.calibBatchSize, plan.calibCache));
    if (plan.calibAlgorithm == "minmax") calibrator.reset(new MinMaxCalibrator(feed.get()));
    else if (plan.calibAlgorithm == "legacy-entropy") calibrator.reset(new LegacyEntropyCalibrator(feed.get()));
    else calibrator.reset(new EntropyCalibrator(feed.get()));
    config->setInt8Calibrator(calibrator.get());
    if (dynamic && !config->setCalibrationProfile(calibProfile)) {
      return fail({"ERR_SHAPE", withLog("TensorRT rejected the calibration profile"), {}});
    }
  }
#else
  if (!plan.calibAlgorithm.empty()) {
    return fail({"ERR_UNSUPPORTED", "TensorRT " + std::to_string(NV_TENSORRT_MAJOR) + " has no INT8 calibrators; INT8 goes through the explicit Q/DQ path", {}});
  }
#endif

#if TRTN_TRT_HAS_PROGRESS_MONITOR
  ProgressMonitor monitor(&context, progress);
  config->setProgressMonitor(&monitor);
#endif

  TrtPtr<nvinfer1::ITimingCache> timingCache(config->createTimingCache(plan.timingCache.empty() ? nullptr : plan.timingCache.data(), plan.timingCache.size()));
  if (plan.hasTimingCache) {
    if (!timingCache) return fail({"ERR_TENSORRT", withLog("the timing cache could not be created or read"), {}});
    config->setTimingCache(*timingCache, false);
  }
  if (context.Cancelled()) return fail(context.CancelledError());

  TrtPtr<nvinfer1::IHostMemory> serialized(builder->buildSerializedNetwork(*network, *config));
#if TRTN_TRT_IMPLICIT_PRECISION
  if (feed && !feed->Error().ok()) return fail(feed->Error());  // the loader's error, not TensorRT's consequence
#endif
  if (context.Cancelled()) return fail(context.CancelledError());
  if (!serialized || serialized->size() == 0) return fail({"ERR_BUILD", withLog("TensorRT could not build an engine from " + source), {}});

  auto result = std::make_shared<BuildResult>();
  const uint8_t* planBytes = static_cast<const uint8_t*>(serialized->data());
  result->plan.assign(planBytes, planBytes + serialized->size());
  if (plan.hasTimingCache) {
    const nvinfer1::ITimingCache* used = config->getTimingCache();
    TrtPtr<nvinfer1::IHostMemory> cacheBytes(used ? used->serialize() : nullptr);
    if (cacheBytes) {
      const uint8_t* bytes = static_cast<const uint8_t*>(cacheBytes->data());
      result->timingCache.assign(bytes, bytes + cacheBytes->size());
    }
  }
#if TRTN_TRT_IMPLICIT_PRECISION
  if (feed) {
    result->calibrationCache = feed->CacheOut();
    result->calibrationBatches = calibSource ? calibSource->Delivered() : 0;
  }
#endif
  outcome.value = [result](Napi::Env env) -> Napi::Value {
    Napi::Object out = Napi::Object::New(env);
    out.Set("plan", BytesToBuffer(env, result->plan.data(), result->plan.size()));
    out.Set("timingCache", result->timingCache.empty() ? env.Null() : BytesToBuffer(env, result->timingCache.data(), result->timingCache.size()));
    out.Set("calibrationCache", result->calibrationCache.empty() ? env.Null() : BytesToBuffer(env, result->calibrationCache.data(), result->calibrationCache.size()));
    out.Set("calibrationBatches", result->calibrationBatches);
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
  Napi::Value timing = o.Get("timingCache");
  if (!timing.IsUndefined()) {
    plan.hasTimingCache = true;
    plan.timingCache = ReadBytes(timing);  // empty bytes or null: start a new cache
  }
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
