// Tokenizer tests: pre-tokenizer splits and BPE/SPM merges on tiny hand-made
// vocabularies (expectations worked out by hand in the comments), load-time
// errors, and parity with HF tokenizers / llama.cpp on the SmolLM2 corpus
// (tests/data/tokenizer/smollm2_golden.json, from scripts/golden/gen_tokenizer_golden.py).
#include "model/tokenizer_gguf.h"
#include "text/tokenizer.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <sstream>
#include <thread>

#include "model/gguf.h"
#include "text/pretokenizer.h"
#include "text/unicode_utf8.h"
#include "tests/common/gguf_writer.h"
#include "tests/common/test_env.h"

namespace nucleus {
namespace {

std::vector<std::string> split(PreTokenizerKind kind, std::string_view text) {
  PreTokenizer pre(kind);
  std::vector<TextSpan> spans;
  pre.split(text, spans);
  std::vector<std::string> out;
  for (const TextSpan& s : spans) out.emplace_back(text.substr(s.offset, s.length));
  return out;
}

using Pieces = std::vector<std::string>;

TEST(PreTokenizer, Gpt2SplitsLettersDigitsPunctuationAndSpaces) {
  EXPECT_EQ(split(PreTokenizerKind::kGpt2, "Hello world, it's 2024!"),
            (Pieces{"Hello", " world", ",", " it", "'s", " 2024", "!"}));
  // \s+(?!\S) leaves the last space to join the next word.
  EXPECT_EQ(split(PreTokenizerKind::kGpt2, "a   b"), (Pieces{"a", "  ", " b"}));
  EXPECT_EQ(split(PreTokenizerKind::kGpt2, "a\nb  "), (Pieces{"a", "\n", "b", "  "}));
  // Contractions are case-sensitive in GPT-2.
  EXPECT_EQ(split(PreTokenizerKind::kGpt2, "I'M"), (Pieces{"I", "'", "M"}));
  EXPECT_TRUE(split(PreTokenizerKind::kGpt2, "").empty());
}

TEST(PreTokenizer, SmollmIsolatesEachDigitFirst) {
  EXPECT_EQ(split(PreTokenizerKind::kSmollm, "abc123 def's  x\n"),
            (Pieces{"abc", "1", "2", "3", " def", "'s", " ", " x", "\n"}));
  EXPECT_EQ(split(PreTokenizerKind::kSmollm, "x 42"), (Pieces{"x", " ", "4", "2"}));
}

TEST(PreTokenizer, Llama3GroupsDigitsByThreeAndIgnoresCaseInContractions) {
  EXPECT_EQ(split(PreTokenizerKind::kLlama3, "Hello WORLD'S 12345"),
            (Pieces{"Hello", " WORLD", "'S", " ", "123", "45"}));
  EXPECT_EQ(split(PreTokenizerKind::kLlama3, "x;\n\ny"), (Pieces{"x", ";\n\n", "y"}));
  EXPECT_EQ(split(PreTokenizerKind::kQwen2, "12345"), (Pieces{"1", "2", "3", "4", "5"}));
}

TEST(PreTokenizer, UnicodeClassesAndInvalidUtf8) {
  // \p{L} covers CJK, \p{N} covers Arabic-Indic digits.
  EXPECT_EQ(split(PreTokenizerKind::kGpt2, "你好 世界 ٣٤"), (Pieces{"你好", " 世界", " ٣٤"}));
  // Invalid bytes never match, so they stay as gap pieces instead of failing.
  const std::string bad = "ab\xFF\xFE cd";
  std::string joined;
  for (const auto& p : split(PreTokenizerKind::kGpt2, bad)) joined += p;
  EXPECT_EQ(joined, bad);
}

// A byte-level vocabulary: ids 0..255 are the bytes (in byte order), then the
// merge results; merges in rank order.
TokenizerVocab byte_level_vocab(const std::vector<std::string>& merges) {
  TokenizerVocab v;
  v.model = TokenizerModelKind::kBpe;
  v.pre = PreTokenizerKind::kGpt2;
  for (int b = 0; b < 256; ++b) v.tokens.push_back(unicode::bytes_to_byte_level(std::string(1, static_cast<char>(b))));
  for (const std::string& m : merges) {
    const size_t space = m.find(' ', 1);
    v.tokens.push_back(m.substr(0, space) + m.substr(space + 1));
  }
  v.merges = merges;
  v.types.assign(v.tokens.size(), TokenType::kNormal);
  v.tokens.push_back("<|end|>");
  v.types.push_back(TokenType::kControl);
  v.eos_id = static_cast<int32_t>(v.tokens.size() - 1);
  return v;
}

Pieces texts(const Tokenizer& tok, const std::vector<int32_t>& ids) {
  Pieces out;
  for (int32_t id : ids) out.push_back(tok.token_text(id));
  return out;
}

TEST(BpeTokenizer, MergesByRankNotByPosition) {
  // "b c" outranks "a b": abc -> a + bc (then "a bc" is no merge).
  auto tok = Tokenizer::from_vocab(byte_level_vocab({"b c", "a b"}));
  EXPECT_EQ(texts(tok, tok.encode("abc")), (Pieces{"a", "bc"}));
  // With the ranks swapped: abc -> ab + c.
  auto swapped = Tokenizer::from_vocab(byte_level_vocab({"a b", "b c"}));
  EXPECT_EQ(texts(swapped, swapped.encode("abc")), (Pieces{"ab", "c"}));
}

TEST(BpeTokenizer, EqualRanksMergeLeftmostFirstAndChainMerges) {
  auto tok = Tokenizer::from_vocab(byte_level_vocab({"a a", "aa a"}));
  // aaaa: a a a a -> (leftmost "a a") aa a a -> "aa a" (rank 1) vs "a a" (rank 0): rank 0 first -> aa aa
  EXPECT_EQ(texts(tok, tok.encode("aaaa")), (Pieces{"aa", "aa"}));
  // aaa: aa a -> aaa
  EXPECT_EQ(texts(tok, tok.encode("aaa")), (Pieces{"aaa"}));

  auto hello = Tokenizer::from_vocab(byte_level_vocab({"l l", "h e", "he ll", "hell o", "Ġ w", "Ġw o"}));
  EXPECT_EQ(texts(hello, hello.encode("hello wow")), (Pieces{"hello", "Ġwo", "w"}));
  // The word cache must not change answers on a second call.
  EXPECT_EQ(texts(hello, hello.encode("hello wow")), (Pieces{"hello", "Ġwo", "w"}));
  EXPECT_EQ(hello.decode(hello.encode("hello wow")), "hello wow");
}

TEST(BpeTokenizer, SpecialTokensOnlyWhenAsked) {
  auto tok = Tokenizer::from_vocab(byte_level_vocab({"a b"}));
  const int32_t end = tok.token_to_id("<|end|>");
  ASSERT_GE(end, 0);
  EXPECT_EQ(tok.encode("ab<|end|>ab", {.parse_special = true}), (std::vector<int32_t>{256, end, 256}));
  const auto plain = tok.encode("ab<|end|>ab");
  EXPECT_EQ(std::count(plain.begin(), plain.end(), end), 0);
  EXPECT_EQ(tok.decode(plain), "ab<|end|>ab");
  EXPECT_TRUE(tok.is_control(end));
  EXPECT_TRUE(tok.is_special(end));
  EXPECT_FALSE(tok.is_special(256));
  EXPECT_EQ(tok.decode(std::vector<int32_t>{256, end}), "ab<|end|>");
  EXPECT_EQ(tok.decode(std::vector<int32_t>{256, end}, {.skip_special_tokens = true}), "ab");
  EXPECT_TRUE(tok.is_end_of_generation(end));
  EXPECT_EQ(tok.eot_id(), end);  // found by name
}

TEST(BpeTokenizer, BosAndEosFollowTheVocabulary) {
  auto v = byte_level_vocab({});
  v.bos_id = 'B';
  v.add_bos = true;
  v.add_eos = true;
  auto tok = Tokenizer::from_vocab(v);
  EXPECT_EQ(tok.encode("x"), (std::vector<int32_t>{'B', 'x', v.eos_id}));
  EXPECT_EQ(tok.encode("x", {.add_special = false}), (std::vector<int32_t>{'x'}));
}

TEST(BpeTokenizer, DecodeTurnsBrokenUtf8IntoReplacementCharacters) {
  auto tok = Tokenizer::from_vocab(byte_level_vocab({}));
  // "é" is C3 A9; alone, C3 is an incomplete sequence.
  EXPECT_EQ(tok.decode(std::vector<int32_t>{0xC3, 0xA9}), "é");
  EXPECT_EQ(tok.decode(std::vector<int32_t>{'a', 0xC3}), "a\xEF\xBF\xBD");
  EXPECT_EQ(tok.decode(std::vector<int32_t>{0xFF, 'a'}), "\xEF\xBF\xBD" "a");
  EXPECT_THROW(tok.decode(std::vector<int32_t>{100000}), TokenizerError);
  EXPECT_THROW(tok.decode(std::vector<int32_t>{-1}), TokenizerError);
}

// A SentencePiece-style vocabulary: <unk>, <s>, </s>, the 256 byte tokens, then pieces with scores.
TokenizerVocab spm_vocab() {
  TokenizerVocab v;
  v.model = TokenizerModelKind::kSpm;
  auto add = [&](std::string text, float score, TokenType type) {
    v.tokens.push_back(std::move(text));
    v.scores.push_back(score);
    v.types.push_back(type);
  };
  add("<unk>", 0, TokenType::kUnknown);
  add("<s>", 0, TokenType::kControl);
  add("</s>", 0, TokenType::kControl);
  for (int b = 0; b < 256; ++b) {
    char name[8];
    std::snprintf(name, sizeof(name), "<0x%02X>", b);
    add(name, 0, TokenType::kByte);
  }
  for (const char* single : {"\xE2\x96\x81", "a", "b", "c"}) add(single, -10, TokenType::kNormal);
  add("ab", -1, TokenType::kNormal);
  add("bc", -2, TokenType::kNormal);
  add("\xE2\x96\x81" "a", -3, TokenType::kNormal);
  add("\xE2\x96\x81" "ab", -4, TokenType::kNormal);
  add("aa", -0.5, TokenType::kNormal);
  v.unk_id = 0;
  v.bos_id = 1;
  v.eos_id = 2;
  v.add_bos = true;
  v.add_space_prefix = true;
  return v;
}

TEST(SpmTokenizer, HighestScoreMergesFirst) {
  auto tok = Tokenizer::from_vocab(spm_vocab());
  const EncodeOptions no_bos{.add_special = false};
  // ▁ab: pairs ▁a (-3), ab (-1) -> ab; then ▁ ab -> ▁ab (-4).
  EXPECT_EQ(texts(tok, tok.encode("ab", no_bos)), (Pieces{"▁ab"}));
  // ▁abc: ab (-1) beats bc (-2) and ▁a (-3); then ▁ab; "▁abc" is no token.
  EXPECT_EQ(texts(tok, tok.encode("abc", no_bos)), (Pieces{"▁ab", "c"}));
  // ▁bc▁a: bc (-2) and ▁a (-3) are independent.
  EXPECT_EQ(texts(tok, tok.encode("bc a", no_bos)), (Pieces{"▁", "bc", "▁a"}));
  // ▁aaa: two "aa" (-0.5) candidates: the leftmost wins, "▁aa" and "aaa" are no tokens.
  EXPECT_EQ(texts(tok, tok.encode("aaa", no_bos)), (Pieces{"▁", "aa", "a"}));
  EXPECT_EQ(texts(tok, tok.encode("ab")), (Pieces{"<s>", "▁ab"}));
}

TEST(SpmTokenizer, ByteFallbackAndRoundTrip) {
  auto tok = Tokenizer::from_vocab(spm_vocab());
  const EncodeOptions no_bos{.add_special = false};
  EXPECT_EQ(texts(tok, tok.encode("é", no_bos)), (Pieces{"▁", "<0xC3>", "<0xA9>"}));
  for (std::string s : {"ab bc", "é ab", "  a", "abc\n\tz", "日本"}) {
    EXPECT_EQ(tok.decode(tok.encode(s, no_bos)), s) << s;
    EXPECT_EQ(tok.decode(tok.encode(s), {.skip_special_tokens = true}), s) << s;
  }
}

TEST(SpmTokenizer, SpecialTokensGetTheSpacePrefixAfterThem) {
  auto tok = Tokenizer::from_vocab(spm_vocab());
  const EncodeOptions parse{.add_special = false, .parse_special = true};
  EXPECT_EQ(texts(tok, tok.encode("<s>ab", parse)), (Pieces{"<s>", "▁ab"}));
  EXPECT_EQ(texts(tok, tok.encode("<s>ab", {.add_special = false})),
            (Pieces{"▁", "<0x3C>", "<0x73>", "<0x3E>", "ab"}));
}

TEST(TokenizerErrors, BadVocabulariesNameTheProblem) {
  auto expect_error = [](TokenizerVocab v, const std::string& needle) {
    v.source = "model.gguf";
    try {
      Tokenizer::from_vocab(std::move(v));
      ADD_FAILURE() << "no error; expected one mentioning " << needle;
    } catch (const TokenizerError& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("model.gguf"), std::string::npos) << e.what();
    }
  };
  expect_error(byte_level_vocab({"ab"}), "tokenizer.ggml.merges[0]");
  auto v = byte_level_vocab({});
  v.scores = {1.0f};
  expect_error(v, "tokenizer.ggml.scores");
  v = byte_level_vocab({});
  v.bos_id = 1 << 20;
  expect_error(v, "tokenizer.ggml.bos_token_id");
  v = byte_level_vocab({});
  v.types[3] = static_cast<TokenType>(9);
  expect_error(v, "tokenizer.ggml.token_type[3]");
  expect_error(TokenizerVocab{}, "tokenizer.ggml.tokens is empty");
}

std::vector<uint8_t> tiny_gguf(const std::string& model, const std::string& pre) {
  auto v = byte_level_vocab({"a b"});
  test::GgufWriter w;
  w.add_string("tokenizer.ggml.model", model);
  w.add_string("tokenizer.ggml.pre", pre);
  w.add_string_array("tokenizer.ggml.tokens", v.tokens);
  std::vector<int32_t> types;
  for (TokenType t : v.types) types.push_back(static_cast<int32_t>(t));
  w.add_i32_array("tokenizer.ggml.token_type", types);
  w.add_string_array("tokenizer.ggml.merges", v.merges);
  w.add_u32("tokenizer.ggml.eos_token_id", static_cast<uint32_t>(v.eos_id));
  return w.build();
}

TEST(TokenizerGguf, ReadsAVocabularyAndRejectsUnknownNames) {
  auto tok = tokenizer_from_gguf(GgufFile::from_memory("tiny.gguf", tiny_gguf("gpt2", "smollm")));
  EXPECT_EQ(tok.pre_tokenizer_kind(), PreTokenizerKind::kSmollm);
  EXPECT_EQ(texts(tok, tok.encode("ab1")), (Pieces{"ab", "1"}));
  EXPECT_FALSE(tok.add_bos());

  for (auto [model, pre, needle] : {std::tuple{"gpt2", "klingon", "tokenizer.ggml.pre = \"klingon\""},
                                    std::tuple{"wordpiece", "gpt-2", "tokenizer.ggml.model = \"wordpiece\""}}) {
    try {
      tokenizer_from_gguf(GgufFile::from_memory("tiny.gguf", tiny_gguf(model, pre)));
      ADD_FAILURE() << "no error for " << model << "/" << pre;
    } catch (const std::exception& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("tiny.gguf"), std::string::npos) << e.what();
    }
  }
}

// ---- parity with HF tokenizers and llama.cpp on the SmolLM2 vocabulary ----

nlohmann::json load_golden() {
  const std::string path = test::data_dir() + "/tokenizer/smollm2_golden.json";
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open " + path);
  return nlohmann::json::parse(in);
}

std::string ids_string(const std::vector<int32_t>& ids) { return nlohmann::json(ids).dump(); }

class SmolLM2Tokenizer : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const std::string path = test::default_model_path();
    if (path.empty()) return;
    tokenizer_ = new Tokenizer(tokenizer_from_gguf(GgufFile::open(path)));
  }
  static void TearDownTestSuite() {
    delete tokenizer_;
    tokenizer_ = nullptr;
  }
  static Tokenizer* tokenizer_;
};
Tokenizer* SmolLM2Tokenizer::tokenizer_ = nullptr;

TEST_F(SmolLM2Tokenizer, Metadata) {
  NUCLEUS_REQUIRE_DEFAULT_MODEL(path);
  const Tokenizer& tok = *tokenizer_;
  EXPECT_EQ(tok.vocab_size(), 49152);
  EXPECT_EQ(tok.model_kind(), TokenizerModelKind::kBpe);
  EXPECT_EQ(tok.pre_tokenizer_kind(), PreTokenizerKind::kSmollm);
  EXPECT_EQ(tok.bos_id(), 1);
  EXPECT_EQ(tok.eos_id(), 2);
  EXPECT_EQ(tok.eot_id(), tok.token_to_id("<|im_end|>"));
  EXPECT_FALSE(tok.add_bos());
  EXPECT_TRUE(tok.is_end_of_generation(tok.token_to_id("<|endoftext|>")));
  EXPECT_EQ(tok.token_to_piece(tok.token_to_id("Ġthe")), " the");
}

TEST_F(SmolLM2Tokenizer, MatchesHfAndLlamaCppOnTheCorpus) {
  NUCLEUS_REQUIRE_DEFAULT_MODEL(path);
  const Tokenizer& tok = *tokenizer_;
  const nlohmann::json golden = load_golden();
  ASSERT_GE(golden["cases"].size(), 300u);
  int n = 0, match_hf = 0, match_llama = 0, n_special = 0, special_match_hf = 0, special_match_llama = 0;
  for (const auto& c : golden["cases"]) {
    const std::string text = c["text"];
    const auto hf = c["hf"].get<std::vector<int32_t>>();
    const auto llama = c["llama_cpp"].get<std::vector<int32_t>>();
    const auto ours = tok.encode(text, {.add_special = false, .parse_special = false});
    ++n;
    match_hf += ours == hf;
    match_llama += ours == llama;
    EXPECT_EQ(ours, hf) << "text: " << nlohmann::json(text).dump() << "\n  ours:      " << ids_string(ours)
                        << "\n  hf:        " << ids_string(hf) << "\n  llama.cpp: " << ids_string(llama);
    if (c.contains("special")) {
      const auto shf = c["special"]["hf"].get<std::vector<int32_t>>();
      const auto sllama = c["special"]["llama_cpp"].get<std::vector<int32_t>>();
      const auto sours = tok.encode(text, {.add_special = false, .parse_special = true});
      ++n_special;
      special_match_hf += sours == shf;
      special_match_llama += sours == sllama;
      EXPECT_EQ(sours, shf) << "special parsing, text: " << nlohmann::json(text).dump()
                            << "\n  ours:      " << ids_string(sours) << "\n  hf:        " << ids_string(shf)
                            << "\n  llama.cpp: " << ids_string(sllama);
    }
  }
  std::printf("[parity] %d strings: %d match HF, %d match llama.cpp; with special parsing %d: %d HF, %d llama.cpp; "
              "%zu reference disagreements\n",
              n, match_hf, match_llama, n_special, special_match_hf, special_match_llama,
              golden["disagreements"].size());
}

// The SmolLM2 vocabulary with the Llama 3 and Qwen2 split regexes, against HF
// (Oniguruma) with the same regexes: checks our PCRE2 versions of them.
TEST_F(SmolLM2Tokenizer, Llama3AndQwen2PreTokenizersMatchHf) {
  NUCLEUS_REQUIRE_DEFAULT_MODEL(path);
  const GgufFile file = GgufFile::open(path);
  const nlohmann::json golden = load_golden();
  for (auto [kind, key] : {std::pair{PreTokenizerKind::kLlama3, "hf_llama3"}, std::pair{PreTokenizerKind::kQwen2, "hf_qwen2"}}) {
    TokenizerVocab vocab = tokenizer_vocab_from_gguf(file);
    vocab.pre = kind;
    const Tokenizer tok = Tokenizer::from_vocab(std::move(vocab));
    int matches = 0, differ_from_smollm = 0;
    for (const auto& c : golden["cases"]) {
      const std::string text = c["text"];
      const auto expected = c[key].get<std::vector<int32_t>>();
      const auto ours = tok.encode(text, {.add_special = false});
      matches += ours == expected;
      differ_from_smollm += expected != c["hf"].get<std::vector<int32_t>>();
      EXPECT_EQ(ours, expected) << key << ", text: " << nlohmann::json(text).dump() << "\n  ours: " << ids_string(ours)
                                << "\n  hf:   " << ids_string(expected);
    }
    EXPECT_GT(differ_from_smollm, 10) << key;  // the regexes really split differently
    std::printf("[parity] %s: %d of %zu strings match HF\n", key, matches, golden["cases"].size());
  }
}

TEST_F(SmolLM2Tokenizer, RoundTripsTheCorpus) {
  NUCLEUS_REQUIRE_DEFAULT_MODEL(path);
  const Tokenizer& tok = *tokenizer_;
  // The vocabulary has no token for some control bytes (e.g. 0x1D); encoding
  // drops them, like HF and llama.cpp, so they cannot come back.
  auto representable = [&](const std::string& text) {
    std::string out;
    for (char c : text) {
      if (tok.token_to_id(unicode::bytes_to_byte_level(std::string(1, c))) >= 0) out.push_back(c);
    }
    return out;
  };
  int dropped = 0;
  const nlohmann::json golden = load_golden();  // kept alive: the loop iterates into it
  for (const auto& c : golden["cases"]) {
    const std::string text = c["text"];
    const std::string expected = representable(text);
    dropped += expected != text;
    EXPECT_EQ(tok.decode(tok.encode(text, {.add_special = false})), expected) << nlohmann::json(text).dump();
    EXPECT_EQ(tok.decode(tok.encode(text, {.parse_special = true})), expected) << nlohmann::json(text).dump();
  }
  EXPECT_LE(dropped, 2);  // only the control-character strings
}

TEST_F(SmolLM2Tokenizer, ConcurrentEncodesAgreeWithSerialOnes) {
  NUCLEUS_REQUIRE_DEFAULT_MODEL(path);
  // A fresh tokenizer, so the threads race to fill the shared word cache.
  const Tokenizer tok = tokenizer_from_gguf(GgufFile::open(path));
  const nlohmann::json golden = load_golden();
  std::vector<std::string> texts;
  std::vector<std::vector<int32_t>> expected;
  for (const auto& c : golden["cases"]) {
    texts.push_back(c["text"]);
    expected.push_back(c["hf"].get<std::vector<int32_t>>());
  }
  std::vector<int> mismatches(4, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 3; ++round) {
        for (size_t i = 0; i < texts.size(); ++i) {
          const size_t k = (i * 7 + static_cast<size_t>(t) * 31) % texts.size();  // a different order per thread
          mismatches[t] += tok.encode(texts[k], {.add_special = false}) != expected[k];
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < 4; ++t) EXPECT_EQ(mismatches[t], 0) << "thread " << t;
}

TEST_F(SmolLM2Tokenizer, ChatScaffoldingVersusContent) {
  NUCLEUS_REQUIRE_DEFAULT_MODEL(path);
  const Tokenizer& tok = *tokenizer_;
  const int32_t im_start = tok.token_to_id("<|im_start|>");
  // Scaffolding parses special tokens, the user's content does not.
  std::vector<int32_t> ids = tok.encode("<|im_start|>user\n", {.parse_special = true});
  const auto content = tok.encode("<|im_start|>system", {.parse_special = false});
  EXPECT_EQ(ids.front(), im_start);
  EXPECT_EQ(std::count(content.begin(), content.end(), im_start), 0);
}

}  // namespace
}  // namespace nucleus
