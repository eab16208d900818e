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
  static constexpr size_t kMaxStates = 1 << 16;
  static constexpr size_t kMaxMasks = 256;

  std::mutex& mutex() { return mu_; }

  int32_t intern(const GrammarState& state);
  // The state after `byte` from state `id`, or -1 when the byte is refused.
  int32_t next(int32_t id, uint8_t byte) {
    if (!first_bytes_[static_cast<size_t>(id)].test(byte)) return -1;
    const uint64_t key = (static_cast<uint64_t>(id) << 8) | byte;
    size_t slot = probe(key);
    if (keys_[slot] == key) return values_[slot];
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
  static constexpr uint64_t kEmptyKey = ~uint64_t{0};

  size_t probe(uint64_t key) const {
    size_t slot = static_cast<size_t>((key * 0x9E3779B97F4A7C15ull) >> shift_);
    while (keys_[slot] != key && keys_[slot] != kEmptyKey) slot = (slot + 1) & (keys_.size() - 1);
    return slot;
  }
  int32_t add_transition(int32_t id, uint8_t byte);
  void reset_table(size_t log2_capacity);

  std::mutex mu_;
  std::vector<GrammarState> states_;
  std::vector<ByteSet> first_bytes_;  // the bytes any stack of the state can take
  std::unordered_map<GrammarState, int32_t, Hash> ids_;
  // Open addressing: key (id << 8 | byte), value the next id or -1.
  std::vector<uint64_t> keys_;
  std::vector<int32_t> values_;
  size_t transitions_ = 0;
  int shift_ = 64;
  std::unordered_map<uint64_t, std::vector<uint64_t>> masks_;
};

}  // namespace nucleus::grammar
