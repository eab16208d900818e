// Device sampling, one thread block per row, following the ORDER OF THE STAGES in
// sampling/sampler.h (step numbers below refer to it). Nothing is sorted or
// compacted: every stage is a predicate over the vocabulary that later passes
// re-evaluate (alive()), and each selection threshold is found by bisection
// (sample_math.h). The race uses the same Philox words as the CPU sampler.
#include <cuda_runtime.h>

#include <cfloat>
#include <cstdint>

#include "kernels/cuda/block_reduce.cuh"
#include "kernels/cuda/cuda_buffer.h"
#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/int_upload.h"
#include "sampling/cuda/sample_math.h"
#include "sampling/cuda/sampler_cuda.h"
#include "sampling/filter_math.h"
#include "sampling/philox.h"

namespace nucleus::sampling::cuda {
// The generic device pieces (CudaBuffer, block reductions) live with the ops.
using namespace kernels::cuda;

namespace {

constexpr int kSampleThreads = 512;

struct OrOp {
  __device__ uint32_t operator()(uint32_t a, uint32_t b) const { return a | b; }
};

// Shared scratch of the block reductions, one array per element type.
struct Shared {
  double d[32];
  float f[32];
  int32_t i[32];
  uint32_t u[32];
  ValueId v[32];
};

// The survivors of steps 6-10 as a predicate, and their p.
struct Filter {
  const float* l;
  float lmax, inv_t, cutoff;
  bool top_k, top_p, typical;
  uint32_t k_threshold, p_threshold, t_threshold;
  double log_sum, entropy, sum;  // typical-p's statistics
  float dmax;                    // max surviving d when typical-p dropped the argmax, else 0

  __device__ float d(int64_t i) const { return (l[i] - lmax) * inv_t; }
  __device__ float p_raw(float di) const { return expf(di); }
  __device__ bool candidate(float di) const { return di >= cutoff && di > -INFINITY; }
  __device__ bool after_top_k(float di) const {
    return candidate(di) && (!top_k || ordered_key(-di) <= k_threshold);
  }
  __device__ bool after_top_p(float di) const {
    return after_top_k(di) && (!top_p || ordered_key(-p_raw(di)) <= p_threshold);
  }
  __device__ float typical_key(float di) const {
    return static_cast<float>(fabs(log_sum - static_cast<double>(di) - entropy));
  }
  __device__ bool alive(float di) const {
    return after_top_p(di) && (!typical || ordered_key(typical_key(di)) <= t_threshold);
  }
  // p of a survivor for the race: exp(d), or exp(d - dmax) once typical-p dropped the max.
  __device__ float p_final(float di) const { return dmax < 0.0f ? expf(di - dmax) : expf(di); }
};

enum class Values { kRaw, kLogits, kSurvivors };

// The values logprobs are taken from: raw[i], l[i], or d(i) of the survivors (else -inf).
struct ValueSource {
  Values kind;
  const float* raw;
  const Filter* f;
  __device__ float operator()(int64_t i) const {
    if (kind == Values::kRaw) return raw[i];
    if (kind == Values::kLogits) return f->l[i];
    const float di = f->d(i);
    return f->alive(di) ? di : -INFINITY;
  }
};

// Step 12 (logprobs.cc's log_sum_exp, rank_of, top_logprobs) over `values`.
__device__ void report_logprobs(const ValueSource& values, int64_t vocab, int32_t sampled, int32_t count,
                                SampleRowResult& r, Shared& sh) {
  float m = -INFINITY;
  for (int64_t i = threadIdx.x; i < vocab; i += blockDim.x) m = fmaxf(m, values(i));
  m = block_reduce(m, MaxOp{}, -INFINITY, sh.f);
  const float sv = values(sampled);
  double sum = 0.0;
  int32_t rank = 0;
  for (int64_t i = threadIdx.x; i < vocab; i += blockDim.x) {
    const float v = values(i);
    sum += exp(static_cast<double>(v) - m);
    rank += v >= sv;
  }
  sum = block_reduce(sum, SumOp{}, 0.0, sh.d);
  rank = block_reduce(rank, SumOp{}, 0, sh.i);
  const double lse = m > -INFINITY ? m + log(sum) : -INFINITY;
  if (threadIdx.x == 0) {
    r.logprob = static_cast<float>(sv - lse);
    r.rank = rank;
  }
  // Top N: N rounds of "the best (value desc, id asc) after the previous one".
  ValueId prev{INFINITY, -1};
  int32_t n = 0;
  for (; n < count && n < kMaxTopLogprobs; ++n) {
    ValueId best{-INFINITY, INT32_MAX};
    for (int64_t i = threadIdx.x; i < vocab; i += blockDim.x) {
      const double v = values(i);
      const bool after = v < prev.value || (v == prev.value && i > prev.id);
      if (after && v > -INFINITY) best = better(best, ValueId{v, static_cast<int32_t>(i)});
    }
    best = block_best(best, sh.v);
    if (!(best.value > -INFINITY)) break;
    if (threadIdx.x == 0) {
      r.top_ids[n] = best.id;
      r.top_logprobs[n] = static_cast<float>(best.value - lse);
    }
    prev = best;
  }
  if (threadIdx.x == 0) r.num_top = n;
}

__global__ void __launch_bounds__(kSampleThreads)
sample_kernel(float* logits, int64_t vocab, const SampleRowParams* params, const int32_t* ids,
              const int32_t* bias_ids, const float* bias_values, const uint32_t* counts, float* raw_all,
              float* saved_all, SampleRowResult* results) {
  __shared__ Shared sh;
  __shared__ SampleRowResult r;
  const int64_t row = blockIdx.x;
  const SampleRowParams& pr = params[row];
  const sampling::StageParams& st = pr.stage;
  float* l = logits + row * vocab;
  const bool want_logprobs = pr.logprobs >= 0;
  const bool raw_logprobs = want_logprobs && pr.logprobs_raw != 0;
  float* raw = raw_logprobs ? raw_all + row * vocab : nullptr;
  if (threadIdx.x == 0) r = SampleRowResult{};

  // Step 0: sanitise; keep the raw row for raw logprobs.
  uint32_t flags = 0;
  for (int64_t i = threadIdx.x; i < vocab; i += blockDim.x) {
    float v = l[i];
    if (isnan(v)) {
      v = -INFINITY;
      flags |= kSampleNanLogits;
    } else if (v == INFINITY) {
      v = FLT_MAX;
      flags |= kSampleInfLogits;
    }
    l[i] = v;
    if (raw) raw[i] = v;
  }
  flags = block_reduce(flags, OrOp{}, 0u, sh.u);  // also a barrier for the writes above

  // Step 1: allowed ids (save, mask everything, restore).
  if (pr.allowed_count > 0) {
    const int32_t* allowed = ids + pr.allowed_begin;
    float* saved = saved_all + pr.allowed_begin;
    for (int j = threadIdx.x; j < pr.allowed_count; j += blockDim.x) saved[j] = l[allowed[j]];
    __syncthreads();
    for (int64_t i = threadIdx.x; i < vocab; i += blockDim.x) l[i] = -INFINITY;
    __syncthreads();
    for (int j = threadIdx.x; j < pr.allowed_count; j += blockDim.x) l[allowed[j]] = saved[j];
    __syncthreads();
  }
  // Step 2: biases, in list order (a repeated id adds twice, as on the CPU).
  if (threadIdx.x == 0) {
    for (int j = 0; j < pr.bias_count; ++j) l[bias_ids[pr.bias_begin + j]] += bias_values[pr.bias_begin + j];
  }
  __syncthreads();
  // Steps 1 (bad ids) and 3 (min_tokens), see sampler_cuda.h.
  for (int j = threadIdx.x; j < pr.banned_count; j += blockDim.x) l[ids[pr.banned_begin + j]] = -INFINITY;
  __syncthreads();
  // Step 4: penalties from the device counts.
  if (pr.counts_row >= 0 && st.uses_penalties()) {
    const uint32_t* c = counts + static_cast<int64_t>(pr.counts_row) * vocab;
    for (int64_t i = threadIdx.x; i < vocab; i += blockDim.x) {
      const uint32_t ci = c[i];
      if (ci != 0) l[i] = sampling::penalize_logit(l[i], true, ci & 0x7fffffffu, st);
    }
  }
  __syncthreads();

  float lmax = -INFINITY;
  for (int64_t i = threadIdx.x; i < vocab; i += blockDim.x) lmax = fmaxf(lmax, l[i]);
  lmax = block_reduce(lmax, MaxOp{}, -INFINITY, sh.f);
  if (!(lmax > -INFINITY)) {
    if (threadIdx.x == 0) {
      r.flags = flags | kSampleNoCandidates;
      results[row] = r;
    }
    return;
  }

  Filter f{};
  f.l = l;
  f.lmax = lmax;
  int32_t token = 0;
  if (st.greedy()) {  // step 5: the lowest id holding the max
    int32_t first = INT32_MAX;
    for (int64_t i = threadIdx.x; i < vocab; i += blockDim.x) {
      if (l[i] == lmax) first = min(first, static_cast<int32_t>(i));
    }
    token = block_reduce(first, MinOp{}, INT32_MAX, sh.i);
    if (want_logprobs && !raw_logprobs) {
      report_logprobs(ValueSource{Values::kLogits, nullptr, &f}, vocab, token, pr.logprobs, r, sh);
    }
  } else {
    f.inv_t = 1.0f / st.temperature;                  // step 6
    f.cutoff = sampling::min_p_cutoff(st.min_p);      // step 7
    if (st.uses_top_k()) {                            // step 8: key -d, weight 1
      int32_t n = 0;
      for (int64_t i = threadIdx.x; i < vocab; i += blockDim.x) n += f.candidate(f.d(i));
      n = block_reduce(n, SumOp{}, 0, sh.i);
      if (st.top_k < n) {
        f.k_threshold = bisect_threshold(
            [&](uint32_t u) {
              int32_t below = 0;
              for (int64_t i = threadIdx.x; i < vocab; i += blockDim.x) {
                const float di = f.d(i);
                below += f.candidate(di) && ordered_key(-di) < u;
              }
              return static_cast<double>(block_reduce(below, SumOp{}, 0, sh.i));
            },
            st.top_k);
        f.top_k = true;
      }
    }
    auto count_and_sum = [&](auto keep, int32_t* n_out) {
      int32_t n = 0;
      double s = 0.0;
      for (int64_t i = threadIdx.x; i < vocab; i += blockDim.x) {
        const float di = f.d(i);
        if (keep(di)) {
          ++n;
          s += f.p_raw(di);
        }
      }
      *n_out = block_reduce(n, SumOp{}, 0, sh.i);
      return block_reduce(s, SumOp{}, 0.0, sh.d);
    };
    if (st.uses_top_p()) {  // step 9: key -p, weight p
      int32_t n = 0;
      const double sum = count_and_sum([&](float di) { return f.after_top_k(di); }, &n);
      if (n > 1) {
        f.p_threshold = bisect_threshold(
            [&](uint32_t u) {
              double below = 0.0;
              for (int64_t i = threadIdx.x; i < vocab; i += blockDim.x) {
                const float di = f.d(i);
                const float p = f.p_raw(di);
                if (f.after_top_k(di) && ordered_key(-p) < u) below += p;
              }
              return block_reduce(below, SumOp{}, 0.0, sh.d);
            },
            st.top_p * sum);
        f.top_p = true;
      }
    }
    if (st.uses_typical_p()) {  // step 10: key |-log q - H|, weight q = p / S
      int32_t n = 0;
      const double sum = count_and_sum([&](float di) { return f.after_top_p(di); }, &n);
      if (n > 1) {
        double mean_d = 0.0;
        for (int64_t i = threadIdx.x; i < vocab; i += blockDim.x) {
          const float di = f.d(i);
          if (f.after_top_p(di)) mean_d += f.p_raw(di) / sum * di;
        }
        mean_d = block_reduce(mean_d, SumOp{}, 0.0, sh.d);
        f.sum = sum;
        f.log_sum = log(sum);
        f.entropy = f.log_sum - mean_d;
        f.t_threshold = bisect_threshold(
            [&](uint32_t u) {
              double below = 0.0;
              for (int64_t i = threadIdx.x; i < vocab; i += blockDim.x) {
                const float di = f.d(i);
                if (f.after_top_p(di) && ordered_key(f.typical_key(di)) < u) {
                  below += static_cast<float>(f.p_raw(di) / sum);
                }
              }
              return block_reduce(below, SumOp{}, 0.0, sh.d);
            },
            st.typical_p);
        f.typical = true;
        float dmax = -INFINITY;
        for (int64_t i = threadIdx.x; i < vocab; i += blockDim.x) {
          const float di = f.d(i);
          if (f.alive(di)) dmax = fmaxf(dmax, di);
        }
        dmax = block_reduce(dmax, MaxOp{}, -INFINITY, sh.f);
        f.dmax = dmax < 0.0f ? dmax : 0.0f;
      }
    }
    // Step 11: the exponential race, argmax p / E, ties to the lowest id. Thread b takes
    // Philox block b (ids 4b..4b+3) so each block is computed once.
    const sampling::NoiseKey key{pr.seed, pr.position, pr.seq_index, sampling::NoiseStream::kDraw};
    ValueId best{-INFINITY, INT32_MAX};
    const int64_t blocks = (vocab + 3) / 4;
    for (int64_t b = threadIdx.x; b < blocks; b += blockDim.x) {
      bool any = false;
      float ps[4];
      for (int k = 0; k < 4; ++k) {
        const int64_t i = 4 * b + k;
        ps[k] = 0.0f;
        if (i < vocab) {
          const float di = f.d(i);
          if (f.alive(di)) ps[k] = f.p_final(di);
        }
        any |= ps[k] != 0.0f;
      }
      if (!any) continue;
      const sampling::Philox4x32 words = key.block(static_cast<uint32_t>(b));
      for (int k = 0; k < 4; ++k) {
        if (ps[k] == 0.0f) continue;
        const double ratio = ps[k] / race_exponential(words.v[k]);
        best = better(best, ValueId{ratio, static_cast<int32_t>(4 * b + k)});
      }
    }
    best = block_best(best, sh.v);
    token = best.id;
    if (token == INT32_MAX) {  // unreachable: the argmax survives every stage with p = 1
      if (threadIdx.x == 0) {
        r.flags = flags | kSampleNoCandidates;
        results[row] = r;
      }
      return;
    }
    if (want_logprobs && !raw_logprobs) {
      report_logprobs(ValueSource{Values::kSurvivors, nullptr, &f}, vocab, token, pr.logprobs, r, sh);
    }
  }
  if (raw_logprobs) report_logprobs(ValueSource{Values::kRaw, raw, &f}, vocab, token, pr.logprobs, r, sh);
  __syncthreads();
  if (threadIdx.x == 0) {
    r.token_id = token;
    r.flags = flags;
    results[row] = r;
  }
}

__global__ void add_counts_kernel(uint32_t* counts, int64_t vocab, const int32_t* rows, const int32_t* ids, int64_t n,
                                  bool prompt) {
  const int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (i >= n) return;
  uint32_t* c = counts + static_cast<int64_t>(rows[i]) * vocab + ids[i];
  if (prompt) {
    atomicOr(c, 0x80000000u);
  } else {
    atomicAdd(c, 1u);
  }
}

}  // namespace

struct CudaSampler::Buffers {
  CudaBuffer<SampleRowParams> params;
  CudaBuffer<int32_t> ids, bias_ids;
  CudaBuffer<float> bias_values, raw, saved;
  CudaBuffer<SampleRowResult> results;
};

CudaSampler::CudaSampler() : buffers_(new Buffers) {}
CudaSampler::~CudaSampler() { delete buffers_; }

void CudaSampler::sample(float* d_logits, int64_t vocab, const SampleBatch& batch, const uint32_t* d_counts,
                         SampleRowResult* results) {
  const size_t rows = batch.rows.size();
  if (rows == 0) return;
  Buffers& b = *buffers_;
  bool any_raw = false;
  for (const SampleRowParams& p : batch.rows) any_raw |= p.logprobs >= 0 && p.logprobs_raw != 0;
  b.params.upload(batch.rows.data(), rows);
  b.ids.upload(batch.ids.data(), batch.ids.size());
  b.saved.resize(std::max<size_t>(batch.ids.size(), 1));
  b.bias_ids.upload(batch.bias_ids.data(), batch.bias_ids.size());
  b.bias_values.upload(batch.bias_values.data(), batch.bias_values.size());
  if (any_raw) b.raw.resize(rows * static_cast<size_t>(vocab));
  b.results.resize(rows);
  sample_kernel<<<static_cast<unsigned>(rows), kSampleThreads>>>(d_logits, vocab, b.params.data(), b.ids.data(),
                                                                 b.bias_ids.data(), b.bias_values.data(), d_counts,
                                                                 b.raw.data(), b.saved.data(), b.results.data());
  NUCLEUS_CUDA_CHECK_LAUNCH("sample_kernel");
  b.results.download(results, rows);  // the only device -> host copy: ids and logprobs
}

void add_penalty_counts(uint32_t* d_counts, int64_t vocab, const int32_t* count_rows, const int32_t* ids, int64_t n,
                        bool prompt) {
  if (n == 0) return;
  // Through the ops' pinned index arena: one asynchronous copy, no allocation, no wait.
  const auto d = kernels::cuda::upload_ints({{count_rows, n}, {ids, n}});
  add_counts_kernel<<<static_cast<unsigned>((n + 255) / 256), 256>>>(d_counts, vocab, d[0], d[1], n, prompt);
  NUCLEUS_CUDA_CHECK_LAUNCH("add_counts_kernel");
}

}  // namespace nucleus::sampling::cuda
