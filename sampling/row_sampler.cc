// Follows the ORDER OF THE STAGES in sampler.h; the step numbers below refer to it.
#include "sampling/row_sampler.h"
#include "sampling/vec_exp.h"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstring>

#include "sampling/bad_words.h"
#include "sampling/filter_math.h"
#include "sampling/logprobs.h"
#include "sampling/noise_fill.h"
#include "sampling/philox.h"

namespace nucleus::sampling {
namespace {

bool is_nonfinite(float x) {
  uint32_t bits;
  std::memcpy(&bits, &x, sizeof bits);
  return (bits & 0x7f800000u) == 0x7f800000u;
}

// Step 0. A cheap any-non-finite check over the row, then a fix-up pass only if needed.
uint32_t sanitize(float* l, int64_t vocab) {
  uint32_t any = 0;
  for (int64_t i = 0; i < vocab; ++i) any |= is_nonfinite(l[i]);
  if (!any) return 0;
  uint32_t flags = 0;
  for (int64_t i = 0; i < vocab; ++i) {
    if (std::isnan(l[i])) {
      l[i] = -INFINITY;
      flags |= kNanLogits;
    } else if (l[i] == INFINITY) {
      l[i] = FLT_MAX;
      flags |= kInfLogits;
    }
  }
  return flags;
}

// Steps 1-4: the sparse edits (and the allowed-ids mask, the one dense one).
void edit_logits(float* l, int64_t vocab, const RowInput& in, const StageParams& stage, RowScratch& s) {
  const SamplingParams& sp = *in.params;
  if (!sp.allowed_token_ids.empty()) {
    s.saved.resize(sp.allowed_token_ids.size());
    for (size_t j = 0; j < sp.allowed_token_ids.size(); ++j) s.saved[j] = l[sp.allowed_token_ids[j]];
    std::fill(l, l + vocab, -INFINITY);
    for (size_t j = 0; j < sp.allowed_token_ids.size(); ++j) l[sp.allowed_token_ids[j]] = s.saved[j];
  }
  for (const int32_t id : sp.bad_token_ids) l[id] = -INFINITY;
  if (!sp.bad_words_token_ids.empty()) {
    s.bans.clear();
    append_bad_word_bans(sp, in.output_tokens, in.pending_tokens, s.bans);
    for (const int32_t id : s.bans) l[id] = -INFINITY;
  }
  if (in.token_mask) {
    for (int64_t i = 0; i < vocab; ++i) {
      if (!in.token_mask[i]) l[i] = -INFINITY;
    }
  }
  for (const LogitBias& b : sp.logit_bias) l[b.token_id] += b.bias;
  const int64_t produced = in.num_output_tokens + static_cast<int64_t>(in.pending_tokens.size());
  if (produced < sp.min_tokens) {
    for (const int32_t id : in.eos_token_ids) l[id] = -INFINITY;
    for (const int32_t id : sp.stop_token_ids) l[id] = -INFINITY;
  }
  if (stage.uses_penalties() && (in.penalties || !in.pending_tokens.empty())) {
    apply_penalties(l, in.penalties, in.pending_tokens, stage);
  }
}

// Max over the row with 8 independent lanes (no NaN left after step 0).
float row_max(const float* l, int64_t vocab) {
  float lane[8];
  for (float& m : lane) m = -INFINITY;
  int64_t i = 0;
  for (; i + 8 <= vocab; i += 8) {
    for (int k = 0; k < 8; ++k) lane[k] = l[i + k] > lane[k] ? l[i + k] : lane[k];
  }
  float m = -INFINITY;
  for (; i < vocab; ++i) m = l[i] > m ? l[i] : m;
  for (const float x : lane) m = x > m ? x : m;
  return m;
}

int32_t first_index_of(const float* l, int64_t vocab, float value) {
  for (int64_t i = 0; i < vocab; ++i) {
    if (l[i] == value) return static_cast<int32_t>(i);
  }
  return 0;
}

// Steps 6-7: candidates (i, d) with d = (l - max) / T >= cutoff, ids ascending.
int64_t build_candidates(const float* l, int64_t vocab, float lmax, float inv_t, float cutoff, RowScratch& s) {
  s.ids.resize(vocab);
  s.d.resize(vocab);
  int32_t* ids = s.ids.data();
  float* d = s.d.data();
  int64_t n = 0;
  for (int64_t i = 0; i < vocab; ++i) {
    const float di = (l[i] - lmax) * inv_t;
    ids[n] = static_cast<int32_t>(i);
    d[n] = di;
    n += (di >= cutoff) & (di > -INFINITY);  // branchless: a row may keep most of the vocabulary
  }
  return n;
}

// Keeps the candidates whose keys[j] <= threshold (keys in candidate order), preserving order.
int64_t compact(RowScratch& s, int64_t n, const float* keys, float threshold) {
  int64_t m = 0;
  for (int64_t j = 0; j < n; ++j) {
    s.ids[m] = s.ids[j];
    s.d[m] = s.d[j];
    s.p[m] = s.p[j];
    m += keys[j] <= threshold;
  }
  return m;
}

// Step 11: exponential race over the candidates; returns the candidate index.
// A candidate with 1 - U_j >= p_j / best can't win (E = -log U >= 1 - U), so the
// log is only taken for the few that pass this test. best starts at the argmax (p = 1).
// When the candidates cover most of their id range, the noise is made in one vectorised
// sweep (noise_fill.h); otherwise block by block. Both give the same words.
int64_t exponential_race(RowScratch& s, int64_t n, const NoiseKey& key) {
  const int32_t* ids = s.ids.data();
  const float* p = s.p.data();
  int64_t best = 0;
  for (int64_t j = 1; j < n; ++j) best = p[j] > p[best] ? j : best;
  auto exponential = [](uint32_t word) { return -std::log1p(-open_uniform_complement(word)); };
  double best_ratio = p[best] / exponential(key.word(static_cast<uint32_t>(ids[best])));
  auto consider = [&](int64_t j, uint32_t word) {
    if (static_cast<double>(p[j]) * (1.0 + 1e-12) <= best_ratio * open_uniform_complement(word)) return;
    const double ratio = p[j] / exponential(word);
    if (ratio > best_ratio || (ratio == best_ratio && ids[j] < ids[best])) {
      best_ratio = ratio;
      best = j;
    }
  };
  const uint32_t first_block = static_cast<uint32_t>(ids[0]) >> 2;
  const int64_t blocks = (static_cast<uint32_t>(ids[n - 1]) >> 2) - first_block + 1;
  if (4 * blocks <= 2 * n) {
    s.noise.resize(4 * blocks);
    fill_noise_words(key, first_block, blocks, s.noise.data());
    const uint32_t* words = s.noise.data() - 4 * static_cast<int64_t>(first_block);
    for (int64_t j = 0; j < n; ++j) {
      if (p[j] != 0.0f) consider(j, words[ids[j]]);
    }
    return best;
  }
  uint32_t cached_block = UINT32_MAX;
  Philox4x32 block{};
  for (int64_t j = 0; j < n; ++j) {
    if (p[j] == 0.0f) continue;
    const uint32_t id = static_cast<uint32_t>(ids[j]);
    if ((id >> 2) != cached_block) {
      cached_block = id >> 2;
      block = key.block(cached_block);
    }
    consider(j, block.v[id & 3u]);
  }
  return best;
}

double sum_of(const float* x, int64_t n) {
  double sum = 0.0;
  for (int64_t j = 0; j < n; ++j) sum += x[j];
  return sum;
}

// Keeps the candidates with s.order_keys[j] <= the threshold of weighted_select_threshold
// (filter_math.h) over (order_keys, weights); the selection runs on a copy of the keys.
int64_t select_and_compact(RowScratch& s, int64_t n, double mass) {
  s.keys.assign(s.order_keys.begin(), s.order_keys.begin() + n);
  const float threshold = weighted_select_threshold(s.keys.data(), s.weights.data(), n, mass);
  return compact(s, n, s.order_keys.data(), threshold);
}

// Steps 6-10 for a non-greedy row; returns the number of surviving candidates, whose
// p = exp(d - max surviving d) is set.
int64_t filter_candidates(const float* l, int64_t vocab, float lmax, const StageParams& st, RowScratch& s) {
  int64_t n = build_candidates(l, vocab, lmax, 1.0f / st.temperature, min_p_cutoff(st.min_p), s);
  s.p.resize(n);
  s.order_keys.resize(n);
  s.weights.resize(n);
  if (st.uses_top_k() && st.top_k < n) {  // step 8: key -d, weight 1
    for (int64_t j = 0; j < n; ++j) s.order_keys[j] = -s.d[j];
    std::fill(s.weights.begin(), s.weights.begin() + n, 1.0f);
    n = select_and_compact(s, n, st.top_k);
  }
  exp_array(s.d.data(), s.p.data(), n);
  if (st.uses_top_p() && n > 1) {  // step 9: key -p, weight p
    for (int64_t j = 0; j < n; ++j) s.order_keys[j] = -s.p[j];
    std::copy(s.p.begin(), s.p.begin() + n, s.weights.begin());
    n = select_and_compact(s, n, st.top_p * sum_of(s.p.data(), n));
  }
  if (st.uses_typical_p() && n > 1) {  // step 10: key |-log q - H|, weight q = p / S
    const double sum = sum_of(s.p.data(), n);
    const double log_sum = std::log(sum);
    double mean_d = 0.0;  // sum q * d
    for (int64_t j = 0; j < n; ++j) mean_d += s.p[j] / sum * s.d[j];
    const double entropy = log_sum - mean_d;  // H = -sum q log q, log q = d - log S
    for (int64_t j = 0; j < n; ++j) {
      s.order_keys[j] = static_cast<float>(std::fabs(log_sum - s.d[j] - entropy));
      s.weights[j] = static_cast<float>(s.p[j] / sum);
    }
    n = select_and_compact(s, n, st.typical_p);
    // Typical sets may drop the most likely token: renormalise p to the surviving max.
    float dmax = -INFINITY;
    for (int64_t j = 0; j < n; ++j) dmax = s.d[j] > dmax ? s.d[j] : dmax;
    if (dmax < 0.0f) {
      for (int64_t j = 0; j < n; ++j) s.p[j] = std::exp(s.d[j] - dmax);
    }
  }
  return n;
}

void report_logprobs(const float* values, const int32_t* ids, int64_t n, float max, float sampled_value,
                     int32_t count, RowResult& r) {
  const double lse = log_sum_exp(values, n, max);
  r.logprob = static_cast<float>(sampled_value - lse);
  r.rank = rank_of(values, n, sampled_value);
  r.num_top = top_logprobs(values, ids, n, count, lse, r.top);
}

}  // namespace

RowResult raw_logprob(float* logits, int64_t vocab, int32_t token, int32_t count) {
  RowResult r;
  r.flags = sanitize(logits, vocab);
  r.token_id = token;
  report_logprobs(logits, nullptr, vocab, row_max(logits, vocab), logits[token], count, r);
  return r;
}

void sample_row(float* l, int64_t vocab, const RowInput& in, RowScratch& s, RowResult& r) {
  r = RowResult{};
  const SamplingParams& sp = *in.params;
  const StageParams st = sp.stage_params();
  const bool want_logprobs = sp.logprobs >= 0;
  const bool raw_logprobs = want_logprobs && sp.logprobs_mode == LogprobsMode::kRaw;

  r.flags |= sanitize(l, vocab);
  if (raw_logprobs) s.raw.assign(l, l + vocab);
  edit_logits(l, vocab, in, st, s);

  const float lmax = row_max(l, vocab);
  if (!(lmax > -INFINITY)) {
    r.flags |= kNoCandidates;
    return;
  }

  if (st.greedy()) {  // step 5
    r.token_id = first_index_of(l, vocab, lmax);
    if (want_logprobs && !raw_logprobs) report_logprobs(l, nullptr, vocab, lmax, lmax, sp.logprobs, r);
  } else {
    const int64_t n = filter_candidates(l, vocab, lmax, st, s);
    if (n == 0) {  // unreachable (the argmax has d = 0 and passes every stage); never index past it
      r.flags |= kNoCandidates;
      return;
    }
    const NoiseKey key{in.seed, static_cast<uint32_t>(in.position), in.seq_index, NoiseStream::kDraw};
    const int64_t winner = exponential_race(s, n, key);
    r.token_id = s.ids[winner];
    if (want_logprobs && !raw_logprobs) {
      // Processed: log(p / sum p) over the survivors, computed from d.
      const float dmax = row_max(s.d.data(), n);
      report_logprobs(s.d.data(), s.ids.data(), n, dmax, s.d[winner], sp.logprobs, r);
    }
  }
  if (raw_logprobs) {
    const float raw_max = row_max(s.raw.data(), vocab);
    report_logprobs(s.raw.data(), nullptr, vocab, raw_max, s.raw[r.token_id], sp.logprobs, r);
  }
}

}  // namespace nucleus::sampling
