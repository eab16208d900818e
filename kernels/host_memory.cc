#include "kernels/host_memory.h"

#include <sys/mman.h>

#include <new>

namespace nucleus::kernels {

void HostBufferDelete::operator()(uint8_t* p) const { ::operator delete[](p, std::align_val_t{alignment}); }

HostBuffer allocate_host_buffer(size_t bytes) {
  const bool huge = bytes >= kHugePageBytes;
  const size_t alignment = huge ? kHugePageBytes : 64;
  HostBuffer buffer(static_cast<uint8_t*>(::operator new[](bytes == 0 ? 1 : bytes, std::align_val_t{alignment})),
                    HostBufferDelete{alignment});
  if (huge) {
    // Whole huge pages only: the tail past the last one stays on small pages.
    const size_t advised = bytes / kHugePageBytes * kHugePageBytes;
    (void)madvise(buffer.get(), advised, MADV_HUGEPAGE);  // a hint; failure (no THP) changes nothing but speed
  }
  return buffer;
}

}  // namespace nucleus::kernels
