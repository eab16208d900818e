// Serve options: one declaration gives flag, env var and config key;
// precedence CLI > env > file > default; every bad value names its option.
#include <gtest/gtest.h>

#include <CLI/CLI.hpp>

#include <map>

#include "config/options.h"

namespace nucleus::config {
namespace {

using Env = std::map<std::string, std::string>;

ServeOptions resolve(const std::map<std::string, std::string>& cli, const Env& env, const std::string& file = "") {
  return resolve_serve_options(
      cli,
      [&env](const char* name) -> const char* {
        auto it = env.find(name);
        return it == env.end() ? nullptr : it->second.c_str();
      },
      file, "--config test.json");
}

std::string error_of(const std::map<std::string, std::string>& cli, const Env& env = {}, const std::string& file = "") {
  try {
    resolve(cli, env, file);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

TEST(ServeOptions, NamesDeriveFromOneDeclaration) {
  ServeOptions o;
  bool found = false;
  for (const OptionDef& def : serve_option_defs(o)) {
    if (def.name != "max-batched-tokens") continue;
    found = true;
    EXPECT_EQ(def.env_name(), "NUCLEUS_MAX_BATCHED_TOKENS");
    EXPECT_EQ(def.json_key(), "max_batched_tokens");
    EXPECT_FALSE(def.help.empty());
  }
  EXPECT_TRUE(found);
  // The engine options the issue names are all declared.
  for (const char* name : {"kv-cache-memory", "max-batched-tokens", "block-size", "max-seqs", "max-queue",
                           "no-prefix-cache", "threads", "model", "host", "port", "api-key", "max-body",
                           "shutdown-timeout", "chat-template"}) {
    bool declared = false;
    for (const OptionDef& def : serve_option_defs(o)) declared = declared || def.name == name;
    EXPECT_TRUE(declared) << name;
  }
}

TEST(ServeOptions, DefaultsMatchTheIssue) {
  ServeOptions o = resolve({}, {});
  EXPECT_EQ(o.host, "127.0.0.1");
  EXPECT_EQ(o.port, 8080);
  EXPECT_EQ(o.max_step_ms, 250);
  EXPECT_EQ(resolve({{"max-step-ms", "0"}}, {}).max_step_ms, 0);  // 0 turns the pacing off
  EXPECT_NE(o.model.find("SmolLM2-135M-Instruct.Q4_1.gguf"), std::string::npos);
}

TEST(ServeOptions, PrecedenceCliThenEnvThenFile) {
  const std::string file = R"({"port": 9001, "max_seqs": 7, "threads": 3})";
  ServeOptions o = resolve({{"port", "9003"}}, {{"NUCLEUS_PORT", "9002"}, {"NUCLEUS_MAX_SEQS", "9"}}, file);
  EXPECT_EQ(o.port, 9003);     // CLI wins
  EXPECT_EQ(o.max_seqs, 9);    // env over file
  EXPECT_EQ(o.threads, 3);     // file over default
}

TEST(ServeOptions, ByteSizesAndBooleans) {
  ServeOptions o = resolve({{"kv-cache-memory", "512MiB"}, {"no-prefix-cache", "true"}}, {{"NUCLEUS_MAX_BODY", "2M"}});
  EXPECT_EQ(o.kv_cache_memory, 512LL << 20);
  EXPECT_EQ(o.max_body, 2000000);
  EXPECT_TRUE(o.no_prefix_cache);
  EXPECT_EQ(parse_byte_size("x", "1GiB"), 1LL << 30);
  EXPECT_THROW(parse_byte_size("x", "12 parsecs"), ConfigError);
}

TEST(ServeOptions, BadValuesNameTheOption) {
  EXPECT_NE(error_of({{"port", "70000"}}).find("--port"), std::string::npos);
  EXPECT_NE(error_of({{"port", "eighty"}}).find("--port"), std::string::npos);
  EXPECT_NE(error_of({}, {{"NUCLEUS_MAX_SEQS", "0"}}).find("--max-seqs"), std::string::npos);
  EXPECT_NE(error_of({{"block-size", "0"}}).find("--block-size must be in [1, 1024], got 0"), std::string::npos);
  EXPECT_NE(error_of({{"max-step-ms", "-5"}}).find("--max-step-ms must be in [0, 3600000]"), std::string::npos);
  EXPECT_NE(error_of({}, {{"NUCLEUS_MAX_STEP_MS", "nan"}}).find("--max-step-ms"), std::string::npos);
  EXPECT_NE(error_of({}, {{"NUCLEUS_MAX_SEQS", "x"}}).find("NUCLEUS_MAX_SEQS"), std::string::npos);
  EXPECT_NE(error_of({{"log-level", "loud"}}).find("--log-level"), std::string::npos);
  EXPECT_NE(error_of({{"shutdown-timeout", "-1"}}).find("--shutdown-timeout"), std::string::npos);
  EXPECT_NE(error_of({}, {}, R"({"no_such_option": 1})").find("no_such_option"), std::string::npos);
  EXPECT_NE(error_of({}, {}, "{not json").find("--config"), std::string::npos);
}

TEST(ServeOptions, ConnectionAndRequestBounds) {
  const ServeOptions defaults = resolve({}, {});
  EXPECT_EQ(defaults.header_timeout, 5.0);
  EXPECT_EQ(defaults.body_timeout, 10.0);
  EXPECT_EQ(defaults.max_connections, 512);
  EXPECT_EQ(defaults.max_request_sequences, 256);
  const ServeOptions o = resolve({{"header-timeout", "2.5"}, {"max-connections", "100"}},
                                 {{"NUCLEUS_BODY_TIMEOUT", "30"}}, R"({"max_request_sequences": 64})");
  EXPECT_EQ(o.header_timeout, 2.5);
  EXPECT_EQ(o.body_timeout, 30.0);
  EXPECT_EQ(o.max_connections, 100);
  EXPECT_EQ(o.max_request_sequences, 64);
  EXPECT_NE(error_of({{"header-timeout", "0"}}).find("--header-timeout"), std::string::npos);
  EXPECT_NE(error_of({{"body-timeout", "nan"}}).find("--body-timeout"), std::string::npos);
  EXPECT_NE(error_of({{"max-connections", "0"}}).find("--max-connections"), std::string::npos);
  EXPECT_NE(error_of({{"max-request-sequences", "0"}}).find("--max-request-sequences"), std::string::npos);
}

TEST(ServeOptionsParser, FlagsParseThroughCli11) {
  CLI::App app;
  ServeOptionsParser parser(&app);
  const char* argv[] = {"serve", "--port", "1234", "--no-prefix-cache", "--max-body", "64KiB"};
  app.parse(6, const_cast<char**>(argv));
  ServeOptions o = parser.resolve([](const char*) -> const char* { return nullptr; });
  EXPECT_EQ(o.port, 1234);
  EXPECT_TRUE(o.no_prefix_cache);
  EXPECT_EQ(o.max_body, 64 * 1024);
  EXPECT_EQ(o.host, "127.0.0.1");
}

TEST(ServeOptions, KvCacheDtypeDefaultsToF16AndIsChecked) {
  EXPECT_EQ(resolve({}, {}).kv_cache_dtype, "f16");
  EXPECT_EQ(resolve({{"kv-cache-dtype", "q8_0"}}, {}).kv_cache_dtype, "q8_0");
  EXPECT_EQ(resolve({}, {{"NUCLEUS_KV_CACHE_DTYPE", "f32"}}).kv_cache_dtype, "f32");
  EXPECT_EQ(resolve({}, {}, R"({"kv_cache_dtype": "f32"})").kv_cache_dtype, "f32");
  EXPECT_NE(error_of({{"kv-cache-dtype", "q4_0"}}).find("--kv-cache-dtype must be f32, f16 or q8_0"),
            std::string::npos);
}

TEST(ServeOptions, DeviceDefaultsToAutoAndIsChecked) {
  EXPECT_EQ(resolve({}, {}).device, "auto");
  EXPECT_EQ(resolve({}, {{"NUCLEUS_DEVICE", "cpu"}}).device, "cpu");
  EXPECT_EQ(resolve({{"device", "cuda"}}, {{"NUCLEUS_DEVICE", "cpu"}}).device, "cuda");
  EXPECT_EQ(resolve({}, {}, R"({"device": "cpu"})").device, "cpu");
  EXPECT_NE(error_of({{"device", "gpu"}}).find("--device must be cpu, cuda or auto"), std::string::npos);
  EXPECT_NE(error_of({}, {{"NUCLEUS_DEVICE", "tpu"}}).find("--device"), std::string::npos);
}

TEST(ServeOptions, SpeculativeDraftNeedsADraftModel) {
  EXPECT_EQ(resolve({}, {}).draft_model, "");
  EXPECT_EQ(resolve({}, {{"NUCLEUS_DRAFT_MODEL", "/m/draft.gguf"}}).draft_model, "/m/draft.gguf");
  EXPECT_EQ(resolve({}, {}, R"({"draft_model": "/m/d.gguf", "speculative": "draft"})").speculative, "draft");
  const ServeOptions o = resolve({{"speculative", "draft"}, {"draft-model", "/m/d.gguf"}}, {});
  EXPECT_EQ(o.speculative, "draft");
  EXPECT_EQ(o.draft_model, "/m/d.gguf");
  // A draft model alone is fine: requests may still ask for "draft" themselves.
  EXPECT_EQ(resolve({{"draft-model", "/m/d.gguf"}}, {}).speculative, "off");
  const std::string missing = error_of({{"speculative", "draft"}});
  EXPECT_NE(missing.find("--speculative draft"), std::string::npos) << missing;
  EXPECT_NE(missing.find("--draft-model"), std::string::npos) << missing;
  EXPECT_NE(error_of({{"speculative", "eagle"}}).find("--speculative must be off, ngram or draft"), std::string::npos);
}

// generate and bench bind --device alone, with serve's declaration and check.
TEST(DeviceOptionParser, SameNameEnvDefaultAndCheckAsServe) {
  auto env_of = [](const Env& env) {
    return [env](const char* name) -> const char* {
      auto it = env.find(name);
      return it == env.end() ? nullptr : it->second.c_str();
    };
  };
  {
    CLI::App app;
    DeviceOptionParser parser(&app);
    const char* argv[] = {"generate"};
    app.parse(1, const_cast<char**>(argv));
    EXPECT_EQ(parser.resolve(env_of({})), "auto");
    EXPECT_EQ(parser.resolve(env_of({{"NUCLEUS_DEVICE", "cpu"}})), "cpu");
    EXPECT_THROW(parser.resolve(env_of({{"NUCLEUS_DEVICE", "npu"}})), ConfigError);
    const std::string help = app.help();
    EXPECT_NE(help.find("--device"), std::string::npos);
    EXPECT_NE(help.find("NUCLEUS_DEVICE"), std::string::npos);
  }
  {
    CLI::App app;
    DeviceOptionParser parser(&app);
    const char* argv[] = {"generate", "--device", "cuda"};
    app.parse(3, const_cast<char**>(argv));
    EXPECT_EQ(parser.resolve(env_of({{"NUCLEUS_DEVICE", "cpu"}})), "cuda");  // the command line wins
  }
  {
    CLI::App app;
    DeviceOptionParser parser(&app);
    const char* argv[] = {"generate", "--device", "gpu"};
    app.parse(3, const_cast<char**>(argv));
    try {
      parser.resolve(env_of({}));
      ADD_FAILURE() << "--device gpu was accepted";
    } catch (const ConfigError& e) {
      EXPECT_NE(std::string(e.what()).find("--device must be cpu, cuda or auto, got 'gpu'"), std::string::npos)
          << e.what();
    }
  }
}

}  // namespace
}  // namespace nucleus::config
