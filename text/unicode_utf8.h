// UTF-8 helpers for the tokenizers and the streaming detokenizer, and the
// GPT-2 byte-level alphabet (every byte 0..255 as one printable code point).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace nucleus::unicode {

// Appends code point `cp` (must be <= 0x10FFFF) to `out` as UTF-8.
void append_utf8(uint32_t cp, std::string& out);

// Length in bytes of the UTF-8 sequence that starts with `lead` (1 for ASCII
// and for bytes that cannot start a sequence, so callers always advance).
size_t utf8_sequence_length(uint8_t lead);

// Converts `bytes` to valid UTF-8, appending to `out`, and returns how many
// bytes were consumed. Ill-formed sequences become U+FFFD, one per maximal
// subpart (the Unicode / WHATWG rule that Rust's from_utf8_lossy and HF
// tokenizers follow). When `final` is false, a trailing sequence that is
// incomplete but could still become valid is left unconsumed, so a streaming
// caller can complete it with the next bytes.
size_t append_valid_utf8(std::string_view bytes, bool final, std::string& out);

// The whole of `bytes` as valid UTF-8 (final = true).
std::string to_valid_utf8(std::string_view bytes);

// True when `bytes` is well-formed UTF-8.
bool is_valid_utf8(std::string_view bytes);

// GPT-2's bytes_to_unicode(): printable bytes map to themselves, the other 68
// (controls, space, 0x7F-0xA0, 0xAD) to U+0100.. in byte order.
const std::array<uint32_t, 256>& byte_to_codepoint();

// The byte-level text of raw bytes ("hello world" -> "helloĠworld").
std::string bytes_to_byte_level(std::string_view bytes);

// The raw bytes of byte-level text. Returns false (with `out` partly written)
// when `text` has a code point outside the byte-level alphabet.
bool byte_level_to_bytes(std::string_view text, std::string& out);

}  // namespace nucleus::unicode
