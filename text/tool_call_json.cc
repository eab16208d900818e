#include "text/tool_call_json.h"

#include <nlohmann/json.hpp>

#include "text/json_scan.h"

namespace nucleus::tool_call_json {
namespace {

using nlohmann::json;

std::optional<json> parse(std::string_view text) {
  // Model output nested past what a request may send is no tool call (and is never walked recursively).
  if (json_scan::nests_too_deep(text)) return std::nullopt;
  json value = json::parse(text, /*cb=*/nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded()) return std::nullopt;
  return value;
}

}  // namespace

std::optional<std::string> arguments_from_value(std::string_view raw_value) {
  std::string_view raw = json_scan::trim(raw_value);
  std::optional<json> value = parse(raw);
  if (!value) return std::nullopt;
  if (value->is_object()) return std::string(raw);
  if (value->is_null()) return std::string("{}");
  if (value->is_string()) {
    // Some models write the arguments as a string of JSON, as the OpenAI wire format does.
    const std::string& inner = value->get_ref<const std::string&>();
    std::optional<json> unwrapped = parse(inner);
    if (unwrapped && unwrapped->is_object()) return std::string(json_scan::trim(inner));
  }
  return std::nullopt;
}

std::optional<ToolCall> call_from_name_and_arguments(std::string_view name, std::string_view raw_value) {
  if (name.empty()) return std::nullopt;
  std::optional<std::string> arguments = arguments_from_value(raw_value);
  if (!arguments) return std::nullopt;
  return ToolCall{"", std::string(name), std::move(*arguments)};
}

std::optional<ToolCall> call_from_object(std::string_view object_text, const CallObjectOptions& options) {
  std::optional<json> object = parse(object_text);
  if (!object || !object->is_object()) return std::nullopt;
  auto members = json_scan::object_members(object_text);
  if (!members) return std::nullopt;
  ToolCall call;
  std::optional<std::string_view> arguments_raw;
  for (const json_scan::Member& member : *members) {
    std::optional<json> key = parse(member.key_raw);
    if (!key || !key->is_string()) return std::nullopt;
    const std::string& k = key->get_ref<const std::string&>();
    // The first of duplicated keys wins for every member, arguments included.
    if (k == "name" && call.name.empty()) {
      std::optional<json> name = parse(member.value);
      if (!name || !name->is_string()) return std::nullopt;
      call.name = name->get<std::string>();
    } else if ((k == "arguments" || k == "parameters") && !arguments_raw) {
      arguments_raw = member.value;
    } else if (k == "id" && call.id.empty()) {
      std::optional<json> id = parse(member.value);
      if (id && id->is_string()) call.id = id->get<std::string>();
    }
  }
  if (call.name.empty()) return std::nullopt;
  if (!arguments_raw) {
    if (options.require_arguments) return std::nullopt;
    call.arguments = "{}";
    return call;
  }
  std::optional<std::string> arguments = arguments_from_value(*arguments_raw);
  if (!arguments) return std::nullopt;
  call.arguments = std::move(*arguments);
  return call;
}

std::optional<std::vector<ToolCall>> calls_from_array(std::string_view array_text) {
  auto elements = json_scan::array_elements(array_text);
  if (!elements || elements->empty()) return std::nullopt;
  std::vector<ToolCall> calls;
  for (std::string_view element : *elements) {
    auto call = call_from_object(element);
    if (!call) return std::nullopt;
    calls.push_back(std::move(*call));
  }
  return calls;
}

}  // namespace nucleus::tool_call_json
