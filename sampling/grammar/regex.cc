#include "sampling/grammar/regex.h"

#include <string>

#include "sampling/grammar/grammar_error.h"
#include "sampling/grammar/json_text.h"

namespace nucleus::grammar {
namespace {

using Ranges = std::vector<CodePointRange>;

const Ranges kDigit = {{'0', '9'}};
const Ranges kWord = {{'0', '9'}, {'A', 'Z'}, {'_', '_'}, {'a', 'z'}};
const Ranges kSpace = {{'\t', '\r'}, {' ', ' '}};

// ASCII characters (printable, \t \n \r) outside `set`: what \D \W \S allow.
Ranges ascii_complement(const Ranges& set) {
  Ranges out;
  for (uint32_t c : {uint32_t{'\t'}, uint32_t{'\n'}, uint32_t{'\r'}}) out.push_back({c, c});
  out.push_back({0x20, 0x7E});
  Ranges result;
  for (auto r : normalize_ranges(out, false)) {
    for (uint32_t c = r.lo; c <= r.hi; ++c) {
      bool in = false;
      for (auto s : set) in = in || (c >= s.lo && c <= s.hi);
      if (!in) result.push_back({c, c});
    }
  }
  return normalize_ranges(result, false);
}

int hex_value(uint32_t c) {
  if (c >= '0' && c <= '9') return static_cast<int>(c - '0');
  if (c >= 'a' && c <= 'f') return static_cast<int>(c - 'a' + 10);
  if (c >= 'A' && c <= 'F') return static_cast<int>(c - 'A' + 10);
  return -1;
}

class RegexParser {
 public:
  RegexParser(Grammar& g, std::string_view pattern, const RegexOptions& options)
      : g_(g), json_(g), options_(options), pattern_(pattern) {
    for (size_t pos = 0; pos < pattern.size();) cps_.push_back(decode_utf8(pattern, pos, "regex"));
  }

  Element parse() {
    bool anchored_start = false, anchored_end = false;
    const size_t end = cps_.size();
    end_ = end;
    if (end > 0 && cps_[0] == '^') {
      anchored_start = true;
      pos_ = 1;
    }
    // A final '$' is an anchor unless escaped (an odd run of backslashes before it).
    if (end > pos_ && cps_[end - 1] == '$') {
      size_t slashes = 0;
      while (end - 1 - slashes > 0 && cps_[end - 2 - slashes] == '\\') ++slashes;
      if (slashes % 2 == 0) {
        anchored_end = true;
        end_ = end - 1;
      }
    }
    auto alternatives = parse_alternatives();
    if (pos_ < end_) fail("unmatched ')'");
    Element body = g_.group(std::move(alternatives), "regex");
    if (!options_.search) return body;
    Sequence seq;
    const Element any = options_.json_string ? json_.string_char() : g_.code_points({}, true);
    if (!anchored_start) seq.push_back(g_.repeat(any, 0, std::nullopt, "any"));
    seq.push_back(body);
    if (!anchored_end) seq.push_back(g_.repeat(any, 0, std::nullopt, "any"));
    return g_.group({std::move(seq)}, "search");
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw GrammarError("regex: " + what + " at offset " + std::to_string(pos_) + " in '" + std::string(pattern_) + "'");
  }
  bool eof() const { return pos_ >= end_; }
  uint32_t peek(size_t ahead = 0) const { return pos_ + ahead < end_ ? cps_[pos_ + ahead] : 0; }
  bool at(std::string_view s) const {
    for (size_t i = 0; i < s.size(); ++i) {
      if (peek(i) != static_cast<uint8_t>(s[i]) || pos_ + i >= end_) return false;
    }
    return true;
  }

  Element chars(const Ranges& ranges, bool negated = false) {
    const Ranges normal = normalize_ranges(ranges, negated);
    if (normal.empty()) fail("empty character class");
    return options_.json_string ? json_.escaped_class(normal) : g_.code_points(normal, false);
  }

  std::vector<Sequence> parse_alternatives() {
    std::vector<Sequence> alternatives;
    while (true) {
      alternatives.push_back(parse_sequence());
      if (eof() || peek() != '|') return alternatives;
      ++pos_;
    }
  }

  Sequence parse_sequence() {
    Sequence seq;
    while (!eof() && peek() != '|' && peek() != ')') {
      Element atom = parse_atom();
      seq.push_back(parse_quantifiers(atom));
    }
    return seq;
  }

  Element parse_atom() {
    const uint32_t c = peek();
    switch (c) {
      case '(':
        return parse_group();
      case '[':
        return parse_class();
      case '.':
        ++pos_;
        return chars({{'\n', '\n'}}, true);
      case '\\':
        return parse_escape_atom();
      case '^':
        fail("anchor '^' is only supported at the start of the pattern");
      case '$':
        fail("anchor '$' is only supported at the end of the pattern");
      case '*':
      case '+':
      case '?':
        fail("nothing to repeat before '" + std::string(1, static_cast<char>(c)) + "'");
      case '{':
        if (quantifier_ahead()) fail("nothing to repeat before '{'");
        [[fallthrough]];
      default:
        ++pos_;
        return chars({{c, c}});
    }
  }

  Element parse_group() {
    ++pos_;
    if (peek() == '?') {
      if (at("?:")) {
        pos_ += 2;
      } else if (at("?P<") || (at("?<") && peek(2) != '=' && peek(2) != '!')) {
        while (!eof() && peek() != '>') ++pos_;
        ++pos_;
      } else if (at("?=") || at("?!") || at("?<=") || at("?<!")) {
        const size_t n = at("?<") ? 3 : 2;
        std::string what = "(";
        for (size_t i = 0; i < n; ++i) what += static_cast<char>(peek(i));
        fail("lookaround '" + what + "' is not supported");
      } else if (at("?P=")) {
        fail("backreference '(?P=' is not supported");
      } else {
        fail("inline flags or group extension '(?" + std::string(1, static_cast<char>(peek(1))) +
             "' are not supported");
      }
    }
    if (++depth_ > kMaxGroupDepth) fail("groups nested deeper than " + std::to_string(kMaxGroupDepth));
    auto alternatives = parse_alternatives();
    if (eof() || peek() != ')') fail("missing ')'");
    ++pos_;
    --depth_;
    return g_.group(std::move(alternatives), "group");
  }

  // \d \w \s and their negations; false when `c` is not one of them.
  bool shorthand(uint32_t c, Ranges& out) const {
    const Ranges* set = nullptr;
    switch (c) {
      case 'd':
      case 'D':
        set = &kDigit;
        break;
      case 'w':
      case 'W':
        set = &kWord;
        break;
      case 's':
      case 'S':
        set = &kSpace;
        break;
      default:
        return false;
    }
    const Ranges add = (c >= 'a') ? *set : ascii_complement(*set);
    out.insert(out.end(), add.begin(), add.end());
    return true;
  }

  // The code point of a single-character escape after '\' (pos_ on the letter).
  uint32_t escaped_char() {
    const uint32_t e = peek();
    ++pos_;
    switch (e) {
      case 'n':
        return '\n';
      case 't':
        return '\t';
      case 'r':
        return '\r';
      case 'f':
        return '\f';
      case 'v':
        return '\v';
      case '0':
        return 0;
      case 'x':
        return hex(2);
      case 'u':
        return hex(4);
      case 'U':
        return hex(8);
      default:
        break;
    }
    --pos_;
    if (e >= '1' && e <= '9') fail("backreference '\\" + std::string(1, static_cast<char>(e)) + "' is not supported");
    if (e == 'b' || e == 'B') fail("word boundary '\\" + std::string(1, static_cast<char>(e)) + "' is not supported");
    if (e == 'A' || e == 'Z' || e == 'z' || e == 'G') {
      fail("anchor '\\" + std::string(1, static_cast<char>(e)) + "' is not supported; use ^ and $");
    }
    if (e == 'k') fail("backreference '\\k' is not supported");
    if (e == 'p' || e == 'P')
      fail("Unicode property '\\" + std::string(1, static_cast<char>(e)) + "' is not supported");
    if ((e >= 'a' && e <= 'z') || (e >= 'A' && e <= 'Z')) {
      fail("unknown escape '\\" + std::string(1, static_cast<char>(e)) + "'");
    }
    if (eof()) fail("trailing '\\'");
    ++pos_;
    return e;
  }

  uint32_t hex(int digits) {
    uint32_t v = 0;
    for (int i = 0; i < digits; ++i) {
      const int h = hex_value(peek());
      if (h < 0 || eof()) fail("expected " + std::to_string(digits) + " hex digits");
      v = v * 16 + static_cast<uint32_t>(h);
      ++pos_;
    }
    if (v > kMaxCodePoint || (v >= 0xD800 && v <= 0xDFFF)) fail("escape is not a Unicode scalar value");
    return v;
  }

  Element parse_escape_atom() {
    ++pos_;
    if (eof()) fail("trailing '\\'");
    Ranges ranges;
    if (shorthand(peek(), ranges)) {
      ++pos_;
      return chars(ranges);
    }
    const uint32_t c = escaped_char();
    return chars({{c, c}});
  }

  Element parse_class() {
    ++pos_;
    const bool negated = peek() == '^';
    if (negated) ++pos_;
    Ranges ranges;
    bool first = true;
    while (true) {
      if (eof()) fail("missing ']'");
      if (peek() == ']' && !first) break;
      first = false;
      uint32_t lo;
      if (peek() == '\\') {
        ++pos_;
        if (shorthand(peek(), ranges)) {
          ++pos_;
          continue;
        }
        lo = peek() == 'b' ? (++pos_, uint32_t{'\b'}) : escaped_char();
      } else {
        lo = peek();
        ++pos_;
      }
      uint32_t hi = lo;
      if (peek() == '-' && peek(1) != ']' && pos_ + 1 < end_) {
        ++pos_;
        if (peek() == '\\') {
          ++pos_;
          hi = escaped_char();
        } else {
          hi = peek();
          ++pos_;
        }
        if (hi < lo) fail("character range out of order");
      }
      ranges.push_back({lo, hi});
    }
    ++pos_;
    return chars(ranges, negated);
  }

  // Whether a '{' at pos_ starts {m}, {m,}, {m,n} or {,n} (else Python reads it as a literal).
  bool quantifier_ahead() const {
    size_t i = 1;
    bool digits = false;
    while (peek(i) >= '0' && peek(i) <= '9') ++i, digits = true;
    if (peek(i) == '}') return digits;
    if (peek(i) != ',') return false;
    ++i;
    bool digits2 = false;
    while (peek(i) >= '0' && peek(i) <= '9') ++i, digits2 = true;
    return peek(i) == '}' && (digits || digits2);
  }

  uint32_t number() {
    uint64_t n = 0;
    while (peek() >= '0' && peek() <= '9' && !eof()) {
      n = n * 10 + (peek() - '0');
      if (n > 100000) fail("repetition count too large");
      ++pos_;
    }
    return static_cast<uint32_t>(n);
  }

  Element parse_quantifiers(Element atom) {
    while (!eof()) {
      const uint32_t c = peek();
      uint32_t min = 0;
      std::optional<uint32_t> max;
      if (c == '*') {
        ++pos_;
      } else if (c == '+') {
        ++pos_;
        min = 1;
      } else if (c == '?') {
        ++pos_;
        max = 1;
      } else if (c == '{' && quantifier_ahead()) {
        ++pos_;
        min = number();
        if (peek() == ',') {
          ++pos_;
          if (peek() != '}') max = number();
        } else {
          max = min;
        }
        ++pos_;  // '}'
      } else {
        return atom;
      }
      if (peek() == '?' && !eof()) ++pos_;  // lazy: the same language
      if (peek() == '+' && !eof()) fail("possessive quantifier is not supported");
      atom = g_.repeat(atom, min, max, "rep");
      if (!eof() && (peek() == '*' || peek() == '+' || peek() == '?')) fail("multiple repeat");
    }
    return atom;
  }

  Grammar& g_;
  JsonText json_;
  RegexOptions options_;
  std::string_view pattern_;
  std::vector<uint32_t> cps_;
  size_t pos_ = 0;
  int depth_ = 0;  // groups open at pos_
  size_t end_ = 0;
};

}  // namespace

Element add_regex(Grammar& g, std::string_view pattern, const RegexOptions& options) {
  return RegexParser(g, pattern, options).parse();
}

std::shared_ptr<const CompiledGrammar> compile_regex(std::string_view pattern) {
  Grammar g;
  const uint32_t root = g.new_rule("root");
  g.add_alternative(root, {add_regex(g, pattern, {})});
  g.set_root(root);
  return CompiledGrammar::compile(g);
}

}  // namespace nucleus::grammar
