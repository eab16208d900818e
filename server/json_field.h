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

}  // namespace nucleus::server
