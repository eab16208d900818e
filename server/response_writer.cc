#include "server/response_writer.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdio>
#include <random>
#include <string>

#include "server/client_connection.h"
#include "server/errors.h"
#include "server/sse.h"

namespace nucleus::server {
namespace {

using json = ResponseJson;
using Clock = ResponseWriter::Clock;
constexpr auto kPoll = std::chrono::milliseconds(100);
constexpr auto kHeartbeat = std::chrono::milliseconds(500);

std::string random_id(const char* prefix) {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(rng()));
  return std::string(prefix) + buf;
}

int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

double seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

}  // namespace

ResponseWriter::ResponseWriter(ServerState& state, std::unique_ptr<GenerationRun> run, ResponseShape shape, bool stream,
                               bool include_usage, Clock::time_point arrival)
    : state_(state),
      tok_(*state.tokenizer),
      run_(std::move(run)),
      shape_(std::move(shape)),
      stream_(stream),
      include_usage_(include_usage),
      arrival_(arrival),
      ids_{random_id(shape_.chat ? "chatcmpl-" : "cmpl-"), unix_now(), state.model_name, state.fingerprint.value},
      choices_(static_cast<size_t>(run_->num_choices())) {}

bool ResponseWriter::stream(httplib::DataSink& sink) {
  if (shape_.chat && !send_openings(sink)) return false;
  std::vector<ChoiceDelta> deltas;
  bool more = true;
  while (more) {
    deltas.clear();
    more = run_->poll(deltas, kPoll);
    for (const ChoiceDelta& cd : deltas) {
      if (!send_delta(sink, cd)) return false;
    }
    if (!run_->error().empty()) return end_stream_with_error(sink);
    if (deltas.empty() && !confirm_client(sink, ":\n\n")) return false;  // waiting: an SSE comment, which clients skip
  }
  return end_stream(sink);
}

SequenceDelta ResponseWriter::shown(const SequenceDelta& d) const {
  if (!shape_.prompt_only) return d;
  SequenceDelta out;
  out.index = d.index;
  out.finish = d.finish == FinishReason::kStop ? FinishReason::kLength : d.finish;  // its one token may have been EOS
  out.cumulative_logprob = d.cumulative_logprob;  // beam search: the results' ranks stay
  out.beam_score = d.beam_score;
  return out;
}

Usage ResponseWriter::usage() const {
  Usage u = run_->usage();
  if (shape_.prompt_only) u.completion_tokens = 0;
  return u;
}

bool ResponseWriter::collect_some() {
  if (ended_) return false;
  std::vector<ChoiceDelta> deltas;
  ended_ = !run_->poll(deltas, kPoll);
  for (const ChoiceDelta& cd : deltas) {
    ChoiceState& c = choices_[cd.choice];
    observe_tokens(c, cd.delta);
    c.collect(shown(cd.delta));
  }
  return !ended_;
}

bool ResponseWriter::settle(std::chrono::milliseconds wait) {
  const auto until = Clock::now() + wait;
  const auto started = [&] {
    return std::any_of(choices_.begin(), choices_.end(), [](const ChoiceState& c) { return c.started; });
  };
  while (run_->error().empty() && !started() && Clock::now() < until && collect_some()) {
    if (started()) break;
    const PeerState peer = ServingConnection::peer();
    if (peer == PeerState::kGone) {
      run_->abort();
      client_left_ = true;  // collect() then writes no body
      break;
    }
    if (peer == PeerState::kEnded) break;  // the 200 and heartbeats go out now: a write tells whether it reads
  }
  if (run_->error().empty()) return true;
  finished();
  return false;
}

ApiError ResponseWriter::run_error() const { return generation_error(run_->error(), run_->error_param()); }

bool ResponseWriter::collect(httplib::DataSink& sink) {
  if (client_left_) return false;
  auto last_beat = Clock::now();
  while (collect_some()) {
    // Once the input has ended, a heartbeat every poll (confirm_client); else every kHeartbeat.
    if (!confirm_client(sink, " ")) return false;
    if (Clock::now() - last_beat > kHeartbeat) {
      if (!send(sink, " ")) return false;
      last_beat = Clock::now();
    }
  }
  const std::string text = final_body().dump(-1, ' ', false, json::error_handler_t::replace);
  sink.write(text.data(), text.size());
  finished();
  sink.done();
  return true;
}

void ResponseWriter::release(bool success) {
  run_->abort();
  if (!success) log_aborted();  // the client went away
}

bool ResponseWriter::send(httplib::DataSink& sink, const std::string& data) {
  if (sink.write(data.data(), data.size())) return true;
  run_->abort();  // the client went away
  return false;
}

std::string ResponseWriter::chunk_event(ResponseJson chunk) const {
  if (include_usage_) chunk["usage"] = nullptr;  // OpenAI: with include_usage, every other chunk has usage null
  return sse_event(chunk);
}

bool ResponseWriter::confirm_client(httplib::DataSink& sink, const char* probe) {
  switch (ServingConnection::peer()) {
    case PeerState::kOpen: return true;
    case PeerState::kEnded: return send(sink, probe);  // a closed client's reset fails a later one
    case PeerState::kGone: break;
  }
  run_->abort();
  return false;
}

bool ResponseWriter::send_openings(httplib::DataSink& sink) {
  for (int c = 0; c < run_->num_choices(); ++c) {
    SequenceDelta opening;
    TextOffsets unused;
    if (!send(sink, chunk_event(stream_chunk(shape_, tok_, ids_, c, opening, true, unused)))) return false;
  }
  return true;
}

bool ResponseWriter::send_delta(httplib::DataSink& sink, const ChoiceDelta& cd) {
  ChoiceState& c = choices_[cd.choice];
  observe_tokens(c, cd.delta);
  SequenceDelta d = shown(cd.delta);
  if (d.finish != FinishReason::kNone) c.finish = d.finish;
  if (d.text.empty() && d.finish == FinishReason::kNone && d.logprobs.empty()) return true;
  // (Not keyed on c.started: observe_tokens above has already set it for this first delta.)
  std::string prefix;
  const std::vector<TokenLogprob>* echo_prompt_logprobs = nullptr;
  if (!shape_.chat && !c.echoed && !shape_.echo_prefix.empty()) {
    const int prompt = cd.choice / shape_.n;
    prefix = shape_.echo_prefix[prompt];
    c.echoed = true;
    c.offsets = TextOffsets(TextOffsets::characters(prefix));  // the generated text follows the prompt
    if (shape_.echo_logprobs) echo_prompt_logprobs = &run_->prompt_logprobs(prompt);
  }
  d.text = prefix + d.text;
  c.text += d.text;
  if (shape_.chat_output) {
    // Reasoning and tool calls parsed out as the text arrives; text that may
    // still open a call or a think block is held back.
    if (!c.output) c.output = std::make_shared<ChatOutputStream>(shape_.chat_output, cd.choice);
    ChatDelta parts = c.output->feed(d.text);
    if (d.finish != FinishReason::kNone) {
      ChatDelta rest = c.output->finish();
      parts.reasoning += rest.reasoning;
      parts.content += rest.content;
      for (ToolCallDelta& tc : rest.tool_calls) parts.tool_calls.push_back(std::move(tc));
    }
    if (parts.empty() && d.finish == FinishReason::kNone && d.logprobs.empty()) return true;
    return send(sink, chunk_event(stream_chunk(shape_, tok_, ids_, cd.choice, d, false, c.offsets, nullptr,
                                             {&parts, c.output->saw_tool_call()})));
  }
  return send(sink, chunk_event(stream_chunk(shape_, tok_, ids_, cd.choice, d, false, c.offsets, echo_prompt_logprobs)));
}

bool ResponseWriter::end_stream(httplib::DataSink& sink) {
  if (include_usage_ && !send(sink, sse_event(usage_chunk(shape_, ids_, usage())))) return false;
  send(sink, sse_done());
  finished();
  sink.done();
  return true;
}

bool ResponseWriter::end_stream_with_error(httplib::DataSink& sink) {
  // The error event, then [DONE] as after any stream (vLLM's too), so that
  // clients reading to [DONE] end instead of waiting on a closed stream.
  if (send(sink, sse_event(run_error().to_json()))) send(sink, sse_done());
  sink.done();
  return true;
}

json ResponseWriter::final_body() const {
  if (!run_->error().empty()) return run_error().to_json();
  json body = response_json(shape_, ids_, final_choices(), usage());
  if (shape_.chat && !shape_.prompt_logprobs_ids.empty()) {  // vLLM: on the chat response, not its choice
    body["prompt_logprobs"] = prompt_logprobs_json(tok_, shape_.prompt_logprobs_ids[0], run_->prompt_logprobs(0));
  }
  return body;
}

json ResponseWriter::final_choices() const {
  json out = json::array();
  const int outputs = output_count(shape_, static_cast<int>(choices_.size()));
  for (int i = 0; i < outputs; ++i) {
    const ChoiceState& c = choices_[pick_choice(shape_, choices_, i)];
    // A beam search may end with fewer than n results (too few distinct continuations).
    if (shape_.beam && !c.beam_score) continue;
    const int prompt = i / shape_.n;
    out.push_back(
        final_choice_json(shape_, tok_, c, static_cast<int>(out.size()), prompt, run_->prompt_logprobs(prompt)));
  }
  return out;
}

void ResponseWriter::observe_tokens(ChoiceState& c, const SequenceDelta& d) {
  if (d.tokens.empty()) return;
  const auto now = Clock::now();
  if (!c.started) {
    c.first_token = now;
    state_.metrics.ttft.observe(seconds(now - arrival_));
  } else {
    state_.metrics.inter_token.observe(seconds(now - c.last_token) / static_cast<double>(d.tokens.size()));
  }
  c.started = true;
  c.last_token = now;
}

void ResponseWriter::finished() {
  state_.metrics.e2e.observe(seconds(Clock::now() - arrival_));
  log_request();
}

void ResponseWriter::log_request() const {
  if (!state_.request_log) return;
  double ttft = -1;
  std::string finish;
  for (const ChoiceState& c : choices_) {
    if (c.started && (ttft < 0 || c.first_token - arrival_ < std::chrono::duration<double>(ttft))) {
      ttft = seconds(c.first_token - arrival_);
    }
    if (c.finish != FinishReason::kNone) finish = finish_reason_name(c.finish);
  }
  const Usage usage = this->usage();
  char ttft_ms[32] = "none";  // no token yet (aborted or failed before one)
  if (ttft >= 0) std::snprintf(ttft_ms, sizeof ttft_ms, "%.1f", ttft * 1e3);
  spdlog::info(
      "request id={} stream={} prompt_tokens={} cached_tokens={} completion_tokens={} ttft_ms={} "
      "duration_ms={:.1f} finish={}{}",
      ids_.id, stream_, run_->prompt_tokens(), usage.cached_prompt_tokens, usage.completion_tokens, ttft_ms,
      seconds(Clock::now() - arrival_) * 1e3, finish.empty() ? "aborted" : finish,
      run_->error().empty() ? "" : " error=" + run_->error());
}

void ResponseWriter::log_aborted() {
  if (!state_.request_log) return;
  std::vector<ChoiceDelta> ignored;
  const auto deadline = Clock::now() + std::chrono::milliseconds(500);
  while (run_->poll(ignored, std::chrono::milliseconds(50)) && Clock::now() < deadline) ignored.clear();
  log_request();
}

}  // namespace nucleus::server
