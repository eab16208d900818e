#include "engine/beam_search.h"

#include <algorithm>
#include <cmath>
#include <memory>

#include "engine/kv_cache_manager.h"
#include "engine/output_token.h"
#include "engine/request_state.h"
#include "engine/scheduler.h"
#include "text/tokenizer.h"

namespace nucleus {

void prepare_beam_request(GenerationRequest& spec, int64_t cache_blocks, int block_size) {
  BeamSearchOptions& beam = *spec.beam;
  if (beam.width < 1 || beam.width > 128) {
    throw InvalidRequest("n", "the beam width must be in [1, 128], got " + std::to_string(beam.width));
  }
  if (spec.n > beam.width) {
    throw InvalidRequest("n", "beam search returns at most its width (" + std::to_string(beam.width) +
                                  ") results, n is " + std::to_string(spec.n));
  }
  if (!std::isfinite(beam.length_penalty)) throw InvalidRequest("length_penalty", "length_penalty must be finite");
  if (!spec.params.greedy()) {
    throw InvalidRequest("temperature", "beam search is deterministic: temperature must be 0");
  }
  // The worst case holds W beams at once, sharing only the prompt's full
  // blocks; anything larger could never run, even alone.
  const auto blocks = [&](int64_t tokens) { return (tokens + block_size - 1) / block_size; };
  const int64_t needed = blocks(static_cast<int64_t>(spec.prompt.size())) +
                         int64_t{beam.width} * (blocks(spec.max_tokens) + 1);
  if (needed > cache_blocks) {
    throw InvalidRequest("max_tokens", "beam search with width " + std::to_string(beam.width) + " may need " +
                                           std::to_string(needed) + " KV blocks but the whole cache has " +
                                           std::to_string(cache_blocks) +
                                           "; lower n or max_tokens, or raise --kv-cache-memory");
  }
  spec.speculation = Speculation::kOff;  // beams decode one token per step
}

// One (beam, token) expansion of a step, with its text and stop state.
struct BeamSearch::Child {
  int beam = 0;  // parent index in beams_
  const sampling::BeamCandidate* cand = nullptr;
  double cum_logprob = 0;
  double score = 0;
  FinishReason finish = FinishReason::kNone;
  std::string stop_reason;
  bool stop_reason_is_token = false;  // SequenceDelta::stop_reason_is_token
  std::optional<Detokenizer> detokenizer;
  StopStringMatcher stops;
  std::string emit;  // text final after this token
};

BeamSearch::BeamSearch(Request& request) : request_(request), width_(request.spec.beam->width) {
  Beam root;
  root.s = request.seqs.front().get();
  beams_.push_back(std::move(root));
}

void BeamSearch::take_row(const SequenceState& beam, float* row, int64_t vocab, const sampling::RowInput& input) {
  for (Beam& b : beams_) {
    if (b.s != &beam) continue;
    // Greedy parameters (prepare_beam_request): the sampler stops after stage 4
    // and leaves the masked, biased, penalised logits in `row`.
    sampling::RowResult greedy;
    host_sampler_.sample(row, 1, vocab, std::span<const sampling::RowInput>(&input, 1),
                         std::span<sampling::RowResult>(&greedy, 1));
    // 2W candidates choose the children; more only for reporting top logprobs.
    const int32_t k = std::max(2 * width_, request_.spec.params.logprobs);
    sampling::beam_candidates(row, vocab, k, b.candidates);
    b.has_row = true;  // a recomputed beam (after preemption) yields the same row again
    return;
  }
}

bool BeamSearch::ready() const {
  return !beams_.empty() && std::all_of(beams_.begin(), beams_.end(), [](const Beam& b) { return b.has_row; });
}

BeamSearch::Child BeamSearch::make_child(const Beam& parent, const sampling::BeamCandidate& c, double cum,
                                         const BeamEnv& env) const {
  const GenerationRequest& spec = request_.spec;
  const Sequence& seq = parent.s->seq;
  Child child;
  child.cand = &c;
  child.cum_logprob = cum;
  child.detokenizer = parent.s->detokenizer;
  child.stops = parent.s->stops;
  const int64_t length = static_cast<int64_t>(seq.tokens.size()) + 1;  // prompt + output, with this token
  OutputToken out = append_output_token(c.token, seq.num_output() + 1, length, env.context_length, spec,
                                        env.tokenizer, *child.detokenizer, child.stops);
  child.emit = std::move(out.text);
  child.finish = out.finish;
  child.stop_reason = std::move(out.stop_reason);
  child.stop_reason_is_token = out.stop_reason_is_token;
  child.score = sampling::beam_score(cum, out.in_scored_length ? length : length - 1, spec.beam->length_penalty);
  return child;
}

TokenLogprob BeamSearch::logprob_of(const Beam& parent, const sampling::BeamCandidate& c) const {
  TokenLogprob lp;
  lp.token = c.token;
  lp.logprob = c.logprob;
  lp.rank = c.rank;
  const size_t top = std::min<size_t>(static_cast<size_t>(request_.spec.params.logprobs), parent.candidates.size());
  for (size_t i = 0; i < top; ++i) lp.top.push_back({parent.candidates[i].token, parent.candidates[i].logprob});
  return lp;
}

// 2. The 2W best (beam, token) pairs by cumulative logprob; stable, so ties
// keep beam order (best first) and then token order (lowest id first).
std::vector<BeamSearch::Pick> BeamSearch::best_pairs() const {
  const size_t k = 2 * static_cast<size_t>(width_);
  std::vector<Pick> pool;
  for (size_t b = 0; b < beams_.size(); ++b) {
    const Beam& beam = beams_[b];
    for (size_t j = 0; j < std::min(k, beam.candidates.size()); ++j) {
      pool.push_back({static_cast<int>(b), j, beam.cum_logprob + beam.candidates[j].logprob});
    }
  }
  std::stable_sort(pool.begin(), pool.end(), [](const Pick& a, const Pick& b) { return a.cum > b.cum; });
  if (pool.size() > k) pool.resize(k);
  return pool;
}

// A child that ended, as a finished candidate: its parent's output plus its token.
BeamSearch::Finished BeamSearch::finished_from(const Beam& parent, const Child& child) const {
  Finished f;
  f.tokens.assign(parent.s->seq.tokens.begin() + parent.s->seq.prompt_len, parent.s->seq.tokens.end());
  f.tokens.push_back(child.cand->token);
  if (request_.spec.params.logprobs >= 0) {
    f.logprobs = parent.logprobs;
    f.logprobs.push_back(logprob_of(parent, *child.cand));
  }
  f.text = parent.text + child.emit;
  f.cum_logprob = child.cum_logprob;
  f.score = child.score;
  f.finish = child.finish;
  f.stop_reason = child.stop_reason;
  f.stop_reason_is_token = child.stop_reason_is_token;
  return f;
}

// 4. Whether the search stops: nothing runs, or (with W results) the
// early-stopping rule says no running beam can beat the worst kept result.
bool BeamSearch::should_stop(const std::vector<Child>& running, size_t num_finished, const BeamEnv& env) const {
  if (running.empty()) return true;
  if (num_finished < static_cast<size_t>(width_)) return false;
  const GenerationRequest& spec = request_.spec;
  const Child& best = running.front();
  sampling::StopQuery q;
  q.mode = spec.beam->early_stopping;
  q.length_penalty = spec.beam->length_penalty;
  q.worst_finished_score = finished_.back().score;
  q.best_running_cum = best.cum_logprob;
  q.best_running_length = static_cast<int64_t>(beams_[best.beam].s->seq.tokens.size()) + 1;
  q.max_length = std::min<int64_t>(beams_[best.beam].s->seq.prompt_len + spec.max_tokens, env.context_length);
  return sampling::beam_search_can_stop(q);
}

BeamSearch::Outcome BeamSearch::advance(BeamEnv& env) {
  const int64_t decoded = static_cast<int64_t>(beams_.size());
  const std::vector<Pick> pool = best_pairs();
  if (pool.empty()) {
    return finish(env, decoded, no_token_error(request_.spec, false));
  }
  // 3. Ended children join the finished candidates; the W best are kept.
  std::vector<Child> running;
  std::vector<Finished> all = std::move(finished_);
  for (const Pick& p : pool) {
    const Beam& parent = beams_[p.beam];
    Child child = make_child(parent, parent.candidates[p.cand], p.cum, env);
    child.beam = p.beam;
    if (child.finish == FinishReason::kNone) {
      running.push_back(std::move(child));
    } else {
      all.push_back(finished_from(parent, child));
    }
  }
  std::stable_sort(all.begin(), all.end(), [](const Finished& a, const Finished& b) { return a.score > b.score; });
  const size_t num_finished = all.size();
  if (all.size() > static_cast<size_t>(width_)) all.resize(static_cast<size_t>(width_));
  finished_ = std::move(all);

  // 4. Stop, or go on with the W best running children.
  std::stable_sort(running.begin(), running.end(), [](const Child& a, const Child& b) { return a.score > b.score; });
  if (should_stop(running, num_finished, env)) return finish(env, decoded);
  if (running.size() > static_cast<size_t>(width_)) running.resize(static_cast<size_t>(width_));
  continue_with(running, env);
  return {decoded, false};
}

void BeamSearch::continue_with(std::vector<Child>& kept, BeamEnv& env) {
  const GenerationRequest& spec = request_.spec;
  // Which sequence carries each kept child: a parent's first kept child continues
  // the parent's own sequence; the others fork it (sharing its blocks) before the
  // parent changes. Parents with no kept child are dropped.
  std::vector<SequenceState*> carrier(kept.size(), nullptr);
  std::vector<bool> parent_used(beams_.size(), false);
  for (size_t i = 0; i < kept.size(); ++i) {
    SequenceState& parent = *beams_[kept[i].beam].s;
    if (!parent_used[kept[i].beam]) {
      parent_used[kept[i].beam] = true;
      carrier[i] = &parent;
      continue;
    }
    DecodeOptions decode;
    decode.skip_special_tokens = spec.skip_special_tokens;
    auto fork = std::make_unique<SequenceState>(env.tokenizer, decode);
    fork->request = &request_;
    fork->seq.id = env.next_seq_id++;
    fork->seq.tokens = parent.seq.tokens;
    fork->seq.prompt_len = parent.seq.prompt_len;
    fork->seq.cached_prompt_tokens = parent.seq.cached_prompt_tokens;
    fork->seq.owner = fork.get();
    fork->penalties = parent.penalties;
    env.kv.fork(parent.seq.kv, fork->seq.kv);
    // A preempted parent (waiting, no blocks) waits to be recomputed with its fork.
    if (parent.seq.status == SequenceStatus::kRunning) {
      env.scheduler.add_running_after(&parent.seq, &fork->seq);
    } else {
      env.scheduler.add_waiting(&fork->seq);
    }
    carrier[i] = fork.get();
    request_.seqs.push_back(std::move(fork));
  }

  std::vector<Beam> next(kept.size());
  for (size_t i = 0; i < kept.size(); ++i) {
    const Beam& parent = beams_[kept[i].beam];
    next[i].s = carrier[i];
    next[i].cum_logprob = kept[i].cum_logprob;
    next[i].text = parent.text + kept[i].emit;
    if (spec.params.logprobs >= 0) {
      next[i].logprobs = parent.logprobs;
      next[i].logprobs.push_back(logprob_of(parent, *kept[i].cand));
    }
  }
  for (size_t i = 0; i < kept.size(); ++i) {
    SequenceState& s = *carrier[i];
    s.seq.tokens.push_back(kept[i].cand->token);
    s.penalties.accept(kept[i].cand->token);
    s.detokenizer = *kept[i].detokenizer;
    s.stops = kept[i].stops;
  }
  for (size_t b = 0; b < beams_.size(); ++b) {
    if (parent_used[b]) continue;
    SequenceState* dropped = beams_[b].s;
    env.scheduler.remove(&dropped->seq);
    std::erase_if(request_.seqs, [dropped](const std::unique_ptr<SequenceState>& s) { return s.get() == dropped; });
  }
  beams_ = std::move(next);
}

BeamSearch::Outcome BeamSearch::finish(BeamEnv& env, int64_t decoded, const GenerationError& error) {
  // The live beams' sequences stay in request.seqs (the engine reads the first
  // one's prefix-cache count) but leave the scheduler, freeing their blocks.
  for (Beam& b : beams_) {
    env.scheduler.remove(&b.s->seq);
    b.s->finish = error.message.empty() ? FinishReason::kStop : FinishReason::kError;
  }
  beams_.clear();
  RequestEvent& event = request_.event;
  if (!error.message.empty()) {
    set_error(event, error);
    SequenceDelta d;
    d.finish = FinishReason::kError;
    event.deltas.push_back(std::move(d));
  }
  const size_t results =
      error.message.empty() ? std::min<size_t>(static_cast<size_t>(request_.spec.n), finished_.size()) : 0;
  for (size_t i = 0; i < results; ++i) {
    Finished& f = finished_[i];
    SequenceDelta d;
    d.index = static_cast<int>(i);
    request_.usage.completion_tokens += static_cast<int64_t>(f.tokens.size());
    d.tokens = std::move(f.tokens);
    d.logprobs = std::move(f.logprobs);
    d.text = std::move(f.text);
    d.finish = f.finish;
    d.stop_reason = std::move(f.stop_reason);
    d.stop_reason_is_token = f.stop_reason_is_token;
    d.cumulative_logprob = f.cum_logprob;
    d.beam_score = f.score;
    event.deltas.push_back(std::move(d));
  }
  finished_.clear();
  request_.num_finished = request_.spec.n;
  return {decoded, true};
}

}  // namespace nucleus
