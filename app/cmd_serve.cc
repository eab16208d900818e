// `nucleus serve`: the OpenAI-compatible HTTP server.
//
// Start-up order: bind the port (a clash fails at once, before the slow part),
// start serving (GET /health answers 503 "loading"), load the model and the
// engine, then flip to ready. SIGTERM/SIGINT: /health turns 503 and new
// requests are refused, idle keep-alive connections are closed, running
// requests get --shutdown-timeout seconds to finish, the rest are aborted,
// every connection is closed within about 0.5 s more (server/connection_gate.h),
// and the process exits 0.
//
// Threads (besides the engine's and httplib's, see their headers): the HTTP
// listener runs on its own thread so main can load the model meanwhile, and
// main then waits for SIGTERM/SIGINT with sigwait (the signals are blocked in
// every thread, so none of them is interrupted by one).
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>

#include <signal.h>  // kill
#include <unistd.h>  // getpid

#include <spdlog/spdlog.h>

#include "app/chat_prompt.h"
#include "app/command.h"
#include "config/options.h"
#include "engine/engine.h"
#include "engine/kv_budget.h"
#include "model/model.h"
#include "model/tokenizer_gguf.h"
#include "text/tokenizer.h"
#include "kernels/device.h"
#include "server/http_server.h"
#include "server/system_fingerprint.h"

namespace nucleus::app {
namespace {

std::string model_name_from_path(const std::string& path) {
  std::string name = std::filesystem::path(path).filename().string();
  if (name.size() > 5 && name.ends_with(".gguf")) name.resize(name.size() - 5);
  return name;
}

// SIGTERM and SIGINT blocked in this thread and in every thread created after
// it, so that only sigwait() sees them.
sigset_t block_stop_signals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  return signals;
}

server::HttpOptions http_options(const config::ServeOptions& o) {
  server::HttpOptions http;
  http.host = o.host;
  http.port = o.port;
  http.http_threads = o.http_threads;
  http.max_body = static_cast<size_t>(o.max_body);
  http.max_connections = o.max_connections;
  http.header_timeout = o.header_timeout;
  http.body_timeout = o.body_timeout;
  http.webui = !o.no_webui;
  try {
    http.cors = server::CorsPolicy::parse(o.allowed_origins);
  } catch (const std::invalid_argument& e) {
    throw config::ConfigError(std::string("--allowed-origins: ") + e.what());
  }
  return http;
}

// The chat template (--chat-template, else the GGUF's own Jinja template) and
// how its outputs are read: the tool-call format its markers name, reasoning.
void serve_chat_template(const config::ServeOptions& o, const Model& model, const Tokenizer& tokenizer,
                         server::ServerState& state) {
  app::LoadedChatTemplate tmpl = app::load_chat_template(model, tokenizer, o.chat_template);
  if (!tmpl.problem.empty()) spdlog::warn("{}: {}", o.model, tmpl.problem);
  state.chat = std::move(tmpl.formatter);
  if (state.chat) {
    state.tool_call_format = detect_tool_call_format(state.chat->source());
    spdlog::info("chat template: {}; tool calls read as {}", state.chat->name(),
                 tool_call_format_name(state.tool_call_format));
  }
  state.reasoning_format = parse_reasoning_format(o.reasoning_format).value_or(ReasoningFormat::kDeepSeek);
}

// What serving loads after the port is bound; members are destroyed engine first.
struct Served {
  std::unique_ptr<Model> model;
  std::unique_ptr<Model> draft_model;  // --draft-model (unless it is --model itself)
  std::unique_ptr<Tokenizer> tokenizer;
  std::unique_ptr<Engine> engine;
  // Set by the engine thread when the device can run nothing more (a sticky
  // CUDA error): the server then stops as on SIGTERM and exits with status 1.
  std::mutex device_lost_mutex;
  std::string device_lost;
};

void load_served(const config::ServeOptions& o, kernels::Device device, Served& s, server::ServerState& state) {
  s.model = Model::load(o.model);
  s.tokenizer = std::make_unique<Tokenizer>(tokenizer_from_gguf(s.model->file()));
  serve_chat_template(o, *s.model, *s.tokenizer, state);
  EngineOptions options;
  options.kv_cache_bytes = o.kv_cache_memory;
  options.kv_dtype = kernels::kv_dtype_from_name(o.kv_cache_dtype).value();  // validated with the options
  options.max_batched_tokens = o.max_batched_tokens;
  options.block_size = o.block_size;
  options.max_seqs = o.max_seqs;
  options.max_step_ms = o.max_step_ms;
  options.max_queue = o.max_queue;
  options.max_request_sequences = o.max_request_sequences;
  options.prefix_cache = !o.no_prefix_cache;
  options.threads = o.threads;
  options.speculation = speculation_from_name(o.speculative).value();  // validated with the options
  options.spec_tokens = o.spec_tokens;
  if (!o.draft_model.empty()) {
    // The engine checks that the vocabularies match.
    s.draft_model = o.draft_model == o.model ? nullptr : Model::load(o.draft_model);
    options.draft_model = s.draft_model ? s.draft_model.get() : s.model.get();
    spdlog::info("draft model for speculative \"draft\": {}", o.draft_model);
  }
  options.device = device;
  options.on_device_lost = [&s](const std::string& why) {
    {
      std::lock_guard<std::mutex> lock(s.device_lost_mutex);
      s.device_lost = why;
    }
    kill(getpid(), SIGTERM);  // main's sigwait takes it: drain and stop, as on SIGTERM
  };
  // Sized here, not in the engine, so that the size and the reason are logged
  // by the server only (generate and bench print their results to stdout).
  const KvCachePlan kv = plan_kv_cache(s.model->config(), options);
  options.kv_cache_bytes = kv.bytes;
  spdlog::info("KV cache: {}", describe(kv, options.block_size));
  s.engine = std::make_unique<Engine>(*s.model, *s.tokenizer, options);
}

int run_serve(const config::ServeOptions& o) {
  spdlog::set_level(spdlog::level::from_str(o.log_level));
  sigset_t signals = block_stop_signals();

  // Before the port is bound: an unusable --device fails the start at once.
  const kernels::DeviceChoice device = kernels::choose_device(o.device);
  spdlog::info("{}", device.reason);

  server::ServerState state;
  state.api_key = o.api_key;
  state.request_log = !o.no_request_log;
  state.max_request_sequences = o.max_request_sequences;
  state.model_name = o.served_model_name.empty() ? model_name_from_path(o.model) : o.served_model_name;
  server::HttpServer server(http_options(o), state);
  server.bind();
  std::thread listener([&server] { server.run(); });

  Served served;
  try {
    load_served(o, device.device, served, state);
  } catch (...) {
    server.stop();
    listener.join();
    throw;
  }
  state.tokenizer = served.tokenizer.get();
  state.engine = served.engine.get();
  state.model = served.model.get();
  state.fingerprint = server::make_system_fingerprint(server::model_file_identity(o.model), server::build_version(),
                                                      server::determinism_class(device.device));
  spdlog::info("system_fingerprint {} (model {}, version {}, {})", state.fingerprint.value,
               state.fingerprint.model_identity, state.fingerprint.version, state.fingerprint.determinism_class);
  state.context_length = served.engine->context_length();
  state.ready = true;
  spdlog::info("serving {} as '{}' on http://{}:{} ({} chat template)", o.model, state.model_name, o.host, o.port,
               state.chat ? state.chat->name() : "no");
  std::printf("nucleus: ready on http://%s:%d\n", o.host.c_str(), o.port);
  std::fflush(stdout);

  int signal = 0;
  sigwait(&signals, &signal);
  spdlog::info("signal {}: draining (up to {} s)", signal, o.shutdown_timeout);
  state.draining = true;
  server.drain();
  served.engine->shutdown(std::chrono::milliseconds(static_cast<int64_t>(o.shutdown_timeout * 1000)));
  server.stop();
  listener.join();
  state.ready = false;
  {
    std::lock_guard<std::mutex> lock(served.device_lost_mutex);
    if (!served.device_lost.empty()) {
      spdlog::critical("stopped: the {} device failed and can no longer run requests: {}",
                       kernels::device_name(device.device), served.device_lost);
      return 1;
    }
  }
  spdlog::info("stopped");
  return 0;
}

NUCLEUS_REGISTER_COMMAND("serve", "Serve the OpenAI-compatible HTTP API (/v1/completions, /v1/chat/completions, ...)",
                         [](CLI::App* sub) -> std::function<int()> {
                           auto parser = std::make_shared<config::ServeOptionsParser>(sub);
                           return [parser] { return run_serve(parser->resolve()); };
                         });

}  // namespace
}  // namespace nucleus::app
