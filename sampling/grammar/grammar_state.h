// Where a generation is in its grammar: a pushdown automaton over bytes, run
// as a set of stacks (llama.cpp's approach). Each stack is a list of positions
// in the compiled code, the top always on a byte-set instruction; the stacks
// are the parses still alive, kept sorted and deduplicated in one flat buffer,
// so a copy is one allocation (the engine snapshots a state before a
// speculative draft and rolls back by assignment) and two states compare and
// hash by that buffer.
//
// Limits, so that no grammar can hang the engine:
//   - a stack deeper than kMaxDepth is dropped (for JSON: nesting beyond ~100
//     levels is refused, as today's json_grammar refuses depth 64);
//   - more than kMaxStacks live parses after a byte (a very ambiguous grammar)
//     throws GrammarError rather than growing without bound.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <utility>
#include <string_view>
#include <vector>

#include "sampling/grammar/compiled_grammar.h"

namespace nucleus::grammar {

class GrammarState {
 public:
  static constexpr size_t kMaxDepth = 512;
  static constexpr size_t kMaxStacks = 2048;

  // The state before the first byte.
  explicit GrammarState(std::shared_ptr<const CompiledGrammar> grammar);

  // Consumes `byte`; false when the grammar does not allow it here, and then the
  // state is unchanged.
  bool accept_byte(uint8_t byte);
  // All of `bytes`, or nothing: false (state unchanged) when one is refused.
  bool accept_bytes(std::string_view bytes);
  // Whether `bytes` could be accepted, without changing the state.
  bool allows(std::string_view bytes) const;

  // Exactly the bytes accept_byte would accept now: the union of the byte sets
  // on top of the live stacks.
  ByteSet next_bytes() const;

  // What accept_byte does for each class of bytes (CompiledGrammar::byte_class)
  // that some stack's top accepts, as (a byte of the class, the next state, or
  // nullopt when the byte is refused after all). Each stack is expanded once,
  // and classes that the same stacks accept share one result, where calling
  // accept_byte per class would expand every stack again for each of ~50
  // classes. A class whose state would be too ambiguous is left out (for
  // accept_byte to throw if that byte is ever taken).
  std::vector<std::pair<uint8_t, std::optional<GrammarState>>> successors() const;

  // The text so far is a complete match: end-of-generation may come here.
  bool can_end() const { return can_end_; }
  // No byte can follow (only ending, if can_end()).
  bool no_more_bytes() const { return stacks_.empty(); }
  // Neither a byte nor the end is possible (the grammar matches nothing).
  bool is_dead() const { return stacks_.empty() && !can_end_; }

  const CompiledGrammar& grammar() const { return *grammar_; }
  const std::shared_ptr<const CompiledGrammar>& grammar_ptr() const { return grammar_; }
  // [n, positions..., n, positions..., ...]: the live stacks, bottom first, sorted.
  const std::vector<uint32_t>& stacks() const { return stacks_; }
  size_t stack_count() const;

  bool operator==(const GrammarState& other) const {
    return grammar_ == other.grammar_ && can_end_ == other.can_end_ && stacks_ == other.stacks_;
  }
  size_t hash() const;

 private:
  // The automaton keeps copies of states inside the grammar they point to; its
  // copies hold a non-owning pointer, or the grammar would own itself and leak.
  friend class Automaton;
  GrammarState non_owning() const {
    GrammarState copy = *this;
    copy.grammar_ = std::shared_ptr<const CompiledGrammar>(std::shared_ptr<const CompiledGrammar>(), grammar_.get());
    return copy;
  }

  GrammarState(std::shared_ptr<const CompiledGrammar> grammar, std::vector<uint32_t> stacks, bool can_end)
      : grammar_(std::move(grammar)), stacks_(std::move(stacks)), can_end_(can_end) {}

  std::shared_ptr<const CompiledGrammar> grammar_;
  std::vector<uint32_t> stacks_;
  bool can_end_ = false;
};

}  // namespace nucleus::grammar
