#include "text/tokenizer.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <limits>

#include "text/pretokenizer.h"
#include "text/tokenizer_bpe.h"
#include "text/tokenizer_spm.h"
#include "text/unicode_utf8.h"

namespace nucleus {

namespace {

constexpr std::string_view kSpmSpace = "\xE2\x96\x81";  // U+2581 "▁", SentencePiece's space

// Control tokens that end a turn or the text, besides the declared EOS/EOT.
constexpr std::array<std::string_view, 7> kEndOfGenerationNames = {
    "<|im_end|>", "<|eot_id|>", "<|eom_id|>", "<end_of_turn>", "<|end|>", "<|endoftext|>", "<|end_of_text|>"};
constexpr std::array<std::string_view, 4> kEndOfTurnNames = {"<|im_end|>", "<|eot_id|>", "<end_of_turn>", "<|end|>"};

std::string replace_all(std::string_view text, std::string_view from, std::string_view to) {
  std::string out;
  out.reserve(text.size() + text.size() / 4);
  size_t i = 0;
  while (true) {
    const size_t hit = text.find(from, i);
    if (hit == std::string_view::npos) break;
    out.append(text.substr(i, hit - i));
    out.append(to);
    i = hit + from.size();
  }
  out.append(text.substr(i));
  return out;
}

// "<0x41>" -> 0x41; -1 if `text` is not of that form.
int parse_byte_token(std::string_view text) {
  if (text.size() != 6 || text.substr(0, 3) != "<0x" || text[5] != '>') return -1;
  int value = 0;
  for (char c : text.substr(3, 2)) {
    value *= 16;
    if (c >= '0' && c <= '9') value += c - '0';
    else if (c >= 'A' && c <= 'F') value += c - 'A' + 10;
    else if (c >= 'a' && c <= 'f') value += c - 'a' + 10;
    else return -1;
  }
  return value;
}

}  // namespace

struct Tokenizer::Impl {
  TokenizerVocab vocab;
  TokenTextMap text_to_id;
  std::vector<std::string> pieces;  // [n_vocab] decoded bytes of each token
  std::vector<int32_t> end_of_generation;
  // Special tokens by first byte, longest first, for leftmost-longest matching.
  std::array<std::vector<int32_t>, 256> specials_by_first_byte;
  std::unique_ptr<PreTokenizer> pre;  // BPE only
  std::unique_ptr<BpeModel> bpe;
  std::unique_ptr<SpmModel> spm;

  TokenType type(int32_t id) const { return vocab.types.empty() ? TokenType::kNormal : vocab.types[id]; }

  [[noreturn]] void fail(const std::string& what) const { throw TokenizerError(vocab.source + ": " + what); }

  void validate_and_index();
  void build_pieces();
  void encode_text(std::string_view text, bool* prev_special, std::vector<int32_t>& out) const;
  // Index of the special token that starts at text[pos] (longest wins), -1 if none.
  int32_t special_at(std::string_view text, size_t pos) const;
};

void Tokenizer::Impl::validate_and_index() {
  const size_t n = vocab.tokens.size();
  if (n == 0) fail("tokenizer.ggml.tokens is empty");
  if (n > static_cast<size_t>(std::numeric_limits<int32_t>::max())) fail("tokenizer.ggml.tokens has too many tokens");
  if (!vocab.scores.empty() && vocab.scores.size() != n) {
    fail("tokenizer.ggml.scores has " + std::to_string(vocab.scores.size()) + " entries but tokenizer.ggml.tokens has " +
         std::to_string(n));
  }
  if (!vocab.types.empty() && vocab.types.size() != n) {
    fail("tokenizer.ggml.token_type has " + std::to_string(vocab.types.size()) +
         " entries but tokenizer.ggml.tokens has " + std::to_string(n));
  }
  for (size_t i = 0; i < vocab.types.size(); ++i) {
    const auto t = static_cast<int32_t>(vocab.types[i]);
    if (t < 0 || t > static_cast<int32_t>(TokenType::kByte)) {
      fail("tokenizer.ggml.token_type[" + std::to_string(i) + "] = " + std::to_string(t) + " is not a token type (0..6)");
    }
  }
  auto check_id = [&](int32_t& id, const char* key, bool required_in_range) {
    if (id == -1 || (id >= 0 && static_cast<size_t>(id) < n)) return;
    if (required_in_range) {
      fail(std::string(key) + " = " + std::to_string(id) + " is outside the vocabulary (" + std::to_string(n) + " tokens)");
    }
    spdlog::warn("{}: {} = {} is outside the vocabulary ({} tokens); ignored", vocab.source, key, id, n);
    id = -1;
  };
  check_id(vocab.bos_id, "tokenizer.ggml.bos_token_id", true);
  check_id(vocab.eos_id, "tokenizer.ggml.eos_token_id", true);
  check_id(vocab.eot_id, "tokenizer.ggml.eot_token_id", true);
  check_id(vocab.unk_id, "tokenizer.ggml.unknown_token_id", true);
  check_id(vocab.pad_id, "tokenizer.ggml.padding_token_id", false);
  if (vocab.add_bos && vocab.bos_id < 0) fail("tokenizer.ggml.add_bos_token is true but there is no bos_token_id");
  if (vocab.add_eos && vocab.eos_id < 0) fail("tokenizer.ggml.add_eos_token is true but there is no eos_token_id");

  text_to_id.reserve(n);
  for (size_t i = 0; i < n; ++i) text_to_id.try_emplace(vocab.tokens[i], static_cast<int32_t>(i));  // first id wins

  for (size_t i = 0; i < n; ++i) {
    const TokenType t = type(static_cast<int32_t>(i));
    if ((t == TokenType::kControl || t == TokenType::kUserDefined) && !vocab.tokens[i].empty()) {
      specials_by_first_byte[static_cast<uint8_t>(vocab.tokens[i][0])].push_back(static_cast<int32_t>(i));
    }
  }
  for (auto& list : specials_by_first_byte) {
    std::stable_sort(list.begin(), list.end(),
                     [&](int32_t a, int32_t b) { return vocab.tokens[a].size() > vocab.tokens[b].size(); });
  }

  auto control_named = [&](std::string_view name) {
    auto it = text_to_id.find(name);
    return it != text_to_id.end() && type(it->second) == TokenType::kControl ? it->second : -1;
  };
  if (vocab.eot_id < 0) {
    for (std::string_view name : kEndOfTurnNames) {
      if (int32_t id = control_named(name); id >= 0) {
        vocab.eot_id = id;
        break;
      }
    }
  }
  auto add_eog = [&](int32_t id) {
    if (id >= 0 && std::find(end_of_generation.begin(), end_of_generation.end(), id) == end_of_generation.end()) {
      end_of_generation.push_back(id);
    }
  };
  add_eog(vocab.eos_id);
  add_eog(vocab.eot_id);
  for (std::string_view name : kEndOfGenerationNames) add_eog(control_named(name));
}

void Tokenizer::Impl::build_pieces() {
  pieces.resize(vocab.tokens.size());
  for (size_t i = 0; i < vocab.tokens.size(); ++i) {
    const std::string& text = vocab.tokens[i];
    const TokenType t = type(static_cast<int32_t>(i));
    std::string& piece = pieces[i];
    if (t == TokenType::kControl || t == TokenType::kUnknown) {
      piece = text;  // printed verbatim unless skip_special_tokens
    } else if (t == TokenType::kUnused) {
      piece.clear();
    } else if (vocab.model == TokenizerModelKind::kBpe) {
      // Byte-level text -> raw bytes; user-defined tokens may be plain text.
      if (!unicode::byte_level_to_bytes(text, piece)) piece = text;
    } else if (t == TokenType::kByte && parse_byte_token(text) >= 0) {
      piece.assign(1, static_cast<char>(parse_byte_token(text)));
    } else {
      piece = replace_all(text, kSpmSpace, " ");
    }
  }
}

int32_t Tokenizer::Impl::special_at(std::string_view text, size_t pos) const {
  for (int32_t id : specials_by_first_byte[static_cast<uint8_t>(text[pos])]) {
    const std::string& s = vocab.tokens[id];
    if (text.compare(pos, s.size(), s) == 0) return id;
  }
  return -1;
}

void Tokenizer::Impl::encode_text(std::string_view text, bool* prev_special, std::vector<int32_t>& out) const {
  if (text.empty()) return;
  if (bpe) {
    thread_local std::vector<TextSpan> words;
    pre->split(text, words);
    for (const TextSpan& w : words) bpe->encode_word(text.substr(w.offset, w.length), out);
  } else {
    // llama.cpp: the space prefix goes before the first text and after each special token.
    std::string escaped;
    if (vocab.add_space_prefix && *prev_special) escaped = kSpmSpace;
    escaped += replace_all(text, " ", kSpmSpace);
    spm->encode(escaped, out);
  }
  *prev_special = false;
}

Tokenizer::Tokenizer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Tokenizer::Tokenizer(Tokenizer&&) noexcept = default;
Tokenizer& Tokenizer::operator=(Tokenizer&&) noexcept = default;
Tokenizer::~Tokenizer() = default;

Tokenizer Tokenizer::from_vocab(TokenizerVocab vocab) {
  auto impl = std::make_unique<Impl>();
  impl->vocab = std::move(vocab);
  impl->validate_and_index();
  impl->build_pieces();
  const TokenizerVocab& v = impl->vocab;
  try {
    if (v.model == TokenizerModelKind::kBpe) {
      impl->pre = std::make_unique<PreTokenizer>(v.pre);
      impl->bpe = std::make_unique<BpeModel>(v, impl->text_to_id);
      if (impl->bpe->skipped_merges() > 0) {
        spdlog::warn("{}: {} of {} BPE merges name tokens that are not in the vocabulary; skipped", v.source,
                     impl->bpe->skipped_merges(), v.merges.size());
      }
      if (impl->bpe->missing_bytes() > 0) {
        // SmolLM2 lacks 21 control bytes; HF and llama.cpp drop them too.
        spdlog::debug("{}: {} bytes have no byte-level token and are dropped when encoding", v.source,
                      impl->bpe->missing_bytes());
      }
    } else {
      impl->spm = std::make_unique<SpmModel>(impl->vocab, impl->text_to_id);
    }
  } catch (const TokenizerError&) {
    throw;
  } catch (const std::exception& e) {
    throw TokenizerError(e.what());
  }
  return Tokenizer(std::move(impl));
}

std::vector<int32_t> Tokenizer::encode(std::string_view text, EncodeOptions options) const {
  if (text.size() >= std::numeric_limits<uint32_t>::max()) {
    throw TokenizerError("tokenizer: text of " + std::to_string(text.size()) + " bytes is too long (limit 4 GiB)");
  }
  const TokenizerVocab& v = impl_->vocab;
  std::vector<int32_t> out;
  out.reserve(text.size() / 3 + 4);
  if (options.add_special && v.add_bos) out.push_back(v.bos_id);
  bool prev_special = true;
  if (!options.parse_special) {
    impl_->encode_text(text, &prev_special, out);
  } else {
    size_t start = 0;  // beginning of the pending plain-text fragment
    for (size_t pos = 0; pos < text.size();) {
      const int32_t id = impl_->special_at(text, pos);
      if (id < 0) {
        ++pos;
        continue;
      }
      impl_->encode_text(text.substr(start, pos - start), &prev_special, out);
      out.push_back(id);
      prev_special = true;
      pos += v.tokens[id].size();
      start = pos;
    }
    impl_->encode_text(text.substr(start), &prev_special, out);
  }
  if (options.add_special && v.add_eos) out.push_back(v.eos_id);
  return out;
}

std::string Tokenizer::decode(std::span<const int32_t> ids, DecodeOptions options) const {
  std::string bytes;
  bool first = true;
  for (int32_t id : ids) {
    const std::string& piece = token_to_piece(id);  // range-checked
    const TokenType t = impl_->type(id);
    if (options.skip_special_tokens && (t == TokenType::kControl || t == TokenType::kUnknown)) continue;
    if (first && strips_leading_space() && !piece.empty() && piece[0] == ' ') {
      bytes.append(piece, 1);
    } else {
      bytes += piece;
    }
    if (!piece.empty()) first = false;
  }
  return unicode::to_valid_utf8(bytes);
}

int32_t Tokenizer::vocab_size() const { return static_cast<int32_t>(impl_->vocab.tokens.size()); }
int32_t Tokenizer::bos_id() const { return impl_->vocab.bos_id; }
int32_t Tokenizer::eos_id() const { return impl_->vocab.eos_id; }
int32_t Tokenizer::eot_id() const { return impl_->vocab.eot_id; }
int32_t Tokenizer::unk_id() const { return impl_->vocab.unk_id; }
int32_t Tokenizer::pad_id() const { return impl_->vocab.pad_id; }
bool Tokenizer::add_bos() const { return impl_->vocab.add_bos; }
bool Tokenizer::add_eos() const { return impl_->vocab.add_eos; }
const std::vector<int32_t>& Tokenizer::end_of_generation_ids() const { return impl_->end_of_generation; }
bool Tokenizer::is_end_of_generation(int32_t id) const {
  const auto& eog = impl_->end_of_generation;
  return std::find(eog.begin(), eog.end(), id) != eog.end();
}
TokenizerModelKind Tokenizer::model_kind() const { return impl_->vocab.model; }
PreTokenizerKind Tokenizer::pre_tokenizer_kind() const { return impl_->vocab.pre; }

TokenType Tokenizer::token_type(int32_t id) const {
  if (!is_valid_id(id)) {
    throw TokenizerError("token id " + std::to_string(id) + " is outside the vocabulary (" +
                         std::to_string(vocab_size()) + " tokens)");
  }
  return impl_->type(id);
}
bool Tokenizer::is_control(int32_t id) const { return token_type(id) == TokenType::kControl; }
bool Tokenizer::is_special(int32_t id) const {
  const TokenType t = token_type(id);
  return t == TokenType::kControl || t == TokenType::kUserDefined || t == TokenType::kUnknown;
}
const std::string& Tokenizer::token_text(int32_t id) const {
  token_type(id);  // range check
  return impl_->vocab.tokens[id];
}
const std::string& Tokenizer::token_to_piece(int32_t id) const {
  token_type(id);  // range check
  return impl_->pieces[id];
}
int32_t Tokenizer::token_to_id(std::string_view text) const {
  auto it = impl_->text_to_id.find(text);
  return it == impl_->text_to_id.end() ? -1 : it->second;
}
bool Tokenizer::strips_leading_space() const {
  return impl_->vocab.model == TokenizerModelKind::kSpm && impl_->vocab.add_space_prefix;
}

bool parse_pre_tokenizer_name(std::string_view name, PreTokenizerKind* kind) {
  struct Entry {
    std::string_view name;
    PreTokenizerKind kind;
  };
  static constexpr Entry kNames[] = {
      {"default", PreTokenizerKind::kGpt2},   {"gpt-2", PreTokenizerKind::kGpt2},
      {"gpt2", PreTokenizerKind::kGpt2},      {"phi-2", PreTokenizerKind::kGpt2},
      {"smollm", PreTokenizerKind::kSmollm},  {"starcoder", PreTokenizerKind::kSmollm},
      {"refact", PreTokenizerKind::kSmollm},  {"llama-bpe", PreTokenizerKind::kLlama3},
      {"llama3", PreTokenizerKind::kLlama3},  {"qwen2", PreTokenizerKind::kQwen2},
      {"deepseek-r1-qwen", PreTokenizerKind::kQwen2},
  };
  for (const Entry& e : kNames) {
    if (e.name == name) {
      *kind = e.kind;
      return true;
    }
  }
  return false;
}

}  // namespace nucleus
