// The one check that token ids name rows of the vocabulary, and its message.
// The server's parsers, the engine's admission and the sampler's own input
// check all use it, so a client sees the same words whichever layer refuses.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>

namespace nucleus::sampling {

inline bool in_vocabulary(int64_t id, int64_t vocab) { return id >= 0 && id < vocab; }

// "token id 50000 is outside the vocabulary [0, 49152)"
std::string outside_vocabulary_message(int64_t id, int64_t vocab);

// The message for the first id of `ids` outside [0, vocab); nullopt when all are inside.
std::optional<std::string> first_id_outside_vocabulary(std::span<const int32_t> ids, int64_t vocab);

}  // namespace nucleus::sampling
