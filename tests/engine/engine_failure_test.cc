// A step that throws (a device error, out of memory) fails the requests in
// flight with its message and leaves the engine thread serving: nothing may
// reach std::terminate.
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <vector>
#include <stdexcept>

#include "engine/engine_core.h"
#include "kernels/thread_pool.h"
#include "tests/common/tiny_engine.h"

namespace nucleus {
namespace {

// The CPU backend, with forward() throwing while `fail` is set.
class FaultyBackend final : public StepBackend {
 public:
  FaultyBackend(std::unique_ptr<StepBackend> inner, std::shared_ptr<std::atomic<bool>> fail)
      : inner_(std::move(inner)), fail_(std::move(fail)) {}
  void forward(Model& model, const ForwardBatch& batch, KvStorage& kv) override {
    if (fail_->load()) throw std::runtime_error("injected device fault");
    inner_->forward(model, batch, kv);
  }
  void sample(std::span<const SampleRow> rows, std::span<sampling::RowResult> results) override {
    inner_->sample(rows, results);
  }
  void read_logits(size_t logit_row, float* host) const override { inner_->read_logits(logit_row, host); }
  std::string device_failure() const override { return lost_ ? "injected: the device is lost" : ""; }
  void lose_device() { lost_ = true; }

 private:
  std::unique_ptr<StepBackend> inner_;
  std::shared_ptr<std::atomic<bool>> fail_;
  std::atomic<bool> lost_{false};
};

GenerationRequest greedy(int prompt_seed, int n) {
  GenerationRequest r;
  r.prompt = test::tiny_prompt(12, static_cast<uint32_t>(prompt_seed));
  r.params.temperature = 0.0f;
  r.max_tokens = 8;
  r.n = n;
  return r;
}

TEST(EngineFailure, AThrowingStepFailsTheRequestsInFlightAndTheEngineGoesOn) {
  test::TinyLm lm = test::make_tiny_lm();
  const EngineOptions options = test::tiny_options(lm, 32);
  kernels::ThreadPool pool(1);
  const kernels::Context ctx{kernels::Device::kCpu, &pool};
  auto fail = std::make_shared<std::atomic<bool>>(true);
  EngineCore core(*lm.model, *lm.tokenizer, options,
                  std::make_unique<FaultyBackend>(make_step_backend(ctx, lm.vocab), fail));
  core.start();

  std::unique_ptr<RequestHandle> a = core.submit(greedy(1, 1));
  std::unique_ptr<RequestHandle> b = core.submit(greedy(2, 3));
  for (RequestHandle* h : {a.get(), b.get()}) {
    const test::Drained out = test::drain(*h);
    EXPECT_TRUE(out.done);
    EXPECT_NE(out.error.find("injected device fault"), std::string::npos) << out.error;
    for (const auto& [index, finish] : out.finish) EXPECT_EQ(finish, FinishReason::kError) << "sequence " << index;
  }

  fail->store(false);
  const test::Drained ok = test::drain(*core.submit(greedy(1, 1)));
  EXPECT_TRUE(ok.error.empty()) << ok.error;
  EXPECT_EQ(ok.tokens.at(0).size(), 8u);
  const EngineStats stats = core.stats();
  EXPECT_GE(stats.finished_error, 2);
  EXPECT_EQ(stats.kv_blocks_used, 0);
  core.shutdown(std::chrono::milliseconds(0));
}

// A failure that leaves the device unusable (a sticky CUDA error) is reported
// once through on_device_lost, and every later request fails at once with the
// reason, without another step on the device; the engine still shuts down.
TEST(EngineFailure, ALostDeviceIsReportedOnceAndLaterRequestsFailAtOnce) {
  test::TinyLm lm = test::make_tiny_lm();
  EngineOptions options = test::tiny_options(lm, 32);
  std::mutex mutex;
  std::vector<std::string> reports;
  options.on_device_lost = [&](const std::string& why) {
    std::lock_guard<std::mutex> lock(mutex);
    reports.push_back(why);
  };
  kernels::ThreadPool pool(1);
  const kernels::Context ctx{kernels::Device::kCpu, &pool};
  auto fail = std::make_shared<std::atomic<bool>>(true);
  auto backend = std::make_unique<FaultyBackend>(make_step_backend(ctx, lm.vocab), fail);
  backend->lose_device();
  EngineCore core(*lm.model, *lm.tokenizer, options, std::move(backend));
  core.start();

  const test::Drained first = test::drain(*core.submit(greedy(1, 2)));
  EXPECT_NE(first.error.find("injected device fault"), std::string::npos) << first.error;
  fail->store(false);  // the step would work again: the lost device must still refuse it
  for (int i = 0; i < 3; ++i) {
    const test::Drained later = test::drain(*core.submit(greedy(2 + i, 1)));
    EXPECT_TRUE(later.done);
    EXPECT_NE(later.error.find("the device can no longer run requests: injected: the device is lost"),
              std::string::npos)
        << later.error;
    EXPECT_TRUE(later.tokens.empty() || later.tokens.at(0).empty());
  }
  {
    std::lock_guard<std::mutex> lock(mutex);
    ASSERT_EQ(reports.size(), 1u);
    EXPECT_EQ(reports[0], "injected: the device is lost");
  }
  EXPECT_EQ(core.stats().kv_blocks_used, 0);
  core.shutdown(std::chrono::milliseconds(0));
}

}  // namespace
}  // namespace nucleus
