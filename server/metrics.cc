#include "server/metrics.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>

namespace nucleus::server {

namespace {

// The shortest of %.15g / %.17g that reads back as `v`, so bucket labels read le="0.1", not "0.10000000000000001".
std::string number(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.15g", v);
  if (std::strtod(buf, nullptr) != v) std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

void metric(std::string& out, const std::string& name, const char* type, const std::string& help, double value) {
  out += "# HELP " + name + " " + help + "\n# TYPE " + name + " " + type + "\n" + name + " " + number(value) + "\n";
}

// Requests running, waiting and finished, and the tokens they took and gave.
void render_requests(const EngineStats& s, std::string& out) {
  metric(out, "nucleus:num_requests_running", "gauge", "Requests with sequences in the running batch.",
         static_cast<double>(s.running));
  metric(out, "nucleus:num_requests_waiting", "gauge", "Requests waiting to be scheduled.",
         static_cast<double>(s.waiting));
  out += "# HELP nucleus:request_success_total Finished requests by finish reason.\n"
         "# TYPE nucleus:request_success_total counter\n";
  const std::pair<const char*, int64_t> reasons[] = {{"stop", s.finished_stop},
                                                     {"length", s.finished_length},
                                                     {"abort", s.finished_abort},
                                                     {"error", s.finished_error}};
  for (const auto& [reason, n] : reasons)
    out += std::string("nucleus:request_success_total{finished_reason=\"") + reason + "\"} " + std::to_string(n) + "\n";
  metric(out, "nucleus:prompt_tokens_total", "counter", "Prompt tokens processed (prefilled or cached).",
         static_cast<double>(s.prompt_tokens));
  metric(out, "nucleus:generation_tokens_total", "counter", "Tokens generated.",
         static_cast<double>(s.generation_tokens));
}

// KV blocks in use and cached, and the prefix cache's hits.
void render_kv_cache(const EngineStats& s, std::string& out) {
  metric(out, "nucleus:kv_cache_blocks_total", "gauge", "KV cache blocks.", static_cast<double>(s.kv_blocks_total));
  metric(out, "nucleus:kv_cache_blocks_used", "gauge", "KV cache blocks referenced by live sequences.",
         static_cast<double>(s.kv_blocks_used));
  metric(out, "nucleus:kv_cache_blocks_cached", "gauge", "Free KV blocks that hold reusable prefixes.",
         static_cast<double>(s.kv_blocks_cached));
  metric(out, "nucleus:kv_cache_usage_perc", "gauge", "Fraction of KV blocks in use (1 = full).",
         s.kv_blocks_total > 0 ? static_cast<double>(s.kv_blocks_used) / static_cast<double>(s.kv_blocks_total)
                               : 0.0);
  metric(out, "nucleus:prefix_cache_queries_total", "counter", "Prompt tokens looked up in the prefix cache.",
         static_cast<double>(s.prefix_queries));
  metric(out, "nucleus:prefix_cache_hits_total", "counter", "Prompt tokens served from the prefix cache.",
         static_cast<double>(s.prefix_hits));
  metric(out, "nucleus:prefix_cache_hit_rate", "gauge", "prefix_cache_hits_total / prefix_cache_queries_total.",
         s.prefix_queries > 0 ? static_cast<double>(s.prefix_hits) / static_cast<double>(s.prefix_queries) : 0.0);
  metric(out, "nucleus:num_preemptions_total", "counter", "Sequences preempted to free KV blocks.",
         static_cast<double>(s.preemptions));
}

// Speculative decoding's drafts and acceptance, and the engine's steps.
void render_speculation_and_steps(const EngineStats& s, std::string& out) {
  metric(out, "nucleus:spec_decode_num_draft_tokens_total", "counter", "Speculative tokens drafted and scored.",
         static_cast<double>(s.spec_drafted));
  metric(out, "nucleus:spec_decode_num_accepted_tokens_total", "counter", "Drafted tokens kept.",
         static_cast<double>(s.spec_accepted));
  metric(out, "nucleus:spec_decode_draft_acceptance_rate", "gauge", "Accepted / drafted speculative tokens.",
         s.spec_drafted ? static_cast<double>(s.spec_accepted) / static_cast<double>(s.spec_drafted) : 0.0);
  metric(out, "nucleus:spec_decode_draft_kv_blocks_used", "gauge",
         "Blocks of the draft model's own KV cache in use (0 without --draft-model).",
         static_cast<double>(s.spec_draft_kv_blocks_used));
  metric(out, "nucleus:engine_steps_total", "counter", "Engine steps run.", static_cast<double>(s.steps));
  metric(out, "nucleus:engine_step_seconds_total", "counter", "Wall time spent in engine steps.", s.step_seconds);
}

}  // namespace

Histogram::Histogram(std::vector<double> bounds) : bounds_(std::move(bounds)), counts_(bounds_.size() + 1, 0) {
  std::sort(bounds_.begin(), bounds_.end());
}

void Histogram::observe(double value) {
  size_t i = std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin();  // le: value <= bound
  std::lock_guard<std::mutex> lock(mutex_);
  counts_[i]++;
  sum_ += value;
  count_++;
}

uint64_t Histogram::count() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return count_;
}

void Histogram::render(const std::string& name, const std::string& help, std::string& out) const {
  std::lock_guard<std::mutex> lock(mutex_);
  out += "# HELP " + name + " " + help + "\n# TYPE " + name + " histogram\n";
  uint64_t cumulative = 0;
  for (size_t i = 0; i < bounds_.size(); ++i) {
    cumulative += counts_[i];
    out += name + "_bucket{le=\"" + number(bounds_[i]) + "\"} " + std::to_string(cumulative) + "\n";
  }
  cumulative += counts_.back();
  out += name + "_bucket{le=\"+Inf\"} " + std::to_string(cumulative) + "\n";
  out += name + "_sum " + number(sum_) + "\n";
  out += name + "_count " + std::to_string(count_) + "\n";
}

ServerMetrics::ServerMetrics()
    : ttft({0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0}),
      inter_token({0.001, 0.0025, 0.005, 0.01, 0.015, 0.02, 0.025, 0.03, 0.04, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4,
                   0.5, 0.75, 1.0, 2.5}),
      e2e({0.01, 0.05, 0.1, 0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0, 60.0, 120.0}) {}

void ServerMetrics::count_response(int status) {
  std::lock_guard<std::mutex> lock(mutex_);
  responses_[status]++;
}

std::string ServerMetrics::render(const EngineStats* s) const {
  std::string out;
  metric(out, "nucleus:model_loaded", "gauge", "1 when the model is loaded and requests are served", s ? 1 : 0);
  if (s) {
    render_requests(*s, out);
    render_kv_cache(*s, out);
    render_speculation_and_steps(*s, out);
  }
  ttft.render("nucleus:time_to_first_token_seconds", "Time from request arrival to its first token.", out);
  inter_token.render("nucleus:inter_token_latency_seconds", "Time between consecutive tokens of a sequence.", out);
  e2e.render("nucleus:e2e_request_latency_seconds", "Time from request arrival to its end.", out);
  std::lock_guard<std::mutex> lock(mutex_);
  out += "# HELP nucleus:http_responses_total HTTP responses by status code.\n"
         "# TYPE nucleus:http_responses_total counter\n";
  for (const auto& [status, n] : responses_)
    out += "nucleus:http_responses_total{code=\"" + std::to_string(status) + "\"} " + std::to_string(n) + "\n";
  return out;
}

}  // namespace nucleus::server
