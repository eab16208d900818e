// Prometheus text exposition for GET /metrics: engine gauges and counters
// (from EngineStats) plus latency histograms the HTTP layer records per
// request (TTFT, inter-token latency, end-to-end). Names follow vLLM's, with
// the "nucleus:" prefix.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "engine/engine.h"

namespace nucleus::server {

// A cumulative histogram with fixed upper bounds, safe to observe from many threads.
class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void observe(double value);
  // Appends the # TYPE line and the _bucket/_sum/_count series for `name`.
  void render(const std::string& name, const std::string& help, std::string& out) const;
  uint64_t count() const;

 private:
  std::vector<double> bounds_;  // ascending; +Inf is implicit
  mutable std::mutex mutex_;
  std::vector<uint64_t> counts_;  // per bucket, not cumulative; last = +Inf
  double sum_ = 0.0;
  uint64_t count_ = 0;
};

class ServerMetrics {
 public:
  ServerMetrics();
  Histogram ttft;           // seconds from request arrival to its first token
  Histogram inter_token;    // seconds between tokens of one sequence
  Histogram e2e;            // seconds from arrival to the last byte
  void count_response(int status);

  // The whole /metrics page. `stats` is null while the model is loading.
  std::string render(const EngineStats* stats) const;

 private:
  mutable std::mutex mutex_;
  std::map<int, uint64_t> responses_;  // by HTTP status
};

}  // namespace nucleus::server
