// pin_register(v): an empty asm statement that makes v live in a vector
// register at that point of the program. It emits no instruction.
//
// Why: the AVX2 matmul kernels keep a handful of 16-bit and 32-bit integer
// sums per token in YMM registers, and AVX2 has only 16 of them. GCC
// reassociates such integer sums into trees and hoists every maddubs ahead of
// the adds, which needs more registers than exist: the spills cost 15-25% of
// the kernels' speed on an AVX2-only CPU (AMD Zen 3, bench/kernels_bench). A
// pin after each accumulation keeps the sums as the sequential chains the
// code spells out. Integer sums are exact, so the order never changes a result.
#pragma once

namespace nucleus::kernels::cpu {

template <class Vector>
inline void pin_register(Vector& v) {
  __asm__ volatile("" : "+x"(v));
}

}  // namespace nucleus::kernels::cpu
