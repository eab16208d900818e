// Tool calls parsed out of model output. The outputs are written the way each
// model family writes calls (the shapes come from the families' chat
// templates in llama.cpp's models/templates); every expectation is worked out
// by hand. The streaming tests feed every text of the corpus split at every
// byte and at random places, and require exactly the whole parse.
#include "text/tool_call_parser.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "tests/common/test_env.h"
#include "text/tool_call_id.h"
#include "text/unicode_utf8.h"

namespace nucleus {
namespace {

constexpr uint64_t kSeed = 42;
using F = ToolCallFormat;
constexpr F kAllFormats[] = {F::kHermes,         F::kLlama3,  F::kMistral,    F::kFunctionaryV3,
                             F::kFunctionaryV31, F::kGeneric, F::kQwen3Coder, F::kGlm45};

ParsedOutput parse(F format, std::string_view text) { return parse_tool_calls(format, text, kSeed); }

// The call at `index` has this name and arguments (ids are checked separately).
void expect_call(const ParsedOutput& out, size_t index, const std::string& name, const std::string& arguments) {
  ASSERT_LT(index, out.tool_calls.size());
  EXPECT_EQ(out.tool_calls[index].name, name);
  EXPECT_EQ(out.tool_calls[index].arguments, arguments);
}

// The output is all content: no call, and the text (trimmed) unchanged.
void expect_content_only(F format, const std::string& text, const std::string& content) {
  ParsedOutput out = parse(format, text);
  EXPECT_TRUE(out.tool_calls.empty()) << text;
  EXPECT_EQ(out.content, content) << text;
}

// ---------------------------------------------------------------- detection

TEST(ToolCallFormat, DetectedFromTemplateMarkers) {
  EXPECT_EQ(detect_tool_call_format("{{ '<tool_call>\\n' + tool_call | tojson + '\\n</tool_call>' }}"), F::kHermes);
  EXPECT_EQ(detect_tool_call_format("{{- '[TOOL_CALLS][' }}"), F::kMistral);
  EXPECT_EQ(detect_tool_call_format("{{ '>>>all\\n' + message['content'] }}"), F::kFunctionaryV3);
  EXPECT_EQ(detect_tool_call_format("<|python_tag|>{{ '<function=' + name + '>' }}"), F::kFunctionaryV31);
  EXPECT_EQ(detect_tool_call_format("{{- '<|python_tag|>' + tool_call.name + '.call(' }}"), F::kLlama3);
  EXPECT_EQ(detect_tool_call_format("{%- elif message.role == \"ipython\" %}"), F::kLlama3);
  EXPECT_EQ(detect_tool_call_format("{{- '<tool_call>\\n<function=' + name + '>\\n' }}{{- '<parameter=' + k + '>' }}"),
            F::kQwen3Coder);
  EXPECT_EQ(detect_tool_call_format("{{ '<tool_call>' + tc.name }}{{ '<arg_key>' + k + '</arg_key>' }}"), F::kGlm45);
  EXPECT_EQ(detect_tool_call_format("{{ '<start_of_turn>' + role }}"), F::kGeneric);
  EXPECT_EQ(detect_tool_call_format(""), F::kGeneric);
}

TEST(ToolCallFormat, DetectedFromLlamaCppTemplates) {
  const std::filesystem::path dir = test::chat_templates_dir();
  if (!std::filesystem::is_directory(dir)) GTEST_SKIP() << "no chat templates at " << dir;
  const std::vector<std::pair<std::string, F>> expected = {
      {"NousResearch-Hermes-2-Pro-Llama-3-8B-tool_use.jinja", F::kHermes},
      {"NousResearch-Hermes-3-Llama-3.1-8B-tool_use.jinja", F::kHermes},
      {"Qwen-Qwen2.5-7B-Instruct.jinja", F::kHermes},
      {"Qwen-Qwen3-0.6B.jinja", F::kHermes},
      {"meta-llama-Llama-3.1-8B-Instruct.jinja", F::kLlama3},
      {"meta-llama-Llama-3.2-3B-Instruct.jinja", F::kLlama3},
      {"meta-llama-Llama-3.3-70B-Instruct.jinja", F::kLlama3},
      {"mistralai-Mistral-Nemo-Instruct-2407.jinja", F::kMistral},
      {"Mistral-Small-3.2-24B-Instruct-2506.jinja", F::kMistral},
      {"meetkai-functionary-medium-v3.2.jinja", F::kFunctionaryV3},
      {"meetkai-functionary-medium-v3.1.jinja", F::kFunctionaryV31},
      {"Qwen3-Coder.jinja", F::kQwen3Coder},
      {"Qwen3.5-4B.jinja", F::kQwen3Coder},
      {"NVIDIA-Nemotron-3-Nano-30B-A3B-BF16.jinja", F::kQwen3Coder},
      {"GLM-4.6.jinja", F::kGlm45},
      {"GLM-4.7-Flash.jinja", F::kGlm45},
      {"inclusionai-ling-3.0-flash.jinja", F::kGlm45},
      {"poolside-Laguna-XS-2.1.jinja", F::kGlm45},
      {"google-gemma-2-2b-it.jinja", F::kGeneric},
  };
  for (const auto& [file, format] : expected) {
    std::ifstream in(dir / file, std::ios::binary);
    ASSERT_TRUE(in) << file;
    std::stringstream source;
    source << in.rdbuf();
    EXPECT_EQ(tool_call_format_name(detect_tool_call_format(source.str())), tool_call_format_name(format)) << file;
  }
}

TEST(ToolCallFormat, NamesRoundTrip) {
  std::set<std::string_view> names;
  for (F f : kAllFormats) {
    names.insert(tool_call_format_name(f));
    EXPECT_EQ(parse_tool_call_format(tool_call_format_name(f)), f);
  }
  EXPECT_EQ(names.size(), std::size(kAllFormats));
  EXPECT_EQ(parse_tool_call_format("qwen"), std::nullopt);
  EXPECT_EQ(parse_tool_call_format(""), std::nullopt);
}

// ---------------------------------------------------------------- ids

TEST(ToolCallIds, SeededAndShapedLikeOpenAIs) {
  ToolCallIdSource a(7), b(7), c(8);
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    std::string id = a.next();
    EXPECT_EQ(id, b.next());
    ASSERT_EQ(id.size(), 5u + 24u);
    EXPECT_EQ(id.substr(0, 5), "call_");
    for (char ch : id.substr(5)) EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(ch))) << id;
    seen.insert(id);
  }
  EXPECT_EQ(seen.size(), 100u);  // no repeats within a response
  EXPECT_NE(ToolCallIdSource(7).next(), c.next());
}

TEST(ToolCallIds, GivenInCallOrderFromTheSeed) {
  ParsedOutput out = parse(F::kHermes,
                           "<tool_call>{\"name\": \"a\", \"arguments\": {}}</tool_call>"
                           "<tool_call>{\"name\": \"b\", \"arguments\": {}}</tool_call>");
  ToolCallIdSource ids(kSeed);
  ASSERT_EQ(out.tool_calls.size(), 2u);
  EXPECT_EQ(out.tool_calls[0].id, ids.next());
  EXPECT_EQ(out.tool_calls[1].id, ids.next());
}

// ---------------------------------------------------------------- Hermes / Qwen

TEST(HermesToolCalls, OneCallAsQwenWritesIt) {
  ParsedOutput out = parse(F::kHermes,
                           "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"location\": \"Paris\", "
                           "\"unit\": \"celsius\"}}\n</tool_call>");
  EXPECT_EQ(out.content, "");
  ASSERT_EQ(out.tool_calls.size(), 1u);
  expect_call(out, 0, "get_weather", "{\"location\": \"Paris\", \"unit\": \"celsius\"}");
}

TEST(HermesToolCalls, ParallelCallsInOrder) {
  ParsedOutput out = parse(F::kHermes,
                           "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"location\": \"Paris\"}}\n"
                           "</tool_call>\n<tool_call>\n{\"name\": \"get_time\", \"arguments\": {\"tz\": "
                           "\"Europe/Paris\"}}\n</tool_call>");
  EXPECT_EQ(out.content, "");
  ASSERT_EQ(out.tool_calls.size(), 2u);
  expect_call(out, 0, "get_weather", "{\"location\": \"Paris\"}");
  expect_call(out, 1, "get_time", "{\"tz\": \"Europe/Paris\"}");
}

TEST(HermesToolCalls, TextAroundCallsIsContent) {
  ParsedOutput out = parse(F::kHermes,
                           "Let me check the weather.\n<tool_call>\n{\"name\": \"f\", \"arguments\": {}}\n"
                           "</tool_call>\nOne moment.\n");
  // "Let me check the weather.\n" + "\nOne moment.\n", trimmed.
  EXPECT_EQ(out.content, "Let me check the weather.\n\nOne moment.");
  ASSERT_EQ(out.tool_calls.size(), 1u);
  expect_call(out, 0, "f", "{}");
}

TEST(HermesToolCalls, ArgumentsKeepTheModelsTextTrimmed) {
  // Spacing and key order exactly as written, the newline inside kept.
  ParsedOutput out =
      parse(F::kHermes, "<tool_call>{\"name\":\"f\",\"arguments\":   {\"b\":1,\n  \"a\" : [1,2]}   }</tool_call>");
  expect_call(out, 0, "f", "{\"b\":1,\n  \"a\" : [1,2]}");
}

TEST(HermesToolCalls, MissingOrNullArgumentsAreAnEmptyObject) {
  expect_call(parse(F::kHermes, "<tool_call>{\"name\": \"now\"}</tool_call>"), 0, "now", "{}");
  expect_call(parse(F::kHermes, "<tool_call>{\"name\": \"now\", \"arguments\": null}</tool_call>"), 0, "now", "{}");
}

TEST(HermesToolCalls, ArgumentsAsAStringOfJsonAreUnwrapped) {
  ParsedOutput out = parse(
      F::kHermes, "<tool_call>{\"name\": \"f\", \"arguments\": \" {\\\"x\\\": \\\"a\\\\\\\"b\\\"} \"}</tool_call>");
  // The string's value is ` {"x": "a\"b"} `, trimmed.
  expect_call(out, 0, "f", "{\"x\": \"a\\\"b\"}");
}

TEST(HermesToolCalls, ParametersIsTakenForArguments) {
  expect_call(parse(F::kHermes, "<tool_call>{\"name\": \"f\", \"parameters\": {\"q\": 1}}</tool_call>"), 0, "f",
              "{\"q\": 1}");
}

TEST(HermesToolCalls, MalformedCallsStayContent) {
  const std::vector<std::string> texts = {
      "<tool_call>{\"name\": \"f\", \"arguments\": {\"x\": }}</tool_call>",  // bad JSON
      "<tool_call>{\"name\": 3, \"arguments\": {}}</tool_call>",             // name not a string
      "<tool_call>{\"name\": \"\", \"arguments\": {}}</tool_call>",          // empty name
      "<tool_call>{\"arguments\": {}}</tool_call>",                          // no name
      "<tool_call>{\"name\": \"f\", \"arguments\": \"hello\"}</tool_call>",  // arguments a plain string
      "<tool_call>{\"name\": \"f\", \"arguments\": [1, 2]}</tool_call>",     // arguments an array
      "<tool_call>{\"name\": \"f\", \"arguments\": {}} oops</tool_call>",    // text after the JSON
      "<tool_call>[{\"name\": \"f\"}]</tool_call>",                          // not an object
      "<tool_call>get_weather(city=\"Paris\")</tool_call>",                  // not JSON at all
      "Use the <tool_call> tag to call tools.",                              // the marker in prose
  };
  for (const std::string& text : texts) expect_content_only(F::kHermes, text, text);
}

TEST(HermesToolCalls, UnterminatedCallWithCompleteJsonIsACall) {
  ParsedOutput out = parse(F::kHermes, "<tool_call>\n{\"name\": \"f\", \"arguments\": {\"a\": 1}}\n");
  EXPECT_EQ(out.content, "");
  expect_call(out, 0, "f", "{\"a\": 1}");
}

TEST(HermesToolCalls, UnterminatedCallWithIncompleteJsonIsContent) {
  expect_content_only(F::kHermes, "Sure. <tool_call>{\"name\": \"f\", \"argu",
                      "Sure. <tool_call>{\"name\": \"f\", \"argu");
}

TEST(HermesToolCalls, ClosingTagAndBracesInsideStrings) {
  ParsedOutput out = parse(F::kHermes,
                           "<tool_call>{\"name\": \"run\", \"arguments\": {\"code\": \"if (x) { y(\\\"}\\\"); }\", "
                           "\"note\": \"</tool_call> is only text\"}}</tool_call>");
  EXPECT_EQ(out.content, "");
  expect_call(out, 0, "run", "{\"code\": \"if (x) { y(\\\"}\\\"); }\", \"note\": \"</tool_call> is only text\"}");
}

TEST(HermesToolCalls, BrokenCallDoesNotHideTheNextOne) {
  // The first object never closes, so its marker and text are content; the second call still counts.
  ParsedOutput out =
      parse(F::kHermes, "<tool_call>{\"name\": \"f\", <tool_call>{\"name\": \"g\", \"arguments\": {}}</tool_call>");
  EXPECT_EQ(out.content, "<tool_call>{\"name\": \"f\",");
  ASSERT_EQ(out.tool_calls.size(), 1u);
  expect_call(out, 0, "g", "{}");
}

TEST(HermesToolCalls, Unicode) {
  ParsedOutput out =
      parse(F::kHermes,
            "Voilà 🌍\n<tool_call>{\"name\": \"traduire\", \"arguments\": {\"texte\": \"日本語 \\u00e9\"}}"
            "</tool_call>");
  EXPECT_EQ(out.content, "Voilà 🌍");
  expect_call(out, 0, "traduire", "{\"texte\": \"日本語 \\u00e9\"}");
}

TEST(HermesToolCalls, NoCallsIsTrimmedContent) {
  expect_content_only(F::kHermes, "\n  The capital of France is Paris.  \n", "The capital of France is Paris.");
  expect_content_only(F::kHermes, "", "");
}

// ---------------------------------------------------------------- Llama 3.x

TEST(Llama3ToolCalls, BareJsonAnswer) {
  ParsedOutput out = parse(F::kLlama3, "{\"name\": \"get_weather\", \"parameters\": {\"location\": \"Paris\"}}");
  EXPECT_EQ(out.content, "");
  expect_call(out, 0, "get_weather", "{\"location\": \"Paris\"}");
  expect_call(parse(F::kLlama3, "{\"type\": \"function\", \"name\": \"f\", \"parameters\": {}}"), 0, "f", "{}");
  expect_call(parse(F::kLlama3, "  {\"name\": \"f\", \"arguments\": {\"a\": true}}\n"), 0, "f", "{\"a\": true}");
}

TEST(Llama3ToolCalls, SeveralSeparatedBySemicolonsOrNewlines) {
  ParsedOutput out = parse(F::kLlama3,
                           "{\"name\": \"a\", \"parameters\": {\"x\": 1}}; {\"name\": \"b\", \"parameters\": {}}\n"
                           "{\"name\": \"c\", \"parameters\": {\"y\": \"z\"}}");
  EXPECT_EQ(out.content, "");
  ASSERT_EQ(out.tool_calls.size(), 3u);
  expect_call(out, 0, "a", "{\"x\": 1}");
  expect_call(out, 1, "b", "{}");
  expect_call(out, 2, "c", "{\"y\": \"z\"}");
}

TEST(Llama3ToolCalls, JsonThatIsNotACallIsContent) {
  // A JSON answer with a "name" but no parameters is the user's data, not a call.
  expect_content_only(F::kLlama3, "{\"name\": \"Ada\", \"born\": 1815}", "{\"name\": \"Ada\", \"born\": 1815}");
  // JSON after text is not the answer's start.
  expect_content_only(F::kLlama3, "Here: {\"name\": \"f\", \"parameters\": {}}",
                      "Here: {\"name\": \"f\", \"parameters\": {}}");
  expect_content_only(F::kLlama3, "{\"name\": \"f\", \"parameters\": {", "{\"name\": \"f\", \"parameters\": {");
}

TEST(Llama3ToolCalls, TextAfterTheCallsIsContent) {
  ParsedOutput out = parse(F::kLlama3, "{\"name\": \"f\", \"parameters\": {}}\nDone.");
  EXPECT_EQ(out.content, "Done.");
  expect_call(out, 0, "f", "{}");
}

TEST(Llama3ToolCalls, PythonTagWithJson) {
  ParsedOutput out =
      parse(F::kLlama3, "Searching.<|python_tag|>{\"name\": \"search\", \"parameters\": {\"q\": \"x\"}}");
  EXPECT_EQ(out.content, "Searching.");
  expect_call(out, 0, "search", "{\"q\": \"x\"}");
  // After the tag a call needs no parameters member.
  expect_call(parse(F::kLlama3, "<|python_tag|>{\"name\": \"now\"}"), 0, "now", "{}");
  ParsedOutput two = parse(F::kLlama3, "<|python_tag|>{\"name\": \"a\"}; {\"name\": \"b\", \"parameters\": {}}");
  ASSERT_EQ(two.tool_calls.size(), 2u);
  expect_call(two, 1, "b", "{}");
}

TEST(Llama3ToolCalls, BuiltinToolCalls) {
  ParsedOutput out = parse(F::kLlama3, "<|python_tag|>brave_search.call(query=\"weather in Paris\")");
  EXPECT_EQ(out.content, "");
  expect_call(out, 0, "brave_search", "{\"query\": \"weather in Paris\"}");
  expect_call(parse(F::kLlama3, "<|python_tag|>wolfram_alpha.call(query='2+2', n=3, exact=True, unit=None)"), 0,
              "wolfram_alpha", "{\"query\": \"2+2\", \"n\": 3, \"exact\": true, \"unit\": null}");
  // Python escapes decoded, then written as JSON.
  expect_call(parse(F::kLlama3, "<|python_tag|>x.call(q=\"say \\\"hi\\\"\\n\", p='it\\'s')"), 0, "x",
              "{\"q\": \"say \\\"hi\\\"\\n\", \"p\": \"it's\"}");
  expect_call(parse(F::kLlama3, "Looking it up.<|python_tag|>brave_search.call()"), 0, "brave_search", "{}");
}

TEST(Llama3ToolCalls, OtherTextAfterThePythonTagStaysContent) {
  const std::vector<std::string> texts = {
      "<|python_tag|>print(\"hi\")",                     // code_interpreter's raw code
      "<|python_tag|>brave_search.call(query=weather)",  // not a literal
      "<|python_tag|>brave_search.call(query=\"x\"",     // never closed
      "<|python_tag|>brave_search.call(\"x\")",          // not keyword arguments
      "<|python_tag|>",
  };
  for (const std::string& text : texts) expect_content_only(F::kLlama3, text, text);
}

// ---------------------------------------------------------------- Mistral

TEST(MistralToolCalls, ListWithTheModelsIds) {
  ParsedOutput out = parse(F::kMistral,
                           "[TOOL_CALLS][{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}, \"id\": "
                           "\"abc123def\"}, {\"name\": \"get_time\", \"arguments\": {}, \"id\": \"xyz987uvw\"}]");
  EXPECT_EQ(out.content, "");
  ASSERT_EQ(out.tool_calls.size(), 2u);
  expect_call(out, 0, "get_weather", "{\"city\": \"Paris\"}");
  EXPECT_EQ(out.tool_calls[0].id, "abc123def");
  EXPECT_EQ(out.tool_calls[1].id, "xyz987uvw");
}

TEST(MistralToolCalls, ListWithoutIdsGetsGeneratedOnes) {
  ParsedOutput out = parse(F::kMistral, "I'll look. [TOOL_CALLS] [{\"name\": \"f\", \"arguments\": {\"a\": 1}}]");
  EXPECT_EQ(out.content, "I'll look.");
  expect_call(out, 0, "f", "{\"a\": 1}");
  // Mistral's templates accept only 9 letters and digits as ids, so the ones we make have that shape.
  EXPECT_EQ(out.tool_calls[0].id, ToolCallIdSource(kSeed, ToolCallIdStyle::kNineAlphanumerics).next());
  EXPECT_EQ(out.tool_calls[0].id.size(), 9u);
  EXPECT_EQ(out.tool_calls[0].id.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"),
            std::string::npos);
}

TEST(MistralToolCalls, NamedFormOfMistralSmall32) {
  ParsedOutput out = parse(F::kMistral,
                           "[TOOL_CALLS]get_weather[CALL_ID]a1b2c3d4e[ARGS]{\"city\": \"Paris\"}"
                           "[TOOL_CALLS]get_time[ARGS]{}");
  EXPECT_EQ(out.content, "");
  ASSERT_EQ(out.tool_calls.size(), 2u);
  expect_call(out, 0, "get_weather", "{\"city\": \"Paris\"}");
  EXPECT_EQ(out.tool_calls[0].id, "a1b2c3d4e");
  expect_call(out, 1, "get_time", "{}");
  EXPECT_EQ(out.tool_calls[1].id, ToolCallIdSource(kSeed, ToolCallIdStyle::kNineAlphanumerics).next());
}

TEST(MistralToolCalls, MalformedStaysContent) {
  const std::vector<std::string> texts = {
      "[TOOL_CALLS][{\"name\": \"f\", \"arguments\": {]",      "[TOOL_CALLS][]",
      "[TOOL_CALLS][{\"name\": \"f\", \"arguments\": {}}, 3]", "[TOOL_CALLS]get_weather[ARGS]not json",
      "[TOOL_CALLS]get_weather{\"city\": \"Paris\"}",          "[TOOL_CALLS]",
  };
  for (const std::string& text : texts) expect_content_only(F::kMistral, text, text);
}

// ---------------------------------------------------------------- functionary

TEST(FunctionaryV32ToolCalls, CallRightAfterTheGenerationPrompt) {
  // The generation prompt ends with ">>>", so the answer starts with the recipient.
  ParsedOutput out = parse(F::kFunctionaryV3, "get_weather\n{\"location\": \"Paris\"}");
  EXPECT_EQ(out.content, "");
  expect_call(out, 0, "get_weather", "{\"location\": \"Paris\"}");
}

TEST(FunctionaryV32ToolCalls, TextThenCalls) {
  ParsedOutput out =
      parse(F::kFunctionaryV3, "all\nLet me check.>>>get_weather\n{\"location\": \"Paris\"}>>>get_time\n{}");
  EXPECT_EQ(out.content, "Let me check.");
  ASSERT_EQ(out.tool_calls.size(), 2u);
  expect_call(out, 0, "get_weather", "{\"location\": \"Paris\"}");
  expect_call(out, 1, "get_time", "{}");
}

TEST(FunctionaryV32ToolCalls, TextSegmentsAreContent) {
  expect_content_only(F::kFunctionaryV3, ">>>all\nHello there!", "Hello there!");
  expect_content_only(F::kFunctionaryV3, "all\nIn Python, >>> print(1) is the prompt.",
                      "In Python, >>> print(1) is the prompt.");
  expect_content_only(F::kFunctionaryV3, "Hello, world", "Hello, world");
  // A recipient whose body is not JSON is not a call: the segment is content, header included.
  expect_content_only(F::kFunctionaryV3, "Hello\nworld", "Hello\nworld");
  expect_content_only(F::kFunctionaryV3, "python\nprint(1)", "python\nprint(1)");
}

TEST(FunctionaryV32ToolCalls, MarkerRunsOverlap) {
  // ">>>>>>f\n": the ">>>" at 0, 1 and 2 open no header; the one at 3 opens "f".
  ParsedOutput out = parse(F::kFunctionaryV3, ">>>>>>f\n{\"c\": 3}");
  EXPECT_EQ(out.content, ">>>");
  ASSERT_EQ(out.tool_calls.size(), 1u);
  expect_call(out, 0, "f", "{\"c\": 3}");
}

TEST(FunctionaryV31ToolCalls, FunctionTags) {
  ParsedOutput out = parse(F::kFunctionaryV31,
                           "Checking.<function=get_weather>{\"location\": \"Paris\"}</function>\n"
                           "<function=get_time>{}</function>");
  EXPECT_EQ(out.content, "Checking.");
  ASSERT_EQ(out.tool_calls.size(), 2u);
  expect_call(out, 0, "get_weather", "{\"location\": \"Paris\"}");
  expect_call(out, 1, "get_time", "{}");
  expect_call(parse(F::kFunctionaryV31, "<function=f>{\"a\": 1}"), 0, "f", "{\"a\": 1}");  // unterminated
}

TEST(FunctionaryV31ToolCalls, MalformedStaysContent) {
  const std::vector<std::string> texts = {
      "<function=>{}</function>",
      "<function=f>{\"a\": 1} and more</function>",
      "<function=f>{\"a\": </function>",
      "<function=f x>{}</function>",
  };
  for (const std::string& text : texts) expect_content_only(F::kFunctionaryV31, text, text);
}

// ---------------------------------------------------------------- generic

TEST(GenericToolCalls, TheWholeAnswerAsJson) {
  expect_call(parse(F::kGeneric, "{\"tool_call\": {\"name\": \"f\", \"arguments\": {\"a\": 1}}}"), 0, "f",
              "{\"a\": 1}");
  expect_call(parse(F::kGeneric, "\n{\"name\": \"f\", \"arguments\": {}}\n"), 0, "f", "{}");
  ParsedOutput two = parse(F::kGeneric,
                           "{\"tool_calls\": [{\"name\": \"a\", \"arguments\": {}}, {\"name\": \"b\", \"arguments\": "
                           "{\"x\": [1, 2]}}]}");
  ASSERT_EQ(two.tool_calls.size(), 2u);
  expect_call(two, 1, "b", "{\"x\": [1, 2]}");
  EXPECT_EQ(two.content, "");
}

TEST(GenericToolCalls, ResponseIsContent) {
  ParsedOutput out = parse(F::kGeneric, "{\"response\": \"Hello!\\nBye.\"}");
  EXPECT_TRUE(out.tool_calls.empty());
  EXPECT_EQ(out.content, "Hello!\nBye.");
}

TEST(GenericToolCalls, AnythingElseIsContent) {
  const std::vector<std::string> texts = {
      "Hello",
      "{\"name\": \"f\", \"arguments\": {}} and text",
      "{\"tool_calls\": [{\"name\": \"a\"}, 5]}",
      "{\"name\": \"Ada\"}",
      "{\"tool_call\": {\"name\": \"f\"",
      "[{\"name\": \"f\", \"arguments\": {}}]",
  };
  for (const std::string& text : texts) expect_content_only(F::kGeneric, text, text);
}

// ---------------------------------------------------------------- Qwen3-Coder XML

TEST(Qwen3CoderToolCalls, ParametersBecomeAJsonObject) {
  ParsedOutput out = parse(F::kQwen3Coder,
                           "I'll check.\n<tool_call>\n<function=get_weather>\n<parameter=location>\nParis, France\n"
                           "</parameter>\n<parameter=days>\n3\n</parameter>\n</function>\n</tool_call>");
  EXPECT_EQ(out.content, "I'll check.");
  ASSERT_EQ(out.tool_calls.size(), 1u);
  expect_call(out, 0, "get_weather", "{\"location\": \"Paris, France\", \"days\": 3}");
}

TEST(Qwen3CoderToolCalls, ValueTypesAreGuessed) {
  ParsedOutput out = parse(F::kQwen3Coder,
                           "<tool_call>\n<function=f>\n<parameter=opts>\n{\"a\": [1, 2]}\n</parameter>\n"
                           "<parameter=on>\ntrue\n</parameter>\n<parameter=none>\nnull\n</parameter>\n"
                           "<parameter=quoted>\n\"hi\"\n</parameter>\n<parameter=code>\ndef f():\n    return \"x\"\n"
                           "</parameter>\n</function>\n</tool_call>");
  // A JSON string value stays the text as written, quotes included; multi-line text is one string.
  expect_call(out, 0, "f",
              "{\"opts\": {\"a\": [1, 2]}, \"on\": true, \"none\": null, \"quoted\": \"\\\"hi\\\"\", "
              "\"code\": \"def f():\\n    return \\\"x\\\"\"}");
}

TEST(Qwen3CoderToolCalls, NoParametersAndParallelCalls) {
  ParsedOutput out = parse(F::kQwen3Coder,
                           "<tool_call>\n<function=now>\n</function>\n</tool_call>\n<tool_call>\n<function=echo>\n"
                           "<parameter=text>\n</tool_call> 😀\n</parameter>\n</function>\n</tool_call>");
  EXPECT_EQ(out.content, "");
  ASSERT_EQ(out.tool_calls.size(), 2u);
  expect_call(out, 0, "now", "{}");
  expect_call(out, 1, "echo", "{\"text\": \"</tool_call> 😀\"}");
}

TEST(Qwen3CoderToolCalls, MalformedStaysContent) {
  const std::vector<std::string> texts = {
      "<tool_call>\n<function=f>\n<parameter=x>\n1",  // value never closed
      "<tool_call>\n<function=f>\n<param=x>\n1\n</param>\n</function>\n</tool_call>",
      "<tool_call>\n{\"name\": \"f\", \"arguments\": {}}\n</tool_call>",  // Hermes JSON
      "<tool_call>\n<function=>\n</function>\n</tool_call>",
      "<tool_call>\n<function=f>\n</function> oops\n</tool_call>",
  };
  for (const std::string& text : texts) expect_content_only(F::kQwen3Coder, text, text);
}

// ---------------------------------------------------------------- GLM 4.5 key/value tags

TEST(Glm45ToolCalls, KeyValuePairsBecomeAJsonObject) {
  ParsedOutput out = parse(F::kGlm45,
                           "I'll check.\n<tool_call>get_weather\n<arg_key>location</arg_key>\n<arg_value>Paris"
                           "</arg_value>\n<arg_key>days</arg_key>\n<arg_value>3</arg_value>\n</tool_call>");
  EXPECT_EQ(out.content, "I'll check.");
  ASSERT_EQ(out.tool_calls.size(), 1u);
  expect_call(out, 0, "get_weather", "{\"location\": \"Paris\", \"days\": 3}");
}

TEST(Glm45ToolCalls, WithoutNewlinesAsGlm47AndWithoutArguments) {
  ParsedOutput out = parse(F::kGlm45,
                           "<tool_call>f<arg_key>q</arg_key><arg_value>{\"a\": [1]}</arg_value><arg_key>t</arg_key>"
                           "<arg_value>line 1\nline 2</arg_value></tool_call><tool_call>now</tool_call>");
  ASSERT_EQ(out.tool_calls.size(), 2u);
  expect_call(out, 0, "f", "{\"q\": {\"a\": [1]}, \"t\": \"line 1\\nline 2\"}");
  expect_call(out, 1, "now", "{}");
}

TEST(Glm45ToolCalls, MalformedStaysContent) {
  const std::vector<std::string> texts = {
      "<tool_call>f\n<arg_key>x</arg_key>\n1\n</tool_call>",          // no <arg_value>
      "<tool_call>{\"name\": \"f\", \"arguments\": {}}</tool_call>",  // Hermes JSON
      "<tool_call>f\n<arg_key>x</arg_key><arg_value>1",               // never closed
      "<tool_call>\n</tool_call>",                                    // no name
      "<tool_call>call the weather tool</tool_call>",                 // prose
      "<tool_call>f<arg_key>x</arg_key><arg_value>1</arg_value> oops</tool_call>",
  };
  for (const std::string& text : texts) expect_content_only(F::kGlm45, text, text);
}

// ---------------------------------------------------------------- streaming

// What a client assembles from the deltas, checking their shape on the way.
struct Assembled {
  std::string content;
  std::vector<ToolCall> calls;
};

void absorb(const StreamDelta& delta, Assembled& out, const std::string& what) {
  out.content += delta.content;
  for (const ToolCallDelta& d : delta.tool_calls) {
    ASSERT_LE(static_cast<size_t>(d.index), out.calls.size()) << what;
    if (static_cast<size_t>(d.index) == out.calls.size()) {
      EXPECT_FALSE(d.id.empty()) << what;  // a call's first delta names it
      EXPECT_FALSE(d.name.empty()) << what;
      out.calls.push_back({d.id, d.name, d.arguments});
    } else {
      EXPECT_TRUE(d.id.empty() && d.name.empty()) << what;
      out.calls[d.index].arguments += d.arguments;
    }
  }
}

Assembled stream(F format, const std::vector<std::string_view>& pieces, const std::string& what) {
  ToolCallStreamParser parser(format, kSeed);
  Assembled out;
  std::string whole;
  for (std::string_view piece : pieces) whole += piece;
  const bool valid_input = unicode::is_valid_utf8(whole);
  for (std::string_view piece : pieces) {
    StreamDelta delta = parser.feed(piece);
    absorb(delta, out, what);
    EXPECT_EQ(parser.saw_tool_call(), !out.calls.empty()) << what;
    // Content is never cut inside a character, even when the feed was.
    if (valid_input) {
      EXPECT_TRUE(unicode::is_valid_utf8(delta.content)) << what;
    }
  }
  absorb(parser.finish(), out, what);
  EXPECT_TRUE(parser.finish().empty()) << what;
  return out;
}

void expect_same(const ParsedOutput& whole, const Assembled& streamed, const std::string& what) {
  EXPECT_EQ(streamed.content, whole.content) << what;
  ASSERT_EQ(streamed.calls.size(), whole.tool_calls.size()) << what;
  for (size_t i = 0; i < whole.tool_calls.size(); ++i) {
    EXPECT_EQ(streamed.calls[i].id, whole.tool_calls[i].id) << what;
    EXPECT_EQ(streamed.calls[i].name, whole.tool_calls[i].name) << what;
    EXPECT_EQ(streamed.calls[i].arguments, whole.tool_calls[i].arguments) << what;
  }
}

// Outputs of every format, good and broken; each is parsed in every format.
const std::vector<std::string>& corpus() {
  static const std::vector<std::string> texts = {
      "The capital of France is Paris.",
      "  \n Voilà 🌍 日本語 \n ",
      "",
      "Let me check.\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"location\": \"Paris\"}}\n</tool_call>"
      "\n<tool_call>\n{\"name\": \"get_time\", \"arguments\": {\"tz\": \"Europe/Paris\"}}\n</tool_call>",
      "<tool_call>{\"name\": \"run\", \"arguments\": {\"code\": \"{ \\\"}\\\" }\", \"s\": "
      "\"</tool_call>\"}}</tool_call>ok",
      "<tool_call>{\"name\": \"f\", <tool_call>{\"name\": \"g\", \"arguments\": {}}</tool_call>",
      "<tool_call>{\"name\": \"f\", \"arguments\": {\"x\": }}</tool_call> after",
      "<tool_call>{\"name\": \"f\", \"arguments\": \"{\\\"x\\\": 1}\"}</tool_call>",
      "<tool_call>\n{\"name\": \"f\", \"arguments\": {\"a\": 1}}\n",
      "Sure <tool_call>{\"name\": \"é\", \"argu",
      "a <tool_ b <tool_call c </tool_call> d",
      "{\"name\": \"a\", \"parameters\": {\"x\": 1}}; {\"name\": \"b\", \"parameters\": {}}\nThanks",
      "{\"name\": \"Ada\", \"born\": 1815}",
      "Searching.<|python_tag|>{\"name\": \"search\", \"parameters\": {\"q\": \"ü\"}}",
      "<|python_tag|>{\"name\": \"a\"};\n{\"name\": \"b\"} tail",
      "<|python_tag|>brave_search.call(query=\"x\")",
      "A<|python_tag|>wolfram_alpha.call(query='it\\'s (1)', n=3, ok=True) B <|python_tag|>print(1)",
      "<|python_tag|>brave_search.call(query=\"x\"",
      "<|python_ta",
      "[TOOL_CALLS][{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}, \"id\": \"abc123def\"}]",
      "Hmm [TOOL_CALLS]get_weather[CALL_ID]a1b2c3d4e[ARGS]{\"city\": \"Paris\"}[TOOL_CALLS]t[ARGS]{} ok",
      "[TOOL_CALLS][{\"name\": \"f\", \"arguments\": {]",
      "[TOOL_CALLS]get[AR",
      "all\nLet me check.>>>get_weather\n{\"location\": \"Paris\"}>>>get_time\n{}",
      "get_weather\n{\"location\": \"Paris\"}",
      ">>>all\nIn Python, >>> print(1) is the prompt.>>>x",
      "Hello\nworld>>>f\n{\"a\": 1} trailing",
      ">>>>>>f\n{\"c\": 3}>>>>g\n{}",
      "Checking.<function=get_weather>{\"location\": \"Paris\"}</function>\n<function=get_time>{}</function>",
      "<function=f>{\"a\": 1} and more</function> <function=g>{\"b\": [1, {\"c\": 2}]}",
      "{\"tool_calls\": [{\"name\": \"a\", \"arguments\": {}}, {\"name\": \"b\", \"arguments\": {\"x\": [1, 2]}}]}",
      "{\"tool_call\": {\"name\": \"f\", \"arguments\": {\"a\": 1}}}",
      "{\"response\": \"Hello!\"}",
      "  {\"name\": \"f\", \"arguments\": {}} and text",
      "I'll check.\n<tool_call>\n<function=get_weather>\n<parameter=location>\nParis, France\n</parameter>\n"
      "<parameter=days>\n3\n</parameter>\n</function>\n</tool_call>\n<tool_call>\n<function=now>\n</function>",
      "<tool_call>\n<function=f>\n<parameter=x>\n1\n <tool_call><function=g></function></tool_call>",
      "Ok.\n<tool_call>get_weather\n<arg_key>location</arg_key>\n<arg_value>Paris</arg_value>\n</tool_call>"
      "<tool_call>t<arg_key>n</arg_key><arg_value>3</arg_value></tool_call>",
      "<tool_call>f<arg_key>x</arg_key><arg_value>1 <tool_call>g</tool_call>",
  };
  return texts;
}

TEST(ToolCallStream, EverySplitInTwoEqualsTheWholeParse) {
  for (F format : kAllFormats) {
    for (const std::string& text : corpus()) {
      ParsedOutput whole = parse(format, text);
      for (size_t cut = 0; cut <= text.size(); ++cut) {
        std::string what = std::string(tool_call_format_name(format)) + " cut " + std::to_string(cut) + ": " + text;
        std::string_view t(text);
        expect_same(whole, stream(format, {t.substr(0, cut), t.substr(cut)}, what), what);
      }
    }
  }
}

TEST(ToolCallStream, ByteByByteAndRandomSplitsEqualTheWholeParse) {
  std::mt19937 rng(1234);
  for (F format : kAllFormats) {
    for (const std::string& text : corpus()) {
      ParsedOutput whole = parse(format, text);
      std::string_view t(text);
      std::vector<std::string_view> bytes;
      for (size_t i = 0; i < t.size(); ++i) bytes.push_back(t.substr(i, 1));
      std::string what = std::string(tool_call_format_name(format)) + " bytes: " + text;
      expect_same(whole, stream(format, bytes, what), what);
      for (int round = 0; round < 20; ++round) {
        std::vector<std::string_view> pieces;
        for (size_t at = 0; at < t.size();) {
          size_t n = std::uniform_int_distribution<size_t>(0, 8)(rng);
          pieces.push_back(t.substr(at, n));
          at += n;
        }
        what = std::string(tool_call_format_name(format)) + " random: " + text;
        expect_same(whole, stream(format, pieces, what), what);
      }
    }
  }
}

// Texts glued from the pieces the formats are made of, in random order, so
// markers, JSON and text meet in ways no hand-written case thought of.
TEST(ToolCallStream, RandomlyAssembledOutputsStreamAsTheyParse) {
  const std::vector<std::string> fragments = {
      "<tool_call>", "</tool_call>", "<function=", "f>", "</function>", "[TOOL_CALLS]", "[ARGS]", "[CALL_ID]",
      "abc123def", "<|python_tag|>", ">>>", "all\n", "get\n", "<parameter=", "x>\n", "</parameter>", "{", "}", "[", "]",
      "\"", "\\", ",", ":", ";", " ", "\n", "\"name\": \"f\"", "\"arguments\": ", "\"parameters\": ", "{\"a\": 1}",
      "{\"name\": \"g\", \"arguments\": {}}", "\"tool_calls\": ", "\"response\": \"r\"", "é", "🌍", "text", "<", ">",
      "1", "null",
      // Whole calls of each format, so valid calls meet the broken pieces above.
      "<tool_call>{\"name\": \"f\", \"arguments\": {\"a\": \"}\"}}</tool_call>",
      "{\"name\": \"f\", \"parameters\": {}}", "[TOOL_CALLS][{\"name\": \"f\", \"arguments\": {}}]",
      "[TOOL_CALLS]f[ARGS]{\"b\": 2}", ">>>f\n{\"c\": 3}", "<function=f>{\"d\": 4}</function>",
      "<tool_call>\n<function=f>\n<parameter=x>\n1\n</parameter>\n</function>\n</tool_call>",
      "{\"tool_call\": {\"name\": \"f\", \"arguments\": {}}}", "<|python_tag|>b.call(q=\"x\", n=2)", "b.call(", "='",
      ")", "<arg_key>", "</arg_key>", "<arg_value>", "</arg_value>",
      "<tool_call>g<arg_key>k</arg_key><arg_value>v</arg_value>"};
  std::mt19937 rng(2024);
  int with_calls = 0;
  for (int round = 0; round < 3000; ++round) {
    std::string text;
    int n = std::uniform_int_distribution<int>(1, 14)(rng);
    for (int i = 0; i < n; ++i) text += fragments[std::uniform_int_distribution<size_t>(0, fragments.size() - 1)(rng)];
    std::string_view t(text);
    for (F format : kAllFormats) {
      ParsedOutput whole = parse(format, text);
      with_calls += !whole.tool_calls.empty();
      std::vector<std::string_view> pieces;
      for (size_t at = 0; at < t.size();) {
        size_t len = std::uniform_int_distribution<size_t>(0, 5)(rng);
        pieces.push_back(t.substr(at, len));
        at += len;
      }
      std::string what = std::string(tool_call_format_name(format)) + " assembled: " + text;
      expect_same(whole, stream(format, pieces, what), what);
      if (HasFailure()) return;  // one counterexample is enough to read
    }
  }
  std::printf("[ tool calls ] %d of %d assembled (text, format) pairs hold calls\n", with_calls,
              static_cast<int>(3000 * std::size(kAllFormats)));
  EXPECT_GT(with_calls, 2000);  // the texts do reach the calls, not only content
}

// Arbitrary bytes among the pieces (NUL, lone UTF-8 lead and continuation
// bytes, 0xFF): nothing throws or crashes, and streaming still equals the whole parse.
TEST(ToolCallStream, ArbitraryBytesAreSafe) {
  const std::vector<std::string> fragments = {"<tool_call>",
                                              "</tool_call>",
                                              "{\"name\": \"f\", \"arguments\": {\"a\": \"",
                                              "\"}}",
                                              "<|python_tag|>",
                                              "[TOOL_CALLS]",
                                              ">>>",
                                              "<function=f>",
                                              "<parameter=",
                                              "f.call(q=\"",
                                              "\")",
                                              "{\"tool_calls\": [",
                                              "]}"};
  std::mt19937 rng(77);
  for (int round = 0; round < 2000; ++round) {
    std::string text;
    int n = std::uniform_int_distribution<int>(0, 10)(rng);
    for (int i = 0; i < n; ++i) {
      if (std::uniform_int_distribution<int>(0, 2)(rng) == 0) {
        text += fragments[std::uniform_int_distribution<size_t>(0, fragments.size() - 1)(rng)];
      } else {
        text += static_cast<char>(std::uniform_int_distribution<int>(0, 255)(rng));
      }
    }
    std::string_view t(text);
    for (F format : kAllFormats) {
      ParsedOutput whole = parse(format, text);
      std::vector<std::string_view> pieces;
      for (size_t at = 0; at < t.size();) {
        size_t len = std::uniform_int_distribution<size_t>(0, 3)(rng);
        pieces.push_back(t.substr(at, len));
        at += len;
      }
      std::string what = std::string(tool_call_format_name(format)) + " bytes round " + std::to_string(round);
      expect_same(whole, stream(format, pieces, what), what);
      if (HasFailure()) return;
    }
  }
}

TEST(ToolCallStream, ContentFlowsAndASplitMarkerIsHeldBack) {
  ToolCallStreamParser parser(F::kHermes, kSeed);
  StreamDelta d = parser.feed("Hello world");
  EXPECT_EQ(d.content, "Hello world");  // nothing here can start a call
  d = parser.feed(". Checking <tool");
  EXPECT_EQ(d.content, ". Checking");  // " <tool" may open a call; the space is held as trailing whitespace
  EXPECT_FALSE(parser.saw_tool_call());
  d = parser.feed("_call>{\"name\": \"f\", \"arguments\": {\"a\"");
  EXPECT_TRUE(d.empty());  // inside a call: nothing is known yet
  d = parser.feed(": 1}}</tool_call>");
  EXPECT_EQ(d.content, "");
  ASSERT_EQ(d.tool_calls.size(), 1u);
  EXPECT_EQ(d.tool_calls[0].index, 0);
  EXPECT_EQ(d.tool_calls[0].id, ToolCallIdSource(kSeed).next());
  EXPECT_EQ(d.tool_calls[0].name, "f");
  EXPECT_EQ(d.tool_calls[0].arguments, "{\"a\": 1}");
  EXPECT_TRUE(parser.saw_tool_call());
  d = parser.feed(" Done");
  EXPECT_EQ(d.content, "  Done");  // the held space is released: it now sits inside the content
  d = parser.finish();
  EXPECT_TRUE(d.empty());
}

TEST(ToolCallStream, HeldMarkerPrefixThatIsNotAMarkerIsReleased) {
  ToolCallStreamParser parser(F::kHermes, kSeed);
  EXPECT_EQ(parser.feed("a <tool_").content, "a");
  EXPECT_EQ(parser.feed("box> b").content, " <tool_box> b");
  EXPECT_EQ(parser.finish().content, "");
}

TEST(ToolCallStream, UnterminatedCallIsDecidedAtTheEnd) {
  ToolCallStreamParser parser(F::kHermes, kSeed);
  EXPECT_TRUE(parser.feed("<tool_call>{\"name\": \"f\", \"arguments\": {}}").empty());
  StreamDelta d = parser.finish();
  ASSERT_EQ(d.tool_calls.size(), 1u);
  EXPECT_EQ(d.tool_calls[0].name, "f");
}

}  // namespace
}  // namespace nucleus
