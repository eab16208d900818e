// Placeholder until the AVX2 kernels land: every type uses the scalar path.
#include "kernels/cpu/matmul_kernels.h"

namespace nucleus::kernels::cpu {

MatmulKernel avx2_matmul_kernel(GgmlType) { return nullptr; }

}  // namespace nucleus::kernels::cpu
