// The methods templates call on values: str (strip, split, startswith, format, ...), dict (get,
// items, keys, values) and list (index, count). Mutating methods exist in Python but jinja2's
// ImmutableSandboxedEnvironment refuses them; so do we, with its message.
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

bool affix(const Value& self, Args& args, bool prefix) {
  auto a = bind(prefix ? "startswith" : "endswith", args, {"prefix"});
  std::vector<Value> options = a[0].kind() == Kind::kTuple ? a[0].items() : std::vector<Value>{a[0]};
  const std::string& s = self.as_string();
  for (const Value& o : options) {
    if (!o.is_string()) throw TemplateError("startswith first arg must be str or a tuple of str");
    const std::string& p = o.as_string();
    if (p.size() <= s.size() && s.compare(prefix ? 0 : s.size() - p.size(), p.size(), p) == 0) return true;
  }
  return false;
}

// One replacement field's format spec ([[fill]align][sign][0][width][.precision][type]).
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
  if (i < spec.size() && spec[i] == '0') {
    if (!align) {
      fill = "0";
      align = '=';
    }
    ++i;
  }
  size_t width = 0;
  while (i < spec.size() && std::isdigit(static_cast<unsigned char>(spec[i]))) width = width * 10 + (spec[i++] - '0');
  if (width > 4096) throw TemplateError("format width too large");
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
  if (type == 'd' || (type == 0 && (v.is_int() || v.is_bool()) && !v.is_bool())) {
    if (!v.is_int() && !v.is_bool())
      throw TemplateError("Unknown format code 'd' for object of type '" + v.type_name() + "'");
    body = std::to_string(v.as_int());
  } else if (type == 'f' || type == 'F' || type == 'e' || type == 'g' || type == '%') {
    if (!v.is_number()) throw TemplateError("Unknown format code for object of type '" + v.type_name() + "'");
    double x = v.as_float() * (type == '%' ? 100 : 1);
    std::string f = std::string("%.") + std::to_string(precision < 0 ? 6 : precision) + (type == '%' ? 'f' : type);
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
    body = v.str();
    if (precision >= 0) body = pystr::slice(body, std::nullopt, precision, 1);
    if (!align) align = '<';
  } else {
    throw TemplateError(std::string("Unknown format code '") + type + "'");
  }
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
    Value v;
    if (field.empty() || std::isdigit(static_cast<unsigned char>(field[0]))) {
      size_t idx = field.empty() ? auto_index++ : std::stoul(field);
      if (idx >= args.positional.size())
        throw TemplateError("Replacement index " + std::to_string(idx) + " out of range for positional args tuple");
      v = args.positional[idx];
    } else {
      bool found = false;
      for (const auto& [k, kv] : args.keyword)
        if (k == field) {
          v = kv;
          found = true;
        }
      if (!found) throw TemplateError("'" + field + "'");
    }
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
  if (name == "upper" || name == "lower" || name == "title" || name == "capitalize" || name == "casefold") {
    bind(name, args, {});
    if (name == "upper") return Value(pystr::upper(s));
    if (name == "title") return Value(pystr::title(s));
    if (name == "capitalize") return Value(pystr::capitalize(s));
    return Value(pystr::lower(s));
  }
  if (name == "replace") {
    auto a = bind(name, args, {"old", "new", {"count", Value(-1)}});
    if (!a[0].is_string() || !a[1].is_string()) throw TemplateError("replace() argument must be str");
    return Value(pystr::replace(s, a[0].as_string(), a[1].as_string(), int_arg(a[2], "replace")));
  }
  if (name == "find" || name == "index" || name == "count" || name == "rfind") {
    auto a = bind(name, args, {"sub"});
    if (!a[0].is_string()) throw TemplateError("must be str, not " + a[0].type_name());
    if (name == "count") return Value(pystr::count(s, a[0].as_string()));
    size_t hit = name == "rfind" ? s.rfind(a[0].as_string()) : s.find(a[0].as_string());
    if (hit == std::string::npos) {
      if (name == "index") throw TemplateError("substring not found");
      return Value(-1);
    }
    return Value(static_cast<int64_t>(pystr::length(std::string_view(s).substr(0, hit))));
  }
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
  if (name == "isupper") return Value(pystr::is_upper(s));
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
                       "isdigit",  "isalpha", "isalnum", "isspace", "isupper",    "islower",      "format"})) {
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
