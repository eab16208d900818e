// Stop strings on streamed text. Text arrives in deltas; a stop string may
// span deltas, so text that could still become the start of a stop string is
// held back until it either completes the stop string or cannot anymore.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace nucleus {

class StopStringMatcher {
 public:
  StopStringMatcher() = default;
  StopStringMatcher(std::vector<std::string> stops, bool include_stop_in_output);

  struct Result {
    std::string emit;         // text that is final now
    bool stopped = false;     // a stop string matched: emit ends there
    std::string matched;      // which stop string
  };

  // Appends a delta and returns what can be emitted. With may_stop false (a
  // request's first min_tokens tokens, as vLLM) no stop string ends the text,
  // and none that ends inside text pushed so will later: only a stop string
  // that ends in a delta pushed with may_stop true stops, even one that began
  // before it (its start is held back meanwhile).
  Result push(std::string_view delta, bool may_stop = true);
  // At the end of the sequence: everything held back.
  std::string flush();

 private:
  std::vector<std::string> stops_;
  bool include_stop_ = false;
  size_t max_stop_len_ = 0;
  std::string pending_;
  size_t unstoppable_ = 0;  // bytes at the front of pending_ pushed with may_stop false
};

}  // namespace nucleus
