#include "server/openai_request.h"

#include <cmath>
#include <limits>

#include "server/chat_messages.h"
#include "server/errors.h"
#include "server/json_field.h"
#include "text/json_scan.h"

namespace nucleus::server {

using nlohmann::json;

namespace {

bool get_bool(const json& body, const char* name, bool fallback) {
  const json* v = field(body, name);
  if (!v) return fallback;
  if (!v->is_boolean()) throw invalid_param(name, std::string(name) + " must be a boolean, got " + type_name(*v));
  return v->get<bool>();
}

double get_number(const json& body, const char* name, double fallback, double lo, double hi,
                  bool lo_open = false) {
  const json* v = field(body, name);
  if (!v) return fallback;
  if (!v->is_number()) throw invalid_param(name, std::string(name) + " must be a number, got " + type_name(*v));
  double x = v->get<double>();
  if (!std::isfinite(x) || x < lo || x > hi || (lo_open && x == lo)) {
    throw invalid_param(name, std::string(name) + " must be in " + (lo_open ? "(" : "[") + json(lo).dump() + ", " +
                                  json(hi).dump() + "], got " + v->dump());
  }
  return x;
}

// An integer (an integral float such as 3.0 is accepted too). Unsigned first:
// nlohmann's is_number_integer() is true for unsigned values as well, and
// get<int64_t>() would wrap 2^64 - 1 to -1.
int64_t as_integer(const json& v, const std::string& name) {
  if (v.is_number_unsigned()) {
    uint64_t u = v.get<uint64_t>();
    if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
      throw invalid_param(name, name + " is out of range, got " + v.dump());
    return static_cast<int64_t>(u);
  }
  if (v.is_number_integer()) return v.get<int64_t>();
  if (v.is_number_float()) {
    double d = v.get<double>();
    if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9.0e15) return static_cast<int64_t>(d);
  }
  throw invalid_param(name, name + " must be an integer, got " + (v.is_number() ? v.dump() : type_name(v)));
}

std::optional<int64_t> get_int(const json& body, const char* name, int64_t lo, int64_t hi) {
  const json* v = field(body, name);
  if (!v) return std::nullopt;
  int64_t x = as_integer(*v, name);
  if (x < lo || x > hi)
    throw invalid_param(name, std::string(name) + " must be in [" + std::to_string(lo) + ", " + std::to_string(hi) +
                                  "], got " + std::to_string(x));
  return x;
}

std::vector<int32_t> get_token_list(const json& v, const std::string& name) {
  if (!v.is_array()) throw invalid_param(name, name + " must be an array of token ids, got " + type_name(v));
  std::vector<int32_t> ids;
  ids.reserve(v.size());
  for (const json& item : v) {
    int64_t id = as_integer(item, name);
    if (id < 0 || id > std::numeric_limits<int32_t>::max())
      throw invalid_param(name, name + " has an invalid token id " + std::to_string(id));
    ids.push_back(static_cast<int32_t>(id));
  }
  return ids;
}

// use_beam_search and its parameters; the sampling fields are parsed already.
void parse_beam_search(const json& body, CommonRequest& r) {
  r.use_beam_search = get_bool(body, "use_beam_search", false);
  r.length_penalty = static_cast<float>(get_number(body, "length_penalty", 1.0, -100.0, 100.0));
  if (const json* es = field(body, "early_stopping")) {
    if (es->is_boolean()) {
      r.early_stopping = es->get<bool>() ? sampling::EarlyStopping::kWhenComplete : sampling::EarlyStopping::kHeuristic;
    } else if (es->is_string() && es->get<std::string>() == "never") {
      r.early_stopping = sampling::EarlyStopping::kNever;
    } else {
      throw invalid_param("early_stopping", "early_stopping must be true, false or \"never\", got " + es->dump());
    }
  }
  if (!r.use_beam_search) {
    if (r.length_penalty != 1.0f)
      throw invalid_param("length_penalty", "length_penalty applies only to beam search (use_beam_search: true)");
    if (r.early_stopping != sampling::EarlyStopping::kHeuristic)
      throw invalid_param("early_stopping", "early_stopping applies only to beam search (use_beam_search: true)");
    return;
  }
  if (r.stream)
    throw invalid_param("stream", "use_beam_search cannot be streamed: beams are ranked only when the search ends");
  sampling::SamplingParams& p = r.params;
  if (field(body, "temperature") && p.temperature != 0.0f)
    throw invalid_param("temperature", "use_beam_search is deterministic: temperature must be 0 (or absent)");
  p.temperature = 0.0f;
  if (p.top_p != 1.0f) throw invalid_param("top_p", "top_p must be 1 with use_beam_search");
  if (p.top_k > 0) throw invalid_param("top_k", "top_k must be -1 or 0 with use_beam_search");
  if (p.min_p != 0.0f) throw invalid_param("min_p", "min_p must be 0 with use_beam_search");
  if (p.typical_p != 1.0f) throw invalid_param("typical_p", "typical_p must be 1 with use_beam_search");
}

// "model": empty when absent.
std::string parse_model(const json& body) {
  const json* model = field(body, "model");
  if (!model) return "";
  if (!model->is_string()) {
    throw invalid_param("model", std::string("model must be a string, got ") + type_name(*model));
  }
  return model->get<std::string>();
}

// max_tokens, or max_completion_tokens (its newer name, which wins when both
// are given); absent: `route_default` when > 0, else unset.
void parse_max_tokens(const json& body, int route_default, CommonRequest& r) {
  std::optional<int64_t> max_tokens = get_int(body, "max_tokens", 1, std::numeric_limits<int32_t>::max());
  if (auto mct = get_int(body, "max_completion_tokens", 1, std::numeric_limits<int32_t>::max())) {
    max_tokens = mct;
    r.max_tokens_param = "max_completion_tokens";
  }
  if (max_tokens) r.max_tokens = static_cast<int>(*max_tokens);
  else if (route_default > 0) r.max_tokens = route_default;
}

// stream and stream_options.include_usage.
void parse_stream(const json& body, CommonRequest& r) {
  r.stream = get_bool(body, "stream", false);
  const json* so = field(body, "stream_options");
  if (!so) return;
  if (!so->is_object())
    throw invalid_param("stream_options", std::string("stream_options must be an object, got ") + type_name(*so));
  // As OpenAI and vLLM: stream_options without streaming is a mistake worth telling.
  if (!r.stream) throw invalid_param("stream_options", "stream_options is only allowed when stream is true");
  const json* usage = field(*so, "include_usage");
  if (usage && !usage->is_boolean()) {
    throw invalid_param("stream_options.include_usage",
                        std::string("stream_options.include_usage must be a boolean, got ") + type_name(*usage));
  }
  r.include_usage = usage && usage->get<bool>();
  const json* continuous = field(*so, "continuous_usage_stats");
  if (continuous && !continuous->is_boolean()) {
    throw invalid_param("stream_options.continuous_usage_stats",
                        std::string("stream_options.continuous_usage_stats must be a boolean, got ") +
                            type_name(*continuous));
  }
  if (continuous && continuous->get<bool>()) {
    throw not_supported("stream_options.continuous_usage_stats",
                        "stream_options.continuous_usage_stats is not supported; include_usage gives a final usage "
                        "chunk");
  }
}

// "stop": a string or an array of up to 64 strings; empty strings are dropped.
std::vector<std::string> parse_stop(const json& body) {
  std::vector<std::string> out;
  const json* stop = field(body, "stop");
  if (!stop) return out;
  if (stop->is_string()) {
    out.push_back(stop->get<std::string>());
  } else if (stop->is_array()) {
    for (const json& s : *stop) {
      if (!s.is_string()) throw invalid_param("stop", "stop must be a string or an array of strings");
      out.push_back(s.get<std::string>());
    }
  } else {
    throw invalid_param("stop", std::string("stop must be a string or an array of strings, got ") + type_name(*stop));
  }
  std::erase_if(out, [](const std::string& s) { return s.empty(); });
  if (out.size() > 64) throw invalid_param("stop", "stop may hold at most 64 strings");
  return out;
}

// "logit_bias": {"<token id>": bias in [-100, 100]} (OpenAI's keys are ids as strings, "50256": -100).
std::vector<sampling::LogitBias> parse_logit_bias(const json& bias) {
  if (!bias.is_object())
    throw invalid_param("logit_bias", std::string("logit_bias must be an object, got ") + type_name(bias));
  std::vector<sampling::LogitBias> out;
  for (auto it = bias.begin(); it != bias.end(); ++it) {
    const std::string& key = it.key();
    size_t pos = 0;
    long long id = -1;
    try {
      id = std::stoll(key, &pos);
    } catch (const std::exception&) {
      pos = 0;
    }
    if (pos == 0 || pos != key.size() || id < 0 || id > std::numeric_limits<int32_t>::max())
      throw invalid_param("logit_bias", "logit_bias keys must be token ids, got \"" + key + "\"");
    if (!it.value().is_number())
      throw invalid_param("logit_bias", "logit_bias values must be numbers in [-100, 100]");
    double b = it.value().get<double>();
    if (!std::isfinite(b) || b < -100 || b > 100)
      throw invalid_param("logit_bias", "logit_bias values must be in [-100, 100], got " + it.value().dump());
    out.push_back({static_cast<int32_t>(id), static_cast<float>(b)});
  }
  return out;
}

// The sampling fields (vLLM's names for the extras); min_tokens is checked against r.max_tokens.
void parse_sampling(const json& body, CommonRequest& r) {
  sampling::SamplingParams& p = r.params;
  p.temperature = static_cast<float>(get_number(body, "temperature", 1.0, 0.0, 2.0));
  p.top_p = static_cast<float>(get_number(body, "top_p", 1.0, 0.0, 1.0, true));
  p.top_k = static_cast<int32_t>(get_int(body, "top_k", -1, std::numeric_limits<int32_t>::max()).value_or(0));
  p.min_p = static_cast<float>(get_number(body, "min_p", 0.0, 0.0, 1.0));
  p.typical_p = static_cast<float>(get_number(body, "typical_p", 1.0, 0.0, 1.0, true));
  p.presence_penalty = static_cast<float>(get_number(body, "presence_penalty", 0.0, -2.0, 2.0));
  p.frequency_penalty = static_cast<float>(get_number(body, "frequency_penalty", 0.0, -2.0, 2.0));
  p.repetition_penalty =
      static_cast<float>(get_number(body, "repetition_penalty", 1.0, 0.0, sampling::kMaxRepetitionPenalty, true));
  if (const json* seed = field(body, "seed")) {
    p.has_seed = true;
    p.seed = static_cast<uint64_t>(as_integer(*seed, "seed"));
  }
  p.min_tokens = static_cast<int32_t>(get_int(body, "min_tokens", 0, std::numeric_limits<int32_t>::max()).value_or(0));
  if (r.max_tokens && p.min_tokens > *r.max_tokens) {
    throw invalid_param("min_tokens", "min_tokens must be <= max_tokens (" + std::to_string(*r.max_tokens) + "), got " +
                                          std::to_string(p.min_tokens));
  }
  p.ignore_eos = get_bool(body, "ignore_eos", false);
  if (const json* ids = field(body, "stop_token_ids")) p.stop_token_ids = get_token_list(*ids, "stop_token_ids");
  if (const json* bias = field(body, "logit_bias")) p.logit_bias = parse_logit_bias(*bias);
  // vLLM's: only these ids may be sampled (checked against the vocabulary at admission).
  if (const json* ids = field(body, "allowed_token_ids")) {
    p.allowed_token_ids = get_token_list(*ids, "allowed_token_ids");
    if (p.allowed_token_ids.empty()) {  // as vLLM: an empty list would allow nothing
      throw invalid_param("allowed_token_ids", "allowed_token_ids must not be empty (null or absent: every token)");
    }
  }
  // vLLM's: words never written; tokenized by the route (bad_words_token_ids in routes_generate.cc).
  if (const json* words = field(body, "bad_words")) {
    if (!words->is_array()) throw invalid_param("bad_words", std::string("bad_words must be an array of strings, got ") +
                                                                 type_name(*words));
    for (const json& w : *words) {
      if (!w.is_string()) throw invalid_param("bad_words", "bad_words must be an array of strings");
      r.bad_words.push_back(w.get<std::string>());
    }
  }
}

// Per-request speculative decoding (the server default is --speculative); outputs are identical either way on the CPU (on CUDA up to near ties).
std::string parse_speculative(const json& body) {
  const json* spec = field(body, "speculative");
  if (!spec) return "";
  const std::string value = spec->is_string() ? spec->get<std::string>() : "";
  if (value != "ngram" && value != "draft" && value != "off") {
    throw invalid_param("speculative", "speculative must be \"ngram\", \"draft\" or \"off\"");
  }
  return value;
}

// response_format (text, json_object for JSON mode, json_schema), the other
// structured-output fields (structured_output.h), and tools, which are not supported.
void parse_output_format(const json& body, CommonRequest& r) {
  if (const json* rf = field(body, "response_format")) {
    const json* type = rf->is_object() ? field(*rf, "type") : nullptr;
    if (!type || !type->is_string())
      throw invalid_param("response_format", "response_format must be an object with a string \"type\"");
    const std::string kind = type->get<std::string>();
    if (kind == "json_object") {
      r.json_object = !field(*rf, "schema");  // with a schema (llama.cpp's form) it is a JSON Schema
    } else if (kind != "text" && kind != "json_schema") {
      throw invalid_param("response_format",
                          "response_format type must be 'text', 'json_object' or 'json_schema', got '" + kind + "'");
    }
  }
  r.structured = parse_structured_output(body, r.json_object);
}

// Whether a field asks for something: present, not null, not false, not 0,
// not an empty string, array or object (what clients send as a default).
bool asks_for_something(const json* v) {
  if (!v || v->is_null()) return false;
  if (v->is_boolean()) return v->get<bool>();
  if (v->is_number()) return v->get<double>() != 0;
  if (v->is_string() || v->is_array() || v->is_object()) return !v->empty();
  return true;
}

// vLLM's request fields that change the output and that Nucleus does not
// implement: a 400 naming the field when they ask for something, never
// silently ignored (the output would not be what the client asked for).
void refuse_unimplemented(const json& body) {
  static const std::pair<const char*, const char*> kFields[] = {
      {"logits_processors", "logits_processors are not supported"},
      {"return_tokens_as_token_ids", "return_tokens_as_token_ids is not supported"},
      {"return_token_ids", "return_token_ids is not supported; /tokenize gives a prompt's token ids"},
      {"priority", "priority scheduling is not supported (requests are served first come, first served)"},
      {"structural_tag", "structural_tag is not supported; use a JSON Schema, regex or GBNF grammar"},
      {"vllm_xargs", "vllm_xargs is not supported"},
  };
  for (const auto& [name, message] : kFields) {
    if (asks_for_something(field(body, name))) throw not_supported(name, message);
  }
}

// vLLM's truncate_prompt_tokens: keep the prompt's last k tokens (-1: as many
// as the model's context holds).
std::optional<int> parse_truncate_prompt_tokens(const json& body) {
  const auto k = get_int(body, "truncate_prompt_tokens", -1, std::numeric_limits<int32_t>::max());
  if (k && *k == 0) throw invalid_param("truncate_prompt_tokens", "truncate_prompt_tokens must be -1 or at least 1");
  if (!k) return std::nullopt;
  return static_cast<int>(*k);
}

// vLLM's prompt_logprobs: each prompt token's logprob, rank and the top k
// alternatives, in the response (not streamed, as vLLM).
void parse_prompt_logprobs(const json& body, CommonRequest& r) {
  const auto k = get_int(body, "prompt_logprobs", 0, sampling::kMaxLogprobs);
  if (!k) return;
  if (r.stream) throw invalid_param("prompt_logprobs", "prompt_logprobs is not available when stream is true");
  r.prompt_logprobs = static_cast<int>(*k);
  r.prompt_logprobs_field = true;
}

// The fields both generating routes share, checked in the order they are
// listed here (the first bad one is the one reported).
CommonRequest parse_common(const json& body, int default_max_tokens_or_minus1) {
  CommonRequest r;
  r.model = parse_model(body);
  parse_max_tokens(body, default_max_tokens_or_minus1, r);
  r.n = static_cast<int>(get_int(body, "n", 1, 128).value_or(1));
  parse_stream(body, r);
  if (const json* user = field(body, "user"); user && !user->is_string())  // accepted and ignored, as a string
    throw invalid_param("user", std::string("user must be a string, got ") + type_name(*user));
  r.stop = parse_stop(body);
  parse_sampling(body, r);
  r.include_stop_str_in_output = get_bool(body, "include_stop_str_in_output", false);
  r.speculative = parse_speculative(body);
  r.skip_special_tokens = get_bool(body, "skip_special_tokens", true);
  parse_output_format(body, r);
  parse_beam_search(body, r);
  r.truncate_prompt_tokens = parse_truncate_prompt_tokens(body);
  parse_prompt_logprobs(body, r);
  if (const json* v = field(body, "spaces_between_special_tokens"); v && !v->is_boolean()) {
    // Only slow HF tokenizers put spaces there; GGUF vocabularies decode as fast ones do, whatever its value.
    throw invalid_param("spaces_between_special_tokens", "spaces_between_special_tokens must be a boolean");
  }
  refuse_unimplemented(body);
  return r;
}

void require_object(const json& body) {
  if (!body.is_object()) throw invalid_param("", "the request body must be a JSON object");
}

// The legacy "logprobs": an integer (alternatives per token), or a boolean
// (true = 0 alternatives); -1 when off.
int parse_legacy_logprobs(const json& body) {
  const json* lp = field(body, "logprobs");
  if (!lp) return -1;
  if (lp->is_boolean()) return lp->get<bool>() ? 0 : -1;
  return static_cast<int>(get_int(body, "logprobs", 0, sampling::kMaxLogprobs).value());
}

// best_of (>= n; more than n cannot stream). With beam search it is the beam
// width instead (as vLLM v0: best_of beams, the n best returned).
void parse_best_of(const json& body, CompletionRequest& r) {
  if (!field(body, "best_of")) return;
  r.best_of = static_cast<int>(get_int(body, "best_of", 1, 128).value());
  if (r.best_of < r.common.n) {
    throw invalid_param("best_of", "best_of must be >= n (" + std::to_string(r.common.n) + "), got " +
                                       std::to_string(r.best_of));
  }
  if (r.common.stream && r.best_of > r.common.n) {
    throw invalid_param("best_of", "best_of > n cannot be streamed: the best are known only at the end");
  }
  if (r.common.use_beam_search) {
    r.common.beam_width = r.best_of;
    r.best_of = 0;
  }
}

// "prompt": a string, token ids, or a batch of up to 64 of either.
std::vector<Prompt> parse_prompts(const json& body) {
  const json* prompt = field(body, "prompt");
  if (!prompt) throw invalid_param("prompt", "prompt is required");
  std::vector<Prompt> prompts;
  if (prompt->is_string()) {
    prompts.emplace_back(prompt->get<std::string>());
  } else if (prompt->is_array()) {
    if (prompt->empty()) throw invalid_param("prompt", "prompt must not be an empty array");
    if (prompt->front().is_number()) {
      prompts.emplace_back(get_token_list(*prompt, "prompt"));
    } else {
      for (const json& item : *prompt) {
        if (item.is_string()) prompts.emplace_back(item.get<std::string>());
        else if (item.is_array()) prompts.emplace_back(get_token_list(item, "prompt"));
        else throw invalid_param("prompt", "prompt must be a string, an array of strings, an array of token ids "
                                           "or an array of token id arrays");
      }
    }
    if (prompts.size() > 64) throw invalid_param("prompt", "at most 64 prompts per request");
  } else {
    throw invalid_param("prompt", std::string("prompt must be a string or an array, got ") + type_name(*prompt));
  }
  return prompts;
}

}  // namespace

json parse_json_body(const std::string& body) {
  // Before parsing: what walks a parsed body (templates, grammars, dumps)
  // recurses per level, and a body of a few MB could nest deep enough to
  // overflow the stack.
  if (const size_t depth = json_scan::nesting_depth(body); depth > json_scan::kMaxNestingDepth) {
    throw ApiError(400, "invalid_request_error",
                   "the request body nests " + std::to_string(depth) + " levels deep; at most " +
                       std::to_string(json_scan::kMaxNestingDepth) + " are accepted",
                   "", "invalid_json");
  }
  json parsed;
  try {
    parsed = json::parse(body);  // rejects invalid UTF-8 in strings
  } catch (const json::exception& e) {
    // parse_error, and out_of_range for a number too large for a double (1e400).
    throw ApiError(400, "invalid_request_error", std::string("the request body is not valid JSON: ") + e.what(), "",
                   "invalid_json");
  }
  require_object(parsed);
  return parsed;
}

CompletionRequest parse_completion_request(const json& body) {
  require_object(body);
  CompletionRequest r;
  r.echo = get_bool(body, "echo", false);
  const auto is_zero = [&](const char* key) {
    const json* v = field(body, key);
    return v && (v->is_number_integer() || v->is_number_unsigned()) && v->get<int64_t>() == 0;
  };
  const char* const length_key = field(body, "max_completion_tokens") ? "max_completion_tokens" : "max_tokens";
  if (r.echo && is_zero(length_key)) {
    json one_token = body;
    one_token[length_key] = 1;
    r.common = parse_common(one_token, 16);
    r.prompt_only = true;
  } else {
    if (is_zero(length_key)) {
      throw invalid_param(length_key, std::string(length_key) +
                                          " must be at least 1 (0 only with echo: the prompt scored, nothing generated)");
    }
    r.common = parse_common(body, 16);  // OpenAI's default for legacy completions
  }
  if (field(body, "suffix")) throw not_supported("suffix", "suffix is not supported");
  r.logprobs = parse_legacy_logprobs(body);
  r.common.params.logprobs = r.logprobs;
  // echo with logprobs: the prompt's tokens get logprobs too (the first one null), as in OpenAI's legacy API.
  if (const json* tools = field(body, "tools"); tools && !(tools->is_array() && tools->empty()))
    throw not_supported("tools", "tools (function calling) are for /v1/chat/completions");
  if (r.echo && r.logprobs >= 0) {
    // One set of prompt logprobs serves both; with two sizes one would be cut.
    if (r.common.prompt_logprobs_field && r.common.prompt_logprobs != r.logprobs) {
      throw invalid_param("prompt_logprobs", "prompt_logprobs with echo and logprobs must equal logprobs (" +
                                                 std::to_string(r.logprobs) + ")");
    }
    r.common.prompt_logprobs = r.logprobs;
  }
  r.add_special_tokens = get_bool(body, "add_special_tokens", true);
  parse_best_of(body, r);
  r.prompts = parse_prompts(body);
  return r;
}

ChatRequest parse_chat_request(const json& body) {
  require_object(body);
  ChatRequest r;
  r.common = parse_common(body, -1);
  r.common.prompt_param = "messages";
  // OpenAI's deprecated function calling: refused rather than ignored when it
  // asks for something (the model would never see the functions); an empty
  // list or function_call "none", which some clients always send, asks nothing.
  const json* functions = field(body, "functions");
  const json* function_call = field(body, "function_call");
  for (auto [legacy, v] : {std::pair{"functions", functions}, std::pair{"function_call", function_call}}) {
    const bool asks = v && !v->is_null() && !(v->is_array() && v->empty()) && !(v->is_string() && *v == "none");
    if (asks) {
      throw not_supported(legacy, std::string(legacy) + " (OpenAI's deprecated function calling) is not supported; "
                                                         "send tools and tool_choice");
    }
  }
  const json* messages = field(body, "messages");
  if (!messages) throw invalid_param("messages", "messages is required");
  r.messages = parse_messages(*messages);
  r.logprobs = get_bool(body, "logprobs", false);
  r.top_logprobs = static_cast<int>(get_int(body, "top_logprobs", 0, sampling::kMaxLogprobs).value_or(0));
  if (field(body, "top_logprobs") && !r.logprobs)
    throw invalid_param("top_logprobs", "top_logprobs requires logprobs to be true");
  r.common.params.logprobs = r.logprobs ? r.top_logprobs : -1;
  // vLLM's template switches: checked for their type like every other field, never ignored.
  r.add_generation_prompt = get_bool(body, "add_generation_prompt", true);
  if (get_bool(body, "continue_final_message", false)) {
    throw not_supported("continue_final_message", "continue_final_message is not supported yet");
  }
  if (const json* kwargs = field(body, "chat_template_kwargs"); kwargs && !kwargs->is_object()) {
    throw invalid_param("chat_template_kwargs", "chat_template_kwargs must be an object");
  }
  // vLLM's chat fields that would change the prompt and that Nucleus does not take.
  if (asks_for_something(field(body, "chat_template"))) {
    throw not_supported("chat_template", "a chat template per request is not accepted (vLLM too refuses one unless "
                                         "started with --trust-request-chat-template); start the server with "
                                         "--chat-template FILE.jinja");
  }
  if (asks_for_something(field(body, "documents"))) throw not_supported("documents", "documents are not supported");
  if (get_bool(body, "echo", false)) {
    throw not_supported("echo", "echo is not supported on /v1/chat/completions (it is on /v1/completions)");
  }
  if (get_bool(body, "add_special_tokens", false)) {
    throw not_supported("add_special_tokens", "add_special_tokens is not supported on /v1/chat/completions: the chat "
                                              "template writes the special tokens");
  }
  return r;
}

TokenizeRequest parse_tokenize_request(const json& body) {
  require_object(body);
  TokenizeRequest r;
  const json* prompt = field(body, "prompt");
  const json* messages = field(body, "messages");
  if ((prompt != nullptr) == (messages != nullptr))
    throw invalid_param("prompt", "give exactly one of prompt and messages");
  if (prompt) {
    if (!prompt->is_string()) throw invalid_param("prompt", std::string("prompt must be a string, got ") + type_name(*prompt));
    r.prompt = prompt->get<std::string>();
  } else {
    r.messages = parse_messages(*messages);
  }
  r.add_special_tokens = get_bool(body, "add_special_tokens", prompt != nullptr);
  r.add_generation_prompt = get_bool(body, "add_generation_prompt", true);
  r.return_token_strs = get_bool(body, "return_token_strs", false);
  return r;
}

std::vector<int32_t> parse_detokenize_request(const json& body) {
  require_object(body);
  const json* tokens = field(body, "tokens");
  if (!tokens) throw invalid_param("tokens", "tokens is required");
  return get_token_list(*tokens, "tokens");
}

}  // namespace nucleus::server
