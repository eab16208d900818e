#include "sampling/grammar/ir_rewrite.h"

#include <optional>
#include <unordered_map>

namespace nucleus::grammar {

std::vector<bool> nullable_rules(const Grammar& g) {
  std::vector<bool> nullable(g.rules().size(), false);
  for (bool changed = true; changed;) {
    changed = false;
    for (size_t r = 0; r < g.rules().size(); ++r) {
      if (nullable[r]) continue;
      for (const Sequence& alt : g.rules()[r].alternatives) {
        bool all = true;
        for (Element e : alt) all = all && e.kind == Element::Kind::kRule && nullable[e.index];
        if (all) {
          nullable[r] = changed = true;
          break;
        }
      }
    }
  }
  return nullable;
}

namespace {

class NonEmpty {
 public:
  NonEmpty(Grammar& g, std::vector<bool> nullable) : g_(g), nullable_(std::move(nullable)) {}

  // The element matching what `e` matches minus the empty string (a rule with no
  // alternatives when that is nothing).
  Element of(Element e) {
    if (e.kind == Element::Kind::kBytes || !nullable_[e.index]) return e;
    auto it = memo_.find(e.index);
    if (it != memo_.end()) return Grammar::ref(it->second);
    const uint32_t r = g_.new_empty_rule(g_.rules()[e.index].name + "-nonempty");
    nullable_.push_back(false);
    memo_.emplace(e.index, r);
    const std::vector<Sequence> alternatives = g_.rules()[e.index].alternatives;  // copy: g_ grows below
    for (const Sequence& alt : alternatives) {
      for (Sequence& s : of_sequence(alt, 0)) g_.add_alternative(r, std::move(s));
    }
    return Grammar::ref(r);
  }

 private:
  std::vector<Sequence> of_sequence(const Sequence& seq, size_t from) {
    std::vector<Sequence> out;
    if (from == seq.size()) return out;
    const Element first = seq[from];
    Sequence s{of(first)};
    s.insert(s.end(), seq.begin() + static_cast<ptrdiff_t>(from + 1), seq.end());
    out.push_back(std::move(s));
    if (first.kind == Element::Kind::kRule && nullable_[first.index]) {
      for (Sequence& rest : of_sequence(seq, from + 1)) out.push_back(std::move(rest));
    }
    return out;
  }

  Grammar& g_;
  std::vector<bool> nullable_;
  std::unordered_map<uint32_t, uint32_t> memo_;
};

}  // namespace

void remove_empty_loops(Grammar& g) {
  const auto nullable = nullable_rules(g);
  NonEmpty non_empty(g, nullable);
  const std::vector<Grammar::Star> stars = g.stars();
  for (const auto& star : stars) {
    if (star.body.kind == Element::Kind::kRule && nullable[star.body.index]) {
      g.replace_first_element(star.rule, 0, non_empty.of(star.body));
    }
  }
}

}  // namespace nucleus::grammar
