// Scalar loads from packed bytes at any alignment (memcpy: no alignment or
// aliasing assumption; the compiler emits one plain load), shared by the panel
// kernels of every ISA. Internal linkage: each kernel file is compiled with its
// own target flags, so no two of them may share one definition.
#pragma once

#include <cstdint>
#include <cstring>

namespace nucleus::kernels::cpu {
namespace {

inline int32_t load_i32(const uint8_t* p) {
  int32_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

inline float load_f32(const uint8_t* p) {
  float v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

}  // namespace
}  // namespace nucleus::kernels::cpu
