// Where tests find their data and the default model.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <string>

namespace nucleus::test {

inline std::string data_dir() { return NUCLEUS_TEST_DATA_DIR; }
inline std::string source_dir() { return NUCLEUS_SOURCE_DIR; }

// The default model, from $NUCLEUS_TEST_MODEL or the fetch-model.sh location.
// Empty when it is absent.
inline std::string default_model_path() {
  if (const char* env = std::getenv("NUCLEUS_TEST_MODEL"); env && *env) return env;
  const char* home = std::getenv("HOME");
  std::string path = std::string(home ? home : "") + "/.cache/nucleus/models/SmolLM2-135M-Instruct.Q4_1.gguf";
  return std::filesystem::exists(path) ? path : "";
}

}  // namespace nucleus::test

// Skips a test that needs the default model when it is missing, unless
// NUCLEUS_REQUIRE_MODEL=1 (scripts/test.sh sets it), where a missing model fails.
#define NUCLEUS_REQUIRE_DEFAULT_MODEL(path_var)                                                      \
  const std::string path_var = ::nucleus::test::default_model_path();                               \
  if (path_var.empty() || !std::filesystem::exists(path_var)) {                                     \
    const char* require = std::getenv("NUCLEUS_REQUIRE_MODEL");                                      \
    if (require && std::string(require) == "1") FAIL() << "default model missing: run scripts/fetch-model.sh"; \
    GTEST_SKIP() << "default model missing: run scripts/fetch-model.sh";                             \
  }
