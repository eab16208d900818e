#include "server/system_fingerprint.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <stdexcept>
#include <vector>

#if defined(__GLIBC__)
#include <gnu/libc-version.h>
#endif

#ifndef NUCLEUS_VERSION
#error "NUCLEUS_VERSION comes from CMake's project version (server/CMakeLists.txt)"
#endif

namespace nucleus::server {
namespace {

constexpr uint64_t kFnvOffset = 0xcbf29ce484222325ull;
constexpr uint64_t kFnvPrime = 0x100000001b3ull;

uint64_t fnv1a(uint64_t h, const void* data, size_t n) {
  const auto* p = static_cast<const uint8_t*>(data);
  for (size_t i = 0; i < n; ++i) h = (h ^ p[i]) * kFnvPrime;
  return h;
}

std::string hex(uint64_t v, int digits) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return std::string(buf + 16 - digits);
}

// Hashes bytes [offset, offset + n) of the file (fewer at its end).
uint64_t hash_range(std::ifstream& in, uint64_t h, uint64_t offset, uint64_t n, std::vector<char>& buf) {
  in.clear();
  in.seekg(static_cast<std::streamoff>(offset));
  while (n > 0 && in) {
    const size_t want = static_cast<size_t>(std::min<uint64_t>(n, buf.size()));
    in.read(buf.data(), static_cast<std::streamsize>(want));
    const auto got = static_cast<size_t>(in.gcount());
    h = fnv1a(h, buf.data(), got);
    n -= got;
    if (got < want) break;
  }
  return h;
}

}  // namespace

const char* build_version() { return NUCLEUS_VERSION; }

std::string libm_variant() {
#if defined(__GLIBC__) && (defined(__x86_64__) || defined(__i386__))
  // glibc picks its exp/log/pow/sin/cos/tan implementations at load time by CPU: the FMA ones
  // need FMA and AVX2, the FMA4 ones (older AMD) FMA4, the rest SSE2 (sysdeps/x86_64/fpu/multiarch).
  const char* variant = "sse2";
  if (__builtin_cpu_supports("fma") && __builtin_cpu_supports("avx2")) {
    variant = "fma";
  } else if (__builtin_cpu_supports("fma4")) {
    variant = "fma4";
  }
  return std::string("glibc") + gnu_get_libc_version() + "-" + variant;
#elif defined(__GLIBC__)
  return std::string("glibc") + gnu_get_libc_version();
#else
  return "libm-unknown";
#endif
}

std::string determinism_class(kernels::Device device) {
  return device == kernels::Device::kCpu ? "cpu-exact-v1+" + libm_variant() : "cuda-v1";
}

std::string model_file_identity(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) throw std::runtime_error("system_fingerprint: cannot read the model file " + path);
  const auto size = static_cast<uint64_t>(in.tellg());
  constexpr uint64_t kHead = 8ull << 20, kTail = 1ull << 20, kChunk = 64ull << 10;
  constexpr int kChunks = 64;
  std::vector<char> buf(1 << 20);
  uint64_t h = fnv1a(kFnvOffset, &size, sizeof size);
  h = hash_range(in, h, 0, std::min(size, kHead), buf);
  if (size > kHead + kTail) {
    const uint64_t middle = size - kHead - kTail;
    for (int i = 0; i < kChunks; ++i) h = hash_range(in, h, kHead + middle * i / kChunks, std::min(kChunk, middle), buf);
  }
  if (size > kHead) h = hash_range(in, h, std::max(kHead, size - kTail), kTail, buf);
  if (in.bad()) throw std::runtime_error("system_fingerprint: read error in " + path);
  return hex(h, 16);
}

SystemFingerprint make_system_fingerprint(const std::string& model_identity, const std::string& version,
                                          const std::string& determinism_class) {
  SystemFingerprint f{model_identity, version, determinism_class, ""};
  uint64_t h = kFnvOffset;
  // Each part followed by a 0 byte, so ("ab", "c") and ("a", "bc") differ.
  for (const std::string* part : {&model_identity, &version, &determinism_class}) h = fnv1a(h, part->c_str(), part->size() + 1);
  f.value = "fp_" + hex(h, 12);
  return f;
}

}  // namespace nucleus::server
