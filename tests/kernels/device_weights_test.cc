// DeviceWeights on a fake device (host memory behind the DeviceMemory
// interface), so the registration's bookkeeping and bytes are checked without
// a GPU. The first test is the bug the old upload cache had: it was keyed by
// host address and outlived the memory, so a buffer freed and reallocated at
// the same address found the copy of its old contents.
#include "kernels/device_weights.h"

#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <set>
#include <stdexcept>
#include <vector>

#include "kernels/build_config.h"
#include "kernels/fp16.h"
#include "kernels/ggml_types.h"
#include "kernels/thread_pool.h"
#include "tests/kernels/kernel_test_util.h"

namespace nucleus::kernels {
namespace {

// Host memory that remembers what is live, so a test can see leaks and frees.
class CountingMemory final : public DeviceMemory {
 public:
  explicit CountingMemory(std::set<void*>* live) : live_(live) {}
  void* allocate(size_t bytes) override {
    void* p = ::operator new(bytes == 0 ? 1 : bytes);
    live_->insert(p);
    return p;
  }
  void release(void* p) noexcept override {
    live_->erase(p);
    ::operator delete(p);
  }
  void upload(void* dst, const void* host, size_t bytes) override { std::memcpy(dst, host, bytes); }

 private:
  std::set<void*>* live_;
};

std::vector<float> read(const float* device, size_t n) { return std::vector<float>(device, device + n); }

TEST(DeviceWeights, ANewOwnerNeverSeesTheOldContentsOfAReusedAddress) {
  std::vector<float> bias = {1.0f, 2.0f, 3.0f, 4.0f};
  {
    DeviceWeights first(make_device_memory(Device::kCpu));
    first.add_floats(bias.data(), 4);
    EXPECT_EQ(read(first.floats(bias.data(), 4), 4), bias);
  }
  // The same address with new contents, as a freed and reallocated buffer (the
  // old test's bias, once per weight type) or a second model loaded where the
  // first one was.
  bias = {5.0f, 6.0f, 7.0f, 8.0f};
  DeviceWeights second(make_device_memory(Device::kCpu));
  EXPECT_EQ(second.floats(bias.data(), 4), nullptr) << "an address nobody registered here has no copy";
  second.add_floats(bias.data(), 4);
  EXPECT_EQ(read(second.floats(bias.data(), 4), 4), bias);
}

TEST(DeviceWeights, OwnersAreIndependentAndFreeEverythingTheyHold) {
  std::set<void*> live;
  std::mt19937 rng(1);
  const auto a = test::random_floats(rng, 8), b = test::random_floats(rng, 8);
  const auto w = test::random_weights(rng, GgmlType::Q4_1, 4, 64);
  auto model_a = std::make_unique<DeviceWeights>(std::make_unique<CountingMemory>(&live));
  DeviceWeights model_b(std::make_unique<CountingMemory>(&live));
  model_a->add_floats(a.data(), 8);
  model_a->add_matrix(w.view, nullptr);
  model_b.add_floats(b.data(), 8);
  model_b.add_matrix(w.view, nullptr);  // the same host weight in two models: two copies
  EXPECT_EQ(live.size(), 4u);
  EXPECT_EQ(model_a->bytes(), 8 * sizeof(float) + 4 * 64 * sizeof(uint16_t));
  model_a.reset();  // unloading one model ...
  EXPECT_EQ(live.size(), 2u);
  // ... leaves the other's copies alive and readable (the global cache dropped them all).
  EXPECT_TRUE(live.count(const_cast<float*>(model_b.floats(b.data(), 8))));
  EXPECT_EQ(read(model_b.floats(b.data(), 8), 8), b);
  EXPECT_EQ(model_b.floats(a.data(), 8), nullptr);
}

// The fp16 bytes are the rounding of the CPU's dequantize_row values, the same
// whether the rows are converted on one thread or over a pool, and whether the
// matrix spans one upload or several.
TEST(DeviceWeights, MatricesAreTheRoundedDequantizedRowsWithAnyPool) {
  std::mt19937 rng(2);
  ThreadPool pool(3);
  for (GgmlType type : {GgmlType::F32, GgmlType::F16, GgmlType::BF16, GgmlType::Q4_0, GgmlType::Q4_1, GgmlType::Q8_0,
                        GgmlType::Q4_K, GgmlType::Q6_K}) {
    const int64_t rows = 37, cols = 256;
    const auto w = test::random_weights(rng, type, rows, cols);
    DeviceWeights alone(make_device_memory(Device::kCpu)), pooled(make_device_memory(Device::kCpu));
    alone.add_matrix(w.view, nullptr);
    pooled.add_matrix(w.view, &pool);
    const uint16_t* a = alone.matrix(w.view);
    const uint16_t* p = pooled.matrix(w.view);
    ASSERT_NE(a, nullptr);
    ASSERT_NE(p, nullptr);
    for (int64_t i = 0; i < rows * cols; ++i) {
      ASSERT_EQ(a[i], float_to_fp16(w.dequantized[i])) << ggml_type_name(type) << " element " << i;
      ASSERT_EQ(p[i], a[i]) << ggml_type_name(type) << " element " << i;
    }
  }
  // Wider than one staging chunk (4M elements): several uploads, same bytes.
  const auto big = test::random_weights(rng, GgmlType::Q8_0, 4100, 1024);
  DeviceWeights chunked(make_device_memory(Device::kCpu));
  chunked.add_matrix(big.view, &pool);
  const uint16_t* c = chunked.matrix(big.view);
  for (int64_t i = 0; i < big.view.rows * big.view.cols; i += 997) {
    ASSERT_EQ(c[i], float_to_fp16(big.dequantized[i])) << "element " << i;
  }
  ASSERT_EQ(c[big.view.rows * big.view.cols - 1], float_to_fp16(big.dequantized.back()));
}

TEST(DeviceWeights, ShapesAreCheckedNotGuessed) {
  std::mt19937 rng(4);
  const auto w = test::random_weights(rng, GgmlType::Q8_0, 8, 64);
  DeviceWeights weights(make_device_memory(Device::kCpu));
  weights.add_matrix(w.view, nullptr);
  weights.add_matrix(w.view, nullptr);  // tied embeddings register the same view twice: one copy
  EXPECT_EQ(weights.bytes(), 8 * 64 * sizeof(uint16_t));
  WeightView fewer_rows = w.view;
  fewer_rows.rows = 4;
  EXPECT_THROW(weights.matrix(fewer_rows), std::invalid_argument);
  EXPECT_THROW(weights.add_matrix(fewer_rows, nullptr), std::invalid_argument);
  WeightView other = w.view;
  other.data = w.bytes.data() + w.view.row_bytes;  // a view nobody registered
  EXPECT_EQ(weights.matrix(other), nullptr);

  const std::vector<float> norm(16, 1.0f);
  weights.add_floats(norm.data(), 16);
  EXPECT_NE(weights.floats(norm.data(), 8), nullptr);  // a prefix is fine
  EXPECT_THROW(weights.floats(norm.data(), 17), std::invalid_argument);
  EXPECT_THROW(weights.add_floats(norm.data(), 0), std::invalid_argument);
  EXPECT_THROW(DeviceWeights(nullptr), std::invalid_argument);
}

#if !NUCLEUS_HAVE_CUDA
TEST(DeviceWeights, CudaMemoryWithoutCudaSaysSo) {
  EXPECT_THROW(make_device_memory(Device::kCuda), std::runtime_error);
}
#endif

}  // namespace
}  // namespace nucleus::kernels
