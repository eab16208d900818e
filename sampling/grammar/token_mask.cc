#include "sampling/grammar/token_mask.h"

#include <algorithm>
#include <atomic>

#include "sampling/grammar/automaton.h"

namespace nucleus::grammar {
namespace {

std::atomic<uint64_t> next_owner{1};

}  // namespace

GrammarTokenMask::GrammarTokenMask(const Vocabulary& vocab)
    : rows_(vocab.rows > 0 ? vocab.rows : static_cast<int32_t>(vocab.tokens.size())), owner_(next_owner.fetch_add(1)) {
  const auto n = static_cast<int32_t>(std::min<size_t>(vocab.tokens.size(), static_cast<size_t>(rows_)));
  std::vector<uint8_t> excluded(static_cast<size_t>(n), 0);
  for (int32_t id : vocab.never_allowed) {
    if (id >= 0 && id < n) excluded[static_cast<size_t>(id)] = 1;
  }
  for (int32_t id : vocab.end_of_generation) {
    if (id >= 0 && id < rows_) end_ids_.push_back(id);
    if (id >= 0 && id < n) excluded[static_cast<size_t>(id)] = 1;
  }
  std::vector<int32_t> plain;
  for (int32_t id = 0; id < n; ++id) {
    if (!excluded[static_cast<size_t>(id)] && !vocab.tokens[static_cast<size_t>(id)].empty()) plain.push_back(id);
  }
  trie_ = TokenTrie::build(sampling::SortedVocabulary::build(
      std::move(plain), [&](int32_t id) -> const std::string& { return vocab.tokens[static_cast<size_t>(id)]; }));
}

void GrammarTokenMask::compute(Automaton& automaton, int32_t start, std::vector<uint64_t>& bits) const {
  // state[d]: the automaton state after the first d bytes of the current path.
  std::vector<int32_t> state(trie_.max_depth + 1);
  state[0] = start;
  const TokenTrie::Node* nodes = trie_.nodes.data();
  const size_t n = trie_.size();
  for (size_t i = 0; i < n;) {
    const TokenTrie::Node& node = nodes[i];
    const int32_t next = automaton.next(state[node.depth], node.byte);
    if (next < 0) {
      i = node.subtree_end;
      continue;
    }
    state[node.depth + 1u] = next;
    for (uint32_t t = node.terminal_begin; t < nodes[i + 1].terminal_begin; ++t) {
      const auto id = static_cast<size_t>(trie_.terminals[t]);
      bits[id >> 6] |= uint64_t{1} << (id & 63);
    }
    ++i;
  }
  if (automaton.can_end(start)) {
    for (int32_t id : end_ids_) bits[static_cast<size_t>(id) >> 6] |= uint64_t{1} << (id & 63);
  }
}

void GrammarTokenMask::fill(const GrammarState& state, std::vector<uint8_t>& mask) const {
  mask.assign(static_cast<size_t>(rows_), 0);
  Automaton& automaton = state.grammar().automaton();
  std::lock_guard lock(automaton.mutex());
  if (automaton.size() > Automaton::kMaxStates) automaton.clear();
  const int32_t start = automaton.intern(state);
  const std::vector<uint64_t>* bits = automaton.find_mask(owner_, start);
  if (bits == nullptr) {
    std::vector<uint64_t> computed((static_cast<size_t>(rows_) + 63) / 64, 0);
    compute(automaton, start, computed);
    automaton.store_mask(owner_, start, std::move(computed));
    bits = automaton.find_mask(owner_, start);
  }
  for (size_t w = 0; w < bits->size(); ++w) {
    for (uint64_t word = (*bits)[w]; word != 0; word &= word - 1) {
      mask[w * 64 + static_cast<size_t>(__builtin_ctzll(word))] = 1;
    }
  }
}

}  // namespace nucleus::grammar
