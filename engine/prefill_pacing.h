// How many prompt tokens a step that also decodes may take, so that the step
// stays near a target time: the streams being decoded get their next token
// once per step, so a step's length is their inter-token latency. A prompt
// chunk of --max-batched-tokens tokens makes a step several seconds long on a
// CPU (prefill runs at ~100-300 tokens/s on a 1B model), and every running
// stream stalls for it; cut to the target, the prompt takes a few more steps
// and the streams keep flowing. vLLM's chunked prefill makes the same trade
// with a fixed token budget; a time target adapts it to the machine and model.
//
// The cost of a token is learned from the steps themselves: an exponential
// average of seconds per token over steps of at least kMinMeasuredTokens
// tokens (fewer are dominated by reading the weights once, not by tokens).
// Until one such step has run there is no cap. Kept apart from the step loop
// so the rule is tested alone (tests/engine/prefill_pacing_test.cc); it only
// sets chunk sizes, and outputs do not depend on chunking (batch invariance).
#pragma once

#include <cstdint>

namespace nucleus {

class PrefillPacing {
 public:
  static constexpr int64_t kMinMeasuredTokens = 32;
  static constexpr double kAverageWeight = 0.25;  // of the newest step

  // target_seconds <= 0: never cap. min_tokens: the smallest cap, so a prompt
  // always advances (one KV block is a natural grain).
  PrefillPacing(double target_seconds, int64_t min_tokens) : target_s_(target_seconds), min_tokens_(min_tokens) {}

  // Most prompt tokens for a step that also computes `decode_tokens` tokens of
  // decoding sequences; 0 = no cap.
  int64_t cap(int64_t decode_tokens) const {
    if (target_s_ <= 0 || seconds_per_token_ <= 0) return 0;
    const double fit = target_s_ / seconds_per_token_ - static_cast<double>(decode_tokens);
    if (fit <= static_cast<double>(min_tokens_)) return min_tokens_;
    return fit >= 1e15 ? int64_t{1} << 50 : static_cast<int64_t>(fit);
  }

  // A step computed `tokens` tokens in `seconds`.
  void observe(int64_t tokens, double seconds) {
    if (tokens < kMinMeasuredTokens || !(seconds > 0)) return;
    const double per_token = seconds / static_cast<double>(tokens);
    seconds_per_token_ = seconds_per_token_ <= 0 ? per_token
                                                 : (1 - kAverageWeight) * seconds_per_token_ + kAverageWeight * per_token;
  }

  double seconds_per_token() const { return seconds_per_token_; }

 private:
  double target_s_;
  int64_t min_tokens_;
  double seconds_per_token_ = 0;  // 0 = nothing measured yet
};

}  // namespace nucleus
