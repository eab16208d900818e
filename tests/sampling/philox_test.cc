#include "sampling/philox.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "tests/common/test_env.h"

namespace nucleus::sampling {
namespace {

// Golden blocks from randomgen (tests/data/sampling/gen_philox_golden.py); the first three
// lines are also Random123's published known-answer vectors.
TEST(Philox, MatchesIndependentImplementation) {
  const std::string path = test::data_dir() + "/sampling/philox4x32_10.txt";
  std::ifstream file(path);
  ASSERT_TRUE(file) << "missing " << path;
  std::string line;
  int lines = 0;
  while (std::getline(file, line)) {
    std::istringstream in(line);
    uint32_t w[10];
    for (uint32_t& x : w) in >> std::hex >> x;
    ASSERT_TRUE(in) << "bad line " << line;
    const Philox4x32 out = philox4x32_10(Philox4x32{{w[0], w[1], w[2], w[3]}}, w[4], w[5]);
    for (int k = 0; k < 4; ++k) EXPECT_EQ(out.v[k], w[6 + k]) << "line " << lines << " word " << k;
    ++lines;
  }
  EXPECT_EQ(lines, 32);
}

TEST(Philox, NoiseKeyAddressesWordsByVocabIndex) {
  const NoiseKey key{0x0123456789abcdefULL, 77, 3, NoiseStream::kDraw};
  const Philox4x32 b = philox4x32_10(Philox4x32{{5, 77, 3, 0}}, 0x89abcdefu, 0x01234567u);
  for (uint32_t lane = 0; lane < 4; ++lane) EXPECT_EQ(key.word(20 + lane), b.v[lane]);
  NoiseKey other = key;
  other.stream = NoiseStream::kVerify;
  EXPECT_NE(other.word(20), key.word(20));
}

TEST(Philox, UniformsStayInsideTheOpenInterval) {
  EXPECT_GT(open_uniform(0), 0.0);
  EXPECT_LT(open_uniform(0xFFFFFFFFu), 1.0);
  EXPECT_GT(open_uniform_complement(0xFFFFFFFFu), 0.0);
  for (uint32_t w : {0u, 1u, 12345u, 0x80000000u, 0xFFFFFFFEu, 0xFFFFFFFFu}) {
    EXPECT_EQ(open_uniform(w) + open_uniform_complement(w), 1.0) << w;
  }
}

}  // namespace
}  // namespace nucleus::sampling
