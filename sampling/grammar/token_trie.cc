#include "sampling/grammar/token_trie.h"

#include <stdexcept>

namespace nucleus::grammar {

TokenTrie TokenTrie::build(const sampling::SortedVocabulary& sorted) {
  if (sorted.max_len > UINT16_MAX) throw std::invalid_argument("token of more than 65535 bytes");
  TokenTrie t;
  t.max_depth = sorted.max_len;
  // open[d]: the node at depth d on the path of the previous token; its
  // subtree ends when a later token leaves that path.
  std::vector<uint32_t> open;
  for (size_t k = 0; k < sorted.ids.size(); ++k) {
    const std::string& b = sorted.bytes[k];
    const size_t common = std::min<size_t>(sorted.lcp[k], b.size());
    while (open.size() > common) {
      t.nodes[open.back()].subtree_end = static_cast<uint32_t>(t.nodes.size());
      open.pop_back();
    }
    for (size_t d = common; d < b.size(); ++d) {
      open.push_back(static_cast<uint32_t>(t.nodes.size()));
      t.nodes.push_back(Node{0, static_cast<uint32_t>(t.terminals.size()), static_cast<uint16_t>(d),
                             static_cast<uint8_t>(b[d])});
    }
    // Sorted order puts a token right after its prefixes, so it ends at the
    // deepest open node (a duplicate byte string ends at the same node).
    t.terminals.push_back(sorted.ids[k]);
  }
  const auto end = static_cast<uint32_t>(t.nodes.size());
  for (uint32_t n : open) t.nodes[n].subtree_end = end;
  t.nodes.push_back(Node{end, static_cast<uint32_t>(t.terminals.size()), 0, 0});
  return t;
}

}  // namespace nucleus::grammar
