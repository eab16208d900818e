// The batched sampler: one call samples logits[rows, vocab] where every row has
// its own parameters, penalty counts and keyed noise.
//
// ORDER OF THE STAGES (the one place it is written down; row_sampler.cc follows it)
//   0. Sanitise: NaN logits -> -inf (flag kNanLogits), +inf -> FLT_MAX (flag kInfLogits).
//      Raw logprobs are taken from this row.
//   1. allowed_token_ids (everything else -> -inf), bad_token_ids, the bad words' last tokens
//      where the output (+ pending) ends with the rest of the word (bad_words.h), and token_mask
//      zeros (-> -inf).
//   2. logit_bias is added.
//   3. min_tokens: while output tokens (+ pending) < min_tokens, EOS ids and stop_token_ids -> -inf.
//   4. Penalties (vLLM): repetition over prompt + output ids (divide positive logits, multiply
//      negative ones), then frequency and presence over output ids (OpenAI's formula).
//   5. Greedy (temperature < 1e-5, as vLLM, or top_k 1): the argmax, lowest id on ties. Done.
//   6. Temperature: d = (l - max l) / T.
//   7. min_p: keep p >= min_p * p_max  (d >= log min_p).
//   8. top_k: keep the k largest (ties at the boundary are all kept).
//   9. top_p: keep the smallest most-likely set with mass >= top_p (ties at the boundary kept).
//  10. typical_p: locally typical set (HF's TypicalLogitsWarper) of mass >= typical_p.
//      Each of 7-10 acts on the distribution renormalised over the survivors of the previous one.
//  11. The draw: exponential race, argmax_i p_i / E_i with E_i ~ Exp(1) from Philox keyed by
//      (seed, seq_index, position, i). Exact: P(i) = p_i / sum p. Ties -> lowest id.
//  12. Logprobs (if params.logprobs >= 0): raw = log_softmax(row after 0); processed =
//      log of the distribution of 11 (-inf outside the survivors; for greedy rows the
//      log_softmax of the row after 4). Rank = number of ids with logprob >= the sampled one's.
// No stage sorts the vocabulary: 8-10 are one weighted quickselect (filter_math.h), O(vocab)
// expected, and only over the survivors of the previous stage. A stage a row does not ask for
// costs that row one branch, so a stage that no row needs is skipped for the whole batch;
// greedy rows stop after one max pass.
//
// DETERMINISM: a row's result depends only on its own logits, parameters, penalty state, pending
// tokens, seed, seq_index and position; never on the other rows, their order, the batch size or
// the thread count (each row is computed start to end by one thread, with a fixed order of
// operations, and its noise is addressed by key, not drawn from a shared stream).
//
// HOW THE ENGINE CALLS IT
//   - Per sequence, the engine keeps a PenaltyState (penalties.h) built from the prompt and
//     updated with accept(token) after each step, and resolves the seed once per request
//     (params.seed, or draw_entropy_seed()).
//   - Each step: logits[rows, vocab] (float, row-major) and one RowInput per row. THE LOGITS ARE
//     MODIFIED IN PLACE: on return a row holds its logits after stages 0-4 (sanitised, masked,
//     biased, penalised), before temperature. Copy them first if you need the originals.
//   - sample() throws std::invalid_argument (naming the row and the field) for inconsistent input:
//     sizes, a null params pointer, a token id outside [0, vocab). Nothing is sampled then.
//   - A row whose every logit is -inf or NaN after stages 0-4 gets token_id 0 and kNoCandidates:
//     the engine must check ok() and end that request with an error. NaN/inf in the logits are
//     reported in `flags`; the token is still a valid id sampled from the remaining logits.
//
// SPECULATIVE DECODING: drafts are verified in one call with several rows of one sequence, one
// per drafted position, each with that position's key, the same PenaltyState and
// `pending_tokens` = the drafted tokens before that position (counted as accepted output for the
// penalties and for min_tokens). The noise of a position is the same whether it is sampled
// normally or during verification, so the target's draw at a position is reproducible: a draft
// is kept where it equals that draw, and speculation never changes what is sampled.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <vector>

#include "kernels/thread_pool.h"
#include "sampling/params.h"
#include "sampling/penalties.h"
#include "sampling/row.h"

namespace nucleus::sampling {

struct RowScratch;  // per-thread buffers, defined in row_sampler.h

class Sampler {
 public:
  // pool may be null (everything on the calling thread). Not owned.
  explicit Sampler(kernels::ThreadPool* pool = nullptr);
  ~Sampler();
  Sampler(const Sampler&) = delete;
  Sampler& operator=(const Sampler&) = delete;

  // logits: [rows, vocab], modified in place (see above). inputs, results: [rows].
  void sample(float* logits, int64_t rows, int64_t vocab, std::span<const RowInput> inputs,
              std::span<RowResult> results);

 private:
  std::unique_ptr<RowScratch> acquire_scratch();
  void release_scratch(std::unique_ptr<RowScratch> scratch);

  kernels::ThreadPool* pool_;
  std::mutex scratch_mutex_;
  std::vector<std::unique_ptr<RowScratch>> free_scratch_;
};

}  // namespace nucleus::sampling
