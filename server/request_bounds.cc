#include "server/request_bounds.h"

#include <algorithm>
#include <string>

#include "server/errors.h"

namespace nucleus::server {

void check_request_bounds(const CommonRequest& common, const std::vector<std::vector<int32_t>>& prompts,
                          int max_sequences, int context_length) {
  const int64_t per_prompt = common.use_beam_search ? std::max(common.n, common.beam_width) : common.n;
  const int64_t count = static_cast<int64_t>(prompts.size());
  const int64_t sequences = count * per_prompt;
  if (sequences > max_sequences) {
    const std::string what = common.use_beam_search ? " beams" : " (n)";
    throw invalid_param(per_prompt > max_sequences ? "n" : common.prompt_param,
                        "this request asks for " + std::to_string(sequences) + " sequences (" +
                            std::to_string(count) + " prompts x " + std::to_string(per_prompt) + what +
                            "); the server allows at most " + std::to_string(max_sequences) +
                            " per request (--max-request-sequences)");
  }
  if (common.params.logprobs >= 0) {
    const int64_t tokens = common.max_tokens.value_or(context_length);
    const int64_t entries = sequences * tokens * (common.params.logprobs + 1);
    if (entries > kMaxOutputLogprobEntries) {
      const bool chat = common.prompt_param == "messages";
      throw invalid_param(chat ? "top_logprobs" : "logprobs",
                          "logprobs for " + std::to_string(sequences) + " sequences of up to " +
                              std::to_string(tokens) + " tokens with " + std::to_string(common.params.logprobs) +
                              " alternatives each would be " + std::to_string(entries) + " entries; at most " +
                              std::to_string(kMaxOutputLogprobEntries) +
                              " per request (lower n, max_tokens or the alternatives)");
    }
  }
  if (common.prompt_logprobs >= 0) {
    int64_t tokens = 0;
    for (const std::vector<int32_t>& p : prompts) tokens += static_cast<int64_t>(p.size());
    const int64_t entries = tokens * (common.prompt_logprobs + 1);
    if (entries > kMaxPromptLogprobEntries) {
      throw invalid_param(common.prompt_param,
                          "prompt logprobs for " + std::to_string(tokens) + " prompt tokens with " +
                              std::to_string(common.prompt_logprobs) + " alternatives each would be " +
                              std::to_string(entries) + " entries; at most " +
                              std::to_string(kMaxPromptLogprobEntries) + " per request");
    }
  }
}

}  // namespace nucleus::server
