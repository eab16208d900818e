// UTF-8 helpers for the grammar front ends: encoding code points, decoding
// source text, and lowering a set of code points to byte-range sequences so the
// runtime only ever deals with bytes.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace nucleus::grammar {

struct CodePointRange {
  uint32_t lo = 0;
  uint32_t hi = 0;  // inclusive
};

struct ByteRange {
  uint8_t lo = 0;
  uint8_t hi = 0;  // inclusive
};

constexpr uint32_t kMaxCodePoint = 0x10FFFF;

// Appends the UTF-8 encoding of `cp` (a scalar value, not a surrogate).
void append_utf8(std::string& out, uint32_t cp);

// Decodes the code point starting at text[pos] and advances pos; invalid UTF-8
// is a GrammarError naming `what`.
uint32_t decode_utf8(std::string_view text, size_t& pos, std::string_view what);

// Sorts and merges ranges; with `negate`, returns the complement within
// [0, kMaxCodePoint]. Surrogates (U+D800..U+DFFF) are always removed: they have
// no UTF-8 encoding.
std::vector<CodePointRange> normalize_ranges(std::vector<CodePointRange> ranges, bool negate);

// The byte sequences that encode exactly the code points of `ranges`
// (normalized): each sequence is 1-4 byte ranges and the sequences are
// disjoint (Russ Cox's range splitting, as in RE2 and Go's regexp).
std::vector<std::vector<ByteRange>> utf8_sequences(const std::vector<CodePointRange>& ranges);

}  // namespace nucleus::grammar
