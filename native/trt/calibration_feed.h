// The implicit-INT8 calibration feed (TensorRT 8.6 and 10.x): TensorRT's IInt8Calibrator callbacks, on the
// builder's own thread, answered from the bridge's BatchSource (a TypeScript loader) and the calibration cache.
#pragma once
#include <atomic>

#include "../bridge/batch_source.h"
#include "trt_common.h"

namespace trtn {

class CalibrationFeed : public trt::CalibrationListener {
 public:
  // `targets` hold the calibration shape of each network input (TypeScript re-batches the loader to exactly it).
  CalibrationFeed(std::shared_ptr<BatchSource> source, const JobContext* context, std::vector<BatchTarget> targets,
                  int batchSize, std::vector<uint8_t> cacheIn)
      : source_(std::move(source)), context_(context), targets_(std::move(targets)), batchSize_(batchSize), cacheIn_(std::move(cacheIn)) {}
  ~CalibrationFeed() override {
    for (void* ptr : device_) Trt().cuda().Free(ptr);
  }

  // Calibration data is float32 for every floating-point input whatever the network's type (TensorRT's
  // calibrator reads float, as trtexec and Polygraphy allocate it), and the input's own type otherwise.
  static std::string FeedDtype(trt::DataType type) {
    switch (type) {
      case trt::DataType::kFLOAT: case trt::DataType::kHALF: case trt::DataType::kBF16: case trt::DataType::kFP8: return "float32";
      default: return DtypeName(type);
    }
  }
  static size_t FeedElementSize(trt::DataType type) { return FeedDtype(type) == "float32" ? 4 : DtypeSize(type); }

  int32_t BatchSize() override { return batchSize_; }

  bool GetBatch(void* bindings[], const char* names[], int32_t count) override {
    if (!error_.ok() || context_->Cancelled()) return Stop(error_.ok() ? context_->CancelledError() : error_);
    if (!source_) return Stop({"ERR_CALIB_CACHE", "TensorRT did not accept the calibration cache and no calib.data was given to calibrate anew", {}});
    trt::Cuda& cuda = Trt().cuda();
    if (device_.empty()) {
      for (BatchTarget& target : targets_) {
        void* ptr = nullptr;
        int status = cuda.Malloc(&ptr, target.bytes);
        if (status != trt::Cuda::kSuccess) return Stop(CudaError(status, "cudaMalloc for calibration input '" + target.name + "'"));
        device_.push_back(ptr);
        host_.emplace_back(target.bytes);
        target.dst = host_.back().data();
      }
    }
    JobError error;
    BatchSource::Status status = source_->Next(*context_, targets_, &error);
    if (status == BatchSource::Status::kError) return Stop(error);  // the build then fails with the loader's error
    if (status == BatchSource::Status::kEnd) return false;
    for (int32_t b = 0; b < count; ++b) {
      bindings[b] = nullptr;
      for (size_t t = 0; t < targets_.size(); ++t) {
        if (targets_[t].name != names[b]) continue;
        int copied = cuda.Memcpy(device_[t], host_[t].data(), targets_[t].bytes, trt::Cuda::Copy::kHostToDevice);
        if (copied != trt::Cuda::kSuccess) return Stop(CudaError(copied, "copying calibration batch to the device"));
        bindings[b] = device_[t];
      }
      if (bindings[b] == nullptr) {
        return Stop({"ERR_CALIB_DATA", std::string("TensorRT asked for calibration input '") + names[b] + "' that the calibrator was not given", {{"tensor", names[b]}}});
      }
    }
    return true;
  }

  const void* ReadCache(size_t& length) override {
    length = cacheIn_.size();
    return cacheIn_.empty() ? nullptr : cacheIn_.data();
  }
  void WriteCache(const void* ptr, size_t length) override {
    const uint8_t* bytes = static_cast<const uint8_t*>(ptr);
    cacheOut_.assign(bytes, bytes + length);
  }

  // Whether the feed failed (the loader threw, the data was wrong, the job was cancelled): the build must stop.
  bool Failed() const { return failed_.load(); }
  const JobError& Error() const { return error_; }
  const std::vector<uint8_t>& CacheOut() const { return cacheOut_; }
  int Batches() const { return source_ ? source_->Delivered() : 0; }

 private:
  // getBatch returning false means "end of data" to TensorRT, which would build the whole engine anyway: remember
  // why, so the progress monitor cancels the build (10.x) and the result reports this error.
  bool Stop(JobError error) {
    if (error_.ok()) error_ = std::move(error);
    failed_ = true;
    return false;
  }

  std::shared_ptr<BatchSource> source_;
  const JobContext* context_;
  std::vector<BatchTarget> targets_;
  int batchSize_;
  std::vector<uint8_t> cacheIn_;
  std::vector<uint8_t> cacheOut_;
  std::vector<void*> device_;
  std::vector<std::vector<uint8_t>> host_;
  JobError error_;
  std::atomic<bool> failed_{false};
};

}  // namespace trtn
