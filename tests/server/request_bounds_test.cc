// Per-request bounds: prompts x n (x beams) and prompt logprobs, each refusal
// a 400 naming the parameter to lower.
#include "server/request_bounds.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "server/errors.h"

namespace nucleus::server {
namespace {

std::vector<std::vector<int32_t>> prompts(int count, int length) {
  return std::vector<std::vector<int32_t>>(static_cast<size_t>(count), std::vector<int32_t>(length, 5));
}

// The param of the 400, "" when accepted.
std::string refused(const CommonRequest& common, int count, int length = 10, int max_sequences = 256) {
  try {
    check_request_bounds(common, prompts(count, length), max_sequences, 8192);
  } catch (const ApiError& e) {
    EXPECT_EQ(e.status(), 400);
    return e.to_json()["error"]["param"].get<std::string>();
  }
  return "";
}

TEST(RequestBounds, PromptsTimesNAreBounded) {
  CommonRequest common;
  common.n = 128;
  EXPECT_EQ(refused(common, 2), "");      // 256
  EXPECT_EQ(refused(common, 64), "prompt");  // 8192: the 30 KB request
  common.prompt_param = "messages";
  EXPECT_EQ(refused(common, 3), "messages");
  EXPECT_EQ(refused(common, 1, 10, 100), "n");  // n alone is over
}

TEST(RequestBounds, BeamsCountAsSequences) {
  CommonRequest common;
  common.n = 2;
  common.use_beam_search = true;
  common.beam_width = 16;
  EXPECT_EQ(refused(common, 16), "");
  EXPECT_EQ(refused(common, 17), "prompt");
  EXPECT_EQ(refused(common, 1, 10, 8), "n");
}

TEST(RequestBounds, PromptLogprobsAreBounded) {
  CommonRequest common;
  common.prompt_logprobs = 20;
  const int tokens_allowed = static_cast<int>(kMaxPromptLogprobEntries / 21);
  EXPECT_EQ(refused(common, 1, tokens_allowed), "");
  EXPECT_EQ(refused(common, 2, tokens_allowed), "prompt");
  common.prompt_logprobs = -1;
  EXPECT_EQ(refused(common, 2, tokens_allowed), "");
}

TEST(RequestBounds, OutputLogprobsAreBounded) {
  CommonRequest common;
  common.params.logprobs = 20;
  common.max_tokens = 8192;  // a whole context with 20 alternatives: 172,032 entries
  EXPECT_EQ(refused(common, 1), "");
  common.n = 128;  // 22 M entries
  EXPECT_EQ(refused(common, 1), "logprobs");
  common.prompt_param = "messages";
  EXPECT_EQ(refused(common, 1), "top_logprobs");
  common.max_tokens.reset();  // counts as the whole context
  EXPECT_EQ(refused(common, 1), "top_logprobs");
  common.max_tokens = 16;
  EXPECT_EQ(refused(common, 2), "");  // 256 sequences x 16 tokens x 21
  common.params.logprobs = -1;
  common.max_tokens = 8192;
  EXPECT_EQ(refused(common, 2), "");
}

}  // namespace
}  // namespace nucleus::server
