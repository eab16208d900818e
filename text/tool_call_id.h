// Ids for tool calls: "call_" + 24 letters and digits, as OpenAI's look. They
// come from a seed the caller picks (a random one per request in the server, a
// fixed one in tests), so the same seed always gives the same ids.
#pragma once

#include <cstdint>
#include <string>

namespace nucleus {

class ToolCallIdSource {
 public:
  explicit ToolCallIdSource(uint64_t seed) : state_(seed) {}
  std::string next();

 private:
  uint64_t state_;
};

}  // namespace nucleus
