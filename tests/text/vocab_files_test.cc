// Our GGUF tokenizer on the vocabulary-only GGUF files llama.cpp ships for its
// tokenizer tests (models/ggml-vocab-<family>.gguf in the llama.cpp source),
// one per family the model layer runs: llama3's tiktoken-style BPE
// (llama-bpe), qwen2's BPE, phi-3's and llama 2's SentencePiece (phi-3,
// llama-spm; Gemma 2 and 3 files use the same "llama" SentencePiece model,
// and llama.cpp ships no vocabulary file of theirs). Next to each file,
// .inp holds the test strings (separated by "\n__ggml_vocab_test__\n") and
// .out the ids, one line per string, written by llama.cpp's
// tests/test-tokenizer-0.py with HF `tokenizers` (the families' own
// tokenizers, not ours), tokenized without BOS/EOS and without special-token
// parsing, as tests/test-tokenizer-0.cpp runs them.
//
// The files come from the llama-cpp-python sdist that
// bench/peers/fetch-llama-src.sh unpacks into the cache (never committed);
// absent, the test skips unless NUCLEUS_REQUIRE_MODEL=1.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "model/gguf.h"
#include "model/tokenizer_gguf.h"
#include "tests/common/test_env.h"
#include "text/tokenizer.h"

namespace nucleus {
namespace {

std::filesystem::path vocab_dir() { return test::chat_templates_dir().parent_path(); }

bool required() {
  const char* require = std::getenv("NUCLEUS_REQUIRE_MODEL");
  return require && std::string(require) == "1";
}

std::string read_all(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// The (text, ids) pairs of `<vocab>.inp` and `<vocab>.out`, as test-tokenizer-0.cpp reads them.
std::vector<std::pair<std::string, std::vector<int32_t>>> read_cases(const std::filesystem::path& gguf) {
  const std::string sep = "\n__ggml_vocab_test__\n";
  std::string inp = read_all(gguf.string() + ".inp");
  std::vector<std::string> texts;
  size_t begin = 0;
  for (size_t at; (at = inp.find(sep, begin)) != std::string::npos; begin = at + sep.size()) {
    texts.push_back(inp.substr(begin, at - begin));
  }
  std::ifstream out(gguf.string() + ".out");
  std::vector<std::pair<std::string, std::vector<int32_t>>> cases;
  std::string line;
  for (const std::string& text : texts) {
    if (!std::getline(out, line)) break;
    std::istringstream ids(line);
    std::vector<int32_t> expected;
    for (int32_t id; ids >> id;) expected.push_back(id);
    cases.emplace_back(text, std::move(expected));
  }
  EXPECT_EQ(cases.size(), texts.size()) << gguf << ": fewer .out lines than .inp strings";
  return cases;
}

std::string ids_string(const std::vector<int32_t>& ids) { return nlohmann::json(ids).dump(); }

class VocabFile : public ::testing::TestWithParam<const char*> {};

TEST_P(VocabFile, ReproducesEveryReferenceLine) {
  const std::filesystem::path gguf = vocab_dir() / (std::string("ggml-vocab-") + GetParam() + ".gguf");
  if (!std::filesystem::exists(gguf) || !std::filesystem::exists(gguf.string() + ".out")) {
    if (required()) FAIL() << "missing " << gguf << " (+ .inp/.out): run bench/peers/fetch-llama-src.sh";
    GTEST_SKIP() << "missing " << gguf << " (bench/peers/fetch-llama-src.sh puts it there)";
  }
  const Tokenizer tok = tokenizer_from_gguf(GgufFile::open(gguf.string()));
  const auto cases = read_cases(gguf);
  ASSERT_FALSE(cases.empty());
  int match = 0;
  for (const auto& [text, expected] : cases) {
    const std::vector<int32_t> ours = tok.encode(text, {.add_special = false, .parse_special = false});
    match += ours == expected;
    EXPECT_EQ(ours, expected) << GetParam() << " text: " << nlohmann::json(text).dump()
                              << "\n  ours:     " << ids_string(ours) << "\n  expected: " << ids_string(expected);
  }
  std::printf("  ggml-vocab-%s: %d/%zu strings match\n", GetParam(), match, cases.size());
}

// The project's tokenizer corpus (scripts/golden/tokenizer_corpus.py: 372
// strings of prose, code, scripts, emoji, whitespace runs, digits, control and
// random bytes) through each vocabulary, against llama.cpp's tokenizer
// (tests/data/tokenizer/vocab_corpus.json, scripts/golden/gen_vocab_corpus_golden.py).
TEST_P(VocabFile, MatchesLlamaCppOnTheCorpus) {
  const std::filesystem::path gguf = vocab_dir() / (std::string("ggml-vocab-") + GetParam() + ".gguf");
  if (!std::filesystem::exists(gguf)) {
    if (required()) FAIL() << "missing " << gguf << ": run bench/peers/fetch-llama-src.sh";
    GTEST_SKIP() << "missing " << gguf << " (bench/peers/fetch-llama-src.sh puts it there)";
  }
  std::ifstream in(test::data_dir() + "/tokenizer/vocab_corpus.json");
  ASSERT_TRUE(in) << "missing tests/data/tokenizer/vocab_corpus.json";
  const nlohmann::json golden = nlohmann::json::parse(in);
  const auto& texts = golden["texts"];
  const auto& expected = golden["ids"][GetParam()];
  ASSERT_EQ(texts.size(), expected.size());
  ASSERT_GE(texts.size(), 300u);
  const Tokenizer tok = tokenizer_from_gguf(GgufFile::open(gguf.string()));
  size_t match = 0;
  for (size_t i = 0; i < texts.size(); ++i) {
    const std::string text = texts[i].get<std::string>();
    const std::vector<int32_t> want = expected[i].get<std::vector<int32_t>>();
    const std::vector<int32_t> ours = tok.encode(text, {.add_special = false, .parse_special = false});
    match += ours == want;
    EXPECT_EQ(ours, want) << GetParam() << " text: " << nlohmann::json(text).dump() << "\n  ours:      "
                          << ids_string(ours) << "\n  llama.cpp: " << ids_string(want);
  }
  std::printf("  ggml-vocab-%s: %zu/%zu corpus strings match llama.cpp\n", GetParam(), match, texts.size());
}

// Gemma 4's vocabulary (ggml-vocab-gemma-4.gguf) is another tokenizer model,
// "gemma4" (BPE over SentencePiece-escaped whitespace), which Nucleus does not
// run: loading it must be refused, naming the model, not tokenize wrongly.
TEST(VocabFileRefused, Gemma4TokenizerModelIsNamedInTheError) {
  const std::filesystem::path gguf = vocab_dir() / "ggml-vocab-gemma-4.gguf";
  if (!std::filesystem::exists(gguf)) {
    if (required()) FAIL() << "missing " << gguf << ": run bench/peers/fetch-llama-src.sh";
    GTEST_SKIP() << "missing " << gguf;
  }
  try {
    (void)tokenizer_from_gguf(GgufFile::open(gguf.string()));
    FAIL() << "the gemma4 tokenizer model loaded";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("\"gemma4\" is not supported"), std::string::npos) << e.what();
  }
}

INSTANTIATE_TEST_SUITE_P(LlamaCpp, VocabFile, ::testing::Values("llama-bpe", "qwen2", "phi-3", "llama-spm"),
                         [](const auto& info) {
                           std::string name = info.param;
                           for (char& c : name) {
                             if (c == '-') c = '_';
                           }
                           return name;
                         });

}  // namespace
}  // namespace nucleus
