// A grammar ready to run: the IR flattened into one array of instructions
// (each alternative is its elements followed by an end marker), checked for
// undefined rules and left recursion, plus the lazily built automaton that the
// token masks share (automaton.h). Immutable after compile() except for that
// cache, which has its own lock; shared between requests by shared_ptr.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "sampling/grammar/ir.h"

namespace nucleus::grammar {

class Automaton;

// One instruction: the kind in the top two bits, an index in the rest.
enum class Op : uint32_t { kBytes = 0, kRule = 1u << 30, kEnd = 2u << 30 };
constexpr uint32_t kOpMask = 3u << 30;
inline Op op_kind(uint32_t instr) { return static_cast<Op>(instr & kOpMask); }
inline uint32_t op_index(uint32_t instr) { return instr & ~kOpMask; }

class CompiledGrammar {
 public:
  // Throws GrammarError naming an undefined rule, a left-recursive rule (which
  // the stack-based runtime could not run) or a missing root. Stars over
  // bodies that can match empty are rewritten first (ir_rewrite.h).
  static std::shared_ptr<const CompiledGrammar> compile(const Grammar& grammar);
  ~CompiledGrammar();

  const std::vector<uint32_t>& code() const { return code_; }
  const std::vector<uint32_t>& alternatives(uint32_t rule) const { return starts_[rule]; }
  const ByteSet& byte_set(uint32_t index) const { return sets_[index]; }
  // Bytes that every byte set of the grammar either contains or not, together,
  // share a class: from any state they lead to the same next state, so the
  // automaton computes one transition per class, not per byte.
  uint8_t byte_class(uint8_t byte) const { return classes_[byte]; }
  const std::vector<uint8_t>& class_members(uint8_t cls) const { return members_[cls]; }
  uint32_t root() const { return root_; }
  const std::string& rule_name(uint32_t rule) const { return names_[rule]; }
  size_t rule_count() const { return names_.size(); }
  // Unique per compiled grammar (never reused), to key caches.
  uint64_t id() const { return id_; }
  Automaton& automaton() const { return *automaton_; }

 private:
  CompiledGrammar();

  std::vector<uint32_t> code_;
  std::vector<std::vector<uint32_t>> starts_;  // starts_[rule]: where each alternative begins in code_
  std::vector<ByteSet> sets_;
  std::array<uint8_t, 256> classes_{};
  std::vector<std::vector<uint8_t>> members_;  // members_[class]: its bytes, ascending
  std::vector<std::string> names_;
  uint32_t root_ = 0;
  uint64_t id_ = 0;
  std::unique_ptr<Automaton> automaton_;
};

}  // namespace nucleus::grammar
