#include "sampling/grammar/grammar_state.h"

#include <algorithm>

#include "sampling/grammar/grammar_error.h"

namespace nucleus::grammar {
namespace {

using Stack = std::vector<uint32_t>;

struct Expansion {
  const CompiledGrammar& g;
  std::vector<Stack> out;
  bool can_end = false;

  // Follows rule calls and returns from `stack` until its top is a byte set
  // (then it is kept), it empties (the grammar is complete) or it gets too deep
  // (dropped). A call in tail position pushes no return address, so
  // right-recursive rules (x ::= "a" x | "") run in constant depth.
  void expand(Stack stack) {
    const auto& code = g.code();
    while (true) {
      if (stack.empty()) {
        can_end = true;
        return;
      }
      const uint32_t pos = stack.back();
      const uint32_t instr = code[pos];
      switch (op_kind(instr)) {
        case Op::kBytes:
          if (out.size() >= 4 * GrammarState::kMaxStacks) too_ambiguous();
          out.push_back(std::move(stack));
          return;
        case Op::kEnd:
          stack.pop_back();
          continue;
        case Op::kRule: {
          stack.pop_back();
          if (op_kind(code[pos + 1]) != Op::kEnd) stack.push_back(pos + 1);
          if (stack.size() >= GrammarState::kMaxDepth) return;
          const auto& starts = g.alternatives(op_index(instr));
          if (starts.empty()) return;  // a rule that matches nothing
          for (size_t i = 0; i + 1 < starts.size(); ++i) {
            Stack copy = stack;
            copy.push_back(starts[i]);
            expand(std::move(copy));
          }
          stack.push_back(starts.back());
          continue;
        }
      }
    }
  }

  [[noreturn]] void too_ambiguous() const {
    throw GrammarError("grammar too ambiguous: more than " + std::to_string(GrammarState::kMaxStacks) +
                       " parses alive at once");
  }

  // Sorted, deduplicated, flattened.
  std::vector<uint32_t> flatten() {
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    if (out.size() > GrammarState::kMaxStacks) too_ambiguous();
    std::vector<uint32_t> flat;
    size_t total = 0;
    for (const Stack& s : out) total += s.size() + 1;
    flat.reserve(total);
    for (const Stack& s : out) {
      flat.push_back(static_cast<uint32_t>(s.size()));
      flat.insert(flat.end(), s.begin(), s.end());
    }
    return flat;
  }
};

}  // namespace

GrammarState::GrammarState(std::shared_ptr<const CompiledGrammar> grammar) : grammar_(std::move(grammar)) {
  Expansion e{*grammar_, {}, false};
  for (uint32_t start : grammar_->alternatives(grammar_->root())) e.expand({start});
  stacks_ = e.flatten();
  can_end_ = e.can_end;
}

bool GrammarState::accept_byte(uint8_t byte) {
  Expansion e{*grammar_, {}, false};
  const auto& code = grammar_->code();
  for (size_t i = 0; i < stacks_.size(); i += stacks_[i] + 1) {
    const uint32_t n = stacks_[i];
    const uint32_t top = stacks_[i + n];
    if (!grammar_->byte_set(op_index(code[top])).test(byte)) continue;
    Stack s(stacks_.begin() + static_cast<ptrdiff_t>(i + 1), stacks_.begin() + static_cast<ptrdiff_t>(i + 1 + n));
    s.back() = top + 1;
    e.expand(std::move(s));
  }
  if (e.out.empty() && !e.can_end) return false;
  stacks_ = e.flatten();
  can_end_ = e.can_end;
  return true;
}

bool GrammarState::accept_bytes(std::string_view bytes) {
  GrammarState next = *this;
  for (char c : bytes) {
    if (!next.accept_byte(static_cast<uint8_t>(c))) return false;
  }
  *this = std::move(next);
  return true;
}

bool GrammarState::allows(std::string_view bytes) const {
  GrammarState copy = *this;
  return copy.accept_bytes(bytes);
}

std::vector<std::pair<uint8_t, std::optional<GrammarState>>> GrammarState::successors() const {
  const CompiledGrammar& g = *grammar_;
  const auto& code = g.code();
  // Each live stack advanced past its top byte set and expanded, once.
  struct Advanced {
    const ByteSet* top;
    std::vector<Stack> stacks;
    bool can_end;
  };
  std::vector<Advanced> advanced;
  for (size_t i = 0; i < stacks_.size(); i += stacks_[i] + 1) {
    const uint32_t n = stacks_[i];
    const uint32_t top = stacks_[i + n];
    Stack s(stacks_.begin() + static_cast<ptrdiff_t>(i + 1), stacks_.begin() + static_cast<ptrdiff_t>(i + 1 + n));
    s.back() = top + 1;
    Expansion e{g, {}, false};
    e.expand(std::move(s));
    advanced.push_back({&g.byte_set(op_index(code[top])), std::move(e.out), e.can_end});
  }
  // Classes accepted by the same stacks lead to the same state.
  std::vector<std::pair<uint8_t, std::optional<GrammarState>>> out;
  std::vector<std::pair<std::vector<uint32_t>, size_t>> by_stacks;  // accepting stacks -> index in `out`
  std::vector<uint32_t> accepting;
  for (size_t b = 0; b < 256; ++b) {
    const auto byte = static_cast<uint8_t>(b);
    if (g.class_members(g.byte_class(byte)).front() != byte) continue;  // one byte per class
    accepting.clear();
    for (size_t k = 0; k < advanced.size(); ++k) {
      if (advanced[k].top->test(byte)) accepting.push_back(static_cast<uint32_t>(k));
    }
    if (accepting.empty()) continue;
    auto same = std::find_if(by_stacks.begin(), by_stacks.end(), [&](const auto& p) { return p.first == accepting; });
    if (same != by_stacks.end()) {
      out.emplace_back(byte, out[same->second].second);
      continue;
    }
    Expansion e{g, {}, false};
    for (uint32_t k : accepting) {
      e.out.insert(e.out.end(), advanced[k].stacks.begin(), advanced[k].stacks.end());
      e.can_end = e.can_end || advanced[k].can_end;
    }
    std::optional<GrammarState> next;
    if (!e.out.empty() || e.can_end) {
      try {
        next = GrammarState(grammar_, e.flatten(), e.can_end);
      } catch (const GrammarError&) {
        continue;
      }
    }
    by_stacks.emplace_back(accepting, out.size());
    out.emplace_back(byte, std::move(next));
  }
  return out;
}

ByteSet GrammarState::next_bytes() const {
  ByteSet out;
  const auto& code = grammar_->code();
  for (size_t i = 0; i < stacks_.size(); i += stacks_[i] + 1) {
    const ByteSet& set = grammar_->byte_set(op_index(code[stacks_[i + stacks_[i]]]));
    for (size_t w = 0; w < out.bits.size(); ++w) out.bits[w] |= set.bits[w];
  }
  return out;
}

size_t GrammarState::stack_count() const {
  size_t n = 0;
  for (size_t i = 0; i < stacks_.size(); i += stacks_[i] + 1) ++n;
  return n;
}

size_t GrammarState::hash() const {
  uint64_t h = 0xcbf29ce484222325ull ^ grammar_->id() ^ (can_end_ ? 0x9e3779b97f4a7c15ull : 0);
  for (uint32_t v : stacks_) h = (h ^ v) * 0x100000001b3ull;
  return static_cast<size_t>(h);
}

}  // namespace nucleus::grammar
