// One request as the engine takes it (GenerationRequest), what it gives back
// (RequestEvent: deltas of each sequence, usage, errors), and the caller's side
// of it (RequestHandle). The API between the engine and its callers, with the
// errors submit() throws.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "engine/engine_options.h"
#include "sampling/beam_score.h"
#include "sampling/grammar/compiled_grammar.h"
#include "sampling/params.h"

namespace nucleus {

// submit() when the waiting queue is full; the server maps it to 503 + Retry-After.
class EngineOverloaded : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A request the engine can never serve (prompt + max_tokens over the context
// or the whole KV cache, bad token ids, ...); the server maps it to 400.
class InvalidRequest : public std::invalid_argument {
 public:
  InvalidRequest(std::string param, const std::string& message)
      : std::invalid_argument(message), param_(std::move(param)) {}
  const std::string& param() const { return param_; }

 private:
  std::string param_;
};

// Beam search (vLLM's use_beam_search): deterministic, `width` beams, the n best
// returned best first. The rules are written down in engine/beam_search.h.
struct BeamSearchOptions {
  int width = 1;                 // beams kept per step, >= n (vLLM: n, or best_of when given)
  float length_penalty = 1.0f;   // score = cumulative logprob / length^length_penalty
  sampling::EarlyStopping early_stopping = sampling::EarlyStopping::kHeuristic;
};

// kJsonObject (OpenAI's response_format {"type": "json_object"}): every sampled
// token keeps the output a prefix of one valid JSON object, and generation ends
// (end-of-generation token) when the object closes; sampling/json_grammar.h
// says exactly what is accepted. Such a request does not speculate.
enum class ResponseFormat { kText, kJsonObject };

struct GenerationRequest {
  std::vector<int32_t> prompt;          // token ids, already tokenized
  sampling::SamplingParams params;      // per-request sampling parameters (validated by submit)
  int n = 1;                            // independent sequences sharing the prompt
  int max_tokens = -1;                  // -1: until the context is full
  std::vector<std::string> stop;        // stop strings, matched on detokenized text
  bool include_stop_str_in_output = false;
  bool skip_special_tokens = true;      // in the text deltas
  std::optional<Speculation> speculation;  // unset: EngineOptions::speculation
  std::optional<BeamSearchOptions> beam;   // set: beam search instead of sampling (n = results)
  // Prompt logprobs (engine/prompt_logprobs.h): -1 off; 0..sampling::kMaxLogprobs:
  // each prompt token's logprob and rank from the second token on, plus the top N.
  // Every position's logits are then needed, so this prompt is computed whole:
  // it does not reuse the prefix cache (its blocks are still cached for others).
  int prompt_logprobs = -1;
  ResponseFormat response_format = ResponseFormat::kText;  // not with beam search or min_tokens
  // Structured output (JSON Schema, regex, choice, GBNF; sampling/grammar/): every
  // sampled token keeps the output a prefix of the grammar's language, and the
  // end-of-generation token is allowed exactly where the grammar may end. Drafts
  // of speculative decoding are verified under the same masks, so outputs stay
  // those without speculation. Not with beam search, min_tokens or json_object.
  std::shared_ptr<const grammar::CompiledGrammar> grammar;
  std::string grammar_param = "response_format";  // the client's parameter that set it, for errors
};

enum class FinishReason { kNone, kStop, kLength, kAbort, kError };

const char* finish_reason_name(FinishReason reason);  // "stop", "length", "abort", "error"; "" for kNone

struct TopLogprob {
  int32_t token = 0;
  float logprob = 0.0f;
};
struct TokenLogprob {
  int32_t token = 0;
  float logprob = 0.0f;
  int32_t rank = 0;                 // 1 = most likely
  std::vector<TopLogprob> top;      // params.logprobs entries, most likely first
};

// What one sequence of a request produced since the previous event.
struct SequenceDelta {
  int index = 0;                       // 0 .. n-1
  std::vector<int32_t> tokens;         // new token ids
  std::vector<TokenLogprob> logprobs;  // one per new token when params.logprobs >= 0
  std::string text;                    // new text: whole UTF-8 characters, no partial stop string
  FinishReason finish = FinishReason::kNone;
  std::string stop_reason;             // the stop string or token that ended it, if any
  // stop_reason is a stop_token_ids entry in decimal, not a stop string: the
  // API answers an integer for one and a string for the other, and a stop
  // string may itself be digits ("2", or longer than an int holds).
  bool stop_reason_is_token = false;
  // Beam search only (one delta per result, index = rank, best first): the
  // result's cumulative logprob (the sum of its tokens' logprobs) and its score.
  std::optional<double> cumulative_logprob;
  std::optional<double> beam_score;
};

struct Usage {
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;       // over all n sequences
  int64_t cached_prompt_tokens = 0;    // prompt tokens served from the prefix cache
};

struct RequestEvent {
  std::vector<SequenceDelta> deltas;   // sequences that changed
  bool done = false;                   // every sequence has finished; this is the last event
  Usage usage;                         // filled on the last event
  std::string error;                   // non-empty when the engine failed this request
  // Set with `error` when the request's own parameters caused it (constraints
  // that together exclude every token, a grammar too ambiguous to follow): the
  // parameter to blame, which the server names in a 400. Empty: the engine's
  // failure (500).
  std::string error_param;
  // GenerationRequest::prompt_logprobs >= 0: prompt tokens 1..P-1 (P - 1 entries), in
  // the event that ends the prompt, which is no later than the first token's.
  std::vector<TokenLogprob> prompt_logprobs;
};

// The caller's side of one request. next() blocks for the next event; events
// of a request are coalesced while the caller is slow. Destroying the handle
// (or abort()) cancels the request: its blocks are freed within one step.
class RequestHandle {
 public:
  ~RequestHandle();
  RequestHandle(const RequestHandle&) = delete;
  RequestHandle& operator=(const RequestHandle&) = delete;

  // The next event, or nullopt on timeout. After an event with done == true,
  // returns done events with no deltas.
  std::optional<RequestEvent> next(std::chrono::milliseconds timeout = std::chrono::milliseconds::max());
  void abort();
  uint64_t id() const { return id_; }

  struct Shared;  // the mailbox the engine thread fills (engine-internal, request_state.h)

 private:
  friend class EngineCore;
  RequestHandle(uint64_t id, std::shared_ptr<Shared> shared) : id_(id), shared_(std::move(shared)) {}
  uint64_t id_;
  std::shared_ptr<Shared> shared_;
};

}  // namespace nucleus
