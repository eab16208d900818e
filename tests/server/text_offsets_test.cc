// text_offset counting: characters, not bytes, and a token that starts inside
// a character points at that character (hand-made byte splits of UTF-8 text).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "server/text_offsets.h"

namespace nucleus::server {
namespace {

std::vector<size_t> offsets_of(const std::vector<std::string>& pieces, size_t start = 0) {
  TextOffsets counter(start);
  std::vector<size_t> out;
  for (const std::string& p : pieces) out.push_back(counter.next(p));
  return out;
}

TEST(TextOffsets, AsciiCountsOneCharacterPerByte) {
  EXPECT_EQ(offsets_of({"The", " cat", " sat"}), (std::vector<size_t>{0, 3, 7}));
  EXPECT_EQ(offsets_of({"a", "b"}, 5), (std::vector<size_t>{5, 6}));  // after an echoed prompt of 5 characters
}

TEST(TextOffsets, MultiByteCharactersCountOnce) {
  // "日本 ok": two 3-byte characters, then ASCII.
  EXPECT_EQ(offsets_of({"\xE6\x97\xA5", "\xE6\x9C\xAC", " ok"}), (std::vector<size_t>{0, 1, 2}));
  EXPECT_EQ(offsets_of({" caf\xC3\xA9", "!"}), (std::vector<size_t>{0, 5}));
}

TEST(TextOffsets, ATokenStartingInsideACharacterPointsAtIt) {
  // "日x" with 日 split 2 + 1 bytes; "🤖!" with the emoji split 1 + 1 + 2 bytes.
  EXPECT_EQ(offsets_of({"\xE6\x97", "\xA5", "x"}), (std::vector<size_t>{0, 0, 1}));
  EXPECT_EQ(offsets_of({"a", "\xF0", "\x9F", "\xA4\x96", "!"}), (std::vector<size_t>{0, 1, 1, 1, 2}));
}

TEST(TextOffsets, CharactersCountsLeadBytes) {
  EXPECT_EQ(TextOffsets::characters(""), 0u);
  EXPECT_EQ(TextOffsets::characters("abc"), 3u);
  EXPECT_EQ(TextOffsets::characters("\xE6\x97\xA5\xE6\x9C\xAC \xF0\x9F\xA4\x96"), 4u);
}

}  // namespace
}  // namespace nucleus::server
