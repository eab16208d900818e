// llama.cpp's real chat templates through the server's chat path: each one
// parses, renders a tool conversation (tools, an assistant call, a tool result)
// or refuses it with the template's own error, never anything else; and the
// tool-call format read from the well-known ones is the family's.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <cstdlib>
#include <sstream>

#include "tests/common/test_env.h"
#include "text/chat_formatter.h"
#include "text/jinja/error.h"
#include "text/tool_call_parser.h"

namespace nucleus {
namespace {

namespace fs = std::filesystem;

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(ChatFormatterTemplates, EveryTemplateRendersAToolConversationOrRefusesIt) {
  const fs::path dir = test::chat_templates_dir();
  if (!fs::is_directory(dir)) GTEST_SKIP() << "no chat templates at " << dir << " (run bench/peers/fetch-llama-src.sh)";
  TemplateTokens tokens;
  tokens.bos = "<s>";
  tokens.eos = "</s>";
  tokens.specials = {"<s>", "</s>", "<|im_start|>", "<|im_end|>"};
  ChatMessage call("assistant", "");
  call.content_is_null = true;
  call.tool_calls.push_back({"call_abc123def", "get_weather", R"({"city": "Paris"})"});
  ChatMessage result("tool", "{\"temperature\": 18}");
  result.tool_call_id = "call_abc123def";
  result.name = "get_weather";
  const std::vector<ChatMessage> conversation = {{"system", "You are helpful."}, {"user", "Weather in Paris?"}, call,
                                                 result};
  ChatRenderOptions options;
  options.tools = nlohmann::ordered_json::parse(
      R"([{"type":"function","function":{"name":"get_weather","description":"Weather","parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}}])");
  int files = 0, rendered = 0, refused = 0, with_result = 0;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().extension() != ".jinja") continue;
    ++files;
    SCOPED_TRACE(entry.path().filename().string());
    const ChatFormatter f = ChatFormatter::jinja(read_file(entry.path()), tokens, entry.path().filename().string());
    try {
      const RenderedChat r = f.render(conversation, options);
      ++rendered;
      with_result += r.text.find("18") != std::string::npos;
    } catch (const jinja::TemplateError& e) {
      if (std::getenv("SHOW_REFUSALS")) std::printf("refused %s: %s\n", entry.path().filename().c_str(), e.what());
      ++refused;  // e.g. "System role not supported", or tool messages the template does not know
    }
  }
  std::printf("[ templates ] %d files: %d render the tool conversation (%d show the tool result), %d refuse it\n",
              files, rendered, with_result, refused);
  EXPECT_GT(files, 0);
  EXPECT_GE(rendered, files - 10);  // 62 of the 70 in llama-cpp-python 0.3.36; the rest raise their own errors
}

TEST(ChatFormatterTemplates, ToolCallFormatOfWellKnownTemplates) {
  const fs::path dir = test::chat_templates_dir();
  if (!fs::is_directory(dir)) GTEST_SKIP() << "no chat templates at " << dir << " (run bench/peers/fetch-llama-src.sh)";
  const std::map<std::string, ToolCallFormat> expected = {
      {"NousResearch-Hermes-3-Llama-3.1-8B-tool_use.jinja", ToolCallFormat::kHermes},
      {"Qwen-Qwen2.5-7B-Instruct.jinja", ToolCallFormat::kHermes},
      {"Qwen-Qwen3-0.6B.jinja", ToolCallFormat::kHermes},
      {"meta-llama-Llama-3.1-8B-Instruct.jinja", ToolCallFormat::kLlama3},
      {"meta-llama-Llama-3.2-3B-Instruct.jinja", ToolCallFormat::kLlama3},
      {"meetkai-functionary-medium-v3.1.jinja", ToolCallFormat::kFunctionaryV31},
      {"meetkai-functionary-medium-v3.2.jinja", ToolCallFormat::kFunctionaryV3},
      {"mistralai-Mistral-Nemo-Instruct-2407.jinja", ToolCallFormat::kMistral},
      {"Qwen3-Coder.jinja", ToolCallFormat::kQwen3Coder},
  };
  for (const auto& [file, format] : expected) {
    if (!fs::exists(dir / file)) continue;
    EXPECT_EQ(tool_call_format_name(detect_tool_call_format(read_file(dir / file))), tool_call_format_name(format))
        << file;
  }
}

}  // namespace
}  // namespace nucleus
