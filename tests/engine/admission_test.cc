#include "engine/admission.h"

#include <gtest/gtest.h>

#include <string>

namespace nucleus {
namespace {

AdmissionLimits limits() {
  return {.vocab = 100, .context_length = 64, .cache_blocks = 8, .block_size = 4, .has_draft_model = false};
}

GenerationRequest request(int prompt_len, int max_tokens) {
  GenerationRequest r;
  r.prompt.assign(static_cast<size_t>(prompt_len), 7);
  r.max_tokens = max_tokens;
  return r;
}

std::string refused_param(GenerationRequest r, const AdmissionLimits& l = limits()) {
  try {
    admit(r, l);
  } catch (const InvalidRequest& e) {
    return e.param();
  }
  return "";
}

TEST(Admission, AcceptsARequestThatFitsAndKeepsItsLength) {
  GenerationRequest r = request(10, 20);
  admit(r, limits());
  EXPECT_EQ(r.max_tokens, 20);
}

TEST(Admission, NoMaxTokensRunsToTheSmallerOfContextAndCache) {
  GenerationRequest r = request(10, -1);
  admit(r, limits());  // cache: 8 blocks x 4 = 32 tokens < context 64
  EXPECT_EQ(r.max_tokens, 22);
  AdmissionLimits big_cache = limits();
  big_cache.cache_blocks = 100;
  GenerationRequest s = request(10, -1);
  admit(s, big_cache);
  EXPECT_EQ(s.max_tokens, 54);
}

TEST(Admission, EachFailureNamesTheClientsParameter) {
  EXPECT_EQ(refused_param(request(0, 5)), "prompt");
  GenerationRequest bad_id = request(3, 5);
  bad_id.prompt[1] = 100;
  EXPECT_EQ(refused_param(bad_id), "prompt");
  EXPECT_EQ(refused_param(request(3, 0)), "max_tokens");
  EXPECT_EQ(refused_param(request(64, 1)), "prompt");       // no room left in the context
  EXPECT_EQ(refused_param(request(10, 60)), "max_tokens");  // over the context
  EXPECT_EQ(refused_param(request(10, 30)), "max_tokens");  // 40 tokens = 10 blocks > 8
  EXPECT_EQ(refused_param(request(40, -1)), "prompt");      // the prompt alone fills the cache
  GenerationRequest n = request(3, 5);
  n.n = 129;
  EXPECT_EQ(refused_param(n), "n");
  GenerationRequest draft = request(3, 5);
  draft.speculation = Speculation::kDraft;
  EXPECT_EQ(refused_param(draft), "speculative");
  GenerationRequest json_beam = request(3, 5);
  json_beam.response_format = ResponseFormat::kJsonObject;
  json_beam.beam = BeamSearchOptions{};
  EXPECT_EQ(refused_param(json_beam), "response_format");
  GenerationRequest plp = request(3, 5);
  plp.prompt_logprobs = 21;
  EXPECT_EQ(refused_param(plp), "prompt_logprobs");
  GenerationRequest temp = request(3, 5);
  temp.params.temperature = -1.0f;
  EXPECT_EQ(refused_param(temp), "temperature");
}

// One request's sequences (n, or the beam width) are bounded by the engine's option.
TEST(Admission, SequencesOfOneRequestAreBounded) {
  AdmissionLimits l = limits();
  l.max_sequences = 4;
  GenerationRequest r = request(10, 5);
  r.n = 4;
  EXPECT_EQ(refused_param(r, l), "");
  r.n = 5;
  EXPECT_EQ(refused_param(r, l), "n");
  r.n = 2;
  r.beam = BeamSearchOptions{.width = 5};
  EXPECT_EQ(refused_param(r, l), "n");
}

}  // namespace
}  // namespace nucleus
