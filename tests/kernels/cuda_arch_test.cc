#include "kernels/cuda_arch.h"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

namespace nucleus::kernels {
namespace {

TEST(CudaArchitectures, ParsesCMakeEntries) {
  const CudaArchitectures a = parse_cuda_architectures("80;86-real, 90-virtual");
  EXPECT_EQ(a.machine_code, (std::vector<int>{80, 86}));
  EXPECT_EQ(a.ptx, (std::vector<int>{80, 90}));
  EXPECT_FALSE(a.any);
  EXPECT_TRUE(parse_cuda_architectures("native").any);
  EXPECT_TRUE(parse_cuda_architectures("all-major").any);
  for (const char* bad : {"", "sm_80", "80-fake", "8x", ";;"}) {
    EXPECT_THROW(parse_cuda_architectures(bad), std::invalid_argument) << bad;
  }
}

TEST(CudaArchitectures, MachineCodeRunsOnTheSameMajorAndPtxOnAnythingNewer) {
  const CudaArchitectures real = parse_cuda_architectures("80-real;86-real");
  EXPECT_TRUE(cuda_architectures_run_on(real, 8, 0));
  EXPECT_TRUE(cuda_architectures_run_on(real, 8, 9));   // sm_86 code on an 8.9 (Ada) GPU
  EXPECT_FALSE(cuda_architectures_run_on(real, 9, 0));  // no PTX to compile for Hopper
  const CudaArchitectures ptx = parse_cuda_architectures("90-virtual");
  EXPECT_TRUE(cuda_architectures_run_on(ptx, 10, 0));
  EXPECT_FALSE(cuda_architectures_run_on(ptx, 8, 9));
}

TEST(CudaArchitectures, TheDefaultListRefusesOlderGpusSayingHowToRebuild) {
  const CudaArchitectures defaults = parse_cuda_architectures("80;86;89;90");
  std::string why;
  EXPECT_FALSE(cuda_architectures_run_on(defaults, 7, 5, &why));  // T4
  EXPECT_NE(why.find("compute capability is 7.5"), std::string::npos) << why;
  EXPECT_NE(why.find("-DCMAKE_CUDA_ARCHITECTURES=75"), std::string::npos) << why;
  EXPECT_FALSE(cuda_architectures_run_on(defaults, 7, 0));  // V100
  EXPECT_TRUE(cuda_architectures_run_on(defaults, 8, 6));
  EXPECT_TRUE(cuda_architectures_run_on(defaults, 12, 0));  // compute_90 PTX, JIT-compiled
}

}  // namespace
}  // namespace nucleus::kernels
