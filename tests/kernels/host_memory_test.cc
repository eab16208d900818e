// allocate_host_buffer: the alignment each size promises (a cache line; 2 MiB
// from 2 MiB up, so huge pages can back the buffer), writable to its last
// byte, and a zero-byte request that still gives a pointer to free.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>

#include "kernels/host_memory.h"

namespace nucleus::kernels {
namespace {

uintptr_t address(const HostBuffer& b) { return reinterpret_cast<uintptr_t>(b.get()); }

TEST(HostMemoryTest, SmallBuffersAreCacheLineAligned) {
  for (size_t bytes : {size_t{0}, size_t{1}, size_t{100}, size_t{4096}, kHugePageBytes - 1}) {
    const HostBuffer b = allocate_host_buffer(bytes);
    ASSERT_NE(b.get(), nullptr) << bytes;
    EXPECT_EQ(address(b) % 64, 0u) << bytes;
    EXPECT_EQ(b.get_deleter().alignment, 64u) << bytes;
    if (bytes > 0) std::memset(b.get(), 0xA5, bytes);
  }
}

TEST(HostMemoryTest, LargeBuffersStartOnAHugePage) {
  for (size_t bytes : {kHugePageBytes, kHugePageBytes + 1, 3 * kHugePageBytes + 12345}) {
    const HostBuffer b = allocate_host_buffer(bytes);
    ASSERT_NE(b.get(), nullptr) << bytes;
    EXPECT_EQ(address(b) % kHugePageBytes, 0u) << bytes;
    EXPECT_EQ(b.get_deleter().alignment, kHugePageBytes) << bytes;
    std::memset(b.get(), 0x5A, bytes);  // the tail past the last whole huge page is the caller's too
    EXPECT_EQ(b[bytes - 1], 0x5A);
  }
}

}  // namespace
}  // namespace nucleus::kernels
