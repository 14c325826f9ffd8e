// The simulated CUDA runtime: device memory is host memory in a registry, each stream is a worker thread that runs
// its queue LATER (an adversarial delay before each op), events carry steady_clock times, errors are cudaError_t's.
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <map>
#include <new>
#include <set>
#include <sstream>

#include "internal.h"

namespace trtn {
namespace trt {
namespace sim {
namespace {

constexpr int kInvalidValue = 1, kMemoryAllocation = 2, kNoDevice = 100, kInvalidDevice = 101,
              kInvalidResourceHandle = 400, kNotReady = 600, kIllegalAddress = 700, kLaunchFailure = 719,
              kInsufficientDriver = 35;

constexpr size_t kAlign = 256;
void Deallocate(void* p) { ::operator delete(p, std::align_val_t(kAlign)); }

struct Alloc {
  size_t size = 0;
  char kind = 'd';  // 'd' device, 'p' pinned host
  bool freed = false;
  int pending = 0;  // queued ops referencing it
  std::string origin;  // the API of the latest queued op referencing it
};

struct Op {
  std::function<void()> work;
  std::vector<uintptr_t> refs;
};

struct StreamImpl {
  std::mutex mutex;
  std::condition_variable cv;
  std::deque<Op> queue;
  int pending = 0;  // queued + running
  bool stop = false;
  std::thread worker;
};

struct EventImpl {
  int state = 0;  // 0 never recorded, 1 recorded and pending, 2 completed
  uint64_t generation = 0;
  std::chrono::steady_clock::time_point time;
};

struct Device {
  std::mutex mutex;
  std::condition_variable eventsCv;
  std::map<uintptr_t, Alloc> allocs;
  int64_t capacity = int64_t(2) << 30, deviceInUse = 0, pinnedInUse = 0;
  int sticky = 0, lastError = 0;
  std::set<StreamImpl*> streams;
  std::set<EventImpl*> events;
  StreamImpl* defaultStream = nullptr;
  std::atomic<double> delayMs{1.5};
};
Device& D() {
  static Device* device = new Device();  // never destroyed: worker threads may run during static destruction
  return *device;
}

void ReleaseRefs(const std::vector<uintptr_t>& refs) {
  std::lock_guard<std::mutex> lock(D().mutex);
  for (uintptr_t base : refs) {
    auto it = D().allocs.find(base);
    if (it == D().allocs.end()) continue;
    if (--it->second.pending == 0 && it->second.freed) {  // released early: the memory lived until the op ran
      Deallocate(reinterpret_cast<void*>(base));
      D().allocs.erase(it);
    }
  }
}

void Worker(StreamImpl* s) {
  for (;;) {
    Op op;
    {
      std::unique_lock<std::mutex> lock(s->mutex);
      s->cv.wait(lock, [s] { return s->stop || !s->queue.empty(); });
      if (s->queue.empty()) return;
      op = std::move(s->queue.front());
      s->queue.pop_front();
    }
    // The delay makes host code that does not wait for the stream see stale or unwritten data.
    std::this_thread::sleep_for(std::chrono::microseconds(static_cast<int64_t>(D().delayMs.load() * 1000)));
    op.work();
    ReleaseRefs(op.refs);
    {
      std::lock_guard<std::mutex> lock(s->mutex);
      --s->pending;
    }
    s->cv.notify_all();
  }
}

StreamImpl* NewStream() {
  auto* s = new StreamImpl();
  s->worker = std::thread(Worker, s);
  return s;
}

// Under D().mutex: the stream or the lazily created default stream; null when unknown.
StreamImpl* Resolve(Stream stream) {
  if (!stream) {
    if (!D().defaultStream) D().defaultStream = NewStream();
    return D().defaultStream;
  }
  auto* s = static_cast<StreamImpl*>(stream);
  return D().streams.count(s) ? s : nullptr;
}

void WaitIdle(StreamImpl* s) {
  std::unique_lock<std::mutex> lock(s->mutex);
  s->cv.wait(lock, [s] { return s->pending == 0; });
}

// Under D().mutex: the live allocation holding p (null when none).
std::pair<const uintptr_t, Alloc>* Holder(const void* p) {
  auto addr = reinterpret_cast<uintptr_t>(p);
  auto it = D().allocs.upper_bound(addr);
  if (it == D().allocs.begin()) return nullptr;
  --it;
  if (it->second.freed || addr >= it->first + std::max<size_t>(it->second.size, 1)) return nullptr;
  return &*it;
}

std::string Hex(const void* p) {
  std::ostringstream s;
  s << p;
  return s.str();
}

class SimCudaImpl : public Cuda {
 public:
  int GetDeviceCount(int* count) override {
    *count = 1;
    return Status(0);
  }
  int SetDevice(int device) override { return device == 0 ? Status(0) : Fail(kInvalidDevice); }
  int MemGetInfo(size_t* free, size_t* total) override {
    std::lock_guard<std::mutex> lock(D().mutex);
    if (D().sticky) return D().lastError = D().sticky;
    *total = static_cast<size_t>(D().capacity);
    *free = static_cast<size_t>(std::max<int64_t>(0, D().capacity - D().deviceInUse));
    return 0;
  }
  int Malloc(void** ptr, size_t bytes) override { return Allocate(ptr, bytes, 'd'); }
  int MallocHost(void** ptr, size_t bytes) override { return Allocate(ptr, bytes, 'p'); }
  int Free(void* ptr) override { return Release(ptr, 'd', "cudaFree"); }
  int FreeHost(void* ptr) override { return Release(ptr, 'p', "cudaFreeHost"); }

  int Memcpy(void* dst, const void* src, size_t bytes, Copy kind) override {
    std::unique_lock<std::mutex> lock(D().mutex);
    if (D().sticky) return D().lastError = D().sticky;
    std::vector<uintptr_t> refs;
    bool pinnedSrc, pinnedDst;
    if (!CheckCopy(dst, src, bytes, kind, "cudaMemcpy", &refs, &pinnedSrc, &pinnedDst))
      return D().lastError = kInvalidValue;
    lock.unlock();
    std::memcpy(dst, src, bytes);
    return 0;
  }

  int MemcpyAsync(void* dst, const void* src, size_t bytes, Copy kind, Stream stream) override {
    std::unique_lock<std::mutex> lock(D().mutex);
    if (D().sticky) return D().lastError = D().sticky;
    StreamImpl* s = Resolve(stream);
    if (!s) return D().lastError = kInvalidResourceHandle;
    std::vector<uintptr_t> refs;
    bool pinnedSrc = false, pinnedDst = false;
    if (!CheckCopy(dst, src, bytes, kind, "cudaMemcpyAsync", &refs, &pinnedSrc, &pinnedDst))
      return D().lastError = kInvalidValue;
    if (kind == Copy::kHostToDevice && !pinnedSrc) {
      // Pageable source: CUDA stages it before returning, so the caller may reuse it at once.
      auto staged = std::make_shared<std::vector<uint8_t>>(static_cast<const uint8_t*>(src),
                                                           static_cast<const uint8_t*>(src) + bytes);
      Push(s, [dst, staged] { std::memcpy(dst, staged->data(), staged->size()); }, refs, "cudaMemcpyAsync");
      return 0;
    }
    Push(s, [dst, src, bytes] { std::memcpy(dst, src, bytes); }, refs, "cudaMemcpyAsync");
    if (kind == Copy::kDeviceToHost && !pinnedDst) {  // pageable destination: CUDA returns once the copy is done
      lock.unlock();
      WaitIdle(s);
    }
    return 0;
  }

  int StreamCreate(Stream* stream) override {
    std::lock_guard<std::mutex> lock(D().mutex);
    if (D().sticky) return D().lastError = D().sticky;
    StreamImpl* s = NewStream();
    D().streams.insert(s);
    *stream = s;
    return 0;
  }
  int StreamDestroy(Stream stream) override {
    StreamImpl* s;
    {
      std::lock_guard<std::mutex> lock(D().mutex);
      s = static_cast<StreamImpl*>(stream);
      if (!stream || !D().streams.erase(s)) return D().lastError = kInvalidResourceHandle;
    }
    // cudaStreamDestroy returns at once and lets queued work finish; the simulator drains before joining.
    WaitIdle(s);
    {
      std::lock_guard<std::mutex> lock(s->mutex);
      s->stop = true;
    }
    s->cv.notify_all();
    s->worker.join();
    delete s;
    return StickyStatus();
  }
  int StreamSynchronize(Stream stream) override {
    CheckNotJsThread("cudaStreamSynchronize");
    StreamImpl* s;
    {
      std::lock_guard<std::mutex> lock(D().mutex);
      s = Resolve(stream);
      if (!s) return D().lastError = kInvalidResourceHandle;
    }
    WaitIdle(s);
    return StickyStatus();
  }

  int EventCreate(Event* event) override {
    std::lock_guard<std::mutex> lock(D().mutex);
    if (D().sticky) return D().lastError = D().sticky;
    auto* e = new EventImpl();
    D().events.insert(e);
    *event = e;
    return 0;
  }
  int EventDestroy(Event event) override {
    std::lock_guard<std::mutex> lock(D().mutex);
    auto* e = static_cast<EventImpl*>(event);
    if (!D().events.erase(e)) return D().lastError = kInvalidResourceHandle;
    if (e->state == 1) e->generation = ~uint64_t(0);  // a queued record still points at it: leak it rather than crash
    else delete e;
    return 0;
  }
  int EventRecord(Event event, Stream stream) override {
    std::lock_guard<std::mutex> lock(D().mutex);
    if (D().sticky) return D().lastError = D().sticky;
    auto* e = static_cast<EventImpl*>(event);
    StreamImpl* s = Resolve(stream);
    if (!D().events.count(e) || !s) return D().lastError = kInvalidResourceHandle;
    e->state = 1;
    uint64_t generation = ++e->generation;
    Push(s, [e, generation] {
      std::lock_guard<std::mutex> lock(D().mutex);
      if (e->generation != generation) return;  // re-recorded (or destroyed) since
      e->state = 2;
      e->time = std::chrono::steady_clock::now();
      D().eventsCv.notify_all();
    }, {}, "cudaEventRecord");
    return 0;
  }
  int EventSynchronize(Event event) override {
    std::unique_lock<std::mutex> lock(D().mutex);
    auto* e = static_cast<EventImpl*>(event);
    if (!D().events.count(e)) return D().lastError = kInvalidResourceHandle;
    D().eventsCv.wait(lock, [e] { return e->state != 1 || D().sticky; });
    return D().sticky;
  }
  int EventElapsedMs(float* ms, Event start, Event end) override {
    std::lock_guard<std::mutex> lock(D().mutex);
    if (D().sticky) return D().lastError = D().sticky;
    auto* a = static_cast<EventImpl*>(start);
    auto* b = static_cast<EventImpl*>(end);
    if (!D().events.count(a) || !D().events.count(b) || a->state == 0 || b->state == 0)
      return D().lastError = kInvalidResourceHandle;
    if (a->state != 2 || b->state != 2) return D().lastError = kNotReady;
    *ms = std::chrono::duration<float, std::milli>(b->time - a->time).count();
    return 0;
  }
  int GetLastError() override {
    std::lock_guard<std::mutex> lock(D().mutex);
    int e = D().sticky ? D().sticky : D().lastError;
    D().lastError = 0;
    return e;
  }
  std::string ErrorName(int status) override {
    switch (status) {
      case 0: return "cudaSuccess";
      case kInvalidValue: return "cudaErrorInvalidValue";
      case kMemoryAllocation: return "cudaErrorMemoryAllocation";
      case kInsufficientDriver: return "cudaErrorInsufficientDriver";
      case kNoDevice: return "cudaErrorNoDevice";
      case kInvalidDevice: return "cudaErrorInvalidDevice";
      case kInvalidResourceHandle: return "cudaErrorInvalidResourceHandle";
      case kNotReady: return "cudaErrorNotReady";
      case kIllegalAddress: return "cudaErrorIllegalAddress";
      case kLaunchFailure: return "cudaErrorLaunchFailure";
      default: return "cudaErrorUnknown";
    }
  }
  std::string ErrorString(int status) override {
    switch (status) {
      case 0: return "no error";
      case kInvalidValue: return "invalid argument";
      case kMemoryAllocation: return "out of memory";
      case kInsufficientDriver: return "CUDA driver version is insufficient for CUDA runtime version";
      case kNoDevice: return "no CUDA-capable device is detected";
      case kInvalidDevice: return "invalid device ordinal";
      case kInvalidResourceHandle: return "invalid resource handle";
      case kNotReady: return "device not ready";
      case kIllegalAddress: return "an illegal memory access was encountered";
      case kLaunchFailure: return "unspecified launch failure";
      default: return "unrecognized error code";
    }
  }
  bool IsNoDeviceError(int status) override { return status == kNoDevice || status == kInsufficientDriver; }
  bool IsStickyError(int status) override { return status == kIllegalAddress || status == kLaunchFailure; }

 private:
  int Status(int status) {
    std::lock_guard<std::mutex> lock(D().mutex);
    if (D().sticky) return D().lastError = D().sticky;
    return status ? D().lastError = status : 0;
  }
  int Fail(int status) { return Status(status); }

  int Allocate(void** ptr, size_t bytes, char kind) {
    std::lock_guard<std::mutex> lock(D().mutex);
    if (D().sticky) return D().lastError = D().sticky;
    if (!ptr) return D().lastError = kInvalidValue;
    *ptr = nullptr;
    if (bytes == 0) return 0;
    if (kind == 'd' && (bytes > static_cast<uint64_t>(D().capacity) || D().deviceInUse + static_cast<int64_t>(bytes) > D().capacity))
      return D().lastError = kMemoryAllocation;
    void* p = ::operator new(bytes, std::align_val_t(kAlign), std::nothrow);  // cudaMalloc aligns to 256 bytes
    if (!p) return D().lastError = kMemoryAllocation;
    Alloc a;
    a.size = bytes;
    a.kind = kind;
    D().allocs[reinterpret_cast<uintptr_t>(p)] = a;
    (kind == 'd' ? D().deviceInUse : D().pinnedInUse) += static_cast<int64_t>(bytes);
    *ptr = p;
    return 0;
  }

  int Release(void* ptr, char kind, const std::string& api) {
    std::lock_guard<std::mutex> lock(D().mutex);
    if (D().sticky) return D().lastError = D().sticky;
    if (!ptr) return 0;
    auto it = D().allocs.find(reinterpret_cast<uintptr_t>(ptr));
    if (it == D().allocs.end() || it->second.freed || it->second.kind != kind) {
      Violation("cuda_runtime_api.h/" + api + "/not-an-allocation",
                api + "(" + Hex(ptr) + "): not the start of a live " + (kind == 'd' ? "cudaMalloc" : "cudaMallocHost") +
                    " allocation (double free, wrong allocator or interior pointer)");
      return D().lastError = kInvalidValue;
    }
    Alloc& a = it->second;
    (kind == 'd' ? D().deviceInUse : D().pinnedInUse) -= static_cast<int64_t>(a.size);
    if (a.pending > 0) {
      Violation(a.origin == "enqueueV3" ? "NvInferRuntime.h/IExecutionContext::enqueueV3/memory-released-before-sync"
                                        : "cuda_runtime_api.h/" + a.origin + "/memory-released-before-sync",
                api + "(" + Hex(ptr) + ") while queued " + a.origin +
                    " work still uses it: \"Modifying or releasing memory that has been registered for the tensors "
                    "before stream synchronization ... results in undefined behavior\"");
      a.freed = true;  // really released once the queued work ran
      return 0;
    }
    Deallocate(ptr);
    D().allocs.erase(it);
    return 0;
  }

  // Under D().mutex. Device sides must be device allocations holding the whole range; host sides may be pinned
  // (then referenced until the op runs) or pageable, never device memory.
  bool CheckSide(const void* p, size_t bytes, bool device, const std::string& api, const char* side,
                 std::vector<uintptr_t>* refs, bool* pinned) {
    auto* h = p ? Holder(p) : nullptr;
    *pinned = false;
    std::string what;
    if (device) {
      if (!h || h->second.kind != 'd') what = "is not device memory from cudaMalloc";
    } else if (!p) {
      what = "is null";
    } else if (h && h->second.kind == 'd') {
      what = "is device memory where host memory was expected (wrong cudaMemcpyKind)";
    }
    if (what.empty() && h && reinterpret_cast<uintptr_t>(p) + bytes > h->first + h->second.size)
      what = "+ " + std::to_string(bytes) + " bytes overruns its allocation of " + std::to_string(h->second.size) +
             " bytes";
    if (!what.empty()) {
      Violation("cuda_runtime_api.h/" + api + "/" + side,
                api + ": " + side + " pointer " + Hex(p) + " " + what + " (cudaErrorInvalidValue)");
      return false;
    }
    if (h) {
      refs->push_back(h->first);
      *pinned = h->second.kind == 'p';
    }
    return true;
  }
  bool CheckCopy(void* dst, const void* src, size_t bytes, Copy kind, const std::string& api,
                 std::vector<uintptr_t>* refs, bool* pinnedSrc, bool* pinnedDst) {
    bool srcDevice = kind != Copy::kHostToDevice, dstDevice = kind != Copy::kDeviceToHost;
    if (kind != Copy::kHostToDevice && kind != Copy::kDeviceToHost && kind != Copy::kDeviceToDevice) {
      Violation("cuda_runtime_api.h/" + api + "/kind", api + ": unknown cudaMemcpyKind");
      return false;
    }
    return CheckSide(src, bytes, srcDevice, api, "source", refs, pinnedSrc) &&
           CheckSide(dst, bytes, dstDevice, api, "destination", refs, pinnedDst);
  }

  // Under D().mutex.
  static void Push(StreamImpl* s, std::function<void()> work, const std::vector<uintptr_t>& refs,
                   const std::string& origin) {
    for (uintptr_t base : refs) {
      Alloc& a = D().allocs[base];
      ++a.pending;
      a.origin = origin;
    }
    {
      std::lock_guard<std::mutex> lock(s->mutex);
      s->queue.push_back({std::move(work), refs});
      ++s->pending;
    }
    s->cv.notify_all();
  }

  friend bool sim::QueueWork(Stream, std::function<void()>, const std::vector<const void*>&, const std::string&, int*);
};

SimCudaImpl& Impl() {
  static SimCudaImpl* impl = new SimCudaImpl();
  return *impl;
}

}  // namespace

Cuda& SimCuda() { return Impl(); }

bool QueueWork(Stream stream, std::function<void()> work, const std::vector<const void*>& refs, const std::string& origin,
               int* status) {
  std::lock_guard<std::mutex> lock(D().mutex);
  if (D().sticky) return *status = D().sticky, false;
  StreamImpl* s = Resolve(stream);
  if (!s) return *status = kInvalidResourceHandle, false;
  std::vector<uintptr_t> bases;
  for (const void* p : refs)
    if (auto* h = Holder(p)) bases.push_back(h->first);
  SimCudaImpl::Push(s, std::move(work), bases, origin);
  return *status = 0, true;
}

bool FindAllocation(const void* ptr, size_t bytes, char* kind, size_t* available) {
  std::lock_guard<std::mutex> lock(D().mutex);
  auto* h = ptr ? Holder(ptr) : nullptr;
  if (!h) return false;
  *kind = h->second.kind;
  *available = h->first + h->second.size - reinterpret_cast<uintptr_t>(ptr);
  return *available >= bytes;
}

bool DeviceAlloc(size_t bytes, void** ptr) {
  void* p = nullptr;
  int status = Impl().Malloc(&p, bytes ? bytes : 1);
  {
    std::lock_guard<std::mutex> lock(D().mutex);
    if (status == kMemoryAllocation) D().lastError = 0;  // TensorRT reports its own failure, not a CUDA error
  }
  *ptr = p;
  return status == 0;
}
void DeviceRelease(void* ptr) {
  std::lock_guard<std::mutex> lock(D().mutex);
  auto it = D().allocs.find(reinterpret_cast<uintptr_t>(ptr));
  if (it == D().allocs.end()) return;
  D().deviceInUse -= static_cast<int64_t>(it->second.size);
  if (it->second.pending > 0) {
    it->second.freed = true;
  } else {
    Deallocate(ptr);
    D().allocs.erase(it);
  }
}

void RaiseSticky(int status) {
  std::lock_guard<std::mutex> lock(D().mutex);
  D().sticky = D().lastError = status;
  D().eventsCv.notify_all();
}
int StickyStatus() {
  std::lock_guard<std::mutex> lock(D().mutex);
  return D().sticky;
}
void ResetCuda() {
  std::lock_guard<std::mutex> lock(D().mutex);
  D().sticky = D().lastError = 0;
}
void CudaStats(Stats* stats) {
  std::lock_guard<std::mutex> lock(D().mutex);
  stats->deviceBytesInUse = D().deviceInUse;
  stats->pinnedBytesInUse = D().pinnedInUse;
  int64_t n = 0;
  for (const auto& a : D().allocs) n += a.second.freed ? 0 : 1;
  stats->allocations = n;
  stats->streams = static_cast<int64_t>(D().streams.size());
}
void SetDeviceCapacity(int64_t bytes) {
  std::lock_guard<std::mutex> lock(D().mutex);
  D().capacity = bytes;
}
void SetStreamDelayMs(double ms) { D().delayMs = ms; }
double StreamDelayMs() { return D().delayMs; }

}  // namespace sim
}  // namespace trt
}  // namespace trtn
