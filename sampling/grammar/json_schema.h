// JSON Schema to the grammar IR: the output is one JSON value that the schema
// accepts. Supported (what OpenAI's strict mode accepts but multipleOf, plus
// what users send vLLM):
//   type (a name or an array of names), nullable, enum and const (values not
//   of the schema's type left out; none left is an error), anyOf, oneOf
//   (compiled as anyOf: the grammar does not exclude values that match two
//   branches), allOf with one schema, $ref to '#...' JSON pointers with $defs /
//   definitions, recursion included;
//   objects: properties, required, additionalProperties. Properties come in
//   schema order, required ones mandatory, optional ones skippable (as
//   llama.cpp's json-schema-to-grammar does). additionalProperties absent or
//   false: no other keys (OpenAI strict mode requires false; llama.cpp reads
//   absent the same way). true or a schema: any number of other keys after the
//   declared ones, written without escapes and never equal to a declared name;
//   arrays: items, prefixItems, minItems, maxItems;
//   strings: minLength, maxLength (in code points), pattern (re.search
//   semantics, regex.h), format date, time, date-time, duration, uuid, email,
//   ipv4, ipv6, hostname (each a subset of its RFC that every validator
//   accepts: no leading zeros in IPv4, no embedded IPv4 in IPv6, host labels
//   start with a letter);
//   integers: minimum, maximum, exclusiveMinimum, exclusiveMaximum (an exact
//   digit-range grammar; draft-4 boolean exclusive bounds too);
//   numbers: the same bounds, up to 1e15 in magnitude, and from 1e21 on
//   dropped as bounding nothing written (number_range.h: a bounded number is
//   written without an exponent, at most 20 integer and 20 fraction digits).
// Subschemas nest, $ref chains included, at most 128 deep (the compiler
// recurses per level). Annotations (title, description, default, examples, $schema, $id, $comment,
// deprecated, readOnly, writeOnly) are ignored. Any other keyword (multipleOf
// among them), a number bound between 1e15 and 1e21, or an unknown format is a
// GrammarError naming it and its JSON pointer, never silently ignored.
//
// Whitespace: runs of at most kMaxJsonWhitespace between tokens, none before
// or after the value. Integers have at most 20 digits; numbers at most 20
// integer, 20 fraction and 3 exponent digits. Strings may hold any escape.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string_view>

#include "sampling/grammar/compiled_grammar.h"
#include "sampling/grammar/ir.h"

namespace nucleus::grammar {

// An ordered_json, because property order is part of the grammar (a plain
// nlohmann::json sorts keys). Prefer the text overload from a request body.
Grammar json_schema_grammar(const nlohmann::ordered_json& schema);
std::shared_ptr<const CompiledGrammar> compile_json_schema(const nlohmann::ordered_json& schema);
// The schema as JSON text; invalid JSON is a GrammarError.
std::shared_ptr<const CompiledGrammar> compile_json_schema(std::string_view schema_text);

}  // namespace nucleus::grammar
