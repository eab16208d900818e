#include "config/options.h"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <cctype>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace nucleus::config {

std::vector<OptionDef> serve_option_defs(ServeOptions& o) {
  // The one list. Keep it in the order --help should show.
  return {
      {"model", "GGUF model file (default: the SmolLM2-135M-Instruct model in the cache)", &o.model},
      {"served-model-name", "model name reported by /v1/models and accepted in requests (default: file name)",
       &o.served_model_name},
      {"chat-template",
       "chat template: a Jinja file (FILE.jinja), or a built-in family by name: chatml, llama3, llama2, mistral, "
       "gemma, phi3 (default: the model's own Jinja template, tokenizer.chat_template in the GGUF)",
       &o.chat_template},
      {"reasoning-format",
       "reasoning output: 'deepseek' (or 'auto') puts <think>...</think> in reasoning_content, 'none' leaves it in "
       "content (as llama.cpp's --reasoning-format)",
       &o.reasoning_format},
      {"api-key", "require 'Authorization: Bearer KEY' on /v1/* routes", &o.api_key},
      {"allowed-origins",
       "CORS: web origins browsers may call from, comma-separated (scheme://host[:port]); '*' = any, as vLLM and "
       "llama.cpp; '' = send no CORS headers",
       &o.allowed_origins},
      {"host", "address to listen on", &o.host},
      {"port", "TCP port to listen on (0 = any free port)", &o.port},
      {"http-threads", "HTTP worker threads (requests served at once; a connection holds one only once its header "
                       "has arrived)",
       &o.http_threads},
      {"max-connections", "open connections at once (waiting or served); beyond, 503 and close", &o.max_connections},
      {"header-timeout",
       "seconds a connection may take to send a whole request header (also how long an idle keep-alive connection "
       "stays open); then 408 and close",
       &o.header_timeout},
      {"body-timeout", "seconds a client may take to send a whole request body, from the end of its header",
       &o.body_timeout},
      {"max-body", "largest request body in bytes (suffixes K, M, G, KiB, MiB, GiB); larger gets 413", &o.max_body, true},
      {"shutdown-timeout", "seconds running requests may take to finish after SIGTERM/SIGINT", &o.shutdown_timeout},
      {"log-level", "trace, debug, info, warn, error, critical, off", &o.log_level},
      {"no-request-log", "do not log one line per request", &o.no_request_log},
      {"kv-cache-memory",
       "KV cache size in bytes (suffixes allowed); 0 = two of the model's whole contexts, and at least 256 tokens for "
       "each of --max-seqs sequences, capped at a quarter of free RAM (of free GPU memory on CUDA); with "
       "--draft-model it holds the draft model's cache too (as many blocks as the model's); logged at start",
       &o.kv_cache_memory, true},
      {"kv-cache-dtype",
       "how the KV cache stores keys and values: f16 (llama.cpp's default), f32, or q8_0 (8-bit blocks of 32, "
       "needs head_dim a multiple of 32); each value is rounded once when written",
       &o.kv_cache_dtype},
      {"max-batched-tokens", "token budget of one engine step (decode + prefill chunks; at least 16)",
       &o.max_batched_tokens},
      {"block-size",
       "tokens per KV cache block, the unit of paging and of prefix caching; a block keeps each KV head's keys "
       "together, so decode attention streams runs of block-size x head bytes (larger blocks: longer runs, "
       "coarser prefix reuse)",
       &o.block_size},
      {"max-seqs", "sequences in one engine step", &o.max_seqs},
      {"max-step-ms",
       "target length of an engine step that decodes while it prefills, in ms: prompt chunks are cut to fit (the "
       "cost of a token is measured as steps run), so streams being decoded get a token about this often even while "
       "long prompts are processed; longer favours time to first token and throughput. 0 = only "
       "--max-batched-tokens bounds a step",
       &o.max_step_ms},
      {"max-queue", "waiting requests beyond which new ones get 503", &o.max_queue},
      {"max-request-sequences",
       "sequences one request may ask for (prompts x n, or x beams with beam search); more is a 400",
       &o.max_request_sequences},
      {"no-prefix-cache", "disable automatic prefix caching", &o.no_prefix_cache},
      {"threads", "CPU threads for the forward pass (0 = one per core)", &o.threads},
      {"speculative",
       "speculative decoding for requests that do not choose: off, ngram (prompt lookup) or draft (--draft-model); "
       "outputs are bitwise those without it on the CPU; on CUDA up to near ties (docs/cuda.md)",
       &o.speculative},
      {"spec-tokens", "most tokens drafted per step when speculating", &o.spec_tokens},
      {"draft-model",
       "GGUF draft model with the model's vocabulary, run greedily for speculative \"draft\" (its own KV cache, as "
       "many tokens as the model's, in --kv-cache-dtype)",
       &o.draft_model},
      {"device", "where the model runs: cpu, cuda, or auto (cuda when a CUDA device is present, else cpu)",
       &o.device},
      {"no-webui", "do not serve the web page (chat playground and dashboard) at GET /", &o.no_webui},
  };
}

std::string OptionDef::env_name() const {
  std::string env = "NUCLEUS_";
  for (char c : name) env += c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return env;
}

std::string OptionDef::json_key() const {
  std::string key = name;
  for (char& c : key) c = c == '-' ? '_' : c;
  return key;
}

std::string default_model_path() {
  std::string dir;
  if (const char* d = std::getenv("NUCLEUS_MODEL_DIR"); d && *d) {
    dir = d;
  } else {
    const char* home = std::getenv("HOME");
    dir = std::string(home ? home : "") + "/.cache/nucleus/models";
  }
  return dir + "/SmolLM2-135M-Instruct.Q4_1.gguf";
}

int64_t parse_byte_size(const std::string& option, const std::string& text) {
  size_t pos = 0;
  double value = 0;
  try {
    value = std::stod(text, &pos);
  } catch (const std::exception&) {
    throw ConfigError(option + ": expected a byte size like 512MiB, got '" + text + "'");
  }
  std::string unit = text.substr(pos);
  while (!unit.empty() && unit.front() == ' ') unit.erase(0, 1);
  for (char& c : unit) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  double scale = 0;
  if (unit.empty() || unit == "B") scale = 1;
  else if (unit == "K" || unit == "KB") scale = 1e3;
  else if (unit == "M" || unit == "MB") scale = 1e6;
  else if (unit == "G" || unit == "GB") scale = 1e9;
  else if (unit == "KIB") scale = 1024.0;
  else if (unit == "MIB") scale = 1024.0 * 1024;
  else if (unit == "GIB") scale = 1024.0 * 1024 * 1024;
  else throw ConfigError(option + ": unknown size unit '" + text.substr(pos) + "' in '" + text + "'");
  double bytes = value * scale;
  if (!std::isfinite(bytes) || bytes < 0 || bytes > 9.0e18)
    throw ConfigError(option + ": byte size out of range: '" + text + "'");
  return static_cast<int64_t>(bytes);
}

namespace {

// Sets one option from text (command line or environment); `source` is for messages.
void set_from_text(const OptionDef& def, const std::string& text, const std::string& source) {
  const std::string where = "--" + def.name + " (from " + source + ")";
  auto fail = [&](const std::string& what) { throw ConfigError(where + ": expected " + what + ", got '" + text + "'"); };
  std::visit(
      [&](auto* target) {
        using T = std::remove_pointer_t<decltype(target)>;
        if constexpr (std::is_same_v<T, std::string>) {
          *target = text;
        } else if constexpr (std::is_same_v<T, bool>) {
          std::string t = text;
          for (char& c : t) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
          if (t == "1" || t == "true" || t == "yes" || t == "on") *target = true;
          else if (t == "0" || t == "false" || t == "no" || t == "off" || t.empty()) *target = false;
          else fail("true or false");
        } else if constexpr (std::is_same_v<T, double>) {
          size_t pos = 0;
          try {
            *target = std::stod(text, &pos);
          } catch (const std::exception&) {
            fail("a number");
          }
          if (pos != text.size()) fail("a number");
        } else {  // int, int64_t
          if (def.byte_size) {
            *target = static_cast<T>(parse_byte_size(where, text));
            return;
          }
          size_t pos = 0;
          long long v = 0;
          try {
            v = std::stoll(text, &pos);
          } catch (const std::exception&) {
            fail("an integer");
          }
          if (pos != text.size()) fail("an integer");
          if (v < std::numeric_limits<T>::min() || v > std::numeric_limits<T>::max()) fail("an integer in range");
          *target = static_cast<T>(v);
        }
      },
      def.target);
}

void set_from_json(const OptionDef& def, const nlohmann::json& value, const std::string& source) {
  if (value.is_string()) {
    set_from_text(def, value.get<std::string>(), source);
  } else if (value.is_boolean() || value.is_number()) {
    // Numbers and booleans go through the same text parser so one set of rules applies.
    set_from_text(def, value.dump(), source);
  } else {
    throw ConfigError("\"" + def.json_key() + "\" in " + source + ": expected a string, number or boolean");
  }
}

}  // namespace

ServeOptions resolve_serve_options(const std::map<std::string, std::string>& cli,
                                   const std::function<const char*(const char*)>& getenv,
                                   const std::string& config_json_text, const std::string& config_source) {
  ServeOptions options;
  std::vector<OptionDef> defs = serve_option_defs(options);

  nlohmann::json file = nlohmann::json::object();
  if (!config_json_text.empty()) {
    try {
      file = nlohmann::json::parse(config_json_text);
    } catch (const nlohmann::json::exception& e) {
      throw ConfigError(config_source + ": not valid JSON: " + e.what());
    }
    if (!file.is_object()) throw ConfigError(config_source + ": expected a JSON object of options");
    for (auto it = file.begin(); it != file.end(); ++it) {
      bool known = false;
      for (const OptionDef& def : defs) known = known || def.json_key() == it.key() || def.name == it.key();
      if (!known) throw ConfigError(config_source + ": unknown option \"" + it.key() + "\"");
    }
  }

  for (const OptionDef& def : defs) {
    if (auto it = cli.find(def.name); it != cli.end()) {
      set_from_text(def, it->second, "the command line");
      continue;
    }
    const std::string env = def.env_name();
    if (const char* value = getenv ? getenv(env.c_str()) : nullptr) {
      set_from_text(def, value, env);
      continue;
    }
    if (file.contains(def.json_key())) set_from_json(def, file[def.json_key()], config_source);
    else if (file.contains(def.name)) set_from_json(def, file[def.name], config_source);
  }
  if (options.model.empty()) options.model = default_model_path();
  validate(options);
  return options;
}

void validate(const ServeOptions& o) {
  auto require = [](bool ok, const std::string& message) {
    if (!ok) throw ConfigError(message);
  };
  require(!o.host.empty(), "--host must not be empty");
  require(o.port >= 0 && o.port <= 65535, "--port must be in [0, 65535], got " + std::to_string(o.port));
  require(o.http_threads >= 1 && o.http_threads <= 4096,
          "--http-threads must be in [1, 4096], got " + std::to_string(o.http_threads));
  require(o.max_body >= 1024, "--max-body must be at least 1024 bytes, got " + std::to_string(o.max_body));
  require(o.max_connections >= 1 && o.max_connections <= 65536,
          "--max-connections must be in [1, 65536], got " + std::to_string(o.max_connections));
  require(std::isfinite(o.header_timeout) && o.header_timeout > 0 && o.header_timeout <= 3600,
          "--header-timeout must be in (0, 3600] seconds, got " + std::to_string(o.header_timeout));
  require(std::isfinite(o.body_timeout) && o.body_timeout > 0 && o.body_timeout <= 3600,
          "--body-timeout must be in (0, 3600] seconds, got " + std::to_string(o.body_timeout));
  require(std::isfinite(o.shutdown_timeout) && o.shutdown_timeout >= 0,
          "--shutdown-timeout must be >= 0 seconds, got " + std::to_string(o.shutdown_timeout));
  static const char* kLevels[] = {"trace", "debug", "info", "warn", "error", "critical", "off"};
  bool level_ok = false;
  for (const char* level : kLevels) level_ok = level_ok || o.log_level == level;
  require(level_ok, "--log-level must be one of trace, debug, info, warn, error, critical, off; got '" +
                        o.log_level + "'");
  require(o.kv_cache_memory >= 0, "--kv-cache-memory must be >= 0");
  require(o.kv_cache_dtype == "f32" || o.kv_cache_dtype == "f16" || o.kv_cache_dtype == "q8_0",
          "--kv-cache-dtype must be f32, f16 or q8_0, got '" + o.kv_cache_dtype + "'");
  require(o.max_batched_tokens >= 16,
          "--max-batched-tokens must be >= 16, got " + std::to_string(o.max_batched_tokens));
  require(o.block_size >= 1 && o.block_size <= 1024,
          "--block-size must be in [1, 1024], got " + std::to_string(o.block_size));
  require(std::isfinite(o.max_step_ms) && o.max_step_ms >= 0 && o.max_step_ms <= 3600000,
          "--max-step-ms must be in [0, 3600000], got " + std::to_string(o.max_step_ms));
  require(o.max_seqs >= 1 && o.max_seqs <= 4096, "--max-seqs must be in [1, 4096], got " + std::to_string(o.max_seqs));
  require(o.max_queue >= 1, "--max-queue must be >= 1, got " + std::to_string(o.max_queue));
  require(o.max_request_sequences >= 1 && o.max_request_sequences <= 65536,
          "--max-request-sequences must be in [1, 65536], got " + std::to_string(o.max_request_sequences));
  require(o.threads >= 0 && o.threads <= 1024, "--threads must be in [0, 1024], got " + std::to_string(o.threads));
  require(!o.model.empty(), "--model must not be empty");
  require(o.speculative == "off" || o.speculative == "ngram" || o.speculative == "draft",
          "--speculative must be off, ngram or draft, got '" + o.speculative + "'");
  require(o.speculative != "draft" || !o.draft_model.empty(),
          "--speculative draft needs a draft model: give --draft-model PATH (a GGUF with the model's vocabulary)");
  require(o.spec_tokens >= 1 && o.spec_tokens <= 16, "--spec-tokens must be in [1, 16], got " +
                                                         std::to_string(o.spec_tokens));
  require(o.reasoning_format == "none" || o.reasoning_format == "deepseek" || o.reasoning_format == "auto",
          "--reasoning-format must be none, deepseek or auto, got '" + o.reasoning_format + "'");
  validate_device(o.device);
}

void validate_device(const std::string& device) {
  if (device != "cpu" && device != "cuda" && device != "auto") {
    throw ConfigError("--device must be cpu, cuda or auto, got '" + device + "'");
  }
}

namespace {
OptionDef device_def(ServeOptions& holder) {
  for (OptionDef& def : serve_option_defs(holder)) {
    if (def.name == "device") return def;
  }
  throw std::logic_error("serve_option_defs() lost --device");
}
}  // namespace

DeviceOptionParser::DeviceOptionParser(CLI::App* app) : app_(app) {
  ServeOptions defaults;
  const OptionDef def = device_def(defaults);
  app->add_option("--" + def.name, text_,
                  def.help + " [env " + def.env_name() + "] (default: " + defaults.device + ")");
}

std::string DeviceOptionParser::resolve(const std::function<const char*(const char*)>& getenv) const {
  ServeOptions options;
  const OptionDef def = device_def(options);
  if (app_->get_option("--" + def.name)->count() > 0) {
    set_from_text(def, text_, "the command line");
  } else {
    auto env = getenv ? getenv : [](const char* name) -> const char* { return std::getenv(name); };
    if (const char* value = env(def.env_name().c_str())) set_from_text(def, value, def.env_name());
  }
  validate_device(options.device);
  return options.device;
}

ServeOptionsParser::ServeOptionsParser(CLI::App* app) : app_(app) {
  ServeOptions defaults;
  for (const OptionDef& def : serve_option_defs(defaults)) {
    Bound& bound = bound_[def.name];
    std::string help = def.help + " [env " + def.env_name() + "]";
    if (std::holds_alternative<bool*>(def.target)) {
      bound.flag = true;
      // Bound to a member: add_flag(name, std::string&) would take `help` as the result variable.
      app->add_flag("--" + def.name, bound.given, help);
      continue;
    }
    std::string shown = std::visit(
        [](auto* target) {
          std::ostringstream out;
          out << *target;
          return out.str();
        },
        def.target);
    if (def.name == "model") shown = default_model_path();
    if (!shown.empty()) help += " (default: " + shown + ")";
    app->add_option("--" + def.name, bound.text, help);
  }
  app->add_option("--config", config_path_, "JSON file of options (keys like max_seqs); flags and env override it");
}

ServeOptions ServeOptionsParser::resolve(const std::function<const char*(const char*)>& getenv) const {
  std::map<std::string, std::string> cli;
  for (const auto& [name, bound] : bound_) {
    const CLI::Option* option = app_->get_option("--" + name);
    if (option->count() == 0) continue;
    cli[name] = bound.flag ? "true" : bound.text;
  }
  std::string text;
  std::string config_path = config_path_;
  if (config_path.empty()) {
    if (const char* env = std::getenv("NUCLEUS_CONFIG"); env && *env) config_path = env;
  }
  if (!config_path.empty()) {
    std::error_code ec;
    if (std::filesystem::is_directory(config_path, ec)) {
      throw ConfigError("--config: '" + config_path + "' is a directory, not a JSON file");
    }
    std::ifstream in(config_path);
    if (!in) throw ConfigError("--config: cannot read '" + config_path + "'");
    std::stringstream buffer;
    buffer << in.rdbuf();
    if (in.bad()) throw ConfigError("--config: cannot read '" + config_path + "'");
    text = buffer.str();
    // An empty (or blank) file sets nothing, like {}.
    if (text.find_first_not_of(" \t\r\n") == std::string::npos) text = "{}";
  }
  auto env = getenv ? getenv : [](const char* name) -> const char* { return std::getenv(name); };
  return resolve_serve_options(cli, env, text, config_path.empty() ? "" : "--config " + config_path);
}

}  // namespace nucleus::config
