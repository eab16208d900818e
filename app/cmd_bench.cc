// `nucleus bench`: speed of the model, the engine and a server on this machine.
//   bench model    prefill and decode tokens/s of the forward pass (batch 1, 8, 32)
//   bench offline  many requests through the engine, against one at a time
//   bench spec     batch-1 decode with speculation against without
//   bench serve    load on an OpenAI-compatible server
#include <algorithm>
#include <cstdio>

#include "app/bench.h"
#include "app/command.h"
#include "config/options.h"
#include "kernels/device.h"

namespace nucleus::app {

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

std::string model_or_default(const std::string& model) {
  return model.empty() ? config::default_model_path() : model;
}

kernels::Device bench_device(const std::string& choice) {
  const kernels::DeviceChoice device = kernels::choose_device(choice);
  std::fprintf(stderr, "[nucleus] %s\n", device.reason.c_str());
  return device.device;
}

namespace {

NUCLEUS_REGISTER_COMMAND(
    "bench", "Benchmarks: `bench model` (forward pass), `bench offline` (engine), `bench spec` (speculation), `bench grammar` (structured output), `bench serve` (HTTP)",
    [](CLI::App* sub) -> std::function<int()> {
      sub->require_subcommand(1);
      auto run = std::make_shared<std::function<int()>>();
      add_model_bench(sub, run);
      add_offline_bench(sub, run);
      add_spec_bench(sub, run);
      add_grammar_bench(sub, run);
      add_serve_bench(sub, run);
      return [run] { return (*run)(); };
    });

}  // namespace
}  // namespace nucleus::app
