// The simulated TensorRT builder: network, ONNX parser (a minimal protobuf wire reader), config, profiles, timing
// cache, progress monitor, INT8 calibrator and buildSerializedNetwork (on a thread of its own).
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <sstream>

#include "internal.h"

namespace trtn {
namespace trt {
namespace sim {
namespace {

const char kNvInfer[] = "NvInfer.h/";

// ---- ONNX: the few ModelProto fields the simulator needs ----------------------------------------------------
struct Wire {
  const uint8_t* p;
  const uint8_t* end;
  bool ok = true;
  bool Varint(uint64_t* v) {
    *v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (p >= end) return ok = false;
      uint8_t b = *p++;
      *v |= uint64_t(b & 0x7f) << shift;
      if (!(b & 0x80)) return true;
    }
    return ok = false;
  }
  // Next field: for wire type 2, (data, len) is the payload; for 0, value.
  bool Next(uint32_t* field, uint64_t* value, const uint8_t** data, size_t* len) {
    if (p >= end || !ok) return false;
    uint64_t key;
    if (!Varint(&key)) return false;
    *field = static_cast<uint32_t>(key >> 3);
    uint32_t type = key & 7;
    *len = 0;
    *data = nullptr;  // only length-delimited fields have a payload
    if (*field == 0) return ok = false;
    if (type == 0) return Varint(value);
    if (type == 1 || type == 5) {
      size_t n = type == 1 ? 8 : 4;
      if (size_t(end - p) < n) return ok = false;
      p += n;
      return true;
    }
    if (type == 2) {
      uint64_t n;
      if (!Varint(&n) || n > uint64_t(end - p)) return ok = false;
      *data = p;
      *len = static_cast<size_t>(n);
      p += n;
      *value = 0;
      return true;
    }
    return ok = false;  // groups (3, 4) and unknown wire types: not an ONNX model
  }
};

struct OnnxValue {
  std::string name;
  int elemType = 0;
  bool hasShape = false;
  Dims dims;
};
struct OnnxModel {
  std::vector<OnnxValue> inputs, outputs;
  std::vector<std::pair<std::string, std::string>> nodes;  // name, op_type
  std::vector<std::string> initializers;
};

std::string Str(const uint8_t* d, size_t n) { return std::string(reinterpret_cast<const char*>(d), n); }

bool ReadValueInfo(const uint8_t* d, size_t n, OnnxValue* v) {
  Wire w{d, d + n};
  uint32_t f;
  uint64_t x;
  const uint8_t* s;
  size_t len;
  while (w.Next(&f, &x, &s, &len)) {
    if (f == 1) v->name = Str(s, len);
    if (f != 2 || !len) continue;
    Wire type{s, s + len};  // TypeProto
    while (type.Next(&f, &x, &s, &len)) {
      if (f != 1 || !len) continue;
      Wire tensor{s, s + len};  // TypeProto.Tensor
      while (tensor.Next(&f, &x, &s, &len)) {
        if (f == 1) v->elemType = static_cast<int>(x);
        if (f != 2) continue;
        v->hasShape = true;
        Wire shape{s, s + len};  // TensorShapeProto
        while (shape.Next(&f, &x, &s, &len)) {
          if (f != 1) continue;
          int64_t dim = -1;  // neither dim_value nor dim_param: unknown
          Wire dw{s, s + len};
          while (dw.Next(&f, &x, &s, &len))
            if (f == 1) dim = std::max<int64_t>(static_cast<int64_t>(x), -1);  // exporters write -1 for "unknown"
          if (!dw.ok) return false;
          v->dims.push_back(dim);
        }
        if (!shape.ok) return false;
      }
      if (!tensor.ok) return false;
    }
    if (!type.ok) return false;
  }
  return w.ok;
}

bool ReadModel(const void* data, size_t size, OnnxModel* m) {
  Wire model{static_cast<const uint8_t*>(data), static_cast<const uint8_t*>(data) + size};
  uint32_t f;
  uint64_t x;
  const uint8_t* s;
  size_t len;
  bool graph = false, irVersion = false;
  while (model.Next(&f, &x, &s, &len)) {
    if (f == 1) irVersion = true;
    if (f != 7) continue;
    if (!s) return false;  // a graph that is not a message
    graph = true;
    Wire g{s, s + len};
    const uint8_t* d;
    size_t n;
    while (g.Next(&f, &x, &d, &n)) {
      Wire sub{d, d + n};
      uint32_t sf;
      uint64_t sx;
      const uint8_t* ss;
      size_t sl;
      if (f == 1) {
        std::pair<std::string, std::string> node;
        while (sub.Next(&sf, &sx, &ss, &sl)) {
          if (sf == 3) node.first = Str(ss, sl);
          if (sf == 4) node.second = Str(ss, sl);
        }
        m->nodes.push_back(node);
      } else if (f == 5) {
        std::string name;
        while (sub.Next(&sf, &sx, &ss, &sl))
          if (sf == 8) name = Str(ss, sl);
        m->initializers.push_back(name);
      } else if (f == 11 || f == 12) {
        OnnxValue v;
        if (!ReadValueInfo(d, n, &v)) return false;
        (f == 11 ? m->inputs : m->outputs).push_back(v);
      }
      if (!sub.ok) return false;
    }
    if (!g.ok) return false;
  }
  return model.ok && graph && irVersion && !m->outputs.empty();
}

bool MapElemType(int elemType, bool int64Supported, bool bf16Supported, DataType* out) {
  switch (elemType) {
    case 1: *out = DataType::kFLOAT; return true;
    case 10: *out = DataType::kHALF; return true;
    case 16: *out = DataType::kBF16; return bf16Supported;
    case 3: *out = DataType::kINT8; return true;
    case 2: *out = DataType::kUINT8; return true;
    case 6: *out = DataType::kINT32; return true;
    case 7: *out = int64Supported ? DataType::kINT64 : DataType::kINT32; return true;
    case 9: *out = DataType::kBOOL; return true;
    default: return false;
  }
}

// ---- lifetimes ------------------------------------------------------------------------------------------------
// An app-owned object a config points to: destroying it while a config references it is a violation.
struct Referenced {
  bool alive = true;  // under StateMutex
  int configs = 0;
};

struct BuilderCore {
  bool alive = true;  // under StateMutex
  int configs = 0, networks = 0;
  std::vector<std::unique_ptr<OptimizationProfile>> profiles;
};

bool BuilderAlive(const std::shared_ptr<BuilderCore>& core, const std::string& method, const char* what) {
  std::lock_guard<std::mutex> lock(StateMutex());
  if (core->alive) return true;
  std::string factory = std::string(what) == "IBuilderConfig" ? "createBuilderConfig"
                        : std::string(what) == "INetworkDefinition" ? "createNetworkV2" : "createOptimizationProfile";
  Violation(std::string(kNvInfer) + "IBuilder::" + factory + "/builder-destroyed",
            method + " used after its IBuilder was destroyed: \"Destroying this IBuilder before destroying the " +
                what + " causes undefined behavior\"");
  return false;
}

struct NetData {
  bool alive = true;  // under StateMutex
  bool stronglyTyped = false;
  std::vector<TensorDesc> inputs, outputs;
  std::vector<std::string> layerOps;
};

class NetworkImpl : public Network {
 public:
  NetworkImpl(std::shared_ptr<BuilderCore> core, bool stronglyTyped) : core_(std::move(core)), data_(std::make_shared<NetData>()) {
    data_->stronglyTyped = stronglyTyped;
    std::lock_guard<std::mutex> lock(StateMutex());
    ++core_->networks;
  }
  ~NetworkImpl() override {
    std::lock_guard<std::mutex> lock(StateMutex());
    --core_->networks;
    data_->alive = false;
  }
  int32_t NbInputs() override { return static_cast<int32_t>(data_->inputs.size()); }
  std::string InputName(int32_t i) override { return Valid(i) ? data_->inputs[i].name : ""; }
  Dims InputDims(int32_t i) override { return Valid(i) ? data_->inputs[i].dims : Dims(); }
  DataType InputType(int32_t i) override { return Valid(i) ? data_->inputs[i].type : DataType::kFLOAT; }
  std::shared_ptr<BuilderCore> core_;
  std::shared_ptr<NetData> data_;

 private:
  bool Valid(int32_t i) {
    if (i >= 0 && i < NbInputs()) return true;
    Violation(std::string(kNvInfer) + "INetworkDefinition::getInput/index",
              "getInput(" + std::to_string(i) + "): \"index must be less than getNbInputs()\"");
    return false;
  }
};

class ParserImpl : public Parser {
 public:
  explicit ParserImpl(std::shared_ptr<NetData> net) : net_(std::move(net)) {}
  bool ParseFromFile(const std::string& path) override {
    std::ifstream f(path, std::ios::binary);
    if (!f) {
      errors_ = {{-1, "", "", "failed to open file: " + path}};
      Log(Severity::kERROR, "ModelImporter: failed to open file: " + path);
      return false;
    }
    std::vector<char> bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    return Parse(bytes.data(), bytes.size());
  }
  bool Parse(const void* data, size_t size) override {
    errors_.clear();
    {
      std::lock_guard<std::mutex> lock(StateMutex());
      if (!net_->alive) {
        Violation("NvOnnxParser.h/IParser::parse/network-destroyed",
                  "IParser used after its INetworkDefinition was destroyed: \"the parser ... populates the network "
                  "definition\" it was created with, which must outlive it");
        return Fail(-1, "", "", "network destroyed");
      }
    }
    if (TakeFault(&Faults::parse)) return Fail(-1, "", "", "simulated: parser failure (fault injected)");
    OnnxModel m;
    if (!data || !ReadModel(data, size, &m)) return Fail(-1, "", "", "failed to parse the ONNX model");
    const Personality& p = Current();
    bool int64 = p.version.major >= 10;
    std::vector<TensorDesc> inputs, outputs;
    for (int pass = 0; pass < 2; ++pass) {
      for (const OnnxValue& v : pass ? m.outputs : m.inputs) {
        bool initializer = false;
        for (const auto& name : m.initializers) initializer |= name == v.name;
        if (!pass && initializer) continue;  // a weight, not a network input
        TensorDesc t;
        t.name = v.name;
        t.input = !pass;
        t.dims = v.dims;
        if (!MapElemType(v.elemType, int64, /*bf16 from 9.0*/ int64, &t.type))
          return Fail(-1, "", "", "tensor '" + v.name + "': unsupported ONNX data type " + std::to_string(v.elemType));
        if (!v.hasShape && !pass) return Fail(-1, "", "", "input '" + v.name + "' has no shape (unknown rank)");
        if (v.elemType == 7 && !int64)
          Log(Severity::kWARNING, "onnx2trt_utils: Your ONNX model has been generated with INT64 weights, while "
                                  "TensorRT does not natively support INT64. Attempting to cast down to INT32.");
        (pass ? outputs : inputs).push_back(t);
      }
    }
    for (size_t i = 0; i < m.nodes.size(); ++i)
      if (m.nodes[i].second == "TrtSimUnsupported")
        return Fail(static_cast<int64_t>(i), m.nodes[i].first, m.nodes[i].second,
                    "No importer registered for op: TrtSimUnsupported");
    if (inputs.empty()) return Fail(-1, "", "", "the model has no inputs");
    net_->inputs = inputs;
    net_->outputs = outputs;
    net_->layerOps.clear();
    for (const auto& n : m.nodes) net_->layerOps.push_back(n.second);
    return true;
  }
  std::vector<ParserError> Errors() override { return errors_; }

 private:
  bool Fail(int64_t node, const std::string& name, const std::string& op, const std::string& desc) {
    bool named = Current().version.major >= 10;  // IParserError has nodeName()/nodeOperator() from 10.0
    errors_.push_back({node, named ? name : "", named ? op : "", desc});
    Log(Severity::kERROR, "ModelImporter: " + desc + (node >= 0 ? " (node " + std::to_string(node) + ")" : ""));
    return false;
  }
  std::shared_ptr<NetData> net_;
  std::vector<ParserError> errors_;
};

class ProfileImpl : public OptimizationProfile {
 public:
  bool SetDimensions(const std::string& input, ProfileSelector selector, const Dims& dims) override {
    int s = static_cast<int>(selector);
    if (s < 0 || s > 2) return false;
    for (int64_t d : dims)
      if (d < 0) {
        Log(Severity::kERROR, "IOptimizationProfile::setDimensions: " + input + ": dimensions must be >= 0, got " +
                                  DimsText(dims));
        return false;
      }
    std::lock_guard<std::mutex> lock(mutex_);
    int i = desc_.Find(input);
    if (i < 0) {
      desc_.names.push_back(input);
      desc_.min.emplace_back();
      desc_.opt.emplace_back();
      desc_.max.emplace_back();
      set_.push_back(0);
      i = static_cast<int>(desc_.names.size()) - 1;
    }
    for (const Dims* other : {&desc_.min[i], &desc_.opt[i], &desc_.max[i]})
      if (!other->empty() && other->size() != dims.size()) {
        Log(Severity::kERROR, "IOptimizationProfile::setDimensions: " + input + ": rank differs from the other selectors");
        return false;
      }
    (s == 0 ? desc_.min : s == 1 ? desc_.opt : desc_.max)[i] = dims;
    set_[i] |= 1 << s;
    return true;
  }
  // isValid(): every named input has min, opt and max with min <= opt <= max.
  bool Valid(std::string* why) {
    std::lock_guard<std::mutex> lock(mutex_);
    for (size_t i = 0; i < desc_.names.size(); ++i) {
      if (set_[i] != 7) return *why = "'" + desc_.names[i] + "' lacks min, opt or max", false;
      for (size_t d = 0; d < desc_.min[i].size(); ++d)
        if (desc_.min[i][d] > desc_.opt[i][d] || desc_.opt[i][d] > desc_.max[i][d])
          return *why = "'" + desc_.names[i] + "': min <= opt <= max does not hold", false;
    }
    return true;
  }
  ProfileDesc Desc() {
    std::lock_guard<std::mutex> lock(mutex_);
    return desc_;
  }

 private:
  std::mutex mutex_;
  ProfileDesc desc_;
  std::vector<int> set_;
};

class ProgressMonitorImpl : public ProgressMonitor {
 public:
  explicit ProgressMonitorImpl(ProgressListener* l) : listener(l), life(std::make_shared<Referenced>()) {}
  ~ProgressMonitorImpl() override {
    std::lock_guard<std::mutex> lock(StateMutex());
    life->alive = false;
    if (life->configs > 0)
      Violation(std::string(kNvInfer) + "IProgressMonitor/lifetime",
                "IProgressMonitor destroyed while a live IBuilderConfig references it: \"The lifetime of the "
                "IProgressMonitor must exceed the lifetime of all TensorRT objects that use it.\"");
  }
  ProgressListener* listener;
  std::shared_ptr<Referenced> life;
};

class CalibratorImpl : public Calibrator {
 public:
  CalibratorImpl(CalibrationAlgorithm a, CalibrationListener* l) : algorithm(a), listener(l), life(std::make_shared<Referenced>()) {}
  ~CalibratorImpl() override {
    std::lock_guard<std::mutex> lock(StateMutex());
    life->alive = false;
    if (life->configs > 0)
      Violation(std::string(kNvInfer) + "IBuilderConfig::setInt8Calibrator/lifetime",
                "IInt8Calibrator destroyed while a live IBuilderConfig references it: the config keeps only the "
                "pointer and calls it during buildSerializedNetwork");
  }
  CalibrationAlgorithm algorithm;
  CalibrationListener* listener;
  std::shared_ptr<Referenced> life;
};

// ---- timing cache: "TRTSIM-TIMING-CACHE\nversion <n>\ndevice <name>\nentries <k>\n<key>\t<value>\n..." ----------
struct CacheData {
  std::mutex mutex;
  int32_t version = 0;
  std::string device;
  std::map<std::string, std::string> entries;
  std::shared_ptr<Referenced> life = std::make_shared<Referenced>();
  Bytes Serialize() {
    std::lock_guard<std::mutex> lock(mutex);
    std::string s = "TRTSIM-TIMING-CACHE\nversion " + std::to_string(version) + "\ndevice " + device + "\nentries " +
                    std::to_string(entries.size()) + "\n";
    for (const auto& e : entries) s += e.first + "\t" + e.second + "\n";
    return Bytes(s.begin(), s.end());
  }
  bool Parse(const void* data, size_t size) {
    std::istringstream in(std::string(static_cast<const char*>(data), size));
    std::string line, word;
    size_t count = 0;
    if (!std::getline(in, line) || line != "TRTSIM-TIMING-CACHE") return false;
    if (!std::getline(in, line) || std::sscanf(line.c_str(), "version %d", &version) != 1) return false;
    if (!std::getline(in, line) || line.compare(0, 7, "device ") != 0) return false;
    device = line.substr(7);
    if (!std::getline(in, line) || std::sscanf(line.c_str(), "entries %zu", &count) != 1) return false;
    for (size_t i = 0; i < count; ++i) {
      size_t tab;
      if (!std::getline(in, line) || (tab = line.find('\t')) == std::string::npos) return false;
      entries[line.substr(0, tab)] = line.substr(tab + 1);
    }
    return in.peek() == EOF;
  }
};

class TimingCacheImpl : public TimingCache {
 public:
  explicit TimingCacheImpl(std::shared_ptr<CacheData> d) : data(std::move(d)) {}
  ~TimingCacheImpl() override {
    std::lock_guard<std::mutex> lock(StateMutex());
    data->life->alive = false;
    if (data->life->configs > 0)
      Violation(std::string(kNvInfer) + "IBuilderConfig::setTimingCache/lifetime",
                "ITimingCache destroyed while a live IBuilderConfig uses it: \"The lifetime of the ITimingCache must "
                "exceed the lifetime of all builders that use it.\"");
  }
  Bytes Serialize() override { return data->Serialize(); }
  bool Combine(TimingCache& other, bool ignoreMismatch) override {
    auto* o = dynamic_cast<TimingCacheImpl*>(&other);
    if (!o) return false;
    int32_t v;
    std::string device;
    std::map<std::string, std::string> entries;
    {
      std::lock_guard<std::mutex> lock(o->data->mutex);
      v = o->data->version, device = o->data->device, entries = o->data->entries;
    }
    std::lock_guard<std::mutex> lock(data->mutex);
    if (v != data->version) {
      Log(Severity::kWARNING, "ITimingCache::combine: the input cache was generated by TensorRT " + std::to_string(v) +
                                  ", this is " + std::to_string(data->version) +
                                  ": \"The input cache must be generated by a TensorRT build of exact same version\"");
      return false;
    }
    if (device != data->device && !ignoreMismatch) {
      Log(Severity::kWARNING, "ITimingCache::combine: the input cache comes from device '" + device +
                                  "', this cache from '" + data->device + "' (ignoreMismatch is false)");
      return false;
    }
    for (const auto& e : entries) data->entries.insert(e);  // conflicting entries are skipped
    return true;
  }
  std::shared_ptr<CacheData> data;
};

// ---- builder config -----------------------------------------------------------------------------------------
class ConfigImpl : public BuilderConfig {
 public:
  explicit ConfigImpl(std::shared_ptr<BuilderCore> core) : core(std::move(core)) {
    std::lock_guard<std::mutex> lock(StateMutex());
    ++this->core->configs;
    ++Count().liveConfigs;
  }
  ~ConfigImpl() override {
    std::lock_guard<std::mutex> lock(StateMutex());
    --core->configs;
    --Count().liveConfigs;
    for (auto* r : {monitorLife.get(), calibratorLife.get(), cache ? cache->life.get() : nullptr})
      if (r) --r->configs;
  }
  void SetWorkspaceBytes(uint64_t bytes) override { Use("setMemoryPoolLimit"), workspace = bytes; }
  bool SetFlag(BuilderFlag flag, bool on) override {
    Use("setFlag");
    if ((flag == BuilderFlag::kFP16 || flag == BuilderFlag::kINT8) && !Current().caps.implicitPrecision) {
      Violation(std::string(kNvInfer) + "IBuilderConfig::setFlag/implicit-precision",
                std::string("BuilderFlag::") + (flag == BuilderFlag::kFP16 ? "kFP16" : "kINT8") +
                    ": flag does not exist in TensorRT 11 (weak typing was removed; use a strongly typed network "
                    "with explicit Q/DQ or casts)");
      return false;
    }
    (flag == BuilderFlag::kFP16 ? fp16 : flag == BuilderFlag::kINT8 ? int8 : tf32) = on;
    return true;
  }
  void SetDetailedProfiling() override { Use("setProfilingVerbosity"); }
  void SetOptimizationLevel(int32_t level) override {
    Use("setBuilderOptimizationLevel");
    if (level < 0 || level > 5) Log(Severity::kERROR, "setBuilderOptimizationLevel: level must be in [0, 5]");
  }
  void EnableProfileSharing0806() override {
    Use("setPreviewFeature");
    const Personality& p = Current();
    if (p.version.major >= 11)
      Violation(std::string(kNvInfer) + "IBuilderConfig::setPreviewFeature/kPROFILE_SHARING_0806",
                "PreviewFeature::kPROFILE_SHARING_0806 does not exist in TensorRT 11");
    else if (p.version.major == 10)
      Log(Severity::kWARNING, "PreviewFeature::kPROFILE_SHARING_0806 is deprecated: profile sharing is always on");
    else
      sharing = true;
  }
  void SetProfileStream(Stream) override { Use("setProfileStream"); }
  int32_t AddOptimizationProfile(OptimizationProfile* profile) override {
    if (!Use("addOptimizationProfile")) return -1;  // the profile died with its builder
    auto* p = dynamic_cast<ProfileImpl*>(profile);
    std::string why = "null profile";
    if (!p || !p->Valid(&why)) {
      Log(Severity::kERROR, "IBuilderConfig::addOptimizationProfile: invalid profile: " + why);
      return -1;
    }
    profiles.push_back(p->Desc());  // TensorRT validates and takes the dimensions at this call
    return static_cast<int32_t>(profiles.size()) - 1;
  }
  bool SetCalibrationProfile(OptimizationProfile* profile) override {
    if (!Use("setCalibrationProfile")) return false;
    if (!ImplicitOnly("setCalibrationProfile")) return false;
    auto* p = dynamic_cast<ProfileImpl*>(profile);
    std::string why = "null";
    if (!p || !p->Valid(&why)) return Log(Severity::kERROR, "setCalibrationProfile: invalid profile: " + why), false;
    calibrationProfile = p->Desc();
    hasCalibrationProfile = true;
    return true;
  }
  void SetCalibrator(Calibrator* calibrator) override {
    Use("setInt8Calibrator");
    if (!ImplicitOnly("setInt8Calibrator")) return;
    auto* c = dynamic_cast<CalibratorImpl*>(calibrator);
    std::lock_guard<std::mutex> lock(StateMutex());
    if (calibratorLife) --calibratorLife->configs;
    calibratorLife = c ? c->life : nullptr;
    this->calibrator = c;
    if (c) ++c->life->configs;
  }
  void SetProgressMonitor(ProgressMonitor* monitor) override {
    Use("setProgressMonitor");
    auto* m = dynamic_cast<ProgressMonitorImpl*>(monitor);
    std::lock_guard<std::mutex> lock(StateMutex());
    if (monitorLife) --monitorLife->configs;
    monitorLife = m ? m->life : nullptr;
    listener = m ? m->listener : nullptr;
    if (m) ++m->life->configs;
  }
  std::unique_ptr<TimingCache> CreateTimingCache(const void* data, size_t size) override {
    Use("createTimingCache");
    if (TakeFault(&Faults::timingCache)) {
      Log(Severity::kERROR, "IBuilderConfig::createTimingCache: simulated failure (fault injected)");
      return nullptr;
    }
    auto d = std::make_shared<CacheData>();
    d->version = Current().number;
    d->device = DeviceName();
    if (size > 0 && (!data || !d->Parse(data, size))) {
      Log(Severity::kERROR, "IBuilderConfig::createTimingCache: the timing cache blob is corrupted or not a timing "
                            "cache (" + std::to_string(size) + " bytes)");
      return nullptr;
    }
    return std::unique_ptr<TimingCache>(new TimingCacheImpl(d));
  }
  bool SetTimingCache(TimingCache& timingCache, bool ignoreMismatch) override {
    Use("setTimingCache");
    auto* t = dynamic_cast<TimingCacheImpl*>(&timingCache);
    if (!t) return false;
    int32_t v;
    std::string device;
    {
      std::lock_guard<std::mutex> lock(t->data->mutex);
      v = t->data->version, device = t->data->device;
    }
    if ((v != Current().number || device != DeviceName()) && !ignoreMismatch) {
      Log(Severity::kERROR, "IBuilderConfig::setTimingCache: the cache's verification header (TensorRT " +
                                std::to_string(v) + ", device '" + device + "') does not match this environment "
                                "(TensorRT " + std::to_string(Current().number) + ", device '" + DeviceName() + "')");
      return false;
    }
    std::lock_guard<std::mutex> lock(StateMutex());
    if (cache) --cache->life->configs;
    cache = t->data;
    ++cache->life->configs;
    return true;
  }
  Bytes SerializeTimingCache() override {
    Use("getTimingCache");
    return cache ? cache->Serialize() : Bytes();
  }

  bool Use(const char* method) { return BuilderAlive(core, std::string("IBuilderConfig::") + method, "IBuilderConfig"); }
  bool ImplicitOnly(const char* method) {
    if (Current().caps.implicitPrecision) return true;
    Violation(std::string(kNvInfer) + "IBuilderConfig::" + method + "/implicit-precision",
              std::string(method) + ": IInt8Calibrator does not exist in TensorRT 11 (implicit quantization was removed)");
    return false;
  }

  std::shared_ptr<BuilderCore> core;
  uint64_t workspace = 0;
  bool fp16 = false, int8 = false, tf32 = false, sharing = false, hasCalibrationProfile = false;
  std::vector<ProfileDesc> profiles;
  ProfileDesc calibrationProfile;
  CalibratorImpl* calibrator = nullptr;
  std::shared_ptr<Referenced> calibratorLife, monitorLife;
  ProgressListener* listener = nullptr;
  std::shared_ptr<CacheData> cache;
};

std::string HexFloat(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, 4);
  char buf[16];
  std::snprintf(buf, sizeof buf, "%08x", bits);
  return buf;
}

// ---- the build itself -----------------------------------------------------------------------------------------
struct BuildJob {
  NetData net;
  ConfigImpl* config;
  std::thread::id caller;
  std::string error;
};

// false + error when a step was cancelled.
struct Progress {
  ProgressListener* l;
  std::shared_ptr<Referenced> life;
  bool Usable() {
    if (!l) return false;
    std::lock_guard<std::mutex> lock(StateMutex());
    return life && life->alive;
  }
};

bool Calibrate(BuildJob& job, const std::vector<Dims>& calibDims, std::string* error) {
  ConfigImpl& c = *job.config;
  {
    std::lock_guard<std::mutex> lock(StateMutex());
    if (!c.calibratorLife || !c.calibratorLife->alive) return *error = "calibration failed: the calibrator was destroyed", false;
  }
  CalibrationListener* l = c.calibrator->listener;
  static const char* algos[] = {"EntropyCalibration2", "MinMaxCalibration", "EntropyCalibration"};
  std::string header = "TRT-" + std::to_string(Current().number) + "-" + algos[static_cast<int>(c.calibrator->algorithm)] + "\n";
  size_t length = 0;
  const void* cached = l->ReadCache(length);
  if (cached && length >= header.size() && std::memcmp(cached, header.data(), header.size()) == 0) {
    Log(Severity::kINFO, "Calibration: using the calibration cache (" + std::to_string(length) + " bytes)");
    return true;
  }
  if (cached && length) Log(Severity::kWARNING, "Calibration: the calibration cache was not written by this TensorRT "
                                                "version and algorithm; calibrating again");
  int32_t batchSize = l->BatchSize();
  Log(Severity::kVERBOSE, "Calibration: getBatchSize() = " + std::to_string(batchSize));
  const auto& inputs = job.net.inputs;
  std::vector<void*> bindings(inputs.size());
  std::vector<const char*> names;
  for (const auto& t : inputs) names.push_back(t.name.c_str());
  std::vector<double> amax(inputs.size(), 0);
  int64_t batches = 0;
  bool builderThread = std::this_thread::get_id() != job.caller;
  for (;;) {
    std::fill(bindings.begin(), bindings.end(), nullptr);
    if (!l->GetBatch(bindings.data(), names.data(), static_cast<int32_t>(bindings.size()))) break;
    ++batches;
    {
      std::lock_guard<std::mutex> lock(StateMutex());
      ++Count().calibrationBatches;
      Count().calibrationThreadIsBuilderThread = builderThread;
    }
    for (size_t i = 0; i < inputs.size(); ++i) {
      bool isFloat = inputs[i].type == DataType::kFLOAT || inputs[i].type == DataType::kHALF || inputs[i].type == DataType::kBF16;
      DataType fed = isFloat ? DataType::kFLOAT : inputs[i].type;  // calibration data of float inputs is float32
      int64_t count = Volume(calibDims[i]);
      size_t need = static_cast<size_t>(count) * ElementSize(fed);
      char kind = 0;
      size_t available = 0;
      bool found = FindAllocation(bindings[i], 1, &kind, &available);
      if (!found || kind != 'd' || available < need) {
        std::string what = !bindings[i] ? "is null" : !found || kind != 'd' ? "is not simulated device memory"
                         : "points at " + std::to_string(available) + " bytes, the batch needs " + std::to_string(need) +
                               " (" + DimsText(calibDims[i]) + " x " + std::to_string(ElementSize(fed)) + " bytes)";
        Violation(std::string(kNvInfer) + "IInt8Calibrator::getBatch/bindings",
                  "getBatch binding " + std::to_string(i) + " ('" + inputs[i].name + "') " + what +
                      ": \"An array of pointers to device memory that must be updated to point to device memory "
                      "containing each network input data\"");
        return *error = "calibration failed: getBatch binding for '" + inputs[i].name + "' " + what, false;
      }
      const auto* p = static_cast<const uint8_t*>(bindings[i]);
      for (int64_t k = 0; k < count; ++k) amax[i] = std::max(amax[i], std::fabs(ReadElement(p + k * ElementSize(fed), fed)));
    }
  }
  if (batches == 0) return *error = "calibration failed: no batches (getBatch returned false at once)", false;
  std::string text = header;
  double outScale = 0;
  for (size_t i = 0; i < inputs.size(); ++i) {
    float scale = static_cast<float>((amax[i] > 0 ? amax[i] : 1.0) / 127.0);
    outScale = std::max(outScale, double(scale));
    text += inputs[i].name + ": " + HexFloat(scale) + "\n";
  }
  for (const auto& t : job.net.outputs) text += t.name + ": " + HexFloat(static_cast<float>(outScale)) + "\n";
  l->WriteCache(text.data(), text.size());
  Log(Severity::kINFO, "Calibration completed: " + std::to_string(batches) + " batches");
  return true;
}

bool RunBuild(BuildJob& job, Bytes* out) {
  ConfigImpl& c = *job.config;
  NetData& net = job.net;
  const Personality& p = Current();
  if (net.outputs.empty()) return job.error = "Network must have at least one output", false;
  if (net.stronglyTyped && (c.fp16 || c.int8))
    return job.error = "BuilderFlag::kFP16/kINT8 cannot be used with a strongly typed network (set types in the network)", false;
  // Profiles: every dynamic input covered by each profile; without a profile only static inputs are allowed.
  std::vector<ProfileDesc> profiles = c.profiles;
  bool dynamic = false;
  for (const auto& t : net.inputs) dynamic |= Volume(t.dims) < 0;
  if (profiles.empty()) {
    if (dynamic) return job.error = "Network has dynamic or shape inputs, but no optimization profile has been defined.", false;
    ProfileDesc implicit;
    for (const auto& t : net.inputs) {
      implicit.names.push_back(t.name);
      implicit.min.push_back(t.dims), implicit.opt.push_back(t.dims), implicit.max.push_back(t.dims);
    }
    profiles.push_back(implicit);
  }
  for (size_t pi = 0; pi < profiles.size(); ++pi) {
    ProfileDesc full;  // in network input order
    for (const auto& t : net.inputs) {
      int i = profiles[pi].Find(t.name);
      Dims mn = t.dims, op = t.dims, mx = t.dims;
      if (i >= 0) {
        mn = profiles[pi].min[i], op = profiles[pi].opt[i], mx = profiles[pi].max[i];
        bool fits = mn.size() == t.dims.size();
        for (size_t d = 0; fits && d < t.dims.size(); ++d)
          fits = t.dims[d] < 0 || (mn[d] == t.dims[d] && mx[d] == t.dims[d]);
        if (!fits)
          return job.error = "optimization profile " + std::to_string(pi) + ": dimensions of '" + t.name + "' " +
                             DimsText(mn) + ".." + DimsText(mx) + " do not match the network's " + DimsText(t.dims), false;
      } else if (Volume(t.dims) < 0) {
        return job.error = "optimization profile " + std::to_string(pi) + " does not cover the dynamic input '" +
                           t.name + "' " + DimsText(t.dims), false;
      }
      full.names.push_back(t.name);
      full.min.push_back(mn), full.opt.push_back(op), full.max.push_back(mx);
    }
    profiles[pi] = full;
  }
  Progress progress{p.caps.progressMonitor ? c.listener : nullptr, c.monitorLife};
  bool monitored = progress.Usable();
  int32_t layers = static_cast<int32_t>(std::max<size_t>(net.layerOps.size(), 1));
  auto steps = [&](const char* phase, const char* parent) {  // one phase, one step per layer; false = cancelled
    if (monitored) progress.l->PhaseStart(phase, parent, layers);
    // Some time per step, so builds overlap and progress is observable; at most ~30 ms a phase for large models.
    auto pause = std::chrono::microseconds(std::min<int64_t>(1500, 30000 / layers));
    for (int32_t i = 0; i < layers; ++i) {
      std::this_thread::sleep_for(pause);
      if (monitored && !progress.l->StepComplete(phase, i)) {
        progress.l->PhaseFinish(phase);
        return false;
      }
    }
    if (monitored) progress.l->PhaseFinish(phase);
    return true;
  };
  const char* top = "Building engine";
  auto cancelled = [&] {
    if (monitored) progress.l->PhaseFinish(top);
    job.error = "build cancelled (IProgressMonitor::stepComplete returned false)";
    return false;
  };
  if (monitored) progress.l->PhaseStart(top, nullptr, 3);
  if (!steps("Analyzing layers", top) || (monitored && !progress.l->StepComplete(top, 0))) return cancelled();
  if (c.int8 && p.caps.implicitPrecision && c.calibrator) {
    std::vector<Dims> calibDims;
    for (const auto& t : net.inputs) {
      int i = c.hasCalibrationProfile ? c.calibrationProfile.Find(t.name) : -1;
      if (i >= 0) calibDims.push_back(c.calibrationProfile.opt[i]);  // "MIN and MAX values will be overwritten by kOPT"
      else if (Volume(t.dims) >= 0) calibDims.push_back(t.dims);
      else return job.error = "calibration failed: \"Calibration optimization profile must be set if int8 calibration "
                              "is used to set scales for a network with runtime dimensions\" ('" + t.name + "' " +
                              DimsText(t.dims) + ")", false;
    }
    if (!Calibrate(job, calibDims, &job.error)) return false;
  }
  // Tactic selection reports from another builder thread, as TensorRT's does.
  bool tacticsOk = true;
  std::thread tactics([&] { tacticsOk = steps("Selecting tactics", top); });
  tactics.join();
  if (!tacticsOk || (monitored && !progress.l->StepComplete(top, 1))) return cancelled();
  if (c.cache) {
    bool alive;
    {
      std::lock_guard<std::mutex> lock(StateMutex());
      alive = c.cache->life->alive;
    }
    if (alive) {
      std::lock_guard<std::mutex> lock(c.cache->mutex);
      for (size_t i = 0; i < net.layerOps.size(); ++i) {
        std::string key = "layer" + std::to_string(i) + ":" + net.layerOps[i];
        for (const auto& pr : profiles)
          for (const auto& d : pr.opt) key += ":" + DimsText(d);
        for (auto& ch : key) if (ch == '\t' || ch == '\n') ch = ' ';
        c.cache->entries.emplace(key, "tactic=0x" + std::to_string(std::hash<std::string>()(key) % 100000) +
                                          (c.fp16 ? " fp16" : "") + (c.int8 ? " int8" : ""));
      }
    }
  }
  if (monitored && !progress.l->StepComplete(top, 2)) return cancelled();
  if (monitored) progress.l->PhaseFinish(top);
  PlanDesc plan;
  plan.version = p.number;
  for (const auto& t : net.inputs) plan.tensors.push_back(t);
  for (const auto& t : net.outputs) plan.tensors.push_back(t);
  plan.profiles = profiles;
  plan.fp16 = c.fp16, plan.int8 = c.int8, plan.tf32 = c.tf32;
  plan.stronglyTyped = net.stronglyTyped, plan.sharing0806 = c.sharing;
  plan.layers = static_cast<int32_t>(net.layerOps.size());
  plan.deviceMemory = ContextMemoryBytes(plan);
  *out = SerializePlan(plan);
  return true;
}

class BuilderImpl : public Builder {
 public:
  BuilderImpl() : core_(std::make_shared<BuilderCore>()) {
    std::lock_guard<std::mutex> lock(StateMutex());
    ++Count().liveBuilders;
  }
  ~BuilderImpl() override {
    std::lock_guard<std::mutex> lock(StateMutex());
    --Count().liveBuilders;
    core_->alive = false;
    if (core_->configs > 0 || core_->networks > 0)
      Violation(std::string(kNvInfer) + "IBuilder/destroyed-before-children",
                "IBuilder destroyed while " + std::to_string(core_->configs) + " IBuilderConfig and " +
                    std::to_string(core_->networks) + " INetworkDefinition live: \"Destroying this IBuilder before "
                    "destroying the IBuilderConfig causes undefined behavior\"");
  }
  std::unique_ptr<Network> CreateNetwork(bool stronglyTyped) override {
    BuilderAlive(core_, "IBuilder::createNetworkV2", "INetworkDefinition");
    if (stronglyTyped && Current().version.major < 10) {
      Violation(std::string(kNvInfer) + "IBuilder::createNetworkV2/kSTRONGLY_TYPED",
                "NetworkDefinitionCreationFlag::kSTRONGLY_TYPED does not exist in TensorRT 8.6");
      Log(Severity::kERROR, "createNetworkV2: invalid NetworkDefinitionCreationFlags");
      return nullptr;
    }
    return std::unique_ptr<Network>(new NetworkImpl(core_, stronglyTyped));
  }
  std::unique_ptr<Parser> CreateParser(Network& network) override {
    auto* n = dynamic_cast<NetworkImpl*>(&network);
    if (!n) return nullptr;
    return std::unique_ptr<Parser>(new ParserImpl(n->data_));
  }
  std::unique_ptr<BuilderConfig> CreateConfig() override {
    BuilderAlive(core_, "IBuilder::createBuilderConfig", "IBuilderConfig");
    return std::unique_ptr<BuilderConfig>(new ConfigImpl(core_));
  }
  OptimizationProfile* CreateOptimizationProfile() override {
    BuilderAlive(core_, "IBuilder::createOptimizationProfile", "IOptimizationProfile");
    std::lock_guard<std::mutex> lock(StateMutex());
    core_->profiles.emplace_back(new ProfileImpl());
    return core_->profiles.back().get();
  }
  std::unique_ptr<ProgressMonitor> CreateProgressMonitor(ProgressListener* listener) override {
    if (!Current().caps.progressMonitor) {
      Violation(std::string(kNvInfer) + "IProgressMonitor/version", "IProgressMonitor does not exist in TensorRT 8.6 (added in 10.0)");
      return nullptr;
    }
    return std::unique_ptr<ProgressMonitor>(new ProgressMonitorImpl(listener));
  }
  std::unique_ptr<Calibrator> CreateCalibrator(CalibrationAlgorithm algorithm, CalibrationListener* listener) override {
    if (!Current().caps.implicitPrecision) {
      Violation(std::string(kNvInfer) + "IInt8Calibrator/version",
                "IInt8Calibrator does not exist in TensorRT 11 (implicit quantization was removed)");
      return nullptr;
    }
    return std::unique_ptr<Calibrator>(new CalibratorImpl(algorithm, listener));
  }
  bool BuildSerializedNetwork(Network& network, BuilderConfig& config, Bytes* out) override {
    out->clear();
    CheckNotJsThread("IBuilder::buildSerializedNetwork");
    BuilderAlive(core_, "IBuilder::buildSerializedNetwork", "IBuilderConfig");
    auto* n = dynamic_cast<NetworkImpl*>(&network);
    auto* c = dynamic_cast<ConfigImpl*>(&config);
    if (!n || !c) return false;
    if (c->core != core_ || n->core_ != core_)
      Violation(std::string(kNvInfer) + "IBuilder::buildSerializedNetwork/foreign-object",
                "buildSerializedNetwork with a network or config created by another IBuilder");
    {
      std::lock_guard<std::mutex> lock(StateMutex());
      Counters& k = Count();
      ++k.buildsStarted;
      k.maxConcurrentBuilds = std::max(k.maxConcurrentBuilds, ++k.activeBuilds);
      if (k.activeBuilds > 1)
        Hazard("builder-concurrent-timing",
               "two buildSerializedNetwork calls overlap on one device: tactic timings skew each other (TensorRT "
               "times kernels on the GPU it shares), so the chosen tactics and the timing cache may be poor");
    }
    BuildJob job{*n->data_, c, std::this_thread::get_id(), ""};
    bool ok = false;
    if (TakeFault(&Faults::build)) {
      job.error = "simulated: no implementation obeys reformatting-free rules, at least 1 layer could not be "
                  "implemented (fault injected)";
    } else {
      std::thread worker([&] { ok = RunBuild(job, out); });  // the builder's own thread; the caller waits
      worker.join();
    }
    {
      std::lock_guard<std::mutex> lock(StateMutex());
      --Count().activeBuilds;
    }
    if (!ok) {
      out->clear();
      Log(Severity::kERROR, "IBuilder::buildSerializedNetwork: " + job.error);
    }
    return ok;
  }

 private:
  std::shared_ptr<BuilderCore> core_;
};

}  // namespace

std::unique_ptr<Builder> MakeBuilder() { return std::unique_ptr<Builder>(new BuilderImpl()); }

}  // namespace sim
}  // namespace trt
}  // namespace trtn
