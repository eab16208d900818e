// A tiny synthetic language model for engine tests: a random-weight llama
// (2 layers, n_embd 64) written in memory by GgufWriter, and a byte-level BPE
// tokenizer whose vocabulary matches the model's rows exactly:
//   ids 0..255    the 256 bytes (byte-level text, in byte order)
//   ids 256..     the merge results of kMerges
//   last id       "<|endoftext|>" (CONTROL), the EOS
// Everything is built in memory in a few milliseconds, so the engine suite
// needs no model file and runs in seconds.
//
//   test::TinyLm lm = test::make_tiny_lm();
//   Engine engine(*lm.model, *lm.tokenizer, test::tiny_options(lm, /*blocks=*/64));
//   test::Drained out = test::drain(*engine.submit(request));
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "engine/engine.h"
#include "model/gguf.h"
#include "model/kv_storage.h"
#include "model/model.h"
#include "text/tokenizer.h"
#include "text/unicode_utf8.h"
#include "tests/common/gguf_writer.h"

namespace nucleus::test {

// A few merges so that encode() produces multi-byte tokens ("Ġ" is the space).
inline const std::vector<std::string>& tiny_merges() {
  static const std::vector<std::string> merges = {"Ġ t", "h e", "Ġt he", "i n", "Ġ a", "e r", "o n", "Ġ s",
                                                  "r e", "a t", "e n", "Ġ o", "Ġ w", "o r", "a n", "Ġ c"};
  return merges;
}

struct TinyLm {
  std::unique_ptr<Model> model;
  std::unique_ptr<Tokenizer> tokenizer;
  int32_t eos = -1;
  int32_t vocab = 0;
};

inline TokenizerVocab tiny_vocab() {
  TokenizerVocab v;
  v.model = TokenizerModelKind::kBpe;
  v.pre = PreTokenizerKind::kGpt2;
  for (int b = 0; b < 256; ++b) v.tokens.push_back(unicode::bytes_to_byte_level(std::string(1, static_cast<char>(b))));
  for (const std::string& m : tiny_merges()) {
    const size_t space = m.find(' ', 1);
    v.tokens.push_back(m.substr(0, space) + m.substr(space + 1));
  }
  v.merges = tiny_merges();
  v.types.assign(v.tokens.size(), TokenType::kNormal);
  v.tokens.push_back("<|endoftext|>");
  v.types.push_back(TokenType::kControl);
  v.eos_id = static_cast<int32_t>(v.tokens.size()) - 1;
  v.source = "tiny test vocabulary";
  return v;
}

// `seed` varies the weights; the vocabulary is always the same. n_embd is 64:
// 4 heads of 16 by default, 2 of 32 for a cache of Q8_0 blocks of 32.
inline TinyLm make_tiny_lm(uint32_t seed = 7, int context_length = 512, int n_heads = 4, int n_kv_heads = 2) {
  TinyLm lm;
  TokenizerVocab vocab = tiny_vocab();
  lm.vocab = static_cast<int32_t>(vocab.tokens.size());
  lm.eos = vocab.eos_id;
  GgufWriter w;
  TinyModelSpec spec;
  spec.vocab_size = lm.vocab;
  spec.context_length = context_length;
  spec.seed = seed;
  spec.n_heads = n_heads;
  spec.n_kv_heads = n_kv_heads;
  spec.scale = 0.5f;  // peaky enough that sampling at temperature 1 is not uniform noise
  add_tiny_model(w, spec);
  lm.model = std::make_unique<Model>(GgufFile::from_memory("tiny.gguf", w.build()));
  lm.tokenizer = std::make_unique<Tokenizer>(Tokenizer::from_vocab(std::move(vocab)));
  return lm;
}

// Options with a KV pool of exactly `blocks` blocks of `block_size` tokens of `dtype`.
inline EngineOptions tiny_options(const TinyLm& lm, int64_t blocks, int block_size = 16,
                                  kernels::KvDtype dtype = kernels::kDefaultKvDtype) {
  EngineOptions o;
  o.threads = 1;
  o.block_size = block_size;
  o.kv_dtype = dtype;
  o.kv_cache_bytes = blocks * block_size * KvStorage::bytes_per_token(lm.model->config(), o.kv_dtype);
  o.max_batched_tokens = 64;
  return o;
}

// Everything a request produced, merged over its events.
struct Drained {
  std::map<int, std::vector<int32_t>> tokens;  // per sequence index
  std::map<int, std::string> text;
  std::map<int, FinishReason> finish;
  std::map<int, std::string> stop_reason;
  std::map<int, bool> stop_reason_is_token;
  Usage usage;
  std::string error;
  std::string error_param;  // RequestEvent::error_param
  int events = 0;
  bool done = false;
};

inline Drained drain(RequestHandle& handle, std::chrono::milliseconds timeout = std::chrono::milliseconds(60000)) {
  Drained out;
  while (true) {
    auto event = handle.next(timeout);
    if (!event) {
      ADD_FAILURE() << "no event within " << timeout.count() << " ms";
      return out;
    }
    ++out.events;
    for (const SequenceDelta& d : event->deltas) {
      out.tokens[d.index].insert(out.tokens[d.index].end(), d.tokens.begin(), d.tokens.end());
      out.text[d.index] += d.text;
      if (d.finish != FinishReason::kNone) {
        EXPECT_EQ(out.finish.count(d.index), 0u) << "sequence " << d.index << " finished twice";
        out.finish[d.index] = d.finish;
        out.stop_reason[d.index] = d.stop_reason;
        out.stop_reason_is_token[d.index] = d.stop_reason_is_token;
      }
    }
    if (!event->error.empty()) {
      out.error = event->error;
      out.error_param = event->error_param;
    }
    if (event->done) {
      out.usage = event->usage;
      out.done = true;
      return out;
    }
  }
}

// A prompt of `n` token ids drawn from a simple LCG over the byte tokens (no EOS).
inline std::vector<int32_t> tiny_prompt(int n, uint32_t seed) {
  std::vector<int32_t> ids;
  uint32_t x = seed * 2654435761u + 12345u;
  for (int i = 0; i < n; ++i) {
    x = x * 1664525u + 1013904223u;
    ids.push_back(static_cast<int32_t>(32 + (x >> 8) % 95));  // printable ASCII bytes
  }
  return ids;
}

}  // namespace nucleus::test
