// Which GPUs a CUDA build can run, from the architectures it was compiled for
// (CMAKE_CUDA_ARCHITECTURES). Host-only logic, compiled and tested in every
// build, so `--device auto` can refuse a GPU whose first kernel would fail
// ("no kernel image is available") and fall back to the CPU saying why.
//
// CMake's entries: "86" embeds sm_86 machine code and compute_86 PTX,
// "86-real" only the machine code, "86-virtual" only the PTX; "native",
// "all" and "all-major" leave the choice to the toolchain (taken as any GPU).
// Machine code for sm_XY runs on compute capability X.Z with Z >= Y; PTX for
// compute_XY is compiled by the driver for any capability >= X.Y.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace nucleus::kernels {

struct CudaArchitectures {
  std::vector<int> machine_code;  // 86 for sm_86
  std::vector<int> ptx;           // 90 for compute_90
  bool any = false;               // "native", "all", "all-major"
  std::string text;               // as configured, for messages
};

// Parses CMake's list ("80;86;89;90", "75-real,90-virtual": ';' or ',' between
// entries). Throws std::invalid_argument naming an entry it cannot read.
CudaArchitectures parse_cuda_architectures(std::string_view list);

// Whether code built for `archs` runs on a GPU of compute capability major.minor;
// when not, *why (if given) says so and how to rebuild.
bool cuda_architectures_run_on(const CudaArchitectures& archs, int major, int minor, std::string* why = nullptr);

}  // namespace nucleus::kernels
