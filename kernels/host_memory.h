// Large host buffers on transparent huge pages.
//
// Decode streams every weight byte from DRAM once per token. On 4 KiB pages
// a 1 GB model touches a quarter of a million pages per token, and the
// TLB misses stall the loads: measured on this project's machine, the
// prepacked Q4_K GEMV at a 75 MB shape read 14 GB/s on 4 KiB pages and
// 28 GB/s on 2 MiB ones. Most distributions set transparent huge pages to
// "madvise", so a buffer gets them only if it asks: buffers of 2 MiB or more
// are 2 MiB-aligned and advised MADV_HUGEPAGE (a hint: where the kernel says
// no, they stay on small pages and work the same). Smaller ones are 64-byte
// aligned, as before. The contents are uninitialised.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

namespace nucleus::kernels {

struct HostBufferDelete {
  size_t alignment = 64;
  void operator()(uint8_t* p) const;
};
using HostBuffer = std::unique_ptr<uint8_t[], HostBufferDelete>;

// Throws std::bad_alloc when the memory is not there.
HostBuffer allocate_host_buffer(size_t bytes);

constexpr size_t kHugePageBytes = size_t{2} << 20;

}  // namespace nucleus::kernels
