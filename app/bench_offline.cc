// `nucleus bench offline`: many requests through the engine at once, against
// the same requests one at a time: requests/s, output tokens/s, time per
// output token, and where the engine's step time goes.
#include <algorithm>
#include <cstdio>
#include <memory>
#include <mutex>
#include <numeric>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "app/bench.h"
#include "config/options.h"
#include "engine/engine.h"
#include "model/model.h"
#include "model/tokenizer_gguf.h"
#include "text/tokenizer.h"

namespace nucleus::app {
namespace {

struct OfflineBenchArgs {
  std::string model;
  int requests = 64;
  std::pair<int, int> input_len{128, 512};
  std::pair<int, int> output_len{64, 256};
  bool skip_sequential = false;
  EngineOptions engine;  // --threads, --max-batched-tokens, --max-seqs and --device; the rest as the engine's
};

struct OfflineResult {
  double seconds = 0;
  int64_t output_tokens = 0;
  std::vector<double> tpot;  // per request: (last token - first token) / (tokens - 1)
  EngineStats stats;
};

// Reads a request's events to the end; adds its output tokens and time per output token to `result`.
void drain(RequestHandle& handle, OfflineResult& result, std::mutex& result_mutex) {
  Clock::time_point first = Clock::time_point::max(), last{};
  int64_t tokens = 0;
  while (true) {
    auto event = handle.next();
    if (!event) continue;
    for (const auto& d : event->deltas) {
      if (d.tokens.empty()) continue;
      const auto now = Clock::now();
      first = std::min(first, now);
      last = now;
      tokens += static_cast<int64_t>(d.tokens.size());
    }
    if (event->done) break;
  }
  std::lock_guard<std::mutex> lock(result_mutex);
  result.output_tokens += tokens;
  if (tokens > 1) result.tpot.push_back(std::chrono::duration<double>(last - first).count() / double(tokens - 1));
}

OfflineResult run_offline(Model& model, const Tokenizer& tokenizer, const OfflineBenchArgs& args,
                          const std::vector<GenerationRequest>& requests, bool one_at_a_time) {
  EngineOptions options = args.engine;
  options.max_queue = static_cast<int>(requests.size()) + 1;
  Engine engine(model, tokenizer, options);
  OfflineResult result;
  std::mutex result_mutex;  // drain() runs on several threads in the batched run
  const auto t0 = Clock::now();
  if (one_at_a_time) {
    for (const auto& r : requests) drain(*engine.submit(r), result, result_mutex);
  } else {
    std::vector<std::unique_ptr<RequestHandle>> handles;
    for (const auto& r : requests) handles.push_back(engine.submit(r));
    // One reader thread per request (threads of this benchmark only, blocked on
    // their handle between events), so every request's token times are taken
    // when its tokens arrive. Read one after another, a later request's queued
    // tokens would arrive together and its time per output token come out too small.
    std::vector<std::thread> readers;
    readers.reserve(handles.size());
    for (auto& h : handles) readers.emplace_back([&result, &result_mutex, &h] { drain(*h, result, result_mutex); });
    for (std::thread& t : readers) t.join();
  }
  result.seconds = seconds_since(t0);
  result.stats = engine.stats();
  return result;
}

void print_offline(const char* label, const OfflineResult& r, size_t requests) {
  std::vector<double> tpot = r.tpot;
  std::sort(tpot.begin(), tpot.end());
  const double mean = tpot.empty() ? 0 : std::accumulate(tpot.begin(), tpot.end(), 0.0) / tpot.size();
  const double p99 = tpot.empty() ? 0 : tpot[std::min(tpot.size() - 1, static_cast<size_t>(0.99 * tpot.size()))];
  const double overhead = r.stats.step_seconds > 0
                              ? (r.stats.step_seconds - r.stats.forward_seconds - r.stats.sample_seconds) /
                                    r.stats.step_seconds
                              : 0;
  std::printf("  %-14s %8.3f req/s %9.1f out tok/s   TPOT mean %7.2f ms p99 %7.2f ms   sampler %4.1f%%  "
              "scheduler+bookkeeping %4.1f%% of step time  (%.1f s)\n",
              label, requests / r.seconds, r.output_tokens / r.seconds, mean * 1e3, p99 * 1e3,
              100 * r.stats.sample_seconds / std::max(r.stats.step_seconds, 1e-9), 100 * overhead, r.seconds);
}

// Random text tokens (ids above the special tokens), fixed output lengths via ignore_eos.
std::vector<GenerationRequest> offline_requests(const OfflineBenchArgs& args, int32_t vocab_size) {
  std::mt19937 rng(42);
  std::uniform_int_distribution<int> in_len(args.input_len.first, args.input_len.second);
  std::uniform_int_distribution<int> out_len(args.output_len.first, args.output_len.second);
  std::uniform_int_distribution<int32_t> token(1000, vocab_size - 1);
  std::vector<GenerationRequest> requests(args.requests);
  for (auto& r : requests) {
    r.prompt.resize(in_len(rng));
    for (auto& t : r.prompt) t = token(rng);
    r.max_tokens = out_len(rng);
    r.params.temperature = 0.8f;
    r.params.top_p = 0.95f;
    r.params.ignore_eos = true;
    r.params.has_seed = true;
    r.params.seed = rng();
  }
  return requests;
}

int run_offline_bench(const OfflineBenchArgs& args) {
  const std::string path = model_or_default(args.model);
  std::unique_ptr<Model> model = Model::load(path);
  const Tokenizer tokenizer = tokenizer_from_gguf(model->file());
  const std::vector<GenerationRequest> requests = offline_requests(args, model->config().vocab_size);
  std::printf("nucleus bench offline: %d requests, input %d..%d, output %d..%d tokens, %s\n", args.requests,
              args.input_len.first, args.input_len.second, args.output_len.first, args.output_len.second,
              path.c_str());
  const OfflineResult batched = run_offline(*model, tokenizer, args, requests, false);
  print_offline("batched", batched, requests.size());
  if (!args.skip_sequential) {
    const OfflineResult sequential = run_offline(*model, tokenizer, args, requests, true);
    print_offline("one at a time", sequential, requests.size());
    std::printf("  aggregate output tokens/s: %.2fx the one-at-a-time rate\n",
                (batched.output_tokens / batched.seconds) / (sequential.output_tokens / sequential.seconds));
  }
  return 0;
}

std::pair<int, int> parse_range(const std::string& text, const std::string& option) {
  const size_t dots = text.find("..");
  try {
    if (dots == std::string::npos) {
      const int v = std::stoi(text);
      return {v, v};
    }
    const int a = std::stoi(text.substr(0, dots)), b = std::stoi(text.substr(dots + 2));
    if (a < 1 || b < a) throw std::invalid_argument("bad range");
    return {a, b};
  } catch (const std::exception&) {
    throw std::runtime_error(option + ": expected N or A..B with 1 <= A <= B, got '" + text + "'");
  }
}

}  // namespace

void add_offline_bench(CLI::App* bench, const BenchRun& run) {
  auto args = std::make_shared<OfflineBenchArgs>();
  auto in_text = std::make_shared<std::string>("128..512");
  auto out_text = std::make_shared<std::string>("64..256");
  CLI::App* offline = bench->add_subcommand("offline", "Many requests through the engine vs one at a time");
  offline->add_option("--model,-m", args->model, "GGUF model file (default: the default model)");
  offline->add_option("--requests", args->requests, "Number of requests")->capture_default_str()->check(CLI::Range(1, 100000));
  offline->add_option("--input-len", *in_text, "Prompt length N or range A..B (tokens)")->capture_default_str();
  offline->add_option("--output-len", *out_text, "Output length N or range A..B (tokens)")->capture_default_str();
  offline->add_option("--threads", args->engine.threads, "CPU threads; 0 = one per core")->capture_default_str();
  offline->add_option("--max-batched-tokens", args->engine.max_batched_tokens, "Token budget per step")->capture_default_str();
  offline->add_option("--max-seqs", args->engine.max_seqs, "Sequences per step")->capture_default_str();
  offline->add_flag("--skip-sequential", args->skip_sequential, "Only the batched run");
  auto device = std::make_shared<config::DeviceOptionParser>(offline);
  offline->callback([run, args, in_text, out_text, device] {
    *run = [args, in_text, out_text, device] {
      // Here, not in the callback: an exception out of CLI11's parse would not reach main's handler.
      args->input_len = parse_range(*in_text, "--input-len");
      args->output_len = parse_range(*out_text, "--output-len");
      args->engine.device = bench_device(device->resolve());
      return run_offline_bench(*args);
    };
  });
}

}  // namespace nucleus::app
