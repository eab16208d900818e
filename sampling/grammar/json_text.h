// JSON's lexical pieces as grammar IR, shared by the JSON Schema compiler and
// by regexes compiled for a JSON string (a schema's "pattern"): characters as
// they appear inside a JSON string (escaped where JSON requires it), bounded
// whitespace, numbers, and exact JSON values (enum/const).
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "sampling/grammar/ir.h"

namespace nucleus::grammar {

// Whitespace runs are at most this long, so that a model cannot pad forever
// instead of finishing (as sampling/json_grammar.h and llama.cpp bound them).
constexpr uint32_t kMaxJsonWhitespace = 20;

class JsonText {
 public:
  explicit JsonText(Grammar& g) : g_(g) {}

  // One code point out of `ranges` (normalized, see utf8.h) written inside a
  // JSON string: raw UTF-8 where JSON allows, else its escape ('"' as \", '\' as
  // \\, controls as \n or \u00XX in either case); '/' also as \/.
  Element escaped_class(const std::vector<CodePointRange>& ranges);
  // Any character of a JSON string, escapes included. With `no_surrogate_escapes`,
  // \u escapes of U+D800..U+DFFF are left out, so every character counts one
  // code point (for minLength/maxLength).
  Element string_char(bool no_surrogate_escapes = false);
  // [ \t\n\r]{0, kMaxJsonWhitespace}
  Element ws();
  Element number();   // -?(0|[1-9][0-9]{0,19})(.[0-9]{1,20})?([eE][-+]?[0-9]{1,3})? (any Python float repr fits)
  Element integer();  // -?(0|[1-9][0-9]{0,19})
  Element string();   // "..." any string
  // Any JSON value (recursive), with bounded whitespace inside containers.
  Element any_value();
  // Exactly `value` (strings and numbers as nlohmann dumps them, objects with
  // their keys in order), whitespace allowed where JSON allows it.
  Element exact(const nlohmann::ordered_json& value);
  // The bytes of `s` as a JSON string literal, quotes included (minimal escaping).
  static std::string quote(const std::string& s);

 private:
  Grammar& g_;
  std::optional<Element> ws_, number_, integer_, string_, any_value_, char_, char_counted_, hex_;
};

}  // namespace nucleus::grammar
