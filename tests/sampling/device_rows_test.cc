// The host half of device sampling (sampling/device_rows.h), run on the CPU:
// RowInput -> SampleRowParams and the id lists, PenaltyState -> a count row,
// and the device result -> RowResult. The CUDA sampler reads exactly these.
#include <gtest/gtest.h>

#include <cstdint>
#include <span>
#include <stdexcept>
#include <vector>

#include "sampling/device_rows.h"

namespace nucleus::sampling {
namespace {

using sampling::cuda::SampleBatch;
using sampling::cuda::SampleRowParams;

std::vector<int32_t> slice(const std::vector<int32_t>& v, int32_t begin, int32_t count) {
  return std::vector<int32_t>(v.begin() + begin, v.begin() + begin + count);
}

TEST(DeviceRows, ParametersAndListsOfEachRow) {
  const int64_t vocab = 100;
  SamplingParams a;
  a.temperature = 0.7f;
  a.top_k = 5;
  a.top_p = 0.9f;
  a.min_p = 0.05f;
  a.typical_p = 0.8f;
  a.repetition_penalty = 1.3f;
  a.frequency_penalty = 0.5f;
  a.presence_penalty = -0.25f;
  a.logprobs = 3;
  a.logprobs_mode = LogprobsMode::kProcessed;
  a.allowed_token_ids = {4, 5, 6, 7, 99};
  a.bad_token_ids = {5};
  a.stop_token_ids = {42, 43};
  a.min_tokens = 3;
  a.logit_bias = {{7, 2.5f}, {4, -1.0f}};
  SamplingParams b;  // defaults: no lists, logprobs off
  const std::vector<int32_t> eos = {2, 3};
  const std::vector<int32_t> pending = {9};

  RowInput ra;
  ra.params = &a;
  ra.seed = 0x123456789abcdefULL;
  ra.seq_index = 3;
  ra.position = 77;
  ra.num_output_tokens = 1;  // + 1 pending = 2 < min_tokens 3: EOS and stop ids banned
  ra.eos_token_ids = eos;
  ra.pending_tokens = pending;
  RowInput ra_done = ra;
  ra_done.num_output_tokens = 2;  // + 1 pending = 3: min_tokens reached, only the bad ids
  RowInput rb;
  rb.params = &b;
  rb.position = 5;
  rb.eos_token_ids = eos;

  SampleBatch batch;
  append_device_row(ra, 4, vocab, batch);
  append_device_row(ra_done, -1, vocab, batch);
  append_device_row(rb, -1, vocab, batch);
  ASSERT_EQ(batch.rows.size(), 3u);

  const SampleRowParams& p = batch.rows[0];
  const StageParams st = a.stage_params();
  EXPECT_EQ(p.stage.temperature, st.temperature);
  EXPECT_EQ(p.stage.top_k, 5);
  EXPECT_EQ(p.stage.top_p, 0.9f);
  EXPECT_EQ(p.stage.min_p, 0.05f);
  EXPECT_EQ(p.stage.typical_p, 0.8f);
  EXPECT_EQ(p.stage.repetition_penalty, 1.3f);
  EXPECT_EQ(p.stage.frequency_penalty, 0.5f);
  EXPECT_EQ(p.stage.presence_penalty, -0.25f);
  EXPECT_EQ(p.seed, ra.seed);
  EXPECT_EQ(p.seq_index, 3u);
  EXPECT_EQ(p.position, 77u);
  EXPECT_EQ(p.logprobs, 3);
  EXPECT_EQ(p.logprobs_raw, 0);
  EXPECT_EQ(p.counts_row, 4);
  EXPECT_EQ(slice(batch.ids, p.allowed_begin, p.allowed_count), a.allowed_token_ids);
  EXPECT_EQ(slice(batch.ids, p.banned_begin, p.banned_count), (std::vector<int32_t>{5, 2, 3, 42, 43}));
  EXPECT_EQ(std::vector<int32_t>(batch.bias_ids.begin() + p.bias_begin, batch.bias_ids.begin() + p.bias_begin + p.bias_count),
            (std::vector<int32_t>{7, 4}));
  EXPECT_EQ(batch.bias_values[p.bias_begin], 2.5f);
  EXPECT_EQ(batch.bias_values[p.bias_begin + 1], -1.0f);

  const SampleRowParams& q = batch.rows[1];
  EXPECT_EQ(q.counts_row, -1);
  EXPECT_EQ(slice(batch.ids, q.banned_begin, q.banned_count), (std::vector<int32_t>{5}));
  EXPECT_EQ(slice(batch.ids, q.allowed_begin, q.allowed_count), a.allowed_token_ids);
  EXPECT_EQ(q.bias_begin, 2);
  EXPECT_EQ(q.bias_count, 2);

  const SampleRowParams& r = batch.rows[2];
  EXPECT_EQ(r.allowed_count, 0);
  EXPECT_EQ(r.banned_count, 0);
  EXPECT_EQ(r.bias_count, 0);
  EXPECT_EQ(r.logprobs, -1);
  EXPECT_EQ(r.logprobs_raw, 1);
  EXPECT_EQ(r.stage.temperature, 1.0f);
  EXPECT_FALSE(r.stage.uses_penalties());
}

TEST(DeviceRows, TokenMaskZerosBecomeBannedIds) {
  // JSON mode's per-row mask (RowInput::token_mask) reaches the device as banned ids.
  const int64_t vocab = 10;
  SamplingParams sp;
  sp.bad_token_ids = {1};
  const uint8_t mask[vocab] = {1, 1, 0, 1, 0, 0, 1, 1, 1, 0};
  RowInput in;
  in.params = &sp;
  in.token_mask = mask;
  RowInput plain;
  plain.params = &sp;
  SampleBatch batch;
  append_device_row(in, -1, vocab, batch);
  append_device_row(plain, -1, vocab, batch);
  const SampleRowParams& p = batch.rows[0];
  EXPECT_EQ(slice(batch.ids, p.banned_begin, p.banned_count), (std::vector<int32_t>{1, 2, 4, 5, 9}));
  const SampleRowParams& q = batch.rows[1];
  EXPECT_EQ(slice(batch.ids, q.banned_begin, q.banned_count), (std::vector<int32_t>{1}));
}

TEST(DeviceRows, BadRowsAreRejectedLikeTheCpuSampler) {
  SamplingParams p;
  p.bad_token_ids = {100};
  RowInput in;
  in.params = &p;
  SampleBatch batch;
  try {
    append_device_row(in, -1, 100, batch);
    ADD_FAILURE() << "an id outside the vocabulary was accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("bad_token_ids"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(batch.rows.empty());  // nothing appended
  RowInput null_params;
  EXPECT_THROW(append_device_row(null_params, -1, 100, batch), std::invalid_argument);
  SamplingParams ok;
  RowInput far;
  far.params = &ok;
  far.position = int64_t{1} << 33;
  EXPECT_THROW(append_device_row(far, -1, 100, batch), std::invalid_argument);
}

TEST(DeviceRows, PenaltyCountsRowFromTheState) {
  const std::vector<int32_t> prompt = {3, 3, 8};
  PenaltyState state(prompt);
  state.accept(8);
  state.accept(1);
  state.accept(1);
  state.accept(1);
  std::vector<uint32_t> row(10, 0xdeadbeefu);  // stale contents must be cleared
  fill_penalty_counts(state, row);
  EXPECT_EQ(row[0], 0u);
  EXPECT_EQ(row[1], 3u);
  EXPECT_EQ(row[3], kPromptCountBit);
  EXPECT_EQ(row[8], kPromptCountBit | 1u);
  for (int id : {2, 4, 5, 6, 7, 9}) EXPECT_EQ(row[id], 0u) << id;
  std::vector<uint32_t> small(5);
  EXPECT_THROW(fill_penalty_counts(state, small), std::invalid_argument);  // id 8 >= 5
}

TEST(DeviceRows, ResultsConvertToRowResults) {
  sampling::cuda::SampleRowResult d;
  d.token_id = 17;
  d.logprob = -0.5f;
  d.rank = 2;
  d.num_top = 2;
  d.flags = sampling::cuda::kSampleNanLogits;
  d.top_ids[0] = 4;
  d.top_logprobs[0] = -0.1f;
  d.top_ids[1] = 17;
  d.top_logprobs[1] = -0.5f;
  const RowResult r = to_row_result(d);
  EXPECT_EQ(r.token_id, 17);
  EXPECT_EQ(r.logprob, -0.5f);
  EXPECT_EQ(r.rank, 2);
  EXPECT_EQ(r.num_top, 2);
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.flags, static_cast<uint32_t>(kNanLogits));
  EXPECT_EQ(r.top[0].token_id, 4);
  EXPECT_EQ(r.top[1].logprob, -0.5f);
  d.flags = sampling::cuda::kSampleNoCandidates;
  EXPECT_FALSE(to_row_result(d).ok());
}

}  // namespace
}  // namespace nucleus::sampling
