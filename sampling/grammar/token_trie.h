// A vocabulary's byte trie laid out flat, in depth-first order, for the token
// mask walk (token_mask.h). Each node is one byte below its parent; a refused
// byte skips the node's whole subtree with one jump (`subtree_end`), and the
// tokens that end at a node are a run of `terminals`.
//
// Why flat: a mask over a JSON string body accepts nearly every token, so the
// walk visits all ~100k trie edges of a 49k-token vocabulary. Walking the
// sorted token strings with a loop per token mispredicts a branch at almost
// every token end; one loop over nodes in memory order does not, and reads
// the nodes sequentially.
#pragma once

#include <cstdint>
#include <vector>

#include "sampling/sorted_vocabulary.h"

namespace nucleus::grammar {

struct TokenTrie {
  struct Node {
    uint32_t subtree_end;     // index of the first node after this node's subtree
    uint32_t terminal_begin;  // this node's tokens: terminals[terminal_begin, next node's terminal_begin)
    uint16_t depth;           // bytes above this node (0: a child of the root)
    uint8_t byte;
  };

  std::vector<Node> nodes;         // plus one sentinel at the end (for terminal_begin)
  std::vector<int32_t> terminals;  // token ids
  size_t max_depth = 0;            // the longest token's bytes

  static TokenTrie build(const sampling::SortedVocabulary& sorted);
  size_t size() const { return nodes.empty() ? 0 : nodes.size() - 1; }
};

}  // namespace nucleus::grammar
