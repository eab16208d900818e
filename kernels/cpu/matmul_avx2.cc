// The AVX2 kernel table: every type we load has one.
#include "kernels/cpu/matmul_kernels.h"

namespace nucleus::kernels::cpu {

MatmulKernel avx2_matmul_kernel(GgmlType type) {
  if (MatmulKernel k = avx2_float_kernel(type)) return k;
  if (MatmulKernel k = avx2_simple_quant_kernel(type)) return k;
  if (MatmulKernel k = avx2_k_quant_kernel(type)) return k;
  return avx2_low_bit_k_kernel(type);
}

}  // namespace nucleus::kernels::cpu
