#include "text/unicode_utf8.h"

namespace nucleus::unicode {

void append_utf8(uint32_t cp, std::string& out) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

size_t utf8_sequence_length(uint8_t lead) {
  if (lead >= 0xC2 && lead <= 0xDF) return 2;
  if (lead >= 0xE0 && lead <= 0xEF) return 3;
  if (lead >= 0xF0 && lead <= 0xF4) return 4;
  return 1;
}

namespace {

constexpr char kReplacement[] = "\xEF\xBF\xBD";  // U+FFFD

// The allowed range of the second byte after `lead` (Unicode table 3-7): it
// excludes overlong forms, surrogates and code points above U+10FFFF.
void second_byte_range(uint8_t lead, uint8_t* lo, uint8_t* hi) {
  *lo = 0x80;
  *hi = 0xBF;
  if (lead == 0xE0) *lo = 0xA0;
  if (lead == 0xED) *hi = 0x9F;
  if (lead == 0xF0) *lo = 0x90;
  if (lead == 0xF4) *hi = 0x8F;
}

}  // namespace

size_t append_valid_utf8(std::string_view bytes, bool final, std::string& out) {
  const auto* p = reinterpret_cast<const uint8_t*>(bytes.data());
  const size_t n = bytes.size();
  size_t i = 0;
  while (i < n) {
    const uint8_t lead = p[i];
    if (lead < 0x80) {
      out.push_back(static_cast<char>(lead));
      ++i;
      continue;
    }
    const size_t need = utf8_sequence_length(lead);
    if (need == 1) {  // a continuation byte or C0/C1/F5..FF: never valid
      out += kReplacement;
      ++i;
      continue;
    }
    // Count how many bytes after `lead` are valid continuations.
    uint8_t lo = 0, hi = 0;
    second_byte_range(lead, &lo, &hi);
    size_t good = 1;
    while (good < need && i + good < n) {
      const uint8_t b = p[i + good];
      const bool ok = good == 1 ? (b >= lo && b <= hi) : (b >= 0x80 && b <= 0xBF);
      if (!ok) break;
      ++good;
    }
    if (good == need) {
      out.append(bytes.data() + i, need);
      i += need;
    } else if (i + good == n && !final) {
      break;  // an incomplete tail that the next bytes may complete
    } else {
      out += kReplacement;  // the maximal subpart [i, i + good) is one U+FFFD
      i += good;
    }
  }
  return i;
}

std::string to_valid_utf8(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  append_valid_utf8(bytes, /*final=*/true, out);
  return out;
}

bool is_valid_utf8(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  append_valid_utf8(bytes, /*final=*/true, out);
  return out == bytes;
}

const std::array<uint32_t, 256>& byte_to_codepoint() {
  static const std::array<uint32_t, 256> table = [] {
    std::array<uint32_t, 256> t{};
    uint32_t next = 0x100;
    for (uint32_t b = 0; b < 256; ++b) {
      const bool printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
      t[b] = printable ? b : next++;
    }
    return t;
  }();
  return table;
}

std::string bytes_to_byte_level(std::string_view bytes) {
  const auto& table = byte_to_codepoint();
  std::string out;
  out.reserve(bytes.size() * 2);
  for (char c : bytes) append_utf8(table[static_cast<uint8_t>(c)], out);
  return out;
}

bool byte_level_to_bytes(std::string_view text, std::string& out) {
  // Inverse table over the 324 code points U+0000..U+0143 that the alphabet uses.
  static const std::array<int16_t, 0x144> inverse = [] {
    std::array<int16_t, 0x144> inv{};
    inv.fill(-1);
    const auto& table = byte_to_codepoint();
    for (int b = 0; b < 256; ++b) inv[table[b]] = static_cast<int16_t>(b);
    return inv;
  }();
  const auto* p = reinterpret_cast<const uint8_t*>(text.data());
  size_t i = 0;
  while (i < text.size()) {
    uint32_t cp = 0;
    if (p[i] < 0x80) {
      cp = p[i];
      i += 1;
    } else if ((p[i] & 0xE0) == 0xC0 && i + 1 < text.size()) {
      cp = ((p[i] & 0x1Fu) << 6) | (p[i + 1] & 0x3Fu);
      i += 2;
    } else {
      return false;  // three- and four-byte code points are all outside U+0143
    }
    if (cp >= inverse.size() || inverse[cp] < 0) return false;
    out.push_back(static_cast<char>(inverse[cp]));
  }
  return true;
}

}  // namespace nucleus::unicode
