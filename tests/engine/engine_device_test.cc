// The engine on each device. Here (no GPU, or no CUDA in the build) an engine
// asked for CUDA must fail at construction with a clear message. With a GPU,
// the same requests run on the CPU and on CUDA: greedy, penalised, seeded
// top-p, n = 2 and speculative rows must all complete on CUDA, greedy first
// tokens must agree with the CPU, and the agreement of whole outputs is
// printed (fp16 weights on CUDA: later tokens may part at near-ties).
#include <gtest/gtest.h>

#include <cstdio>
#include <stdexcept>
#include <string>
#include <vector>

#include "engine/engine.h"
#include "kernels/device.h"
#include "tests/common/tiny_engine.h"

namespace nucleus {
namespace {

TEST(EngineDevice, CudaWithoutADeviceFailsClearlyAtConstruction) {
  std::string why;
  if (kernels::cuda_available(&why)) GTEST_SKIP() << "a CUDA device is present: EngineDevice.SameRequestsOnCpuAndCuda covers it";
  test::TinyLm lm = test::make_tiny_lm();
  EngineOptions options = test::tiny_options(lm, 32);
  options.device = kernels::Device::kCuda;
  try {
    Engine engine(*lm.model, *lm.tokenizer, options);
    ADD_FAILURE() << "an engine started on CUDA without CUDA";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("CUDA"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(why), std::string::npos) << e.what();
  }
}

std::vector<GenerationRequest> device_requests() {
  std::vector<GenerationRequest> requests;
  auto add = [&](uint32_t seed, auto&& tweak) {
    GenerationRequest r;
    r.prompt = test::tiny_prompt(20 + static_cast<int>(seed) * 3, seed);
    r.max_tokens = 24;
    r.params.ignore_eos = true;
    r.params.has_seed = true;
    r.params.seed = 100 + seed;
    tweak(r);
    requests.push_back(std::move(r));
  };
  add(1, [](GenerationRequest& r) { r.params.temperature = 0.0f; });
  add(2, [](GenerationRequest& r) {
    r.params.temperature = 0.0f;
    r.params.repetition_penalty = 1.3f;
    r.params.frequency_penalty = 0.4f;
    r.params.presence_penalty = 0.2f;
  });
  add(3, [](GenerationRequest& r) {
    r.params.temperature = 0.9f;
    r.params.top_p = 0.9f;
    r.params.top_k = 20;
    r.params.logprobs = 3;
  });
  add(4, [](GenerationRequest& r) {
    r.params.temperature = 0.8f;
    r.n = 2;
  });
  add(5, [](GenerationRequest& r) {
    r.params.temperature = 0.0f;
    r.params.frequency_penalty = 0.5f;
    r.speculation = Speculation::kNgram;
  });
  return requests;
}

std::vector<test::Drained> run_on(kernels::Device device, const test::TinyLm& lm) {
  EngineOptions options = test::tiny_options(lm, 128);
  options.device = device;
  Engine engine(*lm.model, *lm.tokenizer, options);
  std::vector<std::unique_ptr<RequestHandle>> handles;
  for (const GenerationRequest& r : device_requests()) handles.push_back(engine.submit(r));
  std::vector<test::Drained> out;
  for (auto& h : handles) out.push_back(test::drain(*h));
  return out;
}

TEST(EngineDevice, SameRequestsOnCpuAndCuda) {
  std::string why;
  if (!kernels::cuda_available(&why)) GTEST_SKIP() << "CUDA unavailable: " << why;
  test::TinyLm lm = test::make_tiny_lm();
  const std::vector<test::Drained> cpu = run_on(kernels::Device::kCpu, lm);
  const std::vector<test::Drained> cuda = run_on(kernels::Device::kCuda, lm);
  const std::vector<GenerationRequest> requests = device_requests();
  ASSERT_EQ(cpu.size(), cuda.size());
  size_t equal = 0, total = 0;
  for (size_t i = 0; i < cuda.size(); ++i) {
    EXPECT_TRUE(cuda[i].done) << "request " << i;
    EXPECT_TRUE(cuda[i].error.empty()) << "request " << i << ": " << cuda[i].error;
    for (int k = 0; k < requests[i].n; ++k) {
      const std::vector<int32_t>& a = cpu[i].tokens.at(k);
      const std::vector<int32_t>& b = cuda[i].tokens.at(k);
      EXPECT_EQ(b.size(), static_cast<size_t>(requests[i].max_tokens)) << "request " << i << " sequence " << k;
      for (int32_t t : b) EXPECT_TRUE(t >= 0 && t < lm.vocab) << t;
      if (requests[i].params.temperature == 0.0f && !a.empty() && !b.empty()) {
        EXPECT_EQ(a[0], b[0]) << "greedy request " << i << ": first token differs between CPU and CUDA";
      }
      size_t same = 0;
      while (same < std::min(a.size(), b.size()) && a[same] == b[same]) ++same;
      equal += same;
      total += a.size();
    }
  }
  std::printf("  CPU and CUDA outputs agree on %zu of %zu tokens (common prefixes)\n", equal, total);
}

}  // namespace
}  // namespace nucleus
