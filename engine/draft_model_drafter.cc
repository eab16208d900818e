#include "engine/draft_model_drafter.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <stdexcept>
#include <string>

#include "engine/kv_budget.h"

namespace nucleus {

void check_same_vocabulary(const Model& target, const Model& draft) {
  const std::string both = "the draft model " + draft.file().path() + " and the model " + target.file().path();
  const int64_t a = target.config().vocab_size, b = draft.config().vocab_size;
  if (a != b) {
    throw std::invalid_argument(both + " have different vocabularies (" + std::to_string(b) + " vs " +
                                std::to_string(a) + " tokens); a draft model must share the model's tokenizer");
  }
  constexpr const char* kTokens = "tokenizer.ggml.tokens";
  const bool target_has = target.file().has(kTokens), draft_has = draft.file().has(kTokens);
  if (target_has != draft_has) {
    throw std::invalid_argument(both + ": only one of them has " + kTokens +
                                ", so their vocabularies cannot be compared");
  }
  if (!target_has) return;
  const std::vector<std::string> ta = target.file().get_string_array(kTokens);
  const std::vector<std::string> da = draft.file().get_string_array(kTokens);
  for (size_t i = 0; i < ta.size(); ++i) {
    if (ta[i] != da[i]) {
      throw std::invalid_argument(both + " have different vocabularies: token " + std::to_string(i) + " is '" + da[i] +
                                  "' in the draft model and '" + ta[i] + "' in the model");
    }
  }
}

namespace {
// The draft model's KV dtype (kv_budget.h), with a warning when it is not the one asked for.
kernels::KvDtype checked_draft_kv_dtype(const ModelConfig& config, kernels::KvDtype wanted) {
  const kernels::KvDtype dtype = draft_kv_dtype(config, wanted);
  if (dtype != wanted) {
    spdlog::warn("draft model: head_dim {} cannot hold a {} KV cache; its KV cache stays {}", config.head_dim,
                 kernels::kv_dtype_name(wanted), kernels::kv_dtype_name(dtype));
  }
  return dtype;
}
}  // namespace

DraftModelDrafter::DraftModelDrafter(const Model& target, Model& draft, const kernels::Context& ctx,
                                     DraftModelOptions options)
    : draft_(draft),
      ctx_(ctx),
      options_(options),
      storage_(draft.config(), options.num_blocks, options.block_size, ctx.device,
               checked_draft_kv_dtype(draft.config(), options.kv_dtype)),
      pool_(options.num_blocks, options.block_size, options.prefix_cache),
      kv_(pool_, storage_) {
  check_same_vocabulary(target, draft);
  if (options.max_catch_up_tokens < 1)
    throw std::invalid_argument("DraftModelOptions: max_catch_up_tokens must be >= 1");
}

void DraftModelDrafter::forget(uint64_t seq_id) {
  auto it = states_.find(seq_id);
  if (it == states_.end()) return;
  kv_.release(it->second.kv);
  states_.erase(it);
}

void DraftModelDrafter::resync(State& s, std::span<const int32_t> tokens) {
  // The draft KV is valid up to the first position computed with another
  // token than the sequence has now (a rejected draft), and never covers the
  // last real token: it is recomputed for its logits.
  const size_t limit = std::min(s.computed.size(), tokens.size() - 1);
  const size_t keep = static_cast<size_t>(
      std::mismatch(s.computed.begin(), s.computed.begin() + static_cast<std::ptrdiff_t>(limit), tokens.begin()).first -
      s.computed.begin());
  if (keep < s.kv.block_hashes.size() * static_cast<size_t>(options_.block_size)) {
    // A block already registered in the prefix cache no longer matches (the
    // sequence's real tokens changed, which decoding never does): start over.
    kv_.release(s.kv);
    s.computed.clear();
    return;
  }
  s.computed.resize(keep);
  s.kv.num_computed = static_cast<int64_t>(keep);
  kv_.register_full_blocks(s.kv, tokens);
}

void DraftModelDrafter::run_batch(std::vector<int32_t>& argmax) {
  const int64_t vocab = draft_.config().vocab_size;
  const size_t rows = batch_.logit_rows.size();
  const size_t bytes = rows * vocab * sizeof(float);
  logits_.resize(rows * vocab);
  if (ctx_.device == kernels::Device::kCpu) {
    draft_.forward(ctx_, batch_, storage_, logits_.data());
  } else {
    // The logits land in device memory; the argmax is cheap enough on the host.
    if (bytes > 0 && (!device_logits_ || device_logits_->bytes() < bytes)) {
      device_logits_ = std::make_unique<kernels::DeviceBuffer>(ctx_.device, bytes);
    }
    draft_.forward(ctx_, batch_, storage_, bytes > 0 ? device_logits_->as<float>() : nullptr);
    if (bytes > 0) device_logits_->download(logits_.data(), bytes);
  }
  argmax.resize(rows);
  for (size_t r = 0; r < rows; ++r) {
    const float* row = logits_.data() + r * vocab;
    // Greedy, lowest id on ties (as the sampler's greedy path).
    argmax[r] = static_cast<int32_t>(std::max_element(row, row + vocab) - row);
  }
}

void DraftModelDrafter::propose(std::span<DraftJob> jobs) {
  std::vector<Active> active = admit_jobs(jobs);
  if (active.empty()) return;
  std::vector<size_t> members = catch_up(active);
  while (!members.empty()) members = draft_one_more(active, members);
}

// The jobs this call works on, within the catch-up token budget and the draft
// KV pool; each one's sequence is resynchronised with its tokens first.
std::vector<DraftModelDrafter::Active> DraftModelDrafter::admit_jobs(std::span<DraftJob> jobs) {
  const int64_t context = draft_.config().context_length;
  std::vector<Active> active;
  int64_t budget = options_.max_catch_up_tokens;
  for (DraftJob& job : jobs) {
    job.draft.clear();
    const int64_t len = static_cast<int64_t>(job.tokens.size());
    if (budget <= 0 || len < 1 || len > context || job.max_tokens < 1) continue;
    State& s = states_[job.seq_id];
    resync(s, job.tokens);
    if (s.kv.block_table.empty()) {
      kv_.match_prefix(s.kv, job.tokens);
      s.computed.assign(job.tokens.begin(), job.tokens.begin() + s.kv.num_computed);
    }
    const int64_t behind = len - s.kv.num_computed;  // >= 1: the last real token at least
    const int64_t n = std::min(behind, budget);
    // The last draft is never fed back, so positions up to len + k - 2 are computed.
    const int k = n == behind ? static_cast<int>(std::min<int64_t>(job.max_tokens, context - len + 1)) : 0;
    // A full draft pool only costs this sequence its draft (never an output).
    if (!kv_.allocate(s.kv, n + std::max(k - 1, 0))) continue;
    active.push_back({&job, &s, k, n});
    budget -= n;
  }
  return active;
}

// batch_ emptied, with the block tables of `members` (indices into `active`).
void DraftModelDrafter::start_batch(const std::vector<Active>& active, const std::vector<size_t>& members) {
  batch_.clear();
  int max_blocks = 1;
  for (size_t a : members) max_blocks = std::max<int>(max_blocks, static_cast<int>(active[a].state->kv.block_table.size()));
  batch_.max_blocks_per_seq = max_blocks;
  batch_.block_tables.assign(members.size() * max_blocks, 0);
  for (size_t i = 0; i < members.size(); ++i) {
    const std::vector<int32_t>& table = active[members[i]].state->kv.block_table;
    std::copy(table.begin(), table.end(), batch_.block_tables.begin() + static_cast<int64_t>(i) * max_blocks);
  }
}

void DraftModelDrafter::add_token(State& s, int32_t token, int32_t batch_seq) {
  const int64_t pos = s.kv.num_computed;
  batch_.tokens.push_back(token);
  batch_.positions.push_back(static_cast<int32_t>(pos));
  batch_.token_seq.push_back(batch_seq);
  batch_.slot_mapping.push_back(kv_.slot(s.kv, pos));
  s.computed.push_back(token);
  ++s.kv.num_computed;
}

// Pass 0: every active sequence catches up; those that complete it get their
// first draft. Returns the sequences that draft more.
std::vector<size_t> DraftModelDrafter::catch_up(std::vector<Active>& active) {
  std::vector<size_t> members(active.size());
  for (size_t a = 0; a < active.size(); ++a) members[a] = a;
  start_batch(active, members);
  for (size_t a = 0; a < active.size(); ++a) {
    State& s = *active[a].state;
    const std::span<const int32_t> tokens = active[a].job->tokens;
    for (int64_t j = 0; j < active[a].catch_up; ++j) add_token(s, tokens[s.kv.num_computed], static_cast<int32_t>(a));
    if (active[a].k > 0) batch_.logit_rows.push_back(static_cast<int32_t>(batch_.tokens.size() - 1));
  }
  std::vector<int32_t> next;
  run_batch(next);
  members.clear();
  for (size_t a = 0, row = 0; a < active.size(); ++a) {
    kv_.register_full_blocks(active[a].state->kv, active[a].job->tokens);
    if (active[a].k == 0) continue;
    active[a].job->draft.push_back(next[row++]);
    if (active[a].k > 1) members.push_back(a);
  }
  return members;
}

// Passes 1 .. k-1: feeds each still-drafting sequence its newest draft.
// Returns the sequences that draft more.
std::vector<size_t> DraftModelDrafter::draft_one_more(std::vector<Active>& active, const std::vector<size_t>& members) {
  start_batch(active, members);
  for (size_t i = 0; i < members.size(); ++i) {
    Active& x = active[members[i]];
    add_token(*x.state, x.job->draft.back(), static_cast<int32_t>(i));
    batch_.logit_rows.push_back(static_cast<int32_t>(i));
  }
  std::vector<int32_t> next;
  run_batch(next);
  std::vector<size_t> still;
  for (size_t i = 0; i < members.size(); ++i) {
    Active& x = active[members[i]];
    x.job->draft.push_back(next[i]);
    if (static_cast<int>(x.job->draft.size()) < x.k) still.push_back(members[i]);
  }
  return still;
}

}  // namespace nucleus
