// The calling thread's index-array arena on the CUDA device (int_arena.h):
// pinned staging, one asynchronous copy per call for the arrays not already
// on the device, no allocation once grown and no host synchronisation.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <utility>
#include <vector>

namespace nucleus::kernels::cuda {

// Device copies of host int arrays (pointer, count), valid for kernels queued
// on the legacy default stream after this call.
std::vector<const int32_t*> upload_ints(std::initializer_list<std::pair<const int32_t*, int64_t>> parts);

}  // namespace nucleus::kernels::cuda
