#define PCRE2_CODE_UNIT_WIDTH 8
#include "text/pretokenizer.h"

#include <pcre2.h>

#include <algorithm>
#include <stdexcept>

#include "text/unicode_utf8.h"

namespace nucleus {

namespace {

// GPT-2 (openai/gpt-2 encoder.py, HF ByteLevel). HF adds the final `|\s+`;
// llama.cpp leaves it out and keeps the unmatched whitespace as a gap piece,
// which splits the same way.
constexpr const char* kGpt2 = R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";
// Llama 3 (tiktoken cl100k style).
constexpr const char* kLlama3 =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr const char* kQwen2 =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr const char* kEachDigit = R"(\p{N})";

struct MatchDataDeleter {
  void operator()(pcre2_match_data* m) const { pcre2_match_data_free(m); }
};
struct JitStackDeleter {
  void operator()(pcre2_jit_stack* s) const { pcre2_jit_stack_free(s); }
};
struct MatchContextDeleter {
  void operator()(pcre2_match_context* c) const { pcre2_match_context_free(c); }
};

// Per-thread scratch shared by every regex: one ovector pair is all we read.
struct ThreadScratch {
  std::unique_ptr<pcre2_match_data, MatchDataDeleter> match{pcre2_match_data_create(1, nullptr)};
  // Long whitespace runs backtrack; a 1 MiB JIT stack keeps them off the limit.
  std::unique_ptr<pcre2_jit_stack, JitStackDeleter> stack{pcre2_jit_stack_create(32 * 1024, 1024 * 1024, nullptr)};
  std::unique_ptr<pcre2_match_context, MatchContextDeleter> context{[this] {
    pcre2_match_context* c = pcre2_match_context_create(nullptr);
    if (c && stack) pcre2_jit_stack_assign(c, nullptr, stack.get());
    return c;
  }()};
  std::vector<TextSpan> swap;  // the previous stage's pieces
};

ThreadScratch& scratch() {
  thread_local ThreadScratch s;
  return s;
}

}  // namespace

struct PreTokenizer::Regex {
  pcre2_code* code = nullptr;
  bool jit = false;
  ~Regex() { pcre2_code_free(code); }
};

std::vector<std::string> PreTokenizer::patterns(PreTokenizerKind kind) {
  switch (kind) {
    case PreTokenizerKind::kGpt2: return {kGpt2};
    case PreTokenizerKind::kSmollm: return {kEachDigit, kGpt2};
    case PreTokenizerKind::kLlama3: return {kLlama3};
    case PreTokenizerKind::kQwen2: return {kQwen2};
  }
  return {kGpt2};
}

PreTokenizer::PreTokenizer(PreTokenizerKind kind) {
  for (const std::string& pattern : patterns(kind)) {
    auto regex = std::make_unique<Regex>();
    int error = 0;
    PCRE2_SIZE error_offset = 0;
    regex->code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.c_str()), pattern.size(),
                                PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF, &error, &error_offset, nullptr);
    if (!regex->code) {
      PCRE2_UCHAR message[256];
      pcre2_get_error_message(error, message, sizeof(message));
      throw std::runtime_error("pre-tokenizer regex /" + pattern + "/ does not compile at offset " +
                               std::to_string(error_offset) + ": " + reinterpret_cast<char*>(message));
    }
    regex->jit = pcre2_jit_compile(regex->code, PCRE2_JIT_COMPLETE) == 0;
    regexes_.push_back(std::move(regex));
  }
}

PreTokenizer::~PreTokenizer() = default;
PreTokenizer::PreTokenizer(PreTokenizer&&) noexcept = default;
PreTokenizer& PreTokenizer::operator=(PreTokenizer&&) noexcept = default;

void PreTokenizer::split(std::string_view text, std::vector<TextSpan>& pieces) const {
  ThreadScratch& s = scratch();
  if (!s.match) throw std::runtime_error("pre-tokenizer: out of memory for PCRE2 match data");
  pieces.clear();
  if (text.empty()) return;
  pieces.push_back({0, static_cast<uint32_t>(text.size())});
  const auto* subject_base = reinterpret_cast<PCRE2_SPTR>(text.data());

  for (const auto& regex : regexes_) {
    s.swap.swap(pieces);
    pieces.clear();
    for (const TextSpan& piece : s.swap) {
      // Each piece is its own subject, so lookarounds cannot see past it.
      PCRE2_SPTR subject = subject_base + piece.offset;
      const PCRE2_SIZE length = piece.length;
      PCRE2_SIZE start = 0;  // where the next search begins
      PCRE2_SIZE emitted = 0;  // end of the last piece pushed
      while (start < length) {
        const int rc = regex->jit ? pcre2_jit_match(regex->code, subject, length, start, 0, s.match.get(), s.context.get())
                                  : pcre2_match(regex->code, subject, length, start, 0, s.match.get(), s.context.get());
        if (rc == PCRE2_ERROR_NOMATCH) break;
        if (rc < 0) {
          PCRE2_UCHAR message[256];
          pcre2_get_error_message(rc, message, sizeof(message));
          throw std::runtime_error(std::string("pre-tokenizer: regex match failed: ") + reinterpret_cast<char*>(message));
        }
        const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(s.match.get());
        PCRE2_SIZE begin = ov[0], end = ov[1];
        if (end == begin) {  // none of our patterns matches empty; guard against looping anyway
          start = end + std::min<PCRE2_SIZE>(unicode::utf8_sequence_length(subject[end]), length - end);
          continue;
        }
        if (begin > emitted) pieces.push_back({static_cast<uint32_t>(piece.offset + emitted), static_cast<uint32_t>(begin - emitted)});
        pieces.push_back({static_cast<uint32_t>(piece.offset + begin), static_cast<uint32_t>(end - begin)});
        emitted = start = end;
      }
      if (emitted < length) pieces.push_back({static_cast<uint32_t>(piece.offset + emitted), static_cast<uint32_t>(length - emitted)});
    }
  }
}

}  // namespace nucleus
