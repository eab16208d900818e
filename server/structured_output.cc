#include "server/structured_output.h"

#include "server/errors.h"
#include "server/json_field.h"

namespace nucleus::server {

using nlohmann::json;

namespace {

std::string string_field(const json& v, const std::string& param) {
  if (!v.is_string() || v.get<std::string>().empty()) throw invalid_param(param, param + " must be a non-empty string");
  return v.get<std::string>();
}

// A JSON Schema: an object (re-read later in key order), or its text.
StructuredOutput json_schema(const json& v, const std::string& param, std::vector<std::string> path) {
  StructuredOutput s;
  s.param = param;
  if (v.is_object() || v.is_boolean()) {
    s.source = v.dump();
    if (v.is_object()) s.schema_path = std::move(path);
  } else if (v.is_string()) {
    if (!json::accept(v.get<std::string>())) throw invalid_param(param, param + " is a string but not JSON text");
    require_shallow_json_text(v.get<std::string>(), param);  // held to a body's depth: the compiler recurses
    s.source = v.get<std::string>();
  } else {
    throw invalid_param(param, param + " must be a JSON Schema (an object)");
  }
  return s;
}

StructuredOutput choice(const json& v, const std::string& param) {
  if (!v.is_array() || v.empty()) throw invalid_param(param, param + " must be a non-empty array of strings");
  for (const json& c : v) {
    if (!c.is_string()) throw invalid_param(param, param + " must be a non-empty array of strings");
  }
  return {.kind = grammar::GrammarKind::kChoice, .source = v.dump(), .param = param, .schema_path = {}};
}

StructuredOutput regex(const json& v, const std::string& param) {
  return {.kind = grammar::GrammarKind::kRegex, .source = string_field(v, param), .param = param, .schema_path = {}};
}

StructuredOutput gbnf(const json& v, const std::string& param) {
  return {.kind = grammar::GrammarKind::kGbnf, .source = string_field(v, param), .param = param, .schema_path = {}};
}

// response_format {"type": "json_schema", "json_schema": {"name", "schema", "strict"}}.
std::optional<StructuredOutput> from_response_format(const json& body) {
  const json* rf = field(body, "response_format");
  if (!rf || !rf->is_object()) return std::nullopt;
  const json* type = field(*rf, "type");
  // llama.cpp's form: {"type": "json_object", "schema": {...}}.
  if (type && *type == "json_object") {
    const json* schema = field(*rf, "schema");
    if (!schema) return std::nullopt;
    return json_schema(*schema, "response_format", {"response_format", "schema"});
  }
  if (!type || *type != "json_schema") return std::nullopt;
  const json* spec = field(*rf, "json_schema");
  if (!spec || !spec->is_object()) {
    throw invalid_param("response_format", "response_format json_schema needs a \"json_schema\" object with a \"schema\"");
  }
  if (const json* name = field(*spec, "name"); name && !name->is_string()) {
    throw invalid_param("response_format", "response_format json_schema.name must be a string");
  }
  if (const json* strict = field(*spec, "strict"); strict && !strict->is_boolean()) {
    throw invalid_param("response_format", "response_format json_schema.strict must be a boolean");
  }
  const json* schema = field(*spec, "schema");
  if (!schema) throw invalid_param("response_format", "response_format json_schema needs a \"schema\"");
  return json_schema(*schema, "response_format", {"response_format", "json_schema", "schema"});
}

// vLLM's structured_outputs: exactly one of json, regex, choice, grammar, json_object.
std::optional<StructuredOutput> from_structured_outputs(const json& body, bool& json_object) {
  const json* so = field(body, "structured_outputs");
  if (!so) return std::nullopt;
  if (!so->is_object()) throw invalid_param("structured_outputs", "structured_outputs must be an object");
  std::optional<StructuredOutput> out;
  int given = 0;
  for (const auto& [key, value] : so->items()) {
    if (value.is_null()) continue;
    const std::string param = "structured_outputs." + key;
    if (key == "json") {
      out = json_schema(value, param, {"structured_outputs", "json"});
    } else if (key == "regex") {
      out = regex(value, param);
    } else if (key == "choice") {
      out = choice(value, param);
    } else if (key == "grammar") {
      out = gbnf(value, param);
    } else if (key == "json_object") {
      if (!value.is_boolean()) throw invalid_param(param, param + " must be a boolean");
      if (!value.get<bool>()) continue;
      json_object = true;
    } else if ((key == "disable_any_whitespace" || key == "disable_additional_properties" ||
                key == "disable_fallback") && value.is_boolean()) {
      continue;  // options of vLLM's backends with no effect here
    } else {
      throw not_supported(param, param + " is not supported (json, regex, choice, grammar and json_object are)");
    }
    ++given;
  }
  if (given > 1) {
    throw invalid_param("structured_outputs", "structured_outputs takes one of json, regex, choice, grammar, json_object");
  }
  return out;
}

// The single-field forms: vLLM's guided_* and llama.cpp's grammar and json_schema.
std::vector<StructuredOutput> from_single_fields(const json& body) {
  std::vector<StructuredOutput> found;
  if (const json* v = field(body, "guided_json")) found.push_back(json_schema(*v, "guided_json", {"guided_json"}));
  if (const json* v = field(body, "guided_regex")) found.push_back(regex(*v, "guided_regex"));
  if (const json* v = field(body, "guided_choice")) found.push_back(choice(*v, "guided_choice"));
  if (const json* v = field(body, "guided_grammar")) found.push_back(gbnf(*v, "guided_grammar"));
  if (const json* v = field(body, "json_schema")) found.push_back(json_schema(*v, "json_schema", {"json_schema"}));
  if (const json* v = field(body, "grammar")) found.push_back(gbnf(*v, "grammar"));
  if (field(body, "guided_whitespace_pattern")) {
    throw not_supported("guided_whitespace_pattern", "guided_whitespace_pattern is not supported");
  }
  if (const json* v = field(body, "guided_decoding_backend"); v && !v->is_string()) {
    throw invalid_param("guided_decoding_backend", "guided_decoding_backend must be a string");  // else ignored
  }
  return found;
}

}  // namespace

std::optional<StructuredOutput> parse_structured_output(const json& body, bool& json_object) {
  std::vector<StructuredOutput> found;
  if (auto s = from_response_format(body)) found.push_back(std::move(*s));
  bool so_json_object = false;
  if (auto s = from_structured_outputs(body, so_json_object)) found.push_back(std::move(*s));
  for (StructuredOutput& s : from_single_fields(body)) found.push_back(std::move(s));
  if (so_json_object) {
    if (!found.empty() || json_object) {
      throw invalid_param("structured_outputs", "structured_outputs.json_object cannot be combined with another format");
    }
    json_object = true;
  }
  if (found.empty()) return std::nullopt;
  if (found.size() > 1) {
    throw invalid_param(found[1].param, "give one structured output, not both " + found[0].param + " and " +
                                            found[1].param);
  }
  if (json_object) {
    throw invalid_param(found[0].param, found[0].param + " cannot be combined with response_format json_object");
  }
  return std::move(found[0]);
}

void keep_schema_key_order(const std::string& raw_body, StructuredOutput& s) {
  if (s.schema_path.empty()) return;
  const nlohmann::ordered_json body = nlohmann::ordered_json::parse(raw_body, nullptr, false);
  const nlohmann::ordered_json* node = &body;
  for (const std::string& key : s.schema_path) {
    if (!node->is_object() || !node->contains(key)) return;  // cannot happen: the same body was parsed before
    node = &(*node)[key];
  }
  s.source = node->dump();
}

}  // namespace nucleus::server
