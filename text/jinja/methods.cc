// The methods templates call on values: str (strip, split, startswith, format, ...), dict (get,
// items, keys, values) and list (index, count). Mutating methods exist in Python but jinja2's
// ImmutableSandboxedEnvironment refuses them; so do we, with its message.
#include <algorithm>
#include <cmath>

#include "text/jinja/args.h"
#include "text/jinja/ops.h"
#include "text/jinja/pystr.h"

namespace nucleus::jinja::ops {
namespace {

std::optional<std::string> opt_string(const Value& v, const char* fn) {
  if (v.is_none()) return std::nullopt;
  if (!v.is_string()) throw TemplateError(std::string(fn) + " arg must be None or str");
  return v.as_string();
}

int64_t int_arg(const Value& v, const char* fn) {
  if (!v.is_int() && !v.is_bool()) throw TemplateError(std::string(fn) + "(): an integer is required");
  return v.as_int();
}

Value strings(const std::vector<std::string>& parts) {
  std::vector<Value> out(parts.begin(), parts.end());
  return Value::list(std::move(out));
}

// str methods' optional start/end arguments: code-point positions clamped as Python's
// ADJUST_INDICES does (negative from the end); returns byte offsets into s, or nullopt when start
// lies past the end (nothing matches there, not even "").
std::optional<std::pair<size_t, size_t>> byte_window(const std::string& s, const Value& start, const Value& end,
                                                     const char* fn) {
  auto bound = [&](const Value& v, int64_t dflt) {
    if (v.is_none()) return dflt;
    if (!v.is_int() && !v.is_bool())
      throw TemplateError(std::string("slice indices must be integers or None or have an __index__ method (") + fn +
                          ")");
    return v.as_int();
  };
  const auto n = static_cast<int64_t>(pystr::length(s));
  int64_t b = bound(start, 0), e = bound(end, n);
  if (e > n) e = n;
  if (e < 0) e = std::max<int64_t>(e + n, 0);
  if (b < 0) b = std::max<int64_t>(b + n, 0);
  if (b > n) return std::nullopt;
  if (e < b) e = b;
  return std::make_pair(pystr::byte_offset(s, static_cast<size_t>(b)), pystr::byte_offset(s, static_cast<size_t>(e)));
}

bool affix(const Value& self, Args& args, bool prefix) {
  const char* fn = prefix ? "startswith" : "endswith";
  auto a = bind(fn, args, {"prefix", {"start", Value(nullptr)}, {"end", Value(nullptr)}});
  std::vector<Value> options = a[0].kind() == Kind::kTuple ? a[0].items() : std::vector<Value>{a[0]};
  auto window = byte_window(self.as_string(), a[1], a[2], fn);
  for (const Value& o : options)
    if (!o.is_string()) throw TemplateError(std::string(fn) + " first arg must be str or a tuple of str");
  if (!window) return false;
  std::string_view s = std::string_view(self.as_string()).substr(window->first, window->second - window->first);
  for (const Value& o : options) {
    const std::string& p = o.as_string();
    if (p.size() <= s.size() && s.compare(prefix ? 0 : s.size() - p.size(), p.size(), p) == 0) return true;
  }
  return false;
}

// find, rfind, index, rindex, count with their optional start and end.
Value search(const std::string& name, const std::string& s, Args& args) {
  auto a = bind(name, args, {"sub", {"start", Value(nullptr)}, {"end", Value(nullptr)}});
  if (!a[0].is_string()) throw TemplateError("must be str, not " + a[0].type_name());
  const std::string& sub = a[0].as_string();
  auto window = byte_window(s, a[1], a[2], name.c_str());
  std::string_view w = window ? std::string_view(s).substr(window->first, window->second - window->first) : "";
  if (name == "count") return Value(window ? pystr::count(w, sub) : int64_t{0});
  size_t hit = !window ? std::string_view::npos : name[0] == 'r' ? w.rfind(sub) : w.find(sub);
  if (hit == std::string_view::npos) {
    if (name == "index" || name == "rindex") throw TemplateError("substring not found");
    return Value(-1);
  }
  return Value(static_cast<int64_t>(pystr::length(std::string_view(s).substr(0, window->first + hit))));
}

// partition / rpartition: (head, sep, tail) around the first / last sep.
Value partition(const std::string& name, const std::string& s, Args& args) {
  auto a = bind(name, args, {"sep"});
  if (!a[0].is_string()) throw TemplateError("must be str, not " + a[0].type_name());
  const std::string& sep = a[0].as_string();
  if (sep.empty()) throw TemplateError("empty separator");
  bool right = name == "rpartition";
  size_t hit = right ? s.rfind(sep) : s.find(sep);
  if (hit == std::string::npos)
    return right ? Value::tuple({Value(""), Value(""), Value(s)}) : Value::tuple({Value(s), Value(""), Value("")});
  return Value::tuple({Value(s.substr(0, hit)), Value(sep), Value(s.substr(hit + sep.size()))});
}

// center, ljust, rjust, zfill: pad to a width in code points.
Value pad(const std::string& name, const std::string& s, Args& args) {
  std::vector<Value> a = name == "zfill" ? bind(name, args, {"width"})
                                         : bind(name, args, {"width", {"fillchar", Value(" ")}});
  const int64_t width = int_arg(a[0], name.c_str());
  std::string fill = name == "zfill" ? "0" : a[1].is_string() ? a[1].as_string() : "";
  if (pystr::length(fill) != 1) throw TemplateError("The fill character must be exactly one character long");
  const auto len = static_cast<int64_t>(pystr::length(s));
  if (width <= len) return Value(s);
  if (width > (1 << 20)) throw TemplateError(name + "() width too large");
  const int64_t margin = width - len;
  auto fills = [&](int64_t n) {
    std::string out;
    for (int64_t k = 0; k < n; ++k) out += fill;
    return out;
  };
  if (name == "ljust") return Value(s + fills(margin));
  if (name == "rjust") return Value(fills(margin) + s);
  if (name == "zfill") {
    bool sign = !s.empty() && (s[0] == '+' || s[0] == '-');
    return Value(sign ? s.substr(0, 1) + fills(margin) + s.substr(1) : fills(margin) + s);
  }
  // CPython's center puts the odd pad on the left only when both the margin and the width are odd.
  const int64_t left = margin / 2 + (margin & width & 1);
  return Value(fills(left) + s + fills(margin - left));
}

// Inserts `sep` every `group` digits into the leading run of digits of body (after a sign).
std::string group_digits(const std::string& body, char sep, size_t group) {
  size_t b = !body.empty() && (body[0] == '-' || body[0] == '+' || body[0] == ' ') ? 1 : 0;
  if (body.compare(b, 2, "0x") == 0 || body.compare(b, 2, "0X") == 0 || body.compare(b, 2, "0o") == 0 ||
      body.compare(b, 2, "0b") == 0)
    b += 2;
  size_t e = b;
  while (e < body.size() && std::isxdigit(static_cast<unsigned char>(body[e])) && body[e] != 'e' && body[e] != 'E')
    ++e;
  std::string digits = body.substr(b, e - b), grouped;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i && (digits.size() - i) % group == 0) grouped += sep;
    grouped += digits[i];
  }
  return body.substr(0, b) + grouped + body.substr(e);
}

// An int in base 2, 8, 10 or 16 ('#' adds Python's 0b/0o/0x prefix).
std::string int_body(int64_t n, char type, bool alt) {
  const int base = type == 'b' ? 2 : type == 'o' ? 8 : (type == 'x' || type == 'X') ? 16 : 10;
  const char* digits_of = type == 'X' ? "0123456789ABCDEF" : "0123456789abcdef";
  uint64_t mag = n < 0 ? 0 - static_cast<uint64_t>(n) : static_cast<uint64_t>(n);
  std::string digits;
  do {
    digits.insert(digits.begin(), digits_of[mag % base]);
    mag /= base;
  } while (mag);
  std::string prefix = alt && base != 10 ? std::string("0") + (type == 'X' ? 'X' : type) : "";
  return (n < 0 ? "-" : "") + prefix + digits;
}

// One replacement field's format spec: [[fill]align][sign][#][0][width][,|_][.precision][type].
std::string format_spec(const Value& v, const std::string& spec) {
  if (spec.empty()) return v.str();
  size_t i = 0;
  std::string fill = " ";
  char align = 0;
  auto is_align = [](char c) { return c == '<' || c == '>' || c == '^' || c == '='; };
  if (spec.size() >= 2 && is_align(spec[1])) {
    fill = spec.substr(0, 1);
    align = spec[1];
    i = 2;
  } else if (is_align(spec[0])) {
    align = spec[0];
    i = 1;
  }
  char sign = 0;
  if (i < spec.size() && (spec[i] == '+' || spec[i] == '-' || spec[i] == ' ')) sign = spec[i++];
  bool alt = i < spec.size() && spec[i] == '#';
  if (alt) ++i;
  if (i < spec.size() && spec[i] == '0') {
    if (!align) {
      fill = "0";
      align = '=';
    }
    ++i;
  }
  size_t width = 0;
  while (i < spec.size() && std::isdigit(static_cast<unsigned char>(spec[i]))) {
    width = std::min<size_t>(width * 10 + (spec[i++] - '0'), 4097);  // no wrap-around on long digit runs
  }
  if (width > 4096) throw TemplateError("format width too large");
  char grouping = 0;
  if (i < spec.size() && (spec[i] == ',' || spec[i] == '_')) grouping = spec[i++];
  int precision = -1;
  if (i < spec.size() && spec[i] == '.') {
    precision = 0;
    while (++i < spec.size() && std::isdigit(static_cast<unsigned char>(spec[i])))
      precision = std::min(precision * 10 + (spec[i] - '0'), 100);
  }
  char type = i < spec.size() ? spec[i++] : 0;
  if (i != spec.size()) throw TemplateError("Invalid format specifier");
  std::string body;
  char buf[160];
  const bool intlike = v.is_int() || v.is_bool();
  if (type == 'd' || type == 'b' || type == 'o' || type == 'x' || type == 'X' || type == 'n' ||
      (type == 0 && v.is_int())) {
    if (!intlike)
      throw TemplateError(std::string("Unknown format code '") + type + "' for object of type '" + v.type_name() + "'");
    body = int_body(v.as_int(), type, alt);
  } else if (type == 'c' && intlike) {
    body = pystr::encode(std::u32string(1, static_cast<char32_t>(v.as_int())));
  } else if (type == 'f' || type == 'F' || type == 'e' || type == 'E' || type == 'g' || type == 'G' || type == '%') {
    if (!v.is_number()) throw TemplateError("Unknown format code for object of type '" + v.type_name() + "'");
    double x = v.as_float() * (type == '%' ? 100 : 1);
    std::string f = std::string("%") + (alt ? "#" : "") + "." + std::to_string(precision < 0 ? 6 : precision) +
                    (type == '%' ? 'f' : type);
    std::snprintf(buf, sizeof(buf), f.c_str(), x);
    body = std::string(buf) + (type == '%' ? "%" : "");
  } else if (type == 0 && v.is_float()) {
    if (precision >= 0) {
      std::snprintf(buf, sizeof(buf), "%.*g", std::max(precision, 1), v.as_float());
      body = buf;
    } else {
      body = pystr::float_repr(v.as_float());
    }
  } else if (type == 's' || type == 0) {
    if (grouping) throw TemplateError(std::string("Cannot specify '") + grouping + "' with 's'.");
    body = v.str();
    if (precision >= 0) body = pystr::slice(body, std::nullopt, precision, 1);
    if (!align) align = '<';
  } else {
    throw TemplateError(std::string("Unknown format code '") + type + "' for object of type '" + v.type_name() + "'");
  }
  if (grouping) body = group_digits(body, grouping, (type == 'b' || type == 'o' || type == 'x' || type == 'X') ? 4 : 3);
  if (sign && v.is_number() && body[0] != '-' && sign != '-') body = std::string(1, sign == '+' ? '+' : ' ') + body;
  if (!align) align = '>';
  size_t len = pystr::length(body);
  if (len >= width) return body;
  size_t pad = width - len;
  auto fills = [&](size_t n) {
    std::string s;
    for (size_t k = 0; k < n; ++k) s += fill;
    return s;
  };
  if (align == '<') return body + fills(pad);
  if (align == '^') return fills(pad / 2) + body + fills(pad - pad / 2);
  if (align == '=' && !body.empty() && (body[0] == '-' || body[0] == '+' || body[0] == ' '))
    return body.substr(0, 1) + fills(pad) + body.substr(1);
  return fills(pad) + body;
}

// A replacement field's value: an argument (by index, auto-numbered, or keyword) followed by
// `.attr` and `[key]` lookups, as jinja2's sandboxed formatter resolves them.
Value format_field(const std::string& field, Args& args, size_t& auto_index) {
  size_t end = field.find_first_of(".[");
  std::string first = field.substr(0, end);
  Value v;
  if (first.empty() || std::isdigit(static_cast<unsigned char>(first[0]))) {
    size_t idx = first.empty() ? auto_index++ : std::stoul(first);
    if (idx >= args.positional.size())
      throw TemplateError("Replacement index " + std::to_string(idx) + " out of range for positional args tuple");
    v = args.positional[idx];
  } else {
    bool found = false;
    for (const auto& [k, kv] : args.keyword)
      if (k == first) {
        v = kv;
        found = true;
      }
    if (!found) throw TemplateError("'" + first + "'");
  }
  for (size_t i = end; i < field.size();) {
    if (field[i] == '.') {
      size_t next = field.find_first_of(".[", i + 1);
      if (next == std::string::npos) next = field.size();
      if (next == i + 1) throw TemplateError("Empty attribute in format string");
      v = getattr(v, field.substr(i + 1, next - i - 1));
      i = next;
    } else {
      size_t close = field.find(']', i);
      if (close == std::string::npos) throw TemplateError("Missing ']' in format string");
      std::string key = field.substr(i + 1, close - i - 1);
      bool digits = !key.empty() && std::all_of(key.begin(), key.end(), [](char c) { return c >= '0' && c <= '9'; });
      v = getitem(v, digits ? Value(static_cast<int64_t>(std::stoll(key))) : Value(key));
      i = close + 1;
      if (i < field.size() && field[i] != '.' && field[i] != '[')
        throw TemplateError("Only '.' or '[' may follow ']' in format field specifier");
    }
  }
  return v;
}

// str.format: {} {0} {name}, with !s/!r conversions and format specs.
std::string format(const std::string& fmt, Args& args) {
  std::string out;
  size_t auto_index = 0;
  for (size_t i = 0; i < fmt.size(); ++i) {
    char c = fmt[i];
    if (c == '}') {
      if (i + 1 < fmt.size() && fmt[i + 1] == '}')
        ++i;
      else
        throw TemplateError("Single '}' encountered in format string");
      out += '}';
      continue;
    }
    if (c != '{') {
      out += c;
      continue;
    }
    if (i + 1 < fmt.size() && fmt[i + 1] == '{') {
      out += '{';
      ++i;
      continue;
    }
    size_t close = fmt.find('}', i);
    if (close == std::string::npos) throw TemplateError("Single '{' encountered in format string");
    std::string field = fmt.substr(i + 1, close - i - 1), spec, conv;
    if (size_t colon = field.find(':'); colon != std::string::npos) {
      spec = field.substr(colon + 1);
      field.resize(colon);
    }
    if (size_t bang = field.find('!'); bang != std::string::npos) {
      conv = field.substr(bang + 1);
      field.resize(bang);
    }
    Value v = format_field(field, args, auto_index);
    if (conv == "r") v = Value(v.repr());
    out += format_spec(v, spec);
    i = close;
  }
  return out;
}

Value str_method(const std::string& name, const Value& self, Args& args) {
  const std::string& s = self.as_string();
  auto strip_like = [&](bool l, bool r) {
    auto a = bind(name, args, {{"chars", Value(nullptr)}});
    return Value(pystr::strip(s, opt_string(a[0], name.c_str()), l, r));
  };
  if (name == "strip") return strip_like(true, true);
  if (name == "lstrip") return strip_like(true, false);
  if (name == "rstrip") return strip_like(false, true);
  if (name == "split" || name == "rsplit") {
    auto a = bind(name, args, {{"sep", Value(nullptr)}, {"maxsplit", Value(-1)}});
    auto sep = opt_string(a[0], name.c_str());
    if (sep && sep->empty()) throw TemplateError("empty separator");
    int64_t max = int_arg(a[1], name.c_str());
    return strings(name == "split" ? pystr::split(s, sep, max) : pystr::rsplit(s, sep, max));
  }
  if (name == "splitlines") {
    auto a = bind(name, args, {{"keepends", Value(false)}});
    return strings(pystr::splitlines(s, a[0].truthy()));
  }
  if (name == "startswith") return Value(affix(self, args, true));
  if (name == "endswith") return Value(affix(self, args, false));
  if (name == "upper" || name == "lower" || name == "title" || name == "capitalize" || name == "casefold" ||
      name == "swapcase") {
    bind(name, args, {});
    if (name == "upper") return Value(pystr::upper(s));
    if (name == "title") return Value(pystr::title(s));
    if (name == "capitalize") return Value(pystr::capitalize(s));
    if (name == "swapcase") return Value(pystr::swapcase(s));
    if (name == "casefold") return Value(pystr::casefold(s));
    return Value(pystr::lower(s));
  }
  if (name == "replace") {
    auto a = bind(name, args, {"old", "new", {"count", Value(-1)}});
    if (!a[0].is_string() || !a[1].is_string()) throw TemplateError("replace() argument must be str");
    return Value(pystr::replace(s, a[0].as_string(), a[1].as_string(), int_arg(a[2], "replace")));
  }
  if (name == "find" || name == "index" || name == "count" || name == "rfind" || name == "rindex")
    return search(name, s, args);
  if (name == "partition" || name == "rpartition") return partition(name, s, args);
  if (name == "center" || name == "ljust" || name == "rjust" || name == "zfill") return pad(name, s, args);
  if (name == "join") {
    auto a = bind(name, args, {"iterable"});
    std::string out;
    bool first = true;
    for (const Value& v : iterate(a[0])) {
      if (!v.is_string()) throw TemplateError("sequence item: expected str instance, " + v.type_name() + " found");
      if (!first) out += s;
      out += v.as_string();
      first = false;
    }
    return Value(std::move(out));
  }
  if (name == "removeprefix" || name == "removesuffix") {
    auto a = bind(name, args, {"affix"});
    const std::string& p = a[0].as_string();
    if (name == "removeprefix" && s.rfind(p, 0) == 0) return Value(s.substr(p.size()));
    if (name == "removesuffix" && p.size() <= s.size() && s.compare(s.size() - p.size(), p.size(), p) == 0)
      return Value(s.substr(0, s.size() - p.size()));
    return self;
  }
  if (name == "isdigit" || name == "isalpha" || name == "isalnum" || name == "isspace") {
    bind(name, args, {});
    if (s.empty()) return Value(false);
    for (char32_t c : pystr::decode(s)) {
      bool digit = c >= '0' && c <= '9', alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c >= 0xC0;
      bool ok = name == "isdigit"   ? digit
                : name == "isalpha" ? alpha
                : name == "isalnum" ? digit || alpha
                                    : pystr::is_space(c);
      if (!ok) return Value(false);
    }
    return Value(true);
  }
  if (name == "isupper") return Value((bind(name, args, {}), pystr::is_upper(s)));
  if (name == "istitle") return Value((bind(name, args, {}), pystr::is_title(s)));
  if (name == "islower") return Value(pystr::is_lower(s));
  if (name == "format") return Value(format(s, args));
  return Value();
}

Value dict_method(const std::string& name, const Value& self, Args& args) {
  const Dict& d = self.as_dict();
  if (name == "get") {
    auto a = bind(name, args, {"key", {"default", Value(nullptr)}});
    if (a[0].is_hashable())
      if (const Value* v = d.find(a[0])) return *v;
    return a[1];
  }
  if (name == "items" || name == "keys" || name == "values") {
    bind(name, args, {});
    std::vector<Value> out;
    for (const auto& [k, v] : d.items) {
      if (name == "items")
        out.push_back(Value::tuple({k, v}));
      else
        out.push_back(name == "keys" ? k : v);
    }
    return Value::list(std::move(out));
  }
  if (name == "copy") {
    bind(name, args, {});
    return Value::dict(d);
  }
  return Value();
}

Value list_method(const std::string& name, const Value& self, Args& args) {
  auto a = bind(name, args, {"value"});
  const auto& items = self.items();
  for (size_t i = 0; i < items.size(); ++i)
    if (items[i].equals(a[0]) && name == "index") return Value(static_cast<int64_t>(i));
  if (name == "index") throw TemplateError(a[0].repr() + " is not in list");
  int64_t n = 0;
  for (const Value& v : items) n += v.equals(a[0]);
  return Value(n);
}

bool is_one_of(const std::string& name, std::initializer_list<const char*> names) {
  for (const char* n : names)
    if (name == n) return true;
  return false;
}

}  // namespace

Value method(const Value& obj, const std::string& name) {
  Value (*impl)(const std::string&, const Value&, Args&) = nullptr;
  if (obj.is_string() &&
      is_one_of(name, {"strip",    "lstrip",  "rstrip",  "split",   "rsplit",     "splitlines",   "startswith",
                       "endswith", "upper",   "lower",   "title",   "capitalize", "casefold",     "replace",
                       "find",     "rfind",   "index",   "count",   "join",       "removeprefix", "removesuffix",
                       "isdigit",  "isalpha", "isalnum", "isspace", "isupper",    "islower",      "format",
                       "rindex",   "partition", "rpartition", "zfill", "center", "ljust", "rjust", "swapcase",
                       "istitle"})) {
    impl = str_method;
  } else if (obj.is_dict()) {
    if (is_one_of(name, {"pop", "popitem", "setdefault", "update", "clear"}))
      return Value::unsafe("access to attribute '" + name + "' of 'dict' object is unsafe.");
    if (is_one_of(name, {"get", "items", "keys", "values", "copy"})) impl = dict_method;
  } else if (obj.kind() == Kind::kList || obj.kind() == Kind::kTuple) {
    if (obj.kind() == Kind::kList &&
        is_one_of(name, {"append", "extend", "insert", "pop", "remove", "reverse", "sort", "clear"}))
      return Value::unsafe("access to attribute '" + name + "' of 'list' object is unsafe.");
    if (is_one_of(name, {"index", "count"})) impl = list_method;
  }
  if (!impl) return Value();
  return Value::function(name, [impl, obj, name](Runtime&, Args& args) { return impl(name, obj, args); });
}

}  // namespace nucleus::jinja::ops
