#include "text/trimmed_text_stream.h"

#include "text/json_scan.h"
#include "text/unicode_utf8.h"

namespace nucleus {
namespace {

// The start of an incomplete UTF-8 sequence at the end of `text`, or text.size().
size_t incomplete_tail(std::string_view text) {
  // A sequence is at most 4 bytes: look back over at most 3 continuation bytes for its lead.
  for (size_t back = 1; back <= 4 && back <= text.size(); ++back) {
    auto byte = static_cast<uint8_t>(text[text.size() - back]);
    if ((byte & 0xC0) != 0x80) {
      size_t need = unicode::utf8_sequence_length(byte);
      return need > back ? text.size() - back : text.size();
    }
  }
  return text.size();
}

}  // namespace

std::string TrimmedTextStream::push(std::string_view text) {
  if (!started_) {
    size_t first = json_scan::skip_space(text, 0);
    text.remove_prefix(first);
    if (text.empty()) return "";
    started_ = true;
  }
  held_ += text;
  size_t end = incomplete_tail(held_);
  while (end > 0 && json_scan::is_space(held_[end - 1])) --end;
  std::string out = held_.substr(0, end);
  held_.erase(0, end);
  return out;
}

std::string TrimmedTextStream::finish() {
  // Only the end is trimmed: what is held follows text already sent (held_ is
  // empty until then). It is not all whitespace when the text ends with a
  // broken UTF-8 sequence, kept as it came, as the whole text would keep it.
  size_t end = held_.size();
  while (end > 0 && json_scan::is_space(held_[end - 1])) --end;
  std::string out = held_.substr(0, end);
  held_.clear();
  return out;
}

}  // namespace nucleus
