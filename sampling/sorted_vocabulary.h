// A vocabulary's token byte strings sorted, each with the length of the prefix
// it shares with the one before. Walking them in this order is a walk of the
// byte trie: consecutive tokens share the work of their common prefix, and
// once a prefix is refused every token under it is skipped. The token masks of
// JSON mode (engine/json_token_mask.h) and of grammars (grammar/token_mask.h)
// both walk it.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

namespace nucleus::sampling {

struct SortedVocabulary {
  std::vector<int32_t> ids;         // the tokens, sorted by their bytes (then by id)
  std::vector<std::string> bytes;   // bytes[k]: the bytes of ids[k]
  std::vector<uint32_t> lcp;        // lcp[k]: bytes that bytes[k] shares with bytes[k - 1] (0 for k = 0)
  size_t max_len = 0;               // the longest token's bytes

  // `piece(id)`: the bytes of token `id`, for each id of `ids` (any order).
  template <typename PieceOf>
  static SortedVocabulary build(std::vector<int32_t> ids, PieceOf&& piece) {
    std::sort(ids.begin(), ids.end(), [&](int32_t a, int32_t b) {
      const std::string& pa = piece(a);
      const std::string& pb = piece(b);
      return pa != pb ? pa < pb : a < b;
    });
    SortedVocabulary v;
    v.bytes.reserve(ids.size());
    v.lcp.reserve(ids.size());
    for (size_t k = 0; k < ids.size(); ++k) {
      v.bytes.push_back(piece(ids[k]));
      v.max_len = std::max(v.max_len, v.bytes.back().size());
      uint32_t common = 0;
      if (k > 0) {
        const std::string& a = v.bytes[k - 1];
        const std::string& b = v.bytes[k];
        while (common < a.size() && common < b.size() && a[common] == b[common]) ++common;
      }
      v.lcp.push_back(common);
    }
    v.ids = std::move(ids);
    return v;
  }
};

}  // namespace nucleus::sampling
