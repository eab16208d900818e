#include "text/jinja/percent_format.h"

#include <cmath>
#include <cstdio>

#include "text/jinja/error.h"
#include "text/jinja/pystr.h"

namespace nucleus::jinja {
namespace {

// Formatted output is bounded like any template string; a width beyond this is no chat template.
constexpr int64_t kMaxWidth = 1 << 16;

struct Spec {
  bool left = false, zero = false, plus = false, space = false, alt = false;
  int64_t width = 0, precision = -1;
  char conv = 0;
};

// The arguments a format consumes, in order (or by key for %(key)s).
class ArgSource {
 public:
  explicit ArgSource(const Value& args)
      : args_(args), list_(args.kind() == Kind::kTuple ? args.items() : std::vector<Value>{args}) {}

  const Value& next() {
    if (next_ >= list_.size()) throw TemplateError("not enough arguments for format string");
    return list_[next_++];
  }
  Value by_key(const std::string& key) {
    if (!args_.is_dict()) throw TemplateError("format requires a mapping");
    used_mapping_ = true;
    const Value* v = args_.as_dict().find(key);
    if (!v) throw TemplateError(pystr::string_repr(key));
    return *v;
  }
  // Python: leftover positional arguments are an error, unless the argument is a mapping.
  void check_all_used() const {
    bool mapping = args_.is_dict() || args_.kind() == Kind::kList;
    if (next_ < list_.size() && !mapping && !used_mapping_)
      throw TemplateError("not all arguments converted during string formatting");
  }

 private:
  const Value& args_;
  std::vector<Value> list_;
  size_t next_ = 0;
  bool used_mapping_ = false;
};

int64_t star_arg(ArgSource& src) {
  const Value& v = src.next();
  if (!v.is_int() && !v.is_bool()) throw TemplateError("* wants int");
  return v.as_int();
}

// Parses flags, width and precision after '%' (and an optional (key)); i ends on the conversion.
Spec parse_spec(const std::string& fmt, size_t& i, ArgSource& src) {
  Spec s;
  for (; i < fmt.size(); ++i) {
    char c = fmt[i];
    if (c == '-') s.left = true;
    else if (c == '0') s.zero = true;
    else if (c == '+') s.plus = true;
    else if (c == ' ') s.space = true;
    else if (c == '#') s.alt = true;
    else break;
  }
  if (i < fmt.size() && fmt[i] == '*') {
    s.width = star_arg(src);
    if (s.width < 0) {
      s.left = true;
      s.width = -s.width;
    }
    ++i;
  } else {
    while (i < fmt.size() && std::isdigit(static_cast<unsigned char>(fmt[i]))) {
      s.width = std::min<int64_t>(s.width * 10 + (fmt[i++] - '0'), kMaxWidth + 1);  // no overflow on long digit runs
    }
  }
  if (i < fmt.size() && fmt[i] == '.') {
    ++i;
    s.precision = 0;
    if (i < fmt.size() && fmt[i] == '*') {
      s.precision = std::max<int64_t>(star_arg(src), 0);
      ++i;
    } else {
      while (i < fmt.size() && std::isdigit(static_cast<unsigned char>(fmt[i])))
        s.precision = std::min<int64_t>(s.precision * 10 + (fmt[i++] - '0'), kMaxWidth);
    }
  }
  while (i < fmt.size() && (fmt[i] == 'h' || fmt[i] == 'l' || fmt[i] == 'L')) ++i;  // length modifiers: ignored
  if (i >= fmt.size()) throw TemplateError("incomplete format");
  if (s.width > kMaxWidth) throw TemplateError("format width too large");
  s.conv = fmt[i];
  return s;
}

// Pads `body` (sign and prefix already in front) to the width: left, zero-filled after `lead`
// characters (sign, 0x), or right-aligned.
std::string pad(std::string body, const Spec& s, size_t lead, bool numeric) {
  auto len = static_cast<int64_t>(pystr::length(body));
  if (len >= s.width) return body;
  auto fill = static_cast<size_t>(s.width - len);
  if (s.left) return body + std::string(fill, ' ');
  if (s.zero && numeric) return body.substr(0, lead) + std::string(fill, '0') + body.substr(lead);
  return std::string(fill, ' ') + body;
}

std::string format_int(const Value& v, const Spec& s) {
  char c = s.conv;
  int64_t n = 0;
  if (v.is_int() || v.is_bool()) {
    n = v.as_int();
  } else if (v.is_float() && (c == 'd' || c == 'i' || c == 'u')) {
    double f = std::trunc(v.as_float());
    if (!std::isfinite(f) || std::fabs(f) >= 9.2e18) throw TemplateError("cannot convert float to integer");
    n = static_cast<int64_t>(f);
  } else if (c == 'd' || c == 'i' || c == 'u') {
    throw TemplateError(pystr::cat("%", std::string(1, c), " format: a real number is required, not ", v.type_name()));
  } else {
    throw TemplateError(pystr::cat("%", std::string(1, c), " format: an integer is required, not ", v.type_name()));
  }
  const bool negative = n < 0;
  uint64_t mag = negative ? 0 - static_cast<uint64_t>(n) : static_cast<uint64_t>(n);
  const int base = c == 'o' ? 8 : (c == 'x' || c == 'X') ? 16 : 10;
  const char* digits_of = c == 'X' ? "0123456789ABCDEF" : "0123456789abcdef";
  std::string digits;
  do {
    digits.insert(digits.begin(), digits_of[mag % base]);
    mag /= base;
  } while (mag);
  if (s.precision > static_cast<int64_t>(digits.size()))
    digits.insert(0, static_cast<size_t>(s.precision) - digits.size(), '0');
  std::string lead = negative ? "-" : s.plus ? "+" : s.space ? " " : "";
  if (s.alt && base != 10) lead += c == 'o' ? "0o" : c == 'x' ? "0x" : "0X";  // Python's prefixes, even for 0
  return pad(lead + digits, s, lead.size(), true);
}

std::string format_float(const Value& v, const Spec& s) {
  if (!v.is_number()) throw TemplateError("must be real number, not " + v.type_name());
  std::string flags = std::string(s.plus ? "+" : "") + (s.space ? " " : "") + (s.alt ? "#" : "");
  std::string f = pystr::cat("%", flags, ".", std::to_string(s.precision < 0 ? 6 : s.precision), std::string(1, s.conv));
  int n = std::snprintf(nullptr, 0, f.c_str(), v.as_float());
  std::string body(static_cast<size_t>(std::max(n, 0)) + 1, '\0');
  std::snprintf(body.data(), body.size(), f.c_str(), v.as_float());
  body.resize(static_cast<size_t>(std::max(n, 0)));
  size_t lead = !body.empty() && (body[0] == '-' || body[0] == '+' || body[0] == ' ') ? 1 : 0;
  return pad(body, s, lead, std::isfinite(v.as_float()));
}

std::string format_char(const Value& v, const Spec& s) {
  std::string body;
  if (v.is_string() && pystr::length(v.as_string()) == 1) {
    body = v.as_string();
  } else if (v.is_int() || v.is_bool()) {
    if (v.as_int() < 0 || v.as_int() > 0x10FFFF) throw TemplateError("%c arg not in range(0x110000)");
    body = pystr::encode(std::u32string(1, static_cast<char32_t>(v.as_int())));
  } else {
    throw TemplateError("%c requires int or char");
  }
  return pad(body, s, 0, false);
}

std::string format_one(const Value& v, const Spec& s, size_t index) {
  switch (s.conv) {
    case 's':
    case 'r': {
      std::string body = s.conv == 's' ? v.str() : v.repr();
      if (s.precision >= 0) body = pystr::slice(body, std::nullopt, s.precision, 1);
      return pad(body, s, 0, false);
    }
    case 'c':
      return format_char(v, s);
    case 'd':
    case 'i':
    case 'u':
    case 'o':
    case 'x':
    case 'X':
      return format_int(v, s);
    case 'e':
    case 'E':
    case 'f':
    case 'F':
    case 'g':
    case 'G':
      return format_float(v, s);
    default: {
      char buf[96];
      std::snprintf(buf, sizeof(buf), "unsupported format character '%c' (0x%x) at index %zu", s.conv,
                    static_cast<unsigned>(static_cast<unsigned char>(s.conv)), index);
      throw TemplateError(buf);
    }
  }
}

}  // namespace

std::string percent_format(const std::string& fmt, const Value& args) {
  ArgSource src(args);
  std::string out;
  for (size_t i = 0; i < fmt.size(); ++i) {
    if (fmt[i] != '%') {
      out += fmt[i];
      continue;
    }
    if (++i >= fmt.size()) throw TemplateError("incomplete format");
    std::optional<std::string> key;
    if (fmt[i] == '(') {
      size_t close = fmt.find(')', i);
      if (close == std::string::npos) throw TemplateError("incomplete format key");
      key = fmt.substr(i + 1, close - i - 1);
      i = close + 1;
    }
    Spec s = parse_spec(fmt, i, src);
    if (s.conv == '%') {
      out += '%';
      continue;
    }
    Value v = key ? src.by_key(*key) : src.next();
    out += format_one(v, s, i);
  }
  src.check_all_used();
  return out;
}

}  // namespace nucleus::jinja
