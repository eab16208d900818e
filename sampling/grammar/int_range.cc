#include "sampling/grammar/int_range.h"

#include <string>

#include "sampling/grammar/grammar_error.h"

namespace nucleus::grammar {
namespace {

constexpr size_t kMaxDigits = 20;

class RangeBuilder {
 public:
  explicit RangeBuilder(Grammar& g) : g_(g) {}

  Element digits(char lo, char hi) {
    ByteSet set;
    set.set_range(static_cast<uint8_t>(lo), static_cast<uint8_t>(hi));
    return g_.bytes(set);
  }

  // Alternatives matching the digit strings between x and y, both of length n.
  void same_length(const std::string& x, const std::string& y, Sequence prefix, std::vector<Sequence>& out) {
    size_t i = 0;
    while (i < x.size() && x[i] == y[i]) prefix.push_back(digits(x[i], x[i])), ++i;
    if (i == x.size()) {
      out.push_back(std::move(prefix));
      return;
    }
    const std::string xr = x.substr(i + 1), yr = y.substr(i + 1);
    const bool x_rest_zero = xr.find_first_not_of('0') == std::string::npos;
    const bool y_rest_nine = yr.find_first_not_of('9') == std::string::npos;
    char mid_lo = static_cast<char>(x[i] + 1), mid_hi = static_cast<char>(y[i] - 1);
    if (x_rest_zero) mid_lo = x[i];
    if (y_rest_nine) mid_hi = y[i];
    if (!x_rest_zero) {
      Sequence p = prefix;
      p.push_back(digits(x[i], x[i]));
      same_length(xr, std::string(xr.size(), '9'), std::move(p), out);
    }
    if (mid_lo <= mid_hi) {
      Sequence p = prefix;
      p.push_back(digits(mid_lo, mid_hi));
      for (size_t k = 0; k < xr.size(); ++k) p.push_back(digits('0', '9'));
      out.push_back(std::move(p));
    }
    if (!y_rest_nine) {
      Sequence p = prefix;
      p.push_back(digits(y[i], y[i]));
      same_length(std::string(yr.size(), '0'), yr, std::move(p), out);
    }
  }

  // Alternatives for the integers in [a, b] (b empty: unbounded), a >= 0.
  void non_negative(uint64_t a, std::optional<uint64_t> b, Sequence prefix, std::vector<Sequence>& out) {
    const std::string sa = std::to_string(a);
    const size_t top = b ? std::to_string(*b).size() : sa.size();
    for (size_t len = sa.size(); len <= top; ++len) {
      std::string lo(len, '0');  // 10^(len-1), or a for the shortest length
      lo[0] = '1';
      if (len == sa.size()) lo = sa;
      const std::string hi = b && len == top ? std::to_string(*b) : std::string(len, '9');
      same_length(lo, hi, prefix, out);
    }
    if (!b && sa.size() < kMaxDigits) {
      // Longer than a: [1-9] then len(a) to kMaxDigits - 1 more digits.
      Sequence p = prefix;
      p.push_back(digits('1', '9'));
      for (size_t k = 0; k < sa.size(); ++k) p.push_back(digits('0', '9'));
      p.push_back(g_.repeat(digits('0', '9'), 0, static_cast<uint32_t>(kMaxDigits - 1 - sa.size()), "digits"));
      out.push_back(std::move(p));
    }
  }

 private:
  Grammar& g_;
};

uint64_t magnitude(int64_t v) { return v < 0 ? static_cast<uint64_t>(-(v + 1)) + 1 : static_cast<uint64_t>(v); }

}  // namespace

Element integer_range(Grammar& g, std::optional<int64_t> lo, std::optional<int64_t> hi) {
  if (lo && hi && *lo > *hi) {
    throw GrammarError("no integer between " + std::to_string(*lo) + " and " + std::to_string(*hi));
  }
  RangeBuilder b(g);
  std::vector<Sequence> alternatives;
  if (!lo || *lo < 0) {
    // Negative part: magnitudes in [max(1, -hi), -lo].
    const uint64_t from = hi && *hi < 0 ? magnitude(*hi) : 1;
    std::optional<uint64_t> to;
    if (lo) to = magnitude(*lo);
    b.non_negative(from, to, {g.byte('-')}, alternatives);
  }
  if (!hi || *hi >= 0) {
    b.non_negative(lo && *lo > 0 ? static_cast<uint64_t>(*lo) : 0, hi ? std::optional<uint64_t>(*hi) : std::nullopt, {},
                   alternatives);
  }
  return g.group(std::move(alternatives), "int-range");
}

}  // namespace nucleus::grammar
