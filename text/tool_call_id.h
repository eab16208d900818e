// Ids for tool calls: "call_" + 24 letters and digits, as OpenAI's look. They
// come from a seed the caller picks (a random one per request in the server, a
// fixed one in tests), so the same seed always gives the same ids.
#pragma once

#include <cstdint>
#include <string>

namespace nucleus {

// Mistral's templates refuse any id but 9 letters and digits ("Tool call IDs
// should be alphanumeric strings with length 9!"), so ids given to a client
// that will send them back to such a template have that shape.
enum class ToolCallIdStyle { kOpenAI, kNineAlphanumerics };

class ToolCallIdSource {
 public:
  explicit ToolCallIdSource(uint64_t seed, ToolCallIdStyle style = ToolCallIdStyle::kOpenAI)
      : state_(seed), style_(style) {}
  std::string next();

 private:
  uint64_t state_;
  ToolCallIdStyle style_;
};

}  // namespace nucleus
