#include "sampling/grammar/automaton.h"

namespace nucleus::grammar {

// Here, where Automaton is a complete type: compiled_grammar.h only declares it,
// so that the grammar (below the runtime) does not include the runtime's headers.
CompiledGrammar::CompiledGrammar() : automaton_(std::make_unique<Automaton>()) {}
CompiledGrammar::~CompiledGrammar() = default;

void Automaton::clear() {
  states_.clear();
  first_bytes_.clear();
  ids_.clear();
  masks_.clear();
  rows_.clear();
}

int32_t Automaton::intern(const GrammarState& state) {
  auto it = ids_.find(state);
  if (it != ids_.end()) return it->second;
  const auto id = static_cast<int32_t>(states_.size());
  states_.push_back(state.non_owning());
  first_bytes_.push_back(state.next_bytes());
  rows_.emplace_back();
  ids_.emplace(states_.back(), id);
  return id;
}

int32_t Automaton::add_transition(int32_t id, uint8_t byte) {
  GrammarState next = states_[static_cast<size_t>(id)];
  const int32_t to = next.accept_byte(byte) ? intern(next) : -1;
  auto& row = rows_[static_cast<size_t>(id)];  // after intern(), which may grow rows_
  if (row.empty()) row.assign(256, kUnknown);
  row[byte] = to;
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
