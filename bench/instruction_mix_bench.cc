// The throughput ceilings of the AVX2 integer instruction mixes that the
// quantized matmul kernels are built from, measured on this CPU: a register-
// only loop of independent chains (no loads but the activation broadcasts
// where named), 6 accumulators pinned in registers. A kernel's GFLOP/s in
// kernels_bench divided by its mix's figure here is how much of the
// machine's reachable rate it gets; the mix itself, not the kernel, is what
// caps the signed types (Q8_0, IQ4_NL, IQ4_XS) and Q6_K below the 4-bit ones.
//
// One step = one 256-bit vpmaddubsw = 32 multiply-adds (64 flops):
//   unsigned4:  maddubs, add16                   (Q4_0/Q4_K: 8 steps per 16-bit sum)
//   unsigned4_bcast: the same plus one activation broadcast per 2 steps (as
//               in a tile of tokens x 2 halves of 8 rows)
//   unsigned4_load: the same with a plain 256-bit load per 2 steps in place of
//               the broadcast (activations stored pre-broadcast): on Zen 3 it
//               is slower than the broadcast (247 vs 283 GFLOP/s), so
//               pre-broadcasting is no way around the broadcasts' cost
//   q6k:        maddubs, and per 2 steps add16, madd (scale), add32 (Q6_K)
//   signed:     psign (w's sign onto x), maddubs, madd, add32 (Q8_0, IQ4_NL)
//   signed_nosign: maddubs, madd, add32 (what signed costs without the psign)
#include <benchmark/benchmark.h>
#include <immintrin.h>

#include <cstdint>
#include <cstring>

namespace {

enum class Mix { kUnsigned4, kUnsigned4Bcast, kUnsigned4Load, kQ6K, kSigned, kSignedNoSign };

inline int32_t load_i32(const uint8_t* p) {
  int32_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

template <class V>
__attribute__((target("avx2"), always_inline)) inline void keep(V& v) {
  __asm__ volatile("" : "+x"(v));
}

// One step on accumulator d (weights w, sign source s, activations x); the Q6_K
// mix does its two maddubs on the odd steps.
template <Mix kMix>
__attribute__((target("avx2"), always_inline)) inline void step(__m256i& d, int k, __m256i w0, __m256i w1, __m256i s,
                                                              __m256i x_prev, __m256i x) {
  const __m256i w = k % 2 ? w1 : w0;
  if constexpr (kMix == Mix::kUnsigned4 || kMix == Mix::kUnsigned4Bcast || kMix == Mix::kUnsigned4Load) {
    d = _mm256_add_epi16(d, _mm256_maddubs_epi16(w, x));
  } else if constexpr (kMix == Mix::kQ6K) {
    if (k % 2 == 1) {
      const __m256i sum16 = _mm256_add_epi16(_mm256_maddubs_epi16(w0, x_prev), _mm256_maddubs_epi16(w1, x));
      d = _mm256_add_epi32(d, _mm256_madd_epi16(sum16, s));
    }
  } else if constexpr (kMix == Mix::kSigned) {
    d = _mm256_add_epi32(d, _mm256_madd_epi16(_mm256_maddubs_epi16(w, _mm256_sign_epi8(x, s)), _mm256_set1_epi16(1)));
  } else {
    d = _mm256_add_epi32(d, _mm256_madd_epi16(_mm256_maddubs_epi16(w, x), _mm256_set1_epi16(1)));
  }
  keep(d);
}

template <Mix kMix>
__attribute__((target("avx2"), noinline)) int run(int64_t iterations, const uint8_t* x_bytes) {
  __m256i w0 = _mm256_set1_epi8(3), w1 = _mm256_set1_epi8(5), s0 = _mm256_set1_epi8(-1), s1 = _mm256_set1_epi8(2);
  __m256i x0 = _mm256_set1_epi8(7), x1 = _mm256_set1_epi8(9), x2 = _mm256_set1_epi8(11);
  __m256i d0 = _mm256_setzero_si256(), d1 = d0, d2 = d0, d3 = d0, d4 = d0, d5 = d0;
  // kStepsPerIteration steps: 3 activation vectors x 2 weight vectors (16
  // registers hold them, the accumulators and the sign sources).
  for (int64_t i = 0; i < iterations; ++i) {
    if constexpr (kMix == Mix::kUnsigned4Bcast) {
      const uint8_t* p = x_bytes + (i & 63) * 16;
      x0 = _mm256_set1_epi32(load_i32(p));
      x1 = _mm256_set1_epi32(load_i32(p + 4));
      x2 = _mm256_set1_epi32(load_i32(p + 8));
    } else if constexpr (kMix == Mix::kUnsigned4Load) {
      const uint8_t* p = x_bytes + (i & 15) * 96;
      x0 = _mm256_load_si256(reinterpret_cast<const __m256i*>(p));
      x1 = _mm256_load_si256(reinterpret_cast<const __m256i*>(p + 32));
      x2 = _mm256_load_si256(reinterpret_cast<const __m256i*>(p + 64));
    }
    step<kMix>(d0, 0, w0, w1, s0, x0, x0), step<kMix>(d1, 1, w0, w1, s1, x0, x0);
    step<kMix>(d2, 0, w0, w1, s0, x1, x1), step<kMix>(d3, 1, w0, w1, s1, x1, x1);
    step<kMix>(d4, 0, w0, w1, s0, x2, x2), step<kMix>(d5, 1, w0, w1, s1, x2, x2);
    keep(x0), keep(x1), keep(x2), keep(w0), keep(w1);
  }
  const __m256i sum = _mm256_add_epi32(_mm256_add_epi32(_mm256_add_epi32(d0, d1), _mm256_add_epi32(d2, d3)),
                                       _mm256_add_epi32(d4, d5));
  return _mm256_extract_epi32(sum, 0);
}

template <Mix kMix>
void BM_Mix(benchmark::State& state) {
  if (!__builtin_cpu_supports("avx2")) {
    state.SkipWithError("no AVX2 on this CPU");
    return;
  }
  alignas(64) static uint8_t x_bytes[16 * 96 + 64] = {1};
  constexpr int64_t kIterations = 1 << 20;
  for (auto _ : state) benchmark::DoNotOptimize(run<kMix>(kIterations, x_bytes));
  const double flops = 6.0 * 32 * 2 * kIterations;  // 6 steps of 32 multiply-adds per iteration
  state.counters["GFLOP/s"] = benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

BENCHMARK_TEMPLATE(BM_Mix, Mix::kUnsigned4)->Name("unsigned4: maddubs add16");
BENCHMARK_TEMPLATE(BM_Mix, Mix::kUnsigned4Bcast)->Name("unsigned4_bcast: maddubs add16 + bcast/2");
BENCHMARK_TEMPLATE(BM_Mix, Mix::kUnsigned4Load)->Name("unsigned4_load: maddubs add16 + 256-bit load/2");
BENCHMARK_TEMPLATE(BM_Mix, Mix::kQ6K)->Name("q6k: 2 maddubs add16 madd add32");
BENCHMARK_TEMPLATE(BM_Mix, Mix::kSigned)->Name("signed: psign maddubs madd add32");
BENCHMARK_TEMPLATE(BM_Mix, Mix::kSignedNoSign)->Name("signed_nosign: maddubs madd add32");

}  // namespace

BENCHMARK_MAIN();
