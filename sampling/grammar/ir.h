// The grammar IR that every front end (GBNF, JSON Schema, regex, choice)
// builds: rules, each a list of alternatives, each a sequence of elements; an
// element is one byte out of a set or a reference to a rule. Code-point
// classes are lowered to UTF-8 byte sequences and repetitions to rules while
// building, so the runtime (grammar_state.h) only walks bytes and rule calls.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sampling/grammar/utf8.h"

namespace nucleus::grammar {

struct ByteSet {
  std::array<uint64_t, 4> bits{};

  void set(uint8_t b) { bits[b >> 6] |= uint64_t{1} << (b & 63); }
  void set_range(uint8_t lo, uint8_t hi) {
    for (unsigned b = lo; b <= hi; ++b) set(static_cast<uint8_t>(b));
  }
  bool test(uint8_t b) const { return (bits[b >> 6] >> (b & 63)) & 1; }
  auto operator<=>(const ByteSet&) const = default;
};

struct Element {
  enum class Kind : uint8_t { kBytes, kRule };
  Kind kind = Kind::kBytes;
  uint32_t index = 0;  // into Grammar::byte_sets() or Grammar::rules()
};
using Sequence = std::vector<Element>;

struct Rule {
  std::string name;
  std::vector<Sequence> alternatives;
  bool defined = false;  // has at least one alternative given (an empty one counts)
};

class Grammar {
 public:
  // A new rule named `hint`, or `hint-N` when that name is taken.
  uint32_t new_rule(std::string_view hint);
  // The rule called `name`, created undefined on first use (GBNF forward references).
  uint32_t rule_named(std::string_view name);
  void add_alternative(uint32_t rule, Sequence seq);
  void set_root(uint32_t rule) { root_ = rule; }

  Element bytes(const ByteSet& set);
  Element byte(uint8_t b);
  static Element ref(uint32_t rule) { return {Element::Kind::kRule, rule}; }
  // The bytes of `text`, one element per byte.
  void append_literal(Sequence& seq, std::string_view text);
  Sequence literal(std::string_view text);
  // One code point out of `ranges` (or out of their complement), as UTF-8.
  Element code_points(std::vector<CodePointRange> ranges, bool negated);
  // A rule with these alternatives; a single one-element alternative is returned as is.
  Element group(std::vector<Sequence> alternatives, std::string_view hint);
  // body{min,max}; max empty: unbounded. The optional tail is nested
  // (x (x (x)?)?)? rather than x? x? x?, so a string has one parse.
  Element repeat(Element body, uint32_t min, std::optional<uint32_t> max, std::string_view hint);
  // Exactly one of `options` (byte strings), as a trie of rules so that shared
  // prefixes do not multiply the parse stacks.
  Element one_of(const std::vector<std::string>& options, std::string_view hint);

  // x* with a body that can match the empty string would let the runtime loop
  // without consuming input; compile() rewrites those bodies to their non-empty
  // part (ir_rewrite.h), so it records every star here.
  struct Star {
    uint32_t rule;
    Element body;
  };
  const std::vector<Star>& stars() const { return stars_; }
  // A rule that matches nothing (no alternatives), marked defined.
  uint32_t new_empty_rule(std::string_view hint);
  void replace_first_element(uint32_t rule, size_t alternative, Element e) {
    rules_[rule].alternatives[alternative][0] = e;
  }

  uint32_t root() const { return root_; }
  const std::vector<Rule>& rules() const { return rules_; }
  const std::vector<ByteSet>& byte_sets() const { return byte_sets_; }
  size_t size() const { return elements_; }

 private:
  std::vector<Rule> rules_;
  std::vector<Star> stars_;
  std::vector<ByteSet> byte_sets_;
  std::map<ByteSet, uint32_t> byte_set_ids_;
  std::map<std::string, uint32_t, std::less<>> names_;
  std::map<std::string, uint32_t, std::less<>> hint_counts_;
  uint32_t root_ = 0;
  size_t elements_ = 0;
};

}  // namespace nucleus::grammar
