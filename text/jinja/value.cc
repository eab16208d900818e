#include "text/jinja/value.h"

#include <nlohmann/json.hpp>

#include "text/jinja/error.h"
#include "text/jinja/pystr.h"

namespace nucleus::jinja {

const Value* Dict::find(std::string_view key) const {
  for (const auto& [k, v] : items)
    if (k.is_string() && k.as_string() == key) return &v;
  return nullptr;
}

const Value* Dict::find(const Value& key) const {
  for (const auto& [k, v] : items)
    if (k.equals(key)) return &v;
  return nullptr;
}

void Dict::set(Value key, Value value) {
  if (!key.is_hashable()) throw TemplateError("unhashable type: '" + key.type_name() + "'");
  if (const Value* v = find(key)) {
    *const_cast<Value*>(v) = std::move(value);
  } else {
    items.emplace_back(std::move(key), std::move(value));
  }
}

Value Value::markup(std::string s) {
  Value v(std::move(s));
  v.unsafe_ = true;
  return v;
}

bool Value::is_hashable() const {
  switch (kind_) {
    case Kind::kNone:
    case Kind::kBool:
    case Kind::kInt:
    case Kind::kFloat:
    case Kind::kString:
      return true;
    case Kind::kTuple:
      for (const Value& v : *list_)
        if (!v.is_hashable()) return false;
      return true;
    default:
      return false;
  }
}

Value Value::undefined(std::string hint) {
  Value v;
  v.str_ = std::move(hint);
  return v;
}

Value Value::unsafe(std::string message) {
  Value v = undefined(std::move(message));
  v.unsafe_ = true;
  return v;
}

Value Value::list(std::vector<Value> items) {
  Value v;
  v.kind_ = Kind::kList;
  v.list_ = std::make_shared<std::vector<Value>>(std::move(items));
  return v;
}

Value Value::tuple(std::vector<Value> items) {
  Value v = list(std::move(items));
  v.kind_ = Kind::kTuple;
  return v;
}

Value Value::named_tuple(std::vector<Value> items, const std::vector<std::string>& fields) {
  Dict d;
  for (size_t i = 0; i < fields.size() && i < items.size(); ++i) d.items.emplace_back(Value(fields[i]), items[i]);
  Value v = tuple(std::move(items));
  v.dict_ = std::make_shared<Dict>(std::move(d));
  return v;
}

Value Value::range(std::vector<Value> items, std::string repr) {
  Value v = list(std::move(items));
  v.str_ = std::move(repr);
  return v;
}

const Value* Value::field(std::string_view name) const {
  if (kind_ != Kind::kTuple || !dict_) return nullptr;
  return dict_->find(name);
}

Value Value::iterator(std::vector<Value> items) {
  Value v = list(std::move(items));
  v.kind_ = Kind::kIterator;
  return v;
}

Value Value::dict(Dict d) {
  Value v;
  v.kind_ = Kind::kDict;
  v.dict_ = std::make_shared<Dict>(std::move(d));
  return v;
}

Value Value::namespace_(Dict d) {
  Value v = dict(std::move(d));
  v.kind_ = Kind::kNamespace;
  return v;
}

Value Value::function(std::string name, std::function<Value(Runtime&, Args&)> fn) {
  Value v;
  v.kind_ = Kind::kFunction;
  v.fn_ = std::make_shared<Function>(Function{std::move(name), std::move(fn)});
  return v;
}

namespace {

template <typename Json>
Value value_from_json(const Json& j) {
  switch (j.type()) {
    case nlohmann::json::value_t::null:
      return Value(nullptr);
    case nlohmann::json::value_t::boolean:
      return Value(j.template get<bool>());
    case nlohmann::json::value_t::number_integer:
      return Value(j.template get<int64_t>());
    case nlohmann::json::value_t::number_unsigned: {
      auto u = j.template get<uint64_t>();
      return u <= static_cast<uint64_t>(INT64_MAX) ? Value(static_cast<int64_t>(u)) : Value(static_cast<double>(u));
    }
    case nlohmann::json::value_t::number_float:
      return Value(j.template get<double>());
    case nlohmann::json::value_t::string:
      return Value(j.template get<std::string>());
    case nlohmann::json::value_t::array: {
      std::vector<Value> items;
      items.reserve(j.size());
      for (const auto& e : j) items.push_back(value_from_json(e));
      return Value::list(std::move(items));
    }
    case nlohmann::json::value_t::object: {
      Dict d;
      d.items.reserve(j.size());
      for (auto it = j.begin(); it != j.end(); ++it) d.items.emplace_back(it.key(), value_from_json(it.value()));
      return Value::dict(std::move(d));
    }
    default:
      return Value(nullptr);  // binary and discarded values do not occur in parsed JSON text
  }
}

}  // namespace

Value Value::from_json(const nlohmann::ordered_json& j) { return value_from_json(j); }
Value Value::from_json(const nlohmann::json& j) { return value_from_json(j); }

bool Value::truthy() const {
  switch (kind_) {
    case Kind::kUndefined:
    case Kind::kNone:
      return false;
    case Kind::kBool:
    case Kind::kInt:
      return int_ != 0;
    case Kind::kFloat:
      return float_ != 0;
    case Kind::kString:
      return !str_.empty();
    case Kind::kList:
    case Kind::kTuple:
      return !list_->empty();
    case Kind::kDict:
      return !dict_->items.empty();
    default:
      return true;  // iterators, namespaces, functions: Python objects without __bool__/__len__
  }
}

std::string Value::str() const {
  switch (kind_) {
    case Kind::kUndefined:
      if (unsafe_) throw TemplateError(str_);
      return "";
    case Kind::kString:
      return str_;
    default:
      return repr();
  }
}

std::string Value::repr() const {
  switch (kind_) {
    case Kind::kUndefined:
      return "Undefined";  // repr(Undefined()): what `[x.missing]` prints
    case Kind::kNone:
      return "None";
    case Kind::kBool:
      return int_ ? "True" : "False";
    case Kind::kInt:
      return std::to_string(int_);
    case Kind::kFloat:
      return pystr::float_repr(float_);
    case Kind::kString:
      return pystr::string_repr(str_);
    case Kind::kList:
    case Kind::kTuple: {
      if (!str_.empty()) return str_;  // a range
      bool tuple = kind_ == Kind::kTuple;
      std::string out = tuple ? "(" : "[";
      for (size_t i = 0; i < list_->size(); ++i) out += (i ? ", " : "") + (*list_)[i].repr();
      if (tuple && list_->size() == 1) out += ",";
      return out + (tuple ? ")" : "]");
    }
    case Kind::kDict: {
      std::string out = "{";
      for (size_t i = 0; i < dict_->items.size(); ++i)
        out += (i ? ", " : "") + dict_->items[i].first.repr() + ": " + dict_->items[i].second.repr();
      return out + "}";
    }
    case Kind::kNamespace: {
      std::string out = "<Namespace {";
      for (size_t i = 0; i < dict_->items.size(); ++i)
        out += (i ? ", " : "") + dict_->items[i].first.repr() + ": " + dict_->items[i].second.repr();
      return out + "}>";
    }
    case Kind::kIterator:
      return "<generator object>";  // Python adds an address; no template can depend on it
    case Kind::kFunction:
      return "<function " + fn_->name + ">";
  }
  return "";
}

std::string Value::type_name() const {
  switch (kind_) {
    case Kind::kUndefined:
      return "Undefined";
    case Kind::kNone:
      return "NoneType";
    case Kind::kBool:
      return "bool";
    case Kind::kInt:
      return "int";
    case Kind::kFloat:
      return "float";
    case Kind::kString:
      return "str";
    case Kind::kList:
      return "list";
    case Kind::kTuple:
      return "tuple";
    case Kind::kIterator:
      return "generator";
    case Kind::kDict:
      return "dict";
    case Kind::kNamespace:
      return "Namespace";
    case Kind::kFunction:
      return "function";
  }
  return "object";
}

bool Value::equals(const Value& o) const {
  if (is_number() && o.is_number()) {
    if (kind_ == Kind::kFloat || o.kind_ == Kind::kFloat) return as_float() == o.as_float();
    return int_ == o.int_;
  }
  if (kind_ != o.kind_) return false;
  switch (kind_) {
    case Kind::kUndefined:
    case Kind::kNone:
      return true;
    case Kind::kString:
      return str_ == o.str_;
    case Kind::kList:
    case Kind::kTuple: {
      if (list_->size() != o.list_->size()) return false;
      for (size_t i = 0; i < list_->size(); ++i)
        if (!(*list_)[i].equals((*o.list_)[i])) return false;
      return true;
    }
    case Kind::kDict: {
      if (dict_->items.size() != o.dict_->items.size()) return false;
      for (const auto& [k, v] : dict_->items) {
        const Value* ov = o.dict_->find(k);
        if (!ov || !v.equals(*ov)) return false;
      }
      return true;
    }
    case Kind::kNamespace:
      return dict_ == o.dict_;
    case Kind::kIterator:
      return list_ == o.list_;
    case Kind::kFunction:
      return fn_ == o.fn_;
    default:
      return false;
  }
}

bool Value::same_as(const Value& o) const {
  if (kind_ != o.kind_) return false;
  switch (kind_) {
    case Kind::kList:
    case Kind::kTuple:
    case Kind::kIterator:
      return list_ == o.list_;
    case Kind::kDict:
    case Kind::kNamespace:
      return dict_ == o.dict_;
    case Kind::kFunction:
      return fn_ == o.fn_;
    default:
      return equals(o);
  }
}

}  // namespace nucleus::jinja
