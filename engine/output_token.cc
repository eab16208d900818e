#include "engine/output_token.h"

#include <algorithm>

#include "engine/request_state.h"

namespace nucleus {

std::string flush_held_back(Detokenizer& detokenizer, StopStringMatcher& stops, bool may_stop) {
  StopStringMatcher::Result tail = stops.push(detokenizer.flush(), may_stop);
  return tail.emit + (tail.stopped ? "" : stops.flush());
}

OutputToken append_output_token(int32_t token, int64_t num_output, int64_t length, int64_t context_length,
                                const GenerationRequest& spec, const Tokenizer& tokenizer, Detokenizer& detokenizer,
                                StopStringMatcher& stops) {
  OutputToken out;
  const bool may_stop = may_stop_on_strings(num_output, spec);
  const bool eog = tokenizer.is_end_of_generation(token) && !spec.params.ignore_eos;
  const auto& ids = spec.params.stop_token_ids;
  const bool stop_id = std::find(ids.begin(), ids.end(), token) != ids.end();
  if (eog || stop_id) {
    // As vLLM: the stopping token's text stays in the output when the request
    // includes stop strings in it (held-back text first). An
    // end-of-generation token's text is empty unless special tokens are kept.
    out.finish = FinishReason::kStop;
    out.in_scored_length = false;
    if (stop_id) out.stop_reason = std::to_string(token), out.stop_reason_is_token = true;
    if (spec.include_stop_str_in_output) out.text = stops.flush() + detokenizer.push(token);
    out.text += flush_held_back(detokenizer, stops, may_stop);
    return out;
  }
  StopStringMatcher::Result text = stops.push(detokenizer.push(token), may_stop);
  out.text = std::move(text.emit);
  if (text.stopped) {
    out.finish = FinishReason::kStop;
    out.stop_reason = std::move(text.matched);
    return out;
  }
  if (num_output >= spec.max_tokens || length >= context_length) {
    out.finish = FinishReason::kLength;
    out.text += flush_held_back(detokenizer, stops, may_stop);
  }
  return out;
}

}  // namespace nucleus
