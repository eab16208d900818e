#include "text/tool_call_id.h"

#include <string_view>

namespace nucleus {
namespace {

// SplitMix64 (Steele, Lea, Flood 2014): a full-period 64-bit sequence whose
// outputs are well mixed even for consecutive seeds.
uint64_t splitmix64(uint64_t& state) {
  uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

}  // namespace

std::string ToolCallIdSource::next() {
  constexpr std::string_view kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  const bool nine = style_ == ToolCallIdStyle::kNineAlphanumerics;
  const int length = nine ? 9 : 24;
  std::string id = nine ? "" : "call_";
  for (int i = 0; i < length; ++i) id += kAlphabet[splitmix64(state_) % kAlphabet.size()];
  return id;
}

}  // namespace nucleus
