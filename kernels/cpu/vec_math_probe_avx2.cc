#include <immintrin.h>

#include "kernels/cpu/vec_math_avx2.h"
#include "kernels/cpu/vec_math_probe.h"

namespace nucleus::kernels::cpu {

void exp256_probe(const float in[8], float out[8]) { _mm256_storeu_ps(out, exp256(_mm256_loadu_ps(in))); }

float hsum_probe(const float in[8]) { return hsum(_mm256_loadu_ps(in)); }

}  // namespace nucleus::kernels::cpu
