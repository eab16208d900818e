// `nucleus bench model`: prefill and decode tokens/s of the forward pass alone
// (no engine, no sampling), on random tokens (bench/peers/model-bench.sh runs
// llama.cpp's llama-bench beside it).
#include <algorithm>
#include <cstdio>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "app/bench.h"
#include "config/options.h"
#include "engine/engine.h"
#include "kernels/device.h"
#include "kernels/read_bandwidth.h"
#include "model/model.h"

namespace nucleus::app {
namespace {

struct ModelBenchArgs {
  std::string model;
  int threads = 0;
  int prompt = 512;
  int decode = 128;
  std::vector<int> batches{1, 8, 32};
  int context = 16;  // cached tokens per sequence before the timed decode steps
  std::string kv_cache_dtype = kDefaultKvCacheDtype;
  int repeats = 3;
  bool json = false;
  std::string device = "auto";
};

// Decode `steps` tokens for `batch` sequences at once, after `context` cached
// tokens each. The context is prefilled once, for sequence 0 in chunks of
// kPrefillChunk, and copied to the other sequences (the decode reads the same
// bytes whatever wrote them, and a batch-8 bench at depth 4096 then costs one
// prefill, not eight).
double decode_tokens_per_s(Model& model, const kernels::Context& ctx, kernels::KvDtype dtype, int batch, int context,
                           int steps, std::mt19937& rng) {
  constexpr int kPrefillChunk = 512;
  const int block = EngineOptions{}.block_size;
  const int blocks_per_seq = (context + steps + block - 1) / block;
  KvStorage kv(model.config(), int64_t{batch} * blocks_per_seq, block, ctx.device, dtype);
  std::uniform_int_distribution<int32_t> token(0, model.config().vocab_size - 1);
  kernels::DeviceBuffer logits(ctx.device, sizeof(float) * batch * model.config().vocab_size);
  auto run = [&](int seqs, int start, int len) {
    ForwardBatch b;
    b.max_blocks_per_seq = blocks_per_seq;
    for (int s = 0; s < seqs; ++s) {
      for (int i = 0; i < blocks_per_seq; ++i) b.block_tables.push_back(s * blocks_per_seq + i);
      for (int p = start; p < start + len; ++p) {
        b.tokens.push_back(token(rng));
        b.positions.push_back(p);
        b.token_seq.push_back(s);
        b.slot_mapping.push_back(s * blocks_per_seq * block + p);
      }
      b.logit_rows.push_back(static_cast<int32_t>(b.tokens.size()) - 1);
    }
    model.forward(ctx, b, kv, logits.as<float>());
  };
  for (int p = 0; p < context; p += kPrefillChunk) run(1, p, std::min(kPrefillChunk, context - p));
  for (int s = 1; s < batch; ++s) kv.copy_slots(0, int64_t{s} * blocks_per_seq * block, context);
  const auto t0 = Clock::now();
  for (int step = 0; step < steps; ++step) run(batch, context + step, 1);
  kernels::device_synchronize(ctx.device);
  return double(batch) * steps / seconds_since(t0);
}

double prefill_tokens_per_s(Model& model, const kernels::Context& ctx, kernels::KvDtype dtype, int tokens,
                            std::mt19937& rng) {
  const int block = EngineOptions{}.block_size;
  const int blocks = (tokens + block - 1) / block;
  KvStorage kv(model.config(), blocks, block, ctx.device, dtype);
  std::uniform_int_distribution<int32_t> token(0, model.config().vocab_size - 1);
  ForwardBatch b;
  b.max_blocks_per_seq = blocks;
  for (int i = 0; i < blocks; ++i) b.block_tables.push_back(i);
  for (int p = 0; p < tokens; ++p) {
    b.tokens.push_back(token(rng));
    b.positions.push_back(p);
    b.token_seq.push_back(0);
    b.slot_mapping.push_back(p);
  }
  b.logit_rows.push_back(tokens - 1);
  kernels::DeviceBuffer logits(ctx.device, sizeof(float) * model.config().vocab_size);
  const auto t0 = Clock::now();
  model.forward(ctx, b, kv, logits.as<float>());
  kernels::device_synchronize(ctx.device);  // CUDA queues work: time it to the end
  return tokens / seconds_since(t0);
}

// Bytes one batch-1 decode step reads on average over `steps` steps after a
// `context`-token prompt: every weight once, and the K/V of every cached position.
double decode_bytes_per_token(const Model& model, kernels::KvDtype dtype, int context, int steps) {
  const double positions = context + (steps + 1) / 2.0;
  return static_cast<double>(model.weight_bytes()) +
         positions * static_cast<double>(KvStorage::bytes_per_token(model.config(), dtype));
}

void print_model_table(const ModelBenchArgs& args, const std::string& path, int threads, const nlohmann::json& out,
                       double weight_gb) {
  std::printf("nucleus bench model: %s, %d threads, weights %.1f MB read per decode step, %s KV cache\n",
              path.c_str(), threads, weight_gb * 1e3, args.kv_cache_dtype.c_str());
  std::printf("  %-28s %10.1f tok/s\n", ("prefill " + std::to_string(args.prompt)).c_str(), out["prefill_tok_s"].get<double>());
  for (int batch : args.batches) {
    const double tps = out["decode_tok_s"][std::to_string(batch)].get<double>();
    std::printf("  %-28s %10.1f tok/s   (%.2f GB/s of weights)\n",
                ("decode " + std::to_string(args.decode) + " @ batch " + std::to_string(batch) + " after " +
                 std::to_string(args.context))
                    .c_str(),
                tps,
                tps / batch * weight_gb);
  }
  if (out.contains("read_bandwidth_gb_s")) {
    std::printf("  batch-1 decode reads %.1f MB per token (weights + KV): %.2f GB/s, %.0f%% of the %.1f GB/s read bandwidth\n",
                out["decode_bytes_per_token"].get<double>() / 1e6, out["decode_gb_s"].get<double>(),
                100.0 * out["decode_bandwidth_fraction"].get<double>(), out["read_bandwidth_gb_s"].get<double>());
  }
}

int run_model_bench(const ModelBenchArgs& args) {
  const std::string path = model_or_default(args.model);
  const kernels::Device device = bench_device(args.device);
  std::unique_ptr<Model> model = Model::load(path);
  kernels::ThreadPool pool(args.threads);
  const kernels::Context ctx{device, &pool};
  std::mt19937 rng(1234);
  const kernels::KvDtype dtype = kernels::kv_dtype_from_name(args.kv_cache_dtype).value();  // CLI11 checked it
  // Warm-up: page the weights in.
  prefill_tokens_per_s(*model, ctx, dtype, 32, rng);

  nlohmann::json out;
  out["model"] = path;
  out["threads"] = pool.num_threads();
  std::vector<double> pp;
  for (int r = 0; r < args.repeats; ++r) pp.push_back(prefill_tokens_per_s(*model, ctx, dtype, args.prompt, rng));
  out["prefill_tokens"] = args.prompt;
  out["prefill_tok_s"] = median(pp);
  for (int batch : args.batches) {
    std::vector<double> tg;
    for (int r = 0; r < args.repeats; ++r) {
      tg.push_back(decode_tokens_per_s(*model, ctx, dtype, batch, args.context, args.decode, rng));
    }
    out["decode_tok_s"][std::to_string(batch)] = median(tg);
  }
  out["decode_context"] = args.context;
  out["kv_cache_dtype"] = args.kv_cache_dtype;
  out["weight_bytes"] = model->weight_bytes();
  if (device == kernels::Device::kCpu && out["decode_tok_s"].contains("1")) {
    // Batch-1 decode is bound by memory reads: its share of what the machine can read.
    // The median pass, not STREAM's best: on a shared host one pass now and then
    // reads far faster than the rest (57-66 GB/s against 34-36 on this project's
    // machine), and decode, a median of runs itself, never sees that rate.
    const double bandwidth = kernels::measure_read_bandwidth(pool).median_bytes_per_second;
    const double bytes = decode_bytes_per_token(*model, dtype, args.context, args.decode);
    const double rate = out["decode_tok_s"]["1"].get<double>() * bytes;
    out["read_bandwidth_gb_s"] = bandwidth / 1e9;
    out["decode_bytes_per_token"] = bytes;
    out["decode_gb_s"] = rate / 1e9;
    out["decode_bandwidth_fraction"] = rate / bandwidth;
  }
  if (args.json) {
    std::printf("%s\n", out.dump(2).c_str());
  } else {
    print_model_table(args, path, pool.num_threads(), out, model->weight_bytes() / 1e9);
  }
  return 0;
}

}  // namespace

void add_model_bench(CLI::App* bench, const BenchRun& run) {
  auto args = std::make_shared<ModelBenchArgs>();
  CLI::App* model = bench->add_subcommand("model", "Prefill and decode tokens/s of the forward pass");
  model->add_option("--model,-m", args->model, "GGUF model file (default: the default model)");
  model->add_option("--threads", args->threads, "CPU threads; 0 = one per core")->capture_default_str();
  model->add_option("--prompt-tokens", args->prompt, "Prefill length")->capture_default_str()->check(CLI::Range(1, 8192));
  model->add_option("--decode-tokens", args->decode, "Decode steps")->capture_default_str()->check(CLI::Range(1, 4096));
  model->add_option("--batches", args->batches, "Decode batch sizes")->capture_default_str();
  model->add_option("--context", args->context,
                    "Cached tokens per sequence before the decode steps (as llama-bench's -d, n-depth)")
      ->capture_default_str()->check(CLI::Range(1, 1 << 20));
  model->add_option("--kv-cache-dtype", args->kv_cache_dtype, "KV cache storage: f16, f32 or q8_0")
      ->capture_default_str()->check(CLI::IsMember({"f32", "f16", "q8_0"}));
  model->add_option("--repeats", args->repeats, "Runs per figure (the median is printed)")->capture_default_str()
      ->check(CLI::Range(1, 100));
  model->add_flag("--json", args->json, "Print JSON instead of a table");
  auto device = std::make_shared<config::DeviceOptionParser>(model);
  model->callback([run, args, device] {
    *run = [args, device] {
      args->device = device->resolve();
      return run_model_bench(*args);
    };
  });
}

}  // namespace nucleus::app
