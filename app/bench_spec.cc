// `nucleus bench spec`: batch-1 decode tokens/s with speculative decoding
// (n-gram prompt lookup, a draft model) against without, on three workloads
// from copy-heavy to free text, with each mode's draft acceptance.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "app/bench.h"
#include "app/chat_prompt.h"
#include "config/options.h"
#include "engine/engine.h"
#include "engine/engine_core.h"
#include "kernels/device.h"
#include "model/model.h"
#include "model/tokenizer_gguf.h"
#include "text/tokenizer.h"

namespace nucleus::app {
namespace {

struct SpecBenchArgs {
  std::string model;
  int max_tokens = 0;  // 0: each workload's own length
  int repeats = 5;
  std::vector<Speculation> modes{Speculation::kNgram, Speculation::kDraft};
  bool verbose = false;  // also where a step's time goes
  std::string draft_model;  // empty: the model drafts for itself
  EngineOptions engine;  // --threads, --spec-tokens and --device; the rest as the engine's
};

struct SpecRun {
  double tok_s = 0;    // decode tokens/s: tokens after the first over the time of the steps after the first
  EngineStats stats;   // at the end of the run
  EngineStats prefill; // after the step that gave the first token (the prefill step)
};

// One mode's engine in spec_lockstep.
struct Lane {
  std::unique_ptr<EngineCore> core;
  std::unique_ptr<RequestHandle> handle;
  int64_t tokens = 0;
  double seconds = 0;
  bool done = false;
  SpecRun run;
};

// Steps the lane once and reads its events.
void step_lane(Lane& lane, kernels::Device device) {
  const bool decoding = lane.tokens > 0;
  const auto t0 = Clock::now();
  if (!lane.core->step()) throw std::runtime_error("bench spec: the engine stopped before the request finished");
  kernels::device_synchronize(device);
  if (decoding) lane.seconds += seconds_since(t0);
  while (auto event = lane.handle->next(std::chrono::milliseconds(0))) {
    if (!event->error.empty()) throw std::runtime_error("bench spec: " + event->error);
    for (const auto& d : event->deltas) lane.tokens += static_cast<int64_t>(d.tokens.size());
    if (!decoding && lane.tokens > 0) lane.run.prefill = lane.core->stats();
    if (event->done) {
      lane.done = true;
      break;  // after the last event, next() answers `done` again and again
    }
  }
}

// One request per mode, each in its own engine, stepped by hand in lockstep:
// always the engine that has produced the fewest tokens steps next. Every
// mode produces the same tokens, so each mode's k-th token is computed at
// about the same moment as every other's, and the VM's speed drift (2x from
// one second to the next while others build) falls on all modes alike.
// Returns one run per mode, in the order given.
std::vector<SpecRun> spec_lockstep(Model& model, const Tokenizer& tokenizer, const SpecBenchArgs& args,
                                   const GenerationRequest& request, const std::vector<Speculation>& modes,
                                   Model* draft) {
  std::vector<Lane> lanes(modes.size());
  for (size_t i = 0; i < modes.size(); ++i) {
    EngineOptions options = args.engine;
    options.speculation = modes[i];
    options.draft_model = modes[i] == Speculation::kDraft ? draft : nullptr;
    options.kv_cache_bytes = int64_t{512} << 20;  // one short request per engine: no need for a share of the RAM
    lanes[i].core = std::make_unique<EngineCore>(model, tokenizer, options);
    lanes[i].handle = lanes[i].core->submit(request);
  }
  while (true) {
    Lane* next = nullptr;
    for (Lane& lane : lanes) {
      if (!lane.done && (next == nullptr || lane.tokens < next->tokens)) next = &lane;
    }
    if (next == nullptr) break;
    step_lane(*next, args.engine.device);
  }
  std::vector<SpecRun> runs;
  for (Lane& lane : lanes) {
    lane.run.tok_s = double(lane.tokens - 1) / std::max(lane.seconds, 1e-9);
    lane.run.stats = lane.core->stats();
    runs.push_back(lane.run);
  }
  return runs;
}

struct Workload {
  const char* name;
  std::string message;  // the user's message, rendered with the model's chat template
  float temperature;
  int max_tokens;
};

std::vector<Workload> spec_workloads() {
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
  // "copy (code)": a short function; its 128 tokens are ~90 of copy and then
  // the model's own explanation, so it is part copy, part free text.
  // "rewrite (file)": the ~250-token file above; 256 tokens cover the whole
  // rewritten file plus the few lines the model adds after it.
  return {
      {"copy (code)", "Copy this code exactly, without comments of your own:\n" + passage, 0.0f, 128},
      {"rewrite (file)",
       "Rewrite this code file with the class renamed from Inventory to Stock. Change nothing else.\n\n" + code_file,
       0.0f, 256},
      {"no repeats", "Write a short poem about autumn leaves.", 0.8f, 128},
  };
}

// A workload's figures over the repeats: tokens/s with speculation off and in
// each mode, and the last repeat's runs (their stats).
struct WorkloadRuns {
  std::vector<double> off;
  std::vector<std::vector<double>> on, ratio;  // [mode][repeat]
  SpecRun last_off;
  std::vector<SpecRun> last;  // [mode]
};

// Every repeat runs off and each mode in lockstep (spec_lockstep); the ratio
// printed is the median of the per-repeat ratios.
WorkloadRuns measure_workload(Model& model, const Tokenizer& tokenizer, const SpecBenchArgs& args,
                              const GenerationRequest& request, Model* draft) {
  std::vector<Speculation> lanes{Speculation::kOff};
  lanes.insert(lanes.end(), args.modes.begin(), args.modes.end());
  WorkloadRuns w;
  w.on.resize(args.modes.size());
  w.ratio.resize(args.modes.size());
  w.last.resize(args.modes.size());
  for (int r = 0; r < args.repeats; ++r) {
    const std::vector<SpecRun> runs = spec_lockstep(model, tokenizer, args, request, lanes, draft);
    w.off.push_back(runs[0].tok_s);
    w.last_off = runs[0];
    for (size_t m = 0; m < args.modes.size(); ++m) {
      w.last[m] = runs[m + 1];
      w.on[m].push_back(w.last[m].tok_s);
      w.ratio[m].push_back(w.last[m].tok_s / w.off.back());  // drafts are deterministic: every repeat drafts the same
    }
  }
  return w;
}

// Where a decode step's time goes (the prefill step left out).
void print_step_split(const char* name, const SpecRun& r) {
  const EngineStats& a = r.prefill;
  const EngineStats& b = r.stats;
  const double n = static_cast<double>(std::max<int64_t>(b.steps - a.steps, 1));
  const double step = b.step_seconds - a.step_seconds, fwd = b.forward_seconds - a.forward_seconds;
  const double smp = b.sample_seconds - a.sample_seconds;
  std::printf("    %-5s %3ld decode steps, %5.2f tokens/step: %.2f ms/step = forward %.2f + sampler %.2f + rest %.2f\n",
              name, static_cast<long>(b.steps - a.steps), double(b.generation_tokens - a.generation_tokens) / n,
              1e3 * step / n, 1e3 * fwd / n, 1e3 * smp / n, 1e3 * (step - fwd - smp) / n);
}

void print_workload(const SpecBenchArgs& args, const char* name, const WorkloadRuns& w) {
  for (size_t m = 0; m < args.modes.size(); ++m) {
    const EngineStats& st = w.last[m].stats;
    std::printf("  %-14s off %7.1f tok/s   %-5s %7.1f tok/s   %.2fx   acceptance %ld/%ld (%.0f%%)\n", name,
                median(w.off), speculation_name(args.modes[m]), median(w.on[m]), median(w.ratio[m]),
                static_cast<long>(st.spec_accepted), static_cast<long>(st.spec_drafted),
                st.spec_drafted ? 100.0 * st.spec_accepted / st.spec_drafted : 0.0);
  }
  if (!args.verbose) return;
  for (size_t m = 0; m < args.modes.size(); ++m) {
    std::printf("    %-5s per repeat (off, on tok/s):", speculation_name(args.modes[m]));
    for (int r = 0; r < args.repeats; ++r) std::printf(" %.0f,%.0f", w.off[r], w.on[m][r]);
    std::printf("\n");
  }
  // From the last repeat.
  print_step_split("off", w.last_off);
  for (size_t m = 0; m < args.modes.size(); ++m) print_step_split(speculation_name(args.modes[m]), w.last[m]);
}

int run_spec_bench(const SpecBenchArgs& args) {
  const std::string path = model_or_default(args.model);
  std::unique_ptr<Model> model = Model::load(path);
  const Tokenizer tokenizer = tokenizer_from_gguf(model->file());
  // Without --draft-model the model drafts for itself: acceptance is then an
  // upper bound (only sampling disagrees), and there is no speed-up to expect.
  std::unique_ptr<Model> draft_owned = args.draft_model.empty() ? nullptr : Model::load(args.draft_model);
  Model* draft = draft_owned ? draft_owned.get() : model.get();
  const std::string draft_path = args.draft_model.empty() ? path + " (itself)" : args.draft_model;
  std::printf("nucleus bench spec: decode tok/s at batch 1, speculation (up to %d drafted tokens) vs off, "
              "modes stepped in lockstep, medians of %d runs; %s; draft model %s\n",
              args.engine.spec_tokens, args.repeats, path.c_str(), draft_path.c_str());
  for (const Workload& w : spec_workloads()) {
    GenerationRequest request;
    request.prompt = chat_prompt_tokens(*model, tokenizer, w.message, "bench spec");
    request.max_tokens = args.max_tokens > 0 ? args.max_tokens : w.max_tokens;
    request.params.temperature = w.temperature;
    request.params.has_seed = true;
    request.params.seed = 7;
    request.params.ignore_eos = true;
    print_workload(args, w.name, measure_workload(*model, tokenizer, args, request, draft));
  }
  return 0;
}

void add_spec_options(CLI::App* spec, SpecBenchArgs& args, std::vector<std::string>& mode_names) {
  spec->add_option("--model,-m", args.model, "GGUF model file (default: the default model)");
  spec->add_option("--threads", args.engine.threads, "CPU threads; 0 = one per core")->capture_default_str();
  spec->add_option("--max-tokens", args.max_tokens, "Tokens generated per run; 0 = each workload's own (128, 256, 128)")
      ->capture_default_str()
      ->check(CLI::Validator(
          [](const std::string& v) {
            const int n = std::atoi(v.c_str());
            return n == 0 || (n >= 2 && n <= 4096) ? std::string() : "must be 0 or in [2, 4096], got " + v;
          },
          "0 or [2, 4096]"));
  spec->add_option("--spec-tokens", args.engine.spec_tokens, "Tokens drafted per step")->capture_default_str()
      ->check(CLI::Range(1, 16));
  spec->add_option("--repeats", args.repeats, "Runs per figure (median)")->capture_default_str()
      ->check(CLI::Range(1, 20));
  spec->add_option("--modes", mode_names, "Speculation modes compared with off (off too: a control that should give 1.00x)")
      ->capture_default_str()
      ->check(CLI::IsMember({"off", "ngram", "draft"}));
  spec->add_option("--draft-model", args.draft_model,
                   "GGUF draft model with the model's vocabulary (default: the model drafts for itself)");
  spec->add_flag("--verbose", args.verbose, "Also print where a step's time goes (forward, sampler, rest)");
}

}  // namespace

void add_spec_bench(CLI::App* bench, const BenchRun& run) {
  auto args = std::make_shared<SpecBenchArgs>();
  auto mode_names = std::make_shared<std::vector<std::string>>(std::vector<std::string>{"ngram", "draft"});
  CLI::App* spec = bench->add_subcommand(
      "spec", "Speculative decoding: batch-1 decode with n-gram and draft-model drafts vs without");
  add_spec_options(spec, *args, *mode_names);
  auto device = std::make_shared<config::DeviceOptionParser>(spec);
  spec->callback([run, args, device, mode_names] {
    args->modes.clear();
    for (const std::string& m : *mode_names) args->modes.push_back(speculation_from_name(m).value());  // CLI11 checked
    *run = [args, device] {
      args->engine.device = bench_device(device->resolve());
      return run_spec_bench(*args);
    };
  });
}

}  // namespace nucleus::app
