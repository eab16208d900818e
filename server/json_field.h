// One field of a request body, as every parser reads it.
#pragma once

#include <nlohmann/json.hpp>

namespace nucleus::server {

// Present and not null (OpenAI clients send null for "not given"); nullptr otherwise.
template <typename Json>
const Json* field(const Json& body, const char* name) {
  auto it = body.find(name);
  if (it == body.end() || it->is_null()) return nullptr;
  return &*it;
}

// "a string", "an array"...: what a wrong value was, for error messages.
template <typename Json>
const char* type_name(const Json& v) {
  switch (v.type()) {
    case Json::value_t::null: return "null";
    case Json::value_t::boolean: return "a boolean";
    case Json::value_t::string: return "a string";
    case Json::value_t::array: return "an array";
    case Json::value_t::object: return "an object";
    case Json::value_t::number_float: return "a number";
    default: return "an integer";
  }
}

}  // namespace nucleus::server
