// The draft-model drafter on tiny in-memory models (tests/common/tiny_engine.h),
// so it runs without a model file: the vocabulary check at load, and outputs
// with draft-model speculation equal to plain decoding for greedy, sampled,
// penalised, seeded and n > 1 requests, alone, concurrent, under preemption
// and with aborts, with every block of both KV pools free afterwards. Three
// drafts: the target itself (agrees almost always on greedy requests), a
// Q8_0-quantized copy of it (agrees often, not always) and a model with other
// random weights (disagrees almost always), so both the acceptance and the
// rejection/rollback paths carry the identity.
#include "engine/draft_model_drafter.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "engine/engine.h"
#include "engine/engine_core.h"
#include "engine/kv_budget.h"
#include "tests/common/gguf_writer.h"
#include "tests/common/tiny_engine.h"

namespace nucleus {
namespace {

using namespace std::chrono_literals;
using test::drain;
using test::Drained;
using test::tiny_prompt;

std::unique_ptr<Model> tiny_model(const std::string& name, int vocab, uint32_t seed,
                                  std::vector<std::string> tokens = {}) {
  test::GgufWriter w;
  test::TinyModelSpec spec;
  spec.vocab_size = vocab;
  spec.seed = seed;
  test::add_tiny_model(w, spec);
  if (!tokens.empty()) w.set_value("tokenizer.ggml.tokens", test::GgufWriter::string_array(tokens));
  return std::make_unique<Model>(GgufFile::from_memory(name, w.build()));
}

TEST(DraftVocabulary, SameVocabularyPasses) {
  auto a = tiny_model("target.gguf", 64, 1), b = tiny_model("draft.gguf", 64, 2);
  EXPECT_NO_THROW(check_same_vocabulary(*a, *b));
}

TEST(DraftVocabulary, OtherSizeFailsNamingBothFiles) {
  auto a = tiny_model("target.gguf", 64, 1), b = tiny_model("draft.gguf", 65, 2);
  try {
    check_same_vocabulary(*a, *b);
    FAIL() << "no error";
  } catch (const std::invalid_argument& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("draft.gguf"), std::string::npos) << m;
    EXPECT_NE(m.find("target.gguf"), std::string::npos) << m;
    EXPECT_NE(m.find("65 vs 64"), std::string::npos) << m;
  }
}

TEST(DraftVocabulary, OtherTokenTextFailsNamingTheToken) {
  std::vector<std::string> tokens;
  for (int i = 0; i < 64; ++i) tokens.push_back("<t" + std::to_string(i) + ">");
  tokens[17] = "seventeen";
  auto a = tiny_model("target.gguf", 64, 1), b = tiny_model("draft.gguf", 64, 2, tokens);
  try {
    check_same_vocabulary(*a, *b);
    FAIL() << "no error";
  } catch (const std::invalid_argument& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("draft.gguf"), std::string::npos) << m;
    EXPECT_NE(m.find("target.gguf"), std::string::npos) << m;
    EXPECT_NE(m.find("token 17 is 'seventeen'"), std::string::npos) << m;
  }
}

std::unique_ptr<Model> tiny_model_with_heads(const std::string& name, uint32_t seed, int n_heads) {
  test::GgufWriter w;
  test::TinyModelSpec spec;
  spec.seed = seed;
  spec.n_heads = n_heads;
  spec.n_kv_heads = n_heads;
  test::add_tiny_model(w, spec);
  return std::make_unique<Model>(GgufFile::from_memory(name, w.build()));
}

// The draft model's KV cache is stored in the target's --kv-cache-dtype, or
// in f16 when the draft's head_dim cannot hold it (q8_0: a multiple of 32).
TEST(DraftKvCache, FollowsTheTargetsDtypeWhereTheDraftsHeadsFitIt) {
  kernels::ThreadPool pool(1);
  const kernels::Context ctx{kernels::Device::kCpu, &pool};
  auto target = tiny_model_with_heads("target.gguf", 1, 2);
  for (const kernels::KvDtype dtype : {kernels::KvDtype::kF32, kernels::KvDtype::kF16, kernels::KvDtype::kQ8_0}) {
    auto draft = tiny_model_with_heads("draft.gguf", 2, 2);  // head_dim 32
    DraftModelDrafter drafter(*target, *draft, ctx, DraftModelOptions{.num_blocks = 8, .kv_dtype = dtype});
    EXPECT_EQ(drafter.kv_dtype(), dtype) << kernels::kv_dtype_name(dtype);
  }
  auto narrow = tiny_model_with_heads("narrow.gguf", 3, 4);  // head_dim 16
  DraftModelDrafter q8(*target, *narrow, ctx, DraftModelOptions{.num_blocks = 8, .kv_dtype = kernels::KvDtype::kQ8_0});
  EXPECT_EQ(q8.kv_dtype(), kernels::kDefaultKvDtype);
  DraftModelDrafter f32(*target, *narrow, ctx, DraftModelOptions{.num_blocks = 8, .kv_dtype = kernels::KvDtype::kF32});
  EXPECT_EQ(f32.kv_dtype(), kernels::KvDtype::kF32);
}

// The engine sizes its pool (and so the draft model's, as many blocks) so
// that both caches fit --kv-cache-memory (engine/kv_budget.h).
TEST(DraftKvCache, BothCachesFitTheBudget) {
  test::TinyLm lm = test::make_tiny_lm();
  auto draft = tiny_model("draft.gguf", lm.vocab, 5);
  EngineOptions o = test::tiny_options(lm, 64);
  const int64_t per_block = o.block_size * (KvStorage::bytes_per_token(lm.model->config(), o.kv_dtype) +
                                            KvStorage::bytes_per_token(draft->config(), o.kv_dtype));
  EXPECT_EQ(Engine(*lm.model, *lm.tokenizer, o).stats().kv_blocks_total, 64);
  o.draft_model = draft.get();
  EXPECT_EQ(Engine(*lm.model, *lm.tokenizer, o).stats().kv_blocks_total, o.kv_cache_bytes / per_block);
  EXPECT_LT(o.kv_cache_bytes / per_block, 64);
}

TEST(DraftVocabulary, EngineRefusesAnIncompatibleDraftModel) {
  test::TinyLm lm = test::make_tiny_lm();
  auto other = tiny_model("other.gguf", lm.vocab + 1, 3);
  EngineOptions o = test::tiny_options(lm, 64);
  o.draft_model = other.get();
  EXPECT_THROW(Engine(*lm.model, *lm.tokenizer, o), std::invalid_argument);
}

class DraftModelSpeculation : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    lm_ = new test::TinyLm(test::make_tiny_lm(7));
    other_ = new test::TinyLm(test::make_tiny_lm(8));  // same vocabulary, other weights
    // The target's own weights, quantized: what make_tiny_lm(7) writes, in Q8_0.
    test::GgufWriter w;
    test::TinyModelSpec spec;
    spec.vocab_size = lm_->vocab;
    spec.context_length = 512;
    spec.seed = 7;
    spec.scale = 0.5f;
    spec.matrix_type = GgmlType::Q8_0;
    test::add_tiny_model(w, spec);
    quantized_ = new Model(GgufFile::from_memory("tiny-q8_0.gguf", w.build()));
  }
  static void TearDownTestSuite() {
    delete lm_;
    delete other_;
    delete quantized_;
    lm_ = other_ = nullptr;
    quantized_ = nullptr;
  }
  static const Tokenizer& tok() { return *lm_->tokenizer; }

  // `blocks` for the model's pool whether or not there is a draft model: the
  // budget then holds as many of the draft's too (engine/kv_budget.h).
  static EngineOptions opts(Speculation mode, Model* draft, int64_t blocks = 256) {
    EngineOptions o = test::tiny_options(*lm_, blocks);
    if (draft != nullptr) {
      o.kv_cache_bytes +=
          blocks * o.block_size * KvStorage::bytes_per_token(draft->config(), draft_kv_dtype(draft->config(), o.kv_dtype));
    }
    o.speculation = mode;
    o.draft_model = draft;
    o.spec_tokens = 4;
    return o;
  }

  // 20 requests: greedy, temperature + top-p + top-k, penalties, n = 2, min-p
  // with logprobs; each seeded; prompts of 3..84 tokens, some repeated.
  static std::vector<GenerationRequest> requests() {
    std::vector<GenerationRequest> out;
    for (int i = 0; i < 20; ++i) {
      GenerationRequest r;
      r.prompt = tiny_prompt(3 + 9 * (i % 10), 50 + i % 7);
      r.max_tokens = 20 + i % 6;
      r.params.has_seed = true;
      r.params.seed = 500 + i;
      r.params.ignore_eos = true;
      r.params.logprobs = 1;
      switch (i % 5) {
        case 0:
          r.params.temperature = 0;
          break;
        case 1:
          r.params.temperature = 0.8f, r.params.top_p = 0.9f, r.params.top_k = 30;
          break;
        case 2:
          r.params.temperature = 0.7f, r.params.repetition_penalty = 1.2f, r.params.presence_penalty = 0.4f,
          r.params.frequency_penalty = 0.3f;
          break;
        case 3:
          r.params.temperature = 1.0f, r.n = 2;
          break;
        case 4:
          r.params.temperature = 0.5f, r.params.min_p = 0.1f, r.params.logprobs = 3;
          break;
      }
      out.push_back(std::move(r));
    }
    return out;
  }

  static std::vector<Drained> run(const std::vector<GenerationRequest>& reqs, const EngineOptions& o, bool concurrent,
                                  EngineStats* stats) {
    Engine engine(*lm_->model, tok(), o);
    std::vector<Drained> out(reqs.size());
    if (concurrent) {
      std::vector<std::unique_ptr<RequestHandle>> handles;
      for (const auto& r : reqs) handles.push_back(engine.submit(r));
      for (size_t i = 0; i < reqs.size(); ++i) out[i] = drain(*handles[i]);
    } else {
      for (size_t i = 0; i < reqs.size(); ++i) out[i] = drain(*engine.submit(reqs[i]));
    }
    *stats = idle_stats(engine);
    return out;
  }

  static EngineStats idle_stats(Engine& engine) {
    EngineStats s = engine.stats();
    for (int i = 0; i < 500 && (s.running != 0 || s.kv_blocks_used != 0 || s.spec_draft_kv_blocks_used != 0); ++i) {
      std::this_thread::sleep_for(5ms);
      s = engine.stats();
    }
    return s;
  }

  static size_t count_tokens(const std::vector<Drained>& outs) {
    size_t n = 0;
    for (const Drained& d : outs) {
      for (const auto& [index, tokens] : d.tokens) n += tokens.size();
    }
    return n;
  }

  static test::TinyLm* lm_;
  static test::TinyLm* other_;
  static Model* quantized_;
};
test::TinyLm* DraftModelSpeculation::lm_ = nullptr;
test::TinyLm* DraftModelSpeculation::other_ = nullptr;
Model* DraftModelSpeculation::quantized_ = nullptr;

void expect_same(const std::vector<Drained>& a, const std::vector<Drained>& b, const std::string& what) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].tokens, b[i].tokens) << what << ", request " << i;
    EXPECT_EQ(a[i].text, b[i].text) << what << ", request " << i;
    EXPECT_EQ(a[i].finish, b[i].finish) << what << ", request " << i;
    EXPECT_TRUE(b[i].error.empty()) << b[i].error;
  }
}

TEST_F(DraftModelSpeculation, OutputsEqualPlainDecodingWithEitherDraft) {
  const auto reqs = requests();
  EngineStats plain_stats;
  const std::vector<Drained> plain = run(reqs, opts(Speculation::kOff, nullptr), false, &plain_stats);
  for (int n = 0; n < 20; n += 5) ASSERT_EQ(plain[n].tokens.at(0).size(), static_cast<size_t>(reqs[n].max_tokens));
  struct Case {
    const char* name;
    Model* draft;
    bool concurrent;
    int64_t min_accepted;  // real acceptances, or the identity is vacuous
  };
  const Case cases[] = {{"self draft, one at a time", lm_->model.get(), false, 100},
                        {"self draft, concurrent", lm_->model.get(), true, 100},
                        {"Q8_0 draft, one at a time", quantized_, false, 50},
                        {"Q8_0 draft, concurrent", quantized_, true, 50},
                        {"other draft, one at a time", other_->model.get(), false, 0},
                        {"other draft, concurrent", other_->model.get(), true, 0}};
  for (const Case& c : cases) {
    EngineStats s;
    const std::vector<Drained> spec = run(reqs, opts(Speculation::kDraft, c.draft), c.concurrent, &s);
    expect_same(plain, spec, c.name);
    std::printf("  %-27s %zu tokens equal, %ld drafted, %ld accepted\n", c.name, count_tokens(spec),
                static_cast<long>(s.spec_drafted), static_cast<long>(s.spec_accepted));
    EXPECT_GE(s.spec_accepted, c.min_accepted) << c.name;
    EXPECT_LT(s.spec_accepted, s.spec_drafted) << c.name;  // and real rejections
    EXPECT_GT(s.spec_drafted, 50) << c.name;
    EXPECT_EQ(s.kv_blocks_used, 0) << c.name;
    EXPECT_EQ(s.spec_draft_kv_blocks_used, 0) << c.name << ": draft KV blocks leaked";
  }
}

TEST_F(DraftModelSpeculation, PerRequestChoiceAndEngineDefaultAgree) {
  // The engine default is off; half the requests ask for the draft model themselves.
  auto reqs = requests();
  EngineStats plain_stats, mixed_stats;
  const std::vector<Drained> plain = run(reqs, opts(Speculation::kOff, other_->model.get()), true, &plain_stats);
  EXPECT_EQ(plain_stats.spec_drafted, 0) << "speculation ran although nothing asked for it";
  for (size_t i = 0; i < reqs.size(); i += 2) reqs[i].speculation = Speculation::kDraft;
  for (size_t i = 1; i < reqs.size(); i += 4) reqs[i].speculation = Speculation::kNgram;
  const std::vector<Drained> mixed = run(reqs, opts(Speculation::kOff, lm_->model.get()), true, &mixed_stats);
  expect_same(plain, mixed, "per-request speculation");
  EXPECT_GT(mixed_stats.spec_accepted, 0);
  EXPECT_EQ(mixed_stats.spec_draft_kv_blocks_used, 0);
}

TEST_F(DraftModelSpeculation, DraftWithoutADraftModelIsRefused) {
  EXPECT_THROW(Engine(*lm_->model, tok(), opts(Speculation::kDraft, nullptr)), std::invalid_argument);
  Engine engine(*lm_->model, tok(), opts(Speculation::kNgram, nullptr));
  GenerationRequest r = requests()[0];
  r.speculation = Speculation::kDraft;
  try {
    engine.submit(r);
    FAIL() << "accepted a draft-model request without a draft model";
  } catch (const InvalidRequest& e) {
    EXPECT_EQ(e.param(), "speculative");
  }
}

// Random submit / abort / finish on a pool small enough to preempt, stepped
// by hand: both KV pools balance after every step and are empty at the end,
// and every request that was not aborted produced exactly its plain output.
TEST_F(DraftModelSpeculation, SteppedRunWithPreemptionAndAbortsMatchesPlainAndFreesBothPools) {
  std::mt19937 rng(91);
  std::vector<GenerationRequest> reqs;
  for (int i = 0; i < 60; ++i) {
    GenerationRequest r;
    r.prompt = tiny_prompt(1 + static_cast<int>(rng() % 50), rng() % 5);
    r.max_tokens = 1 + static_cast<int>(rng() % 24);
    r.params.has_seed = true;
    r.params.seed = rng();
    r.params.ignore_eos = true;
    r.params.temperature = rng() % 3 == 0 ? 0.0f : 0.9f;
    r.params.presence_penalty = rng() % 2 ? 0.5f : 0.0f;
    r.n = rng() % 4 == 0 ? 2 : 1;
    r.speculation = Speculation::kDraft;
    reqs.push_back(std::move(r));
  }
  EngineOptions o = opts(Speculation::kOff, other_->model.get(), /*blocks=*/8);
  o.max_batched_tokens = 12;
  o.max_seqs = 5;
  std::vector<Model*> drafts = {quantized_, other_->model.get()};
  for (Model* draft : drafts) {
    o.draft_model = draft;
    EngineCore core(*lm_->model, tok(), o);
    std::vector<std::unique_ptr<RequestHandle>> handles(reqs.size());
    std::vector<Drained> outs(reqs.size());
    std::vector<bool> aborted(reqs.size(), false);
    size_t next = 0;
    for (int round = 0; next < reqs.size() || core.stats().running + core.stats().waiting > 0; ++round) {
      if (round >= 50000) {
        const EngineStats s = core.stats();
        FAIL() << "the engine never drained: running " << s.running << ", waiting " << s.waiting << ", next " << next
               << ", blocks " << s.kv_blocks_used << ", draft blocks " << s.spec_draft_kv_blocks_used;
      }
      if (next < reqs.size() && rng() % 3 == 0) {
        handles[next] = core.submit(reqs[next]);
        ++next;
      }
      if (next > 0 && next < reqs.size() && rng() % 10 == 0) {
        const size_t victim = rng() % next;
        if (handles[victim] && !aborted[victim]) {
          handles[victim]->abort();
          aborted[victim] = true;
        }
      }
      core.step();
      const EngineStats s = core.stats();
      ASSERT_LE(s.kv_blocks_used + s.kv_blocks_cached, s.kv_blocks_total) << "round " << round;
      ASSERT_LE(s.spec_draft_kv_blocks_used, s.kv_blocks_total) << "round " << round;
    }
    const EngineStats s = core.stats();
    EXPECT_EQ(s.kv_blocks_used, 0);
    EXPECT_EQ(s.spec_draft_kv_blocks_used, 0) << "draft KV blocks leaked";
    EXPECT_GT(s.preemptions, 0) << "the pool never ran out: preemption was not exercised";
    if (draft == quantized_) {
      EXPECT_GT(s.spec_accepted, 0);
    }
    EXPECT_LT(s.spec_accepted, s.spec_drafted);
    int compared = 0;
    for (size_t i = 0; i < reqs.size(); ++i) {
      outs[i] = drain(*handles[i], 0ms);
      if (aborted[i]) continue;
      GenerationRequest plain = reqs[i];
      plain.speculation = Speculation::kOff;
      Engine reference(*lm_->model, tok(), test::tiny_options(*lm_, 64));
      const Drained want = drain(*reference.submit(plain));
      EXPECT_EQ(outs[i].tokens, want.tokens) << "request " << i;
      ++compared;
    }
    EXPECT_GT(compared, 30);
    std::printf("  stepped, %s draft: %d outputs equal plain, %ld preemptions, %ld drafted, %ld accepted\n",
                draft == quantized_ ? "Q8_0" : "other", compared, static_cast<long>(s.preemptions),
                static_cast<long>(s.spec_drafted), static_cast<long>(s.spec_accepted));
  }
}

}  // namespace
}  // namespace nucleus
