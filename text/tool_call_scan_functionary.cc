// Functionary v3.2: the answer is segments ">>>RECIPIENT\n...". Recipient
// "all" is text for the user; any other is a call whose arguments are JSON.
// The generation prompt ends with ">>>", so the first segment has no ">>>".
#include "text/json_scan.h"
#include "text/tool_call_json.h"
#include "text/tool_call_scan.h"

namespace nucleus::tool_call_scan {
namespace {

constexpr std::string_view kSegmentMark = ">>>";
constexpr std::string_view kTextRecipient = "all";

struct Header {
  Outcome outcome = Outcome::kNotCall;  // kCall: a header is there
  std::string_view recipient;
  size_t end = 0;  // after its newline
};

Header read_header(std::string_view text, size_t pos, bool at_end) {
  size_t end = pos;
  while (end < text.size() && is_name_char(text[end])) ++end;
  if (end == text.size()) return {at_end ? Outcome::kNotCall : Outcome::kNeedMore, {}, 0};
  if (end == pos || text[end] != '\n') return {Outcome::kNotCall, {}, 0};
  return {Outcome::kCall, text.substr(pos, end - pos), end + 1};
}

}  // namespace

Scan scan_functionary_v3(std::string_view text, bool at_end, State& state) {
  Scan scan;
  size_t pos = 0;     // start of what is not yet in `scan`
  size_t search = 0;  // where the next ">>>" is looked for
  size_t segment = 0;
  Header header;
  if (state.at_output_start) {
    Attempt mark = expect_literal(text, 0, kSegmentMark, at_end);
    if (mark.outcome == Outcome::kNeedMore) return scan;
    header = read_header(text, mark.outcome == Outcome::kCall ? mark.end : 0, at_end);
    if (header.outcome == Outcome::kNeedMore) return scan;
  }
  while (true) {
    if (header.outcome == Outcome::kCall) {
      if (header.recipient == kTextRecipient) {
        pos = search = header.end;  // the header is not part of the text
      } else {
        std::string name(header.recipient);
        auto read = [&name](std::string_view object) {
          return tool_call_json::call_from_name_and_arguments(name, object);
        };
        Attempt call = json_object_call(text, header.end, at_end, read, &state.memo);
        if (call.outcome == Outcome::kNeedMore) {
          scan.consumed = segment;
          return scan;
        }
        if (call.outcome == Outcome::kCall) {
          scan.add_call(std::move(call.calls.front()));
          pos = search = call.end;
        } else {
          search = header.end;  // not JSON: the segment, header included, is text
        }
      }
    }
    size_t mark = text.find(kSegmentMark, search);
    if (mark == std::string_view::npos) {
      size_t end = content_end(text, pos, {kSegmentMark}, at_end);
      scan.add_content(text.substr(pos, end - pos));
      scan.consumed = end;
      return scan;
    }
    header = read_header(text, mark + kSegmentMark.size(), at_end);
    if (header.outcome == Outcome::kNeedMore) {
      scan.add_content(text.substr(pos, mark - pos));
      scan.consumed = mark;
      return scan;
    }
    if (header.outcome == Outcome::kCall) {
      scan.add_content(text.substr(pos, mark - pos));
      pos = segment = mark;
    } else {
      search = mark + 1;  // ">>>" overlaps itself: ">>>>f\n" has its header one byte on
    }
  }
}

}  // namespace nucleus::tool_call_scan
