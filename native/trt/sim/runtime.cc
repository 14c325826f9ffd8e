// The simulated TensorRT runtime: the plan format, IRuntime, ICudaEngine and IExecutionContext with its "kernel".
//
// The plan: the 4 bytes 'ftrt', then 'SIM1\n', then text lines:
//   version <MMmmpp>            the personality that built it (8601, 100001, 101600, 110100)
//   layers <n>                  ONNX nodes
//   devmem <bytes>              per-context device memory: 4 x (sum over IO tensors of their largest volume over the
//                               profiles' max shapes x 4 bytes) + 1 MiB
//   flags <fp16> <int8> <tf32> <stronglyTyped> <sharing0806>   (0/1)
//   tensor <in|out> <DataType value> <rank> <dims...> <name length>:<name>    (inputs first, -1 = dynamic)
//   profiles <n>
//   range <profile> <input index> <rank> <min dims...> <opt dims...> <max dims...>
//   end
//
// The kernel (EnqueueV3's simulated work, run on the stream's worker thread, reading inputs AT EXECUTION TIME):
//   for output j (0-based, in output order) with resolved shape S (B = S[0] rows, K = volume(S[1:]); rank 0: B = K = 1)
//   and each row b < B: let x_0, x_1, ... be the elements of row b of every input in input order, converted to
//   double (input i's row b = its elements [b * R_i, (b + 1) * R_i) with R_i = volume(shape_i[1:]); an input with
//   fewer than b + 1 rows contributes nothing; a rank-0 input has one row of one element). Then
//     out[b][k] = j + sum_e x_e * w(e, k),   w(e, k) = ((e * 7 + k * 13) % 17 - 8) / 16.0
//   computed in double and stored in the output's type (float32; float16 as IEEE half, round to nearest even;
//   integer types rounded to nearest; bool = value != 0). Compare with a relative tolerance (~1e-6 for float32):
//   the simulator sums by residue class of 7e mod 17, not element by element.
// Output shapes: a dynamic output dim 0 is the first input's dim 0; another dynamic dim d is the first input's dim d
// (1 when that input has rank <= d).
#include <cmath>
#include <cstdio>
#include <cstring>
#include <sstream>

#include "internal.h"

namespace trtn {
namespace trt {
namespace sim {

namespace {
const char kRt[] = "NvInferRuntime.h/";

uint16_t FloatToHalf(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  uint32_t sign = (x >> 16) & 0x8000, exp = (x >> 23) & 0xff, mant = x & 0x7fffff;
  if (exp == 0xff) return static_cast<uint16_t>(sign | 0x7c00 | (mant ? 0x200 : 0));
  int e = static_cast<int>(exp) - 127 + 15;
  if (e >= 31) return static_cast<uint16_t>(sign | 0x7c00);
  if (e <= 0) {  // subnormal half (or zero)
    if (e < -10) return static_cast<uint16_t>(sign);
    mant |= 0x800000;
    int shift = 14 - e;
    uint32_t half = mant >> shift, rest = mant & ((1u << shift) - 1), mid = 1u << (shift - 1);
    if (rest > mid || (rest == mid && (half & 1))) ++half;
    return static_cast<uint16_t>(sign | half);
  }
  uint32_t half = (static_cast<uint32_t>(e) << 10) | (mant >> 13), rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest == 0x1000 && (half & 1))) ++half;  // may carry into the exponent: still correct
  return static_cast<uint16_t>(sign | half);
}
float HalfToFloat(uint16_t h) {
  uint32_t sign = (h & 0x8000u) << 16, exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
  float f;
  if (exp == 0) f = std::ldexp(static_cast<float>(mant), -24);
  else if (exp == 31) f = mant ? NAN : INFINITY;
  else f = std::ldexp(static_cast<float>(mant | 0x400), static_cast<int>(exp) - 25);
  uint32_t bits;
  std::memcpy(&bits, &f, 4);
  bits |= sign;
  std::memcpy(&f, &bits, 4);
  return f;
}
}  // namespace

double ReadElement(const uint8_t* p, DataType type) {
  switch (type) {
    case DataType::kFLOAT: { float v; std::memcpy(&v, p, 4); return v; }
    case DataType::kHALF: { uint16_t v; std::memcpy(&v, p, 2); return HalfToFloat(v); }
    case DataType::kBF16: { uint16_t v; std::memcpy(&v, p, 2); uint32_t b = uint32_t(v) << 16; float f; std::memcpy(&f, &b, 4); return f; }
    case DataType::kINT8: return static_cast<int8_t>(*p);
    case DataType::kUINT8: case DataType::kBOOL: return *p;
    case DataType::kINT32: { int32_t v; std::memcpy(&v, p, 4); return v; }
    case DataType::kINT64: { int64_t v; std::memcpy(&v, p, 8); return static_cast<double>(v); }
    default: return 0;
  }
}
void WriteElement(uint8_t* p, DataType type, double value) {
  switch (type) {
    case DataType::kFLOAT: { float v = static_cast<float>(value); std::memcpy(p, &v, 4); return; }
    case DataType::kHALF: { uint16_t v = FloatToHalf(static_cast<float>(value)); std::memcpy(p, &v, 2); return; }
    case DataType::kBF16: { float f = static_cast<float>(value); uint32_t b; std::memcpy(&b, &f, 4); uint16_t v = static_cast<uint16_t>(b >> 16); std::memcpy(p, &v, 2); return; }
    case DataType::kINT8: *reinterpret_cast<int8_t*>(p) = static_cast<int8_t>(std::max(-128.0, std::min(127.0, std::nearbyint(value)))); return;
    case DataType::kUINT8: *p = static_cast<uint8_t>(std::max(0.0, std::min(255.0, std::nearbyint(value)))); return;
    case DataType::kBOOL: *p = value != 0; return;
    case DataType::kINT32: { int32_t v = static_cast<int32_t>(std::llround(value)); std::memcpy(p, &v, 4); return; }
    case DataType::kINT64: { int64_t v = std::llround(value); std::memcpy(p, &v, 8); return; }
    default: return;
  }
}

Dims ResolveOutput(const PlanDesc& plan, const TensorDesc& output, const std::vector<Dims>& inputShapes) {
  Dims d = output.dims;
  const Dims* first = inputShapes.empty() ? nullptr : &inputShapes[0];
  for (size_t i = 0; i < d.size(); ++i)
    if (d[i] < 0) d[i] = first && first->size() > i ? (*first)[i] : (i == 0 ? -1 : 1);
  (void)plan;
  return d;
}

int64_t ContextMemoryBytes(const PlanDesc& plan) {
  int64_t total = 0;
  for (const auto& t : plan.tensors) {
    int64_t largest = std::max<int64_t>(Volume(t.dims), 0);
    for (const auto& pr : plan.profiles) {
      std::vector<Dims> shapes = pr.max;
      int64_t v = t.input ? (pr.Find(t.name) >= 0 ? Volume(pr.max[pr.Find(t.name)]) : Volume(t.dims))
                          : Volume(ResolveOutput(plan, t, shapes));
      largest = std::max(largest, v);
    }
    total += largest * 4;
  }
  return 4 * total + (int64_t(1) << 20);
}

Bytes SerializePlan(const PlanDesc& plan) {
  std::ostringstream s;
  s << "ftrtSIM1\nversion " << plan.version << "\nlayers " << plan.layers << "\ndevmem " << plan.deviceMemory
    << "\nflags " << plan.fp16 << " " << plan.int8 << " " << plan.tf32 << " " << plan.stronglyTyped << " "
    << plan.sharing0806 << "\n";
  for (const auto& t : plan.tensors) {
    s << "tensor " << (t.input ? "in" : "out") << " " << static_cast<int>(t.type) << " " << t.dims.size();
    for (int64_t d : t.dims) s << " " << d;
    s << " " << t.name.size() << ":" << t.name << "\n";
  }
  s << "profiles " << plan.profiles.size() << "\n";
  for (size_t p = 0; p < plan.profiles.size(); ++p)
    for (size_t i = 0; i < plan.profiles[p].names.size(); ++i) {
      const ProfileDesc& pr = plan.profiles[p];
      s << "range " << p << " " << i << " " << pr.min[i].size();
      for (const Dims* d : {&pr.min[i], &pr.opt[i], &pr.max[i]})
        for (int64_t v : *d) s << " " << v;
      s << "\n";
    }
  s << "end\n";
  std::string text = s.str();
  return Bytes(text.begin(), text.end());
}

bool ParsePlan(const void* data, size_t size, PlanDesc* plan, std::string* error) {
  if (!data || size < 9 || std::memcmp(data, "ftrtSIM1\n", 9) != 0)
    return *error = "the plan does not start with the serialization magic (not a TensorRT engine plan)", false;
  std::istringstream in(std::string(static_cast<const char*>(data) + 9, size - 9));
  std::string word;
  int fp16, int8, tf32, strong, sharing;
  if (!(in >> word) || word != "version" || !(in >> plan->version))
    return *error = "truncated or corrupted plan (version)", false;
  if (plan->version != Current().number) return *error = "version", false;  // the caller words the mismatch
  if (!(in >> word >> plan->layers) || word != "layers" || !(in >> word >> plan->deviceMemory) || word != "devmem" ||
      !(in >> word >> fp16 >> int8 >> tf32 >> strong >> sharing) || word != "flags")
    return *error = "truncated or corrupted plan (header)", false;
  if (plan->layers < 0 || plan->deviceMemory < 0) return *error = "corrupted plan (header values)", false;
  plan->fp16 = fp16, plan->int8 = int8, plan->tf32 = tf32, plan->stronglyTyped = strong, plan->sharing0806 = sharing;
  size_t inputs = 0, nprofiles = 0;
  while (in >> word && word == "tensor") {
    TensorDesc t;
    std::string io;
    int type;
    size_t rank, len;
    char colon;
    if (!(in >> io >> type >> rank) || rank > 16 || type < 0 || type > 10 || (io != "in" && io != "out"))
      return *error = "corrupted plan (tensor)", false;
    t.input = io == "in";
    t.type = static_cast<DataType>(type);
    t.dims.resize(rank);
    for (auto& d : t.dims)
      if (!(in >> d) || d < -1) return *error = "corrupted plan (tensor dims)", false;
    if (!(in >> len >> colon) || colon != ':' || len > 4096) return *error = "corrupted plan (tensor name)", false;
    t.name.resize(len);
    in.read(&t.name[0], static_cast<std::streamsize>(len));
    if (!in) return *error = "truncated plan (tensor name)", false;
    inputs += t.input;
    plan->tensors.push_back(t);
  }
  if (word != "profiles" || !(in >> nprofiles) || nprofiles < 1 || nprofiles > 1024)
    return *error = "corrupted plan (profiles)", false;
  plan->profiles.assign(nprofiles, ProfileDesc());
  for (auto& pr : plan->profiles)
    for (size_t i = 0; i < inputs; ++i) {
      pr.names.push_back(plan->tensors[i].name);
      pr.min.emplace_back(), pr.opt.emplace_back(), pr.max.emplace_back();
    }
  while (in >> word && word == "range") {
    size_t p, i, rank;
    if (!(in >> p >> i >> rank) || p >= nprofiles || i >= inputs || rank > 16) return *error = "corrupted plan (range)", false;
    ProfileDesc& pr = plan->profiles[p];
    for (Dims* d : {&pr.min[i], &pr.opt[i], &pr.max[i]}) {
      d->resize(rank);
      for (auto& v : *d)
        if (!(in >> v) || v < 0) return *error = "corrupted plan (range dims)", false;
    }
  }
  if (word != "end" || !in) return *error = "truncated plan (no end marker)", false;
  return true;
}

namespace {

struct RuntimeCore {
  bool alive = true;  // under StateMutex
  int engines = 0;
};

struct ContextCore;
struct EngineCore {
  PlanDesc plan;
  std::mutex mutex;  // contexts' profiles
  std::vector<ContextCore*> contexts;
  bool alive = true;
  int Find(const std::string& name) const {
    for (size_t i = 0; i < plan.tensors.size(); ++i)
      if (plan.tensors[i].name == name) return static_cast<int>(i);
    return -1;
  }
  size_t Inputs() const {
    size_t n = 0;
    for (const auto& t : plan.tensors) n += t.input;
    return n;
  }
};

struct ContextCore {
  std::shared_ptr<EngineCore> engine;
  int32_t profile = 0;             // under engine->mutex
  std::vector<Dims> shapes;        // per tensor; empty = not set (inputs)
  std::vector<void*> addresses;
  std::atomic<int> pending{0};
  std::atomic<Stream> pendingStream{nullptr};  // the stream of the latest enqueue
  void* deviceMemory = nullptr;
};

// What one enqueue reads and writes, fixed at enqueue time.
struct KernelJob {
  std::vector<TensorDesc> inputs, outputs;
  std::vector<Dims> inShapes, outShapes;
  std::vector<const uint8_t*> in;
  std::vector<uint8_t*> out;
  bool raiseSticky = false;
};

void RunKernel(const KernelJob& k) {
  if (k.raiseSticky) return RaiseSticky(700);  // the "kernel" touched an illegal address: nothing is written
  static const double W[17] = {-8 / 16.0, -7 / 16.0, -6 / 16.0, -5 / 16.0, -4 / 16.0, -3 / 16.0, -2 / 16.0, -1 / 16.0, 0,
                               1 / 16.0, 2 / 16.0, 3 / 16.0, 4 / 16.0, 5 / 16.0, 6 / 16.0, 7 / 16.0, 8 / 16.0};
  for (size_t j = 0; j < k.outputs.size(); ++j) {
    const Dims& s = k.outShapes[j];
    int64_t rows = s.empty() ? 1 : s[0];
    int64_t K = s.empty() ? 1 : Volume(Dims(s.begin() + 1, s.end()));
    size_t es = ElementSize(k.outputs[j].type);
    for (int64_t b = 0; b < rows; ++b) {
      double sums[17] = {0};  // sum of x_e grouped by (7e mod 17): w depends only on (7e + 13k) mod 17
      int64_t e = 0;
      for (size_t i = 0; i < k.inputs.size(); ++i) {
        const Dims& is = k.inShapes[i];
        int64_t inRows = is.empty() ? 1 : is[0], R = is.empty() ? 1 : Volume(Dims(is.begin() + 1, is.end()));
        if (b >= inRows) continue;
        size_t ies = ElementSize(k.inputs[i].type);
        for (int64_t r = 0; r < R; ++r, ++e) sums[(e % 17) * 7 % 17] += ReadElement(k.in[i] + (b * R + r) * ies, k.inputs[i].type);
      }
      for (int64_t kk = 0; kk < K; ++kk) {
        double v = static_cast<double>(j);
        for (int r = 0; r < 17; ++r) v += sums[r] * W[(r + kk % 17 * 13) % 17];
        WriteElement(k.out[j] + (b * K + kk) * es, k.outputs[j].type, v);
      }
    }
  }
}

class ContextImpl : public ExecutionContext {
 public:
  explicit ContextImpl(std::shared_ptr<ContextCore> c) : c_(std::move(c)) {}
  ~ContextImpl() override {
    if (c_->pending > 0)
      Violation(std::string(kRt) + "IExecutionContext::enqueueV3/context-destroyed-before-sync",
                "IExecutionContext destroyed while " + std::to_string(c_->pending.load()) +
                    " enqueued inference(s) have not run yet: the stream must be synchronized first (\"Modifying or "
                    "releasing memory that has been registered for the tensors before stream synchronization ... "
                    "results in undefined behavior\")");
    {
      std::lock_guard<std::mutex> lock(c_->engine->mutex);
      auto& v = c_->engine->contexts;
      v.erase(std::remove(v.begin(), v.end(), c_.get()), v.end());
    }
    DeviceRelease(c_->deviceMemory);  // deferred by the device while queued work still uses it
    std::lock_guard<std::mutex> lock(StateMutex());
    --Count().liveContexts;
  }
  bool SetOptimizationProfileAsync(int32_t profile, Stream) override {
    EngineCore& e = *c_->engine;
    int32_t n = static_cast<int32_t>(e.plan.profiles.size());
    if (profile < 0 || profile >= n)
      return Err("setOptimizationProfileAsync: profile index " + std::to_string(profile) + " out of range [0, " +
                 std::to_string(n) + ")");
    std::lock_guard<std::mutex> lock(e.mutex);
    if (Current().version.major < 10 && !e.plan.sharing0806)
      for (ContextCore* other : e.contexts)
        if (other != c_.get() && other->profile == profile)
          return Err("setOptimizationProfileAsync: profile " + std::to_string(profile) + " is already used by another "
                     "execution context of this engine (build with PreviewFeature::kPROFILE_SHARING_0806 to share it)");
    if (c_->profile != profile)
      for (size_t i = 0; i < e.Inputs(); ++i) c_->shapes[i].clear();  // shapes are per profile: set them again
    c_->profile = profile;
    return true;
  }
  int32_t GetOptimizationProfile() override {
    std::lock_guard<std::mutex> lock(c_->engine->mutex);
    return c_->profile;
  }
  bool SetInputShape(const std::string& name, const Dims& dims) override {
    EngineCore& e = *c_->engine;
    int i = e.Find(name);
    if (i < 0 || !e.plan.tensors[i].input) return Err("setInputShape: '" + name + "' is not an input tensor");
    int32_t p = GetOptimizationProfile();
    if (p < 0) return Err("setInputShape: no optimization profile is set for this context");
    const ProfileDesc& pr = e.plan.profiles[p];
    std::string why;
    if (!Within(pr, i, dims, &why)) return Err("setInputShape: '" + name + "' " + DimsText(dims) + ": " + why);
    c_->shapes[i] = dims;
    return true;
  }
  Dims GetTensorShape(const std::string& name) override {
    EngineCore& e = *c_->engine;
    int i = e.Find(name);
    if (i < 0) return Err("getTensorShape: no tensor named '" + name + "'"), Dims();
    std::vector<Dims> in = InputShapes();
    return e.plan.tensors[i].input ? in[i] : ResolveOutput(e.plan, e.plan.tensors[i], in);
  }
  bool SetTensorAddress(const std::string& name, void* address) override {
    int i = c_->engine->Find(name);
    if (i < 0) return Err("setTensorAddress: no tensor named '" + name + "'");
    if (reinterpret_cast<uintptr_t>(address) % 256 != 0) {
      Violation(std::string(kRt) + "IExecutionContext::setTensorAddress/alignment",
                "setTensorAddress('" + name + "'): address not 256-byte aligned: \"The pointer must have at least "
                "256-byte alignment.\"");
      return Err("setTensorAddress: '" + name + "': the address is not 256-byte aligned");
    }
    c_->addresses[i] = address;
    return true;
  }
  int32_t InferShapes() override {
    int32_t missing = 0;
    const PlanDesc& plan = c_->engine->plan;
    for (size_t i = 0; i < c_->engine->Inputs(); ++i)
      missing += c_->shapes[i].empty() && Volume(plan.tensors[i].dims) < 0;
    return missing;
  }
  bool EnqueueV3(Stream stream) override {
    EngineCore& e = *c_->engine;
    {
      std::lock_guard<std::mutex> lock(StateMutex());
      if (TheFaults().enqueueFalse > 0) {
        --TheFaults().enqueueFalse;
        return Err("enqueueV3: simulated failure (fault injected)");
      }
    }
    if (c_->pending > 0 && c_->pendingStream != stream)
      return Bad("concurrent-streams", "enqueueV3 on a second stream while this context's work on another stream has "
                                       "not run yet: \"Calling enqueueV2() in from the same IExecutionContext object "
                                       "with different CUDA streams concurrently results in undefined behavior. To "
                                       "perform inference concurrently in multiple streams, use one execution context "
                                       "per stream.\" (the context's activation memory is shared)");
    int32_t p = GetOptimizationProfile();
    if (p < 0)
      return Bad("profile-unset", "enqueueV3 on a context whose optimization profile is -1: \"an invalid value of -1 "
                                  "will be returned and all calls to enqueueV3()/executeV2() will fail until a valid "
                                  "profile index has been set\"");
    KernelJob k;
    std::vector<Dims> in = InputShapes();
    std::vector<const void*> refs{c_->deviceMemory};
    for (size_t i = 0; i < e.plan.tensors.size(); ++i) {
      const TensorDesc& t = e.plan.tensors[i];
      Dims shape = t.input ? in[i] : ResolveOutput(e.plan, t, in);
      std::string why;
      if (t.input && Volume(shape) < 0)
        return Bad("input-shape-unset", "enqueueV3: the shape of dynamic input '" + t.name + "' " + DimsText(t.dims) +
                                            " was not set: \"setInputShape() for all dynamic input tensors ... must be "
                                            "called before executeV2()/enqueueV3()\"");
      if (t.input && !Within(e.plan.profiles[p], static_cast<int>(i), shape, &why))
        return Bad("input-shape-outside-profile", "enqueueV3: '" + t.name + "' " + DimsText(shape) + ": " + why);
      void* a = c_->addresses[i];
      if (!a)
        return Bad("tensor-address-unset", "enqueueV3: no address set for " + std::string(t.input ? "input" : "output") +
                                               " tensor '" + t.name + "' (setTensorAddress must be called for every "
                                               "I/O tensor before enqueueV3)");
      size_t bytes = static_cast<size_t>(Volume(shape)) * ElementSize(t.type), available = 0;
      char kind = 0;
      if (!FindAllocation(a, bytes, &kind, &available) || kind != 'd')
        return Bad("tensor-memory", "enqueueV3: \"The pointer must point to a device buffer of sufficient size\": '" + t.name + "' " +
                                        (kind == 0 ? "is not simulated device memory" : kind == 'p' ? "is pinned host memory, not device memory"
                                                   : "holds " + std::to_string(available) + " bytes, the tensor " + DimsText(shape) +
                                                         " needs " + std::to_string(bytes)));
      refs.push_back(a);
      (t.input ? k.inputs : k.outputs).push_back(t);
      (t.input ? k.inShapes : k.outShapes).push_back(shape);
      if (t.input) k.in.push_back(static_cast<const uint8_t*>(a));
      else k.out.push_back(static_cast<uint8_t*>(a));
    }
    {
      std::lock_guard<std::mutex> lock(StateMutex());
      int64_t& n = TheFaults().stickyErrorAtEnqueue;
      if (n > 0 && --n == 0) k.raiseSticky = true;
    }
    auto core = c_;
    ++core->pending;
    core->pendingStream = stream;
    int status = 0;
    if (!QueueWork(stream, [core, k] { RunKernel(k); --core->pending; }, refs, "enqueueV3", &status)) {
      --core->pending;
      return Err("enqueueV3: CUDA error " + SimCuda().ErrorName(status) + " (" + SimCuda().ErrorString(status) + ")");
    }
    return true;
  }

 private:
  bool Err(const std::string& message) {
    Log(Severity::kERROR, "IExecutionContext::" + message);
    return false;
  }
  bool Bad(const std::string& what, const std::string& message) {
    Violation(std::string(kRt) + "IExecutionContext::enqueueV3/" + what, message);
    return Err(message);
  }
  std::vector<Dims> InputShapes() {
    std::vector<Dims> in;
    for (size_t i = 0; i < c_->engine->Inputs(); ++i)
      in.push_back(c_->shapes[i].empty() ? c_->engine->plan.tensors[i].dims : c_->shapes[i]);
    return in;
  }
  static bool Within(const ProfileDesc& pr, int i, const Dims& dims, std::string* why) {
    const Dims& mn = pr.min[i];
    const Dims& mx = pr.max[i];
    if (dims.size() != mn.size()) return *why = "rank " + std::to_string(dims.size()) + ", expected " + std::to_string(mn.size()), false;
    for (size_t d = 0; d < dims.size(); ++d)
      if (dims[d] < mn[d] || dims[d] > mx[d])
        return *why = "outside the optimization profile " + DimsText(mn) + ".." + DimsText(mx), false;
    return true;
  }
  std::shared_ptr<ContextCore> c_;
};

class EngineImpl : public Engine {
 public:
  EngineImpl(std::shared_ptr<EngineCore> e, std::shared_ptr<RuntimeCore> r) : e_(std::move(e)), r_(std::move(r)) {
    std::lock_guard<std::mutex> lock(StateMutex());
    ++r_->engines;
    ++Count().liveEngines;
  }
  ~EngineImpl() override {
    CheckNotJsThread("ICudaEngine destruction");
    size_t live;
    {
      std::lock_guard<std::mutex> lock(e_->mutex);
      live = e_->contexts.size();
      e_->alive = false;
    }
    if (live)
      Violation(std::string(kRt) + "ICudaEngine/destroyed-before-contexts",
                "ICudaEngine destroyed while " + std::to_string(live) + " IExecutionContext created from it live: "
                "a context runs on its engine's weights and must be destroyed first");
    std::lock_guard<std::mutex> lock(StateMutex());
    --r_->engines;
    --Count().liveEngines;
  }
  int32_t NbIOTensors() override { return static_cast<int32_t>(e_->plan.tensors.size()); }
  std::string IOTensorName(int32_t i) override {
    return i >= 0 && i < NbIOTensors() ? e_->plan.tensors[i].name : "";
  }
  IOMode TensorIOMode(const std::string& name) override {
    int i = e_->Find(name);
    return i < 0 ? IOMode::kNONE : e_->plan.tensors[i].input ? IOMode::kINPUT : IOMode::kOUTPUT;
  }
  DataType TensorDataType(const std::string& name) override {
    int i = Known(name, "getTensorDataType");
    return i < 0 ? DataType::kFLOAT : e_->plan.tensors[i].type;
  }
  Dims TensorShape(const std::string& name) override {
    int i = Known(name, "getTensorShape");
    return i < 0 ? Dims() : e_->plan.tensors[i].dims;
  }
  int Known(const std::string& name, const char* method) {
    int i = e_->Find(name);
    if (i < 0) Log(Severity::kERROR, std::string("ICudaEngine::") + method + ": no tensor named '" + name + "'");
    return i;
  }
  int32_t NbOptimizationProfiles() override { return static_cast<int32_t>(e_->plan.profiles.size()); }
  Dims ProfileShape(const std::string& name, int32_t profile, ProfileSelector selector) override {
    int i = e_->Find(name);
    if (i < 0 || !e_->plan.tensors[i].input || profile < 0 || profile >= NbOptimizationProfiles()) {
      Log(Severity::kERROR, "ICudaEngine::getProfileShape: '" + name + "', profile " + std::to_string(profile) + ": no such input or profile");
      return Dims();
    }
    const ProfileDesc& pr = e_->plan.profiles[profile];
    return selector == ProfileSelector::kMIN ? pr.min[i] : selector == ProfileSelector::kOPT ? pr.opt[i] : pr.max[i];
  }
  int32_t NbLayers() override { return e_->plan.layers; }
  int64_t DeviceMemorySize() override { return e_->plan.deviceMemory; }
  std::string LayerInformationJson() override {
    std::string s = "{\"Layers\":[";
    for (int32_t i = 0; i < e_->plan.layers; ++i) s += (i ? ",\"" : "\"") + std::string("sim_layer_") + std::to_string(i) + "\"";
    s += "],\"Bindings\":[";
    for (size_t i = 0; i < e_->plan.tensors.size(); ++i) {
      s += i ? ",\"" : "\"";
      for (unsigned char ch : e_->plan.tensors[i].name) {  // JSON string escaping
        if (ch == '"' || ch == '\\') s += '\\', s += static_cast<char>(ch);
        else if (ch < 0x20) { char buf[8]; std::snprintf(buf, sizeof buf, "\\u%04x", ch); s += buf; }
        else s += static_cast<char>(ch);
      }
      s += "\"";
    }
    return s + "]}";
  }
  std::unique_ptr<ExecutionContext> CreateExecutionContext() override {
    {
      std::lock_guard<std::mutex> lock(StateMutex());
      int64_t after = TheFaults().contextOomAfter;
      if (after >= 0 && Count().liveContexts >= after) {
        Log(Severity::kERROR, "ICudaEngine::createExecutionContext: simulated: out of device memory (fault injected "
                              "after " + std::to_string(after) + " live contexts)");
        return nullptr;
      }
    }
    auto c = std::make_shared<ContextCore>();
    c->engine = e_;
    c->shapes.resize(e_->plan.tensors.size());
    c->addresses.resize(e_->plan.tensors.size());
    if (!DeviceAlloc(static_cast<size_t>(e_->plan.deviceMemory), &c->deviceMemory)) {
      Log(Severity::kERROR, "ICudaEngine::createExecutionContext: Requested amount of GPU memory (" +
                                std::to_string(e_->plan.deviceMemory) + " bytes) could not be allocated: out of memory");
      return nullptr;
    }
    {
      std::lock_guard<std::mutex> lock(e_->mutex);
      // 8.6: profile 0 only when no other live context holds it; from 10.0 every context starts on profile 0.
      bool taken = false;
      for (ContextCore* other : e_->contexts) taken |= other->profile == 0;
      c->profile = Current().version.major < 10 && taken ? -1 : 0;
      e_->contexts.push_back(c.get());
    }
    std::lock_guard<std::mutex> lock(StateMutex());
    ++Count().liveContexts;
    return std::unique_ptr<ExecutionContext>(new ContextImpl(c));
  }

 private:
  std::shared_ptr<EngineCore> e_;
  std::shared_ptr<RuntimeCore> r_;
};

class RuntimeImpl : public Runtime {
 public:
  RuntimeImpl() : r_(std::make_shared<RuntimeCore>()) {
    std::lock_guard<std::mutex> lock(StateMutex());
    ++Count().liveRuntimes;
  }
  ~RuntimeImpl() override {
    CheckNotJsThread("IRuntime destruction");
    std::lock_guard<std::mutex> lock(StateMutex());
    --Count().liveRuntimes;
    r_->alive = false;
    if (r_->engines > 0)
      Violation(std::string(kRt) + "IRuntime/destroyed-before-engines",
                "IRuntime destroyed while " + std::to_string(r_->engines) + " ICudaEngine live: \"Destroying the "
                "IRuntime before destroying all associated ICudaEngine instances results in undefined behavior\"");
  }
  std::unique_ptr<Engine> DeserializeCudaEngine(const void* data, size_t size) override {
    CheckNotJsThread("IRuntime::deserializeCudaEngine");
    if (TakeFault(&Faults::deserialize)) {
      Log(Severity::kERROR, "IRuntime::deserializeCudaEngine: simulated failure (fault injected)");
      return nullptr;
    }
    auto e = std::make_shared<EngineCore>();
    std::string error;
    if (!ParsePlan(data, size, &e->plan, &error)) {
      if (error == "version") {
        bool known;
        Personality other = PersonalityOfNumber(e->plan.version, &known);
        const Version& v = Current().version;
        auto text = [](const Version& x) { return std::to_string(x.major) + "." + std::to_string(x.minor) + "." + std::to_string(x.patch); };
        error = "version mismatch: The engine plan file is not compatible with this version of TensorRT, expecting "
                "library version " + text(v) + " got " + text(other.version) + ", please rebuild.";
      }
      Log(Severity::kERROR, "IRuntime::deserializeCudaEngine: " + error);
      return nullptr;
    }
    return std::unique_ptr<Engine>(new EngineImpl(e, r_));
  }

 private:
  std::shared_ptr<RuntimeCore> r_;
};

}  // namespace

std::unique_ptr<Runtime> MakeRuntime() { return std::unique_ptr<Runtime>(new RuntimeImpl()); }

}  // namespace sim
}  // namespace trt
}  // namespace trtn
