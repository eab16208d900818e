// OpenAI's `system_fingerprint`: one short string in every completion
// response and stream chunk that names everything that decides the bytes of
// an answer besides the request. Same fingerprint + same request + same seed
// = the same bytes, on any node and under any load (README, "Reproducibility").
//
// It hashes three parts, which GET /version shows one by one:
//  - the model file's identity (model_file_identity below),
//  - the build's numeric version (CMake's project version),
//  - the determinism class: "cpu-exact-v1+<libm>" for every CPU kernel path
//    (AVX-512, AVX2, scalar give bitwise the same logits), "cuda-v1" for the
//    CUDA device, whose float order differs from the CPU's. <libm> names the C
//    library's math functions the forward pass still calls (RoPE's sin, cos and
//    pow, GeGLU's and soft-capping's tanh, the sampler's log and double exp): glibc's version
//    and the variant it picks for this CPU (e.g. "glibc2.36-fma"), since another
//    glibc, or the non-FMA variants on a CPU without FMA, may round a last bit
//    differently.
#pragma once

#include <string>

#include "kernels/ops.h"

namespace nucleus::server {

struct SystemFingerprint {
  std::string model_identity;     // 16 hex digits
  std::string version;            // "0.1.0"
  std::string determinism_class;  // "cpu-exact-v1+glibc2.36-fma", "cuda-v1"
  std::string value;              // "fp_" + 12 hex digits of the three above
};

// The version this binary was built as (CMake's PROJECT_VERSION).
const char* build_version();

// The class of devices and kernel paths that give the same bytes as `device`.
std::string determinism_class(kernels::Device device);

// The C math library and the variant of its functions this CPU gets: "glibc2.36-fma".
std::string libm_variant();

// A 64-bit FNV-1a hash, as 16 hex digits, of the file's size, its first
// 8 MiB (the GGUF header, metadata, tokenizer and tensor table, and the
// first tensors), 64 chunks of 64 KiB spread evenly over the rest, and its
// last 1 MiB. Reading ~13 MiB costs milliseconds where hashing a multi-GB
// file would cost seconds at every start; any re-quantization, fine-tune or
// different export changes the sampled bytes in practice. It identifies a
// file, it does not prove its integrity (a deliberate edit of unsampled bytes
// would keep it). Throws std::runtime_error when the file cannot be read.
std::string model_file_identity(const std::string& path);

SystemFingerprint make_system_fingerprint(const std::string& model_identity, const std::string& version,
                                          const std::string& determinism_class);

}  // namespace nucleus::server
