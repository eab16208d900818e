#include "sampling/grammar/automaton.h"

namespace nucleus::grammar {

void Automaton::reset_table(size_t log2_capacity) {
  keys_.assign(size_t{1} << log2_capacity, kEmptyKey);
  values_.assign(size_t{1} << log2_capacity, -1);
  shift_ = 64 - static_cast<int>(log2_capacity);
  transitions_ = 0;
}

void Automaton::clear() {
  states_.clear();
  first_bytes_.clear();
  ids_.clear();
  masks_.clear();
  reset_table(12);
}

int32_t Automaton::intern(const GrammarState& state) {
  if (keys_.empty()) reset_table(12);
  auto it = ids_.find(state);
  if (it != ids_.end()) return it->second;
  const auto id = static_cast<int32_t>(states_.size());
  ByteSet first;
  const auto& stacks = state.stacks();
  const auto& code = state.grammar().code();
  for (size_t i = 0; i < stacks.size(); i += stacks[i] + 1) {
    const ByteSet& set = state.grammar().byte_set(op_index(code[stacks[i + stacks[i]]]));
    for (int w = 0; w < 4; ++w) first.bits[w] |= set.bits[w];
  }
  states_.push_back(state);
  first_bytes_.push_back(first);
  ids_.emplace(state, id);
  return id;
}

int32_t Automaton::add_transition(int32_t id, uint8_t byte) {
  GrammarState next = states_[static_cast<size_t>(id)];
  const int32_t to = next.accept_byte(byte) ? intern(next) : -1;
  if (2 * (transitions_ + 1) > keys_.size()) {
    // Grow to keep the load under one half, re-inserting every transition.
    std::vector<uint64_t> old_keys = std::move(keys_);
    std::vector<int32_t> old_values = std::move(values_);
    reset_table(static_cast<size_t>(64 - shift_) + 1);
    for (size_t i = 0; i < old_keys.size(); ++i) {
      if (old_keys[i] == kEmptyKey) continue;
      const size_t slot = probe(old_keys[i]);
      keys_[slot] = old_keys[i];
      values_[slot] = old_values[i];
      ++transitions_;
    }
  }
  const uint64_t key = (static_cast<uint64_t>(id) << 8) | byte;
  const size_t slot = probe(key);
  keys_[slot] = key;
  values_[slot] = to;
  ++transitions_;
  return to;
}

const std::vector<uint64_t>* Automaton::find_mask(uint64_t owner, int32_t id) const {
  auto it = masks_.find((owner << 32) | static_cast<uint32_t>(id));
  return it == masks_.end() ? nullptr : &it->second;
}

void Automaton::store_mask(uint64_t owner, int32_t id, std::vector<uint64_t> bits) {
  if (masks_.size() >= kMaxMasks) masks_.clear();
  masks_[(owner << 32) | static_cast<uint32_t>(id)] = std::move(bits);
}

}  // namespace nucleus::grammar
