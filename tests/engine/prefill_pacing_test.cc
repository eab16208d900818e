// PrefillPacing on its own: the rule that cuts prompt chunks of steps that
// decode (engine/prefill_pacing.h). The scheduler obeying its cap is tested
// in scheduler_test.cc.
#include "engine/prefill_pacing.h"

#include <gtest/gtest.h>

#include <cstdint>

namespace nucleus {
namespace {

TEST(PrefillPacing, NoCapUntilAStepWasMeasuredOrWithoutATarget) {
  PrefillPacing pacing(0.25, 32);
  EXPECT_EQ(pacing.cap(4), 0);
  PrefillPacing off(0, 32);
  off.observe(512, 2.0);
  EXPECT_EQ(off.cap(4), 0);
}

TEST(PrefillPacing, CapFitsTheTargetAfterTheDecodeTokens) {
  PrefillPacing pacing(2.0, 32);
  pacing.observe(100, 1.0);  // 10 ms a token
  EXPECT_DOUBLE_EQ(pacing.seconds_per_token(), 0.01);
  EXPECT_EQ(pacing.cap(16), 184);  // 2 s / 10 ms = 200 tokens, 16 of them decoding
  EXPECT_EQ(pacing.cap(0), 200);
  // Never below the floor, so a prompt always advances.
  EXPECT_EQ(pacing.cap(190), 32);
  EXPECT_EQ(pacing.cap(10000), 32);
}

TEST(PrefillPacing, SmallStepsAreNotMeasuredAndLargeOnesAreAveraged) {
  PrefillPacing pacing(1.0, 16);
  pacing.observe(8, 1.0);  // a decode-only step: reading the weights, not tokens
  pacing.observe(31, 1.0);
  EXPECT_EQ(pacing.seconds_per_token(), 0.0);
  EXPECT_EQ(pacing.cap(1), 0);
  pacing.observe(100, 1.0);
  pacing.observe(100, 2.0);
  EXPECT_DOUBLE_EQ(pacing.seconds_per_token(), 0.75 * 0.01 + 0.25 * 0.02);
  pacing.observe(100, 0.0);  // a clock that did not move is ignored
  EXPECT_DOUBLE_EQ(pacing.seconds_per_token(), 0.0125);
  EXPECT_EQ(pacing.cap(0), 80);  // 1 s / 12.5 ms
}

TEST(PrefillPacing, AFastMachineIsNeverCapped) {
  PrefillPacing pacing(0.25, 32);
  pacing.observe(512, 1e-9);
  EXPECT_GT(pacing.cap(64), int64_t{1} << 32);  // no step budget comes near it
}

}  // namespace
}  // namespace nucleus
