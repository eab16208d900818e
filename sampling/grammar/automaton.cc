#include "sampling/grammar/automaton.h"

namespace nucleus::grammar {

// Here, where Automaton is a complete type: compiled_grammar.h only declares it,
// so that the grammar (below the runtime) does not include the runtime's headers.
CompiledGrammar::CompiledGrammar() : automaton_(std::make_unique<Automaton>(*this)) {}
CompiledGrammar::~CompiledGrammar() = default;

void Automaton::clear() {
  states_.clear();
  ids_.clear();
  transitions_.clear();
  expanded_.clear();
  masks_.clear();
  uses_.clear();
  mask_bytes_ = 0;
}

int32_t Automaton::intern(const GrammarState& state) {
  auto it = ids_.find(state);
  if (it != ids_.end()) return it->second;
  const auto id = static_cast<int32_t>(states_.size());
  states_.push_back(state.non_owning());
  ids_.emplace(states_.back(), id);
  const ByteSet first = state.next_bytes();
  transitions_.resize(transitions_.size() + 256);
  expanded_.push_back(0);
  int32_t* row = transitions_.data() + (static_cast<size_t>(id) << 8);
  for (int b = 0; b < 256; ++b) row[b] = first.test(static_cast<uint8_t>(b)) ? kUnknown : -1;
  return id;
}

int32_t Automaton::add_transition(int32_t id, uint8_t byte) {
  const auto i = static_cast<size_t>(id);
  if (!expanded_[i]) {
    expanded_[i] = 1;
    for (auto& [b, next] : states_[i].successors()) set_class(id, b, next ? intern(*next) : -1);
    const int32_t known = transitions_[(i << 8) | byte];
    if (known != kUnknown) return known;
  }
  GrammarState next = states_[i];
  const int32_t to = next.accept_byte(byte) ? intern(next) : -1;
  set_class(id, byte, to);
  return to;
}

void Automaton::set_class(int32_t id, uint8_t byte, int32_t to) {
  int32_t* row = transitions_.data() + (static_cast<size_t>(id) << 8);  // after intern(), which may grow the table
  for (uint8_t b : grammar_.class_members(grammar_.byte_class(byte))) row[b] = to;
}

const std::vector<uint64_t>* Automaton::find_mask(uint64_t owner, int32_t id) {
  auto it = masks_.find((owner << 32) | static_cast<uint32_t>(id));
  if (it == masks_.end()) return nullptr;
  uses_.splice(uses_.begin(), uses_, it->second.use);
  return &it->second.bits;
}

void Automaton::store_mask(uint64_t owner, int32_t id, std::vector<uint64_t> bits) {
  const uint64_t key = (owner << 32) | static_cast<uint32_t>(id);
  const size_t bytes = bits.size() * sizeof(uint64_t);
  while (!uses_.empty() && mask_bytes_ + bytes > kMaxMaskBytes) {
    auto victim = masks_.find(uses_.back());
    mask_bytes_ -= victim->second.bits.size() * sizeof(uint64_t);
    masks_.erase(victim);
    uses_.pop_back();
  }
  auto [it, inserted] = masks_.try_emplace(key);
  if (!inserted) {
    mask_bytes_ -= it->second.bits.size() * sizeof(uint64_t);
    uses_.erase(it->second.use);
  }
  uses_.push_front(key);
  it->second = CachedMask{std::move(bits), uses_.begin()};
  mask_bytes_ += bytes;
}

}  // namespace nucleus::grammar
