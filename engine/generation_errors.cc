#include "engine/generation_errors.h"

#include <algorithm>
#include <vector>

namespace nucleus {

GenerationError no_token_error(const GenerationRequest& spec, bool masked) {
  const sampling::SamplingParams& p = spec.params;
  std::vector<std::string> constraints;
  if (!p.allowed_token_ids.empty()) constraints.push_back("allowed_token_ids");
  if (!p.bad_words_token_ids.empty()) constraints.push_back("bad_words");
  if (!p.bad_token_ids.empty()) constraints.push_back("bad_token_ids");
  if (masked) constraints.push_back(spec.grammar ? spec.grammar_param : "response_format");
  if (std::any_of(p.logit_bias.begin(), p.logit_bias.end(), [](const sampling::LogitBias& b) { return b.bias < 0; })) {
    constraints.push_back("logit_bias");
  }
  if (p.min_tokens > 0) constraints.push_back("min_tokens");
  if (constraints.empty()) return {"no token could be sampled (every logit was -inf or NaN)", ""};
  std::string list;
  for (const std::string& c : constraints) list += (list.empty() ? "" : ", ") + c;
  return {"no token left to sample: the request's constraints (" + list + ") together exclude every token",
          constraints.front()};
}

void set_error(RequestEvent& event, const GenerationError& error) {
  event.error = error.message;
  event.error_param = error.param;
}

}  // namespace nucleus
