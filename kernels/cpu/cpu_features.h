// Run-time choice between the AVX-512 kernels (*_avx512.cc), the AVX2 kernels
// (*_avx2.cc) and the scalar ones.
//
// Cross-ISA determinism: the paths perform the same float operations in the
// same order: a fixed 8-lane reduction tree (emulated in scalar code,
// vec_math_scalar.h), explicit FMAs where the vector code fuses (the project
// builds with -ffp-contract=off), one exp polynomial; Q4_0 / Q4_1 / Q8_0 in
// the AVX-512 VNNI order (q_panel.h), the 256-element types with one exact
// integer sum per super-block then FMAs (k_panel.h). So logits are bitwise the same on every
// CPU (tests/kernels/cross_path_test.cc), not only within one (kernels/ops.h,
// batch invariance); the server's system_fingerprint names this class.
#pragma once

namespace nucleus::kernels::cpu {

// True when the CPU has AVX2, FMA and F16C (everything *_avx2.cc is built with).
bool cpu_has_avx2();

// True when the AVX2 kernels should run: the CPU has them, NUCLEUS_NO_AVX2=1
// is not set in the environment (read once), and no test forced the scalar path.
bool avx2_enabled();

// For tests: forces the scalar kernels (true) or restores the default (false).
void force_scalar_kernels(bool force);

// True when the CPU has AVX-512 F, BW, VL, DQ and VNNI and the OS saves the
// ZMM and opmask state (everything *_avx512.cc is built with).
bool cpu_has_avx512();

// True when the AVX-512 kernels should run: avx2_enabled(), the CPU has them,
// NUCLEUS_NO_AVX512=1 is not set (read once), and no test disabled them.
bool avx512_enabled();

// For tests: disables the AVX-512 kernels (true; the AVX2 ones run instead)
// or restores the default (false).
void force_no_avx512(bool force);

}  // namespace nucleus::kernels::cpu
