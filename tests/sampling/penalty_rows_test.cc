// The device penalty table's bookkeeping (engine/penalty_rows.h) on a host
// emulation of the table: after every prepare(), each row handed to the
// sampler must hold exactly what the CPU sampler would count for that row
// (its PenaltyState plus its pending drafts), through admissions, accepted
// tokens, forks, finished sequences, evictions and growth of the table.
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <vector>

#include "sampling/penalty_rows.h"
#include "sampling/device_rows.h"

namespace nucleus {
namespace {

constexpr int64_t kVocab = 50;

class HostTable final : public PenaltyTableOps {
 public:
  void grow(int64_t rows) override {
    ASSERT_GT(rows, rows_) << "grow must grow";
    cells_.resize(static_cast<size_t>(rows * kVocab), 0xabababab);  // new rows hold junk until written
    rows_ = rows;
    ++grows;
  }
  void fill(int32_t row, const sampling::PenaltyState& state) override {
    sampling::fill_penalty_counts(state, this->row(row));
    ++fills;
  }
  void zero(int32_t r) override { std::fill(row(r).begin(), row(r).end(), 0u); }
  void add_outputs(std::span<const int32_t> rows, std::span<const int32_t> ids) override {
    ASSERT_EQ(rows.size(), ids.size());
    for (size_t i = 0; i < rows.size(); ++i) ++row(rows[i])[static_cast<size_t>(ids[i])];
  }
  void copy(int32_t dst, int32_t src) override {
    ASSERT_NE(dst, src);
    std::copy(row(src).begin(), row(src).end(), row(dst).begin());
  }
  std::span<uint32_t> row(int32_t r) {
    EXPECT_TRUE(r >= 0 && r < rows_) << r;
    return std::span<uint32_t>(cells_).subspan(static_cast<size_t>(r * kVocab), kVocab);
  }
  int grows = 0, fills = 0;

 private:
  std::vector<uint32_t> cells_;
  int64_t rows_ = 0;
};

struct Seq {
  std::vector<int32_t> prompt, output;
  sampling::PenaltyState state;
  bool penalised = true;
};

std::vector<uint32_t> expected_row(const sampling::PenaltyState* state, std::span<const int32_t> pending) {
  sampling::PenaltyState with = state ? *state : sampling::PenaltyState();
  for (int32_t t : pending) with.accept(t);
  std::vector<uint32_t> row(kVocab);
  sampling::fill_penalty_counts(with, row);
  return row;
}

TEST(PenaltyRows, RowsHoldWhatTheCpuSamplerCounts) {
  std::mt19937 rng(5);
  auto token = [&] { return static_cast<int32_t>(rng() % kVocab); };
  sampling::SamplingParams penalised, plain;
  penalised.repetition_penalty = 1.2f;
  penalised.frequency_penalty = 0.3f;
  std::map<uint64_t, Seq> live;
  uint64_t next_id = 1;
  auto admit = [&] {
    Seq s;
    for (int i = 0, n = 1 + static_cast<int>(rng() % 12); i < n; ++i) s.prompt.push_back(token());
    s.state = sampling::PenaltyState(s.prompt);
    s.penalised = rng() % 5 != 0;
    live.emplace(next_id++, std::move(s));
  };
  for (int i = 0; i < 6; ++i) admit();

  HostTable table;
  PenaltyRows rows(kVocab);
  int checked = 0, speculative = 0, unpenalised = 0;
  for (int step = 0; step < 400; ++step) {
    // Arrivals, forks (a copy of a live sequence), finished sequences.
    if (rng() % 3 == 0 && live.size() < 40) admit();
    if (rng() % 7 == 0 && !live.empty()) {
      const Seq copy = std::next(live.begin(), static_cast<long>(rng() % live.size()))->second;
      live.emplace(next_id++, copy);
    }
    if (rng() % 4 == 0 && live.size() > 2) live.erase(std::next(live.begin(), static_cast<long>(rng() % live.size())));
    // This step samples a random subset; some rows speculate (pending drafts), some have no state.
    std::vector<uint64_t> ids;
    for (const auto& [id, s] : live) {
      if (rng() % 3 != 0) ids.push_back(id);
    }
    if (ids.size() > 12) ids.resize(12);
    std::vector<sampling::RowInput> inputs;
    std::vector<std::vector<int32_t>> pendings;
    std::vector<PenaltyRowInput> in;
    inputs.reserve(ids.size() * 4);  // rows point into it: no reallocation
    pendings.reserve(ids.size() * 4);
    for (uint64_t id : ids) {
      Seq& s = live.at(id);
      const int drafts = rng() % 4 == 0 ? 1 + static_cast<int>(rng() % 3) : 0;
      std::vector<int32_t> draft;
      for (int d = 0; d < drafts; ++d) draft.push_back(token());
      for (int j = 0; j <= drafts; ++j) {  // one row per drafted position plus one, as the engine does
        pendings.emplace_back(draft.begin(), draft.begin() + j);
        sampling::RowInput r;
        r.params = s.penalised ? &penalised : &plain;
        r.penalties = (rng() % 10 == 0) ? nullptr : &s.state;
        r.pending_tokens = pendings.back();
        inputs.push_back(r);
        in.push_back({id, &inputs.back(), s.output});
      }
    }
    const std::vector<int32_t> counts_row = rows.prepare(in, table);
    ASSERT_EQ(counts_row.size(), in.size());
    for (size_t i = 0; i < in.size(); ++i) {
      const sampling::RowInput& r = *in[i].input;
      const bool uses = r.params == &penalised && (r.penalties || !r.pending_tokens.empty());
      if (!uses) {
        EXPECT_EQ(counts_row[i], -1);
        ++unpenalised;
        continue;
      }
      ASSERT_GE(counts_row[i], 0);
      const std::span<uint32_t> got = table.row(counts_row[i]);
      const std::vector<uint32_t> want = expected_row(r.penalties, r.pending_tokens);
      ASSERT_EQ(std::vector<uint32_t>(got.begin(), got.end()), want) << "step " << step << " row " << i;
      speculative += !r.pending_tokens.empty();
      ++checked;
    }
    // Two rows of this call never share a table row unless both are the same sequence's plain row.
    std::map<int32_t, size_t> owner;
    for (size_t i = 0; i < in.size(); ++i) {
      if (counts_row[i] < 0) continue;
      auto [it, fresh] = owner.emplace(counts_row[i], i);
      if (!fresh) {
        EXPECT_EQ(in[it->second].seq_id, in[i].seq_id);
        EXPECT_TRUE(in[i].input->pending_tokens.empty() && in[it->second].input->pending_tokens.empty());
      }
    }
    // Accept tokens, as append_token does.
    for (uint64_t id : ids) {
      Seq& s = live.at(id);
      for (int k = 0, n = static_cast<int>(rng() % 3); k < n; ++k) {
        const int32_t t = token();
        s.output.push_back(t);
        s.state.accept(t);
      }
    }
  }
  EXPECT_GT(checked, 1000);
  EXPECT_GT(speculative, 100);
  EXPECT_GT(unpenalised, 100);
  // Rows are reused: the table stays near the largest call (12 sequences, up to 36 rows) instead of
  // growing with every sequence ever admitted (~150 here).
  EXPECT_LE(rows.table_rows(), 64);
  EXPECT_LT(table.fills, checked);  // rows persist between calls: most are updated, not rebuilt
  std::printf("  %d rows checked (%d speculative), table %ld rows, %d grows, %d fills\n", checked, speculative,
              static_cast<long>(rows.table_rows()), table.grows, table.fills);
}

TEST(PenaltyRows, BadTokenIdsAreRejected) {
  HostTable table;
  PenaltyRows rows(kVocab);
  sampling::SamplingParams p;
  p.presence_penalty = 0.5f;
  sampling::PenaltyState state(std::vector<int32_t>{1, 2});
  const std::vector<int32_t> bad_output = {3, kVocab};
  sampling::RowInput r;
  r.params = &p;
  r.penalties = &state;
  const PenaltyRowInput in{1, &r, bad_output};
  EXPECT_THROW(rows.prepare(std::span<const PenaltyRowInput>(&in, 1), table), std::invalid_argument);
}

}  // namespace
}  // namespace nucleus
