// Every option of `nucleus serve`, declared once (name, default, help) in
// options.cc. The same declaration gives the CLI flag --NAME, the environment
// variable NUCLEUS_NAME (dashes -> underscores, upper case) and the key
// "name" (dashes -> underscores) of the JSON file given with --config.
// Precedence: command line > environment > config file > default.
// validate() checks every value in one place; errors name the option.
//
// config/ knows nothing of the engine or the server: app/ copies these plain
// values into EngineOptions and ServerOptions.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <stdexcept>
#include <string>

#include "engine/engine_defaults.h"
#include <variant>
#include <vector>

namespace CLI {
class App;
}

namespace nucleus::config {

// A bad option value; the message names the option and where it came from.
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct ServeOptions {
  // Model and API surface.
  std::string model;                 // GGUF path; default_model_path() when empty
  std::string served_model_name;     // the "model" name clients use; default: the file name without .gguf
  std::string chat_template;         // a .jinja file or a family name; empty = the GGUF's Jinja template
  std::string reasoning_format = "deepseek";  // none | deepseek | auto
  std::string api_key;               // empty = no auth
  std::string allowed_origins = "*";  // CORS origins (server/cors.h): "*" any, a comma-separated list, "" none
  // HTTP.
  std::string host = "127.0.0.1";
  int port = 8080;
  int http_threads = 64;             // requests served at once (each streaming client holds one)
  int max_connections = 512;         // open connections; beyond, 503 and close (server/connection_gate.h)
  double header_timeout = 5.0;       // seconds for a whole request header; also the keep-alive idle time
  double body_timeout = 10.0;        // seconds for a whole request body
  int64_t max_body = 8 << 20;        // bytes; larger request bodies get 413
  double shutdown_timeout = 30.0;    // seconds to let running requests finish on SIGTERM
  std::string log_level = "info";
  bool no_request_log = false;      // true: no per-request log line
  // Engine (copied into EngineOptions by app/cmd_serve.cc).
  int64_t kv_cache_memory = 0;       // bytes; 0 = sized from the model's context (engine/kv_budget.h)
  std::string kv_cache_dtype = kDefaultKvCacheDtype;  // f32, f16 or q8_0 (kernels/kv_dtype.h)
  int max_batched_tokens = kDefaultMaxBatchedTokens;
  int block_size = kDefaultBlockSize;  // tokens per KV block
  int max_seqs = kDefaultMaxSeqs;
  double max_step_ms = kDefaultMaxStepMs;  // target step time while decoding; 0 = token budget only
  int max_queue = kDefaultMaxQueue;
  int max_request_sequences = kDefaultMaxRequestSequences;  // prompts x n (x beams) in one request
  bool no_prefix_cache = false;
  int threads = 0;                   // 0 = one per core
  std::string speculative = "off";   // default speculative decoding: off, ngram or draft
  int spec_tokens = kDefaultSpecTokens;             // most tokens drafted per step
  std::string draft_model;           // GGUF path of the draft model; empty = none (per-request "draft" is refused)
  std::string device = "auto";       // cpu, cuda or auto (app/ resolves it with kernels::choose_device)
  // Web page.
  bool no_webui = false;             // true: GET / answers 404 instead of the chat and dashboard page
};

// The default model: $NUCLEUS_MODEL_DIR (or ~/.cache/nucleus/models)/SmolLM2-135M-Instruct.Q4_1.gguf.
std::string default_model_path();

// "512MiB", "2G", "1000000" -> bytes. Throws ConfigError naming `option`.
int64_t parse_byte_size(const std::string& option, const std::string& text);

// One declared option. `target` points into a ServeOptions.
struct OptionDef {
  std::string name;  // "max-seqs"
  std::string help;
  std::variant<std::string*, int*, int64_t*, double*, bool*> target;
  bool byte_size = false;  // int64 that accepts unit suffixes
  std::string env_name() const;   // NUCLEUS_MAX_SEQS
  std::string json_key() const;   // max_seqs
};

std::vector<OptionDef> serve_option_defs(ServeOptions& options);

// Binds the options to a CLI11 subcommand. After parsing, call resolve() to
// apply env and config file values for what the command line did not set.
class ServeOptionsParser {
 public:
  explicit ServeOptionsParser(CLI::App* app);
  // Applies CLI > env > --config file > default, then validates. `getenv` is
  // injectable for tests. Throws ConfigError.
  ServeOptions resolve(const std::function<const char*(const char*)>& getenv = nullptr) const;

 private:
  struct Bound {
    std::string text;   // the raw value given on the command line
    bool flag = false;   // a boolean flag (no value)
    bool given = false;  // the flag's own storage for CLI11
  };
  CLI::App* app_;
  std::string config_path_;
  std::map<std::string, Bound> bound_;  // by option name; std::map keeps addresses stable for CLI11
};

// Resolves from explicit sources (the unit-testable core of ServeOptionsParser).
// `cli` holds the options given on the command line as raw text, keyed by name.
ServeOptions resolve_serve_options(const std::map<std::string, std::string>& cli,
                                   const std::function<const char*(const char*)>& getenv,
                                   const std::string& config_json_text, const std::string& config_source);

// Every range check, in one place. Throws ConfigError naming the option.
void validate(const ServeOptions& options);
// The check of --device alone (serve's validate() calls it; so do the other commands).
void validate_device(const std::string& device);

// --device for the commands that do not take every serve option (generate,
// bench): the same declaration as serve's (name, help, default, NUCLEUS_DEVICE,
// check), bound to one CLI11 subcommand.
class DeviceOptionParser {
 public:
  explicit DeviceOptionParser(CLI::App* app);
  // Command line > NUCLEUS_DEVICE > default, validated. Throws ConfigError.
  std::string resolve(const std::function<const char*(const char*)>& getenv = nullptr) const;

 private:
  CLI::App* app_;
  std::string text_;
};

}  // namespace nucleus::config
