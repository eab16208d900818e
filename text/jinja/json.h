// Python's json.dumps over Value, as transformers' tojson filter calls it
// (ensure_ascii=False, no HTML escaping, optional indent, insertion order unless sort_keys).
#pragma once

#include <optional>
#include <string>

#include "text/jinja/value.h"

namespace nucleus::jinja {

struct JsonOptions {
  std::optional<std::string> indent;  // nullopt: one line; else the per-level indent ("" = newlines only)
  std::string item_separator = ", ";  // Python: ", " on one line, "," when indenting
  std::string key_separator = ": ";
  bool sort_keys = false;
  bool ensure_ascii = false;
};

// Throws TemplateError("Object of type X is not JSON serializable") for undefined values,
// functions, namespaces and iterators, as Python's json does.
std::string to_json(const Value& v, const JsonOptions& options);

}  // namespace nucleus::jinja
