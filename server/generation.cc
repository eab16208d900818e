#include "server/generation.h"
#include "server/request_bounds.h"

#include <algorithm>

#include "sampling/grammar/grammar_error.h"
#include "server/errors.h"

namespace nucleus::server {

namespace {

// The compiled grammar of the request's structured output (cached by source
// text); a schema or pattern the compiler refuses is a 400 naming the field.
std::shared_ptr<const grammar::CompiledGrammar> compile_structured(ServerState& state, const CommonRequest& common) {
  if (!common.structured) return nullptr;
  try {
    return state.grammars.get(common.structured->kind, common.structured->source);
  } catch (const grammar::GrammarError& e) {
    throw invalid_param(common.structured->param, common.structured->param + ": " + e.what());
  }
}

// The engine request for one prompt of `common`.
GenerationRequest engine_request(const CommonRequest& common, const std::vector<int32_t>& prompt) {
  GenerationRequest request;
  request.prompt = prompt;
  request.params = common.params;
  request.n = common.n;
  request.max_tokens = common.max_tokens.value_or(-1);
  request.stop = common.stop;
  request.include_stop_str_in_output = common.include_stop_str_in_output;
  request.skip_special_tokens = common.skip_special_tokens;
  request.prompt_logprobs = common.prompt_logprobs;
  if (common.json_object) request.response_format = ResponseFormat::kJsonObject;
  if (common.structured) request.grammar_param = common.structured->param;
  if (common.use_beam_search) {
    request.beam = BeamSearchOptions{std::max(common.n, common.beam_width), common.length_penalty,
                                     common.early_stopping};
  }
  if (!common.speculative.empty()) {
    request.speculation = speculation_from_name(common.speculative);  // checked by the parser
  }
  return request;
}

}  // namespace

GenerationRun::GenerationRun(ServerState& state, const CommonRequest& common,
                             const std::vector<std::vector<int32_t>>& prompts)
    : state_(state), n_(common.n) {
  check_request_bounds(common, prompts, state.max_request_sequences, state.context_length);
  const std::shared_ptr<const grammar::CompiledGrammar> grammar = compile_structured(state, common);
  for (const std::vector<int32_t>& prompt : prompts) {
    try {
      GenerationRequest request = engine_request(common, prompt);
      request.grammar = grammar;
      handles_.push_back(state.engine->submit(std::move(request)));
    } catch (const InvalidRequest& e) {
      abort();
      // The engine knows one length field and one prompt; name the fields the client sent.
      const std::string& param = e.param() == "max_tokens" ? common.max_tokens_param
                                 : e.param() == "prompt"   ? common.prompt_param
                                                           : e.param();
      throw invalid_param(param, e.what());
    } catch (const EngineOverloaded& e) {
      abort();
      throw ApiError(503, "server_overloaded", e.what());
    }
    done_.push_back(false);
    prompt_logprobs_.emplace_back();
    prompt_tokens_ += static_cast<int64_t>(prompt.size());
  }
}

bool GenerationRun::poll(std::vector<ChoiceDelta>& out, std::chrono::milliseconds timeout) {
  // Wait on the first unfinished request; then take whatever the others have.
  bool waited = false;
  for (size_t p = 0; p < handles_.size(); ++p) {
    if (done_[p]) continue;
    const auto wait = waited ? std::chrono::milliseconds(0) : timeout;
    waited = true;
    std::optional<RequestEvent> event = handles_[p]->next(wait);
    if (!event) continue;
    if (!event->prompt_logprobs.empty()) prompt_logprobs_[p] = std::move(event->prompt_logprobs);
    for (SequenceDelta& d : event->deltas) {
      out.push_back({static_cast<int>(p) * n_ + d.index, std::move(d)});
    }
    if (!event->error.empty() && error_.empty()) {
      error_ = event->error;
      error_param_ = event->error_param;
    }
    if (event->done) {
      done_[p] = true;
      usage_.prompt_tokens += event->usage.prompt_tokens;
      usage_.completion_tokens += event->usage.completion_tokens;
      usage_.cached_prompt_tokens += event->usage.cached_prompt_tokens;
    }
  }
  return std::any_of(done_.begin(), done_.end(), [](bool d) { return !d; });
}

void GenerationRun::abort() {
  for (auto& handle : handles_) handle->abort();
}

}  // namespace nucleus::server
