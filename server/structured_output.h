// Structured output as clients ask for it, read from a request body: OpenAI's
// response_format {"type": "json_schema", "json_schema": {"schema": ...}},
// vLLM's structured_outputs {json | regex | choice | grammar} and its older
// guided_json / guided_regex / guided_choice / guided_grammar, and llama.cpp's
// grammar (GBNF) and json_schema. At most one may be given. GenerationRun
// compiles the result (sampling/grammar/) through the server's cache.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sampling/grammar/grammar_cache.h"

namespace nucleus::server {

struct StructuredOutput {
  grammar::GrammarKind kind = grammar::GrammarKind::kJsonSchema;
  std::string source;  // the JSON Schema's text, a regex, a JSON array of choices, or GBNF
  std::string param;   // the field that asked for it, for errors
  // A JSON Schema given as an object: where it sits in the body, so its text
  // can be re-read in the client's key order (nlohmann::json sorts keys, and
  // the order of properties is the order the model writes them in).
  std::vector<std::string> schema_path;
};

// The structured output the body asks for, if any. `json_object` is set for
// JSON mode given as structured_outputs {"json_object": true} (response_format
// json_object is parsed with the other output options). Throws ApiError 400
// naming the field: wrong types, unknown or unsupported keys, two at once.
std::optional<StructuredOutput> parse_structured_output(const nlohmann::json& body, bool& json_object);

// Re-reads a JSON Schema given as an object from the raw body, keeping the
// client's key order. Does nothing for other kinds.
void keep_schema_key_order(const std::string& raw_body, StructuredOutput& s);

}  // namespace nucleus::server
