// The engine's paths that EngineDevice.SameRequestsOnCpuAndCuda does not
// reach, on each device: preemption, beam search, JSON-mode masks, prompt
// logprobs and draft-model speculation. Each case runs the same requests on
// a CPU engine in its plainest configuration (a large cache, no speculation)
// and on an engine on the device under test configured to take the path (a
// cache small enough to preempt, a draft model, ...), stepped by hand so that
// what happens does not depend on thread timing.
//
// What must agree, per device:
//   cpu   bitwise: tokens, logprobs and beam scores (every CPU kernel is
//         batch-invariant, and preemption and speculation never change a
//         sample). This is what the cpu instances check here.
//   cuda  fp16 GEMMs (docs/cuda.md): logits move by ~1e-3 of their size, and
//         cuBLAS may change its algorithm with the batch shape. Along the
//         common prefix, each token's logprob within kCudaLogprob of the CPU's;
//         a greedy sequence may part from the CPU's only where the CPU's top
//         two were within kCudaSplit; seeded sequences may part anywhere (a
//         race ratio near a tie), the prefix before is checked the same way.
//         These bounds are not measured yet (no GPU has run them): the tiny
//         model's logits are below ~10, so 1e-3 relative is ~0.01.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <numeric>
#include <string>
#include <vector>

#include "engine/engine.h"
#include "engine/engine_core.h"
#include "kernels/device.h"
#include "model/kv_storage.h"
#include "tests/common/tiny_engine.h"
#include "tests/model/model_test_util.h"

namespace nucleus {
namespace {

using kernels::Device;
using namespace std::chrono_literals;

constexpr double kCudaLogprob = 0.02;  // nats
constexpr double kCudaSplit = 0.05;    // nats between the CPU's top two where greedy outputs may part

// Everything a request produced.
struct Outcome {
  std::map<int, std::vector<int32_t>> tokens;
  std::map<int, std::vector<TokenLogprob>> logprobs;
  std::map<int, std::string> text;
  std::map<int, FinishReason> finish;
  std::map<int, double> beam_score;
  std::vector<TokenLogprob> prompt_logprobs;
  std::string error;
  bool done = false;
};

Outcome collect(RequestHandle& handle) {
  Outcome run;
  while (!run.done) {
    auto event = handle.next(10s);
    if (!event) {
      ADD_FAILURE() << "no event: the stepped engine left a request unfinished";
      return run;
    }
    for (const SequenceDelta& d : event->deltas) {
      run.tokens[d.index].insert(run.tokens[d.index].end(), d.tokens.begin(), d.tokens.end());
      run.logprobs[d.index].insert(run.logprobs[d.index].end(), d.logprobs.begin(), d.logprobs.end());
      run.text[d.index] += d.text;
      if (d.finish != FinishReason::kNone) run.finish[d.index] = d.finish;
      if (d.beam_score) run.beam_score[d.index] = *d.beam_score;
    }
    if (!event->prompt_logprobs.empty()) run.prompt_logprobs = event->prompt_logprobs;
    if (!event->error.empty()) run.error = event->error;
    run.done = event->done;
  }
  return run;
}

class EngineDevicePaths : public ::testing::TestWithParam<Device> {
 protected:
  static void SetUpTestSuite() { lm_ = new test::TinyLm(test::make_tiny_lm()); }
  static void TearDownTestSuite() {
    delete lm_;
    lm_ = nullptr;
  }
  void SetUp() override {
    if (GetParam() == Device::kCuda) {
      std::string why;
      if (!kernels::cuda_available(&why)) GTEST_SKIP() << "CUDA unavailable: " << why;
    }
  }
  Device device() const { return GetParam(); }
  bool exact() const { return device() == Device::kCpu; }

  static EngineOptions options(Device device, int64_t blocks) {
    EngineOptions o = test::tiny_options(*lm_, blocks);
    o.device = device;
    return o;
  }
  static EngineOptions reference_options() { return options(Device::kCpu, 256); }

  // All requests submitted before the first step, then stepped to the end on this thread.
  static std::vector<Outcome> run(const EngineOptions& o, const std::vector<GenerationRequest>& requests,
                              EngineStats* stats = nullptr) {
    EngineCore core(*lm_->model, *lm_->tokenizer, o);
    std::vector<std::unique_ptr<RequestHandle>> handles;
    for (const GenerationRequest& r : requests) handles.push_back(core.submit(r));
    while (core.step()) {
    }
    std::vector<Outcome> out;
    for (auto& h : handles) out.push_back(collect(*h));
    if (stats) *stats = core.stats();
    EXPECT_EQ(core.stats().kv_blocks_used, 0) << "blocks left after every request finished";
    return out;
  }

  // The reference: each request alone in a large CPU cache.
  static std::vector<Outcome> run_alone(const std::vector<GenerationRequest>& requests) {
    std::vector<Outcome> out;
    for (const GenerationRequest& r : requests) out.push_back(run(reference_options(), {r})[0]);
    return out;
  }

  // One sequence of the device run against the same sequence of the CPU reference.
  void expect_same_sequence(const Outcome& ref, const Outcome& got, int index, bool greedy, const std::string& what) const {
    ASSERT_TRUE(got.error.empty()) << what << ": " << got.error;
    ASSERT_TRUE(got.done) << what;
    const std::vector<int32_t>& a = ref.tokens.at(index);
    const std::vector<int32_t>& b = got.tokens.at(index);
    const std::vector<TokenLogprob>& la = ref.logprobs.at(index);
    const std::vector<TokenLogprob>& lb = got.logprobs.at(index);
    if (exact()) {
      EXPECT_EQ(b, a) << what;
      ASSERT_EQ(lb.size(), la.size()) << what;
      for (size_t i = 0; i < la.size(); ++i) {
        EXPECT_EQ(lb[i].logprob, la[i].logprob) << what << " token " << i;
        EXPECT_EQ(lb[i].rank, la[i].rank) << what << " token " << i;
      }
      EXPECT_EQ(got.finish.at(index), ref.finish.at(index)) << what;
      return;
    }
    for (int32_t t : b) EXPECT_TRUE(t >= 0 && t < lm_->vocab) << what << ": token " << t;
    ASSERT_EQ(lb.size(), b.size()) << what;
    size_t i = 0;
    for (; i < std::min(a.size(), b.size()) && a[i] == b[i]; ++i) {
      EXPECT_NEAR(lb[i].logprob, la[i].logprob, kCudaLogprob) << what << " token " << i;
    }
    if (i < std::min(a.size(), b.size())) {
      std::printf("  %s: parts from the CPU at token %zu of %zu\n", what.c_str(), i, a.size());
      if (greedy) {
        ASSERT_GE(la[i].top.size(), 2u) << what << ": the reference must ask for 2 alternatives";
        EXPECT_LE(la[i].top[0].logprob - la[i].top[1].logprob, kCudaSplit)
            << what << ": a greedy output parted from the CPU's at token " << i << " where the CPU's margin was clear";
      }
    }
  }

  // Every sequence of every request.
  void expect_same_runs(const std::vector<GenerationRequest>& requests, const std::vector<Outcome>& ref,
                        const std::vector<Outcome>& got, const std::string& what) const {
    ASSERT_EQ(ref.size(), got.size());
    for (size_t r = 0; r < ref.size(); ++r) {
      ASSERT_TRUE(ref[r].error.empty()) << ref[r].error;
      for (int k = 0; k < requests[r].n; ++k) {
        expect_same_sequence(ref[r], got[r], k, requests[r].params.greedy(),
                             what + ", request " + std::to_string(r) + " sequence " + std::to_string(k));
      }
    }
  }

  static test::TinyLm* lm_;
};
test::TinyLm* EngineDevicePaths::lm_ = nullptr;

// Greedy, penalised, seeded top-p and n = 2 requests, each with 2 processed
// logprob alternatives (the margin a greedy split is judged by).
std::vector<GenerationRequest> mixed_requests(int count, int prompt_len, int max_tokens) {
  std::vector<GenerationRequest> out;
  for (int i = 0; i < count; ++i) {
    GenerationRequest r;
    r.prompt = test::tiny_prompt(prompt_len + 3 * i, 40 + i);
    r.max_tokens = max_tokens;
    r.params.ignore_eos = true;
    r.params.has_seed = true;
    r.params.seed = 900 + i;
    r.params.logprobs = 2;
    r.params.logprobs_mode = sampling::LogprobsMode::kProcessed;
    switch (i % 4) {
      case 0:
        r.params.temperature = 0.0f;
        break;
      case 1:
        r.params.temperature = 0.0f;
        r.params.repetition_penalty = 1.3f, r.params.frequency_penalty = 0.4f, r.params.presence_penalty = 0.2f;
        break;
      case 2:
        r.params.temperature = 0.8f, r.params.top_p = 0.9f, r.params.presence_penalty = 0.3f;
        break;
      case 3:
        r.params.temperature = 1.0f, r.n = 2;
        break;
    }
    out.push_back(std::move(r));
  }
  return out;
}

// A cache of 10 blocks for six requests of up to ~70 tokens: sequences are
// preempted and recomputed on the device; nothing they produce may change.
TEST_P(EngineDevicePaths, Preemption) {
  const std::vector<GenerationRequest> requests = mixed_requests(6, 30, 20);
  const std::vector<Outcome> ref = run(reference_options(), requests);
  EngineOptions o = options(device(), 10);
  o.prefix_cache = false;
  o.max_batched_tokens = 16;
  EngineStats stats;
  const std::vector<Outcome> got = run(o, requests, &stats);
  EXPECT_GT(stats.preemptions, 0) << "the cache was big enough: nothing was preempted";
  std::printf("  %s: %ld preemptions\n", kernels::device_name(device()), static_cast<long>(stats.preemptions));
  expect_same_runs(requests, ref, got, "preemption");
}

// Two beam requests and a sampled one at once on the device, in a cache that
// holds one beam request at a time (beams are preempted, some while waiting
// for their siblings' rows), against each request alone on the CPU. Beam
// scores are sums of logprobs: on CUDA each result's score is within
// kCudaLogprob per token of the CPU's result of the same rank (approximate: a
// near tie may swap which beams survive, not by more than that per step here).
TEST_P(EngineDevicePaths, BeamSearch) {
  std::vector<GenerationRequest> requests(2);
  for (int k = 0; k < 2; ++k) {
    GenerationRequest& r = requests[k];
    r.prompt = test::tiny_prompt(30 + 10 * k, 60 + k);
    r.n = 4 - 2 * k;
    r.max_tokens = 14 - 2 * k;
    r.params.temperature = 0.0f;
    r.params.logit_bias.push_back({lm_->eos, 1.0f});  // some beams end early
    r.beam = BeamSearchOptions{4 - k, 1.0f, k == 0 ? sampling::EarlyStopping::kHeuristic : sampling::EarlyStopping::kNever};
  }
  requests.push_back(mixed_requests(3, 50, 20)[2]);
  const std::vector<Outcome> ref = run_alone(requests);
  EngineOptions o = options(device(), 14);  // 2 + 4 * (1 + 1) blocks for the first request's worst case
  o.prefix_cache = false;
  o.max_batched_tokens = 16;
  EngineStats stats;
  const std::vector<Outcome> got = run(o, requests, &stats);
  EXPECT_GT(stats.preemptions, 0) << "the cache was big enough: nothing was preempted";
  for (int k = 0; k < 2; ++k) {
    ASSERT_TRUE(got[k].error.empty()) << got[k].error;
    ASSERT_EQ(got[k].beam_score.size(), static_cast<size_t>(requests[k].n)) << "request " << k;
    ASSERT_EQ(ref[k].beam_score.size(), got[k].beam_score.size()) << "request " << k;
    for (int i = 0; i < requests[k].n; ++i) {
      const std::string what = "beam request " + std::to_string(k) + " result " + std::to_string(i);
      if (exact()) {
        EXPECT_EQ(got[k].tokens.at(i), ref[k].tokens.at(i)) << what;
        EXPECT_EQ(got[k].beam_score.at(i), ref[k].beam_score.at(i)) << what;
      } else {
        EXPECT_NEAR(got[k].beam_score.at(i), ref[k].beam_score.at(i), kCudaLogprob * requests[k].max_tokens) << what;
        if (got[k].tokens.at(i) != ref[k].tokens.at(i)) std::printf("  %s: other tokens than the CPU's\n", what.c_str());
      }
    }
  }
  expect_same_runs({requests[2]}, {ref[2]}, {got[2]}, "sampled request beside the beams");
}

// JSON mode: the mask reaches the device sampler as banned ids. Ten requests
// at once in a small cache on the device (preempted, n = 2 on some) against
// each alone on the CPU. Every output that finished must parse as one JSON
// object (nlohmann::json, an independent parser), on every device; and the
// runs must agree with the CPU's as above.
TEST_P(EngineDevicePaths, JsonModeMasks) {
  std::vector<GenerationRequest> requests;
  for (int i = 0; i < 10; ++i) {
    GenerationRequest r;
    r.prompt = test::tiny_prompt(12, 70 + i);
    r.max_tokens = 200;
    r.params.temperature = i % 2 ? 1.0f : 0.0f;
    r.params.has_seed = true;
    r.params.seed = 70 + i;
    r.params.logprobs = 2;
    r.params.logprobs_mode = sampling::LogprobsMode::kProcessed;
    r.response_format = ResponseFormat::kJsonObject;
    if (i % 4 == 3) r.n = 2;
    // The random model rarely closes what it opens: favour the closing brackets.
    for (const char* close : {"}", "]"}) r.params.logit_bias.push_back({lm_->tokenizer->token_to_id(close), 4.0f});
    requests.push_back(std::move(r));
  }
  const std::vector<Outcome> ref = run_alone(requests);
  EngineStats stats;
  const std::vector<Outcome> got = run(options(device(), 24), requests, &stats);  // small: requests preempt each other
  EXPECT_GT(stats.preemptions, 0);
  int finished = 0;
  for (const Outcome& r : got) {
    ASSERT_TRUE(r.error.empty()) << r.error;
    for (const auto& [index, text] : r.text) {
      if (r.finish.at(index) != FinishReason::kStop) continue;
      ++finished;
      EXPECT_TRUE(nlohmann::json::accept(text) && nlohmann::json::parse(text).is_object()) << "not one JSON object: " << text;
    }
  }
  std::printf("  %d outputs closed their object; %ld preemptions\n", finished, static_cast<long>(stats.preemptions));
  EXPECT_GE(finished, 5) << "too few outputs closed their object to test the mask";
  expect_same_runs(requests, ref, got, "JSON mode");
}

// Prompt logprobs against a float64 log-softmax of the CPU model's logits
// (Model::forward on the whole prompt, no engine): within 1e-5 and the same
// ranks and alternatives on the CPU; within kCudaLogprob on CUDA, with the
// alternatives checked where the reference's are kCudaSplit apart.
TEST_P(EngineDevicePaths, PromptLogprobs) {
  const std::vector<int32_t> prompt = test::tiny_prompt(40, 80);
  kernels::ThreadPool pool(1);
  KvStorage kv(lm_->model->config(), 8, 16, Device::kCpu);
  const std::vector<float> logits =
      test::run_chunked(*lm_->model, kv, kernels::Context{Device::kCpu, &pool}, prompt, prompt.size());
  GenerationRequest r;
  r.prompt = prompt;
  r.max_tokens = 4;
  r.params.temperature = 0.0f;
  r.params.ignore_eos = true;
  r.prompt_logprobs = 3;
  EngineOptions o = options(device(), 64);
  o.max_batched_tokens = 16;  // the prompt arrives in three chunks
  const Outcome got = run(o, {r})[0];
  ASSERT_TRUE(got.error.empty()) << got.error;
  ASSERT_EQ(got.prompt_logprobs.size(), prompt.size() - 1);
  const int vocab = lm_->vocab;
  const double bound = exact() ? 1e-5 : kCudaLogprob;
  for (size_t p = 0; p + 1 < prompt.size(); ++p) {
    const float* row = logits.data() + p * vocab;
    double mx = -INFINITY, z = 0.0;
    for (int i = 0; i < vocab; ++i) mx = std::max(mx, double(row[i]));
    for (int i = 0; i < vocab; ++i) z += std::exp(double(row[i]) - mx);
    auto lp = [&](int i) { return double(row[i]) - mx - std::log(z); };
    std::vector<int> ids(vocab);
    std::iota(ids.begin(), ids.end(), 0);
    std::stable_sort(ids.begin(), ids.end(), [&](int a, int b) { return row[a] > row[b]; });
    const TokenLogprob& e = got.prompt_logprobs[p];
    const int32_t target = prompt[p + 1];
    EXPECT_EQ(e.token, target) << "position " << p;
    EXPECT_NEAR(e.logprob, lp(target), bound) << "position " << p;
    if (exact()) {
      EXPECT_EQ(e.rank, std::count_if(row, row + vocab, [&](float v) { return v >= row[target]; })) << "position " << p;
    }
    ASSERT_EQ(e.top.size(), 3u) << "position " << p;
    for (int k = 0; k < 3; ++k) {
      const bool clear = (k == 0 || lp(ids[k - 1]) - lp(ids[k]) > kCudaSplit) && lp(ids[k]) - lp(ids[k + 1]) > kCudaSplit;
      if (exact() || clear) {
        EXPECT_EQ(e.top[k].token, ids[k]) << "position " << p << " alternative " << k;
      }
      if (e.top[k].token == ids[k]) {
        EXPECT_NEAR(e.top[k].logprob, lp(ids[k]), bound) << "position " << p << " alternative " << k;
      }
    }
  }
}

// Draft-model speculation on the device (the model drafting for itself, so
// drafts are often kept) against plain decoding on the CPU.
TEST_P(EngineDevicePaths, DraftModelSpeculation) {
  const std::vector<GenerationRequest> requests = mixed_requests(4, 20, 24);
  const std::vector<Outcome> ref = run(reference_options(), requests);
  EngineOptions o = options(device(), 128);
  o.speculation = Speculation::kDraft;
  o.draft_model = lm_->model.get();
  o.spec_tokens = 4;
  EngineStats stats;
  const std::vector<Outcome> got = run(o, requests, &stats);
  std::printf("  %s: %ld drafted, %ld accepted\n", kernels::device_name(device()), static_cast<long>(stats.spec_drafted),
              static_cast<long>(stats.spec_accepted));
  EXPECT_GT(stats.spec_accepted, 10) << "no draft was kept: the verification path was not exercised";
  EXPECT_LT(stats.spec_accepted, stats.spec_drafted) << "no draft was rejected";
  EXPECT_EQ(stats.spec_draft_kv_blocks_used, 0) << "draft KV blocks leaked";
  expect_same_runs(requests, ref, got, "draft speculation");
}

INSTANTIATE_TEST_SUITE_P(Devices, EngineDevicePaths, ::testing::Values(Device::kCpu, Device::kCuda),
                         [](const ::testing::TestParamInfo<Device>& info) {
                           return std::string(kernels::device_name(info.param));
                         });

}  // namespace
}  // namespace nucleus
