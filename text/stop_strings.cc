#include "text/stop_strings.h"

#include <algorithm>

namespace nucleus {

StopStringMatcher::StopStringMatcher(std::vector<std::string> stops, bool include_stop_in_output)
    : include_stop_(include_stop_in_output) {
  for (auto& s : stops) {
    if (s.empty()) continue;  // an empty stop string would stop before any text; ignore it
    max_stop_len_ = std::max(max_stop_len_, s.size());
    stops_.push_back(std::move(s));
  }
}

StopStringMatcher::Result StopStringMatcher::push(std::string_view delta, bool may_stop) {
  Result r;
  if (stops_.empty()) {
    r.emit.assign(delta);
    return r;
  }
  pending_.append(delta);
  if (!may_stop) unstoppable_ = pending_.size();
  // Earliest match wins; among matches at the same place, the longest. A
  // match must end past the text pushed while stopping was not allowed.
  size_t best = std::string::npos;
  const std::string* which = nullptr;
  for (const std::string& s : stops_) {
    if (!may_stop) break;
    size_t at = pending_.find(s);
    while (at != std::string::npos && at + s.size() <= unstoppable_) at = pending_.find(s, at + 1);
    if (at != std::string::npos && (at < best || (at == best && s.size() > which->size()))) {
      best = at;
      which = &s;
    }
  }
  if (which) {
    r.emit = pending_.substr(0, best + (include_stop_ ? which->size() : 0));
    r.stopped = true;
    r.matched = *which;
    pending_.clear();
    unstoppable_ = 0;
    return r;
  }
  // Hold back the longest suffix that is a proper prefix of some stop string.
  size_t hold = 0;
  const size_t longest = std::min(pending_.size(), max_stop_len_ - 1);
  for (size_t len = longest; len > 0 && hold == 0; --len) {
    const std::string_view tail(pending_.data() + pending_.size() - len, len);
    for (const std::string& s : stops_) {
      if (s.size() > len && std::string_view(s).substr(0, len) == tail) {
        hold = len;
        break;
      }
    }
  }
  r.emit = pending_.substr(0, pending_.size() - hold);
  pending_.erase(0, pending_.size() - hold);
  unstoppable_ -= std::min(unstoppable_, r.emit.size());
  return r;
}

std::string StopStringMatcher::flush() {
  std::string out;
  out.swap(pending_);
  unstoppable_ = 0;
  return out;
}

}  // namespace nucleus
