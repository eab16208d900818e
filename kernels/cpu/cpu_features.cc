#include "kernels/cpu/cpu_features.h"

#include <atomic>
#include <cstdlib>
#include <cstring>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

namespace nucleus::kernels::cpu {
namespace {

std::atomic<bool> g_force_scalar{false};

bool detect_avx2() {
#if defined(__x86_64__) || defined(__i386__)
  unsigned eax, ebx, ecx, edx;
  if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return false;
  const bool fma = ecx & (1u << 12), osxsave = ecx & (1u << 27), avx = ecx & (1u << 28), f16c = ecx & (1u << 29);
  if (!(fma && osxsave && avx && f16c)) return false;
  // The OS must save the YMM registers on context switches (XCR0 bits 1 and 2).
  unsigned xcr0_lo, xcr0_hi;
  __asm__("xgetbv" : "=a"(xcr0_lo), "=d"(xcr0_hi) : "c"(0));
  if ((xcr0_lo & 6u) != 6u) return false;
  if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) return false;
  return ebx & (1u << 5);  // AVX2
#else
  return false;
#endif
}

bool env_disables_avx2() {
  const char* value = std::getenv("NUCLEUS_NO_AVX2");
  return value != nullptr && std::strcmp(value, "1") == 0;
}

}  // namespace

bool cpu_has_avx2() {
  static const bool has = detect_avx2();
  return has;
}

bool avx2_enabled() {
  static const bool allowed = cpu_has_avx2() && !env_disables_avx2();
  return allowed && !g_force_scalar.load(std::memory_order_relaxed);
}

void force_scalar_kernels(bool force) { g_force_scalar.store(force, std::memory_order_relaxed); }

}  // namespace nucleus::kernels::cpu
