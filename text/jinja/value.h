// The dynamic value of the Jinja interpreter: what Python objects are to jinja2, restricted to
// what chat templates see (JSON data, plus the few Python types templates create themselves).
// Containers have Python's reference semantics: copying a Value shares its list, dict or
// namespace, so `{% set ns.x = ... %}` seen through any copy is the same object.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace nucleus::jinja {

class Value;
class Runtime;

// Python's dict: insertion-ordered; keys are strings (JSON objects) or other scalars (a template's
// own literals such as {0: 0, 512: 128}); 1, 1.0 and True are the same key, as in Python. Lookup
// is linear: template dicts are small.
struct Dict {
  std::vector<std::pair<Value, Value>> items;

  const Value* find(std::string_view key) const;
  const Value* find(const std::string& key) const { return find(std::string_view(key)); }
  const Value* find(const char* key) const { return find(std::string_view(key)); }
  const Value* find(const Value& key) const;
  void set(Value key, Value value);
};

// Arguments of a call: positional, then keyword (in call order).
struct Args {
  std::vector<Value> positional;
  std::vector<std::pair<std::string, Value>> keyword;
};

// A callable: a global function (range, namespace, raise_exception, ...), a macro, or a bound
// method such as the `strip` of `s.strip()`.
struct Function {
  std::string name;
  std::function<Value(Runtime&, Args&)> call;
};

enum class Kind {
  kUndefined,  // jinja2's default Undefined: prints "", falsy, iterates empty, errors on most else
  kNone,
  kBool,
  kInt,
  kFloat,
  kString,
  kList,
  kTuple,     // printed as (a, b); from dict.items(), tuple literals
  kIterator,  // a Python generator/iterator (map, select, reverse, ...): iterable but not JSON
  kDict,
  kNamespace,  // namespace(): attribute assignment allowed, not a mapping
  kFunction,
};

class Value {
 public:
  Value() = default;  // undefined
  Value(std::nullptr_t) : kind_(Kind::kNone) {}
  Value(bool b) : kind_(Kind::kBool), int_(b) {}
  Value(int i) : kind_(Kind::kInt), int_(i) {}
  Value(int64_t i) : kind_(Kind::kInt), int_(i) {}
  Value(double f) : kind_(Kind::kFloat), float_(f) {}
  Value(std::string s) : kind_(Kind::kString), str_(std::move(s)) {}
  Value(const char* s) : kind_(Kind::kString), str_(s) {}
  Value(std::string_view s) : kind_(Kind::kString), str_(s) {}

  static Value undefined(std::string hint = {});
  // An attribute the sandbox refuses (list.append, _private, ...): any use raises a security error.
  static Value unsafe(std::string message);
  static Value list(std::vector<Value> items = {});
  static Value tuple(std::vector<Value> items);
  // A namedtuple (groupby's (grouper, list)): a tuple whose items are also attributes.
  static Value named_tuple(std::vector<Value> items, const std::vector<std::string>& fields);
  // range(...): a list of its ints that prints as Python's range object, "range(0, 3)".
  static Value range(std::vector<Value> items, std::string repr);
  static Value iterator(std::vector<Value> items);
  static Value dict(Dict d = {});
  static Value namespace_(Dict d = {});
  static Value function(std::string name, std::function<Value(Runtime&, Args&)> fn);
  // JSON to Value. Use ordered_json to keep the object key order a client sent: Python keeps it,
  // and templates print dicts (tojson, items) in that order. nlohmann::json sorts the keys.
  static Value from_json(const nlohmann::ordered_json& j);
  static Value from_json(const nlohmann::json& j);

  Kind kind() const { return kind_; }
  bool is_undefined() const { return kind_ == Kind::kUndefined; }
  bool is_none() const { return kind_ == Kind::kNone; }
  bool is_bool() const { return kind_ == Kind::kBool; }
  bool is_int() const { return kind_ == Kind::kInt; }
  bool is_float() const { return kind_ == Kind::kFloat; }
  bool is_number() const { return kind_ == Kind::kInt || kind_ == Kind::kFloat || kind_ == Kind::kBool; }
  bool is_string() const { return kind_ == Kind::kString; }
  bool is_sequence_like() const { return kind_ == Kind::kList || kind_ == Kind::kTuple || kind_ == Kind::kIterator; }
  bool is_dict() const { return kind_ == Kind::kDict; }
  bool is_namespace() const { return kind_ == Kind::kNamespace; }
  bool is_function() const { return kind_ == Kind::kFunction; }
  bool is_unsafe() const { return kind_ == Kind::kUndefined && unsafe_; }
  // A string marked safe (markupsafe's Markup, from the `safe` and `escape` filters): adding a plain
  // string to it HTML-escapes the plain one, as Python's Markup.__add__ does.
  bool is_markup() const { return kind_ == Kind::kString && unsafe_; }
  static Value markup(std::string s);
  // Whether this value can be a dict key (Python: hashable); lists, dicts and the like cannot.
  bool is_hashable() const;

  bool as_bool() const { return int_ != 0; }
  int64_t as_int() const { return int_; }  // also bools (Python's bool is an int)
  double as_float() const { return kind_ == Kind::kFloat ? float_ : static_cast<double>(int_); }
  const std::string& as_string() const { return str_; }
  const std::string& undefined_hint() const { return str_; }
  std::vector<Value>& items() const { return *list_; }  // list, tuple, iterator
  Dict& as_dict() const { return *dict_; }              // dict, namespace
  // For an object's own methods that update it (cycler.next sets .current) without owning it.
  std::weak_ptr<Dict> weak_dict() const { return dict_; }
  const Function& as_function() const { return *fn_; }
  // A named tuple's field, or null for any other value.
  const Value* field(std::string_view name) const;

  bool truthy() const;
  // Python's str(): what `{{ value }}` prints. Throws for an unsafe value.
  std::string str() const;
  // Python's repr(): how a value prints inside a list or dict.
  std::string repr() const;
  // The type name as jinja2 writes it in messages: "str", "list", "dict", "NoneType", ...
  std::string type_name() const;
  // Python's ==; sameas() is Python's `is` (identity of containers, equality of scalars).
  bool equals(const Value& other) const;
  bool same_as(const Value& other) const;

 private:
  Kind kind_ = Kind::kUndefined;
  bool unsafe_ = false;  // undefined: refused by the sandbox; string: Markup
  int64_t int_ = 0;
  double float_ = 0;
  std::string str_;  // string value, an undefined's message, or a range's repr
  std::shared_ptr<std::vector<Value>> list_;
  std::shared_ptr<Dict> dict_;  // dict, namespace, or a named tuple's fields
  std::shared_ptr<Function> fn_;
};

}  // namespace nucleus::jinja
