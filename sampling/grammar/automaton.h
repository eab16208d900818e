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
// over (callers check between masks, never in the middle of one); the mask
// cache keeps at most kMaxMaskBytes and evicts the least recently used mask.
// A bounded string (maxLength 40) is 40 states, so a schema with a few of them
// needs hundreds of masks: evicting one at a time, not all at once, keeps a
// schema's working set warm.
#pragma once

#include <cstdint>
#include <list>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "sampling/grammar/grammar_state.h"

namespace nucleus::grammar {

class Automaton {
 public:
  explicit Automaton(const CompiledGrammar& grammar) : grammar_(grammar) {}

  static constexpr size_t kMaxStates = 1 << 13;        // transition rows of at most 8 MiB per grammar
  static constexpr size_t kMaxMaskBytes = size_t{16} << 20;  // ~2,700 masks of a 49k-token vocabulary

  std::mutex& mutex() { return mu_; }

  int32_t intern(const GrammarState& state);
  // The state after `byte` from state `id`, or -1 when the byte is refused.
  // One load when known: the hot loop of a mask walks ~200k trie edges.
  int32_t next(int32_t id, uint8_t byte) {
    const int32_t to = transitions_[(static_cast<size_t>(id) << 8) | byte];
    return to != kUnknown ? to : add_transition(id, byte);
  }
  bool can_end(int32_t id) const { return states_[static_cast<size_t>(id)].can_end(); }
  size_t size() const { return states_.size(); }
  void clear();

  // The mask cache: bit-packed masks keyed by their vocabulary's owner id and
  // the state. find_mask marks the mask as just used; the pointer stays valid
  // until the next store_mask or clear.
  const std::vector<uint64_t>* find_mask(uint64_t owner, int32_t id);
  void store_mask(uint64_t owner, int32_t id, std::vector<uint64_t> bits);
  size_t mask_count() const { return masks_.size(); }

 private:
  struct Hash {
    size_t operator()(const GrammarState& s) const { return s.hash(); }
  };
  static constexpr int32_t kUnknown = -2;

  // Computes the transition on `byte` and records it for every byte of its
  // class; the first call for a state computes all its classes at once
  // (GrammarState::successors), which costs about what one accept_byte does.
  int32_t add_transition(int32_t id, uint8_t byte);
  void set_class(int32_t id, uint8_t byte, int32_t to);

  struct CachedMask {
    std::vector<uint64_t> bits;
    std::list<uint64_t>::iterator use;  // its place in uses_
  };

  const CompiledGrammar& grammar_;  // the grammar that owns this automaton
  std::mutex mu_;
  std::vector<GrammarState> states_;
  std::unordered_map<GrammarState, int32_t, Hash> ids_;
  // transitions_[id * 256 + byte]: the next id, -1 (refused) or kUnknown; a
  // row is filled with -1 for the bytes no stack of the state can take when
  // the state is interned, so a refused byte never reaches add_transition.
  std::vector<int32_t> transitions_;
  std::vector<uint8_t> expanded_;  // expanded_[id]: successors() already recorded
  std::unordered_map<uint64_t, CachedMask> masks_;
  std::list<uint64_t> uses_;  // mask keys, most recently used first
  size_t mask_bytes_ = 0;
};

}  // namespace nucleus::grammar
