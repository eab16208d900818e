#include "engine/admission.h"

#include <algorithm>
#include <stdexcept>
#include <string>

#include "sampling/token_ids.h"

namespace nucleus {

namespace {

// The sampling parameters; the parameter named is the first word of the sampler's message.
void check_sampling(const GenerationRequest& spec, int64_t vocab) {
  try {
    spec.params.validate(vocab);
  } catch (const std::invalid_argument& e) {
    const std::string msg = e.what();
    throw InvalidRequest(msg.substr(0, msg.find(' ')), msg);
  }
}

void check_prompt(const GenerationRequest& spec, int64_t vocab) {
  if (spec.prompt.empty()) throw InvalidRequest("prompt", "the prompt must contain at least one token");
  if (auto error = sampling::first_id_outside_vocabulary(spec.prompt, vocab)) throw InvalidRequest("prompt", *error);
}

// Features and the combinations of them the engine cannot serve.
void check_features(const GenerationRequest& spec, const AdmissionLimits& limits) {
  if (spec.speculation == Speculation::kDraft && !limits.has_draft_model) {
    throw InvalidRequest("speculative", "speculative \"draft\" needs a draft model, and this server has none "
                                        "(start it with --draft-model PATH)");
  }
  if (spec.n < 1 || spec.n > 128) throw InvalidRequest("n", "n must be in [1, 128], got " + std::to_string(spec.n));
  const int sequences = spec.beam ? std::max(spec.n, spec.beam->width) : spec.n;
  if (sequences > limits.max_sequences) {
    throw InvalidRequest("n", "the request asks for " + std::to_string(sequences) + (spec.beam ? " beams" : " sequences") +
                                  "; at most " + std::to_string(limits.max_sequences) +
                                  " per request (--max-request-sequences)");
  }
  if (spec.response_format == ResponseFormat::kJsonObject) {
    if (spec.beam) throw InvalidRequest("response_format", "JSON mode (json_object) cannot be used with beam search");
    if (spec.params.min_tokens > 0) {
      throw InvalidRequest("min_tokens", "min_tokens cannot be used with JSON mode (json_object): generation must "
                                         "end when the object closes");
    }
    if (spec.params.ignore_eos) {
      throw InvalidRequest("ignore_eos", "ignore_eos cannot be used with JSON mode (json_object): generation must "
                                         "end when the object closes");
    }
  }
  if (spec.grammar) {
    const std::string& param = spec.grammar_param;
    if (spec.beam) throw InvalidRequest(param, param + " (structured output) cannot be used with beam search");
    if (spec.response_format == ResponseFormat::kJsonObject) {
      throw InvalidRequest(param, param + " cannot be combined with response_format json_object");
    }
    if (spec.params.min_tokens > 0) {
      throw InvalidRequest("min_tokens", "min_tokens cannot be used with structured output (" + param +
                                             "): generation must end where the grammar ends");
    }
    if (spec.params.ignore_eos) {
      throw InvalidRequest("ignore_eos", "ignore_eos cannot be used with structured output (" + param +
                                             "): generation must end where the grammar ends");
    }
  }
  if (spec.prompt_logprobs < -1 || spec.prompt_logprobs > sampling::kMaxLogprobs) {
    throw InvalidRequest("prompt_logprobs", "prompt_logprobs must be in [0, " + std::to_string(sampling::kMaxLogprobs) +
                                                "] (or -1: off), got " + std::to_string(spec.prompt_logprobs));
  }
  if (spec.max_tokens == 0) {
    throw InvalidRequest("max_tokens", "max_tokens must be at least 1 (or -1: until the context is full)");
  }
}

// No max_tokens (-1): until the context is full, or the whole KV cache when
// that holds less than a context (a long-context model on a small cache): a
// request that names no length must not be refused for one it never asked.
void resolve_max_tokens(GenerationRequest& spec, const AdmissionLimits& limits) {
  if (spec.max_tokens >= 0) return;
  const int64_t prompt_len = static_cast<int64_t>(spec.prompt.size());
  const int64_t cache_tokens = limits.cache_blocks * int64_t{limits.block_size};
  if (prompt_len < limits.context_length && prompt_len >= cache_tokens) {
    throw InvalidRequest("prompt", "the prompt has " + std::to_string(prompt_len) +
                                       " tokens but the whole KV cache holds " + std::to_string(cache_tokens) +
                                       "; raise --kv-cache-memory");
  }
  spec.max_tokens = static_cast<int>(std::max<int64_t>(std::min(limits.context_length, cache_tokens) - prompt_len, 0));
}

// Prompt + max_tokens within the context and within the whole KV cache.
void check_length(const GenerationRequest& spec, const AdmissionLimits& limits) {
  const int64_t ctx = limits.context_length;
  const int64_t prompt_len = static_cast<int64_t>(spec.prompt.size());
  if (prompt_len >= ctx) {
    throw InvalidRequest("prompt", "This model's maximum context length is " + std::to_string(ctx) +
                                       " tokens, but the prompt has " + std::to_string(prompt_len) +
                                       " tokens, which leaves no room for the completion.");
  }
  if (prompt_len + spec.max_tokens > ctx) {
    throw InvalidRequest("max_tokens", "This model's maximum context length is " + std::to_string(ctx) +
                                           " tokens. However, you requested " +
                                           std::to_string(prompt_len + spec.max_tokens) + " tokens (" +
                                           std::to_string(prompt_len) + " in the prompt, " +
                                           std::to_string(spec.max_tokens) + " for the completion).");
  }
  const int64_t blocks_needed = (prompt_len + spec.max_tokens + limits.block_size - 1) / limits.block_size;
  if (blocks_needed > limits.cache_blocks) {
    throw InvalidRequest("max_tokens", "the request needs " + std::to_string(blocks_needed) +
                                           " KV blocks but the whole cache has " +
                                           std::to_string(limits.cache_blocks) + "; raise --kv-cache-memory");
  }
}

}  // namespace

void admit(GenerationRequest& spec, const AdmissionLimits& limits) {
  check_sampling(spec, limits.vocab);
  check_prompt(spec, limits.vocab);
  check_features(spec, limits);
  resolve_max_tokens(spec, limits);
  check_length(spec, limits);
}

}  // namespace nucleus
