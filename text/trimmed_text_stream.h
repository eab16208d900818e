// Streams text that must come out trimmed of surrounding whitespace, as the
// whole text would be: leading whitespace is dropped, trailing whitespace is
// held until more text follows it (and dropped at the end), and so is an
// incomplete UTF-8 character at the end of what arrived, so no piece ever
// ends inside one.
#pragma once

#include <string>
#include <string_view>

namespace nucleus {

class TrimmedTextStream {
 public:
  // Returns what can be sent now.
  std::string push(std::string_view text);
  // The end of the text: what is held back, less trailing whitespace.
  std::string finish();

 private:
  bool started_ = false;  // something other than whitespace has been sent
  std::string held_;
};

}  // namespace nucleus
