#include "sampling/grammar/number_range.h"

#include <charconv>
#include <cmath>
#include <string>
#include <string_view>

#include "sampling/grammar/grammar_error.h"
#include "sampling/grammar/int_range.h"

namespace nucleus::grammar {
namespace {

// Fraction digits, as JsonText::number allows.
constexpr uint32_t kMaxFractionDigits = 20;

// A value >= 0 as the shortest decimal that reads back as its double:
// whole.frac, frac without trailing zeros.
struct Decimal {
  int64_t whole = 0;
  std::string frac;
};

Decimal decimal_of(double v) {
  if (v == 0) v = 0;  // -0.0 prints as "-0"
  char buf[1100];     // the longest shortest fixed form of a double below 1e15 (a subnormal's ~330 digits) fits
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed);
  if (ec != std::errc()) throw GrammarError("number bound cannot be written as a decimal");
  const std::string_view text(buf, end - buf);
  const size_t dot = text.find('.');
  Decimal d;
  d.whole = std::stoll(std::string(text.substr(0, dot)));
  if (dot != std::string_view::npos) d.frac = std::string(text.substr(dot + 1));
  while (!d.frac.empty() && d.frac.back() == '0') d.frac.pop_back();
  return d;
}

// The remaining digits of a bound's fraction, or no bound. (Not an
// std::optional<std::string_view>: GCC 12 at -O1 warns it may be read
// uninitialized, which -Werror makes a failed sanitizer build.)
struct Bound {
  bool set = false;
  std::string_view digits;
  static Bound of(std::string_view d) { return {true, d}; }
};

class DecimalBuilder {
 public:
  explicit DecimalBuilder(Grammar& g) : g_(g) {}

  // The non-negative numbers from `lo` (excluded when strict) to `hi`
  // (included; absent: unbounded), after `prefix`, as alternatives split by
  // the integer part so that a string has one parse.
  void non_negative(const Decimal& lo, bool strict, const std::optional<Decimal>& hi, const Sequence& prefix,
                    std::vector<Sequence>& out) {
    const auto add = [&](Element whole, std::optional<Element> fraction) {
      if (!fraction) return;
      Sequence seq = prefix;
      seq.push_back(whole);
      seq.push_back(*fraction);
      out.push_back(std::move(seq));
    };
    if (hi && lo.whole == hi->whole) {
      add(literal_integer(lo.whole), fraction(Bound::of(lo.frac), strict, Bound::of(hi->frac)));
      return;
    }
    add(literal_integer(lo.whole), fraction(Bound::of(lo.frac), strict, Bound{}));
    std::optional<int64_t> below_hi;
    if (hi) below_hi = hi->whole - 1;
    if (!below_hi || lo.whole + 1 <= *below_hi) {
      add(integer_range(g_, lo.whole + 1, below_hi), fraction(Bound{}, false, Bound{}));
    }
    if (hi) add(literal_integer(hi->whole), fraction(Bound{}, false, Bound::of(hi->frac)));
  }

 private:
  Element digits(char lo, char hi) {
    ByteSet set;
    set.set_range(static_cast<uint8_t>(lo), static_cast<uint8_t>(hi));
    return g_.bytes(set);
  }

  Element literal_integer(int64_t v) { return g_.group({g_.literal(std::to_string(v))}, "whole"); }

  // Nothing, or "." and 1 to kMaxFractionDigits digits D, with 0.D between
  // 0.lo (excluded when strict) and 0.hi; absent when no such fraction exists.
  std::optional<Element> fraction(Bound lo, bool strict, Bound hi) {
    bool empty_ok = false;
    std::vector<Sequence> alternatives;
    std::vector<Sequence> digit_strings = fraction_digits(lo, strict, hi, kMaxFractionDigits, empty_ok);
    if (empty_ok) alternatives.push_back({});
    if (!digit_strings.empty()) alternatives.push_back({g_.byte('.'), g_.group(std::move(digit_strings), "frac")});
    if (alternatives.empty()) return std::nullopt;
    return g_.group(std::move(alternatives), "frac");
  }

  // The non-empty digit strings D of at most `room` digits with 0.D between
  // 0.lo (excluded when strict) and 0.hi, one alternative per first digit
  // class; `empty_ok` says whether D may also be empty (value 0 from here).
  std::vector<Sequence> fraction_digits(Bound lo, bool strict, Bound hi, uint32_t room, bool& empty_ok) {
    if (lo.set && lo.digits.empty() && !strict) lo = Bound{};  // ">= 0" bounds nothing
    empty_ok = !lo.set;  // an empty D is 0: below any lo left, never above hi
    std::vector<Sequence> out;
    if (room == 0) return out;
    const auto tail = [&](Bound lo2, Bound hi2) -> std::optional<Element> {
      bool tail_empty_ok = false;
      std::vector<Sequence> alternatives = fraction_digits(lo2, strict, hi2, room - 1, tail_empty_ok);
      if (tail_empty_ok) alternatives.push_back({});
      if (alternatives.empty()) return std::nullopt;
      return g_.group(std::move(alternatives), "frac-digits");
    };
    const auto rest = [](Bound b) { return Bound::of(b.digits.empty() ? b.digits : b.digits.substr(1)); };
    const auto add = [&](char from, char to, std::optional<Element> after) {
      if (!after) return;
      out.push_back({digits(from, to), *after});
    };
    const char l0 = lo.set && !lo.digits.empty() ? lo.digits.front() : '0';
    const char h0 = !hi.set ? '9' : hi.digits.empty() ? '0' : hi.digits.front();
    if (l0 > h0) return out;
    if (lo.set && hi.set && l0 == h0) {
      add(l0, l0, tail(rest(lo), rest(hi)));
      return out;
    }
    if (lo.set) add(l0, l0, tail(rest(lo), Bound{}));
    const char mid_lo = lo.set ? static_cast<char>(l0 + 1) : l0;
    const char mid_hi = hi.set ? static_cast<char>(h0 - 1) : h0;
    if (mid_lo <= mid_hi) {
      if (room == 1) {
        out.push_back({digits(mid_lo, mid_hi)});
      } else {
        out.push_back({digits(mid_lo, mid_hi), g_.repeat(digits('0', '9'), 0, room - 1, "frac-digits")});
      }
    }
    if (hi.set) add(h0, h0, tail(Bound{}, rest(hi)));
    return out;
  }

  Grammar& g_;
};

}  // namespace

Element number_range(Grammar& g, std::optional<double> lo, std::optional<double> hi) {
  for (const auto& b : {lo, hi}) {
    if (b && !(std::fabs(*b) <= kMaxNumberBound)) {
      throw GrammarError("number bound " + std::to_string(*b) + " is beyond the supported magnitude 1e15");
    }
  }
  if (lo && hi && *lo > *hi) throw GrammarError("no number satisfies the bounds");
  DecimalBuilder b(g);
  std::vector<Sequence> alternatives;
  if (!hi || *hi >= 0) {  // from max(lo, 0) to hi
    const Decimal from = lo && *lo > 0 ? decimal_of(*lo) : Decimal{};
    std::optional<Decimal> to;
    if (hi) to = decimal_of(*hi);
    b.non_negative(from, false, to, {}, alternatives);
  }
  if (!lo || *lo < 0) {  // "-" and a magnitude from max(-hi, above 0) to -lo
    Decimal from;
    bool strict = true;  // no "-0"
    if (hi && *hi < 0) from = decimal_of(-*hi), strict = false;
    std::optional<Decimal> to;
    if (lo) to = decimal_of(-*lo);
    b.non_negative(from, strict, to, {g.byte('-')}, alternatives);
  }
  if (alternatives.empty()) {
    throw GrammarError("no number of at most 20 fraction digits lies within the bounds");  // lo <= hi: a tiny range
  }
  return g.group(std::move(alternatives), "number-range");
}

}  // namespace nucleus::grammar
