// SSE framing, the Prometheus text format of /metrics, error objects and the API key check.
// GCC 12 reports a false -Wmaybe-uninitialized inside std::regex's automaton
// in the sanitizer build; the warning is about libstdc++, not this file.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <gtest/gtest.h>

#include <regex>
#include <sstream>

#include "server/auth.h"
#include "server/errors.h"
#include "server/metrics.h"
#include "server/sse.h"

namespace nucleus::server {
namespace {

TEST(Sse, OneLinePerEventEvenWithNewlinesInText) {
  std::string event = sse_event({{"text", "a\nb\n\nc"}});
  EXPECT_EQ(event.rfind("data: ", 0), 0u);
  ASSERT_GE(event.size(), 2u);
  EXPECT_EQ(event.substr(event.size() - 2), "\n\n");
  // The payload holds no raw newline, so "\n\n" can only be the event end.
  EXPECT_EQ(event.find('\n'), event.size() - 2);
  EXPECT_EQ(nlohmann::json::parse(event.substr(6))["text"], "a\nb\n\nc");
  EXPECT_EQ(sse_done(), "data: [DONE]\n\n");
}

TEST(Sse, InvalidUtf8NeverThrows) {
  std::string event;
  EXPECT_NO_THROW(event = sse_event({{"text", std::string("ok\xe2\x82")}}));
  nlohmann::json parsed;
  EXPECT_NO_THROW(parsed = nlohmann::json::parse(event.substr(6)));
  EXPECT_EQ(parsed["text"].get<std::string>().substr(0, 2), "ok");
}

TEST(Errors, OpenAIShape) {
  nlohmann::json body = invalid_param("temperature", "temperature must be in [0, 2]").to_json();
  ASSERT_TRUE(body.contains("error"));
  const auto& e = body["error"];
  EXPECT_EQ(e["message"], "temperature must be in [0, 2]");
  EXPECT_EQ(e["type"], "invalid_request_error");
  EXPECT_EQ(e["param"], "temperature");
  EXPECT_TRUE(e.contains("code"));
  nlohmann::json plain = error_body("boom", "server_error");
  EXPECT_TRUE(plain["error"]["param"].is_null());
  EXPECT_TRUE(plain["error"]["code"].is_null());
}

TEST(Auth, BearerKeyComparedExactly) {
  EXPECT_TRUE(authorized("", ""));  // no key configured
  EXPECT_TRUE(authorized("Bearer sk-123", "sk-123"));
  EXPECT_TRUE(authorized("bearer sk-123", "sk-123"));
  EXPECT_FALSE(authorized("", "sk-123"));
  EXPECT_FALSE(authorized("Bearer sk-12", "sk-123"));
  EXPECT_FALSE(authorized("Bearer sk-1234", "sk-123"));
  EXPECT_FALSE(authorized("Basic sk-123", "sk-123"));
  EXPECT_FALSE(authorized("sk-123", "sk-123"));
  EXPECT_TRUE(constant_time_equal("abc", "abc"));
  EXPECT_FALSE(constant_time_equal("abd", "abc"));
  EXPECT_FALSE(constant_time_equal("", "abc"));
}

// Parses "name{labels} value" sample lines into a map; checks every line is a comment or a sample.
std::map<std::string, double> samples(const std::string& text) {
  static const std::regex kSample(R"(^([a-zA-Z_:][a-zA-Z0-9_:]*(\{[^}]*\})?) (-?[0-9.eE+-]+|\+Inf|NaN)$)");
  static const std::regex kComment(R"(^# (HELP|TYPE) [a-zA-Z_:][a-zA-Z0-9_:]* .+$)");
  std::map<std::string, double> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    std::smatch m;
    if (std::regex_match(line, kComment)) continue;
    EXPECT_TRUE(std::regex_match(line, m, kSample)) << "not Prometheus text: '" << line << "'";
    if (!m.empty()) out[m[1].str()] = std::stod(m[3].str());
  }
  return out;
}

TEST(Metrics, HistogramIsCumulativeWithSumAndCount) {
  Histogram h({0.1, 1.0});
  h.observe(0.05);
  h.observe(0.1);  // le is inclusive
  h.observe(0.5);
  h.observe(7.0);
  std::string text;
  h.render("x_seconds", "help text", text);
  auto s = samples(text);
  EXPECT_EQ(s["x_seconds_bucket{le=\"0.1\"}"], 2);
  EXPECT_EQ(s["x_seconds_bucket{le=\"1\"}"], 3);
  EXPECT_EQ(s["x_seconds_bucket{le=\"+Inf\"}"], 4);
  EXPECT_EQ(s["x_seconds_count"], 4);
  EXPECT_DOUBLE_EQ(s["x_seconds_sum"], 0.05 + 0.1 + 0.5 + 7.0);
  EXPECT_NE(text.find("# TYPE x_seconds histogram"), std::string::npos);
}

TEST(Metrics, PageReportsEngineStatsAndIsValidText) {
  ServerMetrics m;
  m.ttft.observe(0.2);
  m.count_response(200);
  m.count_response(400);
  m.count_response(400);
  EngineStats stats;
  stats.running = 3;
  stats.waiting = 2;
  stats.kv_blocks_total = 100;
  stats.kv_blocks_used = 25;
  stats.prefix_queries = 10;
  stats.prefix_hits = 4;
  stats.preemptions = 5;
  stats.prompt_tokens = 1234;
  stats.generation_tokens = 567;
  stats.finished_stop = 7;
  stats.finished_length = 8;
  stats.finished_abort = 9;
  auto s = samples(m.render(&stats));
  EXPECT_EQ(s["nucleus:num_requests_running"], 3);
  EXPECT_EQ(s["nucleus:num_requests_waiting"], 2);
  EXPECT_EQ(s["nucleus:kv_cache_blocks_used"], 25);
  EXPECT_DOUBLE_EQ(s["nucleus:kv_cache_usage_perc"], 0.25);
  EXPECT_DOUBLE_EQ(s["nucleus:prefix_cache_hit_rate"], 0.4);
  EXPECT_EQ(s["nucleus:num_preemptions_total"], 5);
  EXPECT_EQ(s["nucleus:prompt_tokens_total"], 1234);
  EXPECT_EQ(s["nucleus:generation_tokens_total"], 567);
  EXPECT_EQ(s["nucleus:request_success_total{finished_reason=\"stop\"}"], 7);
  EXPECT_EQ(s["nucleus:request_success_total{finished_reason=\"length\"}"], 8);
  EXPECT_EQ(s["nucleus:request_success_total{finished_reason=\"abort\"}"], 9);
  EXPECT_EQ(s["nucleus:time_to_first_token_seconds_count"], 1);
  EXPECT_EQ(s["nucleus:http_responses_total{code=\"400\"}"], 2);
  EXPECT_EQ(s.count("nucleus:inter_token_latency_seconds_count"), 1u);
  EXPECT_EQ(s.count("nucleus:e2e_request_latency_seconds_count"), 1u);
}

TEST(Metrics, WhileLoadingOnlyServerSeries) {
  ServerMetrics m;
  auto s = samples(m.render(nullptr));
  EXPECT_EQ(s["nucleus:model_loaded"], 0);
  EXPECT_EQ(s.count("nucleus:num_requests_running"), 0u);
}

}  // namespace
}  // namespace nucleus::server
