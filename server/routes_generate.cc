// POST /v1/completions and POST /v1/chat/completions: parse, tokenize, run
// through the engine, answer as one JSON object or as server-sent events.
//
// Disconnects: a streaming response notices a failed write; a non-streaming
// one writes a space (legal leading JSON whitespace) every kHeartbeat while it
// waits, so a closed socket aborts the request in the engine within that time.
//
// Beam search (use_beam_search, engine/beam_search.h): the choices come back
// best first, and each choice's `logprobs` object always carries
// `cumulative_logprob` (the sum of its tokens' logprobs, a final EOS included)
// and `beam_score` (that sum over length^length_penalty, the ranking key;
// length = prompt + output tokens, a final EOS or stop id not counted), beside
// the per-token entries when logprobs were asked for.
#include <algorithm>
#include <chrono>
#include <map>
#include <optional>
#include <random>
#include <span>
#include <string>

#include <httplib.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "text/unicode_utf8.h"
#include "sampling/token_ids.h"
#include "server/errors.h"
#include "server/generation.h"
#include "server/routes.h"
#include "server/sse.h"
#include "server/text_offsets.h"

namespace nucleus::server {
namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;
constexpr auto kPoll = std::chrono::milliseconds(100);

std::string random_id(const char* prefix) {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(rng()));
  return std::string(prefix) + buf;
}

int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

json usage_json(const Usage& u) {
  json j = {{"prompt_tokens", u.prompt_tokens},
            {"completion_tokens", u.completion_tokens},
            {"total_tokens", u.prompt_tokens + u.completion_tokens}};
  if (u.cached_prompt_tokens > 0) j["prompt_tokens_details"] = {{"cached_tokens", u.cached_prompt_tokens}};
  return j;
}

json finish_json(FinishReason f) { return f == FinishReason::kNone ? json(nullptr) : json(finish_reason_name(f)); }

// As vLLM: the stop token id as an integer, the stop string as a string (even
// one of digits: stop "2" is "2", and "99999999999" once threw from std::stoi
// and took the server down), null for EOS or length.
json stop_reason_json(const SequenceDelta& d) {
  if (d.stop_reason.empty()) return nullptr;
  if (d.stop_reason_is_token) return std::stoll(d.stop_reason);  // the engine's std::to_string of an int32 id
  return d.stop_reason;
}

// What a route does differently: the shape of its chunks and final choices.
struct Shape {
  bool chat = false;
  std::string object;        // "text_completion" or "chat.completion"
  std::string chunk_object;  // "text_completion" or "chat.completion.chunk"
  std::vector<std::string> echo_prefix;  // completions with echo: per prompt
  std::vector<std::vector<int32_t>> echo_ids;  // ... and its token ids, when logprobs cover the prompt too
  bool echo_logprobs = false;             // echo with logprobs: the prompt's tokens lead each choice's logprobs
  int n = 1;             // choices returned per prompt
  int best_of = 0;       // > n: this many sampled per prompt, the n best returned
  bool logprobs = true;  // false: logprobs were only requested to rank best_of candidates
  bool beam = false;     // use_beam_search: choices arrive ranked, each with its score
};

// A token's text in logprobs: its own bytes, with U+FFFD where a piece ends
// inside a UTF-8 character (its `bytes` keep the real bytes, so a client can
// join a character split over tokens, as OpenAI and llama.cpp intend).
std::string token_text(const Tokenizer& tok, int32_t id) { return unicode::to_valid_utf8(tok.token_to_piece(id)); }

json bytes_of(const std::string& s) {
  json b = json::array();
  for (unsigned char c : s) b.push_back(int(c));
  return b;
}

// Logprobs of a run of tokens in the route's shape; `offsets` (completions)
// gives each token's text_offset and moves past the run.
json logprobs_json(const Shape& shape, const Tokenizer& tok, std::span<const TokenLogprob> lps, TextOffsets& offsets) {
  if (shape.chat) {
    json content = json::array();
    for (const TokenLogprob& lp : lps) {
      const std::string t = token_text(tok, lp.token);
      json top = json::array();
      for (const TopLogprob& alt : lp.top) {
        const std::string at = token_text(tok, alt.token);
        top.push_back({{"token", at}, {"logprob", alt.logprob}, {"bytes", bytes_of(tok.token_to_piece(alt.token))}});
      }
      content.push_back(
          {{"token", t}, {"logprob", lp.logprob}, {"bytes", bytes_of(tok.token_to_piece(lp.token))}, {"top_logprobs", top}});
    }
    return {{"content", content}};
  }
  json tokens = json::array(), token_logprobs = json::array(), top = json::array(), text_offset = json::array();
  for (const TokenLogprob& lp : lps) {
    const std::string t = token_text(tok, lp.token);
    tokens.push_back(t);
    token_logprobs.push_back(lp.logprob);
    json alts = json::object();
    for (const TopLogprob& alt : lp.top) alts[token_text(tok, alt.token)] = alt.logprob;
    if (!lp.top.empty()) alts[t] = lp.logprob;  // as vLLM: the sampled token is always among the alternatives
    top.push_back(alts);
    text_offset.push_back(offsets.next(tok.token_to_piece(lp.token)));
  }
  return {{"tokens", tokens}, {"token_logprobs", token_logprobs}, {"top_logprobs", top}, {"text_offset", text_offset}};
}

// Echo with logprobs: the prompt's tokens lead the legacy arrays, scored by
// logprobs_json (lps[i - 1] is ids[i]'s entry); text_offset counts from the
// start of the echoed prompt (`completion` counts on from the prompt's end).
// Null entries: the first token (nothing predicts it) and, when the request
// ended before its prompt was scored (an abort at shutdown), the rest of the
// prompt. `completion` (this choice's own tokens, or null) is appended.
json echo_logprobs_json(const Shape& shape, const Tokenizer& tok, const std::vector<int32_t>& ids,
                        const std::vector<TokenLogprob>& lps, const json& completion) {
  json out = {{"tokens", json::array()}, {"token_logprobs", json::array()}, {"top_logprobs", json::array()},
              {"text_offset", json::array()}};
  auto append = [&out](const json& part) {
    for (const char* key : {"tokens", "token_logprobs", "top_logprobs", "text_offset"}) {
      for (const json& v : part[key]) out[key].push_back(v);
    }
  };
  TextOffsets offsets;
  auto unscored = [&](int32_t id) {
    out["tokens"].push_back(token_text(tok, id));
    out["token_logprobs"].push_back(nullptr);
    out["top_logprobs"].push_back(nullptr);
    out["text_offset"].push_back(offsets.next(tok.token_to_piece(id)));
  };
  const size_t scored = ids.empty() ? 0 : std::min(lps.size(), ids.size() - 1);
  if (!ids.empty()) unscored(ids[0]);
  append(logprobs_json(shape, tok, std::span<const TokenLogprob>(lps).first(scored), offsets));
  for (size_t i = scored + 1; i < ids.size(); ++i) unscored(ids[i]);
  if (completion.is_object()) append(completion);
  return out;
}

struct ChoiceState {
  std::string text;
  std::vector<TokenLogprob> logprobs;
  FinishReason finish = FinishReason::kNone;
  SequenceDelta last;  // for stop_reason
  std::optional<double> cumulative_logprob, beam_score;  // beam search results
  bool started = false;
  bool echoed = false;  // streaming with echo: the prompt went out in this choice's first chunk
  TextOffsets offsets;  // streaming: text_offset of the next token
  Clock::time_point first_token, last_token;
};

void observe_tokens(ServerState& state, ChoiceState& c, const SequenceDelta& d, Clock::time_point arrival) {
  if (d.tokens.empty()) return;
  const auto now = Clock::now();
  if (!c.started) {
    c.first_token = now;
    state.metrics.ttft.observe(std::chrono::duration<double>(now - arrival).count());
  } else {
    state.metrics.inter_token.observe(std::chrono::duration<double>(now - c.last_token).count() /
                                      static_cast<double>(d.tokens.size()));
  }
  c.started = true;
  c.last_token = now;
}

// One structured line per finished request (--no-request-log turns it off).
void log_request(const ServerState& state, const std::string& id, const GenerationRun& run,
                 const std::vector<ChoiceState>& choices, Clock::time_point arrival, bool stream) {
  if (!state.request_log) return;
  double ttft = -1;
  std::string finish;
  for (const ChoiceState& c : choices) {
    if (c.started && (ttft < 0 || c.first_token - arrival < std::chrono::duration<double>(ttft))) {
      ttft = std::chrono::duration<double>(c.first_token - arrival).count();
    }
    if (c.finish != FinishReason::kNone) finish = finish_reason_name(c.finish);
  }
  spdlog::info("request id={} stream={} prompt_tokens={} cached_tokens={} completion_tokens={} ttft_ms={:.1f} "
               "duration_ms={:.1f} finish={}{}",
               id, stream, run.usage().prompt_tokens, run.usage().cached_prompt_tokens, run.usage().completion_tokens,
               ttft * 1e3, std::chrono::duration<double>(Clock::now() - arrival).count() * 1e3,
               finish.empty() ? "aborted" : finish, run.error().empty() ? "" : " error=" + run.error());
}

// A request whose client went away: wait briefly for the engine's final event
// (it aborts within a step) so the log line has the usage, then log it.
void log_aborted(const ServerState& state, const std::string& id, GenerationRun& run,
                 const std::vector<ChoiceState>& choices, Clock::time_point arrival, bool stream) {
  if (!state.request_log) return;
  std::vector<ChoiceDelta> ignored;
  const auto deadline = Clock::now() + std::chrono::milliseconds(500);
  while (run.poll(ignored, std::chrono::milliseconds(50)) && Clock::now() < deadline) ignored.clear();
  log_request(state, id, run, choices, arrival, stream);
}

// echo_run: set on a completions choice's first chunk when echo and logprobs
// were asked: the echoed prompt's logprobs lead the chunk's. `offsets`: the
// choice's text_offset counter (completions logprobs).
json stream_chunk(const Shape& shape, const Tokenizer& tok, const std::string& id, int64_t created,
                  const std::string& model, int choice, const SequenceDelta& d, bool first_of_choice,
                  TextOffsets& offsets, const GenerationRun* echo_run = nullptr) {
  json c = {{"index", choice}};
  if (shape.chat) {
    json delta = json::object();
    if (first_of_choice) delta["role"] = "assistant";
    delta["content"] = d.text;
    c["delta"] = delta;
  } else {
    c["text"] = d.text;
  }
  c["logprobs"] = d.logprobs.empty() ? json(nullptr) : logprobs_json(shape, tok, d.logprobs, offsets);
  if (echo_run) {
    const int prompt = choice / shape.n;
    c["logprobs"] =
        echo_logprobs_json(shape, tok, shape.echo_ids[prompt], echo_run->prompt_logprobs(prompt), c["logprobs"]);
  }
  c["finish_reason"] = finish_json(d.finish);
  if (d.finish != FinishReason::kNone) c["stop_reason"] = stop_reason_json(d);
  return {{"id", id}, {"object", shape.chunk_object}, {"created", created}, {"model", model}, {"choices", {c}}};
}

// The candidate that answers output choice i. With best_of > n, each prompt's
// best_of candidates are ranked by mean token logprob and the n best kept
// (OpenAI's and vLLM's rule); otherwise choice i is candidate i.
size_t pick_choice(const Shape& shape, const std::vector<ChoiceState>& candidates, int i) {
  if (shape.best_of <= shape.n) return static_cast<size_t>(i);
  const int prompt = i / shape.n, rank = i % shape.n;
  std::vector<std::pair<double, int>> scored;
  for (int k = 0; k < shape.best_of; ++k) {
    const ChoiceState& c = candidates[prompt * shape.best_of + k];
    double sum = 0;
    for (const TokenLogprob& lp : c.logprobs) sum += lp.logprob;
    scored.push_back({c.logprobs.empty() ? -1e300 : sum / double(c.logprobs.size()), k});
  }
  std::stable_sort(scored.begin(), scored.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  return static_cast<size_t>(prompt * shape.best_of + scored[rank].second);
}

// The body of a response written as it is produced: chunked, except to an
// HTTP/1.0 client (ApacheBench, a proxy speaking 1.0 upstream), which cannot
// read chunked framing (RFC 9112 sends Transfer-Encoding only to 1.1
// requests) and gets the same bytes ended by closing the connection.
void set_streamed_body(const httplib::Request& req, httplib::Response& res, const char* content_type,
                       httplib::ContentProviderWithoutLength provider,
                       httplib::ContentProviderResourceReleaser releaser) {
  if (req.version == "HTTP/1.0") {
    res.set_content_provider(content_type, std::move(provider), std::move(releaser));
  } else {
    res.set_chunked_content_provider(content_type, std::move(provider), std::move(releaser));
  }
}

void run_and_respond(ServerState& state, const httplib::Request& req, httplib::Response& res,
                     std::shared_ptr<GenerationRun> run, const Shape& shape, bool stream, bool include_usage,
                     Clock::time_point arrival) {
  const std::string id = random_id(shape.chat ? "chatcmpl-" : "cmpl-");
  const int64_t created = unix_now();
  const std::string model = state.model_name;
  const Tokenizer* tokp = state.tokenizer;
  auto choices = std::make_shared<std::vector<ChoiceState>>(run->num_choices());

  if (stream) {
    res.set_header("Cache-Control", "no-cache");
    set_streamed_body(
        req, res, "text/event-stream; charset=utf-8",
        [&state, run, choices, shape, id, created, model, include_usage, arrival, tokp](size_t,
                                                                                        httplib::DataSink& sink) {
          const Tokenizer& tok = *tokp;
          std::vector<ChoiceDelta> deltas;
          auto send = [&sink, run](const std::string& data) {
            if (sink.write(data.data(), data.size())) return true;
            run->abort();  // the client went away
            return false;
          };
          // Chat: every choice opens with the assistant role, even before its first token.
          if (shape.chat) {
            for (int c = 0; c < run->num_choices(); ++c) {
              SequenceDelta opening;
              TextOffsets unused;
              if (!send(sse_event(stream_chunk(shape, tok, id, created, model, c, opening, true, unused))))
                return false;
            }
          }
          bool more = true;
          while (more) {
            deltas.clear();
            more = run->poll(deltas, kPoll);
            for (ChoiceDelta& cd : deltas) {
              ChoiceState& c = (*choices)[cd.choice];
              observe_tokens(state, c, cd.delta, arrival);
              if (cd.delta.finish != FinishReason::kNone) c.finish = cd.delta.finish;
              if (cd.delta.text.empty() && cd.delta.finish == FinishReason::kNone && cd.delta.logprobs.empty()) continue;
              // (Not keyed on c.started: observe_tokens above has already set it for this first delta.)
              std::string prefix;
              const GenerationRun* echo_run = nullptr;
              if (!shape.chat && !c.echoed && !shape.echo_prefix.empty()) {
                prefix = shape.echo_prefix[cd.choice / shape.n];
                c.echoed = true;
                c.offsets = TextOffsets(TextOffsets::characters(prefix));  // the generated text follows the prompt
                if (shape.echo_logprobs) echo_run = run.get();
              }
              SequenceDelta d = cd.delta;
              d.text = prefix + d.text;
              c.text += d.text;
              if (!send(sse_event(
                      stream_chunk(shape, tok, id, created, model, cd.choice, d, false, c.offsets, echo_run)))) {
                return false;
              }
            }
            if (!run->error().empty()) {
              send(sse_event(error_body(run->error(), "server_error")));
              sink.done();
              return true;
            }
          }
          if (include_usage) {
            json usage = {{"id", id}, {"object", shape.chunk_object}, {"created", created}, {"model", model},
                          {"choices", json::array()}, {"usage", usage_json(run->usage())}};
            if (!send(sse_event(usage))) return false;
          }
          send(sse_done());
          state.metrics.e2e.observe(std::chrono::duration<double>(Clock::now() - arrival).count());
          log_request(state, id, *run, *choices, arrival, true);
          sink.done();
          return true;
        },
        [&state, run, choices, id, arrival](bool success) {
          run->abort();
          if (!success) log_aborted(state, id, *run, *choices, arrival, true);  // the client went away
        });
    return;
  }

  // Non-streaming: wait for everything, writing a heartbeat space while waiting.
  set_streamed_body(
      req, res, "application/json",
      [&state, run, choices, shape, id, created, model, arrival, tokp](size_t, httplib::DataSink& sink) {
        const Tokenizer& tok = *tokp;
        std::vector<ChoiceDelta> deltas;
        auto last_beat = Clock::now();
        bool more = true;
        while (more) {
          deltas.clear();
          more = run->poll(deltas, kPoll);
          for (ChoiceDelta& cd : deltas) {
            ChoiceState& c = (*choices)[cd.choice];
            observe_tokens(state, c, cd.delta, arrival);
            c.text += cd.delta.text;
            c.logprobs.insert(c.logprobs.end(), cd.delta.logprobs.begin(), cd.delta.logprobs.end());
            if (cd.delta.finish != FinishReason::kNone) {
              c.finish = cd.delta.finish;
              c.last = cd.delta;
            }
            if (cd.delta.beam_score) {
              c.cumulative_logprob = cd.delta.cumulative_logprob;
              c.beam_score = cd.delta.beam_score;
            }
          }
          if (more && Clock::now() - last_beat > std::chrono::milliseconds(500)) {
            if (!sink.write(" ", 1)) {
              run->abort();
              return false;
            }
            last_beat = Clock::now();
          }
        }
        json body;
        if (!run->error().empty()) {
          body = error_body(run->error(), "server_error");
        } else {
          json out = json::array();
          const int candidates = static_cast<int>(choices->size());
          const int outputs = shape.best_of > shape.n ? candidates / shape.best_of * shape.n : candidates;
          for (int i = 0; i < outputs; ++i) {
            const ChoiceState& c = (*choices)[pick_choice(shape, *choices, i)];
            // A beam search may end with fewer than n results (too few distinct continuations).
            if (shape.beam && !c.beam_score) continue;
            json choice = {{"index", static_cast<int>(out.size())}};
            const std::string prefix = shape.echo_prefix.empty() ? "" : shape.echo_prefix[i / shape.n];
            if (shape.chat) {
              choice["message"] = {{"role", "assistant"}, {"content", c.text}};
            } else {
              choice["text"] = prefix + c.text;
            }
            TextOffsets offsets(TextOffsets::characters(prefix));  // the generated text follows an echoed prompt
            choice["logprobs"] = c.logprobs.empty() || !shape.logprobs
                                     ? json(nullptr)
                                     : logprobs_json(shape, tok, c.logprobs, offsets);
            if (shape.echo_logprobs) {
              choice["logprobs"] = echo_logprobs_json(shape, tok, shape.echo_ids[i / shape.n],
                                                      run->prompt_logprobs(i / shape.n), choice["logprobs"]);
            }
            if (shape.beam) {
              // The ranking key, always present: the sum of the token logprobs
              // and that sum over length^length_penalty (engine/beam_search.h).
              if (choice["logprobs"].is_null()) choice["logprobs"] = json::object();
              choice["logprobs"]["cumulative_logprob"] = *c.cumulative_logprob;
              choice["logprobs"]["beam_score"] = *c.beam_score;
            }
            choice["finish_reason"] = finish_json(c.finish);
            choice["stop_reason"] = stop_reason_json(c.last);
            out.push_back(choice);
          }
          body = {{"id", id}, {"object", shape.object}, {"created", created}, {"model", model},
                  {"choices", out}, {"usage", usage_json(run->usage())}};
        }
        const std::string text = body.dump(-1, ' ', false, json::error_handler_t::replace);
        sink.write(text.data(), text.size());
        state.metrics.e2e.observe(std::chrono::duration<double>(Clock::now() - arrival).count());
        log_request(state, id, *run, *choices, arrival, false);
        sink.done();
        return true;
      },
      [&state, run, choices, id, arrival](bool success) {
        run->abort();
        if (!success) log_aborted(state, id, *run, *choices, arrival, false);  // the client went away
      });
}

void check_model(const ServerState& state, const CommonRequest& common) {
  if (!common.model.empty() && common.model != state.model_name) {
    throw ApiError(404, "invalid_request_error", "The model `" + common.model + "` does not exist", "model",
                   "model_not_found");
  }
}

}  // namespace

void handle_completions(ServerState& state, const httplib::Request& req, httplib::Response& res) {
  const auto arrival = Clock::now();
  CompletionRequest r = parse_completion_request(parse_json_body(req.body));
  check_model(state, r.common);
  const Tokenizer& tok = *state.tokenizer;
  Shape shape;
  shape.object = shape.chunk_object = "text_completion";
  shape.n = r.common.n;
  shape.beam = r.common.use_beam_search;
  std::vector<std::vector<int32_t>> prompts;
  for (const Prompt& p : r.prompts) {
    if (const auto* text = std::get_if<std::string>(&p)) {
      prompts.push_back(tok.encode(*text, {.add_special = true, .parse_special = true}));
      if (r.echo) shape.echo_prefix.push_back(*text);
      if (r.echo) shape.echo_ids.push_back(prompts.back());
    } else {
      const auto& ids = std::get<std::vector<int32_t>>(p);
      if (auto error = sampling::first_id_outside_vocabulary(ids, tok.vocab_size())) throw invalid_param("prompt", *error);
      prompts.push_back(ids);
      if (r.echo) shape.echo_prefix.push_back(tok.decode(ids));
      if (r.echo) shape.echo_ids.push_back(ids);
    }
  }
  shape.echo_logprobs = r.common.prompt_logprobs >= 0;
  if (r.best_of > r.common.n) {
    shape.best_of = r.best_of;
    shape.logprobs = r.common.params.logprobs >= 0;
    r.common.n = r.best_of;  // sample every candidate; the n best are picked at the end
    r.common.params.logprobs = std::max(r.common.params.logprobs, 0);
  }
  // OpenAI's legacy default for completions is 16 tokens.
  auto run = std::make_shared<GenerationRun>(state, r.common, prompts, 16);
  run_and_respond(state, req, res, run, shape, r.common.stream, r.common.include_usage, arrival);
}

void handle_chat(ServerState& state, const httplib::Request& req, httplib::Response& res) {
  const auto arrival = Clock::now();
  ChatRequest r = parse_chat_request(parse_json_body(req.body));
  check_model(state, r.common);
  if (!state.chat_template) throw ApiError(400, "invalid_request_error", "this model has no chat template");
  const std::vector<int32_t> prompt =
      tokenize_segments(*state.tokenizer, state.chat_template->render(r.messages, true));
  Shape shape;
  shape.chat = true;
  shape.object = "chat.completion";
  shape.chunk_object = "chat.completion.chunk";
  shape.n = r.common.n;
  shape.beam = r.common.use_beam_search;
  // Chat answers run until the end of turn or the context (-1), as OpenAI's do.
  auto run = std::make_shared<GenerationRun>(state, r.common, std::vector<std::vector<int32_t>>{prompt}, -1);
  run_and_respond(state, req, res, run, shape, r.common.stream, r.common.include_usage, arrival);
}

}  // namespace nucleus::server
