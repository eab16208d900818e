// `nucleus bench serve`: a load generator for any OpenAI-compatible server
// (ours or llama.cpp's llama-server), measuring what vLLM's `bench serve`
// measures: TTFT, TPOT, inter-token latency and end-to-end latency (mean,
// median, p99), request and output-token throughput.
//
// Requests are streamed /v1/completions with token-id prompts (exact input
// lengths on both servers) and ignore_eos + max_tokens (exact output lengths).
// Load: a fixed number of clients (--concurrency) or Poisson arrivals (--rate).
#include "app/bench.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <numeric>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <httplib.h>
#include <nlohmann/json.hpp>

namespace nucleus::app {
namespace {

struct ServeBenchArgs {
  std::string url = "http://127.0.0.1:8080";
  std::string model;
  int concurrency = 0;
  double rate = 0;
  int requests = 64;
  std::string input_len = "128";
  std::string output_len = "128";
  int seed = 0;
  std::string label = "server";
};

struct RequestResult {
  bool ok = false;
  double ttft = 0, e2e = 0;
  int64_t output_tokens = 0;
  std::vector<double> itl;  // gaps between streamed chunks
  std::string error;
};

std::pair<int, int> range_of(const std::string& text, const char* option) {
  const size_t dots = text.find("..");
  const int a = std::stoi(text.substr(0, dots));
  const int b = dots == std::string::npos ? a : std::stoi(text.substr(dots + 2));
  if (a < 1 || b < a) throw std::runtime_error(std::string(option) + ": expected N or A..B with 1 <= A <= B");
  return {a, b};
}

RequestResult run_one(const std::string& url, const std::string& model, const std::vector<int32_t>& prompt,
                      int max_tokens, int seed) {
  RequestResult r;
  httplib::Client cli(url);
  cli.set_read_timeout(600, 0);
  nlohmann::json body = {{"prompt", prompt}, {"max_tokens", max_tokens}, {"temperature", 0.8}, {"seed", seed},
                         {"stream", true}, {"ignore_eos", true}, {"stream_options", {{"include_usage", true}}}};
  if (!model.empty()) body["model"] = model;
  httplib::Request req;
  req.method = "POST";
  req.path = "/v1/completions";
  req.body = body.dump();
  req.set_header("Content-Type", "application/json");
  const auto start = Clock::now();
  Clock::time_point last = start;
  std::string buffer;
  int64_t chunks = 0, usage_tokens = -1;
  req.content_receiver = [&](const char* data, size_t len, uint64_t, uint64_t) {
    buffer.append(data, len);
    size_t end;
    while ((end = buffer.find("\n\n")) != std::string::npos) {
      const std::string event = buffer.substr(0, end);
      buffer.erase(0, end + 2);
      if (event.rfind("data: ", 0) != 0 || event == "data: [DONE]") continue;
      const auto json = nlohmann::json::parse(event.substr(6), nullptr, false);
      if (json.is_discarded()) continue;
      if (json.contains("usage") && json["usage"].is_object()) usage_tokens = json["usage"].value("completion_tokens", -1);
      if (!json.contains("choices") || json["choices"].empty()) continue;
      const auto& text = json["choices"][0]["text"];
      if (!text.is_string() || text.get<std::string>().empty()) continue;
      const auto now = Clock::now();
      if (chunks == 0) r.ttft = std::chrono::duration<double>(now - start).count();
      else r.itl.push_back(std::chrono::duration<double>(now - last).count());
      last = now;
      ++chunks;
    }
    return true;
  };
  auto res = cli.send(req);
  r.e2e = std::chrono::duration<double>(Clock::now() - start).count();
  if (!res || res->status != 200) {
    r.error = res ? "HTTP " + std::to_string(res->status) : httplib::to_string(res.error());
    return r;
  }
  r.output_tokens = usage_tokens >= 0 ? usage_tokens : chunks;
  r.ok = chunks > 0;
  return r;
}

struct Stats {
  double mean = 0, median = 0, p99 = 0;
};
Stats stats_of(std::vector<double> v) {
  Stats s;
  if (v.empty()) return s;
  std::sort(v.begin(), v.end());
  s.mean = std::accumulate(v.begin(), v.end(), 0.0) / double(v.size());
  s.median = v[v.size() / 2];
  s.p99 = v[std::min(v.size() - 1, static_cast<size_t>(0.99 * double(v.size())))];
  return s;
}

struct Job {
  std::vector<int32_t> prompt;
  int max_tokens;
};

std::vector<Job> serve_jobs(const ServeBenchArgs& args, std::mt19937& rng) {
  const auto in = range_of(args.input_len, "--input-len");
  const auto out = range_of(args.output_len, "--output-len");
  std::uniform_int_distribution<int> in_len(in.first, in.second), out_len(out.first, out.second);
  std::uniform_int_distribution<int32_t> token(1000, 20000);  // ordinary text tokens of a 32k+ vocabulary
  std::vector<Job> jobs(args.requests);
  for (Job& j : jobs) {
    j.prompt.resize(in_len(rng));
    for (auto& t : j.prompt) t = token(rng);
    j.max_tokens = out_len(rng);
  }
  return jobs;
}

// Sends every job, by --concurrency clients back to back or at Poisson --rate
// arrivals (gaps drawn from `rng`); returns the results in job order.
std::vector<RequestResult> send_jobs(const ServeBenchArgs& args, const std::vector<Job>& jobs, std::mt19937& rng) {
  std::vector<RequestResult> results(jobs.size());
  std::vector<std::thread> clients;
  if (args.concurrency > 0) {
    std::atomic<size_t> next{0};
    for (int c = 0; c < args.concurrency; ++c) {
      clients.emplace_back([&] {
        for (size_t i = next++; i < jobs.size(); i = next++) {
          results[i] = run_one(args.url, args.model, jobs[i].prompt, jobs[i].max_tokens, args.seed + int(i));
        }
      });
    }
    for (auto& t : clients) t.join();
  } else {
    std::exponential_distribution<double> gap(args.rate);
    for (size_t i = 0; i < jobs.size(); ++i) {
      clients.emplace_back([&, i] {
        results[i] = run_one(args.url, args.model, jobs[i].prompt, jobs[i].max_tokens, args.seed + int(i));
      });
      std::this_thread::sleep_for(std::chrono::duration<double>(gap(rng)));
    }
    for (auto& t : clients) t.join();
  }
  return results;
}

// The JSON report on stdout, a one-line summary (and the first error) on stderr; the exit code.
int report_serve_bench(const ServeBenchArgs& args, const std::vector<RequestResult>& results, double seconds) {
  std::vector<double> ttft, tpot, itl, e2e;
  int64_t tokens = 0;
  int ok = 0;
  std::string first_error;
  for (const RequestResult& r : results) {
    if (!r.ok) {
      if (first_error.empty()) first_error = r.error;
      continue;
    }
    ++ok;
    tokens += r.output_tokens;
    ttft.push_back(r.ttft);
    e2e.push_back(r.e2e);
    if (r.output_tokens > 1) tpot.push_back((r.e2e - r.ttft) / double(r.output_tokens - 1));
    itl.insert(itl.end(), r.itl.begin(), r.itl.end());
  }
  const Stats t = stats_of(ttft), p = stats_of(tpot), i = stats_of(itl), e = stats_of(e2e);
  nlohmann::json report = {
      {"label", args.label}, {"url", args.url}, {"requests", args.requests}, {"completed", ok},
      {"concurrency", args.concurrency}, {"rate", args.rate}, {"duration_s", seconds},
      {"request_throughput", ok / seconds}, {"output_throughput", double(tokens) / seconds},
      {"ttft_ms", {{"mean", t.mean * 1e3}, {"median", t.median * 1e3}, {"p99", t.p99 * 1e3}}},
      {"tpot_ms", {{"mean", p.mean * 1e3}, {"median", p.median * 1e3}, {"p99", p.p99 * 1e3}}},
      {"itl_ms", {{"mean", i.mean * 1e3}, {"median", i.median * 1e3}, {"p99", i.p99 * 1e3}}},
      {"e2e_ms", {{"mean", e.mean * 1e3}, {"median", e.median * 1e3}, {"p99", e.p99 * 1e3}}}};
  std::printf("%s\n", report.dump().c_str());
  std::fprintf(stderr,
               "[%s] %d/%d ok in %.1f s: %.2f req/s, %.1f output tok/s | TTFT ms mean %.1f median %.1f p99 %.1f | "
               "TPOT ms mean %.1f median %.1f p99 %.1f | ITL ms median %.1f p99 %.1f | E2E ms median %.0f p99 %.0f\n",
               args.label.c_str(), ok, args.requests, seconds, ok / seconds, double(tokens) / seconds, t.mean * 1e3,
               t.median * 1e3, t.p99 * 1e3, p.mean * 1e3, p.median * 1e3, p.p99 * 1e3, i.median * 1e3, i.p99 * 1e3,
               e.median * 1e3, e.p99 * 1e3);
  if (ok < args.requests) std::fprintf(stderr, "[%s] first error: %s\n", args.label.c_str(), first_error.c_str());
  return ok == args.requests ? 0 : 1;
}

int run_serve_bench(const ServeBenchArgs& args) {
  if ((args.concurrency > 0) == (args.rate > 0)) {
    throw std::runtime_error("bench serve: give exactly one of --concurrency C or --rate R");
  }
  std::mt19937 rng(args.seed);
  const std::vector<Job> jobs = serve_jobs(args, rng);
  const auto start = Clock::now();
  const std::vector<RequestResult> results = send_jobs(args, jobs, rng);
  return report_serve_bench(args, results, seconds_since(start));
}

}  // namespace

void add_serve_bench(CLI::App* bench, const BenchRun& run) {
  auto args = std::make_shared<ServeBenchArgs>();
  CLI::App* sub = bench->add_subcommand("serve", "Load an OpenAI-compatible server: TTFT, TPOT, ITL, throughput");
  sub->add_option("--url", args->url, "Base URL of the server")->capture_default_str();
  sub->add_option("--model", args->model, "Model name to send (default: none, the server's own)");
  sub->add_option("--concurrency", args->concurrency, "Clients sending back to back")->check(CLI::Range(1, 4096));
  sub->add_option("--rate", args->rate, "Poisson arrivals per second (instead of --concurrency)")
      ->check(CLI::PositiveNumber);
  sub->add_option("--requests", args->requests, "Requests to send")->capture_default_str()->check(CLI::Range(1, 1000000));
  sub->add_option("--input-len", args->input_len, "Prompt tokens: N or A..B")->capture_default_str();
  sub->add_option("--output-len", args->output_len, "Output tokens: N or A..B")->capture_default_str();
  sub->add_option("--seed", args->seed, "Seed of the workload")->capture_default_str();
  sub->add_option("--label", args->label, "Name printed with the results")->capture_default_str();
  sub->callback([run, args] { *run = [args] { return run_serve_bench(*args); }; });
}

}  // namespace nucleus::app
