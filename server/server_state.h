// What every HTTP handler reads: the engine (once loaded), the tokenizer, the
// chat template, the served model name and the metrics. Set up by
// app/cmd_serve.cc; `ready` flips to true when the model is loaded, and
// `draining` when shutdown starts (handlers then refuse new work with 503).
#pragma once

#include <atomic>
#include <optional>
#include <string>

#include "engine/engine.h"
#include "engine/engine_defaults.h"
#include "sampling/grammar/grammar_cache.h"
#include "text/tokenizer.h"
#include "text/chat_formatter.h"
#include "text/reasoning_parser.h"
#include "text/tool_call_parser.h"
#include "server/metrics.h"
#include "server/system_fingerprint.h"

namespace nucleus::server {

struct ServerState {
  std::atomic<bool> ready{false};
  std::atomic<bool> draining{false};
  Engine* engine = nullptr;              // valid once ready
  const Model* model = nullptr;          // valid once ready; GET /props reports its facts
  const Tokenizer* tokenizer = nullptr;  // valid once ready
  std::optional<ChatFormatter> chat;    // the chat template (none: chat routes answer 400)
  ToolCallFormat tool_call_format = ToolCallFormat::kGeneric;  // how the template's model writes calls
  ReasoningFormat reasoning_format = ReasoningFormat::kDeepSeek;  // --reasoning-format
  std::string model_name;                // what clients pass as "model"
  SystemFingerprint fingerprint;         // set with the model, before ready; in every completion response
  int context_length = 0;
  std::string api_key;                   // empty: no auth
  bool request_log = true;               // one log line per finished request
  int max_request_sequences = kDefaultMaxRequestSequences;  // prompts x n (x beams) per request (server/request_bounds.h)
  ServerMetrics metrics;
  grammar::GrammarCache grammars{64};    // compiled structured-output grammars, by source text
};

}  // namespace nucleus::server
