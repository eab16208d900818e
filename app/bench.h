// What the `nucleus bench` subcommands share. cmd_bench.cc registers `bench`;
// each bench_*.cc adds one subcommand under it (model, offline, spec, serve, grammar).
// Figures, not tests: compare them with a peer measured in the same run
// (bench/peers/ runs llama.cpp's llama-bench and llama-server beside these).
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "kernels/ops.h"

namespace nucleus::app {

// The chosen subcommand's runner: its callback stores it here after parsing,
// and `nucleus bench` runs it.
using BenchRun = std::shared_ptr<std::function<int()>>;

void add_model_bench(CLI::App* bench, const BenchRun& run);    // bench_model.cc
void add_offline_bench(CLI::App* bench, const BenchRun& run);  // bench_offline.cc
void add_spec_bench(CLI::App* bench, const BenchRun& run);     // bench_spec.cc
void add_serve_bench(CLI::App* bench, const BenchRun& run);    // bench_serve.cc
void add_grammar_bench(CLI::App* bench, const BenchRun& run);  // bench_grammar.cc

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t);
double median(std::vector<double> v);

// --model, or the default model when it is empty.
std::string model_or_default(const std::string& model);
// Resolves --device and says on stderr what was chosen (stdout may be JSON).
kernels::Device bench_device(const std::string& choice);

}  // namespace nucleus::app
