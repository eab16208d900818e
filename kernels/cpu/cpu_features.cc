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
std::atomic<bool> g_force_no_avx512{false};

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

bool detect_avx512() {
#if defined(__x86_64__) || defined(__i386__)
  if (!detect_avx2()) return false;
  // The OS must save the opmask and all 32 ZMM registers (XCR0 bits 5, 6, 7) besides XMM/YMM (1, 2).
  unsigned xcr0_lo, xcr0_hi;
  __asm__("xgetbv" : "=a"(xcr0_lo), "=d"(xcr0_hi) : "c"(0));
  if ((xcr0_lo & 0xE6u) != 0xE6u) return false;
  unsigned eax, ebx, ecx, edx;
  if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) return false;
  const bool f = ebx & (1u << 16), dq = ebx & (1u << 17), bw = ebx & (1u << 30), vl = ebx & (1u << 31);
  const bool vnni = ecx & (1u << 11);
  return f && dq && bw && vl && vnni;
#else
  return false;
#endif
}

bool env_flag(const char* name) {
  const char* value = std::getenv(name);
  return value != nullptr && std::strcmp(value, "1") == 0;
}

}  // namespace

bool cpu_has_avx2() {
  static const bool has = detect_avx2();
  return has;
}

bool avx2_enabled() {
  static const bool allowed = cpu_has_avx2() && !env_flag("NUCLEUS_NO_AVX2");
  return allowed && !g_force_scalar.load(std::memory_order_relaxed);
}

void force_scalar_kernels(bool force) { g_force_scalar.store(force, std::memory_order_relaxed); }

bool cpu_has_avx512() {
  static const bool has = detect_avx512();
  return has;
}

bool avx512_enabled() {
  static const bool allowed = cpu_has_avx512() && !env_flag("NUCLEUS_NO_AVX512");
  return allowed && avx2_enabled() && !g_force_no_avx512.load(std::memory_order_relaxed);
}

void force_no_avx512(bool force) { g_force_no_avx512.store(force, std::memory_order_relaxed); }

}  // namespace nucleus::kernels::cpu
