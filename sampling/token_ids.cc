#include "sampling/token_ids.h"

namespace nucleus::sampling {

std::string outside_vocabulary_message(int64_t id, int64_t vocab) {
  return "token id " + std::to_string(id) + " is outside the vocabulary [0, " + std::to_string(vocab) + ")";
}

std::optional<std::string> first_id_outside_vocabulary(std::span<const int32_t> ids, int64_t vocab) {
  for (const int32_t id : ids) {
    if (!in_vocabulary(id, vocab)) return outside_vocabulary_message(id, vocab);
  }
  return std::nullopt;
}

}  // namespace nucleus::sampling
