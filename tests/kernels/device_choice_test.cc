// --device resolution: auto takes CUDA only when it is usable and says why
// not; cuda without a usable device is a clear error, never a crash. Runs in
// every build: the release build has no CUDA at all, the CUDA build on a
// machine without a GPU has no device, and both must fall back or fail clearly.
#include <gtest/gtest.h>

#include <cstdio>
#include <stdexcept>
#include <string>
#include <vector>

#include "kernels/build_config.h"
#include "kernels/device.h"

namespace nucleus::kernels {
namespace {

TEST(DeviceChoice, RulesWithTheProbeInjected) {
  EXPECT_EQ(choose_device("cpu", true, "").device, Device::kCpu);
  EXPECT_EQ(choose_device("cuda", true, "").device, Device::kCuda);
  EXPECT_EQ(choose_device("auto", true, "").device, Device::kCuda);
  const DeviceChoice fallback = choose_device("auto", false, "no CUDA device: no CUDA-capable device is detected");
  EXPECT_EQ(fallback.device, Device::kCpu);
  EXPECT_NE(fallback.reason.find("cpu"), std::string::npos) << fallback.reason;
  EXPECT_NE(fallback.reason.find("no CUDA-capable device is detected"), std::string::npos) << fallback.reason;
  try {
    choose_device("cuda", false, "nucleus was built without CUDA");
    ADD_FAILURE() << "--device cuda was accepted without CUDA";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("--device cuda"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("nucleus was built without CUDA"), std::string::npos) << e.what();
  }
  EXPECT_THROW(choose_device("gpu", true, ""), std::invalid_argument);
  EXPECT_THROW(choose_device("", false, "x"), std::invalid_argument);
}

// The real probe of this build and machine.
TEST(DeviceChoice, ThisBuildAndMachine) {
  std::string why;
  const bool ok = cuda_available(&why);
  std::printf("  cuda_available: %s%s\n", ok ? "yes" : "no: ", why.c_str());
#if !NUCLEUS_HAVE_CUDA
  EXPECT_FALSE(ok);
  EXPECT_NE(why.find("built without CUDA"), std::string::npos) << why;
#endif
  EXPECT_EQ(choose_device("cpu").device, Device::kCpu);
  const DeviceChoice automatic = choose_device("auto");
  std::printf("  --device auto -> %s\n", automatic.reason.c_str());
  if (ok) {
    EXPECT_EQ(automatic.device, Device::kCuda);
    EXPECT_EQ(choose_device("cuda").device, Device::kCuda);
    return;
  }
  EXPECT_FALSE(why.empty());
  EXPECT_EQ(automatic.device, Device::kCpu);
  EXPECT_NE(automatic.reason.find(why), std::string::npos) << automatic.reason;
  try {
    choose_device("cuda");
    ADD_FAILURE() << "--device cuda was accepted on a build/machine without CUDA";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find(why), std::string::npos) << e.what();
  }
}

TEST(DeviceChoice, HostCopiesOnTheCpu) {
  std::vector<float> a = {1, 2, 3, 4}, b(4, 0.0f);
  device_copy(Device::kCpu, b.data(), a.data(), 3 * sizeof(float));
  EXPECT_EQ(b, (std::vector<float>{1, 2, 3, 0}));
  device_upload(Device::kCpu, b.data() + 3, a.data(), sizeof(float));
  EXPECT_EQ(b, (std::vector<float>{1, 2, 3, 1}));
  EXPECT_EQ(device_free_bytes(Device::kCpu), -1);  // the CPU's budget is the host's RAM
  device_synchronize(Device::kCpu);  // a no-op that must not throw
}

}  // namespace
}  // namespace nucleus::kernels
