// Run-time choice between the AVX2 kernels (*_avx2.cc) and the scalar ones.
#pragma once

namespace nucleus::kernels::cpu {

// True when the CPU has AVX2, FMA and F16C (everything *_avx2.cc is built with).
bool cpu_has_avx2();

// True when the AVX2 kernels should run: the CPU has them, NUCLEUS_NO_AVX2=1
// is not set in the environment (read once), and no test forced the scalar path.
bool avx2_enabled();

// For tests: forces the scalar kernels (true) or restores the default (false).
void force_scalar_kernels(bool force);

}  // namespace nucleus::kernels::cpu
