// Streaming detokenizer: never emits half a character, U+FFFD for bytes that
// cannot become valid UTF-8, and the same text as a whole-sequence decode.
#include "model/tokenizer_gguf.h"
#include "text/detokenizer.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>

#include "model/gguf.h"
#include "text/unicode_utf8.h"
#include "tests/common/test_env.h"

namespace nucleus {
namespace {

constexpr const char* kFFFD = "\xEF\xBF\xBD";

// Ids 0..255 are the bytes (no merges), then one control token.
Tokenizer bytes_tokenizer() {
  TokenizerVocab v;
  for (int b = 0; b < 256; ++b) v.tokens.push_back(unicode::bytes_to_byte_level(std::string(1, static_cast<char>(b))));
  v.types.assign(256, TokenType::kNormal);
  v.tokens.push_back("<|im_end|>");
  v.types.push_back(TokenType::kControl);
  return Tokenizer::from_vocab(v);
}

std::vector<std::string> stream(Detokenizer& d, const std::vector<int32_t>& ids) {
  std::vector<std::string> out;
  for (int32_t id : ids) out.push_back(d.push(id));
  out.push_back(d.flush());
  return out;
}

using Chunks = std::vector<std::string>;

TEST(Utf8, MaximalSubpartsBecomeOneReplacementEach) {
  using unicode::to_valid_utf8;
  EXPECT_EQ(to_valid_utf8("a\xC3\xA9z"), "a\xC3\xA9z");
  EXPECT_EQ(to_valid_utf8("\xE2\x82"), kFFFD);                                     // truncated 3-byte: one subpart
  EXPECT_EQ(to_valid_utf8("\xED\xA0\x80"), std::string(kFFFD) + kFFFD + kFFFD);  // surrogate: ED is not followed by A0
  EXPECT_EQ(to_valid_utf8("\xC0\xAF"), std::string(kFFFD) + kFFFD);              // overlong lead
  EXPECT_EQ(to_valid_utf8("\xF4\x90\x80\x80"), std::string(kFFFD) + kFFFD + kFFFD + kFFFD);  // > U+10FFFF
  EXPECT_EQ(to_valid_utf8("\xF0\x9F\x98"), kFFFD);
  EXPECT_TRUE(unicode::is_valid_utf8("\xF0\x9F\x98\x80"));
  EXPECT_FALSE(unicode::is_valid_utf8("\x80"));
  std::string out;
  EXPECT_EQ(unicode::append_valid_utf8("ab\xF0\x9F", /*final=*/false, out), 2u);  // the tail waits
  EXPECT_EQ(out, "ab");
}

TEST(Detokenizer, HoldsBackIncompleteCharacters) {
  const Tokenizer tok = bytes_tokenizer();
  Detokenizer d(tok);
  // 😀 = F0 9F 98 80, one byte token at a time.
  EXPECT_EQ(stream(d, {'a', 0xF0, 0x9F, 0x98, 0x80, 'b'}), (Chunks{"a", "", "", "", "😀", "b", ""}));
  EXPECT_EQ(d.pending_bytes(), 0u);
}

TEST(Detokenizer, InvalidBytesBecomeReplacementCharacters) {
  const Tokenizer tok = bytes_tokenizer();
  Detokenizer d(tok);
  // FF can never start a character: replaced at once.
  EXPECT_EQ(stream(d, {0xFF, 'x'}), (Chunks{kFFFD, "x", ""}));
  // F0 then 'a': the sequence can no longer complete, so it is replaced when 'a' arrives.
  EXPECT_EQ(stream(d, {0xF0, 'a'}), (Chunks{"", std::string(kFFFD) + "a", ""}));
  // An incomplete tail is replaced at flush.
  EXPECT_EQ(stream(d, {'z', 0xE2, 0x82}), (Chunks{"z", "", "", kFFFD}));
}

TEST(Detokenizer, SkipsSpecialTokensWhenAsked) {
  const Tokenizer tok = bytes_tokenizer();
  Detokenizer keep(tok);
  EXPECT_EQ(stream(keep, {'o', 'k', 256}), (Chunks{"o", "k", "<|im_end|>", ""}));
  Detokenizer skip(tok, {.skip_special_tokens = true});
  EXPECT_EQ(stream(skip, {'o', 'k', 256}), (Chunks{"o", "k", "", ""}));
  EXPECT_THROW(skip.push(257), TokenizerError);
  EXPECT_THROW(skip.push(-5), TokenizerError);
}

TEST(Detokenizer, SpmDropsOnlyTheFirstSpacePrefix) {
  TokenizerVocab v;
  v.model = TokenizerModelKind::kSpm;
  v.add_space_prefix = true;
  v.tokens = {"<s>", "\xE2\x96\x81Hi", "\xE2\x96\x81there"};
  v.types = {TokenType::kControl, TokenType::kNormal, TokenType::kNormal};
  v.bos_id = 0;
  const Tokenizer tok = Tokenizer::from_vocab(v);
  Detokenizer d(tok, {.skip_special_tokens = true});
  EXPECT_EQ(stream(d, {0, 1, 2}), (Chunks{"", "Hi", " there", ""}));
  EXPECT_EQ(tok.decode(std::vector<int32_t>{0, 1, 2}, {.skip_special_tokens = true}), "Hi there");
  d.reset();
  EXPECT_EQ(stream(d, {2, 1}), (Chunks{"there", " Hi", ""}));
}

TEST(Detokenizer, StreamingEqualsDecodeOnTheSmolLM2Corpus) {
  NUCLEUS_REQUIRE_DEFAULT_MODEL(path);
  const Tokenizer tok = tokenizer_from_gguf(GgufFile::open(path));
  std::ifstream in(test::data_dir() + "/tokenizer/smollm2_golden.json");
  ASSERT_TRUE(in);
  const nlohmann::json golden = nlohmann::json::parse(in);
  int held_back = 0;  // how often a push returned less than its token's bytes
  for (const auto& c : golden["cases"]) {
    const std::string text = c["text"];
    const auto ids = tok.encode(text, {.add_special = false, .parse_special = true});
    Detokenizer d(tok);
    std::string streamed;
    for (int32_t id : ids) {
      const std::string chunk = d.push(id);
      EXPECT_TRUE(unicode::is_valid_utf8(chunk)) << nlohmann::json(text).dump();
      held_back += d.pending_bytes() > 0;
      streamed += chunk;
    }
    streamed += d.flush();
    EXPECT_EQ(streamed, tok.decode(ids)) << nlohmann::json(text).dump();
  }
  EXPECT_GT(held_back, 0);  // the corpus does split characters across tokens
}

}  // namespace
}  // namespace nucleus
