#include "sampling/grammar/json_text.h"

#include "sampling/grammar/grammar_error.h"

namespace nucleus::grammar {
namespace {

bool contains(const std::vector<CodePointRange>& ranges, uint32_t cp) {
  for (auto r : ranges) {
    if (cp >= r.lo && cp <= r.hi) return true;
  }
  return false;
}

ByteSet chars(std::string_view s) {
  ByteSet set;
  for (char c : s) set.set(static_cast<uint8_t>(c));
  return set;
}

ByteSet hex_digits() {
  ByteSet set;
  set.set_range('0', '9');
  set.set_range('a', 'f');
  set.set_range('A', 'F');
  return set;
}

}  // namespace

std::string JsonText::quote(const std::string& s) { return nlohmann::json(s).dump(); }

Element JsonText::escaped_class(const std::vector<CodePointRange>& ranges) {
  std::vector<CodePointRange> raw;
  for (auto r : ranges) {
    // Split out what JSON cannot hold raw: controls, '"' and '\'.
    uint32_t lo = std::max<uint32_t>(r.lo, 0x20);
    for (uint32_t special : {uint32_t{'"'}, uint32_t{'\\'}}) {
      if (lo <= special && special <= r.hi) {
        if (lo < special) raw.push_back({lo, special - 1});
        lo = special + 1;
      }
    }
    if (lo <= r.hi) raw.push_back({lo, r.hi});
  }
  std::vector<Sequence> alternatives;
  if (!raw.empty()) alternatives.push_back({g_.code_points(raw, false)});
  static constexpr std::pair<uint32_t, char> kShort[] = {{'"', '"'},  {'\\', '\\'}, {'/', '/'},  {'\b', 'b'},
                                                         {'\f', 'f'}, {'\n', 'n'},  {'\r', 'r'}, {'\t', 't'}};
  for (auto [cp, letter] : kShort) {
    if (contains(ranges, cp)) alternatives.push_back({g_.byte('\\'), g_.byte(static_cast<uint8_t>(letter))});
  }
  for (uint32_t cp = 0; cp < 0x20; ++cp) {
    if (!contains(ranges, cp)) continue;
    Sequence seq = g_.literal("\\u00");
    seq.push_back(g_.byte(static_cast<uint8_t>('0' + (cp >> 4))));
    const uint32_t lo = cp & 15;
    ByteSet digit;
    digit.set(static_cast<uint8_t>(lo < 10 ? '0' + lo : 'a' + lo - 10));
    if (lo >= 10) digit.set(static_cast<uint8_t>('A' + lo - 10));
    seq.push_back(g_.bytes(digit));
    alternatives.push_back(std::move(seq));
  }
  if (alternatives.empty()) throw GrammarError("empty character class (it matches no character)");
  return g_.group(std::move(alternatives), "jchar");
}

Element JsonText::string_char(bool no_surrogate_escapes) {
  auto& cached = no_surrogate_escapes ? char_counted_ : char_;
  if (cached) return *cached;
  if (!hex_) hex_ = g_.bytes(hex_digits());
  const Element hex = *hex_;
  const uint32_t r = g_.new_rule(no_surrogate_escapes ? "char-counted" : "char");
  // Raw: any code point but controls, '"' and '\'.
  g_.add_alternative(r, {g_.code_points({{0, 0x1F}, {'"', '"'}, {'\\', '\\'}}, true)});
  g_.add_alternative(r, {g_.byte('\\'), g_.bytes(chars("\"\\/bfnrt"))});
  if (!no_surrogate_escapes) {
    g_.add_alternative(r, {g_.byte('\\'), g_.byte('u'), hex, hex, hex, hex});
  } else {
    ByteSet not_d;
    not_d.set_range('0', '9');
    not_d.set_range('a', 'c');
    not_d.set_range('A', 'C');
    not_d.set_range('e', 'f');
    not_d.set_range('E', 'F');
    ByteSet low_octal;
    low_octal.set_range('0', '7');
    g_.add_alternative(r, {g_.byte('\\'), g_.byte('u'), g_.bytes(not_d), hex, hex, hex});
    g_.add_alternative(r, {g_.byte('\\'), g_.byte('u'), g_.bytes(chars("dD")), g_.bytes(low_octal), hex, hex});
  }
  cached = Grammar::ref(r);
  return *cached;
}

Element JsonText::ws() {
  if (!ws_) ws_ = g_.repeat(g_.bytes(chars(" \t\n\r")), 0, kMaxJsonWhitespace, "ws");
  return *ws_;
}

Element JsonText::integer() {
  if (integer_) return *integer_;
  ByteSet d, d19;
  d.set_range('0', '9');
  d19.set_range('1', '9');
  const uint32_t r = g_.new_rule("integer");
  const Element minus = g_.repeat(g_.byte('-'), 0, 1, "minus");
  g_.add_alternative(r, {minus, g_.byte('0')});
  g_.add_alternative(r, {minus, g_.bytes(d19), g_.repeat(g_.bytes(d), 0, 19, "digits")});
  integer_ = Grammar::ref(r);
  return *integer_;
}

Element JsonText::number() {
  if (number_) return *number_;
  ByteSet d;
  d.set_range('0', '9');
  const Element frac =
      g_.repeat(g_.group({{g_.byte('.'), g_.repeat(g_.bytes(d), 1, 20, "frac")}}, "frac"), 0, 1, "frac");
  const Element sign = g_.repeat(g_.bytes(chars("-+")), 0, 1, "sign");
  const Element exp =
      g_.repeat(g_.group({{g_.bytes(chars("eE")), sign, g_.repeat(g_.bytes(d), 1, 3, "exp")}}, "exp"), 0, 1, "exp");
  const uint32_t r = g_.new_rule("number");
  g_.add_alternative(r, {integer(), frac, exp});
  number_ = Grammar::ref(r);
  return *number_;
}

Element JsonText::string() {
  if (string_) return *string_;
  const uint32_t r = g_.new_rule("string");
  g_.add_alternative(r, {g_.byte('"'), g_.repeat(string_char(), 0, std::nullopt, "chars"), g_.byte('"')});
  string_ = Grammar::ref(r);
  return *string_;
}

Element JsonText::any_value() {
  if (any_value_) return *any_value_;
  const uint32_t value = g_.new_rule("value");
  any_value_ = Grammar::ref(value);
  const Element v = *any_value_, w = ws();
  // "{" ws ( string ws ":" ws value ws ( "," ws string ws ":" ws value ws )* )? "}"
  const Element member = g_.group({{string(), w, g_.byte(':'), w, v, w}}, "member");
  const Element more_members =
      g_.repeat(g_.group({{g_.byte(','), w, member}}, "more-members"), 0, std::nullopt, "members");
  const Element members = g_.repeat(g_.group({{member, more_members}}, "members"), 0, 1, "members");
  const Element item = g_.group({{v, w}}, "item");
  const Element more_items = g_.repeat(g_.group({{g_.byte(','), w, item}}, "more-items"), 0, std::nullopt, "items");
  const Element items = g_.repeat(g_.group({{item, more_items}}, "items"), 0, 1, "items");
  g_.add_alternative(value, {g_.byte('{'), w, members, g_.byte('}')});
  g_.add_alternative(value, {g_.byte('['), w, items, g_.byte(']')});
  g_.add_alternative(value, {string()});
  g_.add_alternative(value, {number()});
  for (const char* lit : {"true", "false", "null"}) g_.add_alternative(value, g_.literal(lit));
  return v;
}

Element JsonText::exact(const nlohmann::ordered_json& value) {
  if (value.is_object()) {
    Sequence seq{g_.byte('{'), ws()};
    bool first = true;
    for (const auto& [k, v] : value.items()) {
      if (!first) seq.insert(seq.end(), {g_.byte(','), ws()});
      first = false;
      g_.append_literal(seq, quote(k));
      seq.insert(seq.end(), {ws(), g_.byte(':'), ws(), exact(v), ws()});
    }
    seq.push_back(g_.byte('}'));
    return g_.group({std::move(seq)}, "const");
  }
  if (value.is_array()) {
    Sequence seq{g_.byte('['), ws()};
    bool first = true;
    for (const auto& v : value) {
      if (!first) seq.insert(seq.end(), {g_.byte(','), ws()});
      first = false;
      seq.insert(seq.end(), {exact(v), ws()});
    }
    seq.push_back(g_.byte(']'));
    return g_.group({std::move(seq)}, "const");
  }
  return g_.group({g_.literal(value.dump())}, "const");
}

}  // namespace nucleus::grammar
