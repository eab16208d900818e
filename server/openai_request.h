// OpenAI/vLLM request JSON -> typed request structs, with every check that
// needs no model (types, ranges, mutually exclusive fields). Anything wrong
// throws ApiError 400 naming the parameter. Unknown fields are ignored, as
// OpenAI does. What needs the tokenizer or the model is checked later: token
// id ranges by the routes (routes_generate.cc, routes_info.cc), prompt
// lengths by the engine when GenerationRun submits the request.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "sampling/beam_score.h"
#include "sampling/params.h"
#include "server/structured_output.h"
#include "text/chat_template.h"

namespace nucleus::server {

// Parses a request body: malformed JSON, invalid UTF-8 or a non-object -> 400.
nlohmann::json parse_json_body(const std::string& body);

// The fields /v1/completions and /v1/chat/completions share.
struct CommonRequest {
  std::string model;                     // empty when absent
  std::optional<int> max_tokens;         // completions: 16 when absent; chat: absent runs to the end
  std::string max_tokens_param = "max_tokens";  // the field that set it, for errors: or "max_completion_tokens"
  std::string prompt_param = "prompt";          // the field the prompt came from, for errors: chat's is "messages"
  int n = 1;
  bool stream = false;
  bool include_usage = false;            // stream_options.include_usage
  std::vector<std::string> stop;
  sampling::SamplingParams params;       // every sampling field; logprobs set by the route
  bool include_stop_str_in_output = false;
  bool skip_special_tokens = true;
  std::string speculative;               // "", "ngram", "draft" or "off"
  // Beam search (vLLM's use_beam_search, length_penalty, early_stopping): the
  // width is n, or best_of when a completions request gives it; the n best
  // come back best first. Deterministic: temperature is 0 (absent = 0), and
  // the sampling filters (top_p, top_k, min_p, typical_p) must stay off.
  // Not streamable. Without it, length_penalty and early_stopping must keep
  // their defaults (as vLLM checks).
  bool use_beam_search = false;
  int prompt_logprobs = -1;              // completions with echo and logprobs, or prompt_logprobs: the prompt's too
  bool prompt_logprobs_field = false;    // vLLM's prompt_logprobs asked them: the response carries the field
  bool json_object = false;              // response_format {"type": "json_object"}: JSON mode (ResponseFormat)
  std::optional<StructuredOutput> structured;  // a JSON Schema, regex, choice or GBNF (structured_output.h)
  int beam_width = 0;                    // 0: n
  float length_penalty = 1.0f;
  sampling::EarlyStopping early_stopping = sampling::EarlyStopping::kHeuristic;
  // vLLM's truncate_prompt_tokens: the prompt's last k tokens are kept
  // (-1: the context's worth); applied after tokenizing (and the template).
  std::optional<int> truncate_prompt_tokens;
  std::vector<std::string> bad_words;  // vLLM's; the route tokenizes them into params.bad_words_token_ids
};

// One prompt of /v1/completions: text, or token ids.
using Prompt = std::variant<std::string, std::vector<int32_t>>;

struct CompletionRequest {
  CommonRequest common;
  std::vector<Prompt> prompts;  // a batch; choice index = prompt index * n + sequence index
  bool echo = false;
  // echo with max_tokens 0: the prompt is scored (logprobs) and nothing is
  // generated, as lm-eval-harness asks and vLLM serves. The engine runs one
  // token (it always samples one); the response shows none (ResponseShape).
  bool prompt_only = false;
  int logprobs = -1;            // -1 = off, else number of top alternatives (0..20)
  int best_of = 0;              // 0 = off; else sample best_of per prompt, return the n best (mean logprob)
  bool add_special_tokens = true;  // vLLM's: false leaves out the BOS the tokenizer adds to text prompts
};

struct ChatRequest {
  CommonRequest common;
  std::vector<ChatMessage> messages;
  bool logprobs = false;
  int top_logprobs = 0;
  bool add_generation_prompt = true;  // false: the prompt ends after the last message, no assistant turn opened
};

CompletionRequest parse_completion_request(const nlohmann::json& body);
ChatRequest parse_chat_request(const nlohmann::json& body);

// vLLM's /tokenize: {"prompt": ...} or {"messages": [...]} (+ add_special_tokens, add_generation_prompt).
struct TokenizeRequest {
  std::optional<std::string> prompt;
  std::vector<ChatMessage> messages;
  bool add_special_tokens = true;
  bool add_generation_prompt = true;
  bool return_token_strs = false;  // vLLM: also answer the vocabulary strings of the tokens
};
TokenizeRequest parse_tokenize_request(const nlohmann::json& body);
// vLLM's /detokenize: {"tokens": [ids]}.
std::vector<int32_t> parse_detokenize_request(const nlohmann::json& body);

}  // namespace nucleus::server
