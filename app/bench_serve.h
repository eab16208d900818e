// `nucleus bench serve` (bench_serve.cc), wired under `nucleus bench` in cmd_bench.cc.
#pragma once

#include <functional>

#include <CLI/CLI.hpp>

namespace nucleus::app {

// Declares the options on `sub`; returns the runner.
std::function<int()> setup_bench_serve(CLI::App* sub);

}  // namespace nucleus::app
