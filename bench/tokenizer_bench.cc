// Tokenizer encode speed on ~1 MiB of mixed text with the default model's
// vocabulary (SmolLM2, byte-level BPE). scripts/bench-tokenizer.sh runs this
// next to HF `tokenizers` on the same text and prints the ratio.
//
// The text: the file named by $NUCLEUS_BENCH_TEXT (the script writes it), or
// else the parity corpus (tests/data/tokenizer/smollm2_golden.json) repeated
// up to 1 MiB. The model: $NUCLEUS_TEST_MODEL, else
// $NUCLEUS_MODEL_DIR|~/.cache/nucleus/models/SmolLM2-135M-Instruct.Q4_1.gguf.
#include <benchmark/benchmark.h>
#include <nlohmann/json.hpp>

#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "model/gguf.h"
#include "model/tokenizer_gguf.h"
#include "text/tokenizer.h"

namespace {

std::string model_path() {
  if (const char* env = std::getenv("NUCLEUS_TEST_MODEL"); env && *env) return env;
  const char* dir = std::getenv("NUCLEUS_MODEL_DIR");
  const char* home = std::getenv("HOME");
  return (dir && *dir ? std::string(dir) : std::string(home ? home : "") + "/.cache/nucleus/models") +
         "/SmolLM2-135M-Instruct.Q4_1.gguf";
}

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

const std::string& bench_text() {
  static const std::string text = [] {
    if (const char* env = std::getenv("NUCLEUS_BENCH_TEXT"); env && *env) return read_all(env);
    // CMake compiles with absolute paths, so __FILE__ locates the source tree.
    std::string root = __FILE__;
    root.erase(root.rfind("bench/"));
    const auto golden = nlohmann::json::parse(read_all(root + "tests/data/tokenizer/smollm2_golden.json"));
    std::string t;
    while (t.size() < (1u << 20)) {
      for (const auto& c : golden["cases"]) t += c["text"].get<std::string>() + "\n";
    }
    return t;
  }();
  return text;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line + "\n");
  return lines;
}

const nucleus::Tokenizer& shared_tokenizer() {
  static const nucleus::Tokenizer tok = nucleus::tokenizer_from_gguf(nucleus::GgufFile::open(model_path()));
  return tok;
}

// The whole text as one string (the word cache is warm after the first pass).
void BM_EncodeWhole(benchmark::State& state) {
  const auto& tok = shared_tokenizer();
  const std::string& text = bench_text();
  size_t tokens = 0;
  for (auto _ : state) {
    auto ids = tok.encode(text, {.add_special = false});
    tokens = ids.size();
    benchmark::DoNotOptimize(ids.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
  state.counters["tokens"] = static_cast<double>(tokens);
}

// One encode call per line, like a batch of short requests.
void BM_EncodeLines(benchmark::State& state) {
  const auto& tok = shared_tokenizer();
  const std::vector<std::string> lines = lines_of(bench_text());
  for (auto _ : state) {
    for (const std::string& line : lines) {
      auto ids = tok.encode(line, {.add_special = false});
      benchmark::DoNotOptimize(ids.data());
    }
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bench_text().size()));
}

// A fresh tokenizer (empty word cache) for every pass; loading is not timed.
void BM_EncodeWholeColdCache(benchmark::State& state) {
  const std::string path = model_path();
  const nucleus::GgufFile file = nucleus::GgufFile::open(path);
  const std::string& text = bench_text();
  for (auto _ : state) {
    state.PauseTiming();
    auto tok = std::make_unique<nucleus::Tokenizer>(nucleus::tokenizer_from_gguf(file));
    state.ResumeTiming();
    auto ids = tok->encode(text, {.add_special = false});
    benchmark::DoNotOptimize(ids.data());
    state.PauseTiming();
    tok.reset();
    state.ResumeTiming();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
}

BENCHMARK(BM_EncodeWhole)->Unit(benchmark::kMillisecond)->MinTime(2.0);
BENCHMARK(BM_EncodeLines)->Unit(benchmark::kMillisecond)->MinTime(2.0);
BENCHMARK(BM_EncodeWholeColdCache)->Unit(benchmark::kMillisecond)->MinTime(2.0);

}  // namespace

BENCHMARK_MAIN();
