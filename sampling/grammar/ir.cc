#include "sampling/grammar/ir.h"

#include <algorithm>

#include "sampling/grammar/grammar_error.h"

namespace nucleus::grammar {
namespace {

// Rough cap on the size of a grammar (elements across all rules) so that a
// schema like {"maxLength": 100000000} fails fast instead of eating memory.
constexpr size_t kMaxElements = size_t{1} << 21;

}  // namespace

uint32_t Grammar::new_rule(std::string_view hint) {
  std::string name(hint.empty() ? "r" : hint);
  if (names_.count(name)) {
    uint32_t& n = hint_counts_[name];
    std::string candidate;
    do candidate = name + "-" + std::to_string(++n);
    while (names_.count(candidate));
    name = candidate;
  }
  const auto id = static_cast<uint32_t>(rules_.size());
  rules_.push_back({name, {}, false});
  names_.emplace(name, id);
  return id;
}

uint32_t Grammar::rule_named(std::string_view name) {
  auto it = names_.find(name);
  if (it != names_.end()) return it->second;
  const auto id = static_cast<uint32_t>(rules_.size());
  rules_.push_back({std::string(name), {}, false});
  names_.emplace(std::string(name), id);
  return id;
}

void Grammar::add_alternative(uint32_t rule, Sequence seq) {
  elements_ += seq.size() + 1;
  if (elements_ > kMaxElements) {
    throw GrammarError("grammar too large: more than " + std::to_string(kMaxElements) +
                       " elements (a repetition count or length bound too big?)");
  }
  rules_[rule].alternatives.push_back(std::move(seq));
  rules_[rule].defined = true;
}

uint32_t Grammar::new_empty_rule(std::string_view hint) {
  const uint32_t r = new_rule(hint);
  rules_[r].defined = true;
  return r;
}

Element Grammar::bytes(const ByteSet& set) {
  auto [it, inserted] = byte_set_ids_.emplace(set, static_cast<uint32_t>(byte_sets_.size()));
  if (inserted) byte_sets_.push_back(set);
  return {Element::Kind::kBytes, it->second};
}

Element Grammar::byte(uint8_t b) {
  ByteSet set;
  set.set(b);
  return bytes(set);
}

void Grammar::append_literal(Sequence& seq, std::string_view text) {
  for (char c : text) seq.push_back(byte(static_cast<uint8_t>(c)));
}

Sequence Grammar::literal(std::string_view text) {
  Sequence seq;
  append_literal(seq, text);
  return seq;
}

Element Grammar::code_points(std::vector<CodePointRange> ranges, bool negated) {
  const auto sequences = utf8_sequences(normalize_ranges(std::move(ranges), negated));
  // All one-byte sequences merge into one set; longer ones become alternatives.
  ByteSet ascii;
  bool any_ascii = false;
  std::vector<Sequence> alternatives;
  for (const auto& seq : sequences) {
    if (seq.size() == 1) {
      ascii.set_range(seq[0].lo, seq[0].hi);
      any_ascii = true;
      continue;
    }
    Sequence s;
    for (ByteRange r : seq) {
      ByteSet set;
      set.set_range(r.lo, r.hi);
      s.push_back(bytes(set));
    }
    alternatives.push_back(std::move(s));
  }
  if (any_ascii) alternatives.insert(alternatives.begin(), Sequence{bytes(ascii)});
  if (alternatives.empty()) throw GrammarError("empty character class (it matches no character)");
  return group(std::move(alternatives), "char");
}

Element Grammar::group(std::vector<Sequence> alternatives, std::string_view hint) {
  if (alternatives.size() == 1 && alternatives[0].size() == 1) return alternatives[0][0];
  const uint32_t r = new_rule(hint);
  for (auto& alt : alternatives) add_alternative(r, std::move(alt));
  return ref(r);
}

Element Grammar::repeat(Element body, uint32_t min, std::optional<uint32_t> max, std::string_view hint) {
  if (max && *max < min) {
    throw GrammarError("repetition {" + std::to_string(min) + "," + std::to_string(*max) + "}: max below min");
  }
  if (min > kMaxElements || (max && *max > kMaxElements)) {
    throw GrammarError("repetition count too large: " + std::to_string(max ? *max : min));
  }
  // The optional tail: x* as star ::= x star | "", or x{0,k} as nested options.
  std::optional<Element> tail;
  const std::string name = std::string(hint) + (max ? "-rep" : "-star");
  if (!max) {
    const uint32_t star = new_rule(name);
    add_alternative(star, {body, ref(star)});
    add_alternative(star, {});
    stars_.push_back({star, body});
    tail = ref(star);
  } else {
    for (uint32_t k = 0; k < *max - min; ++k) {
      const uint32_t opt = new_rule(name);
      add_alternative(opt, tail ? Sequence{body, *tail} : Sequence{body});
      add_alternative(opt, {});
      tail = ref(opt);
    }
  }
  if (min == 1 && max && *max == 1) return body;
  Sequence seq(min, body);
  if (tail) seq.push_back(*tail);
  if (seq.size() == 1) return seq[0];
  const uint32_t r = new_rule(std::string(hint) + "-rep");
  add_alternative(r, std::move(seq));
  return ref(r);
}

Element Grammar::one_of(const std::vector<std::string>& options, std::string_view hint) {
  std::vector<std::string> sorted = options;
  std::sort(sorted.begin(), sorted.end());
  sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
  if (sorted.empty()) throw GrammarError("a choice needs at least one option");
  // build(lo, hi, depth): the rule for the suffixes from `depth` of sorted[lo, hi),
  // which all share their first `depth` bytes.
  const auto build = [&](auto& self, size_t lo, size_t hi, size_t depth) -> Element {
    std::vector<Sequence> alternatives;
    size_t i = lo;
    if (sorted[i].size() == depth) {
      alternatives.push_back({});
      ++i;
    }
    while (i < hi) {
      const char c = sorted[i][depth];
      size_t j = i;
      while (j < hi && sorted[j][depth] == c) ++j;
      // Walk down while a single branch continues, to keep the chain in one sequence.
      size_t end = depth + 1;
      while (sorted[i].size() > end && sorted[j - 1].size() > end && sorted[i][end] == sorted[j - 1][end] &&
             sorted[i].size() != end) {
        bool all = true;
        for (size_t k = i; k < j && all; ++k) all = sorted[k].size() > end && sorted[k][end] == sorted[i][end];
        if (!all) break;
        ++end;
      }
      Sequence seq = literal(std::string_view(sorted[i]).substr(depth, end - depth));
      bool terminal_only = j - i == 1 && sorted[i].size() == end;
      if (!terminal_only) seq.push_back(self(self, i, j, end));
      alternatives.push_back(std::move(seq));
      i = j;
    }
    const uint32_t r = new_rule(hint);
    for (auto& alt : alternatives) add_alternative(r, std::move(alt));
    return ref(r);
  };
  return build(build, 0, sorted.size(), 0);
}

}  // namespace nucleus::grammar
