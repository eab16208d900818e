#include "sampling/params.h"

#include <random>
#include <sstream>
#include <stdexcept>

namespace nucleus::sampling {
namespace {

// A number as people write it ("-5", "0.25"), not std::to_string's "-5.000000".
std::string text_of(double v) {
  std::ostringstream out;
  out << v;
  return out.str();
}

// Written as !(in range) so that NaN is rejected too.
void check_closed(const char* name, double value, double lo, double hi) {
  if (!(value >= lo && value <= hi)) {
    std::ostringstream msg;
    msg << name << " must be in [" << lo << ", " << hi << "], got " << value;
    throw std::invalid_argument(msg.str());
  }
}

void check_token_ids(const char* name, const std::vector<int32_t>& ids, int64_t vocab_size) {
  for (const int32_t id : ids) {
    if (id < 0 || (vocab_size > 0 && id >= vocab_size)) {
      std::ostringstream msg;
      msg << name << " contains token id " << id << ", outside the vocabulary [0, "
          << (vocab_size > 0 ? std::to_string(vocab_size) : std::string("vocab size")) << ")";
      throw std::invalid_argument(msg.str());
    }
  }
}

}  // namespace

void SamplingParams::validate(int64_t vocab_size) const {
  check_closed("temperature", temperature, 0.0, 2.0);
  if (top_k < -1) {
    throw std::invalid_argument("top_k must be -1 or 0 (off) or >= 1, got " + std::to_string(top_k));
  }
  if (!(top_p > 0.0f && top_p <= 1.0f)) {
    throw std::invalid_argument("top_p must be in (0, 1], got " + text_of(top_p));
  }
  check_closed("min_p", min_p, 0.0, 1.0);
  if (!(typical_p > 0.0f && typical_p <= 1.0f)) {
    throw std::invalid_argument("typical_p must be in (0, 1], got " + text_of(typical_p));
  }
  check_closed("presence_penalty", presence_penalty, -2.0, 2.0);
  check_closed("frequency_penalty", frequency_penalty, -2.0, 2.0);
  // Upper bound only to keep the logits finite; vLLM asks for > 0. The message
  // names both ends: "must be > 0, got 10000000" told a client nothing.
  if (!(repetition_penalty > 0.0f && repetition_penalty <= kMaxRepetitionPenalty)) {
    std::ostringstream msg;
    msg << "repetition_penalty must be in (0, " << kMaxRepetitionPenalty << "], got " << repetition_penalty;
    throw std::invalid_argument(msg.str());
  }
  for (const LogitBias& b : logit_bias) {
    if (b.token_id < 0 || (vocab_size > 0 && b.token_id >= vocab_size)) {
      throw std::invalid_argument("logit_bias has token id " + std::to_string(b.token_id) +
                                  ", outside the vocabulary" +
                                  (vocab_size > 0 ? " [0, " + std::to_string(vocab_size) + ")" : std::string()));
    }
    if (!(b.bias >= -100.0f && b.bias <= 100.0f)) {
      throw std::invalid_argument("logit_bias for token " + std::to_string(b.token_id) +
                                  " must be in [-100, 100], got " + text_of(b.bias));
    }
  }
  if (logprobs < -1 || logprobs > kMaxLogprobs) {
    throw std::invalid_argument("logprobs must be in [0, " + std::to_string(kMaxLogprobs) + "] (or -1 = off), got " +
                                std::to_string(logprobs));
  }
  if (min_tokens < 0) throw std::invalid_argument("min_tokens must be >= 0, got " + std::to_string(min_tokens));
  check_token_ids("stop_token_ids", stop_token_ids, vocab_size);
  check_token_ids("allowed_token_ids", allowed_token_ids, vocab_size);
  check_token_ids("bad_token_ids", bad_token_ids, vocab_size);
  for (const std::vector<int32_t>& word : bad_words_token_ids) {
    if (word.empty()) throw std::invalid_argument("bad_words has a word of no tokens");
    check_token_ids("bad_words", word, vocab_size);
  }
}

StageParams SamplingParams::stage_params() const {
  StageParams s;
  s.temperature = temperature;
  s.top_k = top_k;
  s.top_p = top_p;
  s.min_p = min_p;
  s.typical_p = typical_p;
  s.repetition_penalty = repetition_penalty;
  s.frequency_penalty = frequency_penalty;
  s.presence_penalty = presence_penalty;
  return s;
}

uint64_t draw_entropy_seed() {
  std::random_device device;
  return (static_cast<uint64_t>(device()) << 32) ^ static_cast<uint64_t>(device());
}

}  // namespace nucleus::sampling
