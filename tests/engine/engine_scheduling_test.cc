// The engine end to end on the default model: batch invariance under
// concurrency and staggered arrival, prefix caching, preemption, aborts and
// admission errors; plus a randomized property test of the block pool.
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "engine/block_pool.h"
#include "engine/engine.h"
#include "model/model.h"
#include "model/tokenizer_gguf.h"
#include "text/tokenizer.h"
#include "tests/common/test_env.h"

namespace nucleus {
namespace {

// ---- BlockPool: random operations keep every count consistent ----

TEST(BlockPoolProperty, RandomOperationsConserveBlocks) {
  std::mt19937 rng(11);
  BlockPool pool(64, 4, true);
  std::vector<int32_t> held;  // one entry per reference we own
  std::map<uint64_t, std::vector<int32_t>> registered;  // hash -> tokens we registered
  for (int op = 0; op < 20000; ++op) {
    switch (rng() % 5) {
      case 0: {  // allocate
        const int32_t id = pool.allocate();
        if (id >= 0) held.push_back(id);
        else ASSERT_EQ(pool.num_free(), 0);
        break;
      }
      case 1:  // release one reference
        if (!held.empty()) {
          const size_t i = rng() % held.size();
          pool.release(held[i]);
          held.erase(held.begin() + i);
        }
        break;
      case 2:  // share one
        if (!held.empty()) {
          const int32_t id = held[rng() % held.size()];
          pool.retain(id);
          held.push_back(id);
        }
        break;
      case 3:  // register a held block as a full prefix block
        if (!held.empty()) {
          std::vector<int32_t> tokens(4);
          for (auto& t : tokens) t = static_cast<int32_t>(rng() % 8);
          const uint64_t hash = BlockPool::chain_hash(0, tokens);
          pool.register_full(held[rng() % held.size()], hash, tokens);
          registered[hash] = tokens;
        }
        break;
      case 4: {  // look up something registered (hits must return the same tokens' block)
        if (registered.empty()) break;
        auto it = registered.begin();
        std::advance(it, rng() % registered.size());
        const int32_t id = pool.lookup(it->first, it->second);
        if (id >= 0) held.push_back(id);
        std::vector<int32_t> wrong = it->second;
        wrong[0] += 100;  // same hash, other tokens: must miss
        ASSERT_EQ(pool.lookup(it->first, wrong), -1);
        break;
      }
    }
    ASSERT_TRUE(pool.check_invariants()) << "after operation " << op;
    ASSERT_EQ(pool.num_used() + pool.num_free(), pool.num_blocks());
    std::set<int32_t> distinct(held.begin(), held.end());
    ASSERT_EQ(static_cast<int64_t>(distinct.size()), pool.num_used());
  }
  for (int32_t id : held) pool.release(id);
  EXPECT_EQ(pool.num_used(), 0);
  EXPECT_TRUE(pool.check_invariants());
}

TEST(BlockPoolProperty, EvictsLeastRecentlyFreedFirst) {
  BlockPool pool(3, 2, true);
  const std::vector<int32_t> a = {1, 2}, b = {3, 4};
  const int32_t x = pool.allocate(), y = pool.allocate();
  pool.register_full(x, BlockPool::chain_hash(0, a), a);
  pool.register_full(y, BlockPool::chain_hash(0, b), b);
  pool.release(x);  // freed first: evicted first
  pool.release(y);
  EXPECT_EQ(pool.num_cached_free(), 2);
  EXPECT_NE(pool.allocate(), -1);  // the never-used block goes first
  EXPECT_EQ(pool.allocate(), x);   // then the least recently freed
  EXPECT_EQ(pool.lookup(BlockPool::chain_hash(0, a), a), -1);
  EXPECT_EQ(pool.lookup(BlockPool::chain_hash(0, b), b), y);  // still cached
}

// ---- the engine on the default model ----

struct Output {
  std::map<int, std::vector<int32_t>> tokens;
  FinishReason finish = FinishReason::kNone;
  Usage usage;
};

Output drain(RequestHandle& handle) {
  Output out;
  while (true) {
    auto event = handle.next(std::chrono::milliseconds(60000));
    if (!event) ADD_FAILURE() << "no event within 60 s";
    if (!event) break;
    for (const auto& d : event->deltas) {
      out.tokens[d.index].insert(out.tokens[d.index].end(), d.tokens.begin(), d.tokens.end());
      if (d.finish != FinishReason::kNone) out.finish = d.finish;
    }
    if (event->done) {
      out.usage = event->usage;
      break;
    }
  }
  return out;
}

class EngineOnModel : public ::testing::Test {
 protected:
  void SetUp() override {
    NUCLEUS_REQUIRE_DEFAULT_MODEL(path);
    model_ = Model::load(path);
    tokenizer_ = std::make_unique<Tokenizer>(tokenizer_from_gguf(model_->file()));
  }

  EngineOptions options(int64_t kv_bytes = int64_t{256} << 20) const {
    EngineOptions o;
    o.threads = 2;
    o.kv_cache_bytes = kv_bytes;
    o.max_batched_tokens = 64;  // small: long prompts are chunked across steps
    return o;
  }

  // 16 prompts with mixed parameters and fixed seeds.
  std::vector<GenerationRequest> mixed_requests() const {
    std::vector<GenerationRequest> out;
    for (int i = 0; i < 16; ++i) {
      GenerationRequest r;
      std::string text = "Request " + std::to_string(i) + ": tell me about ";
      for (int k = 0; k <= i % 5; ++k) text += "the history of numbers and letters, ";
      r.prompt = tokenizer_->encode(text);
      r.max_tokens = 12;
      r.params.has_seed = true;
      r.params.seed = 77 + i;
      r.params.ignore_eos = true;
      switch (i % 4) {
        case 0: r.params.temperature = 0; break;
        case 1: r.params.temperature = 0.9f, r.params.top_p = 0.9f; break;
        case 2: r.params.temperature = 0.7f, r.params.top_k = 20, r.params.frequency_penalty = 0.5f; break;
        case 3: r.params.temperature = 1.0f, r.n = 2; break;
      }
      out.push_back(std::move(r));
    }
    return out;
  }

  std::unique_ptr<Model> model_;
  std::unique_ptr<Tokenizer> tokenizer_;
};

// The invariance tests for every KV cache dtype (the default model's head_dim
// is 64, so q8_0 too): a value is rounded once when written, whichever step,
// chunk or recomputation after preemption writes it.
class EngineOnModelKv : public EngineOnModel, public ::testing::WithParamInterface<kernels::KvDtype> {
 protected:
  EngineOptions options(int64_t kv_bytes = int64_t{256} << 20) const {
    EngineOptions o = EngineOnModel::options(kv_bytes);
    o.kv_dtype = GetParam();
    return o;
  }
};

INSTANTIATE_TEST_SUITE_P(EveryDtype, EngineOnModelKv,
                         ::testing::Values(kernels::KvDtype::kF32, kernels::KvDtype::kF16, kernels::KvDtype::kQ8_0),
                         [](const auto& info) { return std::string(kernels::kv_dtype_name(info.param)); });

TEST_P(EngineOnModelKv, BatchInvarianceWithStaggeredArrival) {
  const auto reqs = mixed_requests();
  std::vector<Output> alone;
  {
    Engine engine(*model_, *tokenizer_, options());
    for (const auto& r : reqs) alone.push_back(drain(*engine.submit(r)));
  }
  Engine engine(*model_, *tokenizer_, options());
  std::vector<std::unique_ptr<RequestHandle>> handles;
  for (size_t i = 0; i < reqs.size(); ++i) {
    handles.push_back(engine.submit(reqs[i]));
    if (i % 4 == 3) std::this_thread::sleep_for(std::chrono::milliseconds(30));  // staggered arrival
  }
  for (size_t i = 0; i < reqs.size(); ++i) {
    const Output together = drain(*handles[i]);
    EXPECT_EQ(together.tokens, alone[i].tokens) << "request " << i;
    EXPECT_EQ(together.tokens.size(), static_cast<size_t>(reqs[i].n));
  }
  std::printf("  16 mixed requests: identical tokens alone and concurrent (staggered)\n");
}

TEST_P(EngineOnModelKv, PrefixCacheHitGivesTheSameTokensAsAMiss) {
  GenerationRequest r;
  std::string text;
  for (int k = 0; k < 12; ++k) text += "A long shared system prompt sentence number " + std::to_string(k) + ". ";
  r.prompt = tokenizer_->encode(text);
  r.max_tokens = 10;
  r.params.temperature = 0.8f;
  r.params.has_seed = true;
  r.params.seed = 5;
  r.params.ignore_eos = true;
  Engine engine(*model_, *tokenizer_, options());
  const Output miss = drain(*engine.submit(r));
  const Output hit = drain(*engine.submit(r));
  const int64_t block = options().block_size;  // whole blocks are shared
  const int64_t expected_cached = (static_cast<int64_t>(r.prompt.size()) - 1) / block * block;
  ASSERT_GT(expected_cached, 0) << "the prompt must fill a block";
  EXPECT_EQ(miss.usage.cached_prompt_tokens, 0);
  EXPECT_EQ(hit.usage.cached_prompt_tokens, expected_cached);
  EXPECT_EQ(hit.tokens, miss.tokens);
  EngineOptions off = options();
  off.prefix_cache = false;
  Engine no_cache(*model_, *tokenizer_, off);
  const Output plain = drain(*no_cache.submit(r));
  drain(*no_cache.submit(r));
  EXPECT_EQ(plain.tokens, miss.tokens);
  EXPECT_EQ(no_cache.stats().prefix_hits, 0);
  std::printf("  prompt %zu tokens: %ld served from the prefix cache, same tokens as without it\n", r.prompt.size(),
              static_cast<long>(hit.usage.cached_prompt_tokens));
}

TEST_P(EngineOnModelKv, PreemptionUnderATinyCacheGivesTheSameOutputs) {
  auto reqs = mixed_requests();
  std::vector<Output> big;
  {
    Engine engine(*model_, *tokenizer_, options());
    std::vector<std::unique_ptr<RequestHandle>> handles;
    for (const auto& r : reqs) handles.push_back(engine.submit(r));
    for (auto& h : handles) big.push_back(drain(*h));
  }
  // Room for a handful of sequences only: 10 blocks of 16 tokens.
  const int64_t tiny = 10 * 16 * KvStorage::bytes_per_token(model_->config(), GetParam());
  Engine engine(*model_, *tokenizer_, options(tiny));
  std::vector<std::unique_ptr<RequestHandle>> handles;
  for (const auto& r : reqs) handles.push_back(engine.submit(r));
  for (size_t i = 0; i < reqs.size(); ++i) EXPECT_EQ(drain(*handles[i]).tokens, big[i].tokens) << "request " << i;
  const EngineStats stats = engine.stats();
  EXPECT_GT(stats.preemptions, 0);
  EXPECT_EQ(stats.kv_blocks_used, 0);
  std::printf("  tiny cache (10 blocks): %ld preemptions, outputs identical to a large cache\n",
              static_cast<long>(stats.preemptions));
}

TEST_F(EngineOnModel, AbortMidPrefillAndMidDecodeLeaksNothing) {
  Engine engine(*model_, *tokenizer_, options());
  GenerationRequest long_prompt;
  for (int k = 0; k < 40; ++k) {
    for (int32_t t : tokenizer_->encode("padding words to make a long prompt ")) long_prompt.prompt.push_back(t);
  }
  long_prompt.max_tokens = 50;
  auto prefilling = engine.submit(long_prompt);  // ~280 tokens at 64 per step: several steps of prefill
  GenerationRequest decode;
  decode.prompt = tokenizer_->encode("Count slowly:");
  decode.max_tokens = 500;
  decode.params.ignore_eos = true;
  auto decoding = engine.submit(decode);
  // Wait for the decoding one to produce a few tokens, then abort both.
  int seen = 0;
  while (seen < 3) {
    auto event = decoding->next(std::chrono::milliseconds(30000));
    ASSERT_TRUE(event.has_value());
    for (const auto& d : event->deltas) seen += static_cast<int>(d.tokens.size());
  }
  prefilling->abort();
  decoding->abort();
  EXPECT_EQ(drain(*decoding).finish, FinishReason::kAbort);
  EXPECT_EQ(drain(*prefilling).finish, FinishReason::kAbort);
  // A handle destroyed mid-flight aborts too.
  { auto dropped = engine.submit(decode); }
  for (int i = 0; i < 200 && (engine.stats().kv_blocks_used != 0 || engine.stats().running != 0); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(engine.stats().kv_blocks_used, 0);
  EXPECT_EQ(engine.stats().running, 0);
  EXPECT_GE(engine.stats().finished_abort, 2);
}

TEST_F(EngineOnModel, AdmissionErrors) {
  Engine engine(*model_, *tokenizer_, options(int64_t{8} * 16 * KvStorage::bytes_per_token(model_->config(), kernels::kDefaultKvDtype)));
  GenerationRequest r;
  r.prompt = tokenizer_->encode("hello");
  r.max_tokens = 500;  // more than the 8 blocks of 16 tokens of the whole cache
  try {
    engine.submit(r);
    FAIL() << "a request larger than the whole cache was accepted";
  } catch (const InvalidRequest& e) {
    EXPECT_EQ(e.param(), "max_tokens");
    EXPECT_NE(std::string(e.what()).find("cache"), std::string::npos) << e.what();
  }
  r.max_tokens = 9000;  // over the 8192-token context
  EXPECT_THROW(engine.submit(r), InvalidRequest);
  r.max_tokens = 4;
  r.prompt.clear();
  EXPECT_THROW(engine.submit(r), InvalidRequest);
  r.prompt = {1, 2, 999999};
  EXPECT_THROW(engine.submit(r), InvalidRequest);
  r.prompt = {1, 2};
  r.params.temperature = 7;
  EXPECT_THROW(engine.submit(r), InvalidRequest);

  EngineOptions small_queue = options();
  small_queue.max_queue = 2;
  Engine busy(*model_, *tokenizer_, small_queue);
  GenerationRequest ok;
  ok.prompt = tokenizer_->encode("hi");
  ok.max_tokens = 200;
  ok.params.ignore_eos = true;
  std::vector<std::unique_ptr<RequestHandle>> held;
  bool overloaded = false;
  for (int i = 0; i < 50 && !overloaded; ++i) {
    try {
      held.push_back(busy.submit(ok));
    } catch (const EngineOverloaded&) {
      overloaded = true;
    }
  }
  EXPECT_TRUE(overloaded) << "the waiting queue never filled";
}

}  // namespace
}  // namespace nucleus
