#include "engine/engine_core.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <string>

#include "engine/admission.h"
#include "engine/beam_search.h"
#include "engine/generation_errors.h"
#include "engine/grammar_vocabulary.h"
#include "engine/json_token_mask.h"
#include "engine/kv_budget.h"
#include "engine/output_token.h"
#include "sampling/grammar/grammar_error.h"
#include "engine/prompt_logprobs.h"
#include "text/tokenizer.h"

namespace nucleus {

namespace {
using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// A grammar too ambiguous to follow at run time: the request's fault, blamed
// on the parameter that set the grammar.
GenerationError grammar_too_ambiguous(const GenerationRequest& spec, const grammar::GrammarError& e) {
  return {std::string("structured output: ") + e.what(), spec.grammar_param};
}
}  // namespace

Request::Request() = default;
Request::~Request() = default;

EngineCore::EngineCore(Model& model, const Tokenizer& tokenizer, const EngineOptions& options,
                       std::unique_ptr<StepBackend> backend)
    : model_(model),
      tokenizer_(tokenizer),
      options_(options),
      pool_(options.threads),
      ctx_{options.device, &pool_},
      backend_(backend ? std::move(backend) : make_step_backend(ctx_, model.config().vocab_size)),
      storage_(model.config(), kv_cache_blocks(model.config(), options), options.block_size, options.device,
               options.kv_dtype),
      blocks_(storage_.num_blocks(), options.block_size, options.prefix_cache),
      kv_(blocks_, storage_),
      scheduler_(kv_, SchedulerOptions{options.max_batched_tokens, options.max_seqs}),
      prefill_pacing_(options.max_step_ms / 1000.0, options.block_size),
      speculator_(model, options_, ctx_, blocks_.num_blocks()) {
  if (tokenizer.vocab_size() > model.config().vocab_size) {
    throw std::invalid_argument("tokenizer has " + std::to_string(tokenizer.vocab_size()) +
                                " tokens but the model's vocabulary is " + std::to_string(model.config().vocab_size));
  }
  stats_.kv_blocks_total = blocks_.num_blocks();
  model_.prepare(ctx_);
  // The draft model too, so its weights are packed (CPU) or uploaded (CUDA)
  // now rather than during the first request that drafts with it.
  if (options.draft_model && options.draft_model != &model_) options.draft_model->prepare(ctx_);
}

EngineCore::~EngineCore() { shutdown(std::chrono::milliseconds(0)); }

int EngineCore::context_length() const { return model_.config().context_length; }

void EngineCore::start() { thread_ = std::thread([this] { loop(); }); }

std::unique_ptr<RequestHandle> EngineCore::submit(GenerationRequest spec) {
  admit(spec, {.vocab = model_.config().vocab_size,
               .context_length = context_length(),
               .cache_blocks = blocks_.num_blocks(),
               .block_size = options_.block_size,
               .has_draft_model = speculator_.has_draft_model(),
               .max_sequences = options_.max_request_sequences});
  if (spec.beam) prepare_beam_request(spec, blocks_.num_blocks(), options_.block_size);

  auto request = std::make_unique<Request>();
  request->seed = spec.params.has_seed ? spec.params.seed : sampling::draw_entropy_seed();
  request->spec = std::move(spec);
  request->mailbox = std::make_shared<RequestHandle::Shared>();
  request->usage.prompt_tokens = static_cast<int64_t>(request->spec.prompt.size());
  std::shared_ptr<RequestHandle::Shared> mailbox = request->mailbox;
  uint64_t id;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!accepting_) throw EngineOverloaded("the engine is shutting down");
    if (static_cast<int64_t>(incoming_.size()) + stats_.waiting >= options_.max_queue) {
      throw EngineOverloaded("the engine's queue is full (" + std::to_string(options_.max_queue) + " waiting requests)");
    }
    id = next_request_id_++;
    request->id = id;
    incoming_.push_back(std::move(request));
  }
  wake_.notify_one();
  return std::unique_ptr<RequestHandle>(new RequestHandle(id, std::move(mailbox)));
}

EngineStats EngineCore::stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return stats_;
}

void EngineCore::shutdown(std::chrono::milliseconds timeout) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    accepting_ = false;
    stopping_ = true;
    const auto deadline = Clock::now() + timeout;
    abort_deadline_ = std::min(abort_deadline_, deadline);
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void EngineCore::loop() {
  while (true) {
    bool abort_everything = false;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [&] { return !incoming_.empty() || !live_.empty() || stopping_; });
      if (stopping_ && Clock::now() >= abort_deadline_) abort_everything = true;
      if (stopping_ && incoming_.empty() && live_.empty()) break;
    }
    // An exception must not leave the engine thread (std::terminate): the
    // requests in flight fail with its message and the engine goes on.
    try {
      take_incoming();  // before the aborts, so a request aborted right after submit is seen
      handle_aborts(abort_everything);
      if (!device_lost_.empty()) {
        // Nothing can run any more: each request fails as it arrives.
        if (!live_.empty()) fail_live_requests("the device can no longer run requests: " + device_lost_);
        continue;
      }
      if (!step() && !live_.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    } catch (const std::exception& e) {
      fail_live_requests(e.what());
      // An error that poisoned the device (a CUDA illegal address) fails every
      // later step too: say so once, and let the owner stop the process.
      if (std::string lost = backend_->device_failure(); !lost.empty()) {
        spdlog::critical("the {} device can no longer run requests: {}", kernels::device_name(ctx_.device), lost);
        device_lost_ = std::move(lost);
        if (options_.on_device_lost) options_.on_device_lost(device_lost_);
      }
    }
  }
}

void EngineCore::fail_live_requests(const std::string& what) {
  spdlog::error("engine step failed: {}; failing {} request(s) in flight", what, live_.size());
  for (auto& [id, request] : live_) {
    for (auto& s : request->seqs) {
      if (s->finish == FinishReason::kNone) {
        s->seq.drop_drafts();
        finish_sequence(*s, FinishReason::kError);
      }
    }
    set_error(request->event, {"the engine failed while running this request: " + what, ""});
    request->num_finished = request->spec.n;  // siblings never forked fail too
  }
  // The failed step may have written part of a block's KV: no prefix is trusted.
  blocks_.forget_cached_prefixes();
  update_stats(0, 0, 0, 0);
  publish_and_retire();
}

void EngineCore::take_incoming() {
  std::deque<std::unique_ptr<Request>> arrived;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    arrived.swap(incoming_);
  }
  for (auto& request : arrived) {
    const GenerationRequest& spec = request->spec;
    DecodeOptions decode;
    decode.skip_special_tokens = spec.skip_special_tokens;
    auto first = std::make_unique<SequenceState>(tokenizer_, decode);
    first->request = request.get();
    first->seq.id = next_seq_id_++;
    first->seq.tokens = spec.prompt;
    first->seq.prompt_len = static_cast<int64_t>(spec.prompt.size());
    first->seq.owner = first.get();
    if (spec.response_format == ResponseFormat::kJsonObject) {
      first->json.emplace();
      if (!json_mask_) json_mask_ = std::make_unique<JsonTokenMask>(tokenizer_, model_.config().vocab_size);
    }
    if (spec.grammar) first->grammar.emplace(spec.grammar);
    if (spec.prompt_logprobs >= 0) {
      first->seq.reuse_prefix = false;
      request->prompt_logprobs.resize(spec.prompt.size() - 1);
    }
    first->penalties = sampling::PenaltyState(spec.prompt);
    first->stops = StopStringMatcher(spec.stop, spec.include_stop_str_in_output);
    scheduler_.add_waiting(&first->seq);
    request->seqs.push_back(std::move(first));
    if (spec.beam) request->beam = std::make_unique<BeamSearch>(*request);
    prompt_tokens_ += static_cast<int64_t>(spec.prompt.size());
    const uint64_t id = request->id;
    live_.emplace(id, std::move(request));
  }
}

void EngineCore::handle_aborts(bool abort_everything) {
  bool any = false;
  for (auto& [id, request] : live_) {
    if (!abort_everything && !request->mailbox->aborted.load()) continue;
    any = true;
    for (auto& s : request->seqs) {
      if (s->finish == FinishReason::kNone) finish_sequence(*s, FinishReason::kAbort);
    }
    // Siblings that were never forked count as aborted too.
    request->num_finished = request->spec.n;
  }
  if (!any) return;
  update_stats(0, 0, 0, 0);  // the freed blocks show at once, even if no step follows
  publish_and_retire();
}

bool EngineCore::step() {
  // Here, not only in loop(), so tests and tools can drive steps without the thread.
  take_incoming();
  handle_aborts(false);
  if (live_.empty()) return false;
  const auto step_start = Clock::now();
  speculator_.draft(scheduler_.running(), context_length());
  const Schedule schedule = scheduler_.schedule(&prefill_pacing_);
  if (schedule.empty()) {
    update_stats(0, 0, 0, schedule.preemptions);
    return false;
  }
  build_batch(schedule);
  const size_t prompt_rows_begin = batch_.logit_rows.size();
  add_prompt_logprob_rows(schedule);

  const auto forward_start = Clock::now();
  backend_->forward(model_, batch_, storage_);
  const double forward_s = seconds_since(forward_start);
  read_prompt_logprobs(schedule, prompt_rows_begin);

  const StepPlan plan = plan_rows(schedule);
  const auto sample_start = Clock::now();
  std::vector<SampleRow> rows = sampler_rows(plan);
  std::vector<sampling::RowResult> results(rows.size());
  if (!rows.empty()) backend_->sample(rows, results);
  const double sample_s = seconds_since(sample_start);

  apply_results(plan, results);
  advance_beams();
  const double step_s = seconds_since(step_start);
  prefill_pacing_.observe(schedule.num_tokens, step_s);
  // Stats first, so a client woken by its final event already sees them.
  update_stats(step_s, forward_s, sample_s, schedule.preemptions);
  publish_and_retire();
  return true;
}

// The ragged batch of one step: each chunk's tokens, positions and KV slots,
// its block table, and the rows whose logits the step needs.
void EngineCore::build_batch(const Schedule& schedule) {
  batch_.clear();
  int max_blocks = 1;
  for (const ScheduledChunk& c : schedule.chunks) {
    max_blocks = std::max<int>(max_blocks, static_cast<int>(c.seq->kv.block_table.size()));
  }
  batch_.max_blocks_per_seq = max_blocks;
  batch_.block_tables.assign(schedule.chunks.size() * max_blocks, 0);
  chunk_first_row_.assign(schedule.chunks.size(), 0);
  for (size_t i = 0; i < schedule.chunks.size(); ++i) {
    const ScheduledChunk& c = schedule.chunks[i];
    const Sequence& seq = *c.seq;
    std::copy(seq.kv.block_table.begin(), seq.kv.block_table.end(), batch_.block_tables.begin() + i * max_blocks);
    chunk_first_row_[i] = batch_.tokens.size();
    for (int64_t j = 0; j < c.num_tokens; ++j) {
      const int64_t pos = seq.kv.num_computed + j;
      batch_.tokens.push_back(seq.tokens[pos]);
      batch_.positions.push_back(static_cast<int32_t>(pos));
      batch_.token_seq.push_back(static_cast<int32_t>(i));
      batch_.slot_mapping.push_back(kv_.slot(seq.kv, pos));
    }
    // Logits for the last token, and for each drafted token when speculating.
    if (c.completes()) {
      for (int64_t j = seq.num_draft; j >= 0; --j) {
        batch_.logit_rows.push_back(static_cast<int32_t>(batch_.tokens.size() - 1 - j));
      }
    }
  }
}

// Advances the KV bookkeeping of the computed chunks and lists the rows to
// sample. A speculating sequence has one row per drafted token plus one, each
// sampled as plain decoding would at that position: same parameters, same
// position-keyed noise, and the drafts before it counted as output (pending
// tokens); its KV bookkeeping waits for verification (accept_drafts).
EngineCore::StepPlan EngineCore::plan_rows(const Schedule& schedule) {
  StepPlan plan;
  plan.drafts_of.resize(schedule.chunks.size());
  size_t row = 0;
  for (size_t ci = 0; ci < schedule.chunks.size(); ++ci) {
    const ScheduledChunk& c = schedule.chunks[ci];
    SequenceState* s = c.seq->owner;
    const bool completes = c.completes();  // before num_computed advances
    if (c.seq->num_draft > 0) {
      plan.drafts_of[ci].assign(c.seq->tokens.end() - c.seq->num_draft, c.seq->tokens.end());
      c.seq->drop_drafts();
      for (int64_t j = 0; j <= static_cast<int64_t>(plan.drafts_of[ci].size()); ++j) plan.rows.push_back({s, row++, j, ci});
      continue;
    }
    c.seq->kv.num_computed += c.num_tokens;
    kv_.register_full_blocks(c.seq->kv, c.seq->tokens);
    if (!completes) continue;
    const bool prompt_done = s->index == 0 && s->seq.num_output() == 0;
    if (prompt_done) send_prompt_logprobs(*s->request);
    plan.rows.push_back({s, row, -1, ci});
    // The first sequence of an n > 1 request finished its prompt: its siblings
    // fork from it here and sample their first token from the same logits.
    if (prompt_done && s->request->spec.n > 1 && s->request->seqs.size() == 1 && !s->request->beam) {
      fork_siblings(*s);
      for (size_t k = 1; k < s->request->seqs.size(); ++k) plan.rows.push_back({s->request->seqs[k].get(), row, -1, ci});
    }
    ++row;
  }
  return plan;
}

// The sampler's input for every planned row (rows sharing logits get their own
// copy): parameters, penalty state, the noise key, JSON-mode masks; beam rows
// are ranked from the raw logits here, before the sampler works in place.
std::vector<SampleRow> EngineCore::sampler_rows(const StepPlan& plan) {
  std::vector<SampleRow> rows(plan.rows.size());
  const std::vector<int32_t>& eos = tokenizer_.end_of_generation_ids();
  if (row_masks_.size() < rows.size()) row_masks_.resize(rows.size());
  for (size_t i = 0; i < rows.size(); ++i) {
    const PlannedRow& p = plan.rows[i];
    SequenceState& s = *p.s;
    rows[i].logit_row = p.logit_row;
    rows[i].seq_id = s.seq.id;
    rows[i].output_tokens = std::span<const int32_t>(s.seq.tokens).subspan(static_cast<size_t>(s.seq.prompt_len));
    sampling::RowInput& in = rows[i].input;
    in.params = &s.request->spec.params;
    in.penalties = &s.penalties;
    in.seed = s.request->seed;
    in.seq_index = static_cast<uint32_t>(s.index);
    in.position = static_cast<int64_t>(s.seq.tokens.size()) + std::max<int64_t>(p.draft_index, 0);
    in.num_output_tokens = s.seq.num_output();
    in.eos_token_ids = eos;
    in.output_tokens = rows[i].output_tokens;
    if (p.draft_index > 0) in.pending_tokens = std::span<const int32_t>(plan.drafts_of[p.chunk]).first(p.draft_index);
    if (s.json) {
      json_mask_->fill(*s.json, row_masks_[i]);
      in.token_mask = row_masks_[i].data();
    } else if (s.grammar) {
      try {
        fill_grammar_mask(s, plan, p, row_masks_[i]);
      } catch (const grammar::GrammarError& e) {  // this request's grammar only: the others go on
        s.grammar_error = grammar_too_ambiguous(s.request->spec, e);
        row_masks_[i].assign(row_masks_[i].size(), 0);
      }
      in.token_mask = row_masks_[i].data();
    }
  }
  for (size_t i = 0; i < rows.size(); ++i) {
    if (BeamSearch* beam = plan.rows[i].s->request->beam.get()) {
      const int64_t vocab = model_.config().vocab_size;
      beam_row_.resize(static_cast<size_t>(vocab));
      backend_->read_logits(plan.rows[i].logit_row, beam_row_.data());
      beam->take_row(*plan.rows[i].s, beam_row_.data(), vocab, rows[i].input);
    }
  }
  return rows;
}

// Row p of a sequence under a grammar: the mask after its drafts before p, so a
// speculating sequence's rows are masked exactly as plain decoding would mask
// them once those drafts were accepted. A draft the grammar refuses is one the
// masked sample cannot equal, so verification stops there and later rows
// (masked from the last state reached) are never used.
void EngineCore::fill_grammar_mask(const SequenceState& s, const StepPlan& plan, const PlannedRow& p,
                                   std::vector<uint8_t>& mask) {
  if (p.draft_index <= 0) {
    grammar_mask().fill(*s.grammar, mask);
    return;
  }
  grammar::GrammarState state = *s.grammar;
  for (int64_t j = 0; j < p.draft_index; ++j) {
    const int32_t draft = plan.drafts_of[p.chunk][static_cast<size_t>(j)];
    if (tokenizer_.is_end_of_generation(draft) || !state.accept_bytes(tokenizer_.token_to_piece(draft))) break;
  }
  grammar_mask().fill(state, mask);
}

// Feeds the sampled token to the sequence's grammar; false (with grammar_error
// set) when it is refused, which the mask makes a bug, or when the grammar
// becomes too ambiguous to follow.
bool EngineCore::advance_grammar(SequenceState& s, int32_t token) {
  try {
    if (s.grammar->accept_bytes(tokenizer_.token_to_piece(token))) return true;
    s.grammar_error = {"structured output: the sampled token " + std::to_string(token) + " breaks the grammar", ""};
  } catch (const grammar::GrammarError& e) {
    s.grammar_error = grammar_too_ambiguous(s.request->spec, e);
  }
  return false;
}

// Built once, at the first structured-output row: every token's bytes, the
// end-of-generation ids, and the special tokens no grammar may produce.
const grammar::GrammarTokenMask& EngineCore::grammar_mask() {
  if (grammar_mask_) return *grammar_mask_;
  grammar_mask_ = std::make_unique<grammar::GrammarTokenMask>(
      grammar_vocabulary(tokenizer_, static_cast<int32_t>(model_.config().vocab_size)));
  return *grammar_mask_;
}

// Each sampled token goes to its sequence; a speculating sequence's rows
// verify its drafts together; beam rows wait for advance_beams().
void EngineCore::apply_results(const StepPlan& plan, std::span<const sampling::RowResult> results) {
  for (size_t i = 0; i < plan.rows.size();) {
    const PlannedRow& p = plan.rows[i];
    if (p.s->request->beam) {
      ++i;
    } else if (p.draft_index < 0) {
      append_token(*p.s, results[i]);
      ++i;
    } else {
      const std::vector<int32_t>& drafts = plan.drafts_of[p.chunk];
      accept_drafts(*p.s, results.subspan(i, drafts.size() + 1), drafts);
      i += drafts.size() + 1;
    }
  }
}

void EngineCore::accept_drafts(SequenceState& s, std::span<const sampling::RowResult> rows,
                               std::span<const int32_t> drafts) {
  // Before the step the last real token was uncomputed; the step computed it
  // and every draft. The KV of a draft is valid exactly when it was kept.
  const int64_t computed_before = s.seq.kv.num_computed;
  int64_t kept = 0;
  for (size_t j = 0; j < rows.size(); ++j) {
    append_token(s, rows[j]);
    if (s.finish != FinishReason::kNone) break;
    if (j < drafts.size() && rows[j].token_id == drafts[j]) {
      ++kept;
      continue;
    }
    break;
  }
  speculator_.record(static_cast<int64_t>(drafts.size()), kept);
  s.spec_pacing.update(static_cast<int>(drafts.size()), static_cast<int>(kept), options_.spec_tokens);
  if (s.finish != FinishReason::kNone) return;  // its blocks are already released
  s.seq.kv.num_computed = computed_before + 1 + kept;
  kv_.register_full_blocks(s.seq.kv, s.seq.tokens);
}

void EngineCore::fork_siblings(SequenceState& first) {
  Request& request = *first.request;
  DecodeOptions decode;
  decode.skip_special_tokens = request.spec.skip_special_tokens;
  Sequence* after = &first.seq;
  for (int k = 1; k < request.spec.n; ++k) {
    auto sibling = std::make_unique<SequenceState>(tokenizer_, decode);
    sibling->request = &request;
    sibling->index = k;
    sibling->seq.id = next_seq_id_++;
    sibling->seq.tokens = first.seq.tokens;
    sibling->seq.prompt_len = first.seq.prompt_len;
    sibling->seq.owner = sibling.get();
    sibling->penalties = first.penalties;
    sibling->json = first.json;
    sibling->grammar = first.grammar;
    sibling->stops = StopStringMatcher(request.spec.stop, request.spec.include_stop_str_in_output);
    kv_.fork(first.seq.kv, sibling->seq.kv);
    scheduler_.add_running_after(after, &sibling->seq);
    after = &sibling->seq;
    request.seqs.push_back(std::move(sibling));
  }
}

namespace {
// The chunk's positions whose logits predict a prompt token (p + 1 < prompt_len),
// when its request wants prompt logprobs that are not sent yet: [begin, end).
std::pair<int64_t, int64_t> prompt_logprob_span(const ScheduledChunk& c) {
  const auto* s = c.seq->owner;
  const Request& request = *s->request;
  if (request.spec.prompt_logprobs < 0 || request.prompt_logprobs_sent || s->index != 0) return {0, 0};
  const int64_t begin = c.seq->kv.num_computed;
  return {begin, std::max(begin, std::min(begin + c.num_tokens, c.seq->prompt_len - 1))};
}
}  // namespace

void EngineCore::add_prompt_logprob_rows(const Schedule& schedule) {
  for (size_t i = 0; i < schedule.chunks.size(); ++i) {
    const auto [begin, end] = prompt_logprob_span(schedule.chunks[i]);
    for (int64_t pos = begin; pos < end; ++pos) {
      batch_.logit_rows.push_back(static_cast<int32_t>(chunk_first_row_[i] + static_cast<size_t>(pos - begin)));
    }
  }
}

void EngineCore::read_prompt_logprobs(const Schedule& schedule, size_t first_row) {
  size_t row = first_row;
  prompt_row_.resize(static_cast<size_t>(model_.config().vocab_size));
  for (const ScheduledChunk& c : schedule.chunks) {
    const auto [begin, end] = prompt_logprob_span(c);
    Request& request = *c.seq->owner->request;
    for (int64_t pos = begin; pos < end; ++pos, ++row) {
      backend_->read_logits(row, prompt_row_.data());
      request.prompt_logprobs[static_cast<size_t>(pos)] =
          prompt_token_logprob(prompt_row_, c.seq->tokens[static_cast<size_t>(pos + 1)], request.spec.prompt_logprobs);
    }
  }
}

void EngineCore::send_prompt_logprobs(Request& request) {
  if (request.spec.prompt_logprobs < 0 || request.prompt_logprobs_sent) return;
  request.prompt_logprobs_sent = true;
  request.seqs.front()->seq.reuse_prefix = true;  // a later recompute (preemption) needs no logits
  request.event.prompt_logprobs = std::move(request.prompt_logprobs);
  if (std::find(touched_.begin(), touched_.end(), &request) == touched_.end()) touched_.push_back(&request);
}

namespace {
SequenceDelta& delta_for(Request& request, int index) {
  for (SequenceDelta& d : request.event.deltas) {
    if (d.index == index) return d;
  }
  request.event.deltas.emplace_back();
  request.event.deltas.back().index = index;
  return request.event.deltas.back();
}
}  // namespace

void EngineCore::append_token(SequenceState& s, const sampling::RowResult& r) {
  Request& request = *s.request;
  if (s.finish != FinishReason::kNone) return;
  if (std::find(touched_.begin(), touched_.end(), &request) == touched_.end()) touched_.push_back(&request);
  if (!s.grammar_error.message.empty()) {
    set_error(request.event, s.grammar_error);
    finish_sequence(s, FinishReason::kError);
    return;
  }
  if (!r.ok()) {
    set_error(request.event, no_token_error(request.spec, s.grammar.has_value() || static_cast<bool>(s.json)));
    finish_sequence(s, FinishReason::kError);
    return;
  }
  const int32_t token = r.token_id;
  const GenerationRequest& spec = request.spec;
  if (s.json && !tokenizer_.is_end_of_generation(token) && !s.json->step(tokenizer_.token_to_piece(token))) {
    // The mask allows only tokens the recognizer accepts; this would be a bug, so say so.
    request.event.error = "JSON mode: the sampled token " + std::to_string(token) + " does not continue the object";
    finish_sequence(s, FinishReason::kError);
    return;
  }
  if (s.grammar && !tokenizer_.is_end_of_generation(token) && !advance_grammar(s, token)) {
    set_error(request.event, s.grammar_error);
    finish_sequence(s, FinishReason::kError);
    return;
  }
  s.seq.tokens.push_back(token);
  s.penalties.accept(token);
  ++request.usage.completion_tokens;
  ++generation_tokens_;

  SequenceDelta& d = delta_for(request, s.index);
  d.tokens.push_back(token);
  if (spec.params.logprobs >= 0) d.logprobs.push_back(token_logprob(r));

  OutputToken out = append_output_token(token, s.seq.num_output(), static_cast<int64_t>(s.seq.tokens.size()),
                                        context_length(), spec, tokenizer_, s.detokenizer, s.stops);
  d.text += out.text;
  if (out.finish != FinishReason::kNone) {
    end_sequence(s, out.finish, std::move(out.stop_reason), out.stop_reason_is_token);
  }
}

void EngineCore::finish_sequence(SequenceState& s, FinishReason reason) {
  Request& request = *s.request;
  delta_for(request, s.index).text +=
      flush_held_back(s.detokenizer, s.stops, may_stop_on_strings(s.seq.num_output(), request.spec));
  end_sequence(s, reason, {}, false);
}

void EngineCore::end_sequence(SequenceState& s, FinishReason reason, std::string stop_reason,
                              bool stop_reason_is_token) {
  Request& request = *s.request;
  if (std::find(touched_.begin(), touched_.end(), &request) == touched_.end()) touched_.push_back(&request);
  SequenceDelta& d = delta_for(request, s.index);
  s.finish = reason;
  d.finish = reason;
  d.stop_reason_is_token = stop_reason_is_token;
  d.stop_reason = std::move(stop_reason);
  scheduler_.remove(&s.seq);
  speculator_.forget(s.seq.id);
  ++request.num_finished;
  count_finished(reason);
}

void EngineCore::advance_beams() {
  BeamEnv env{kv_, scheduler_, tokenizer_, next_seq_id_, context_length()};
  for (auto& [id, request] : live_) {
    if (!request->beam || !request->beam->ready()) continue;
    const BeamSearch::Outcome outcome = request->beam->advance(env);
    generation_tokens_ += outcome.decoded;
    if (!outcome.done) continue;
    if (std::find(touched_.begin(), touched_.end(), request.get()) == touched_.end()) touched_.push_back(request.get());
    for (const SequenceDelta& d : request->event.deltas) count_finished(d.finish);
  }
}

void EngineCore::count_finished(FinishReason reason) {
  std::lock_guard<std::mutex> lock(mutex_);
  switch (reason) {
    case FinishReason::kStop: ++stats_.finished_stop; break;
    case FinishReason::kLength: ++stats_.finished_length; break;
    case FinishReason::kAbort: ++stats_.finished_abort; break;
    default: ++stats_.finished_error; break;
  }
}

void EngineCore::publish_and_retire() {
  for (Request* request : touched_) {
    const bool done = request->num_finished >= request->spec.n;
    request->event.done = done;
    if (done) {
      request->usage.cached_prompt_tokens = request->seqs.front()->seq.cached_prompt_tokens;
      request->event.usage = request->usage;
    }
    request->mailbox->publish(std::move(request->event));
    request->event = RequestEvent{};
  }
  touched_.clear();
  // Aborted requests whose sequences were all finished above are retired too.
  for (auto it = live_.begin(); it != live_.end();) {
    Request& request = *it->second;
    if (request.num_finished >= request.spec.n) {
      if (!request.mailbox->finished) {
        RequestEvent done;
        done.done = true;
        done.usage = request.usage;
        request.mailbox->publish(std::move(done));
      }
      it = live_.erase(it);
    } else {
      ++it;
    }
  }
}

void EngineCore::update_stats(double step_s, double forward_s, double sample_s, int64_t preemptions) {
  std::lock_guard<std::mutex> lock(mutex_);
  stats_.running = static_cast<int64_t>(scheduler_.num_running());
  stats_.waiting = static_cast<int64_t>(scheduler_.num_waiting());
  stats_.kv_blocks_used = blocks_.num_used();
  stats_.kv_blocks_cached = blocks_.num_cached_free();
  stats_.prefix_queries = scheduler_.prefix_queries();
  stats_.prefix_hits = scheduler_.prefix_hits();
  stats_.preemptions += preemptions;
  if (step_s > 0) ++stats_.steps;
  stats_.step_seconds += step_s;
  stats_.forward_seconds += forward_s;
  stats_.sample_seconds += sample_s;
  stats_.spec_drafted = speculator_.drafted();
  stats_.spec_accepted = speculator_.accepted();
  stats_.spec_draft_kv_blocks_used = speculator_.draft_kv_blocks_used();
  stats_.prompt_tokens = prompt_tokens_;
  stats_.generation_tokens = generation_tokens_;
}

}  // namespace nucleus
