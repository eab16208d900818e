#include "sampling/philox.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "sampling/noise_fill.h"

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
  // The stream is the counter's last word: another stream gets other noise.
  NoiseKey other = key;
  other.stream = static_cast<NoiseStream>(1);
  const Philox4x32 o = philox4x32_10(Philox4x32{{5, 77, 3, 1}}, 0x89abcdefu, 0x01234567u);
  EXPECT_EQ(other.word(20), o.v[0]);
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

namespace nucleus::sampling {
namespace {

// The vectorised sweep (both instruction sets) gives exactly the words of NoiseKey::word().
TEST(Philox, DenseNoiseFillMatchesPerWordNoise) {
  const NoiseKey key{0xfeedfacecafebeefULL, 1234, 2, NoiseStream::kDraw};
  for (const int64_t blocks : {1, 7, 8, 9, 100}) {
    std::vector<uint32_t> fast(4 * blocks), portable(4 * blocks);
    fill_noise_words(key, 11, blocks, fast.data());
    detail::fill_noise_words_lanes(key, 11, blocks, portable.data());
    for (int64_t i = 0; i < 4 * blocks; ++i) {
      ASSERT_EQ(fast[i], key.word(static_cast<uint32_t>(44 + i))) << blocks << " " << i;
      ASSERT_EQ(portable[i], fast[i]);
    }
  }
}

}  // namespace
}  // namespace nucleus::sampling
