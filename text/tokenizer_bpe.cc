#include "text/tokenizer_bpe.h"

#include <algorithm>
#include <mutex>
#include <shared_mutex>
#include <stdexcept>

#include "text/unicode_utf8.h"

namespace nucleus {

// (left id, right id) -> (rank, merged id), open addressing with linear probing.
struct BpeModel::MergeTable {
  struct Slot {
    uint64_t key = kEmpty;
    int32_t rank = 0;
    int32_t merged = 0;
  };
  static constexpr uint64_t kEmpty = ~uint64_t{0};

  std::vector<Slot> slots;
  uint64_t mask = 0;

  explicit MergeTable(size_t n) {
    size_t capacity = 16;
    while (capacity < n * 2) capacity *= 2;  // load factor <= 0.5
    slots.resize(capacity);
    mask = capacity - 1;
  }
  static uint64_t key_of(int32_t left, int32_t right) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) | static_cast<uint32_t>(right);
  }
  static uint64_t hash(uint64_t key) { return (key * 0x9E3779B97F4A7C15ull) >> 17; }

  // Keeps the first (lowest-rank) entry for a pair.
  void insert(int32_t left, int32_t right, int32_t rank, int32_t merged) {
    const uint64_t key = key_of(left, right);
    for (uint64_t i = hash(key) & mask;; i = (i + 1) & mask) {
      if (slots[i].key == key) return;
      if (slots[i].key == kEmpty) {
        slots[i] = {key, rank, merged};
        return;
      }
    }
  }
  const Slot* find(int32_t left, int32_t right) const {
    const uint64_t key = key_of(left, right);
    for (uint64_t i = hash(key) & mask;; i = (i + 1) & mask) {
      if (slots[i].key == key) return &slots[i];
      if (slots[i].key == kEmpty) return nullptr;
    }
  }
};

// Finished words, shared by all threads. Bounded: cleared when full.
struct BpeModel::WordCache {
  static constexpr size_t kMaxEntries = 1 << 17;
  static constexpr size_t kMaxWordBytes = 256;  // longer words are rare and not worth the memory
  mutable std::shared_mutex mutex;
  std::unordered_map<std::string, std::vector<int32_t>, StringHash, std::equal_to<>> words;

  bool lookup(std::string_view word, std::vector<int32_t>& out) const {
    std::shared_lock lock(mutex);
    auto it = words.find(word);
    if (it == words.end()) return false;
    out.insert(out.end(), it->second.begin(), it->second.end());
    return true;
  }
  void store(std::string_view word, const int32_t* ids, size_t n) {
    std::unique_lock lock(mutex);
    if (words.size() >= kMaxEntries) words.clear();
    words.try_emplace(std::string(word), ids, ids + n);
  }
};

BpeModel::BpeModel(const TokenizerVocab& vocab, const TokenTextMap& text_to_id)
    : ignore_merges_(vocab.pre == PreTokenizerKind::kLlama3), cache_(std::make_unique<WordCache>()) {
  const auto& alphabet = unicode::byte_to_codepoint();
  for (int b = 0; b < 256; ++b) {
    std::string text;
    unicode::append_utf8(alphabet[b], text);
    auto it = text_to_id.find(text);
    byte_ids_[b] = it == text_to_id.end() ? -1 : it->second;
    if (byte_ids_[b] < 0) ++missing_bytes_;
  }

  merges_ = std::make_unique<MergeTable>(vocab.merges.size());
  std::string joined;
  for (size_t rank = 0; rank < vocab.merges.size(); ++rank) {
    const std::string& merge = vocab.merges[rank];
    // "left right"; the separator is the first space that is not the first character
    // (byte-level text never contains a plain space, so this is unambiguous).
    const size_t space = merge.find(' ', 1);
    if (space == std::string::npos || space + 1 >= merge.size()) {
      throw std::runtime_error(vocab.source + ": tokenizer.ggml.merges[" + std::to_string(rank) + "] = \"" + merge +
                               "\" is not of the form \"left right\"");
    }
    const std::string_view left(merge.data(), space);
    const std::string_view right(merge.data() + space + 1, merge.size() - space - 1);
    joined.assign(left);
    joined.append(right);
    auto l = text_to_id.find(left), r = text_to_id.find(right), m = text_to_id.find(std::string_view(joined));
    if (l == text_to_id.end() || r == text_to_id.end() || m == text_to_id.end()) {
      ++skipped_merges_;
      continue;
    }
    merges_->insert(l->second, r->second, static_cast<int32_t>(rank), m->second);
  }

  if (ignore_merges_) {
    for (const auto& [text, id] : text_to_id) {
      std::string raw;
      if (unicode::byte_level_to_bytes(text, raw)) raw_to_id_.try_emplace(std::move(raw), id);
    }
  }
}

BpeModel::~BpeModel() = default;

void BpeModel::encode_word(std::string_view word, std::vector<int32_t>& out) const {
  if (word.empty()) return;
  if (ignore_merges_) {
    auto it = raw_to_id_.find(word);
    if (it != raw_to_id_.end()) {
      out.push_back(it->second);
      return;
    }
  }
  const bool cacheable = word.size() <= WordCache::kMaxWordBytes;
  if (cacheable && cache_->lookup(word, out)) return;
  const size_t before = out.size();
  merge_word(word, out);
  if (cacheable) cache_->store(word, out.data() + before, out.size() - before);
}

namespace {

struct Symbol {
  int32_t id;
  int32_t prev;  // index, -1 at the start
  int32_t next;  // index, -1 at the end
};

// A candidate merge of symbols[left] and symbols[right]; stale once either changed.
struct Candidate {
  int32_t rank;
  int32_t left;
  int32_t right;
  int32_t left_id;
  int32_t right_id;
  int32_t merged;
};

// Heap order: lowest rank first, then leftmost.
struct CandidateAfter {
  bool operator()(const Candidate& a, const Candidate& b) const {
    return a.rank != b.rank ? a.rank > b.rank : a.left > b.left;
  }
};

}  // namespace

void BpeModel::merge_word(std::string_view word, std::vector<int32_t>& out) const {
  thread_local std::vector<Symbol> symbols;
  thread_local std::vector<Candidate> heap;
  symbols.clear();
  heap.clear();

  for (char c : word) {
    // A byte without a token is dropped, as HF and llama.cpp do (warned at load).
    const int32_t id = byte_ids_[static_cast<uint8_t>(c)];
    if (id < 0) continue;
    const auto index = static_cast<int32_t>(symbols.size());
    symbols.push_back({id, index - 1, -1});
    if (index > 0) symbols[index - 1].next = index;
  }

  auto push_candidate = [&](int32_t left, int32_t right) {
    if (left < 0 || right < 0) return;
    const MergeTable::Slot* slot = merges_->find(symbols[left].id, symbols[right].id);
    if (!slot) return;
    heap.push_back({slot->rank, left, right, symbols[left].id, symbols[right].id, slot->merged});
    std::push_heap(heap.begin(), heap.end(), CandidateAfter{});
  };
  for (int32_t i = 0; i + 1 < static_cast<int32_t>(symbols.size()); ++i) push_candidate(i, i + 1);

  while (!heap.empty()) {
    std::pop_heap(heap.begin(), heap.end(), CandidateAfter{});
    const Candidate c = heap.back();
    heap.pop_back();
    Symbol& left = symbols[c.left];
    Symbol& right = symbols[c.right];
    // Merged-away symbols get id -1, so a stale candidate fails one of these checks.
    if (left.id != c.left_id || right.id != c.right_id || left.next != c.right) continue;
    left.id = c.merged;
    left.next = right.next;
    if (right.next >= 0) symbols[right.next].prev = c.left;
    right.id = -1;
    push_candidate(left.prev, c.left);
    push_candidate(c.left, left.next);
  }

  for (int32_t i = symbols.empty() ? -1 : 0; i >= 0; i = symbols[i].next) out.push_back(symbols[i].id);
}

}  // namespace nucleus
