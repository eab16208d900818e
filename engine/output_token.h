// How one output token ends a sequence and what text it makes final. The one
// reading that EngineCore (each sampled token) and BeamSearch (each candidate
// child) share, so that a beam's text and finish are a sampled sequence's.
#pragma once

#include <cstdint>
#include <string>

#include "engine/generation_request.h"
#include "text/detokenizer.h"
#include "text/stop_strings.h"
#include "text/tokenizer.h"

namespace nucleus {

struct OutputToken {
  std::string text;  // final now; with the held-back text when the token ends the sequence
  FinishReason finish = FinishReason::kNone;
  std::string stop_reason;  // the stop string matched, or the stop token id written as text
  bool stop_reason_is_token = false;
  bool in_scored_length = true;  // false for an end-of-generation or stop-id token (beam scores leave it out)
};

// `token` appended as the sequence's output token `num_output` (this one
// counted), `length` tokens with the prompt. The ends, in vLLM's order: end
// of generation (unless ignore_eos), a stop token id, a stop string, then
// max_tokens or the context. An end-of-generation or stop-id token's own text
// is output only with include_stop_str_in_output, and no stop string is
// looked for in it.
OutputToken append_output_token(int32_t token, int64_t num_output, int64_t length, int64_t context_length,
                                const GenerationRequest& spec, const Tokenizer& tokenizer, Detokenizer& detokenizer,
                                StopStringMatcher& stops);

// The text held back at a sequence's end not made by a stop string: the
// detokenizer's incomplete bytes, then the stop matcher's pending text (up to
// a stop string those bytes complete).
std::string flush_held_back(Detokenizer& detokenizer, StopStringMatcher& stops, bool may_stop);

}  // namespace nucleus
