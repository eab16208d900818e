#include "engine/engine_options.h"

namespace nucleus {

const char* speculation_name(Speculation mode) {
  switch (mode) {
    case Speculation::kNgram: return "ngram";
    case Speculation::kDraft: return "draft";
    case Speculation::kOff: break;
  }
  return "off";
}

std::optional<Speculation> speculation_from_name(const std::string& name) {
  for (Speculation mode : {Speculation::kOff, Speculation::kNgram, Speculation::kDraft}) {
    if (name == speculation_name(mode)) return mode;
  }
  return std::nullopt;
}

}  // namespace nucleus
