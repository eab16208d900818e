#include "sampling/grammar/grammar_cache.h"

#include <nlohmann/json.hpp>

#include "sampling/grammar/choice.h"
#include "sampling/grammar/gbnf.h"
#include "sampling/grammar/grammar_error.h"
#include "sampling/grammar/json_schema.h"
#include "sampling/grammar/regex.h"

namespace nucleus::grammar {

std::shared_ptr<const CompiledGrammar> compile_grammar(GrammarKind kind, std::string_view source) {
  switch (kind) {
    case GrammarKind::kJsonSchema:
      return compile_json_schema(source);
    case GrammarKind::kRegex:
      return compile_regex(source);
    case GrammarKind::kGbnf:
      return compile_gbnf(source);
    case GrammarKind::kChoice: {
      nlohmann::json list;
      try {
        list = nlohmann::json::parse(source);
      } catch (const nlohmann::json::parse_error&) {
        throw GrammarError("choice: not a JSON array of strings");
      }
      if (!list.is_array()) throw GrammarError("choice: not a JSON array of strings");
      std::vector<std::string> options;
      for (const auto& v : list) {
        if (!v.is_string()) throw GrammarError("choice: every option must be a string");
        options.push_back(v.get<std::string>());
      }
      return compile_choice(options);
    }
  }
  throw GrammarError("unknown grammar kind");
}

std::shared_ptr<const CompiledGrammar> GrammarCache::get(GrammarKind kind, std::string_view source) {
  std::string key(1, static_cast<char>('0' + static_cast<int>(kind)));
  key += source;
  {
    std::lock_guard lock(mu_);
    auto it = index_.find(key);
    if (it != index_.end()) {
      lru_.splice(lru_.begin(), lru_, it->second);
      ++hits_;
      return it->second->second;
    }
    ++misses_;
  }
  auto compiled = compile_grammar(kind, source);
  std::lock_guard lock(mu_);
  auto it = index_.find(key);
  if (it != index_.end()) return it->second->second;
  lru_.emplace_front(key, compiled);
  index_.emplace(std::move(key), lru_.begin());
  while (lru_.size() > capacity_) {
    index_.erase(lru_.back().first);
    lru_.pop_back();
  }
  return compiled;
}

size_t GrammarCache::size() const {
  std::lock_guard lock(mu_);
  return lru_.size();
}

uint64_t GrammarCache::hits() const {
  std::lock_guard lock(mu_);
  return hits_;
}

uint64_t GrammarCache::misses() const {
  std::lock_guard lock(mu_);
  return misses_;
}

}  // namespace nucleus::grammar
