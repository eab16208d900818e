// The bridge from an HTTP handler to the engine: builds engine requests from
// parsed OpenAI requests, submits them (engine errors become ApiErrors), and
// reads their events as one stream of per-choice deltas.
//
// A completions request may carry several prompts; each becomes one engine
// request with its own n sequences, and choice index = prompt * n + sequence.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "engine/engine.h"
#include "server/openai_request.h"
#include "server/server_state.h"

namespace nucleus::server {

struct ChoiceDelta {
  int choice = 0;
  SequenceDelta delta;
};

class GenerationRun {
 public:
  // Submits one engine request per prompt; throws ApiError (400, 503).
  // Without max_tokens (chat's default) a request runs until it stops or
  // fills the context; completions' parser sets OpenAI's legacy 16.
  GenerationRun(ServerState& state, const CommonRequest& common, const std::vector<std::vector<int32_t>>& prompts);

  // Waits up to `timeout` for news; appends the deltas to `out`. Returns false
  // once every prompt's request has finished (after its last deltas).
  bool poll(std::vector<ChoiceDelta>& out, std::chrono::milliseconds timeout);
  // Cancels whatever is still running (client gone).
  void abort();

  const Usage& usage() const { return usage_; }
  // The prompts' tokens, known from the start (usage() counts them only once
  // each request's last event has come, which an aborted one may not send in time).
  int64_t prompt_tokens() const { return prompt_tokens_; }
  // The first error the engine reported, empty if none; error_param() names the
  // request parameter that caused it, empty when it is the server's (RequestEvent).
  const std::string& error() const { return error_; }
  const std::string& error_param() const { return error_param_; }
  int num_choices() const { return static_cast<int>(handles_.size()) * n_; }
  // Prompt p's token logprobs from its second token on, once the engine sent
  // them (CommonRequest::prompt_logprobs >= 0); they precede its first token.
  const std::vector<TokenLogprob>& prompt_logprobs(int prompt) const { return prompt_logprobs_[prompt]; }

 private:
  ServerState& state_;
  int n_;
  std::vector<std::unique_ptr<RequestHandle>> handles_;
  std::vector<bool> done_;
  std::vector<std::vector<TokenLogprob>> prompt_logprobs_;
  Usage usage_;
  int64_t prompt_tokens_ = 0;
  std::string error_;
  std::string error_param_;
};

}  // namespace nucleus::server
