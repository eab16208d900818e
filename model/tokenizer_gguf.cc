// tokenizer_from_gguf: reads the tokenizer.ggml.* keys of a GGUF file into a
// TokenizerVocab. The only tokenizer file that knows about GGUF.
//
// Unknown `tokenizer.ggml.pre` values are an error at load (a wrong split
// regex silently changes every token). A missing key falls back to the GPT-2
// regex with a warning, as llama.cpp does for old conversions.
#include <spdlog/spdlog.h>

#include <limits>

#include "model/tokenizer_gguf.h"

namespace nucleus {

namespace {

int32_t optional_id(const GgufFile& file, std::string_view key) {
  if (!file.has(key)) return -1;
  const int64_t id = file.get_i64(key);
  if (id < -1 || id > std::numeric_limits<int32_t>::max()) {
    file.fail(std::string(key) + " = " + std::to_string(id) + " is not a token id");
  }
  return static_cast<int32_t>(id);
}

}  // namespace

TokenizerVocab tokenizer_vocab_from_gguf(const GgufFile& file) {
  TokenizerVocab vocab;
  vocab.source = file.path();
  const std::string model = file.get_string("tokenizer.ggml.model");
  if (model == "gpt2") {
    vocab.model = TokenizerModelKind::kBpe;
  } else if (model == "llama") {
    vocab.model = TokenizerModelKind::kSpm;
  } else {
    file.fail("tokenizer.ggml.model = \"" + model + "\" is not supported (supported: \"gpt2\", \"llama\")");
  }

  if (vocab.model == TokenizerModelKind::kBpe) {
    if (!file.has("tokenizer.ggml.pre")) {
      spdlog::warn("{}: no tokenizer.ggml.pre; using the default GPT-2 pre-tokenizer regex", file.path());
    } else {
      const std::string pre = file.get_string("tokenizer.ggml.pre");
      if (!parse_pre_tokenizer_name(pre, &vocab.pre)) {
        file.fail("tokenizer.ggml.pre = \"" + pre +
                  "\" is not a supported pre-tokenizer (supported: default, gpt-2, phi-2, smollm, starcoder, refact, "
                  "llama-bpe, llama3, qwen2, deepseek-r1-qwen)");
      }
    }
    vocab.merges = file.get_string_array("tokenizer.ggml.merges");
  }

  vocab.tokens = file.get_string_array("tokenizer.ggml.tokens");
  if (file.has("tokenizer.ggml.scores")) vocab.scores = file.get_f32_array("tokenizer.ggml.scores");
  if (file.has("tokenizer.ggml.token_type")) {
    for (int32_t t : file.get_i32_array("tokenizer.ggml.token_type")) vocab.types.push_back(static_cast<TokenType>(t));
  }
  vocab.bos_id = optional_id(file, "tokenizer.ggml.bos_token_id");
  vocab.eos_id = optional_id(file, "tokenizer.ggml.eos_token_id");
  vocab.eot_id = optional_id(file, "tokenizer.ggml.eot_token_id");
  vocab.unk_id = optional_id(file, "tokenizer.ggml.unknown_token_id");
  vocab.pad_id = optional_id(file, "tokenizer.ggml.padding_token_id");
  // llama.cpp's defaults: SPM adds BOS and a space prefix unless told otherwise.
  const bool spm = vocab.model == TokenizerModelKind::kSpm;
  vocab.add_bos = file.get_bool("tokenizer.ggml.add_bos_token", spm);
  vocab.add_eos = file.get_bool("tokenizer.ggml.add_eos_token", false);
  vocab.add_space_prefix = file.get_bool("tokenizer.ggml.add_space_prefix", spm);
  if (vocab.add_bos && vocab.bos_id < 0 && !file.has("tokenizer.ggml.add_bos_token")) vocab.add_bos = false;
  return vocab;
}

Tokenizer tokenizer_from_gguf(const GgufFile& file) { return Tokenizer::from_vocab(tokenizer_vocab_from_gguf(file)); }

}  // namespace nucleus
