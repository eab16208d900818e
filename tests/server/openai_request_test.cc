// Request parsing and validation: each wrong input is a 400 ApiError naming
// the parameter; each accepted form lands in the right field.
#include <gtest/gtest.h>

#include <limits>

#include <nlohmann/json.hpp>

#include "server/errors.h"
#include "server/openai_request.h"

namespace nucleus::server {
namespace {

using nlohmann::json;

// The status and param of the ApiError `fn` throws; fails the test if it does not throw one.
template <class Fn>
std::pair<int, std::string> error_of(Fn&& fn) {
  try {
    fn();
  } catch (const ApiError& e) {
    return {e.status(), e.param()};
  }
  ADD_FAILURE() << "no ApiError thrown";
  return {0, ""};
}

TEST(ParseJsonBody, MalformedInvalidUtf8AndNonObjectsAre400) {
  EXPECT_EQ(error_of([] { parse_json_body("{\"prompt\": "); }).first, 400);
  EXPECT_EQ(error_of([] { parse_json_body("{\"prompt\": \"\xff\xfe\"}"); }).first, 400);
  EXPECT_EQ(error_of([] { parse_json_body("[1, 2]"); }).first, 400);
  EXPECT_EQ(error_of([] { parse_json_body(""); }).first, 400);
  EXPECT_EQ(error_of([] { parse_json_body("{\"prompt\": \"a\", \"temperature\": 1e400}"); }).first, 400);
  EXPECT_TRUE(parse_json_body("{\"a\": 1}").is_object());
}

// Nesting past 512 levels is a 400 before anything walks the value (the
// template and grammar converters recurse: 100,000 levels crashed the
// server); brackets inside strings do not count.
TEST(ParseJsonBody, NestingDeeperThanTheLimitIs400) {
  const auto nested = [](size_t depth) {
    return "{\"a\": " + std::string(depth - 1, '[') + std::string(depth - 1, ']') + "}";
  };
  EXPECT_TRUE(parse_json_body(nested(512)).is_object());
  EXPECT_EQ(error_of([&] { parse_json_body(nested(513)); }).first, 400);
  EXPECT_EQ(error_of([&] { parse_json_body(nested(100000)); }).first, 400);
  EXPECT_TRUE(parse_json_body("{\"a\": \"" + std::string(10000, '[') + "\\\"{{\"}").is_object());
}

// A tool call's arguments string is parsed for the template: held to the same depth.
TEST(ChatRequest, ToolCallArgumentsNestedTooDeepAre400) {
  json body = {{"messages", json::array({{{"role", "user"}, {"content", "x"}},
                                         {{"role", "assistant"},
                                          {"content", nullptr},
                                          {"tool_calls", json::array({{{"id", "c"},
                                                                       {"type", "function"},
                                                                       {"function", {{"name", "f"}, {"arguments", ""}}}}})}}})}};
  body["messages"][1]["tool_calls"][0]["function"]["arguments"] = std::string(600, '[') + std::string(600, ']');
  EXPECT_EQ(error_of([&] { parse_chat_request(body); }),
            (std::pair<int, std::string>{400, "messages[1].tool_calls[0].function.arguments"}));
  body["messages"][1]["tool_calls"][0]["function"]["arguments"] = "[[1]]";
  EXPECT_NO_THROW(parse_chat_request(body));
}

TEST(CompletionRequest, PromptForms) {
  auto prompts = [](json p) { return parse_completion_request({{"prompt", p}}).prompts; };
  auto one = prompts("hello");
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(std::get<std::string>(one[0]), "hello");

  auto two = prompts({"a", "b"});
  ASSERT_EQ(two.size(), 2u);
  EXPECT_EQ(std::get<std::string>(two[1]), "b");

  auto ids = prompts({1, 2, 3});
  ASSERT_EQ(ids.size(), 1u);
  EXPECT_EQ(std::get<std::vector<int32_t>>(ids[0]), (std::vector<int32_t>{1, 2, 3}));

  auto batches = prompts({{4, 5}, {6}});
  ASSERT_EQ(batches.size(), 2u);
  EXPECT_EQ(std::get<std::vector<int32_t>>(batches[1]), (std::vector<int32_t>{6}));

  EXPECT_EQ(error_of([] { parse_completion_request({{"prompt", json::array()}}); }).second, "prompt");
  EXPECT_EQ(error_of([] { parse_completion_request({{"prompt", 7}}); }).second, "prompt");
  EXPECT_EQ(error_of([] { parse_completion_request({{"prompt", {1, -2}}}); }).second, "prompt");
  EXPECT_EQ(error_of([] { parse_completion_request({{"model", "m"}}); }).second, "prompt");
}

// max_tokens 0 with echo scores the prompt and generates nothing (the engine
// runs one token, the response shows none); without echo it is a 400.
TEST(CompletionRequest, MaxTokensZeroOnlyWithEcho) {
  for (const char* key : {"max_tokens", "max_completion_tokens"}) {
    const CompletionRequest r = parse_completion_request({{"prompt", "a"}, {"echo", true}, {key, 0}, {"logprobs", 1}});
    EXPECT_TRUE(r.prompt_only) << key;
    EXPECT_EQ(r.common.max_tokens, 1) << key;
    EXPECT_EQ(r.common.prompt_logprobs, 1) << key;
    EXPECT_EQ(error_of([&] { parse_completion_request({{"prompt", "a"}, {key, 0}}); }),
              (std::pair<int, std::string>{400, key}));
  }
  EXPECT_FALSE(parse_completion_request({{"prompt", "a"}, {"echo", true}, {"max_tokens", 3}}).prompt_only);
  EXPECT_EQ(error_of([] { parse_completion_request({{"prompt", "a"}, {"echo", true}, {"max_tokens", -1}}); }).second,
            "max_tokens");
}

TEST(CompletionRequest, SuffixIsNotSupported) {
  auto [status, param] = error_of([] { parse_completion_request({{"prompt", "a"}, {"suffix", "b"}}); });
  EXPECT_EQ(status, 400);
  EXPECT_EQ(param, "suffix");
}

TEST(CompletionRequest, DefaultsFollowOpenAI) {
  CompletionRequest r = parse_completion_request({{"prompt", "a"}});
  EXPECT_EQ(r.common.max_tokens.value_or(-1), 16);  // legacy completions default
  EXPECT_EQ(r.common.n, 1);
  EXPECT_FALSE(r.common.stream);
  EXPECT_EQ(r.logprobs, -1);
  EXPECT_FLOAT_EQ(r.common.params.temperature, 1.0f);
  EXPECT_FALSE(r.common.params.has_seed);
}

TEST(CompletionRequest, EveryParameterLandsInItsField) {
  json body = {{"prompt", "a"},
               {"max_tokens", 7},
               {"temperature", 0.5},
               {"top_p", 0.9},
               {"n", 3},
               {"stop", "END"},
               {"seed", 42},
               {"presence_penalty", 0.25},
               {"frequency_penalty", -0.5},
               {"logit_bias", {{"50", 100}, {"7", -1.5}}},
               {"logprobs", 2},
               {"echo", true},
               {"stream", true},
               {"stream_options", {{"include_usage", true}}},
               {"user", "ignored"},
               {"some_unknown_field", {1, 2}},
               {"top_k", 40},
               {"min_p", 0.05},
               {"typical_p", 0.8},
               {"repetition_penalty", 1.1},
               {"min_tokens", 2},
               {"ignore_eos", true},
               {"stop_token_ids", {2, 3}},
               {"include_stop_str_in_output", true},
               {"skip_special_tokens", false}};
  CompletionRequest r = parse_completion_request(body);
  EXPECT_TRUE(r.echo);
  EXPECT_EQ(r.common.prompt_logprobs, 2);  // echo with logprobs: the prompt's tokens get them too
  const auto& c = r.common;
  const auto& p = c.params;
  EXPECT_EQ(c.max_tokens.value(), 7);
  EXPECT_EQ(c.n, 3);
  EXPECT_EQ(c.stop, std::vector<std::string>{"END"});
  EXPECT_TRUE(c.stream);
  EXPECT_TRUE(c.include_usage);
  EXPECT_TRUE(c.include_stop_str_in_output);
  EXPECT_FALSE(c.skip_special_tokens);
  EXPECT_FLOAT_EQ(p.temperature, 0.5f);
  EXPECT_FLOAT_EQ(p.top_p, 0.9f);
  EXPECT_TRUE(p.has_seed);
  EXPECT_EQ(p.seed, 42u);
  EXPECT_FLOAT_EQ(p.presence_penalty, 0.25f);
  EXPECT_FLOAT_EQ(p.frequency_penalty, -0.5f);
  ASSERT_EQ(p.logit_bias.size(), 2u);
  float bias50 = 0, bias7 = 0;
  for (const auto& b : p.logit_bias) (b.token_id == 50 ? bias50 : bias7) = b.bias;
  EXPECT_FLOAT_EQ(bias50, 100.0f);
  EXPECT_FLOAT_EQ(bias7, -1.5f);
  EXPECT_EQ(r.logprobs, 2);
  EXPECT_EQ(p.logprobs, 2);
  EXPECT_EQ(p.top_k, 40);
  EXPECT_FLOAT_EQ(p.min_p, 0.05f);
  EXPECT_FLOAT_EQ(p.typical_p, 0.8f);
  EXPECT_FLOAT_EQ(p.repetition_penalty, 1.1f);
  EXPECT_EQ(p.min_tokens, 2);
  EXPECT_TRUE(p.ignore_eos);
  EXPECT_EQ(p.stop_token_ids, (std::vector<int32_t>{2, 3}));

  const CompletionRequest echo_only = parse_completion_request({{"prompt", "a"}, {"echo", true}});
  EXPECT_TRUE(echo_only.echo);
  EXPECT_EQ(echo_only.common.prompt_logprobs, -1);
  EXPECT_EQ(parse_completion_request({{"prompt", "a"}, {"logprobs", 1}}).common.prompt_logprobs, -1);
}

TEST(CommonRequest, MaxCompletionTokensAndStopLists) {
  ChatRequest r = parse_chat_request(
      {{"messages", {{{"role", "user"}, {"content", "x"}}}}, {"max_completion_tokens", 9}, {"stop", {"a", "b"}}});
  EXPECT_EQ(r.common.max_tokens.value(), 9);
  EXPECT_EQ(r.common.max_tokens_param, "max_completion_tokens");  // errors about the length name it
  EXPECT_EQ(parse_completion_request({{"prompt", "a"}}).common.prompt_param, "prompt");
  EXPECT_EQ(parse_chat_request({{"messages", {{{"role", "user"}, {"content", "x"}}}}}).common.prompt_param,
            "messages");  // errors about the rendered prompt name the field the client sent
  EXPECT_EQ(parse_chat_request({{"messages", {{{"role", "user"}, {"content", "x"}}}}, {"max_tokens", 9}})
                .common.max_tokens_param,
            "max_tokens");
  EXPECT_EQ(r.common.stop, (std::vector<std::string>{"a", "b"}));
  // Chat has no default max_tokens: generation runs to EOS or the context.
  EXPECT_FALSE(parse_chat_request({{"messages", {{{"role", "user"}, {"content", "x"}}}}}).common.max_tokens);
}

TEST(CommonRequest, WrongTypesNameTheParameter) {
  const std::vector<std::pair<std::string, json>> cases = {
      {"temperature", "hot"},     {"top_p", true},      {"n", 1.5},           {"max_tokens", "10"},
      {"stop", 5},                {"stop", {"a", 1}},   {"seed", "x"},        {"logit_bias", {1, 2}},
      {"stream", "yes"},          {"top_k", 2.5},       {"stop_token_ids", 3}, {"ignore_eos", 1},
      {"stream_options", "on"},   {"logprobs", "all"},  {"model", 12},
  };
  for (const auto& [name, value] : cases) {
    json body = {{"prompt", "a"}, {name, value}};
    auto [status, param] = error_of([&] { parse_completion_request(body); });
    EXPECT_EQ(status, 400) << name << "=" << value.dump();
    EXPECT_EQ(param, name) << name << "=" << value.dump();
  }
}

TEST(CommonRequest, SpeculativeChoices) {
  for (const std::string value : {"ngram", "draft", "off"}) {
    EXPECT_EQ(parse_completion_request({{"prompt", "a"}, {"speculative", value}}).common.speculative, value);
  }
  EXPECT_EQ(parse_completion_request({{"prompt", "a"}}).common.speculative, "");
  for (const json& bad : {json("eagle"), json(true), json(1)}) {
    auto [status, param] = error_of([&] { parse_completion_request({{"prompt", "a"}, {"speculative", bad}}); });
    EXPECT_EQ(status, 400) << bad.dump();
    EXPECT_EQ(param, "speculative") << bad.dump();
  }
}

TEST(CommonRequest, OutOfRangeValuesNameTheParameter) {
  const std::vector<std::pair<std::string, json>> cases = {
      {"temperature", -0.1}, {"temperature", 2.5}, {"top_p", 0},          {"top_p", 1.01},
      {"n", 0},              {"n", 1000},          {"max_tokens", 0},     {"max_tokens", -5},
      {"presence_penalty", 3}, {"frequency_penalty", -2.5}, {"logprobs", 21}, {"min_p", 1.5},
      {"typical_p", 0},      {"repetition_penalty", 0}, {"repetition_penalty", 1e7}, {"min_tokens", -1},
      {"logit_bias", {{"5", 101}}},
      {"logit_bias", {{"abc", 1}}}, {"logit_bias", {{"-3", 1}}},
  };
  for (const auto& [name, value] : cases) {
    json body = {{"prompt", "a"}, {name, value}};
    auto [status, param] = error_of([&] { parse_completion_request(body); });
    EXPECT_EQ(status, 400) << name << "=" << value.dump();
    EXPECT_EQ(param, name) << name << "=" << value.dump();
  }
}

// JSON integers above INT64_MAX arrive as unsigned 64-bit values: they must be
// refused as out of range, not wrapped to negatives (2^64 - 1 became top_k -1,
// "off", and was accepted; errors reported 2^63 as -9223372036854775808).
TEST(CommonRequest, IntegersAboveInt64MaxAreOutOfRangeNotWrapped) {
  const uint64_t all_ones = std::numeric_limits<uint64_t>::max(), two_63 = uint64_t{1} << 63;
  for (const std::string name : {"top_k", "max_tokens", "n", "seed", "min_tokens", "logprobs", "best_of"}) {
    for (const uint64_t value : {all_ones, two_63}) {
      json body = {{"prompt", "a"}, {name, value}};
      try {
        parse_completion_request(body);
        ADD_FAILURE() << name << "=" << value << " was accepted";
      } catch (const ApiError& e) {
        EXPECT_EQ(e.status(), 400) << name << "=" << value;
        EXPECT_EQ(e.param(), name) << name << "=" << value;
        EXPECT_EQ(std::string(e.what()).find("got -"), std::string::npos) << name << ": " << e.what();
      }
    }
  }
  for (const json& ids : {json{all_ones}, json{{1, two_63}}}) {
    EXPECT_EQ(error_of([&] { parse_completion_request({{"prompt", ids}}); }).second, "prompt") << ids.dump();
    EXPECT_EQ(error_of([&] { parse_completion_request({{"prompt", "a"}, {"stop_token_ids", ids}}); }).second,
              "stop_token_ids") << ids.dump();
  }
  // The largest values that fit are still taken as they are.
  EXPECT_EQ(parse_completion_request({{"prompt", "a"}, {"top_k", 2147483647u}}).common.params.top_k, 2147483647);
  EXPECT_EQ(parse_completion_request({{"prompt", "a"}, {"seed", uint64_t{9223372036854775807u}}}).common.params.seed,
            uint64_t{9223372036854775807u});
}

TEST(CommonRequest, StreamOptionsUserAndMinTokensAreChecked) {
  auto param_of = [](json extra) {
    json body = {{"prompt", "a"}};
    body.update(extra);
    return error_of([&] { parse_completion_request(body); });
  };
  // stream_options only with stream (OpenAI and vLLM refuse it otherwise); its field is named in full.
  EXPECT_EQ(param_of({{"stream_options", {{"include_usage", true}}}}), std::make_pair(400, std::string("stream_options")));
  EXPECT_EQ(param_of({{"stream", true}, {"stream_options", {{"include_usage", "yes"}}}}),
            std::make_pair(400, std::string("stream_options.include_usage")));
  EXPECT_TRUE(parse_completion_request({{"prompt", "a"}, {"stream", false}, {"stream_options", nullptr}}).common.stream ==
              false);
  EXPECT_EQ(param_of({{"user", 5}}), std::make_pair(400, std::string("user")));
  // min_tokens above max_tokens (given, or the completions default 16) can never be met.
  EXPECT_EQ(param_of({{"min_tokens", 5}, {"max_tokens", 4}}), std::make_pair(400, std::string("min_tokens")));
  EXPECT_EQ(param_of({{"min_tokens", 17}}), std::make_pair(400, std::string("min_tokens")));
  EXPECT_EQ(parse_completion_request({{"prompt", "a"}, {"min_tokens", 4}, {"max_tokens", 4}}).common.params.min_tokens, 4);
  // Chat has no default max_tokens, so any min_tokens is fine there.
  EXPECT_NO_THROW(parse_chat_request({{"messages", {{{"role", "user"}, {"content", "x"}}}}, {"min_tokens", 50}}));
}

TEST(CommonRequest, NullMeansAbsent) {
  CompletionRequest r = parse_completion_request({{"prompt", "a"}, {"temperature", nullptr}, {"stop", nullptr}});
  EXPECT_FLOAT_EQ(r.common.params.temperature, 1.0f);
  EXPECT_TRUE(r.common.stop.empty());
}

TEST(CommonRequest, ResponseFormatTextOrJsonObject) {
  EXPECT_FALSE(parse_completion_request({{"prompt", "a"}, {"response_format", {{"type", "text"}}}}).common.json_object);
  EXPECT_TRUE(
      parse_completion_request({{"prompt", "a"}, {"response_format", {{"type", "json_object"}}}}).common.json_object);
  for (const char* type : {"json_schema", "xml"}) {
    auto [status, param] = error_of([type] {
      parse_completion_request({{"prompt", "a"}, {"response_format", {{"type", type}}}});
    });
    EXPECT_EQ(status, 400) << type;
    EXPECT_EQ(param, "response_format") << type;
  }
}

TEST(ChatRequest, MessagesAsStringsOrTextParts) {
  ChatRequest r = parse_chat_request(
      {{"messages",
        {{{"role", "system"}, {"content", "S"}},
         {{"role", "user"}, {"content", {{{"type", "text"}, {"text", "Hel"}}, {{"type", "text"}, {"text", "lo"}}}}},
         {{"role", "assistant"}, {"content", "A"}}}}});
  ASSERT_EQ(r.messages.size(), 3u);
  EXPECT_EQ(r.messages[0].role, "system");
  EXPECT_EQ(r.messages[1].content, "Hel\nlo");  // text parts joined by newlines (vLLM, llama.cpp)
  EXPECT_EQ(r.messages[2].role, "assistant");
}

TEST(ChatRequest, DeprecatedFunctionCallingIsRefusedNotIgnored) {
  const json messages = json::array({{{"role", "user"}, {"content", "x"}}});
  EXPECT_EQ(error_of([&] { parse_chat_request({{"messages", messages}, {"function_call", "auto"}}); }).second,
            "function_call");
  EXPECT_EQ(error_of([&] {
              parse_chat_request({{"messages", messages}, {"functions", json::array({{{"name", "f"}}})}});
            }).second,
            "functions");
  // What asks for nothing, as some clients always send it, is accepted.
  EXPECT_NO_THROW(parse_chat_request({{"messages", messages}, {"functions", json::array()}, {"function_call", "none"}}));
}

TEST(ChatRequest, BadMessagesAre400) {
  EXPECT_EQ(error_of([] { parse_chat_request({{"messages", json::array()}}); }).second, "messages");
  EXPECT_EQ(error_of([] { parse_chat_request({{"model", "m"}}); }).second, "messages");
  EXPECT_EQ(error_of([] { parse_chat_request({{"messages", "hi"}}); }).second, "messages");
  EXPECT_EQ(error_of([] { parse_chat_request({{"messages", {{{"role", "wizard"}, {"content", "x"}}}}}); }).first,
            400);
  EXPECT_EQ(error_of([] { parse_chat_request({{"messages", {{{"role", "user"}, {"content", 5}}}}}); }).first, 400);
  EXPECT_EQ(error_of([] { parse_chat_request({{"messages", {{{"content", "x"}}}}}); }).first, 400);
}

TEST(ChatRequest, LogprobsAndTopLogprobs) {
  json messages = {{{"role", "user"}, {"content", "x"}}};
  ChatRequest r = parse_chat_request({{"messages", messages}, {"logprobs", true}, {"top_logprobs", 3}});
  EXPECT_TRUE(r.logprobs);
  EXPECT_EQ(r.common.params.logprobs, 3);
  EXPECT_EQ(parse_chat_request({{"messages", messages}}).common.params.logprobs, -1);
  EXPECT_EQ(error_of([&] { parse_chat_request({{"messages", messages}, {"logprobs", true}, {"top_logprobs", 21}}); })
                .second,
            "top_logprobs");
}

TEST(TokenizeRequests, VllmShapes) {
  TokenizeRequest t = parse_tokenize_request({{"prompt", "hi"}});
  ASSERT_TRUE(t.prompt.has_value());
  EXPECT_EQ(*t.prompt, "hi");
  EXPECT_EQ(parse_detokenize_request({{"tokens", {1, 2}}}), (std::vector<int32_t>{1, 2}));
  EXPECT_EQ(error_of([] { parse_detokenize_request({{"tokens", "12"}}); }).second, "tokens");
  EXPECT_EQ(error_of([] { parse_tokenize_request({{"prompt", 3}}); }).second, "prompt");
  EXPECT_FALSE(t.return_token_strs);
  EXPECT_TRUE(parse_tokenize_request({{"prompt", "hi"}, {"return_token_strs", true}}).return_token_strs);
  EXPECT_EQ(error_of([] { parse_tokenize_request({{"prompt", "hi"}, {"return_token_strs", "y"}}); }).second,
            "return_token_strs");
}

}  // namespace
}  // namespace nucleus::server

namespace nucleus::server {
namespace {

// ---- use_beam_search and its parameters ----

TEST(BeamSearchRequest, ParsedForBothRoutes) {
  const json body = {{"prompt", "a"}, {"use_beam_search", true}, {"n", 3}, {"length_penalty", 0.5},
                     {"early_stopping", "never"}};
  const CompletionRequest c = parse_completion_request(body);
  EXPECT_TRUE(c.common.use_beam_search);
  EXPECT_EQ(c.common.n, 3);
  EXPECT_FLOAT_EQ(c.common.length_penalty, 0.5f);
  EXPECT_EQ(c.common.early_stopping, sampling::EarlyStopping::kNever);
  EXPECT_EQ(c.common.params.temperature, 0.0f) << "absent temperature means 0 under beam search";
  json chat = body;
  chat.erase("prompt");
  chat["messages"] = {{{"role", "user"}, {"content", "hi"}}};
  chat["early_stopping"] = true;
  const ChatRequest r = parse_chat_request(chat);
  EXPECT_TRUE(r.common.use_beam_search);
  EXPECT_EQ(r.common.early_stopping, sampling::EarlyStopping::kWhenComplete);
  chat["early_stopping"] = false;
  EXPECT_EQ(parse_chat_request(chat).common.early_stopping, sampling::EarlyStopping::kHeuristic);
  chat["temperature"] = 0;  // an explicit 0 is fine
  EXPECT_TRUE(parse_chat_request(chat).common.use_beam_search);
}

TEST(BeamSearchRequest, BestOfIsTheWidth) {
  const CompletionRequest c =
      parse_completion_request({{"prompt", "a"}, {"use_beam_search", true}, {"n", 2}, {"best_of", 5}});
  EXPECT_EQ(c.common.beam_width, 5);
  EXPECT_EQ(c.best_of, 0) << "best_of must not also sample candidates";
  EXPECT_EQ(c.common.n, 2);
  EXPECT_EQ(parse_completion_request({{"prompt", "a"}, {"use_beam_search", true}, {"n", 2}}).common.beam_width, 0);
}

TEST(BeamSearchRequest, BadValuesAndCombinationsName400TheParameter) {
  auto param = [](json extra) {
    json body = {{"prompt", "a"}, {"use_beam_search", true}};
    for (auto it = extra.begin(); it != extra.end(); ++it) body[it.key()] = it.value();
    return error_of([&] { parse_completion_request(body); });
  };
  EXPECT_EQ(param({{"use_beam_search", "yes"}}), (std::pair<int, std::string>{400, "use_beam_search"}));
  EXPECT_EQ(param({{"early_stopping", "sometimes"}}).second, "early_stopping");
  EXPECT_EQ(param({{"early_stopping", 1}}).second, "early_stopping");
  EXPECT_EQ(param({{"length_penalty", "long"}}).second, "length_penalty");
  EXPECT_EQ(param({{"length_penalty", 1000}}).second, "length_penalty");
  EXPECT_EQ(param({{"stream", true}}), (std::pair<int, std::string>{400, "stream"}));
  EXPECT_EQ(param({{"temperature", 0.7}}).second, "temperature");
  EXPECT_EQ(param({{"top_p", 0.9}}).second, "top_p");
  EXPECT_EQ(param({{"top_k", 5}}).second, "top_k");
  EXPECT_EQ(param({{"min_p", 0.1}}).second, "min_p");
  EXPECT_EQ(param({{"typical_p", 0.5}}).second, "typical_p");
  EXPECT_EQ(param({{"n", 2}, {"best_of", 1}}).second, "best_of");  // best_of < n, as without beams
  // Beam parameters without beam search are mistakes (vLLM rejects them too).
  EXPECT_EQ(error_of([] { parse_completion_request({{"prompt", "a"}, {"length_penalty", 2}}); }).second,
            "length_penalty");
  EXPECT_EQ(error_of([] { parse_completion_request({{"prompt", "a"}, {"early_stopping", true}}); }).second,
            "early_stopping");
  // Defaults spelled out are fine either way.
  EXPECT_FALSE(parse_completion_request({{"prompt", "a"}, {"use_beam_search", false}, {"length_penalty", 1},
                                         {"early_stopping", false}})
                   .common.use_beam_search);
  EXPECT_TRUE(parse_completion_request({{"prompt", "a"}, {"use_beam_search", true}, {"top_k", -1}, {"top_p", 1}})
                  .common.use_beam_search);
}

}  // namespace
}  // namespace nucleus::server

namespace nucleus::server {
namespace {

TEST(ApiErrorMessage, KeepsEverythingAfterANulByte) {
  const std::string role("assist\0ant", 10);
  try {
    parse_chat_request({{"messages", {{{"role", role}, {"content", "x"}}}}});
    FAIL() << "a role with a NUL byte was accepted";
  } catch (const ApiError& e) {
    const std::string message = e.to_json()["error"]["message"].get<std::string>();
    EXPECT_NE(message.find(role), std::string::npos) << message;
    EXPECT_EQ(e.param(), "messages[0].role");
  }
}

TEST(ChatRequest, TemplateSwitchesAreBooleansAndContinueFinalMessageIsRefused) {
  const json messages = {{{"role", "user"}, {"content", "x"}}};
  EXPECT_FALSE(parse_chat_request({{"messages", messages}, {"add_generation_prompt", false}}).add_generation_prompt);
  EXPECT_TRUE(parse_chat_request({{"messages", messages}}).add_generation_prompt);
  EXPECT_EQ(error_of([&] { parse_chat_request({{"messages", messages}, {"add_generation_prompt", "off"}}); }).second,
            "add_generation_prompt");
  EXPECT_EQ(error_of([&] { parse_chat_request({{"messages", messages}, {"continue_final_message", 1.5}}); }).second,
            "continue_final_message");
  EXPECT_EQ(error_of([&] { parse_chat_request({{"messages", messages}, {"continue_final_message", true}}); }).second,
            "continue_final_message");
  EXPECT_NO_THROW(parse_chat_request({{"messages", messages}, {"continue_final_message", false}}));
}

}  // namespace
}  // namespace nucleus::server
