#include "text/jinja/ops.h"

#include <cmath>

#include "text/jinja/error.h"
#include "text/jinja/percent_format.h"
#include "text/jinja/runtime.h"
#include "text/jinja/pystr.h"

namespace nucleus::jinja::ops {
namespace {

[[noreturn]] void type_error(const std::string& msg) { throw TemplateError(msg); }

// Python's ints are unbounded; ours are int64, and a result beyond it is an error, never a wrong number.
const char* const kIntOverflow = "integer overflow: the result does not fit in 64 bits (Python's ints are unbounded; ours are not)";

bool is_intlike(const Value& v) { return v.is_int() || v.is_bool(); }

std::string quoted_type(const Value& v) { return pystr::cat("'", v.type_name(), "'"); }

[[noreturn]] void unsupported(const std::string& op, const Value& a, const Value& b) {
  type_error("unsupported operand type(s) for " + op + ": " + quoted_type(a) + " and " + quoted_type(b));
}

// a op b on int64, an error on overflow (Python's ints are unbounded; ours stop at 64 bits).
template <typename Op>
int64_t checked(int64_t a, int64_t b, Op op) {
  int64_t r = 0;
  if (op(a, b, &r)) type_error(kIntOverflow);
  return r;
}

Value repeat(const Value& seq, int64_t n, const Runtime& in) {
  if (n < 0) n = 0;
  if (seq.is_string()) {
    in.check_size(seq.as_string().size() * static_cast<size_t>(n));
    std::string out;
    for (int64_t i = 0; i < n; ++i) out += seq.as_string();
    return seq.is_markup() ? Value::markup(std::move(out)) : Value(std::move(out));
  }
  in.check_items(seq.items().size() * static_cast<size_t>(n));
  std::vector<Value> out;
  for (int64_t i = 0; i < n; ++i) out.insert(out.end(), seq.items().begin(), seq.items().end());
  return seq.kind() == Kind::kTuple ? Value::tuple(std::move(out)) : Value::list(std::move(out));
}

// jinja2's message for a missing attribute: "'dict object' has no attribute 'x'".
std::string no_attribute(const Value& obj, const std::string& name) {
  return pystr::cat("'", obj.is_none() ? std::string("None") : pystr::cat(obj.type_name(), " object"),
                    "' has no attribute '", name, "'");
}

}  // namespace

std::string html_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&#34;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

void fail_undefined(const Value& v) {
  if (v.is_unsafe()) throw TemplateError(v.undefined_hint());
  throw TemplateError(v.undefined_hint().empty() ? "value is undefined" : v.undefined_hint());
}

void require_defined(const Value& v) {
  if (v.is_undefined()) fail_undefined(v);
}

Value binary(const std::string& op, const Value& a, const Value& b, const Runtime& in) {
  require_defined(a);
  require_defined(b);
  bool nums = a.is_number() && b.is_number();
  bool ints = is_intlike(a) && is_intlike(b);
  if (op == "+") {
    if (ints)
      return Value(checked(a.as_int(), b.as_int(),
                           [](int64_t x, int64_t y, int64_t* r) { return __builtin_add_overflow(x, y, r); }));
    if (nums) return Value(a.as_float() + b.as_float());
    if (a.is_string() && b.is_string()) {
      if (a.is_markup() || b.is_markup()) {
        // Markup + str escapes the plain side: templates that mark a prefix |safe get escaped JSON.
        std::string l = a.is_markup() ? a.as_string() : html_escape(a.as_string());
        std::string r = b.is_markup() ? b.as_string() : html_escape(b.as_string());
        in.check_size(l.size() + r.size());
        return Value::markup(l + r);
      }
      in.check_size(a.as_string().size() + b.as_string().size());
      return Value(a.as_string() + b.as_string());
    }
    if ((a.kind() == Kind::kList || a.kind() == Kind::kTuple) && a.kind() == b.kind()) {
      in.check_items(a.items().size() + b.items().size());
      std::vector<Value> out = a.items();
      out.insert(out.end(), b.items().begin(), b.items().end());
      return a.kind() == Kind::kTuple ? Value::tuple(std::move(out)) : Value::list(std::move(out));
    }
    if (a.is_string() || a.kind() == Kind::kList || a.kind() == Kind::kTuple)
      type_error("can only concatenate " + a.type_name() + " (not \"" + b.type_name() + "\") to " + a.type_name());
    unsupported(op, a, b);
  }
  if (op == "-") {
    if (ints)
      return Value(checked(a.as_int(), b.as_int(),
                           [](int64_t x, int64_t y, int64_t* r) { return __builtin_sub_overflow(x, y, r); }));
    if (nums) return Value(a.as_float() - b.as_float());
    unsupported(op, a, b);
  }
  if (op == "*") {
    if (ints)
      return Value(checked(a.as_int(), b.as_int(),
                           [](int64_t x, int64_t y, int64_t* r) { return __builtin_mul_overflow(x, y, r); }));
    if (nums) return Value(a.as_float() * b.as_float());
    bool a_seq = a.is_string() || a.kind() == Kind::kList || a.kind() == Kind::kTuple;
    bool b_seq = b.is_string() || b.kind() == Kind::kList || b.kind() == Kind::kTuple;
    if (a_seq && is_intlike(b)) return repeat(a, b.as_int(), in);
    if (b_seq && is_intlike(a)) return repeat(b, a.as_int(), in);
    if (a_seq || b_seq) type_error("can't multiply sequence by non-int of type " + quoted_type(a_seq ? b : a));
    unsupported(op, a, b);
  }
  if (op == "/") {
    if (!nums) unsupported(op, a, b);
    if (b.as_float() == 0) type_error("division by zero");
    return Value(a.as_float() / b.as_float());
  }
  if (op == "//") {
    if (!nums) unsupported(op, a, b);
    if (ints) {
      if (b.as_int() == 0) type_error("integer division or modulo by zero");
      if (a.as_int() == INT64_MIN && b.as_int() == -1) type_error(kIntOverflow);
      int64_t q = a.as_int() / b.as_int();
      if ((a.as_int() % b.as_int() != 0) && ((a.as_int() < 0) != (b.as_int() < 0))) --q;
      return Value(q);
    }
    if (b.as_float() == 0) type_error("float floor division by zero");
    return Value(std::floor(a.as_float() / b.as_float()));
  }
  if (op == "%") {
    if (a.is_string()) return Value(percent_format(a.as_string(), b));
    if (!nums) unsupported(op, a, b);
    if (ints) {
      if (b.as_int() == 0) type_error("integer division or modulo by zero");
      if (b.as_int() == -1) return Value(int64_t{0});
      int64_t m = a.as_int() % b.as_int();
      if (m != 0 && ((m < 0) != (b.as_int() < 0))) m += b.as_int();
      return Value(m);
    }
    if (b.as_float() == 0) type_error("float modulo");
    double m = std::fmod(a.as_float(), b.as_float());
    if (m != 0 && ((m < 0) != (b.as_float() < 0))) m += b.as_float();
    return Value(m);
  }
  if (op == "**") {
    if (!nums) unsupported("** or pow()", a, b);
    if (ints && b.as_int() >= 0) {
      int64_t base = a.as_int(), result = 1;
      for (int64_t e = b.as_int(); e > 0; --e) {
        if (__builtin_mul_overflow(result, base, &result)) type_error(kIntOverflow);
        if (result == 0 || result == 1) break;
      }
      return Value(result);
    }
    if (a.as_float() == 0 && b.as_float() < 0) type_error("0.0 cannot be raised to a negative power");
    return Value(std::pow(a.as_float(), b.as_float()));
  }
  type_error("unknown operator " + op);
}

Value negate(const Value& v) {
  require_defined(v);
  if (is_intlike(v)) {
    if (v.as_int() == INT64_MIN) type_error(kIntOverflow);
    return Value(-v.as_int());
  }
  if (v.is_float()) return Value(-v.as_float());
  type_error("bad operand type for unary -: " + quoted_type(v));
}

bool less(const Value& a, const Value& b) {
  require_defined(a);
  require_defined(b);
  if (a.is_number() && b.is_number()) {
    if (is_intlike(a) && is_intlike(b)) return a.as_int() < b.as_int();
    return a.as_float() < b.as_float();
  }
  if (a.is_string() && b.is_string()) return a.as_string() < b.as_string();  // UTF-8 keeps code point order
  if ((a.kind() == Kind::kList || a.kind() == Kind::kTuple) && a.kind() == b.kind()) {
    const auto &x = a.items(), &y = b.items();
    for (size_t i = 0; i < x.size() && i < y.size(); ++i) {
      if (x[i].equals(y[i])) continue;
      return less(x[i], y[i]);
    }
    return x.size() < y.size();
  }
  type_error("'<' not supported between instances of " + quoted_type(a) + " and " + quoted_type(b));
}

bool compare(const std::string& op, const Value& a, const Value& b) {
  if (op == "==") return a.equals(b);
  if (op == "!=") return !a.equals(b);
  if (op == "in") return contains(b, a);
  if (op == "notin") return !contains(b, a);
  if (op == "<") return less(a, b);
  if (op == ">") return less(b, a);
  if (op == "<=") return less(a, b) || a.equals(b);
  if (op == ">=") return less(b, a) || a.equals(b);
  type_error("unknown comparison " + op);
}

bool contains(const Value& c, const Value& item) {
  switch (c.kind()) {
    case Kind::kString:
      if (!item.is_string()) type_error("'in <string>' requires string as left operand, not " + item.type_name());
      return c.as_string().find(item.as_string()) != std::string::npos;
    case Kind::kList:
    case Kind::kTuple:
    case Kind::kIterator:
      for (const Value& v : c.items())
        if (v.equals(item)) return true;
      return false;
    case Kind::kDict:
      return item.is_hashable() && c.as_dict().find(item) != nullptr;
    case Kind::kUndefined:
      if (c.is_unsafe()) fail_undefined(c);
      return false;
    default:
      type_error("argument of type " + quoted_type(c) + " is not iterable");
  }
}

Value getattr(const Value& obj, const std::string& name) {
  if (obj.is_undefined()) fail_undefined(obj);
  if (name.rfind("__", 0) == 0)
    return Value::unsafe(pystr::cat("access to attribute '", name, "' of '", obj.type_name(), "' object is unsafe."));
  if (const Value* f = obj.field(name)) return *f;
  Value m = method(obj, name);
  if (!m.is_undefined() || m.is_unsafe()) return m;
  if (obj.is_dict() || obj.is_namespace()) {
    if (const Value* v = obj.as_dict().find(name)) return *v;
  }
  return Value::undefined(no_attribute(obj, name));
}

Value getitem(const Value& obj, const Value& key) {
  if (obj.is_undefined()) fail_undefined(obj);
  if (obj.is_dict() && key.is_hashable()) {
    if (const Value* v = obj.as_dict().find(key)) return *v;
  }
  if ((obj.is_string() || obj.kind() == Kind::kList || obj.kind() == Kind::kTuple) && is_intlike(key)) {
    int64_t n = obj.is_string() ? static_cast<int64_t>(pystr::length(obj.as_string()))
                                : static_cast<int64_t>(obj.items().size());
    int64_t i = key.as_int() < 0 ? key.as_int() + n : key.as_int();
    if (i >= 0 && i < n) {
      if (!obj.is_string()) return obj.items()[i];
      if (pystr::is_ascii(obj.as_string())) return Value(obj.as_string().substr(i, 1));
      return Value(pystr::encode(pystr::decode(obj.as_string()).substr(i, 1)));
    }
  }
  if (key.is_string()) return getattr(obj, key.as_string());  // jinja2 falls back to the attribute
  return Value::undefined(no_attribute(obj, key.str()));
}

Value slice(const Value& obj, const Value& start, const Value& stop, const Value& step) {
  if (obj.is_undefined()) fail_undefined(obj);
  auto bound = [](const Value& v) -> std::optional<int64_t> {
    if (v.is_none() || v.is_undefined()) return std::nullopt;
    if (!is_intlike(v)) type_error("slice indices must be integers or None");
    return v.as_int();
  };
  int64_t st = bound(step).value_or(1);
  if (st == 0) type_error("slice step cannot be zero");
  if (obj.is_string()) return Value(pystr::slice(obj.as_string(), bound(start), bound(stop), st));
  if (obj.kind() == Kind::kList || obj.kind() == Kind::kTuple) {
    std::vector<Value> out;
    for (int64_t i : pystr::slice_positions(static_cast<int64_t>(obj.items().size()), bound(start), bound(stop), st))
      out.push_back(obj.items()[i]);
    return obj.kind() == Kind::kTuple ? Value::tuple(std::move(out)) : Value::list(std::move(out));
  }
  return Value::undefined(pystr::cat("'", obj.type_name(), " object' is not subscriptable"));
}

std::vector<Value> iterate(const Value& v) {
  switch (v.kind()) {
    case Kind::kList:
    case Kind::kTuple:
    case Kind::kIterator:
      return v.items();
    case Kind::kDict: {
      std::vector<Value> keys;
      for (const auto& [k, _] : v.as_dict().items) keys.push_back(k);
      return keys;
    }
    case Kind::kString: {
      std::vector<Value> chars;
      if (pystr::is_ascii(v.as_string())) {
        for (char c : v.as_string()) chars.emplace_back(std::string(1, c));
      } else {
        for (char32_t c : pystr::decode(v.as_string())) chars.emplace_back(pystr::encode(std::u32string(1, c)));
      }
      return chars;
    }
    case Kind::kUndefined:
      if (v.is_unsafe()) fail_undefined(v);
      return {};
    default:
      type_error(quoted_type(v) + " object is not iterable");
  }
}

int64_t length(const Value& v) {
  switch (v.kind()) {
    case Kind::kString:
      return static_cast<int64_t>(pystr::length(v.as_string()));
    case Kind::kList:
    case Kind::kTuple:
      return static_cast<int64_t>(v.items().size());
    case Kind::kDict:
      return static_cast<int64_t>(v.as_dict().items.size());
    case Kind::kUndefined:
      if (v.is_unsafe()) fail_undefined(v);
      return 0;
    default:
      type_error("object of type " + quoted_type(v) + " has no len()");
  }
}

}  // namespace nucleus::jinja::ops
