#include "sampling/grammar/compiled_grammar.h"

#include <atomic>

#include "sampling/grammar/grammar_error.h"
#include "sampling/grammar/ir_rewrite.h"

namespace nucleus::grammar {
namespace {

std::atomic<uint64_t> next_id{1};

// The runtime expands rule calls until every stack tops on a byte; a rule that
// can call itself before consuming a byte would expand forever, so it is
// refused here, with the cycle in the message.
void check_left_recursion(const Grammar& g) {
  const auto nullable = nullable_rules(g);
  const size_t n = g.rules().size();
  std::vector<std::vector<uint32_t>> left(n);  // left[a]: rules a may call before consuming a byte
  for (size_t r = 0; r < n; ++r) {
    for (const Sequence& alt : g.rules()[r].alternatives) {
      for (Element e : alt) {
        if (e.kind != Element::Kind::kRule) break;
        left[r].push_back(e.index);
        if (!nullable[e.index]) break;
      }
    }
  }
  // Depth-first with an explicit stack (a chain of thousands of rules must
  // not recurse as deep on the compiling thread's stack).
  std::vector<uint8_t> color(n, 0);  // 0 new, 1 on the path, 2 done
  std::vector<std::pair<uint32_t, size_t>> path;  // rule, its next left[] entry to visit
  for (uint32_t start = 0; start < n; ++start) {
    if (color[start] != 0) continue;
    color[start] = 1;
    path.push_back({start, 0});
    while (!path.empty()) {
      auto& [r, i] = path.back();
      if (i == left[r].size()) {
        color[r] = 2;
        path.pop_back();
        continue;
      }
      const uint32_t next = left[r][i++];
      if (color[next] == 1) {
        std::string cycle;
        bool on = false;
        for (const auto& entry : path) {
          on = on || entry.first == next;
          if (on) cycle += g.rules()[entry.first].name + " -> ";
        }
        throw GrammarError("left recursion: rule '" + g.rules()[next].name +
                           "' can reach itself without consuming input (" + cycle + g.rules()[next].name +
                           "); rewrite it with repetition");
      }
      if (color[next] == 0) {
        color[next] = 1;
        path.push_back({next, 0});
      }
    }
  }
}

// Partitions the 256 bytes by their membership in every byte set: each set
// splits the classes it cuts in two.
void byte_classes(const std::vector<ByteSet>& sets, std::array<uint8_t, 256>& classes,
                  std::vector<std::vector<uint8_t>>& members) {
  std::vector<uint32_t> cls(256, 0);
  uint32_t count = 1;
  for (const ByteSet& set : sets) {
    // (old class, in set) -> new class; a class wholly in or out keeps its id.
    std::vector<int64_t> split(2 * count, -1);
    uint32_t next = 0;
    std::vector<uint32_t> renamed(256);
    for (int b = 0; b < 256; ++b) {
      int64_t& slot = split[2 * cls[static_cast<size_t>(b)] + (set.test(static_cast<uint8_t>(b)) ? 1 : 0)];
      if (slot < 0) slot = next++;
      renamed[static_cast<size_t>(b)] = static_cast<uint32_t>(slot);
    }
    cls = std::move(renamed);
    count = next;
  }
  members.assign(count, {});
  for (int b = 0; b < 256; ++b) {
    classes[static_cast<size_t>(b)] = static_cast<uint8_t>(cls[static_cast<size_t>(b)]);
    members[cls[static_cast<size_t>(b)]].push_back(static_cast<uint8_t>(b));
  }
}

}  // namespace

std::shared_ptr<const CompiledGrammar> CompiledGrammar::compile(const Grammar& source) {
  if (source.rules().empty()) throw GrammarError("empty grammar: no rule 'root'");
  for (const Rule& r : source.rules()) {
    if (!r.defined) throw GrammarError("undefined rule '" + r.name + "'");
  }
  Grammar g = source;
  remove_empty_loops(g);
  check_left_recursion(g);
  std::shared_ptr<CompiledGrammar> c(new CompiledGrammar());
  c->sets_ = g.byte_sets();
  byte_classes(c->sets_, c->classes_, c->members_);
  c->root_ = g.root();
  c->starts_.resize(g.rules().size());
  for (size_t r = 0; r < g.rules().size(); ++r) {
    c->names_.push_back(g.rules()[r].name);
    for (const Sequence& alt : g.rules()[r].alternatives) {
      c->starts_[r].push_back(static_cast<uint32_t>(c->code_.size()));
      for (Element e : alt) {
        c->code_.push_back(e.kind == Element::Kind::kBytes ? static_cast<uint32_t>(Op::kBytes) | e.index
                                                           : static_cast<uint32_t>(Op::kRule) | e.index);
      }
      c->code_.push_back(static_cast<uint32_t>(Op::kEnd));
    }
  }
  c->id_ = next_id.fetch_add(1);
  return c;
}

}  // namespace nucleus::grammar
