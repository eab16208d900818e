// CPU kernel throughput: matmul for the default model's shapes (Q4_1 1536x576,
// Q8_0 49152x576 output head) at T in {1, 8, 32, 512} with 1 and 2 threads,
// and decode attention over 512 keys. Reports GB/s of weights read per call
// (what bounds decode) and GFLOP/s (2 * T * rows * cols per call).
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "kernels/fp16.h"
#include "kernels/ops.h"

namespace nucleus::kernels {
namespace {

// Random weight bytes with sane fp16 scales (d, and m for Q4_1).
std::vector<uint8_t> random_weight_bytes(GgmlType type, int64_t rows, int64_t cols) {
  std::vector<uint8_t> bytes(ggml_row_size(type, cols) * static_cast<size_t>(rows));
  std::mt19937 rng(42);
  for (uint8_t& b : bytes) b = static_cast<uint8_t>(rng());
  const size_t block = type == GgmlType::Q4_1 ? sizeof(BlockQ4_1) : sizeof(BlockQ8_0);
  for (size_t off = 0; off < bytes.size(); off += block) {
    const uint16_t d = float_to_fp16(0.01f), m = float_to_fp16(-0.05f);
    std::memcpy(bytes.data() + off, &d, 2);
    if (type == GgmlType::Q4_1) std::memcpy(bytes.data() + off + 2, &m, 2);
  }
  return bytes;
}

void BM_Matmul(benchmark::State& state, GgmlType type, int64_t rows, int64_t cols) {
  const int64_t T = state.range(0);
  ThreadPool pool(static_cast<int>(state.range(1)));
  const Context ctx{Device::kCpu, &pool};
  const auto bytes = random_weight_bytes(type, rows, cols);
  const WeightView w{type, bytes.data(), rows, cols, ggml_row_size(type, cols)};
  std::vector<float> x(static_cast<size_t>(T * cols)), y(static_cast<size_t>(T * rows));
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  for (float& v : x) v = dist(rng);
  for (auto _ : state) {
    matmul(ctx, w, x.data(), T, y.data());
    benchmark::DoNotOptimize(y.data());
  }
  state.counters["GB/s"] = benchmark::Counter(static_cast<double>(bytes.size()) / 1e9,
                                              benchmark::Counter::kIsIterationInvariantRate);
  state.counters["GFLOP/s"] = benchmark::Counter(2.0 * T * rows * cols / 1e9, benchmark::Counter::kIsIterationInvariantRate);
}

void matmul_args(benchmark::internal::Benchmark* b) {
  b->ArgNames({"T", "threads"});
  for (int threads : {1, 2}) {
    for (int T : {1, 8, 32, 512}) b->Args({T, threads});
  }
  b->Unit(benchmark::kMicrosecond)->UseRealTime();  // wall time: the pool's workers are not in the main thread's CPU time
}

BENCHMARK_CAPTURE(BM_Matmul, Q4_1_1536x576, GgmlType::Q4_1, 1536, 576)->Apply(matmul_args);
BENCHMARK_CAPTURE(BM_Matmul, Q8_0_49152x576, GgmlType::Q8_0, 49152, 576)->Apply(matmul_args);

// One decode token of SmolLM2 (9 query heads, 3 KV heads, head_dim 64) over
// `keys` cached positions in blocks of 16.
void BM_AttentionDecode(benchmark::State& state) {
  const int keys = static_cast<int>(state.range(0));
  ThreadPool pool(static_cast<int>(state.range(1)));
  const Context ctx{Device::kCpu, &pool};
  constexpr int kHeads = 9, kKvHeads = 3, kHeadDim = 64, kBlock = 16;
  const int blocks = (keys + kBlock - 1) / kBlock;
  const int64_t slots = static_cast<int64_t>(blocks) * kBlock;
  std::vector<float> k(static_cast<size_t>(slots * kKvHeads * kHeadDim)), v(k.size());
  std::vector<float> q(kHeads * kHeadDim), out(q.size());
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  for (float& f : k) f = dist(rng);
  for (float& f : v) f = dist(rng);
  for (float& f : q) f = dist(rng);
  std::vector<int32_t> table(static_cast<size_t>(blocks));
  for (int b = 0; b < blocks; ++b) table[b] = blocks - 1 - b;  // reversed: not contiguous in memory
  const int32_t seq = 0, pos = keys - 1;
  const KvLayerView cache{k.data(), v.data(), slots, kKvHeads, kHeadDim};
  const AttentionBatch batch{1, &seq, &pos, table.data(), blocks, kBlock, 1};
  for (auto _ : state) {
    attention(ctx, q.data(), cache, batch, kHeads, 0.125f, out.data());
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["GB/s"] = benchmark::Counter(2.0 * keys * kKvHeads * kHeadDim * sizeof(float) / 1e9,
                                              benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_AttentionDecode)->ArgNames({"keys", "threads"})->Args({512, 1})->Args({512, 2})->Unit(benchmark::kMicrosecond)->UseRealTime();

}  // namespace
}  // namespace nucleus::kernels

BENCHMARK_MAIN();
