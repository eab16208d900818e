#include "text/jinja/globals.h"

#include <ctime>

#include "text/jinja/args.h"
#include "text/jinja/error.h"
#include "text/jinja/ops.h"

namespace nucleus::jinja {
namespace {

// jinja2's sandbox refuses ranges longer than this (MAX_RANGE).
constexpr int64_t kMaxRange = 100000;

Value range(Runtime& in, Args& args) {
  if (!args.keyword.empty()) throw TemplateError("range() takes no keyword arguments");
  std::vector<int64_t> a;
  for (const Value& v : args.positional) {
    if (!v.is_int() && !v.is_bool())
      throw TemplateError("'" + v.type_name() + "' object cannot be interpreted as an integer");
    a.push_back(v.as_int());
  }
  if (a.empty() || a.size() > 3) throw TemplateError("range expected 1 to 3 arguments");
  int64_t start = a.size() == 1 ? 0 : a[0], stop = a.size() == 1 ? a[0] : a[1], step = a.size() == 3 ? a[2] : 1;
  if (step == 0) throw TemplateError("range() arg 3 must not be zero");
  std::vector<Value> out;
  for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step) {
    if (static_cast<int64_t>(out.size()) >= kMaxRange)
      throw TemplateError("Range too big. The sandbox blocks ranges larger than MAX_RANGE (100000).");
    out.emplace_back(i);
    if ((step > 0 && i > INT64_MAX - step) || (step < 0 && i < INT64_MIN - step)) break;
  }
  in.check_items(out.size());
  std::string repr = "range(" + std::to_string(start) + ", " + std::to_string(stop);
  if (step != 1) repr += ", " + std::to_string(step);
  return Value::range(std::move(out), repr + ")");
}

// transformers' TemplateNamespace: namespace(dict?, **attrs), no underscore-prefixed names.
Value make_namespace(Runtime&, Args& args) {
  Dict d;
  if (args.positional.size() > 1) throw TemplateError("namespace() takes at most one positional argument");
  if (!args.positional.empty()) {
    const Value& init = args.positional[0];
    if (!init.is_dict()) throw TemplateError("namespace() argument must be a mapping");
    d = init.as_dict();
  }
  for (const auto& [k, v] : args.keyword) d.set(k, v);
  for (const auto& [k, v] : d.items)
    if (k.is_string() && !k.as_string().empty() && k.as_string()[0] == '_')
      throw TemplateError("Chat templates cannot store underscore-prefixed attributes on a namespace, but got " +
                          k.repr() + ". Please rename the attribute.");
  return Value::namespace_(std::move(d));
}

Value make_dict(Runtime&, Args& args) {
  Dict d;
  if (args.positional.size() > 1) throw TemplateError("dict expected at most 1 argument");
  if (!args.positional.empty()) {
    const Value& init = args.positional[0];
    if (init.is_dict()) {
      d = init.as_dict();
    } else {
      for (const Value& pair : ops::iterate(init)) {
        std::vector<Value> kv = ops::iterate(pair);
        if (kv.size() != 2) throw TemplateError("dict() needs (key, value) pairs");
        d.set(kv[0], kv[1]);
      }
    }
  }
  for (const auto& [k, v] : args.keyword) d.set(k, v);
  return Value::dict(std::move(d));
}

Value raise_exception(Runtime&, Args& args) {
  auto a = bind("raise_exception", args, {"message"});
  throw RaisedException(a[0].str());
}

// jinja2's Cycler: next() returns the current item and advances; .current is the item next()
// returns next time. The methods reach the object through a weak pointer (no reference cycle).
Value cycler(Runtime&, Args& args) {
  if (args.positional.empty()) throw TemplateError("cycler() needs at least one item");
  auto state = std::make_shared<size_t>(0);
  std::vector<Value> items = args.positional;
  Value self = Value::namespace_();
  std::weak_ptr<Dict> dict = self.weak_dict();
  auto move_to = [state, items, dict](size_t pos) {
    *state = pos % items.size();
    if (auto d = dict.lock()) d->set("current", items[*state]);
  };
  Dict& d = self.as_dict();
  d.set("items", Value::list(items));
  d.set("next", Value::function("next", [state, items, move_to](Runtime&, Args&) {
          Value v = items[*state];
          move_to(*state + 1);
          return v;
        }));
  d.set("reset", Value::function("reset", [move_to](Runtime&, Args&) {
          move_to(0);
          return Value(nullptr);
        }));
  d.set("current", items[0]);
  return self;
}

Value joiner(Runtime&, Args& args) {
  auto a = bind("joiner", args, {{"sep", Value(", ")}});
  auto used = std::make_shared<bool>(false);
  std::string sep = a[0].str();
  return Value::function("joiner", [used, sep](Runtime&, Args&) {
    bool first = !*used;
    *used = true;
    return Value(first ? std::string() : sep);
  });
}

}  // namespace

Dict make_globals(const RenderOptions& options) {
  Dict g;
  g.set("range", Value::function("range", range));
  g.set("namespace", Value::function("namespace", make_namespace));
  g.set("dict", Value::function("dict", make_dict));
  g.set("raise_exception", Value::function("raise_exception", raise_exception));
  g.set("cycler", Value::function("cycler", cycler));
  g.set("joiner", Value::function("joiner", joiner));
  std::optional<std::tm> now = options.now;
  g.set("strftime_now", Value::function("strftime_now", [now](Runtime&, Args& args) {
          auto a = bind("strftime_now", args, {"format"});
          std::tm tm{};
          if (now) {
            tm = *now;
          } else {
            std::time_t t = std::time(nullptr);
            localtime_r(&t, &tm);
          }
          std::string fmt = a[0].str();
          if (fmt.size() > 256) throw TemplateError("strftime format too long");
          char buf[1024];
          size_t n = fmt.empty() ? 0 : std::strftime(buf, sizeof(buf), fmt.c_str(), &tm);
          return Value(std::string(buf, n));
        }));
  return g;
}

}  // namespace nucleus::jinja
