// `nucleus bench grammar`: what structured output costs. Per grammar: compile
// time, and the time of one token mask on the model's whole vocabulary along
// random walks (p50/p99; the first walk "cold", with nothing cached). Then the
// engine at concurrency N: output tokens/s with a JSON Schema against the same
// requests without, and the mask's p99 as a share of one decode step.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "app/bench.h"
#include "app/chat_prompt.h"
#include "engine/engine.h"
#include "engine/grammar_vocabulary.h"
#include "model/model.h"
#include "model/tokenizer_gguf.h"
#include "sampling/grammar/grammar_cache.h"
#include "sampling/grammar/token_mask.h"
#include "text/tokenizer.h"

namespace nucleus::app {
namespace {

using grammar::GrammarKind;

struct GrammarBenchArgs {
  std::string model;
  int concurrency = 8;
  int max_tokens = 160;
  int walks = 20;
  int rounds = 4;
  int requests_per_client = 3;
  EngineOptions engine;
};

struct Case {
  const char* name;
  GrammarKind kind;
  const char* source;
};

// The schema of the throughput run is the first case.
const Case kCases[] = {
    {"person (OpenAI strict)", GrammarKind::kJsonSchema,
     R"({"type":"object","properties":{"name":{"type":"string","maxLength":40},"age":{"type":"integer","minimum":0,
        "maximum":150},"email":{"type":"string","format":"email"},"tags":{"type":"array","items":{"type":"string",
        "maxLength":12},"maxItems":5},"role":{"enum":["admin","user","guest"]},"address":{"type":"object","properties":
        {"street":{"type":"string","maxLength":40},"city":{"type":"string","maxLength":30},"zip":{"type":"string",
        "pattern":"^[0-9]{5}$"}},"required":["street","city","zip"],"additionalProperties":false}},
        "required":["name","age","email","tags","role","address"],"additionalProperties":false})"},
    {"event list (dates, anyOf)", GrammarKind::kJsonSchema,
     R"({"type":"array","minItems":1,"maxItems":4,"items":{"type":"object","properties":{"id":{"type":"string",
        "format":"uuid"},"when":{"type":"string","format":"date-time"},"kind":{"anyOf":[{"const":"meeting"},
        {"type":"object","properties":{"other":{"type":"string","maxLength":20}},"required":["other"]}]},
        "score":{"type":["number","null"]}},"required":["id","when","kind"]}})"},
    {"recursive tree ($ref)", GrammarKind::kJsonSchema,
     R"({"$ref":"#/$defs/node","$defs":{"node":{"type":"object","properties":{"label":{"type":"string"},
        "children":{"type":"array","items":{"$ref":"#/$defs/node"},"maxItems":3}},"required":["label","children"]}}})"},
    {"any JSON value ({})", GrammarKind::kJsonSchema, "{}"},
    {"regex (phone)", GrammarKind::kRegex, R"(\(\d{3}\) \d{3}-\d{4}( ext\. \d{1,5})?)"},
    {"choice (4)", GrammarKind::kChoice, R"(["positive","negative","neutral","mixed"])"},
};

// CPU time of this thread, so time the other core's work takes from us is not counted.
double thread_cpu_us() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e6 + static_cast<double>(ts.tv_nsec) / 1e3;
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
}

// One random walk of masks through `g`; after `budget` tokens it prefers closing tokens, to end.
void walk(const grammar::GrammarTokenMask& masks, const grammar::Vocabulary& vocab,
          const std::shared_ptr<const grammar::CompiledGrammar>& g, std::mt19937_64& rng, std::vector<double>& us) {
  grammar::GrammarState state(g);
  std::vector<uint8_t> mask;
  std::vector<int32_t> allowed, closing;
  for (int step = 0; step < 400; ++step) {
    const double start = thread_cpu_us();
    masks.fill(state, mask);
    us.push_back(thread_cpu_us() - start);
    if (state.can_end() && (step >= 64 || state.no_more_bytes())) return;
    allowed.clear(), closing.clear();
    for (size_t id = 0; id < vocab.tokens.size(); ++id) {
      if (!mask[id] || vocab.tokens[id].empty()) continue;
      allowed.push_back(static_cast<int32_t>(id));
      if (vocab.tokens[id].find_first_of("\"}]") != std::string::npos) closing.push_back(static_cast<int32_t>(id));
    }
    if (allowed.empty()) return;
    const auto& pool = step >= 64 && !closing.empty() ? closing : allowed;
    state.accept_bytes(vocab.tokens[static_cast<size_t>(pool[rng() % pool.size()])]);
  }
}

// The per-grammar table; returns the largest "all" p99 in microseconds.
double mask_table(const Tokenizer& tokenizer, int walks) {
  const grammar::Vocabulary vocab = grammar_vocabulary(tokenizer);
  const auto t0 = Clock::now();
  const grammar::GrammarTokenMask masks(vocab);
  std::printf("vocabulary: %zu tokens; mask tables built in %.1f ms\n", vocab.tokens.size(), 1e3 * seconds_since(t0));
  std::printf("%-27s %10s %7s %9s %9s %9s %9s  (mask: CPU us of one thread)\n", "grammar", "compile ms", "masks",
              "cold p50", "cold p99", "all p50", "all p99");
  double worst_p99 = 0;
  for (const Case& c : kCases) {
    std::vector<double> compile_ms;
    std::shared_ptr<const grammar::CompiledGrammar> g;
    for (int i = 0; i < 15; ++i) {
      const auto start = Clock::now();
      g = grammar::compile_grammar(c.kind, c.source);
      compile_ms.push_back(1e3 * seconds_since(start));
    }
    std::vector<double> cold, all;
    std::mt19937_64 rng(42);
    for (int w = 0; w < walks; ++w) walk(masks, vocab, g, rng, w == 0 ? cold : all);
    all.insert(all.end(), cold.begin(), cold.end());
    worst_p99 = std::max(worst_p99, percentile(all, 0.99));
    std::printf("%-27s %10.2f %7zu %9.1f %9.1f %9.1f %9.1f\n", c.name, percentile(compile_ms, 0.5), all.size(),
                percentile(cold, 0.5), percentile(cold, 0.99), percentile(all, 0.5), percentile(all, 0.99));
  }
  return worst_p99;
}

struct RunResult {
  double seconds = 0;
  int64_t tokens = 0;
  double step_ms = 0;                      // mean engine step
  std::vector<std::vector<int>> lengths;   // [client][request] output tokens
};

// A closed loop of `concurrency` clients, each sending `requests_per_client`
// requests one after another (seeds differ); output tokens over the wall time.
// With `lengths` (a constrained run's), request k of client c is made exactly
// that long (ignore_eos), so both runs turn their requests over at the same
// points and the difference is the grammar's cost alone.
RunResult run_engine(Model& model, const Tokenizer& tokenizer, const GrammarBenchArgs& args,
                     const std::vector<int32_t>& prompt, std::shared_ptr<const grammar::CompiledGrammar> g,
                     const std::vector<std::vector<int>>* lengths = nullptr) {
  Engine engine(model, tokenizer, args.engine);
  std::vector<int64_t> tokens(static_cast<size_t>(args.concurrency), 0);
  std::vector<std::vector<int>> made(static_cast<size_t>(args.concurrency),
                                    std::vector<int>(static_cast<size_t>(args.requests_per_client), 0));
  std::vector<std::thread> clients;
  const auto t0 = Clock::now();
  for (int c = 0; c < args.concurrency; ++c) {
    clients.emplace_back([&, c] {
      for (int k = 0; k < args.requests_per_client; ++k) {
        GenerationRequest r;
        r.prompt = prompt;
        r.max_tokens = args.max_tokens;
        r.params.temperature = 1.0f;
        r.params.has_seed = true;
        r.params.seed = static_cast<uint64_t>(c * 1000 + k);
        r.grammar = g;
        if (lengths) {
          r.max_tokens = std::max(1, (*lengths)[static_cast<size_t>(c)][static_cast<size_t>(k)]);
          r.params.ignore_eos = true;
        }
        std::unique_ptr<RequestHandle> handle = engine.submit(r);
        int n = 0;
        while (auto e = handle->next()) {
          for (const auto& d : e->deltas) n += static_cast<int>(d.tokens.size());
          if (e->done) break;
        }
        tokens[static_cast<size_t>(c)] += n;
        made[static_cast<size_t>(c)][static_cast<size_t>(k)] = n;
      }
    });
  }
  for (auto& t : clients) t.join();
  RunResult result;
  result.lengths = std::move(made);
  result.seconds = seconds_since(t0);
  for (int64_t t : tokens) result.tokens += t;
  const EngineStats stats = engine.stats();
  result.step_ms = stats.steps > 0 ? 1e3 * stats.step_seconds / static_cast<double>(stats.steps) : 0;
  return result;
}

int run_grammar_bench(const GrammarBenchArgs& args) {
  const std::string path = model_or_default(args.model);
  std::unique_ptr<Model> model = Model::load(path);
  const Tokenizer tokenizer = tokenizer_from_gguf(model->file());
  std::printf("nucleus bench grammar: %s\n", path.c_str());
  const double worst_mask_p99_us = mask_table(tokenizer, args.walks);

  const std::vector<int32_t> prompt =
      chat_prompt_tokens(*model, tokenizer, "Make up a person and describe them as JSON.", "bench grammar");
  // Interleaved rounds, the same compiled grammar throughout: round 1 meets every
  // automaton state for the first time (a new schema), later rounds find them
  // cached (a schema clients send again, as the server's grammar cache keeps it).
  const auto schema = grammar::compile_grammar(kCases[0].kind, kCases[0].source);
  std::printf("\nengine, %d clients x %d requests, temperature 1, up to %d tokens each (the unconstrained requests as long as "
              "the constrained ones), %d interleaved rounds:\n",
              args.concurrency, args.requests_per_client, args.max_tokens, args.rounds);
  std::vector<double> ratios, steps;
  for (int round = 1; round <= args.rounds; ++round) {
    const RunResult constrained = run_engine(*model, tokenizer, args, prompt, schema);
    const RunResult plain = run_engine(*model, tokenizer, args, prompt, nullptr, &constrained.lengths);
    const double ratio = (constrained.tokens / constrained.seconds) / (plain.tokens / plain.seconds);
    std::printf("  round %d%s: unconstrained %6.1f tok/s (step %.2f ms), JSON Schema %6.1f tok/s (step %.2f ms): %.2fx\n",
                round, round == 1 ? " (cold grammar)" : "", plain.tokens / plain.seconds, plain.step_ms,
                constrained.tokens / constrained.seconds, constrained.step_ms, ratio);
    if (round > 1 || args.rounds == 1) ratios.push_back(ratio);
    steps.push_back(plain.step_ms);
  }
  const double step_ms = median(steps);
  std::printf("  constrained / unconstrained throughput, median of the warm rounds: %.2fx\n", median(ratios));
  std::printf("  worst mask p99 %.0f us = %.1f%% of a batch-%d decode step (median %.2f ms)\n", worst_mask_p99_us,
              100.0 * worst_mask_p99_us / (1e3 * step_ms), args.concurrency, step_ms);
  return 0;
}

}  // namespace

void add_grammar_bench(CLI::App* bench, const BenchRun& run) {
  auto args = std::make_shared<GrammarBenchArgs>();
  CLI::App* sub = bench->add_subcommand("grammar", "Structured output: grammar compile and mask times, "
                                                   "throughput with a JSON Schema vs without");
  sub->add_option("--model,-m", args->model, "GGUF model file (default: the default model)");
  sub->add_option("--concurrency", args->concurrency, "Requests at once in the throughput runs")
      ->capture_default_str()->check(CLI::Range(1, 256));
  sub->add_option("--max-tokens", args->max_tokens, "Most tokens per request")->capture_default_str()
      ->check(CLI::Range(1, 4096));
  sub->add_option("--walks", args->walks, "Random walks per grammar for the mask times")->capture_default_str()
      ->check(CLI::Range(1, 10000));
  sub->add_option("--rounds", args->rounds, "Interleaved rounds of the throughput comparison (the first is cold)")
      ->capture_default_str()->check(CLI::Range(1, 100));
  sub->add_option("--requests-per-client", args->requests_per_client, "Requests each client sends in turn")
      ->capture_default_str()->check(CLI::Range(1, 1000));
  sub->add_option("--threads", args->engine.threads, "CPU threads; 0 = one per core")->capture_default_str();
  sub->callback([run, args] { *run = [args] { return run_grammar_bench(*args); }; });
}

}  // namespace nucleus::app
