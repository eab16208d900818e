// The lazily built deterministic view of one grammar's pushdown automaton, as
// RE2 builds its DFA: every GrammarState reached while computing token masks
// is interned under a small id, and each (id, byte) transition is computed once
// with GrammarState::accept_byte and then looked up. A token mask then costs one
// table lookup per trie edge instead of a stack walk, and the masks themselves
// are cached per (vocabulary, state id): a JSON string body or a run of digits
// keeps returning to the same few states.
//
// Not thread-safe by itself: callers hold mutex() (GrammarTokenMask::fill does).
// Memory is bounded: when it holds more than kMaxStates states, clear() starts
// over (callers check between masks, never in the middle of one).
#pragma once

#include <cstdint>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "sampling/grammar/grammar_state.h"

namespace nucleus::grammar {

class Automaton {
 public:
  static constexpr size_t kMaxStates = 1 << 13;  // rows of at most 8 MiB per grammar
  static constexpr size_t kMaxMasks = 256;

  std::mutex& mutex() { return mu_; }

  int32_t intern(const GrammarState& state);
  // The state after `byte` from state `id`, or -1 when the byte is refused.
  int32_t next(int32_t id, uint8_t byte) {
    const auto i = static_cast<size_t>(id);
    if (!first_bytes_[i].test(byte)) return -1;
    if (!rows_[i].empty() && rows_[i][byte] != kUnknown) return rows_[i][byte];
    return add_transition(id, byte);
  }
  bool can_end(int32_t id) const { return states_[static_cast<size_t>(id)].can_end(); }
  size_t size() const { return states_.size(); }
  void clear();

  // The mask cache: bit-packed masks keyed by their vocabulary's owner id and the state.
  const std::vector<uint64_t>* find_mask(uint64_t owner, int32_t id) const;
  void store_mask(uint64_t owner, int32_t id, std::vector<uint64_t> bits);

 private:
  struct Hash {
    size_t operator()(const GrammarState& s) const { return s.hash(); }
  };
  static constexpr int32_t kUnknown = -2;

  int32_t add_transition(int32_t id, uint8_t byte);

  std::mutex mu_;
  std::vector<GrammarState> states_;
  std::vector<ByteSet> first_bytes_;  // the bytes any stack of the state can take
  std::unordered_map<GrammarState, int32_t, Hash> ids_;
  // rows_[id][byte]: the next id, -1 (refused) or kUnknown; a dense row per
  // state that has been stepped from (1 KiB each), so a trie edge is one load.
  std::vector<std::vector<int32_t>> rows_;
  std::unordered_map<uint64_t, std::vector<uint64_t>> masks_;
};

}  // namespace nucleus::grammar
