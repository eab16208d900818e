// CPU kernel throughput: matmul for the default model's shapes (Q4_1 1536x576,
// Q8_0 49152x576 output head) and a 1B model's Q4_K FFN (8192x2048) at T in {1, 8, 32, 512} with 1 and 2 threads,
// repacked per call and prepacked at load (as the model runs them); attention
// at decode (one sequence over 512 keys; 32 sequences over 80 keys, as in
// `bench model` at batch 32) and at prefill (512 rows of one sequence); and
// the core's peak rate for the instructions the kernels are built on
// (VPDPBUSD on ZMM for the quantized matmul, 256-bit FMA for attention), the
// ceiling the matmul figures are measured against. Reports GB/s of weights
// read per call (what bounds decode) and GFLOP/s (2 * MACs per call).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include <immintrin.h>

#include "kernels/cpu/cpu_features.h"
#include "kernels/fp16.h"
#include "kernels/host_memory.h"
#include "kernels/ops.h"
#include "kernels/packed_weight.h"
#include "kernels/read_bandwidth.h"

namespace nucleus::kernels {
namespace {

// Where a block keeps its fp16 scale d, and its min / dmin (0 when it has none).
struct ScaleOffsets {
  size_t d = 0;
  size_t m = 0;
  float d_value = 0.01f;
  float m_value = 0.0f;
};

ScaleOffsets scale_offsets(GgmlType type) {
  switch (type) {
    case GgmlType::Q4_1: return {0, 2, 0.01f, -0.05f};
    case GgmlType::Q5_1: return {0, 2, 0.01f, -0.05f};
    case GgmlType::Q4_K: return {0, offsetof(BlockQ4_K, dmin), 0.0002f, 0.001f};
    case GgmlType::Q5_K: return {0, offsetof(BlockQ5_K, dmin), 0.0002f, 0.001f};
    case GgmlType::Q6_K: return {offsetof(BlockQ6_K, d), 0, 0.0002f};
    case GgmlType::Q2_K: return {offsetof(BlockQ2_K, d), offsetof(BlockQ2_K, dmin), 0.0002f, 0.001f};
    case GgmlType::Q3_K: return {offsetof(BlockQ3_K, d), 0, 0.0002f};
    case GgmlType::IQ4_XS: return {0, 0, 0.0002f};
    default: return {};  // Q4_0, Q5_0, Q8_0, IQ4_NL: d first, no min
  }
}

// Random weight bytes with sane fp16 scales (random ones could be inf, NaN or subnormal).
std::vector<uint8_t> random_weight_bytes(GgmlType type, int64_t rows, int64_t cols) {
  std::vector<uint8_t> bytes(ggml_row_size(type, cols) * static_cast<size_t>(rows));
  std::mt19937 rng(42);
  for (uint8_t& b : bytes) b = static_cast<uint8_t>(rng());
  const size_t block = ggml_type_traits(static_cast<uint32_t>(type))->type_size;
  const ScaleOffsets s = scale_offsets(type);
  const uint16_t d = float_to_fp16(s.d_value), m = float_to_fp16(s.m_value);
  for (size_t off = 0; off < bytes.size(); off += block) {
    std::memcpy(bytes.data() + off + s.d, &d, 2);
    if (s.m != 0) std::memcpy(bytes.data() + off + s.m, &m, 2);
  }
  return bytes;
}

void BM_Matmul(benchmark::State& state, GgmlType type, int64_t rows, int64_t cols, bool prepack) {
  const int64_t T = state.range(0);
  ThreadPool pool(static_cast<int>(state.range(1)));
  const Context ctx{Device::kCpu, &pool};
  const auto bytes = random_weight_bytes(type, rows, cols);
  WeightView w{type, bytes.data(), rows, cols, ggml_row_size(type, cols)};
  PackedWeight packed;
  if (prepack) {
    packed = pack_weight_cpu(pool, w);
    if (packed.empty()) {
      state.SkipWithError("no prepacked kernel for this type on this path");
      return;
    }
    w.cpu_packed = packed.data();
  }
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

BENCHMARK_CAPTURE(BM_Matmul, Q4_1_1536x576, GgmlType::Q4_1, 1536, 576, false)->Apply(matmul_args);
BENCHMARK_CAPTURE(BM_Matmul, Q4_1_1536x576_prepacked, GgmlType::Q4_1, 1536, 576, true)->Apply(matmul_args);
BENCHMARK_CAPTURE(BM_Matmul, Q8_0_49152x576, GgmlType::Q8_0, 49152, 576, false)->Apply(matmul_args);
// Q4_K at a 1B model's FFN shape (Llama-3.2-1B: 8192 x 2048), the bulk of a Q4_K_M file.
BENCHMARK_CAPTURE(BM_Matmul, Q4_K_8192x2048, GgmlType::Q4_K, 8192, 2048, false)->Apply(matmul_args);
BENCHMARK_CAPTURE(BM_Matmul, Q4_K_8192x2048_prepacked, GgmlType::Q4_K, 8192, 2048, true)->Apply(matmul_args);
BENCHMARK_CAPTURE(BM_Matmul, Q5_K_8192x2048, GgmlType::Q5_K, 8192, 2048, false)->Apply(matmul_args);
BENCHMARK_CAPTURE(BM_Matmul, Q5_K_8192x2048_prepacked, GgmlType::Q5_K, 8192, 2048, true)->Apply(matmul_args);
// And at the down projection's shape (2048 x 8192: 8192-element rows, 32 super-blocks each).
BENCHMARK_CAPTURE(BM_Matmul, Q4_K_2048x8192, GgmlType::Q4_K, 2048, 8192, false)->Apply(matmul_args);
BENCHMARK_CAPTURE(BM_Matmul, Q4_K_2048x8192_prepacked, GgmlType::Q4_K, 2048, 8192, true)->Apply(matmul_args);
// Q6_K: the FFN down projections of a Q4_K_M file (2048 x 8192).
BENCHMARK_CAPTURE(BM_Matmul, Q6_K_2048x8192, GgmlType::Q6_K, 2048, 8192, false)->Apply(matmul_args);
BENCHMARK_CAPTURE(BM_Matmul, Q6_K_2048x8192_prepacked, GgmlType::Q6_K, 2048, 8192, true)->Apply(matmul_args);
BENCHMARK_CAPTURE(BM_Matmul, Q8_0_49152x576_prepacked, GgmlType::Q8_0, 49152, 576, true)->Apply(matmul_args);
// Q6_K with short rows and many of them: the tied LM head of a Q4_K_M file (Llama-3.2-1B: 128256 x 2048), a quarter of it.
BENCHMARK_CAPTURE(BM_Matmul, Q6_K_32768x2048_prepacked, GgmlType::Q6_K, 32768, 2048, true)->Apply(matmul_args);
// Q4_K and Q5_K at a shape that does not fit in L3 (64-80 MB): decode streams them from DRAM, as a 1B model's layers.
BENCHMARK_CAPTURE(BM_Matmul, Q4_K_65536x2048_prepacked, GgmlType::Q4_K, 65536, 2048, true)->Apply(matmul_args);
BENCHMARK_CAPTURE(BM_Matmul, Q5_K_65536x2048_prepacked, GgmlType::Q5_K, 65536, 2048, true)->Apply(matmul_args);
// Q4_0 and Q8_0 files at the FFN shape.
BENCHMARK_CAPTURE(BM_Matmul, Q4_0_8192x2048_prepacked, GgmlType::Q4_0, 8192, 2048, true)->Apply(matmul_args);
BENCHMARK_CAPTURE(BM_Matmul, Q8_0_8192x2048_prepacked, GgmlType::Q8_0, 8192, 2048, true)->Apply(matmul_args);
// The other types of the common files at the same FFN shape: Q3_K (Q3_K_M), Q2_K, IQ4_XS.
// As stored they run the AVX2 kernels (the AVX-512 path's fallback); prepacked the VNNI
// ones, or with NUCLEUS_NO_AVX512=1 the AVX2 panel kernels.
BENCHMARK_CAPTURE(BM_Matmul, Q3_K_8192x2048, GgmlType::Q3_K, 8192, 2048, false)->Apply(matmul_args);
BENCHMARK_CAPTURE(BM_Matmul, Q3_K_8192x2048_prepacked, GgmlType::Q3_K, 8192, 2048, true)->Apply(matmul_args);
BENCHMARK_CAPTURE(BM_Matmul, Q2_K_8192x2048, GgmlType::Q2_K, 8192, 2048, false)->Apply(matmul_args);
BENCHMARK_CAPTURE(BM_Matmul, Q2_K_8192x2048_prepacked, GgmlType::Q2_K, 8192, 2048, true)->Apply(matmul_args);
BENCHMARK_CAPTURE(BM_Matmul, IQ4_XS_8192x2048, GgmlType::IQ4_XS, 8192, 2048, false)->Apply(matmul_args);
BENCHMARK_CAPTURE(BM_Matmul, IQ4_XS_8192x2048_prepacked, GgmlType::IQ4_XS, 8192, 2048, true)->Apply(matmul_args);
// The 32-element types with prepacked VNNI kernels besides Q4_0 / Q4_1 / Q8_0.
BENCHMARK_CAPTURE(BM_Matmul, Q5_0_8192x2048, GgmlType::Q5_0, 8192, 2048, false)->Apply(matmul_args);
BENCHMARK_CAPTURE(BM_Matmul, Q5_0_8192x2048_prepacked, GgmlType::Q5_0, 8192, 2048, true)->Apply(matmul_args);
BENCHMARK_CAPTURE(BM_Matmul, Q5_1_8192x2048, GgmlType::Q5_1, 8192, 2048, false)->Apply(matmul_args);
BENCHMARK_CAPTURE(BM_Matmul, Q5_1_8192x2048_prepacked, GgmlType::Q5_1, 8192, 2048, true)->Apply(matmul_args);
BENCHMARK_CAPTURE(BM_Matmul, IQ4_NL_8192x2048, GgmlType::IQ4_NL, 8192, 2048, false)->Apply(matmul_args);
BENCHMARK_CAPTURE(BM_Matmul, IQ4_NL_8192x2048_prepacked, GgmlType::IQ4_NL, 8192, 2048, true)->Apply(matmul_args);

// Packing at load (pack_weight_cpu): what a weight's panels cost once, on the
// path that is enabled (NUCLEUS_NO_AVX512=1: the AVX2 one's types).
void BM_PackWeight(benchmark::State& state, GgmlType type, int64_t rows, int64_t cols) {
  ThreadPool pool(static_cast<int>(state.range(0)));
  const auto bytes = random_weight_bytes(type, rows, cols);
  const WeightView w{type, bytes.data(), rows, cols, ggml_row_size(type, cols)};
  for (auto _ : state) {
    PackedWeight packed = pack_weight_cpu(pool, w);
    if (packed.empty()) {
      state.SkipWithError("no prepacked kernel for this type on this path");
      return;
    }
    benchmark::DoNotOptimize(packed.data());
  }
  state.counters["GB/s"] = benchmark::Counter(static_cast<double>(bytes.size()) / 1e9,
                                              benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK_CAPTURE(BM_PackWeight, Q4_K_8192x2048, GgmlType::Q4_K, 8192, 2048)
    ->ArgName("threads")->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(BM_PackWeight, Q6_K_2048x8192, GgmlType::Q6_K, 2048, 8192)
    ->ArgName("threads")->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();

// The machine's read bandwidth on all threads (STREAM-like, kernels/read_bandwidth.h):
// the ceiling of memory-bound decode. The T:1 matmuls above read their weights
// once per call; their GB/s over this figure is how close decode comes to it.
void BM_ReadBandwidth(benchmark::State& state) {
  ThreadPool pool(static_cast<int>(state.range(0)));
  ReadBandwidth best;
  for (auto _ : state) best = measure_read_bandwidth(pool, ReadBandwidthOptions{size_t{512} << 20, 3});
  state.counters["GB/s"] = best.bytes_per_second / 1e9;
  state.counters["median GB/s"] = best.median_bytes_per_second / 1e9;
}
BENCHMARK(BM_ReadBandwidth)->ArgName("threads")->Arg(1)->Arg(2)->Iterations(1)->Unit(benchmark::kMillisecond)->UseRealTime();

// Times attention() on the batch; GFLOP/s counts q.k and p.v per query head and visible key.
void time_attention(benchmark::State& state, const Context& ctx, const std::vector<float>& q, std::vector<float>& out,
                    const KvLayerView& cache, const AttentionBatch& batch, int heads) {
  double macs = 0;
  for (int64_t t = 0; t < batch.num_tokens; ++t) macs += 2.0 * heads * cache.head_dim * (batch.token_pos[t] + 1);
  for (auto _ : state) {
    attention(ctx, q.data(), cache, batch, heads, 0.125f, out.data());
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["GFLOP/s"] = benchmark::Counter(2.0 * macs / 1e9, benchmark::Counter::kIsIterationInvariantRate);
}

// SmolLM2's attention (9 query heads, 3 KV heads, head_dim 64) for `seqs`
// sequences with `rows` query rows each (their last positions) over `keys`
// cached positions, in blocks of 16 scattered in memory (shuffled block ids).
void BM_Attention(benchmark::State& state) {
  const int seqs = static_cast<int>(state.range(0)), rows = static_cast<int>(state.range(1));
  const int keys = static_cast<int>(state.range(2));
  ThreadPool pool(static_cast<int>(state.range(3)));
  const Context ctx{Device::kCpu, &pool};
  constexpr int kHeads = 9, kKvHeads = 3, kHeadDim = 64, kBlock = 16;
  const int blocks = (keys + kBlock - 1) / kBlock;
  const int64_t slots = static_cast<int64_t>(seqs) * blocks * kBlock;
  std::vector<float> k(static_cast<size_t>(slots * kKvHeads * kHeadDim)), v(k.size());
  const int64_t T = static_cast<int64_t>(seqs) * rows;
  std::vector<float> q(static_cast<size_t>(T * kHeads * kHeadDim)), out(q.size());
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  for (float& f : k) f = dist(rng);
  for (float& f : v) f = dist(rng);
  for (float& f : q) f = dist(rng);
  std::vector<int32_t> table(static_cast<size_t>(seqs) * blocks);
  for (size_t i = 0; i < table.size(); ++i) table[i] = static_cast<int32_t>(i);
  std::shuffle(table.begin(), table.end(), rng);
  std::vector<int32_t> seq(static_cast<size_t>(T)), pos(static_cast<size_t>(T));
  for (int64_t t = 0; t < T; ++t) {
    seq[t] = static_cast<int32_t>(t / rows);
    pos[t] = keys - rows + static_cast<int32_t>(t % rows);
  }
  const KvLayerView cache{k.data(), v.data(), slots, kKvHeads, kHeadDim};
  const AttentionBatch batch{T, seq.data(), pos.data(), table.data(), blocks, kBlock, seqs};
  time_attention(state, ctx, q, out, cache, batch, kHeads);
}
BENCHMARK(BM_Attention)
    ->ArgNames({"seqs", "rows", "keys", "threads"})
    ->Args({1, 1, 512, 1})
    ->Args({1, 1, 512, 2})
    ->Args({32, 1, 80, 1})
    ->Args({32, 1, 80, 2})
    ->Args({1, 512, 512, 1})
    ->Args({1, 512, 512, 2})
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();

// A 1B Llama's float16 KV cache (8 KV heads of 64) of `slots` slots on huge
// pages, as the engine's (kernels/host_memory.h), every slot written with
// random keys and values; layout_block as KvLayerView::block_size.
struct Llama1bF16Cache {
  static constexpr int kKvHeads = 8, kHeadDim = 64;
  HostBuffer k, v;
  KvLayerView view;
  Llama1bF16Cache(const Context& ctx, int64_t slots, int layout_block, std::mt19937& rng)
      : view{nullptr, nullptr, slots, kKvHeads, kHeadDim, KvDtype::kF16} {
    view.block_size = layout_block;
    const size_t cache_bytes = static_cast<size_t>(slots) * view.slot_bytes();
    k = allocate_host_buffer(cache_bytes);
    v = allocate_host_buffer(cache_bytes);
    view.k = k.get();
    view.v = v.get();
    std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
    std::vector<float> k_new(static_cast<size_t>(slots * kKvHeads * kHeadDim)), v_new(k_new.size());
    for (float& f : k_new) f = dist(rng);
    for (float& f : v_new) f = dist(rng);
    std::vector<int32_t> all(static_cast<size_t>(slots));
    for (int64_t s = 0; s < slots; ++s) all[s] = static_cast<int32_t>(s);
    write_kv(ctx, view, k_new.data(), v_new.data(), all.data(), slots);
  }
};

// A 1B Llama's attention (32 query heads, 8 KV heads, head_dim 64) over a
// float16 cache at depth: `seqs` decode rows, each over `keys` cached
// positions of its own sequence, as `bench/peers/depth-bench.sh` decodes
// after 4096 tokens. The blocks of 16 are in order in memory (a sequence on
// a fresh server) or shuffled (`scattered`, the pool after churn); `layout`
// 1 is the engine's (a block's rows of one KV head consecutive), 0 the
// slot-major one (kernels/ops.h). GB/s is K and V bytes read per call: the
// 4096-key cases fit this machine's L3, the 32768-key ones (64 MB a call) do
// not, as a real model's layers (weights read in between) do not.
void BM_AttentionDepthF16(benchmark::State& state) {
  const int seqs = static_cast<int>(state.range(0)), keys = static_cast<int>(state.range(1));
  const bool scattered = state.range(2) != 0;
  ThreadPool pool(static_cast<int>(state.range(4)));
  const Context ctx{Device::kCpu, &pool};
  constexpr int kHeads = 32, kHeadDim = Llama1bF16Cache::kHeadDim, kBlock = 32;
  const int blocks = (keys + kBlock - 1) / kBlock;
  const int64_t slots = static_cast<int64_t>(seqs) * blocks * kBlock;
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  const Llama1bF16Cache cache(ctx, slots, state.range(3) != 0 ? kBlock : 1, rng);
  const KvLayerView& view = cache.view;
  std::vector<float> q(static_cast<size_t>(seqs) * kHeads * kHeadDim), out(q.size());
  for (float& f : q) f = dist(rng);
  std::vector<int32_t> table(static_cast<size_t>(seqs) * blocks);
  for (size_t i = 0; i < table.size(); ++i) table[i] = static_cast<int32_t>(i);
  if (scattered) std::shuffle(table.begin(), table.end(), rng);
  std::vector<int32_t> seq(static_cast<size_t>(seqs)), pos(static_cast<size_t>(seqs), keys - 1);
  for (int s = 0; s < seqs; ++s) seq[s] = s;
  const AttentionBatch batch{seqs, seq.data(), pos.data(), table.data(), blocks, kBlock, seqs};
  for (auto _ : state) {
    attention(ctx, q.data(), view, batch, kHeads, 0.125f, out.data());
    benchmark::DoNotOptimize(out.data());
  }
  const double bytes = 2.0 * seqs * keys * static_cast<double>(view.slot_bytes());
  state.counters["GB/s"] = benchmark::Counter(bytes / 1e9, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["GFLOP/s"] =
      benchmark::Counter(4.0 * seqs * keys * kHeads * kHeadDim / 1e9, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_AttentionDepthF16)
    ->ArgNames({"seqs", "keys", "scattered", "layout", "threads"})
    ->ArgsProduct({{1}, {4096, 32768}, {0, 1}, {0, 1}, {1, 2}})
    ->Args({8, 4096, 1, 1, 2})
    ->Args({8, 4096, 1, 0, 2})
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();

// A 1B Llama's prefill attention over a float16 cache in the engine's layout:
// one sequence's `rows` query rows, the last of them at position keys - 1
// (prefill 512: rows = keys = 512), so the causal mask halves the work.
void BM_AttentionPrefillF16(benchmark::State& state) {
  const int rows = static_cast<int>(state.range(0)), keys = static_cast<int>(state.range(1));
  ThreadPool pool(static_cast<int>(state.range(2)));
  const Context ctx{Device::kCpu, &pool};
  constexpr int kHeads = 32, kHeadDim = Llama1bF16Cache::kHeadDim, kBlock = 32;
  const int blocks = (keys + kBlock - 1) / kBlock;
  const int64_t slots = static_cast<int64_t>(blocks) * kBlock;
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  const Llama1bF16Cache cache(ctx, slots, kBlock, rng);
  const KvLayerView& view = cache.view;
  std::vector<float> q(static_cast<size_t>(rows) * kHeads * kHeadDim), out(q.size());
  for (float& f : q) f = dist(rng);
  std::vector<int32_t> table(static_cast<size_t>(blocks));
  for (size_t i = 0; i < table.size(); ++i) table[i] = static_cast<int32_t>(i);
  std::vector<int32_t> seq(static_cast<size_t>(rows), 0), pos(static_cast<size_t>(rows));
  for (int r = 0; r < rows; ++r) pos[r] = keys - rows + r;
  const AttentionBatch batch{rows, seq.data(), pos.data(), table.data(), blocks, kBlock, 1};
  time_attention(state, ctx, q, out, view, batch, kHeads);
}
BENCHMARK(BM_AttentionPrefillF16)
    ->ArgNames({"rows", "keys", "threads"})
    ->Args({512, 512, 1})
    ->Args({512, 512, 2})
    ->Args({512, 4096, 1})
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();

// One core's peak: 12 independent chains of one instruction, the rate the
// matmul and attention figures above can be held against. The chains are
// spelled in asm on fixed registers: written with intrinsics on an array, GCC
// stored the 12 accumulators back to the stack every iteration, and the stores
// capped the figure (VPDPBUSD on ZMM read 212 GFLOP/s on a Zen 4 core whose
// instruction runs at 468).
#define NUCLEUS_TWELVE_CHAINS(insn, reg)                                                                  \
  insn " %%" reg "14, %%" reg "0, %%" reg "0\n" insn " %%" reg "14, %%" reg "1, %%" reg "1\n"                \
  insn " %%" reg "14, %%" reg "2, %%" reg "2\n" insn " %%" reg "14, %%" reg "3, %%" reg "3\n"                \
  insn " %%" reg "14, %%" reg "4, %%" reg "4\n" insn " %%" reg "14, %%" reg "5, %%" reg "5\n"                \
  insn " %%" reg "14, %%" reg "6, %%" reg "6\n" insn " %%" reg "14, %%" reg "7, %%" reg "7\n"                \
  insn " %%" reg "14, %%" reg "8, %%" reg "8\n" insn " %%" reg "14, %%" reg "9, %%" reg "9\n"                \
  insn " %%" reg "14, %%" reg "10, %%" reg "10\n" insn " %%" reg "14, %%" reg "11, %%" reg "11\n"
// What the chains write, as the asm's clobbers (xmmN names the whole register).
#define NUCLEUS_CHAIN_REGISTERS \
  "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11"

// VPDPBUSD on ZMM: 64 u8 x s8 multiply-adds into int32, the multiply of the AVX-512 kernels (*_avx512.cc).
__attribute__((target("avx512f,avx512vnni"))) void vnni_chains(int64_t iters, int32_t* sink) {
  for (int64_t it = 0; it < iters; ++it) {
    __asm__ volatile(NUCLEUS_TWELVE_CHAINS("vpdpbusd", "zmm") ::: NUCLEUS_CHAIN_REGISTERS);
  }
  *sink = 0;
}

__attribute__((target("avx2,fma"))) void fma256_chains(int64_t iters, float* sink) {
  for (int64_t it = 0; it < iters; ++it) {
    // ymm0..11 += ymm0..11 * ymm14: 12 independent chains, enough to cover the FMA latency.
    __asm__ volatile(NUCLEUS_TWELVE_CHAINS("vfmadd231ps", "ymm") ::: NUCLEUS_CHAIN_REGISTERS);
  }
  *sink = 0;
}

// VPMADDUBSW on YMM: 32 u8 x s8 products summed in pairs to int16, the
// multiply of every AVX2 quantized kernel (*_avx2.cc). The chains read their
// own result, so they measure a dependent stream as the kernels' sums are.
__attribute__((target("avx2"))) void maddubs256_chains(int64_t iters, int32_t* sink) {
  for (int64_t it = 0; it < iters; ++it) {
    __asm__ volatile(NUCLEUS_TWELVE_CHAINS("vpmaddubsw", "ymm") ::: NUCLEUS_CHAIN_REGISTERS);
  }
  *sink = 0;
}
#undef NUCLEUS_TWELVE_CHAINS
#undef NUCLEUS_CHAIN_REGISTERS

// GFLOP/s counts 2 per multiply-add, as the matmul figures do: VPDPBUSD on ZMM
// is 64 multiply-adds (u8 x s8 into int32), VPMADDUBSW on YMM 32, a 256-bit FMA 8.
template <typename Sink>
void BM_Peak(benchmark::State& state, bool (*enabled)(), void (*chains)(int64_t, Sink*), int macs_per_instruction) {
  if (!enabled()) {
    state.SkipWithError("this CPU lacks the instruction");
    return;
  }
  constexpr int64_t kIters = 1 << 20;
  Sink sink = 0;
  for (auto _ : state) {
    chains(kIters, &sink);
    benchmark::DoNotOptimize(sink);
  }
  state.counters["GFLOP/s"] =
      benchmark::Counter(2.0 * macs_per_instruction * 12 * kIters / 1e9, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK_CAPTURE(BM_Peak, VnniZmm, cpu::avx512_enabled, vnni_chains, 64)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_Peak, MaddubsYmm, cpu::avx2_enabled, maddubs256_chains, 32)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_Peak, Fma256, cpu::avx2_enabled, fma256_chains, 8)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace nucleus::kernels

BENCHMARK_MAIN();
