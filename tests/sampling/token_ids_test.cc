#include "sampling/token_ids.h"

#include <gtest/gtest.h>

#include <vector>

namespace nucleus::sampling {
namespace {

TEST(TokenIds, FirstIdOutsideTheVocabularyIsNamedWithTheRange) {
  const std::vector<int32_t> ok = {0, 5, 9};
  EXPECT_FALSE(first_id_outside_vocabulary(ok, 10).has_value());
  const std::vector<int32_t> high = {3, 10, -1};
  EXPECT_EQ(first_id_outside_vocabulary(high, 10), "token id 10 is outside the vocabulary [0, 10)");
  const std::vector<int32_t> negative = {-1};
  EXPECT_EQ(first_id_outside_vocabulary(negative, 10), "token id -1 is outside the vocabulary [0, 10)");
  EXPECT_FALSE(first_id_outside_vocabulary({}, 0).has_value());
}

}  // namespace
}  // namespace nucleus::sampling
