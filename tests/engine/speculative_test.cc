// Speculative decoding is only a speed-up: for every request, greedy or
// sampled, with penalties, seeds and n > 1, the tokens (and logprobs) with
// n-gram speculation and with draft-model speculation equal those without,
// alone and under concurrency. Runs on the default model with copy-heavy
// prompts, so drafts are accepted often and the identity is tested on real
// acceptances, not vacuously. Draft models: the default model itself, and a
// tiny random-weight model with its vocabulary that disagrees almost always
// (rejections and rollbacks). tests/engine/draft_model_drafter_test.cc covers
// the draft-model drafter on tiny models (preemption, aborts, options).
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "engine/engine.h"
#include "model/model.h"
#include "engine/ngram_drafter.h"
#include "engine/spec_pacing.h"
#include "model/tokenizer_gguf.h"
#include "text/tokenizer.h"
#include "tests/common/gguf_writer.h"
#include "tests/common/test_env.h"

namespace nucleus {
namespace {

TEST(NgramDrafter, DraftsWhatFollowedTheMostRecentMatch) {
  const std::vector<int32_t> tokens = {1, 2, 3, 9, 1, 2, 3, 7, 8, 5, 1, 2, 3};
  // Suffix [1,2,3] last occurred at 4..6, followed by 7, 8, 5.
  EXPECT_EQ(draft_ngram(tokens, 3), (std::vector<int32_t>{7, 8, 5}));
  EXPECT_EQ(draft_ngram(tokens, 10), (std::vector<int32_t>{7, 8, 5, 1, 2, 3}));
  EXPECT_EQ(draft_ngram(std::vector<int32_t>{4, 5, 6}, 3), std::vector<int32_t>{});  // no repeat
  EXPECT_EQ(draft_ngram(std::vector<int32_t>{4, 5, 4}, 2), (std::vector<int32_t>{5, 4}));  // 1-gram fallback
  EXPECT_EQ(draft_ngram(tokens, 0), std::vector<int32_t>{});
}

TEST(NgramDrafter, PrefersTheLongestMatchOverTheMostRecent) {
  // The suffix [4, 1, 2] matched 3 long at 0..2 (then 7, 8); its last two
  // tokens [1, 2] alone recur later at 5..6, followed by 9.
  const std::vector<int32_t> tokens = {4, 1, 2, 7, 8, 1, 2, 9, 6, 4, 1, 2};
  EXPECT_EQ(draft_ngram(tokens, 2, {.max_n = 8, .min_n = 2}), (std::vector<int32_t>{7, 8}));
  // Capped at 2 tokens, both matches are equally long and the most recent wins.
  EXPECT_EQ(draft_ngram(tokens, 2, {.max_n = 2, .min_n = 2}), (std::vector<int32_t>{9, 6}));
  // A match must reach min_n tokens.
  EXPECT_EQ(draft_ngram(tokens, 2, {.max_n = 8, .min_n = 4}), std::vector<int32_t>{});
  // Matches as long as max_n tie, whatever lies before them: the more recent wins.
  const std::vector<int32_t> twice = {1, 2, 3, 4, 5, 1, 2, 3, 4, 6, 1, 2, 3, 4};
  EXPECT_EQ(draft_ngram(twice, 1, {.max_n = 3, .min_n = 2}), std::vector<int32_t>{6});
  EXPECT_EQ(draft_ngram(twice, 1, {.max_n = 4, .min_n = 2}), std::vector<int32_t>{6});
}

TEST(NgramDrafter, LengthByMatchDraftsOneTokenLessThanTheMatch) {
  const NgramDrafterOptions by_match{.max_n = 64, .min_n = 2, .length_by_match = true};
  // Suffix [1, 2] matches 2 long (the 9 before it differs): one token.
  const std::vector<int32_t> short_match = {5, 1, 2, 3, 4, 5, 6, 9, 1, 2};
  EXPECT_EQ(draft_ngram(short_match, 8, by_match), std::vector<int32_t>{3});
  EXPECT_EQ(draft_ngram(short_match, 8, {.max_n = 64, .min_n = 2}), (std::vector<int32_t>{3, 4, 5, 6, 9, 1, 2}));
  // Suffix [5, 1, 2] matches 3 long: two tokens; max_tokens still caps.
  const std::vector<int32_t> longer = {5, 1, 2, 3, 4, 5, 6, 5, 1, 2};
  EXPECT_EQ(draft_ngram(longer, 8, by_match), (std::vector<int32_t>{3, 4}));
  EXPECT_EQ(draft_ngram(longer, 1, by_match), std::vector<int32_t>{3});
}

TEST(SpecPacing, GrowsWhileDraftsAreKeptAndBacksOffOnRepeatedMisses) {
  SpecPacing p;
  const int cap = 8;
  EXPECT_EQ(p.next(cap), 2);
  p.update(2, 2, cap);  // all kept: double
  EXPECT_EQ(p.next(cap), 4);
  p.update(4, 4, cap);
  EXPECT_EQ(p.next(cap), 8);
  p.update(8, 8, cap);
  EXPECT_EQ(p.next(cap), 8);  // capped
  EXPECT_EQ(p.next(3), 3);    // whatever the cap of the step
  p.update(8, 2, cap);        // 2 kept, then a miss: one more than kept
  EXPECT_EQ(p.next(cap), 3);
  p.update(3, 0, cap);  // one miss: half, and no pause
  EXPECT_EQ(p.next(cap), 1);
  p.update(1, 1, cap);  // a kept token ends the run of misses
  EXPECT_EQ(p.next(cap), 2);
  p.update(2, 0, cap);
  EXPECT_EQ(p.next(cap), 1);
  p.update(1, 0, cap);  // second miss in a row: pause 2 steps
  EXPECT_EQ(p.next(cap), 0);
  EXPECT_EQ(p.next(cap), 0);
  EXPECT_EQ(p.next(cap), 1);
  // Pauses double with every further miss in a row, up to 64 steps.
  for (int expected : {4, 8, 16, 32, 64, 64}) {
    p.update(1, 0, cap);
    int paused = 0;
    while (p.next(cap) == 0) ++paused;
    EXPECT_EQ(paused, expected);
  }
}

struct Output {
  std::map<int, std::vector<int32_t>> tokens;  // by sequence index
  std::map<int, std::vector<float>> logprobs;
};

class SpeculativeIdentity : public ::testing::Test {
 protected:
  void SetUp() override {
    NUCLEUS_REQUIRE_DEFAULT_MODEL(path);
    model_ = Model::load(path);
    tokenizer_ = std::make_unique<Tokenizer>(tokenizer_from_gguf(model_->file()));
  }

  std::vector<GenerationRequest> requests() const {
    const std::vector<std::string> texts = {
        "Repeat exactly: the quick brown fox jumps over the lazy dog. the quick brown fox jumps over the lazy dog.",
        "def add(a, b):\n    return a + b\n\ndef add3(a, b, c):\n    return a + b + c\n\ndef add4(a, b, c, d):\n",
        "1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 1, 2, 3,",
        "<|im_start|>user\nCopy this list: apples, pears, plums, cherries, apples, pears<|im_end|>\n<|im_start|>assistant\n",
    };
    std::vector<GenerationRequest> out;
    int k = 0;
    for (const std::string& text : texts) {
      for (int mix = 0; mix < 4; ++mix, ++k) {
        GenerationRequest r;
        r.prompt = tokenizer_->encode(text, {.add_special = true, .parse_special = true});
        r.max_tokens = 24;
        r.params.logprobs = 2;
        r.params.has_seed = true;
        r.params.seed = 1000 + k;
        switch (mix) {
          case 0: r.params.temperature = 0.0f; break;  // greedy
          case 1: r.params.temperature = 0.8f, r.params.top_p = 0.9f, r.params.top_k = 40; break;
          case 2: r.params.temperature = 0.7f, r.params.repetition_penalty = 1.2f, r.params.presence_penalty = 0.5f,
                  r.params.frequency_penalty = 0.3f; break;
          case 3: r.params.temperature = 1.0f, r.params.min_p = 0.05f, r.n = 2; break;
        }
        r.params.ignore_eos = true;
        out.push_back(std::move(r));
      }
    }
    return out;
  }

  // Runs `reqs` through a fresh engine, all at once (concurrent) or one by one.
  std::vector<Output> run(const std::vector<GenerationRequest>& reqs, Speculation mode, bool concurrent,
                          EngineStats* stats, Model* draft = nullptr) {
    EngineOptions options;
    options.threads = 2;
    options.kv_cache_bytes = int64_t{256} << 20;
    options.speculation = mode;
    options.draft_model = draft;
    Engine engine(*model_, *tokenizer_, options);
    std::vector<Output> outputs(reqs.size());
    auto drain = [&](RequestHandle& h, Output& out) {
      while (true) {
        auto event = h.next();
        if (!event) continue;
        EXPECT_TRUE(event->error.empty()) << event->error;
        for (const auto& d : event->deltas) {
          out.tokens[d.index].insert(out.tokens[d.index].end(), d.tokens.begin(), d.tokens.end());
          for (const auto& lp : d.logprobs) out.logprobs[d.index].push_back(lp.logprob);
        }
        if (event->done) break;
      }
    };
    if (concurrent) {
      std::vector<std::unique_ptr<RequestHandle>> handles;
      for (const auto& r : reqs) handles.push_back(engine.submit(r));
      for (size_t i = 0; i < reqs.size(); ++i) drain(*handles[i], outputs[i]);
    } else {
      for (size_t i = 0; i < reqs.size(); ++i) drain(*engine.submit(reqs[i]), outputs[i]);
    }
    if (stats) {
      *stats = engine.stats();
      // The final stats are published at the end of the step that finished the last request.
      for (int i = 0; i < 500 && (stats->kv_blocks_used != 0 || stats->spec_draft_kv_blocks_used != 0); ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
        *stats = engine.stats();
      }
    }
    return outputs;
  }

  // A 2-layer, n_embd 64 random-weight llama with the default model's vocabulary.
  std::unique_ptr<Model> tiny_draft() const {
    test::GgufWriter w;
    test::TinyModelSpec spec;
    spec.vocab_size = static_cast<int>(model_->config().vocab_size);
    spec.context_length = model_->config().context_length;
    spec.seed = 3;
    test::add_tiny_model(w, spec);
    w.set_value("tokenizer.ggml.tokens",
                test::GgufWriter::string_array(model_->file().get_string_array("tokenizer.ggml.tokens")));
    return std::make_unique<Model>(GgufFile::from_memory("tiny-draft.gguf", w.build()));
  }

  static size_t count_tokens(const std::vector<Output>& outs) {
    size_t n = 0;
    for (const Output& o : outs) {
      for (const auto& [index, tokens] : o.tokens) n += tokens.size();
    }
    return n;
  }

  std::unique_ptr<Model> model_;
  std::unique_ptr<Tokenizer> tokenizer_;
};

TEST_F(SpeculativeIdentity, NgramOutputsEqualPlainDecoding) {
  const auto reqs = requests();
  const std::vector<Output> plain = run(reqs, Speculation::kOff, false, nullptr);
  EngineStats alone_stats, concurrent_stats;
  const std::vector<Output> alone = run(reqs, Speculation::kNgram, false, &alone_stats);
  const std::vector<Output> concurrent = run(reqs, Speculation::kNgram, true, &concurrent_stats);
  for (size_t i = 0; i < reqs.size(); ++i) {
    ASSERT_EQ(plain[i].tokens.size(), static_cast<size_t>(reqs[i].n));
    EXPECT_EQ(plain[i].tokens, alone[i].tokens) << "request " << i << " (speculation, one at a time)";
    EXPECT_EQ(plain[i].tokens, concurrent[i].tokens) << "request " << i << " (speculation, concurrent)";
    EXPECT_EQ(plain[i].logprobs, alone[i].logprobs) << "request " << i;
    EXPECT_EQ(plain[i].logprobs, concurrent[i].logprobs) << "request " << i;
  }
  std::printf("  one at a time: %ld drafted, %ld accepted; concurrent: %ld drafted, %ld accepted\n",
              static_cast<long>(alone_stats.spec_drafted), static_cast<long>(alone_stats.spec_accepted),
              static_cast<long>(concurrent_stats.spec_drafted), static_cast<long>(concurrent_stats.spec_accepted));
  // The identity must have been exercised by real acceptances and rejections.
  EXPECT_GT(alone_stats.spec_accepted, 20);
  EXPECT_LT(alone_stats.spec_accepted, alone_stats.spec_drafted);
  EXPECT_GT(concurrent_stats.spec_accepted, 20);
  const EngineStats after = concurrent_stats;
  EXPECT_EQ(after.kv_blocks_used, 0) << "blocks leaked after speculative requests";
}

TEST_F(SpeculativeIdentity, DraftModelOutputsEqualPlainDecoding) {
  const auto reqs = requests();
  const std::vector<Output> plain = run(reqs, Speculation::kOff, false, nullptr);
  const std::unique_ptr<Model> tiny = tiny_draft();
  struct Case {
    const char* name;
    Model* draft;
    bool concurrent;
    bool agrees;  // a draft that agrees often
  };
  const Case cases[] = {{"self draft, one at a time", model_.get(), false, true},
                        {"self draft, concurrent", model_.get(), true, true},
                        {"tiny random draft, concurrent", tiny.get(), true, false}};
  for (const Case& c : cases) {
    EngineStats stats;
    const std::vector<Output> spec = run(reqs, Speculation::kDraft, c.concurrent, &stats, c.draft);
    for (size_t i = 0; i < reqs.size(); ++i) {
      ASSERT_EQ(plain[i].tokens.size(), static_cast<size_t>(reqs[i].n));
      EXPECT_EQ(plain[i].tokens, spec[i].tokens) << "request " << i << " (" << c.name << ")";
      EXPECT_EQ(plain[i].logprobs, spec[i].logprobs) << "request " << i << " (" << c.name << ")";
    }
    std::printf("  %-30s %zu tokens equal, %ld drafted, %ld accepted\n", c.name, count_tokens(spec),
                static_cast<long>(stats.spec_drafted), static_cast<long>(stats.spec_accepted));
    EXPECT_GE(stats.spec_accepted, c.agrees ? 100 : 0) << c.name;
    EXPECT_GT(stats.spec_drafted, 50) << c.name;
    EXPECT_LT(stats.spec_accepted, stats.spec_drafted) << c.name;
    EXPECT_EQ(stats.kv_blocks_used, 0) << c.name << ": blocks leaked";
    EXPECT_EQ(stats.spec_draft_kv_blocks_used, 0) << c.name << ": draft KV blocks leaked";
  }
}

}  // namespace
}  // namespace nucleus
