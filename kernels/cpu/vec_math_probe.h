// The AVX2 vector helpers of vec_math_avx2.h on plain arrays, so tests can
// compare them bit for bit with their scalar twins in vec_math_scalar.h.
// Call only when cpu_has_avx2().
#pragma once

namespace nucleus::kernels::cpu {

// out[i] = exp256(in)[i] for 8 floats.
void exp256_probe(const float in[8], float out[8]);
// hsum() of 8 floats.
float hsum_probe(const float in[8]);

}  // namespace nucleus::kernels::cpu
