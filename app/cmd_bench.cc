// `nucleus bench`: speed of the model and of the engine on this machine.
//   bench model    prefill and decode tokens/s of the forward pass (batch 1, 8, 32)
//   bench offline  many requests through the engine, against one at a time
// Figures, not tests: compare them with a peer measured in the same run
// (bench/peers/model-bench.sh runs llama.cpp's llama-bench beside this).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <numeric>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "app/bench_serve.h"
#include "app/command.h"
#include "config/options.h"
#include "engine/engine.h"
#include "engine/engine_core.h"
#include "model/model.h"
#include "model/tokenizer_gguf.h"
#include "text/tokenizer.h"
#include "kernels/device.h"

namespace nucleus::app {
namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

struct ModelBenchArgs {
  std::string model;
  int threads = 0;
  int prompt = 512;
  int decode = 128;
  std::vector<int> batches{1, 8, 32};
  int repeats = 3;
  bool json = false;
  std::string device = "auto";
};

// Resolves --device and says on stderr what was chosen (stdout may be JSON).
kernels::Device bench_device(const std::string& choice) {
  const kernels::DeviceChoice device = kernels::choose_device(choice);
  std::fprintf(stderr, "[nucleus] %s\n", device.reason.c_str());
  return device.device;
}

// Decode `steps` tokens for `batch` sequences at once, after a `context`-token prompt each.
double decode_tokens_per_s(Model& model, const kernels::Context& ctx, int batch, int context, int steps,
                           std::mt19937& rng) {
  const int block = 16;
  const int blocks_per_seq = (context + steps + block - 1) / block;
  KvStorage kv(model.config(), int64_t{batch} * blocks_per_seq, block, ctx.device);
  std::uniform_int_distribution<int32_t> token(0, model.config().vocab_size - 1);
  kernels::DeviceBuffer logits(ctx.device, sizeof(float) * batch * model.config().vocab_size);
  auto run = [&](int start, int len) {
    ForwardBatch b;
    b.max_blocks_per_seq = blocks_per_seq;
    for (int s = 0; s < batch; ++s) {
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
  run(0, context);
  const auto t0 = Clock::now();
  for (int step = 0; step < steps; ++step) run(context + step, 1);
  kernels::device_synchronize(ctx.device);
  return double(batch) * steps / since(t0);
}

double prefill_tokens_per_s(Model& model, const kernels::Context& ctx, int tokens, std::mt19937& rng) {
  const int block = 16;
  const int blocks = (tokens + block - 1) / block;
  KvStorage kv(model.config(), blocks, block, ctx.device);
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
  return tokens / since(t0);
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

int run_model_bench(const ModelBenchArgs& args) {
  const std::string path = args.model.empty() ? config::default_model_path() : args.model;
  const kernels::Device device = bench_device(args.device);
  std::unique_ptr<Model> model = Model::load(path);
  kernels::ThreadPool pool(args.threads);
  const kernels::Context ctx{device, &pool};
  std::mt19937 rng(1234);
  // Warm-up: page the weights in.
  prefill_tokens_per_s(*model, ctx, 32, rng);

  nlohmann::json out;
  out["model"] = path;
  out["threads"] = pool.num_threads();
  std::vector<double> pp;
  for (int r = 0; r < args.repeats; ++r) pp.push_back(prefill_tokens_per_s(*model, ctx, args.prompt, rng));
  out["prefill_tokens"] = args.prompt;
  out["prefill_tok_s"] = median(pp);
  for (int batch : args.batches) {
    std::vector<double> tg;
    for (int r = 0; r < args.repeats; ++r) tg.push_back(decode_tokens_per_s(*model, ctx, batch, 16, args.decode, rng));
    out["decode_tok_s"][std::to_string(batch)] = median(tg);
  }
  const double weight_gb = model->weight_bytes() / 1e9;
  out["weight_bytes"] = model->weight_bytes();
  if (args.json) {
    std::printf("%s\n", out.dump(2).c_str());
    return 0;
  }
  std::printf("nucleus bench model: %s, %d threads, weights %.1f MB read per decode step\n", path.c_str(),
              pool.num_threads(), weight_gb * 1e3);
  std::printf("  %-28s %10.1f tok/s\n", ("prefill " + std::to_string(args.prompt)).c_str(), out["prefill_tok_s"].get<double>());
  for (int batch : args.batches) {
    const double tps = out["decode_tok_s"][std::to_string(batch)].get<double>();
    std::printf("  %-28s %10.1f tok/s   (%.2f GB/s of weights)\n",
                ("decode " + std::to_string(args.decode) + " @ batch " + std::to_string(batch)).c_str(), tps,
                tps / batch * weight_gb);
  }
  return 0;
}

struct OfflineBenchArgs {
  std::string model;
  int requests = 64;
  std::pair<int, int> input_len{128, 512};
  std::pair<int, int> output_len{64, 256};
  int threads = 0;
  int max_batched_tokens = 512;
  int max_seqs = 64;
  bool skip_sequential = false;
  kernels::Device device = kernels::Device::kCpu;
};

struct OfflineResult {
  double seconds = 0;
  int64_t output_tokens = 0;
  std::vector<double> tpot;  // per request: (last token - first token) / (tokens - 1)
  EngineStats stats;
};

OfflineResult run_offline(Model& model, const Tokenizer& tokenizer, const OfflineBenchArgs& args,
                          const std::vector<GenerationRequest>& requests, bool one_at_a_time) {
  EngineOptions options;
  options.threads = args.threads;
  options.max_batched_tokens = args.max_batched_tokens;
  options.max_seqs = args.max_seqs;
  options.max_queue = static_cast<int>(requests.size()) + 1;
  options.device = args.device;
  Engine engine(model, tokenizer, options);
  OfflineResult result;
  const auto t0 = Clock::now();
  std::mutex result_mutex;  // drain() runs on several threads in the batched run
  auto drain = [&](RequestHandle& handle) {
    Clock::time_point first = Clock::time_point::max(), last{};
    int64_t tokens = 0;
    while (true) {
      auto event = handle.next();
      if (!event) continue;
      for (const auto& d : event->deltas) {
        if (d.tokens.empty()) continue;
        const auto now = Clock::now();
        first = std::min(first, now);
        last = now;
        tokens += static_cast<int64_t>(d.tokens.size());
      }
      if (event->done) break;
    }
    std::lock_guard<std::mutex> lock(result_mutex);
    result.output_tokens += tokens;
    if (tokens > 1) result.tpot.push_back(std::chrono::duration<double>(last - first).count() / double(tokens - 1));
  };
  if (one_at_a_time) {
    for (const auto& r : requests) drain(*engine.submit(r));
  } else {
    std::vector<std::unique_ptr<RequestHandle>> handles;
    for (const auto& r : requests) handles.push_back(engine.submit(r));
    // One reader thread per request (threads of this benchmark only, blocked on
    // their handle between events), so every request's token times are taken
    // when its tokens arrive. Draining the handles one after another lost
    // nothing, but a later request's queued tokens then arrived together and
    // its time per output token came out too small.
    std::vector<std::thread> readers;
    readers.reserve(handles.size());
    for (auto& h : handles) readers.emplace_back([&drain, &h] { drain(*h); });
    for (std::thread& t : readers) t.join();
  }
  result.seconds = since(t0);
  result.stats = engine.stats();
  return result;
}

void print_offline(const char* label, const OfflineResult& r, size_t requests) {
  std::vector<double> tpot = r.tpot;
  std::sort(tpot.begin(), tpot.end());
  const double mean = tpot.empty() ? 0 : std::accumulate(tpot.begin(), tpot.end(), 0.0) / tpot.size();
  const double p99 = tpot.empty() ? 0 : tpot[std::min(tpot.size() - 1, static_cast<size_t>(0.99 * tpot.size()))];
  const double overhead = r.stats.step_seconds > 0
                              ? (r.stats.step_seconds - r.stats.forward_seconds - r.stats.sample_seconds) /
                                    r.stats.step_seconds
                              : 0;
  std::printf("  %-14s %8.3f req/s %9.1f out tok/s   TPOT mean %7.2f ms p99 %7.2f ms   sampler %4.1f%%  "
              "scheduler+bookkeeping %4.1f%% of step time  (%.1f s)\n",
              label, requests / r.seconds, r.output_tokens / r.seconds, mean * 1e3, p99 * 1e3,
              100 * r.stats.sample_seconds / std::max(r.stats.step_seconds, 1e-9), 100 * overhead, r.seconds);
}

int run_offline_bench(const OfflineBenchArgs& args) {
  const std::string path = args.model.empty() ? config::default_model_path() : args.model;
  std::unique_ptr<Model> model = Model::load(path);
  const Tokenizer tokenizer = tokenizer_from_gguf(model->file());
  std::mt19937 rng(42);
  std::uniform_int_distribution<int> in_len(args.input_len.first, args.input_len.second);
  std::uniform_int_distribution<int> out_len(args.output_len.first, args.output_len.second);
  // Random text tokens (ids above the special tokens), fixed output lengths via ignore_eos.
  std::uniform_int_distribution<int32_t> token(1000, model->config().vocab_size - 1);
  std::vector<GenerationRequest> requests(args.requests);
  for (auto& r : requests) {
    r.prompt.resize(in_len(rng));
    for (auto& t : r.prompt) t = token(rng);
    r.max_tokens = out_len(rng);
    r.params.temperature = 0.8f;
    r.params.top_p = 0.95f;
    r.params.ignore_eos = true;
    r.params.has_seed = true;
    r.params.seed = rng();
  }
  std::printf("nucleus bench offline: %d requests, input %d..%d, output %d..%d tokens, %s\n", args.requests,
              args.input_len.first, args.input_len.second, args.output_len.first, args.output_len.second,
              path.c_str());
  const OfflineResult batched = run_offline(*model, tokenizer, args, requests, false);
  print_offline("batched", batched, requests.size());
  if (!args.skip_sequential) {
    const OfflineResult sequential = run_offline(*model, tokenizer, args, requests, true);
    print_offline("one at a time", sequential, requests.size());
    std::printf("  aggregate output tokens/s: %.2fx the one-at-a-time rate\n",
                (batched.output_tokens / batched.seconds) / (sequential.output_tokens / sequential.seconds));
  }
  return 0;
}

struct SpecBenchArgs {
  std::string model;
  int threads = 0;
  int max_tokens = 0;  // 0: each workload's own length
  int spec_tokens = 8;
  int repeats = 5;
  std::vector<Speculation> modes{Speculation::kNgram, Speculation::kDraft};
  bool verbose = false;  // also where a step's time goes
  kernels::Device device = kernels::Device::kCpu;
  std::string draft_model;  // empty: the model drafts for itself
};

struct SpecRun {
  double tok_s = 0;    // decode tokens/s: tokens after the first over the time of the steps after the first
  EngineStats stats;   // at the end of the run
  EngineStats prefill; // after the step that gave the first token (the prefill step)
};

// One request per mode, each in its own engine, stepped by hand in lockstep:
// always the engine that has produced the fewest tokens steps next. Every
// mode produces the same tokens, so each mode's k-th token is computed at
// about the same moment as every other's, and the VM's speed drift (2x from
// one second to the next while others build) falls on all modes alike.
// lanes[0] is the first mode given.
std::vector<SpecRun> spec_lockstep(Model& model, const Tokenizer& tokenizer, const SpecBenchArgs& args,
                                   const GenerationRequest& request, const std::vector<Speculation>& modes,
                                   Model* draft) {
  struct Lane {
    std::unique_ptr<EngineCore> core;
    std::unique_ptr<RequestHandle> handle;
    int64_t tokens = 0;
    double seconds = 0;
    bool done = false;
    SpecRun run;
  };
  std::vector<Lane> lanes(modes.size());
  for (size_t i = 0; i < modes.size(); ++i) {
    EngineOptions options;
    options.threads = args.threads;
    options.speculation = modes[i];
    options.draft_model = modes[i] == Speculation::kDraft ? draft : nullptr;
    options.spec_tokens = args.spec_tokens;
    options.kv_cache_bytes = int64_t{512} << 20;
    options.device = args.device;
    lanes[i].core = std::make_unique<EngineCore>(model, tokenizer, options);
    lanes[i].handle = lanes[i].core->submit(request);
  }
  while (true) {
    Lane* next = nullptr;
    for (Lane& lane : lanes) {
      if (!lane.done && (next == nullptr || lane.tokens < next->tokens)) next = &lane;
    }
    if (next == nullptr) break;
    const bool decoding = next->tokens > 0;
    const auto t0 = Clock::now();
    if (!next->core->step()) throw std::runtime_error("bench spec: the engine stopped before the request finished");
    kernels::device_synchronize(args.device);
    if (decoding) next->seconds += since(t0);
    while (auto event = next->handle->next(std::chrono::milliseconds(0))) {
      if (!event->error.empty()) throw std::runtime_error("bench spec: " + event->error);
      for (const auto& d : event->deltas) next->tokens += static_cast<int64_t>(d.tokens.size());
      if (!decoding && next->tokens > 0) next->run.prefill = next->core->stats();
      if (event->done) {
        next->done = true;
        break;  // after the last event, next() answers `done` again and again
      }
    }
  }
  std::vector<SpecRun> runs;
  for (Lane& lane : lanes) {
    lane.run.tok_s = double(lane.tokens - 1) / std::max(lane.seconds, 1e-9);
    lane.run.stats = lane.core->stats();
    runs.push_back(lane.run);
  }
  return runs;
}

int run_spec_bench(const SpecBenchArgs& args) {
  const std::string path = args.model.empty() ? config::default_model_path() : args.model;
  std::unique_ptr<Model> model = Model::load(path);
  const Tokenizer tokenizer = tokenizer_from_gguf(model->file());
  // Without --draft-model the model drafts for itself: acceptance is then an
  // upper bound (only sampling disagrees), and there is no speed-up to expect.
  std::unique_ptr<Model> draft_owned = args.draft_model.empty() ? nullptr : Model::load(args.draft_model);
  Model* draft = draft_owned ? draft_owned.get() : model.get();
  const std::string draft_path = args.draft_model.empty() ? path + " (itself)" : args.draft_model;
  const std::string passage =
      "def parse_config(path):\n    \"\"\"Read a key=value file into a dict, skipping comments.\"\"\"\n"
      "    config = {}\n    with open(path) as f:\n        for line in f:\n            line = line.strip()\n"
      "            if not line or line.startswith('#'):\n                continue\n"
      "            key, _, value = line.partition('=')\n            config[key.strip()] = value.strip()\n"
      "    return config\n";
  // A whole file to rewrite: the output is the file again with one edit,
  // the copy-heavy work (editing code) that prompt lookup is for. The model
  // does not always follow the edit; only its copying matters here.
  const std::string code_file =
      "import json\nimport os\n\n\nclass Inventory:\n    \"\"\"A small stock list kept in a JSON file.\"\"\"\n\n"
      "    def __init__(self, path):\n        self.path = path\n        self.items = {}\n"
      "        if os.path.exists(path):\n            with open(path) as f:\n                self.items = json.load(f)\n\n"
      "    def add(self, name, count):\n        if count <= 0:\n            raise ValueError(\"count must be positive\")\n"
      "        self.items[name] = self.items.get(name, 0) + count\n\n"
      "    def remove(self, name, count):\n        have = self.items.get(name, 0)\n        if count > have:\n"
      "            raise ValueError(f\"only {have} of {name} left\")\n        self.items[name] = have - count\n"
      "        if self.items[name] == 0:\n            del self.items[name]\n\n"
      "    def total(self):\n        return sum(self.items.values())\n\n"
      "    def save(self):\n        with open(self.path, \"w\") as f:\n"
      "            json.dump(self.items, f, indent=2, sort_keys=True)\n";
  struct Workload {
    const char* name;
    std::string prompt;
    float temperature;
    int max_tokens;
  };
  // "copy (code)": a short function; its 128 tokens are ~90 of copy and then
  // the model's own explanation, so it is part copy, part free text.
  // "rewrite (file)": the ~250-token file above; 256 tokens cover the whole
  // rewritten file plus the few lines the model adds after it.
  const std::vector<Workload> workloads = {
      {"copy (code)", "<|im_start|>user\nCopy this code exactly, without comments of your own:\n" + passage +
                          "<|im_end|>\n<|im_start|>assistant\n", 0.0f, 128},
      {"rewrite (file)", "<|im_start|>user\nRewrite this code file with the class renamed from Inventory to Stock. "
                         "Change nothing else.\n\n" + code_file + "<|im_end|>\n<|im_start|>assistant\n", 0.0f, 256},
      {"no repeats", "<|im_start|>user\nWrite a short poem about autumn leaves.<|im_end|>\n<|im_start|>assistant\n",
       0.8f, 128},
  };
  std::printf("nucleus bench spec: decode tok/s at batch 1, speculation (up to %d drafted tokens) vs off, "
              "modes stepped in lockstep, medians of %d runs; %s; draft model %s\n",
              args.spec_tokens, args.repeats, path.c_str(), draft_path.c_str());
  for (const Workload& w : workloads) {
    GenerationRequest request;
    request.prompt = tokenizer.encode(w.prompt, {.add_special = true, .parse_special = true});
    request.max_tokens = args.max_tokens > 0 ? args.max_tokens : w.max_tokens;
    request.params.temperature = w.temperature;
    request.params.has_seed = true;
    request.params.seed = 7;
    request.params.ignore_eos = true;
    // Every repeat runs off and each mode in lockstep (spec_lockstep); the
    // ratio printed is the median of the per-repeat ratios.
    std::vector<Speculation> lanes{Speculation::kOff};
    lanes.insert(lanes.end(), args.modes.begin(), args.modes.end());
    std::vector<double> off;
    std::vector<std::vector<double>> on(args.modes.size()), ratio(args.modes.size());
    std::vector<SpecRun> last(args.modes.size());
    SpecRun off_runs;
    for (int r = 0; r < args.repeats; ++r) {
      const std::vector<SpecRun> runs = spec_lockstep(*model, tokenizer, args, request, lanes, draft);
      off.push_back(runs[0].tok_s);
      off_runs = runs[0];
      for (size_t m = 0; m < args.modes.size(); ++m) {
        last[m] = runs[m + 1];
        on[m].push_back(last[m].tok_s);
        ratio[m].push_back(last[m].tok_s / off.back());  // drafts are deterministic: every repeat drafts the same
      }
    }
    for (size_t m = 0; m < args.modes.size(); ++m) {
      const EngineStats& st = last[m].stats;
      std::printf("  %-14s off %7.1f tok/s   %-5s %7.1f tok/s   %.2fx   acceptance %ld/%ld (%.0f%%)\n", w.name,
                  median(off), speculation_name(args.modes[m]), median(on[m]), median(ratio[m]),
                  static_cast<long>(st.spec_accepted), static_cast<long>(st.spec_drafted),
                  st.spec_drafted ? 100.0 * st.spec_accepted / st.spec_drafted : 0.0);
    }
    if (args.verbose) {
      for (size_t m = 0; m < args.modes.size(); ++m) {
        std::printf("    %-5s per repeat (off, on tok/s):", speculation_name(args.modes[m]));
        for (int r = 0; r < args.repeats; ++r) std::printf(" %.0f,%.0f", off[r], on[m][r]);
        std::printf("\n");
      }
      // Where a decode step's time goes (the prefill step left out), from the last repeat.
      auto split = [](const char* name, const SpecRun& r) {
        const EngineStats& a = r.prefill;
        const EngineStats& b = r.stats;
        const double n = static_cast<double>(std::max<int64_t>(b.steps - a.steps, 1));
        const double step = b.step_seconds - a.step_seconds, fwd = b.forward_seconds - a.forward_seconds;
        const double smp = b.sample_seconds - a.sample_seconds;
        std::printf("    %-5s %3ld decode steps, %5.2f tokens/step: %.2f ms/step = forward %.2f + sampler %.2f + rest %.2f\n",
                    name, static_cast<long>(b.steps - a.steps),
                    double(b.generation_tokens - a.generation_tokens) / n, 1e3 * step / n, 1e3 * fwd / n,
                    1e3 * smp / n, 1e3 * (step - fwd - smp) / n);
      };
      split("off", off_runs);
      for (size_t m = 0; m < args.modes.size(); ++m) split(speculation_name(args.modes[m]), last[m]);
    }
  }
  return 0;
}

std::pair<int, int> parse_range(const std::string& text, const std::string& option) {
  const size_t dots = text.find("..");
  try {
    if (dots == std::string::npos) {
      const int v = std::stoi(text);
      return {v, v};
    }
    const int a = std::stoi(text.substr(0, dots)), b = std::stoi(text.substr(dots + 2));
    if (a < 1 || b < a) throw std::invalid_argument("bad range");
    return {a, b};
  } catch (const std::exception&) {
    throw std::runtime_error(option + ": expected N or A..B with 1 <= A <= B, got '" + text + "'");
  }
}

NUCLEUS_REGISTER_COMMAND(
    "bench", "Benchmarks: `bench model` (forward pass), `bench offline` (engine), `bench spec` (speculation), `bench serve` (HTTP)",
    [](CLI::App* sub) -> std::function<int()> {
      sub->require_subcommand(1);
      auto run = std::make_shared<std::function<int()>>();

      auto margs = std::make_shared<ModelBenchArgs>();
      CLI::App* model = sub->add_subcommand("model", "Prefill and decode tokens/s of the forward pass");
      model->add_option("--model,-m", margs->model, "GGUF model file (default: the default model)");
      model->add_option("--threads", margs->threads, "CPU threads; 0 = one per core")->capture_default_str();
      model->add_option("--prompt-tokens", margs->prompt, "Prefill length")->capture_default_str()->check(CLI::Range(1, 8192));
      model->add_option("--decode-tokens", margs->decode, "Decode steps")->capture_default_str()->check(CLI::Range(1, 4096));
      model->add_option("--batches", margs->batches, "Decode batch sizes")->capture_default_str();
      model->add_option("--repeats", margs->repeats, "Runs per figure (the median is printed)")->capture_default_str()
          ->check(CLI::Range(1, 100));
      model->add_flag("--json", margs->json, "Print JSON instead of a table");
      auto mdevice = std::make_shared<config::DeviceOptionParser>(model);
      model->callback([run, margs, mdevice] {
        *run = [margs, mdevice] {
          margs->device = mdevice->resolve();
          return run_model_bench(*margs);
        };
      });

      auto oargs = std::make_shared<OfflineBenchArgs>();
      auto in_text = std::make_shared<std::string>("128..512");
      auto out_text = std::make_shared<std::string>("64..256");
      CLI::App* offline = sub->add_subcommand("offline", "Many requests through the engine vs one at a time");
      offline->add_option("--model,-m", oargs->model, "GGUF model file (default: the default model)");
      offline->add_option("--requests", oargs->requests, "Number of requests")->capture_default_str()->check(CLI::Range(1, 100000));
      offline->add_option("--input-len", *in_text, "Prompt length N or range A..B (tokens)")->capture_default_str();
      offline->add_option("--output-len", *out_text, "Output length N or range A..B (tokens)")->capture_default_str();
      offline->add_option("--threads", oargs->threads, "CPU threads; 0 = one per core")->capture_default_str();
      offline->add_option("--max-batched-tokens", oargs->max_batched_tokens, "Token budget per step")->capture_default_str();
      offline->add_option("--max-seqs", oargs->max_seqs, "Sequences per step")->capture_default_str();
      offline->add_flag("--skip-sequential", oargs->skip_sequential, "Only the batched run");
      auto odevice = std::make_shared<config::DeviceOptionParser>(offline);
      offline->callback([run, oargs, in_text, out_text, odevice] {
        oargs->input_len = parse_range(*in_text, "--input-len");
        oargs->output_len = parse_range(*out_text, "--output-len");
        *run = [oargs, odevice] {
          oargs->device = bench_device(odevice->resolve());
          return run_offline_bench(*oargs);
        };
      });
      auto sargs = std::make_shared<SpecBenchArgs>();
      CLI::App* spec = sub->add_subcommand(
          "spec", "Speculative decoding: batch-1 decode with n-gram and draft-model drafts vs without");
      spec->add_option("--model,-m", sargs->model, "GGUF model file (default: the default model)");
      spec->add_option("--threads", sargs->threads, "CPU threads; 0 = one per core")->capture_default_str();
      spec->add_option("--max-tokens", sargs->max_tokens, "Tokens generated per run; 0 = each workload's own (128, 256, 128)")
          ->capture_default_str()
          ->check(CLI::Validator(
              [](const std::string& v) {
                const int n = std::atoi(v.c_str());
                return n == 0 || (n >= 2 && n <= 4096) ? std::string() : "must be 0 or in [2, 4096], got " + v;
              },
              "0 or [2, 4096]"));
      spec->add_option("--spec-tokens", sargs->spec_tokens, "Tokens drafted per step")->capture_default_str()
          ->check(CLI::Range(1, 16));
      spec->add_option("--repeats", sargs->repeats, "Runs per figure (median)")->capture_default_str()
          ->check(CLI::Range(1, 20));
      auto mode_names = std::make_shared<std::vector<std::string>>(std::vector<std::string>{"ngram", "draft"});
      spec->add_option("--modes", *mode_names, "Speculation modes compared with off (off too: a control that should give 1.00x)")
          ->capture_default_str()
          ->check(CLI::IsMember({"off", "ngram", "draft"}));
      spec->add_option("--draft-model", sargs->draft_model,
                       "GGUF draft model with the model's vocabulary (default: the model drafts for itself)");
      spec->add_flag("--verbose", sargs->verbose, "Also print where a step's time goes (forward, sampler, rest)");
      auto sdevice = std::make_shared<config::DeviceOptionParser>(spec);
      spec->callback([run, sargs, sdevice, mode_names] {
        sargs->modes.clear();
        for (const std::string& m : *mode_names) sargs->modes.push_back(m == "off" ? Speculation::kOff : m == "ngram" ? Speculation::kNgram : Speculation::kDraft);
        *run = [sargs, sdevice] {
          sargs->device = bench_device(sdevice->resolve());
          return run_spec_bench(*sargs);
        };
      });

      CLI::App* serve = sub->add_subcommand("serve", "Load an OpenAI-compatible server: TTFT, TPOT, ITL, throughput");
      auto serve_run = setup_bench_serve(serve);
      serve->callback([run, serve_run] { *run = serve_run; });
      return [run] { return (*run)(); };
    });

}  // namespace
}  // namespace nucleus::app
