#include "text/tool_call_parser.h"

#include <array>
#include <utility>

#include "text/json_scan.h"
#include "text/tool_call_id.h"
#include "text/tool_call_scan.h"
#include "text/trimmed_text_stream.h"

namespace nucleus {
namespace {

constexpr std::array<std::pair<ToolCallFormat, std::string_view>, 8> kFormatNames = {{
    {ToolCallFormat::kHermes, "hermes"},
    {ToolCallFormat::kLlama3, "llama3"},
    {ToolCallFormat::kMistral, "mistral"},
    {ToolCallFormat::kFunctionaryV3, "functionary_v3.2"},
    {ToolCallFormat::kFunctionaryV31, "functionary_v3.1"},
    {ToolCallFormat::kGeneric, "generic"},
    {ToolCallFormat::kQwen3Coder, "qwen3_coder"},
    {ToolCallFormat::kGlm45, "glm4.5"},
}};

bool contains(std::string_view text, std::string_view part) { return text.find(part) != std::string_view::npos; }

// A model-given id is kept; the others are drawn from the seed in call order.
ToolCallIdStyle id_style(ToolCallFormat format) {
  return format == ToolCallFormat::kMistral ? ToolCallIdStyle::kNineAlphanumerics : ToolCallIdStyle::kOpenAI;
}

ToolCall with_id(ToolCall call, ToolCallIdSource& ids) {
  if (call.id.empty()) call.id = ids.next();
  return call;
}

}  // namespace

ToolCallFormat detect_tool_call_format(std::string_view source) {
  // Order matters: functionary v3.1 is a Llama 3.1 template (it has <|python_tag|>
  // and ipython too), and the Qwen3-Coder and GLM templates write their own tags
  // inside "<tool_call>", which alone would be Hermes.
  if (contains(source, ">>>all")) return ToolCallFormat::kFunctionaryV3;
  if (contains(source, "<tool_call>") && contains(source, "<function=") && contains(source, "<parameter=")) {
    return ToolCallFormat::kQwen3Coder;
  }
  if (contains(source, "<tool_call>") && contains(source, "<arg_key>")) return ToolCallFormat::kGlm45;
  if (contains(source, "<tool_call>")) return ToolCallFormat::kHermes;
  if (contains(source, "[TOOL_CALLS]")) return ToolCallFormat::kMistral;
  if (contains(source, "<function=")) return ToolCallFormat::kFunctionaryV31;
  if (contains(source, "<|python_tag|>") || contains(source, "<|start_header_id|>ipython<|end_header_id|>") ||
      contains(source, "<|start_header_id|>' + 'ipython") || contains(source, "\"ipython\"") ||
      contains(source, "'ipython'")) {
    return ToolCallFormat::kLlama3;
  }
  return ToolCallFormat::kGeneric;
}

std::string_view tool_call_format_name(ToolCallFormat format) {
  for (const auto& [f, name] : kFormatNames) {
    if (f == format) return name;
  }
  return "generic";
}

std::optional<ToolCallFormat> parse_tool_call_format(std::string_view name) {
  for (const auto& [f, n] : kFormatNames) {
    if (n == name) return f;
  }
  return std::nullopt;
}

ParsedOutput parse_tool_calls(ToolCallFormat format, std::string_view text, uint64_t id_seed) {
  tool_call_scan::State state;
  tool_call_scan::Scan scan = tool_call_scan::scan(format, text, /*at_end=*/true, state);
  ToolCallIdSource ids(id_seed, id_style(format));
  ParsedOutput out;
  for (tool_call_scan::Piece& piece : scan.pieces) {
    if (piece.is_call) {
      out.tool_calls.push_back(with_id(std::move(piece.call), ids));
    } else {
      out.content += piece.content;
    }
  }
  out.content = std::string(json_scan::trim(out.content));
  return out;
}

struct ToolCallStreamParser::Impl {
  Impl(ToolCallFormat f, uint64_t seed) : format(f), ids(seed, id_style(f)) {}

  StreamDelta read(bool at_end) {
    tool_call_scan::Scan scan = tool_call_scan::scan(format, pending, at_end, state);
    pending.erase(0, scan.consumed);
    StreamDelta delta;
    for (tool_call_scan::Piece& piece : scan.pieces) {
      if (piece.is_call) {
        ToolCall call = with_id(std::move(piece.call), ids);
        delta.tool_calls.push_back({calls_sent++, std::move(call.id), std::move(call.name), std::move(call.arguments)});
      } else {
        delta.content += content.push(piece.content);
      }
    }
    if (at_end) delta.content += content.finish();
    return delta;
  }

  ToolCallFormat format;
  ToolCallIdSource ids;
  tool_call_scan::State state;
  std::string pending;  // output not yet decided
  TrimmedTextStream content;
  int calls_sent = 0;
  bool finished = false;
};

ToolCallStreamParser::ToolCallStreamParser(ToolCallFormat format, uint64_t id_seed)
    : impl_(std::make_unique<Impl>(format, id_seed)) {}
ToolCallStreamParser::~ToolCallStreamParser() = default;
ToolCallStreamParser::ToolCallStreamParser(ToolCallStreamParser&&) noexcept = default;
ToolCallStreamParser& ToolCallStreamParser::operator=(ToolCallStreamParser&&) noexcept = default;

StreamDelta ToolCallStreamParser::feed(std::string_view text) {
  if (impl_->finished) return {};
  impl_->pending += text;
  return impl_->read(/*at_end=*/false);
}

StreamDelta ToolCallStreamParser::finish() {
  if (impl_->finished) return {};
  impl_->finished = true;
  return impl_->read(/*at_end=*/true);
}

bool ToolCallStreamParser::saw_tool_call() const { return impl_->calls_sent > 0; }

}  // namespace nucleus
