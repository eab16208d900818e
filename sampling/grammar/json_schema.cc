#include "sampling/grammar/json_schema.h"

#include <cmath>
#include <limits>
#include <map>
#include <set>

#include "sampling/grammar/grammar_error.h"
#include "sampling/grammar/int_range.h"
#include "sampling/grammar/json_text.h"
#include "sampling/grammar/number_range.h"
#include "sampling/grammar/regex.h"

namespace nucleus::grammar {
namespace {

using json = nlohmann::ordered_json;  // keeps "properties" in schema order

const std::set<std::string, std::less<>> kAnnotations = {"title",    "description", "default",  "examples",
                                                         "$schema",  "$id",         "$comment", "deprecated",
                                                         "readOnly", "writeOnly",   "$defs",    "definitions"};
const std::set<std::string, std::less<>> kKeywords = {"type",
                                                      "nullable",
                                                      "enum",
                                                      "const",
                                                      "anyOf",
                                                      "oneOf",
                                                      "allOf",
                                                      "$ref",
                                                      "properties",
                                                      "required",
                                                      "additionalProperties",
                                                      "items",
                                                      "prefixItems",
                                                      "minItems",
                                                      "maxItems",
                                                      "minLength",
                                                      "maxLength",
                                                      "pattern",
                                                      "format",
                                                      "minimum",
                                                      "maximum",
                                                      "exclusiveMinimum",
                                                      "exclusiveMaximum"};

// Formats as whole-string regexes over ASCII (nothing to escape inside a JSON
// string). Dates never have day 29 of February (no leap-year rule) nor
// year 0000, so every one is a real date.
constexpr const char* kDate =
    R"((?:[1-9]\d{3}|0[1-9]\d{2}|00[1-9]\d|000[1-9])-(?:(?:0[1-9]|1[0-2])-(?:0[1-9]|1\d|2[0-8])|(?:0[13-9]|1[0-2])-(?:29|30)|(?:0[13578]|1[02])-31))";
constexpr const char* kTime = R"((?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d(?:\.\d{1,9})?(?:Z|[+-](?:[01]\d|2[0-3]):[0-5]\d))";
// IPv4 without leading zeros (Python's ipaddress, as jsonschema checks it, refuses them).
constexpr const char* kOctet = R"((?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d))";
// IPv6: the 8 groups, or fewer around one "::" (RFC 4291 2.2; no embedded IPv4, no zone).
constexpr const char* kHex = "[0-9a-fA-F]{1,4}";
std::string ipv6() {
  const std::string h = kHex;
  return "(?:(?:" + h + ":){7}" + h + "|(?:" + h + ":){1,7}:|(?:" + h + ":){1,6}:" + h + "|(?:" + h + ":){1,5}(?::" +
         h + "){1,2}|(?:" + h + ":){1,4}(?::" + h + "){1,3}|(?:" + h + ":){1,3}(?::" + h + "){1,4}|(?:" + h +
         ":){1,2}(?::" + h + "){1,5}|" + h + ":(?::" + h + "){1,6}|:(?:(?::" + h + "){1,7}|:))";
}
// RFC 3339 appendix A durations: P with date parts (and a time part), a time part, or weeks.
std::string duration() {
  const std::string n = "\\d{1,9}";
  const std::string time = "T(?:" + n + "H(?:" + n + "M(?:" + n + "S)?)?|" + n + "M(?:" + n + "S)?|" + n + "S)";
  const std::string date = "(?:" + n + "D|" + n + "M(?:" + n + "D)?|" + n + "Y(?:" + n + "M(?:" + n + "D)?)?)";
  return "P(?:" + date + "(?:" + time + ")?|" + time + "|" + n + "W)";
}
const std::map<std::string, std::string, std::less<>> kFormats = {
    {"date", kDate},
    {"time", kTime},
    {"date-time", std::string(kDate) + "T" + kTime},
    {"duration", duration()},
    {"uuid", R"([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})"},
    {"email", R"([A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63}){1,8})"},
    {"ipv4", std::string("(?:") + kOctet + "\\.){3}" + kOctet},
    {"ipv6", ipv6()},
    // RFC 1123 labels, each starting with a letter (so no label, and no
    // top-level one, is all digits) and at most 62 long, at most 4 of them:
    // the name stays within 253 characters.
    {"hostname", R"([A-Za-z](?:[A-Za-z0-9-]{0,60}[A-Za-z0-9])?(?:\.[A-Za-z](?:[A-Za-z0-9-]{0,60}[A-Za-z0-9])?){0,3})"},
};

std::string escape_pointer_token(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '~')
      out += "~0";
    else if (c == '/')
      out += "~1";
    else
      out += c;
  }
  return out;
}

constexpr int kMaxSchemaDepth = 128;  // real schemas nest a few levels (OpenAI strict mode: at most 10); a frame per level is large

class SchemaCompiler {
 public:
  explicit SchemaCompiler(const json& root) : root_(root), text_(g_) {}

  Grammar compile() {
    const uint32_t root = g_.new_rule("root");
    g_.add_alternative(root, {value(root_, "")});
    g_.set_root(root);
    return std::move(g_);
  }

 private:
  [[noreturn]] static void fail(const std::string& what, const std::string& ptr) {
    throw GrammarError("JSON Schema: " + what + " at '" + (ptr.empty() ? "#" : "#" + ptr) + "'");
  }

  static std::optional<uint64_t> count(const json& s, const char* key, const std::string& ptr) {
    if (!s.contains(key)) return std::nullopt;
    const json& v = s[key];
    if (!v.is_number_unsigned() && !(v.is_number_integer() && v.get<int64_t>() >= 0)) {
      fail(std::string("'") + key + "' must be a non-negative integer", ptr + "/" + key);
    }
    const uint64_t n = v.get<uint64_t>();
    if (n > 100000) fail(std::string("'") + key + "' too large (at most 100000)", ptr + "/" + key);
    return n;
  }

  Element value(const json& s, const std::string& ptr) {
    // Subschemas and $ref chains are compiled by recursion: bounded, so that
    // a schema of thousands of levels is an error, not a stack overflow.
    struct Level {
      int& depth;
      explicit Level(int& d) : depth(++d) {}
      ~Level() { --depth; }
    } level(depth_);
    if (depth_ > kMaxSchemaDepth) fail("nested (through $ref too) deeper than " + std::to_string(kMaxSchemaDepth), ptr);
    if (s.is_boolean()) {
      if (!s.get<bool>()) fail("schema 'false' allows no value", ptr);
      return text_.any_value();
    }
    if (!s.is_object()) fail("a schema must be an object or a boolean", ptr);
    std::vector<std::string> assertions;
    for (const auto& [key, v] : s.items()) {
      if (kAnnotations.count(key)) continue;
      if (!kKeywords.count(key)) fail("unsupported keyword '" + key + "'", ptr + "/" + escape_pointer_token(key));
      assertions.push_back(key);
    }
    const auto alone = [&](const std::string& key) {
      for (const auto& other : assertions) {
        if (other != key && !(key == "enum" && other == "type") && !(key == "const" && other == "type")) {
          fail("'" + key + "' combined with '" + other + "' is not supported", ptr);
        }
      }
    };
    if (s.contains("$ref")) {
      alone("$ref");
      return reference(s["$ref"], ptr + "/$ref");
    }
    if (s.contains("const")) {
      alone("const");
      if (!of_type(s, s["const"], ptr)) fail("'const' is not of the schema's 'type'", ptr + "/const");
      return text_.exact(s["const"]);
    }
    if (s.contains("enum")) {
      alone("enum");
      return enumeration(s, ptr);
    }
    for (const char* key : {"anyOf", "oneOf", "allOf"}) {
      if (!s.contains(key)) continue;
      alone(key);
      const json& list = s[key];
      if (!list.is_array() || list.empty()) fail(std::string("'") + key + "' must be a non-empty array", ptr);
      if (std::string_view(key) == "allOf" && list.size() != 1) {
        fail("'allOf' with more than one schema is not supported", ptr + "/allOf");
      }
      std::vector<Sequence> alternatives;
      for (size_t i = 0; i < list.size(); ++i) {
        alternatives.push_back({value(list[i], ptr + "/" + key + "/" + std::to_string(i))});
      }
      return g_.group(std::move(alternatives), "any-of");
    }
    std::vector<std::string> types = type_names(s, ptr);
    std::vector<Sequence> alternatives;
    for (const std::string& type : types) alternatives.push_back({typed(s, type, ptr)});
    return g_.group(std::move(alternatives), "value");
  }

  std::vector<std::string> type_names(const json& s, const std::string& ptr) {
    std::vector<std::string> types;
    if (s.contains("type")) {
      const json& t = s["type"];
      if (t.is_string()) {
        types.push_back(t.get<std::string>());
      } else if (t.is_array() && !t.empty()) {
        for (const json& name : t) {
          if (!name.is_string()) fail("'type' must be a string or an array of strings", ptr + "/type");
          types.push_back(name.get<std::string>());
        }
      } else {
        fail("'type' must be a string or an array of strings", ptr + "/type");
      }
    } else {
      // No type: the keywords say which, else any value.
      const auto has = [&](std::initializer_list<const char*> keys) {
        for (const char* k : keys) {
          if (s.contains(k)) return true;
        }
        return false;
      };
      if (has({"properties", "required", "additionalProperties"})) types.push_back("object");
      if (has({"items", "prefixItems", "minItems", "maxItems"})) types.push_back("array");
      if (has({"minLength", "maxLength", "pattern", "format"})) types.push_back("string");
      if (has({"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"})) types.push_back("number");
      if (types.empty()) types.push_back("any");
    }
    if (s.value("nullable", false) && std::find(types.begin(), types.end(), "null") == types.end()) {
      types.push_back("null");
    }
    return types;
  }

  Element typed(const json& s, const std::string& type, const std::string& ptr) {
    if (type == "string") return string_value(s, ptr);
    if (type == "integer") return integer_value(s, ptr);
    if (type == "number") return number_value(s, ptr);
    if (type == "boolean") return g_.group({g_.literal("true"), g_.literal("false")}, "boolean");
    if (type == "null") return g_.group({g_.literal("null")}, "null");
    if (type == "object") return object_value(s, ptr);
    if (type == "array") return array_value(s, ptr);
    if (type == "any") return text_.any_value();
    fail("unknown type '" + type + "'", ptr + "/type");
  }

  Element reference(const json& ref, const std::string& ptr) {
    if (!ref.is_string()) fail("'$ref' must be a string", ptr);
    const std::string target = ref.get<std::string>();
    if (target.empty() || target[0] != '#')
      fail("only local references ('#/...') are supported, not '" + target + "'", ptr);
    auto it = refs_.find(target);
    if (it != refs_.end()) return Grammar::ref(it->second);
    const std::string pointer = target.substr(1);
    json::json_pointer jp;
    try {
      jp = json::json_pointer(pointer);
    } catch (const json::exception&) {
      fail("invalid '$ref' '" + target + "'", ptr);
    }
    if (!root_.contains(jp)) fail("'$ref' '" + target + "' points to nothing", ptr);
    // The rule exists before its body is built, so recursive references resolve to it.
    const std::string name = pointer.empty() ? "ref-root" : "ref" + pointer.substr(pointer.rfind('/'));
    const uint32_t rule = g_.new_rule(name);
    refs_.emplace(target, rule);
    g_.add_alternative(rule, {value(root_.at(jp), pointer)});
    return Grammar::ref(rule);
  }

  // Whether v is an instance of the schema's 'type' (a name or an array of
  // them; true without one), as JSON Schema counts it: an integer is also a
  // number, and a float with no fraction (1.0) is an integer.
  static bool of_type(const json& s, const json& v, const std::string& ptr) {  // ptr: for a malformed 'type'
    if (!s.contains("type")) return true;
    const auto is = [&](const json& name) {
      if (!name.is_string()) fail("'type' must be a string or an array of strings", ptr + "/type");
      const std::string& t = name.get_ref<const std::string&>();
      if (t == "integer") {
        if (v.is_number_integer() || v.is_number_unsigned()) return true;
        return v.is_number_float() && std::isfinite(v.get<double>()) && v.get<double>() == std::floor(v.get<double>());
      }
      if (t == "number") return v.is_number();
      if (t == "string") return v.is_string();
      if (t == "boolean") return v.is_boolean();
      if (t == "null") return v.is_null();
      if (t == "object") return v.is_object();
      if (t == "array") return v.is_array();
      return true;  // not a JSON Schema type ("any", "enum"): it narrows nothing, as before it was checked
    };
    const json& type = s["type"];
    if (!type.is_array()) return is(type);
    for (const json& name : type) {
      if (is(name)) return true;
    }
    return false;
  }

  // The enum's values of the schema's 'type' (a schema may narrow an enum so);
  // none left is an error, never an output that breaks the schema.
  Element enumeration(const json& s, const std::string& schema_ptr) {
    const json& values = s["enum"];
    const std::string ptr = schema_ptr + "/enum";
    if (!values.is_array() || values.empty()) fail("'enum' must be a non-empty array", ptr);
    std::vector<std::string> strings;
    std::vector<Sequence> alternatives;
    for (const json& v : values) {
      if (!of_type(s, v, schema_ptr)) continue;
      if (v.is_string())
        strings.push_back(JsonText::quote(v.get<std::string>()));
      else
        alternatives.push_back({text_.exact(v)});
    }
    if (!strings.empty()) alternatives.push_back({g_.one_of(strings, "enum")});
    if (alternatives.empty()) fail("no 'enum' value is of the schema's 'type'", ptr);
    return g_.group(std::move(alternatives), "enum");
  }

  Element string_value(const json& s, const std::string& ptr) {
    const auto min = count(s, "minLength", ptr), max = count(s, "maxLength", ptr);
    if (s.contains("pattern") || s.contains("format")) {
      const char* key = s.contains("pattern") ? "pattern" : "format";
      if (min || max) fail(std::string("'") + key + "' combined with minLength/maxLength is not supported", ptr);
      if (s.contains("pattern") && s.contains("format")) fail("'pattern' combined with 'format' is not supported", ptr);
      if (!s[key].is_string()) fail(std::string("'") + key + "' must be a string", ptr + "/" + key);
      const std::string arg = s[key].get<std::string>();
      Element body;
      if (s.contains("pattern")) {
        body = add_regex(g_, arg, {.json_string = true, .search = true});
      } else {
        auto it = kFormats.find(arg);
        if (it == kFormats.end()) fail("unsupported format '" + arg + "'", ptr + "/format");
        body = add_regex(g_, it->second, {});
      }
      return g_.group({{g_.byte('"'), body, g_.byte('"')}}, key);
    }
    if (!min && !max) return text_.string();
    const uint32_t lo = static_cast<uint32_t>(min.value_or(0));
    std::optional<uint32_t> hi;
    if (max) hi = static_cast<uint32_t>(*max);
    if (hi && *hi < lo) fail("'maxLength' below 'minLength'", ptr);
    const Element chars = g_.repeat(text_.string_char(true), lo, hi, "string");
    return g_.group({{g_.byte('"'), chars, g_.byte('"')}}, "string");
  }

  // A bound keyword's number; null when absent or a draft-4 boolean (which
  // modifies minimum/maximum instead).
  static const json* bound_keyword(const json& s, const char* key, const std::string& ptr) {
    if (!s.contains(key) || s[key].is_boolean()) return nullptr;
    if (!s[key].is_number()) fail(std::string("'") + key + "' must be a number", ptr + "/" + key);
    return &s[key];
  }

  // An integer bound: inclusive, rounded inward (minimum 1.5 -> 2).
  std::optional<int64_t> bound(const json& s, const char* key, bool lower, const std::string& ptr) {
    const json* keyword = bound_keyword(s, key, ptr);
    if (!keyword) return std::nullopt;
    const json& v = *keyword;
    const bool exclusive = std::string_view(key).starts_with("exclusive");
    if (v.is_number_integer() || v.is_number_unsigned()) {
      if (v.is_number_unsigned() && v.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) {
        fail(std::string("'") + key + "' out of range", ptr + "/" + key);
      }
      const int64_t n = v.get<int64_t>();
      if (!exclusive) return n;
      if ((lower && n == INT64_MAX) || (!lower && n == INT64_MIN)) fail("empty integer range", ptr);
      return lower ? n + 1 : n - 1;
    }
    const double d = v.get<double>();
    if (!std::isfinite(d) || std::fabs(d) > 9e18) fail(std::string("'") + key + "' out of range", ptr + "/" + key);
    double r = lower ? std::ceil(d) : std::floor(d);
    if (exclusive && r == d) r += lower ? 1 : -1;
    return static_cast<int64_t>(r);
  }

  Element integer_value(const json& s, const std::string& ptr) {
    std::optional<int64_t> lo = bound(s, "minimum", true, ptr), hi = bound(s, "maximum", false, ptr);
    const auto tighter = [](std::optional<int64_t> a, std::optional<int64_t> b, bool lower) {
      if (!a) return b;
      if (!b) return a;
      return lower ? std::max(a, b) : std::min(a, b);
    };
    lo = tighter(lo, bound(s, "exclusiveMinimum", true, ptr), true);
    hi = tighter(hi, bound(s, "exclusiveMaximum", false, ptr), false);
    // Draft 4: "exclusiveMinimum": true makes "minimum" exclusive.
    if (s.value("exclusiveMinimum", json()).is_boolean() && s["exclusiveMinimum"].get<bool>() && lo) ++*lo;
    if (s.value("exclusiveMaximum", json()).is_boolean() && s["exclusiveMaximum"].get<bool>() && hi) --*hi;
    if (!lo && !hi) return text_.integer();
    if (lo && hi && *lo > *hi) fail("no integer satisfies the bounds", ptr);
    return integer_range(g_, lo, hi);
  }

  // A number bound as a double (absent: none), checked for the range
  // number_range() supports; `bounded` is set when the key is there.
  std::optional<double> number_bound(const json& s, const char* key, bool lower, const std::string& ptr,
                                     bool& bounded) {
    const json* keyword = bound_keyword(s, key, ptr);
    if (!keyword) return std::nullopt;
    const double d = keyword->get<double>();
    bounded = true;
    if (lower ? d <= -kNumberRangeReach : d >= kNumberRangeReach) return std::nullopt;  // holds for all we write
    if (!(std::fabs(d) <= kMaxNumberBound)) {
      fail(std::string("'") + key + "' beyond 1e15 in magnitude is not supported for type 'number'", ptr + "/" + key);
    }
    return d;
  }

  Element number_value(const json& s, const std::string& ptr) {
    constexpr double kInf = std::numeric_limits<double>::infinity();
    bool bounded = false;
    std::optional<double> lo = number_bound(s, "minimum", true, ptr, bounded);
    std::optional<double> hi = number_bound(s, "maximum", false, ptr, bounded);
    // Draft 4: "exclusiveMinimum": true makes "minimum" exclusive.
    if (s.value("exclusiveMinimum", json()).is_boolean() && s["exclusiveMinimum"].get<bool>() && lo) {
      lo = std::nextafter(*lo, kInf);
    }
    if (s.value("exclusiveMaximum", json()).is_boolean() && s["exclusiveMaximum"].get<bool>() && hi) {
      hi = std::nextafter(*hi, -kInf);
    }
    // An exclusive bound is the inclusive one at the next double inward:
    // nothing a validator reads lies between them.
    if (auto e = number_bound(s, "exclusiveMinimum", true, ptr, bounded)) {
      lo = std::max(lo.value_or(-kInf), std::nextafter(*e, kInf));
    }
    if (auto e = number_bound(s, "exclusiveMaximum", false, ptr, bounded)) {
      hi = std::min(hi.value_or(kInf), std::nextafter(*e, -kInf));
    }
    if (!bounded) return text_.number();
    if (lo && hi && *lo > *hi) fail("no number satisfies the bounds", ptr);
    return number_range(g_, lo, hi);
  }

  Element object_value(const json& s, const std::string& ptr) {
    const json props = s.value("properties", json::object());
    if (!props.is_object()) fail("'properties' must be an object", ptr + "/properties");
    std::set<std::string> required;
    if (s.contains("required")) {
      if (!s["required"].is_array()) fail("'required' must be an array", ptr + "/required");
      for (const json& name : s["required"]) {
        if (!name.is_string()) fail("'required' must hold strings", ptr + "/required");
        if (!props.contains(name.get<std::string>())) {
          fail("required property '" + name.get<std::string>() + "' is not in 'properties'", ptr + "/required");
        }
        required.insert(name.get<std::string>());
      }
    }
    const Element w = text_.ws();
    std::vector<std::string> names;
    std::vector<Element> kv;  // kv[i]: "name" ws ":" ws value ws
    for (const auto& [name, sub] : props.items()) {
      names.push_back(name);
      Sequence seq = g_.literal(JsonText::quote(name));
      seq.insert(seq.end(), {w, g_.byte(':'), w, value(sub, ptr + "/properties/" + escape_pointer_token(name)), w});
      kv.push_back(g_.group({std::move(seq)}, "kv"));
    }
    // After the declared properties: nothing, or extra members when allowed.
    std::vector<Sequence> first_tail = {{}}, comma_tail = {{}};
    const json additional = s.value("additionalProperties", json(false));
    if (!(additional.is_boolean() && !additional.get<bool>())) {
      Sequence seq{other_key(names), w, g_.byte(':'), w, value(additional, ptr + "/additionalProperties"), w};
      const Element extra = g_.group({std::move(seq)}, "extra-kv");
      const Element more = g_.repeat(g_.group({{g_.byte(','), w, extra}}, "extra"), 0, std::nullopt, "extra");
      first_tail = {{extra, more}, {}};
      comma_tail = {{more}};
    }
    // first[i]: the members from i on when none came before; comma[i]: after one did.
    Element first = g_.group(first_tail, "rest"), comma = g_.group(comma_tail, "rest");
    for (size_t i = names.size(); i-- > 0;) {
      const bool req = required.count(names[i]) > 0;
      Sequence with_comma{g_.byte(','), w, kv[i], comma};
      Sequence alone{kv[i], comma};
      const Element next_comma = req ? g_.group({with_comma}, "rest") : g_.group({with_comma, {comma}}, "rest");
      const Element next_first = req ? g_.group({alone}, "rest") : g_.group({alone, {first}}, "rest");
      comma = next_comma;
      first = next_first;
    }
    return g_.group({{g_.byte('{'), w, first, g_.byte('}')}}, "object");
  }

  // A JSON string key, without escapes, equal to none of `names`: a trie of the
  // names where leaving the trie at any character frees the rest.
  Element other_key(const std::vector<std::string>& names) {
    struct Node {
      std::map<uint32_t, size_t> children;
      bool terminal = false;
    };
    std::vector<Node> trie(1);
    for (const std::string& name : names) {
      size_t node = 0;
      for (size_t pos = 0; pos < name.size();) {
        const uint32_t cp = decode_utf8(name, pos, "a property name");
        auto it = trie[node].children.find(cp);
        if (it == trie[node].children.end()) {
          trie.push_back({});
          it = trie[node].children.emplace(cp, trie.size() - 1).first;
        }
        node = it->second;
      }
      trie[node].terminal = true;
    }
    const std::vector<CodePointRange> raw_excluded = {{0, 0x1F}, {'"', '"'}, {'\\', '\\'}};
    const Element free_rest =
        g_.group({{g_.repeat(g_.code_points(raw_excluded, true), 0, std::nullopt, "key-char"), g_.byte('"')}}, "key");
    std::vector<uint32_t> rules(trie.size());
    for (size_t i = 0; i < trie.size(); ++i) rules[i] = g_.new_rule("other-key");
    for (size_t i = 0; i < trie.size(); ++i) {
      if (!trie[i].terminal) g_.add_alternative(rules[i], {g_.byte('"')});
      std::vector<CodePointRange> used = raw_excluded;
      for (const auto& [cp, child] : trie[i].children) {
        used.push_back({cp, cp});
        if (cp < 0x20 || cp == '"' || cp == '\\') continue;  // needs an escape: not reachable raw
        std::string bytes;
        append_utf8(bytes, cp);
        Sequence seq = g_.literal(bytes);
        seq.push_back(Grammar::ref(rules[child]));
        g_.add_alternative(rules[i], std::move(seq));
      }
      g_.add_alternative(rules[i], {g_.code_points(used, true), free_rest});
    }
    return g_.group({{g_.byte('"'), Grammar::ref(rules[0])}}, "other-key");
  }

  Element array_value(const json& s, const std::string& ptr) {
    std::vector<const json*> prefix;
    std::vector<std::string> prefix_ptrs;
    if (s.contains("prefixItems")) {
      if (!s["prefixItems"].is_array()) fail("'prefixItems' must be an array", ptr + "/prefixItems");
      for (size_t i = 0; i < s["prefixItems"].size(); ++i) {
        prefix.push_back(&s["prefixItems"][i]);
        prefix_ptrs.push_back(ptr + "/prefixItems/" + std::to_string(i));
      }
    }
    static const json kAny = json::object();
    const json* items = &kAny;
    bool tail_allowed = true;
    if (s.contains("items")) {
      items = &s["items"];
      if (items->is_array()) fail("'items' as an array is not supported (use 'prefixItems')", ptr + "/items");
      if (items->is_boolean() && !items->get<bool>()) tail_allowed = false;
    }
    const uint64_t k = prefix.size();
    const uint64_t min = count(s, "minItems", ptr).value_or(0);
    std::optional<uint64_t> max = count(s, "maxItems", ptr);
    if (!tail_allowed) max = max ? std::min(*max, k) : k;
    if (max && *max < min) fail("no array length satisfies minItems/maxItems (and 'items': false)", ptr);
    const Element w = text_.ws();
    std::optional<Element> tail_item;
    const auto item = [&](uint64_t i) -> Element {
      if (i < k) return g_.group({{value(*prefix[i], prefix_ptrs[i]), w}}, "item");
      if (!tail_item) tail_item = g_.group({{value(*items, ptr + "/items"), w}}, "item");
      return *tail_item;
    };
    // after[i]: what may follow the i-th item (i >= 1); from after[fixed] on, items
    // are the tail schema and optional.
    const uint64_t fixed = std::max<uint64_t>({1, min, max ? std::min(k, *max) : k});
    std::optional<Element> rest;  // after[fixed]
    if (!max || *max > fixed) {
      const Element more = g_.group({{g_.byte(','), w, item(fixed)}}, "more");
      std::optional<uint32_t> extra;
      if (max) extra = static_cast<uint32_t>(*max - fixed);
      rest = g_.repeat(more, 0, extra, "items");
    } else {
      rest = g_.group({{}}, "items");
    }
    Element after = *rest;
    for (uint64_t i = fixed; i-- > 1;) {
      Sequence next{g_.byte(','), w, item(i), after};
      after = i < min ? g_.group({next}, "items") : g_.group({next, {}}, "items");
    }
    if (max && *max == 0) return g_.group({{g_.byte('['), w, g_.byte(']')}}, "array");
    std::vector<Sequence> body = {{item(0), after}};
    if (min == 0) body.push_back({});
    return g_.group({{g_.byte('['), w, g_.group(body, "items"), g_.byte(']')}}, "array");
  }

  const json& root_;
  Grammar g_;
  JsonText text_;
  std::map<std::string, uint32_t> refs_;
  int depth_ = 0;  // value() calls open
};

}  // namespace

Grammar json_schema_grammar(const nlohmann::ordered_json& schema) { return SchemaCompiler(schema).compile(); }

std::shared_ptr<const CompiledGrammar> compile_json_schema(const nlohmann::ordered_json& schema) {
  return CompiledGrammar::compile(json_schema_grammar(schema));
}

std::shared_ptr<const CompiledGrammar> compile_json_schema(std::string_view schema_text) {
  json schema;
  try {
    schema = json::parse(schema_text);
  } catch (const json::parse_error& e) {
    throw GrammarError(std::string("JSON Schema: not valid JSON: ") + e.what());
  }
  return compile_json_schema(schema);
}

}  // namespace nucleus::grammar
