// measure_read_bandwidth: a plausible rate from a small buffer on 1 and 2
// threads (it checks the sum of every word it read, so a skipped slice throws),
// and clear errors for options it cannot honour.
#include <gtest/gtest.h>

#include <cmath>
#include <stdexcept>

#include "kernels/read_bandwidth.h"

namespace nucleus::kernels {
namespace {

TEST(ReadBandwidthTest, MeasuresAPlausibleRate) {
  for (int threads : {1, 2}) {
    ThreadPool pool(threads);
    // 8 MiB plus a partial slice: every thread gets slices and the last one is short.
    const ReadBandwidth bw = measure_read_bandwidth(pool, ReadBandwidthOptions{(size_t{8} << 20) + 4096, 3});
    EXPECT_TRUE(std::isfinite(bw.bytes_per_second));
    // Between 100 MB/s and 10 TB/s: anything outside is a timing or size bug, not a machine.
    EXPECT_GT(bw.bytes_per_second, 1e8);
    EXPECT_LT(bw.bytes_per_second, 1e13);
    EXPECT_LE(bw.median_bytes_per_second, bw.bytes_per_second);
  }
}

TEST(ReadBandwidthTest, RejectsBadOptions) {
  ThreadPool pool(1);
  EXPECT_THROW(measure_read_bandwidth(pool, ReadBandwidthOptions{1024, 3}), std::invalid_argument);
  EXPECT_THROW(measure_read_bandwidth(pool, ReadBandwidthOptions{size_t{1} << 20, 0}), std::invalid_argument);
}

}  // namespace
}  // namespace nucleus::kernels
