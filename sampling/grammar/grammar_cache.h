// Compiled grammars by their source text: a small thread-safe LRU, so a
// client that sends the same schema with every request compiles it once (and
// keeps its automaton and cached masks warm). Compilation runs outside the lock;
// two threads missing on the same text may both compile it, and one result wins.
#pragma once

#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "sampling/grammar/compiled_grammar.h"

namespace nucleus::grammar {

enum class GrammarKind : uint8_t { kJsonSchema, kRegex, kChoice, kGbnf };

class GrammarCache {
 public:
  explicit GrammarCache(size_t capacity = 64) : capacity_(capacity) {}

  // The compiled grammar for `source`: a JSON Schema as JSON text, a regex,
  // a choice as a JSON array of strings, or GBNF. Throws GrammarError (not cached).
  std::shared_ptr<const CompiledGrammar> get(GrammarKind kind, std::string_view source);

  size_t size() const;
  uint64_t hits() const;
  uint64_t misses() const;

 private:
  using Entry = std::pair<std::string, std::shared_ptr<const CompiledGrammar>>;

  const size_t capacity_;
  mutable std::mutex mu_;
  std::list<Entry> lru_;  // most recent first
  std::unordered_map<std::string, std::list<Entry>::iterator> index_;
  uint64_t hits_ = 0, misses_ = 0;
};

// The compilers behind GrammarCache::get, by kind.
std::shared_ptr<const CompiledGrammar> compile_grammar(GrammarKind kind, std::string_view source);

}  // namespace nucleus::grammar
