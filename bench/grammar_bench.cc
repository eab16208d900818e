// Grammar engine figures on the default model's vocabulary (49152 tokens):
// compile time per grammar and token-mask time per sampled token, p50/p99,
// over seeded random generations (uniform over the allowed tokens; after 64
// tokens, tokens that close a string, object or array are preferred, and the
// end token is taken as soon as it is allowed). "cold" is the first
// generation of a freshly compiled grammar, when every state is new to its
// automaton and mask cache; "all" includes the warm generations that follow,
// as with a schema reused across requests. Mask times are the thread's CPU
// time (CLOCK_THREAD_CPUTIME_ID), so that on a shared machine a preemption is
// not counted as mask work; compile times are wall time.
//
//   build/release/bench/grammar_bench [model.gguf]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <random>
#include <string>
#include <vector>

#include "model/gguf.h"
#include "model/tokenizer_gguf.h"
#include "text/tokenizer.h"
#include "sampling/grammar/grammar_cache.h"
#include "sampling/grammar/token_mask.h"

namespace {

using Clock = std::chrono::steady_clock;
using nucleus::grammar::GrammarKind;

std::string model_path(int argc, char** argv) {
  if (argc > 1) return argv[1];
  if (const char* env = std::getenv("NUCLEUS_TEST_MODEL"); env && *env) return env;
  const char* home = std::getenv("HOME");
  return std::string(home ? home : "") + "/.cache/nucleus/models/SmolLM2-135M-Instruct.Q4_1.gguf";
}

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

struct Case {
  const char* name;
  GrammarKind kind;
  const char* source;
};

const Case kCases[] = {
    {"person (OpenAI strict)", GrammarKind::kJsonSchema,
     R"({"type":"object","properties":{"name":{"type":"string"},"age":{"type":"integer","minimum":0,"maximum":150},
        "email":{"type":"string","format":"email"},"tags":{"type":"array","items":{"type":"string"},"maxItems":5},
        "role":{"enum":["admin","user","guest"]},"address":{"type":"object","properties":{"street":{"type":"string"},
        "city":{"type":"string"},"zip":{"type":"string","pattern":"^[0-9]{5}$"}},"required":["street","city","zip"],
        "additionalProperties":false}},"required":["name","age","email","tags","role","address"],
        "additionalProperties":false})"},
    {"event list (dates, anyOf)", GrammarKind::kJsonSchema,
     R"({"type":"array","minItems":1,"maxItems":4,"items":{"type":"object","properties":{"id":{"type":"string","format":"uuid"},
        "when":{"type":"string","format":"date-time"},"kind":{"anyOf":[{"const":"meeting"},{"type":"object",
        "properties":{"other":{"type":"string","maxLength":20}},"required":["other"]}]},
        "score":{"type":["number","null"]}},"required":["id","when","kind"]}})"},
    {"recursive tree ($ref)", GrammarKind::kJsonSchema,
     R"({"$ref":"#/$defs/node","$defs":{"node":{"type":"object","properties":{"label":{"type":"string"},
        "children":{"type":"array","items":{"$ref":"#/$defs/node"},"maxItems":3}},"required":["label","children"]}}})"},
    {"any JSON value ({})", GrammarKind::kJsonSchema, "{}"},
    {"regex (phone)", GrammarKind::kRegex, R"(\(\d{3}\) \d{3}-\d{4}( ext\. \d{1,5})?)"},
    {"choice (4)", GrammarKind::kChoice, R"(["positive","negative","neutral","mixed"])"},
};

}  // namespace

int main(int argc, char** argv) {
  const std::string path = model_path(argc, argv);
  const auto tokenizer = nucleus::tokenizer_from_gguf(nucleus::GgufFile::open(path));
  nucleus::grammar::Vocabulary vocab;
  for (int32_t id = 0; id < tokenizer.vocab_size(); ++id) {
    vocab.tokens.push_back(tokenizer.token_to_piece(id));
    if (tokenizer.is_end_of_generation(id))
      vocab.end_of_generation.push_back(id);
    else if (tokenizer.is_special(id))
      vocab.never_allowed.push_back(id);
  }
  const auto t0 = Clock::now();
  const nucleus::grammar::GrammarTokenMask masks(vocab);
  std::printf("vocabulary: %zu tokens (%s); mask tables built in %.1f ms\n\n", vocab.tokens.size(), path.c_str(),
              std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
  std::printf("%-28s %11s %7s %10s %10s %10s %10s %10s\n", "grammar", "compile ms", "masks", "cold p50", "cold p99",
              "all p50", "all p99", "all max");
  std::printf("%-28s %11s %7s %10s %10s %10s %10s %10s\n", "", "(median)", "", "us", "us", "us", "us", "us");
  const std::string closers = "\"}]";
  for (const Case& c : kCases) {
    std::vector<double> compile_ms;
    std::shared_ptr<const nucleus::grammar::CompiledGrammar> grammar;
    for (int i = 0; i < 15; ++i) {
      const auto start = Clock::now();
      grammar = nucleus::grammar::compile_grammar(c.kind, c.source);
      compile_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
    }
    std::vector<double> cold, all;
    std::vector<uint8_t> mask;
    std::mt19937_64 rng(42);
    for (int doc = 0; doc < 20; ++doc) {
      nucleus::grammar::GrammarState state(grammar);
      for (int step = 0; step < 400; ++step) {
        const double start = thread_cpu_us();
        masks.fill(state, mask);
        const double us = thread_cpu_us() - start;
        all.push_back(us);
        if (doc == 0) cold.push_back(us);
        if (state.can_end() && (step >= 64 || state.no_more_bytes())) break;
        std::vector<int32_t> allowed, closing;
        for (size_t id = 0; id < mask.size(); ++id) {
          if (!mask[id]) continue;
          allowed.push_back(static_cast<int32_t>(id));
          if (vocab.tokens[id].find_first_of(closers) != std::string::npos) closing.push_back(static_cast<int32_t>(id));
        }
        if (allowed.empty()) break;
        const auto& pool = step >= 64 && !closing.empty() ? closing : allowed;
        state.accept_bytes(vocab.tokens[static_cast<size_t>(pool[rng() % pool.size()])]);
      }
    }
    std::printf("%-28s %11.2f %7zu %10.1f %10.1f %10.1f %10.1f %10.1f\n", c.name, percentile(compile_ms, 0.5),
                all.size(), percentile(cold, 0.5), percentile(cold, 0.99), percentile(all, 0.5), percentile(all, 0.99),
                percentile(all, 1.0));
  }
  return 0;
}
