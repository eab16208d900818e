#include "text/jinja/filters.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>

#include "text/jinja/args.h"
#include "text/jinja/runtime.h"
#include "text/jinja/json.h"
#include "text/jinja/ops.h"
#include "text/jinja/pystr.h"
#include "text/jinja/text_filters.h"

namespace nucleus::jinja {
namespace {

using FilterFn = std::function<Value(Runtime&, const Value&, Args&)>;

// jinja2's make_attrgetter: "a.b.0" is getitem(getitem(getitem(x, "a"), "b"), 0).
Value lookup_path(const Value& item, const Value& attribute) {
  if (!attribute.is_string()) return ops::getitem(item, attribute);
  Value v = item;
  for (const std::string& part : pystr::split(attribute.as_string(), std::string("."), -1)) {
    bool digits = !part.empty() && std::all_of(part.begin(), part.end(), [](char c) { return c >= '0' && c <= '9'; });
    v = ops::getitem(v, digits ? Value(static_cast<int64_t>(std::stoll(part))) : Value(part));
  }
  return v;
}

// The sort/unique/min/max key: lowercased strings unless case-sensitive.
Value sort_key(const Value& v, bool case_sensitive) {
  return !case_sensitive && v.is_string() ? Value(pystr::lower(v.as_string())) : v;
}

void sort_values(std::vector<Value>& items, const std::vector<Value>& keys, bool reverse) {
  std::vector<size_t> order(items.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  // Python's sort with reverse=True keeps equal items in their original order too.
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return reverse ? ops::less(keys[b], keys[a]) : ops::less(keys[a], keys[b]);
  });
  std::vector<Value> out;
  for (size_t i : order) out.push_back(items[i]);
  items = std::move(out);
}

// Filters that return str methods' results keep a Markup input Markup (soft_str(s).upper(), ...).
Value like(const Value& input, std::string s) {
  return input.is_markup() ? Value::markup(std::move(s)) : Value(std::move(s));
}

// Python's round(x, ndigits) for floats: correctly rounded, ties to even on the exact value.
double py_round(double x, int64_t ndigits) {
  if (!std::isfinite(x) || ndigits > 300) return x;
  if (ndigits < -300) return 0.0 * x;
  char buf[512];
  if (ndigits >= 0) {
    std::snprintf(buf, sizeof(buf), "%.*f", static_cast<int>(ndigits), x);
    return std::strtod(buf, nullptr);
  }
  double scale = std::pow(10.0, static_cast<double>(-ndigits));
  double y = x / scale, r = std::nearbyint(y);
  return r * scale;
}

// select/reject/selectattr/rejectattr: keep items whose (attribute's) test result equals `keep`.
Value select(Runtime& in, const Value& v, Args& args, bool keep, bool by_attr) {
  size_t skip = by_attr ? 1 : 0;
  Value attribute = by_attr && !args.positional.empty() ? args.positional[0] : Value();
  if (by_attr && args.positional.empty()) throw TemplateError("Missing parameter for attribute name");
  if (!v.truthy()) return Value::iterator({});  // jinja2: `if value:` before iterating (none|select is empty)
  std::string test = args.positional.size() > skip ? args.positional[skip].str() : "";
  Args test_args;
  test_args.positional.assign(args.positional.begin() + std::min(args.positional.size(), skip + 1),
                              args.positional.end());
  test_args.keyword = args.keyword;
  std::vector<Value> out;
  for (const Value& item : ops::iterate(v)) {
    Value subject = by_attr ? lookup_path(item, attribute) : item;
    Args a = test_args;
    bool ok = test.empty() ? subject.truthy() : in.apply_test(test, subject, a);
    if (ok == keep) out.push_back(item);
  }
  return Value::iterator(std::move(out));
}

Value map(Runtime& in, const Value& v, Args& args) {
  std::vector<Value> out;
  if (!v.truthy()) return Value::iterator({});  // jinja2: `if value:` before iterating
  const Value* attribute = nullptr;
  Value dflt;
  for (const auto& [k, val] : args.keyword) {
    if (k == "attribute")
      attribute = &val;
    else if (k == "default")
      dflt = val;
  }
  if (attribute) {
    for (const Value& item : ops::iterate(v)) {
      Value r = lookup_path(item, *attribute);
      out.push_back(r.is_undefined() && !dflt.is_undefined() ? dflt : r);
    }
    return Value::iterator(std::move(out));
  }
  if (args.positional.empty()) throw TemplateError("map requires a filter argument");
  std::string filter = args.positional[0].str();
  Args rest;
  rest.positional.assign(args.positional.begin() + 1, args.positional.end());
  rest.keyword = args.keyword;
  for (const Value& item : ops::iterate(v)) {
    Args a = rest;
    out.push_back(in.apply_filter(filter, item, a));
  }
  return Value::iterator(std::move(out));
}

Value tojson(const Value& v, Args& args) {
  auto a = bind("tojson", args,
                {{"ensure_ascii", Value(false)},
                 {"indent", Value(nullptr)},
                 {"separators", Value(nullptr)},
                 {"sort_keys", Value(false)}});
  JsonOptions o;
  o.ensure_ascii = a[0].truthy();
  if (a[1].is_string()) {
    o.indent = a[1].as_string();
  } else if (a[1].is_int() || a[1].is_bool()) {
    o.indent = std::string(static_cast<size_t>(std::clamp<int64_t>(a[1].as_int(), 0, 64)), ' ');
  } else if (!a[1].is_none()) {
    throw TemplateError("indent must be an int or a str");
  }
  if (o.indent) o.item_separator = ",";
  if (!a[2].is_none()) {
    if (!a[2].is_sequence_like() || a[2].items().size() != 2) throw TemplateError("separators must be a pair");
    o.item_separator = a[2].items()[0].str();
    o.key_separator = a[2].items()[1].str();
  }
  o.sort_keys = a[3].truthy();
  return Value(to_json(v, o));
}

Value indent(const Value& v, Args& args) {
  auto a = bind("indent", args, {{"width", Value(4)}, {"first", Value(false)}, {"blank", Value(false)}});
  std::string ind = a[0].is_string() ? a[0].as_string() : std::string(std::clamp<int64_t>(a[0].as_int(), 0, 4096), ' ');
  std::string s = v.str() + "\n";  // jinja2's quirk so that splitlines keeps a trailing empty line
  std::vector<std::string> lines = pystr::splitlines(s);
  std::string rv;
  if (a[2].truthy()) {
    for (size_t i = 0; i < lines.size(); ++i) rv += (i ? "\n" + ind : "") + lines[i];
  } else {
    rv = lines.empty() ? "" : lines[0];
    for (size_t i = 1; i < lines.size(); ++i) rv += "\n" + (lines[i].empty() ? "" : ind + lines[i]);
  }
  if (a[1].truthy()) rv = ind + rv;
  return like(v, std::move(rv));
}

// jinja2's title filter (not str.title): capitalizes each piece after runs of -, space, ( { [ <.
std::string title(const std::string& s) {
  std::u32string t = pystr::decode(s), out;
  auto is_sep = [](char32_t c) {
    return c == '-' || c == '(' || c == '{' || c == '[' || c == '<' || pystr::is_space(c);
  };
  size_t i = 0;
  while (i < t.size()) {
    size_t j = i;
    bool sep = is_sep(t[i]);
    while (j < t.size() && is_sep(t[j]) == sep) ++j;
    std::string piece = pystr::encode(t.substr(i, j - i));
    std::string first = pystr::encode(t.substr(i, 1));
    std::string rest = pystr::encode(t.substr(i + 1, j - i - 1));
    out += pystr::decode(sep ? piece : pystr::upper(first) + pystr::lower(rest));
    i = j;
  }
  return pystr::encode(out);
}

Value to_int(const Value& v, Args& args) {
  auto a = bind("int", args, {{"default", Value(0)}, {"base", Value(10)}});
  if (v.is_int() || v.is_bool()) return Value(v.as_int());
  if (v.is_float()) {
    if (!std::isfinite(v.as_float()) || std::fabs(v.as_float()) > 9.2e18)
      throw TemplateError("cannot convert float to integer");
    return Value(static_cast<int64_t>(v.as_float()));
  }
  if (v.is_string()) {
    std::string s = pystr::strip(v.as_string(), std::nullopt, true, true);
    s.erase(std::remove(s.begin(), s.end(), '_'), s.end());
    int base = static_cast<int>(a[1].as_int());
    char* end = nullptr;
    errno = 0;
    long long i = s.empty() ? 0 : std::strtoll(s.c_str(), &end, base);
    if (!s.empty() && end && *end == '\0' && errno == 0) return Value(static_cast<int64_t>(i));
    end = nullptr;
    double f = s.empty() ? 0 : std::strtod(s.c_str(), &end);
    if (!s.empty() && end && *end == '\0' && std::isfinite(f) && std::fabs(f) < 9.2e18)
      return Value(static_cast<int64_t>(f));
  }
  return a[0];
}

Value to_float(const Value& v, Args& args) {
  auto a = bind("float", args, {{"default", Value(0.0)}});
  if (v.is_number()) return Value(v.as_float());
  if (v.is_string()) {
    std::string s = pystr::strip(v.as_string(), std::nullopt, true, true);
    char* end = nullptr;
    double f = s.empty() ? 0 : std::strtod(s.c_str(), &end);
    if (!s.empty() && end && *end == '\0') return Value(f);
  }
  return a[0];
}

// jinja2's slice filter: `slices` lists of near-equal length, the first ones one item longer;
// fill_with pads the shorter ones.
Value slice_filter(Runtime& in, const Value& v, Args& args) {
  auto a = bind("slice", args, {"slices", {"fill_with", Value(nullptr)}});
  if (!a[0].is_int()) throw TemplateError("slice: slices must be an integer");
  std::vector<Value> seq = ops::iterate(v);
  const int64_t slices = a[0].as_int(), length = static_cast<int64_t>(seq.size());
  if (slices == 0) throw TemplateError("integer division or modulo by zero");
  if (slices < 0) return Value::iterator({});  // Python's range(slices) is empty
  in.check_items(static_cast<size_t>(slices));
  const int64_t per_slice = length / slices, with_extra = length % slices;
  std::vector<Value> out;
  int64_t offset = 0;
  for (int64_t k = 0; k < slices; ++k) {
    int64_t start = offset + k * per_slice;
    if (k < with_extra) ++offset;
    int64_t end = offset + (k + 1) * per_slice;
    std::vector<Value> part(seq.begin() + start, seq.begin() + end);
    if (!a[1].is_none() && k >= with_extra) part.push_back(a[1]);
    out.push_back(Value::list(std::move(part)));
  }
  return Value::iterator(std::move(out));
}

// jinja2's groupby: sorted by the attribute (case-insensitively unless asked), consecutive equal
// keys grouped into (grouper, list) named tuples; an item without the attribute uses `default`.
Value groupby(const Value& v, Args& args) {
  auto a = bind("groupby", args, {"attribute", {"default", Value(nullptr)}, {"case_sensitive", Value(false)}});
  auto key_of = [&](const Value& item) {
    Value k = lookup_path(item, a[0]);
    return k.is_undefined() && !a[1].is_none() ? a[1] : k;
  };
  std::vector<Value> items = ops::iterate(v), keys;
  for (const Value& item : items) keys.push_back(sort_key(key_of(item), a[2].truthy()));
  sort_values(items, keys, false);
  std::vector<Value> sorted_keys;
  for (const Value& item : items) sorted_keys.push_back(sort_key(key_of(item), a[2].truthy()));
  std::vector<Value> out;
  for (size_t i = 0; i < items.size();) {
    size_t j = i;
    while (j < items.size() && sorted_keys[j].equals(sorted_keys[i])) ++j;
    // The grouper is the first item's own key, in its own case.
    Value grouper = key_of(items[i]);
    out.push_back(Value::named_tuple({grouper, Value::list({items.begin() + i, items.begin() + j})}, {"grouper", "list"}));
    i = j;
  }
  return Value::list(std::move(out));
}

Value min_max(const Value& v, Args& args, bool max) {
  auto a = bind(max ? "max" : "min", args, {{"case_sensitive", Value(false)}, {"attribute", Value(nullptr)}});
  std::vector<Value> items = ops::iterate(v);
  if (items.empty()) return Value::undefined(std::string("No aggregated item, sequence was empty."));
  size_t best = 0;
  auto key = [&](size_t i) { return sort_key(a[1].is_none() ? items[i] : lookup_path(items[i], a[1]), a[0].truthy()); };
  for (size_t i = 1; i < items.size(); ++i)
    if (max ? ops::less(key(best), key(i)) : ops::less(key(i), key(best))) best = i;
  return items[best];
}

const std::map<std::string, FilterFn, std::less<>>& filters() {
  static const std::map<std::string, FilterFn, std::less<>> f = [] {
    std::map<std::string, FilterFn, std::less<>> m;
    auto plain = [](std::function<Value(const Value&, Args&)> fn) {
      return [fn](Runtime&, const Value& v, Args& a) { return fn(v, a); };
    };
    m["tojson"] = plain(tojson);
    m["indent"] = plain(indent);
    m["int"] = plain(to_int);
    m["float"] = plain(to_float);
    m["map"] = map;
    m["select"] = [](Runtime& in, const Value& v, Args& a) { return select(in, v, a, true, false); };
    m["reject"] = [](Runtime& in, const Value& v, Args& a) { return select(in, v, a, false, false); };
    m["selectattr"] = [](Runtime& in, const Value& v, Args& a) { return select(in, v, a, true, true); };
    m["rejectattr"] = [](Runtime& in, const Value& v, Args& a) { return select(in, v, a, false, true); };
    m["slice"] = slice_filter;
    m["truncate"] = plain(text_filters::truncate);
    m["wordwrap"] = plain(text_filters::wordwrap);
    m["striptags"] = plain(text_filters::striptags);
    m["filesizeformat"] = plain(text_filters::filesizeformat);
    m["urlencode"] = plain(text_filters::urlencode);
    m["xmlattr"] = plain(text_filters::xmlattr);
    m["pprint"] = plain(text_filters::pprint);
    m["groupby"] = plain(groupby);
    m["min"] = plain([](const Value& v, Args& a) { return min_max(v, a, false); });
    m["max"] = plain([](const Value& v, Args& a) { return min_max(v, a, true); });
    m["safe"] = plain([](const Value& v, Args& a) { return bind("safe", a, {}), Value::markup(v.str()); });
    m["string"] = plain([](const Value& v, Args& a) { return bind("string", a, {}), like(v, v.str()); });
    m["escape"] = m["e"] = m["forceescape"] =
        plain([](const Value& v, Args&) { return v.is_markup() ? v : Value::markup(ops::html_escape(v.str())); });
    m["upper"] = plain([](const Value& v, Args&) { return like(v, pystr::upper(v.str())); });
    m["lower"] = plain([](const Value& v, Args&) { return like(v, pystr::lower(v.str())); });
    m["title"] = plain([](const Value& v, Args&) { return like(v, title(v.str())); });
    m["capitalize"] = plain([](const Value& v, Args&) { return like(v, pystr::capitalize(v.str())); });
    m["trim"] = plain([](const Value& v, Args& args) {
      auto a = bind("trim", args, {{"chars", Value(nullptr)}});
      std::optional<std::string> chars;
      if (!a[0].is_none()) chars = a[0].str();
      return like(v, pystr::strip(v.str(), chars, true, true));
    });
    m["length"] = m["count"] = plain([](const Value& v, Args&) { return Value(ops::length(v)); });
    m["wordcount"] = plain([](const Value& v, Args&) {
      return Value(static_cast<int64_t>(pystr::split(v.str(), std::nullopt, -1).size()));
    });
    m["default"] = m["d"] = plain([](const Value& v, Args& args) {
      auto a = bind("default", args, {{"default_value", Value("")}, {"boolean", Value(false)}});
      return v.is_undefined() || (a[1].truthy() && !v.truthy()) ? a[0] : v;
    });
    m["join"] = [](Runtime& in, const Value& v, Args& args) {
      auto a = bind("join", args, {{"d", Value("")}, {"attribute", Value(nullptr)}});
      std::string out, sep = a[0].str();
      bool first = true;
      for (const Value& item : ops::iterate(v)) {
        if (!first) out += sep;
        out += (a[1].is_none() ? item : lookup_path(item, a[1])).str();
        first = false;
        in.check_size(out.size());
      }
      return Value(std::move(out));
    };
    m["first"] = plain([](const Value& v, Args&) {
      std::vector<Value> items = ops::iterate(v);
      return items.empty() ? Value::undefined("No first item, sequence was empty.") : items.front();
    });
    m["last"] = plain([](const Value& v, Args&) {
      if (v.kind() == Kind::kIterator) throw TemplateError("'generator' object is not reversible");
      std::vector<Value> items = ops::iterate(v);
      return items.empty() ? Value::undefined("No last item, sequence was empty.") : items.back();
    });
    m["list"] = plain([](const Value& v, Args&) { return Value::list(ops::iterate(v)); });
    m["items"] = plain([](const Value& v, Args&) {
      if (v.is_undefined()) return Value::iterator({});
      if (!v.is_dict()) throw TemplateError("Can only get item pairs from a mapping.");
      std::vector<Value> out;
      for (const auto& [k, val] : v.as_dict().items) out.push_back(Value::tuple({k, val}));
      return Value::iterator(std::move(out));
    });
    m["dictsort"] = plain([](const Value& v, Args& args) {
      auto a =
          bind("dictsort", args, {{"case_sensitive", Value(false)}, {"by", Value("key")}, {"reverse", Value(false)}});
      if (!v.is_dict()) throw TemplateError("dictsort: a mapping is required");
      int pos = a[1].str() == "key" ? 0 : a[1].str() == "value" ? 1 : -1;
      if (pos < 0) throw TemplateError("You can only sort by either \"key\" or \"value\"");
      std::vector<Value> items, keys;
      for (const auto& [k, val] : v.as_dict().items) {
        items.push_back(Value::tuple({k, val}));
        keys.push_back(sort_key(pos == 0 ? k : val, a[0].truthy()));
      }
      sort_values(items, keys, a[2].truthy());
      return Value::list(std::move(items));
    });
    m["sort"] = plain([](const Value& v, Args& args) {
      auto a = bind("sort", args,
                    {{"reverse", Value(false)}, {"case_sensitive", Value(false)}, {"attribute", Value(nullptr)}});
      std::vector<Value> items = ops::iterate(v), keys;
      for (const Value& item : items)
        keys.push_back(sort_key(a[2].is_none() ? item : lookup_path(item, a[2]), a[1].truthy()));
      sort_values(items, keys, a[0].truthy());
      return Value::list(std::move(items));
    });
    m["unique"] = plain([](const Value& v, Args& args) {
      auto a = bind("unique", args, {{"case_sensitive", Value(false)}, {"attribute", Value(nullptr)}});
      std::vector<Value> out, seen;
      for (const Value& item : ops::iterate(v)) {
        Value key = sort_key(a[1].is_none() ? item : lookup_path(item, a[1]), a[0].truthy());
        if (std::any_of(seen.begin(), seen.end(), [&](const Value& s) { return s.equals(key); })) continue;
        seen.push_back(key);
        out.push_back(item);
      }
      return Value::iterator(std::move(out));
    });
    m["reverse"] = plain([](const Value& v, Args&) {
      if (v.is_string()) return Value(pystr::slice(v.as_string(), std::nullopt, std::nullopt, -1));
      std::vector<Value> items = ops::iterate(v);
      std::reverse(items.begin(), items.end());
      return Value::iterator(std::move(items));
    });
    m["replace"] = [](Runtime& in, const Value& v, Args& args) {
      auto a = bind("replace", args, {"old", "new", {"count", Value(nullptr)}});
      std::string s = v.str(), old = a[0].str(), repl = a[1].str();
      int64_t count = a[2].is_none() ? -1 : a[2].as_int();
      int64_t hits = old.empty() ? static_cast<int64_t>(pystr::length(s)) + 1 : pystr::count(s, old);
      if (count >= 0) hits = std::min(hits, count);
      in.check_size(s.size() + static_cast<size_t>(hits) * repl.size());
      return Value(pystr::replace(s, old, repl, count));
    };
    m["round"] = plain([](const Value& v, Args& args) {
      auto a = bind("round", args, {{"precision", Value(0)}, {"method", Value("common")}});
      std::string method = a[1].str();
      if (method != "common" && method != "ceil" && method != "floor")
        throw TemplateError("method must be common, ceil or floor");
      if (!v.is_number()) throw TemplateError("type " + v.type_name() + " doesn't define __round__ method");
      int64_t p = a[0].as_int();
      if (method == "common") {
        if (!v.is_float()) return Value(v.as_int());  // round(int, n) stays an int
        return Value(py_round(v.as_float(), p));
      }
      double scale = std::pow(10.0, static_cast<double>(p));
      double x = v.as_float() * scale;
      return Value((method == "ceil" ? std::ceil(x) : std::floor(x)) / scale);
    });
    m["abs"] = plain([](const Value& v, Args&) {
      if (v.is_float()) return Value(std::fabs(v.as_float()));
      if (v.is_number()) return v.as_int() < 0 ? ops::negate(v) : Value(v.as_int());
      throw TemplateError("bad operand type for abs(): '" + v.type_name() + "'");
    });
    m["sum"] = [](Runtime& in, const Value& v, Args& args) {
      auto a = bind("sum", args, {{"attribute", Value(nullptr)}, {"start", Value(0)}});
      Value total = a[1];
      for (const Value& item : ops::iterate(v))
        total = ops::binary("+", total, a[0].is_none() ? item : lookup_path(item, a[0]), in);
      return total;
    };
    m["attr"] = plain([](const Value& v, Args& args) {
      // Python attributes only (methods here), never dict keys: {'a': 1}|attr('a') is undefined.
      std::string name = bind("attr", args, {"name"})[0].str();
      Value m = ops::method(v, name);
      return m.is_undefined() && !m.is_unsafe()
                 ? Value::undefined("'" + v.type_name() + " object' has no attribute '" + name + "'")
                 : m;
    });
    m["center"] = plain([](const Value& v, Args& args) {
      auto a = bind("center", args, {{"width", Value(80)}});
      std::string s = v.str();
      size_t len = pystr::length(s), width = static_cast<size_t>(std::clamp<int64_t>(a[0].as_int(), 0, 1 << 16));
      if (len >= width) return Value(s);
      size_t pad = width - len, left = pad / 2 + (pad & width & 1);
      return Value(std::string(left, ' ') + s + std::string(pad - left, ' '));
    });
    m["batch"] = plain([](const Value& v, Args& args) {
      auto a = bind("batch", args, {"linecount", {"fill_with", Value(nullptr)}});
      int64_t n = a[0].as_int();
      if (n <= 0) throw TemplateError("batch size must be positive");
      std::vector<Value> out, cur;
      for (const Value& item : ops::iterate(v)) {
        cur.push_back(item);
        if (static_cast<int64_t>(cur.size()) == n) out.push_back(Value::list(std::exchange(cur, {})));
      }
      if (!cur.empty()) {
        if (!a[1].is_none())
          while (static_cast<int64_t>(cur.size()) < n) cur.push_back(a[1]);
        out.push_back(Value::list(std::move(cur)));
      }
      return Value::iterator(std::move(out));
    });
    m["format"] = [](Runtime& in, const Value& v, Args& args) {
      // jinja2: str(value) % (kwargs or args)
      if (!args.keyword.empty() && !args.positional.empty())
        throw TemplateError("can't handle positional and keyword arguments at the same time");
      Dict kwargs;
      for (const auto& [k, val] : args.keyword) kwargs.set(Value(k), val);
      Value operand = args.keyword.empty() ? Value::tuple(args.positional) : Value::dict(std::move(kwargs));
      return ops::binary("%", Value(v.str()), operand, in);
    };
    return m;
  }();
  return f;
}

}  // namespace

bool has_filter(std::string_view name) { return filters().count(name) > 0; }

Value run_filter(Runtime& in, const std::string& name, const Value& v, Args& args) {
  auto it = filters().find(name);
  if (it == filters().end()) throw TemplateError("No filter named '" + name + "' found.");
  return it->second(in, v, args);
}

}  // namespace nucleus::jinja
