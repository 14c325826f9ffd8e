// INT8 calibrators for the implicit path of TensorRT 8.6 and 10.x: a thin adapter from TensorRT's getBatch
// (called on the builder thread) to the bridge's BatchSource, plus the calibration cache in and out.
#pragma once
#include "trt_common.h"

#if TRTN_TRT_IMPLICIT_PRECISION
#include <cuda_runtime_api.h>

#include "../bridge/batch_source.h"

#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
#endif

namespace trtn {

// State shared by the three calibrator classes (TensorRT picks the algorithm from the base class).
class CalibrationFeed {
 public:
  CalibrationFeed(std::shared_ptr<BatchSource> source, const JobContext* context, std::vector<BatchTarget> targets,
                  int batchSize, std::vector<uint8_t> cacheIn)
      : source_(std::move(source)), context_(context), targets_(std::move(targets)), batchSize_(batchSize), cacheIn_(std::move(cacheIn)) {}
  ~CalibrationFeed() {
    for (void* ptr : device_) cudaFree(ptr);
  }

  int32_t BatchSize() const { return batchSize_; }

  bool GetBatch(void* bindings[], char const* names[], int32_t nbBindings) {
    if (!error_.ok()) return false;
    if (!source_) {
      error_ = {"ERR_CALIB_CACHE", "TensorRT did not accept the calibration cache and no calib.data was given to calibrate anew", {}};
      return false;
    }
    if (device_.empty()) {
      for (BatchTarget& target : targets_) {
        void* ptr = nullptr;
        cudaError_t status = cudaMalloc(&ptr, target.bytes);
        if (status != cudaSuccess) {
          error_ = CudaError(status, "cudaMalloc for calibration input '" + target.name + "'");
          return false;
        }
        device_.push_back(ptr);
        host_.emplace_back(target.bytes);
        target.dst = host_.back().data();
      }
    }
    JobError error;
    BatchSource::Status status = source_->Next(*context_, targets_, &error);
    if (status == BatchSource::Status::kError) {
      error_ = error;  // the build then fails; the builder reports this error rather than TensorRT's
      return false;
    }
    if (status == BatchSource::Status::kEnd) return false;
    for (int32_t b = 0; b < nbBindings; ++b) {
      bindings[b] = nullptr;
      for (size_t t = 0; t < targets_.size(); ++t) {
        if (targets_[t].name != names[b]) continue;
        cudaError_t copied = cudaMemcpy(device_[t], host_[t].data(), targets_[t].bytes, cudaMemcpyHostToDevice);
        if (copied != cudaSuccess) {
          error_ = CudaError(copied, "copying calibration batch to the device");
          return false;
        }
        bindings[b] = device_[t];
      }
      if (bindings[b] == nullptr) {
        error_ = {"ERR_CALIB_DATA", std::string("TensorRT asked for calibration input '") + names[b] + "' that the calibrator was not given"};
        return false;
      }
    }
    return true;
  }

  const void* ReadCache(std::size_t& length) {
    length = cacheIn_.size();
    return cacheIn_.empty() ? nullptr : cacheIn_.data();
  }
  void WriteCache(const void* ptr, std::size_t length) {
    const uint8_t* bytes = static_cast<const uint8_t*>(ptr);
    cacheOut_.assign(bytes, bytes + length);
  }

  const JobError& Error() const { return error_; }
  const std::vector<uint8_t>& CacheOut() const { return cacheOut_; }
  int Batches() const { return source_ ? source_->Delivered() : 0; }

 private:
  std::shared_ptr<BatchSource> source_;
  const JobContext* context_;
  std::vector<BatchTarget> targets_;
  int batchSize_;
  std::vector<uint8_t> cacheIn_;
  std::vector<uint8_t> cacheOut_;
  std::vector<void*> device_;
  std::vector<std::vector<uint8_t>> host_;
  JobError error_;
};

template <typename Base>
class Calibrator : public Base {
 public:
  explicit Calibrator(CalibrationFeed* feed) : feed_(feed) {}
  int32_t getBatchSize() const noexcept override { return feed_->BatchSize(); }
  bool getBatch(void* bindings[], char const* names[], int32_t nbBindings) noexcept override {
    return feed_->GetBatch(bindings, names, nbBindings);
  }
  void const* readCalibrationCache(std::size_t& length) noexcept override { return feed_->ReadCache(length); }
  void writeCalibrationCache(void const* ptr, std::size_t length) noexcept override { feed_->WriteCache(ptr, length); }

 private:
  CalibrationFeed* feed_;
};

using EntropyCalibrator = Calibrator<nvinfer1::IInt8EntropyCalibrator2>;
using MinMaxCalibrator = Calibrator<nvinfer1::IInt8MinMaxCalibrator>;
using LegacyEntropyCalibrator = Calibrator<nvinfer1::IInt8EntropyCalibrator>;

}  // namespace trtn

#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

#endif  // TRTN_TRT_IMPLICIT_PRECISION
