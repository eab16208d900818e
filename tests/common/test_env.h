// Where tests find their data and the default model.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <string>

namespace nucleus::test {

// The checkout's tests/data and root (test_env.cc: the only file compiled with
// the checkout's path, so that every other test object is the same wherever the
// checkout lives and a compiler cache shared between checkouts serves it).
std::string data_dir();
std::string source_dir();

// The default model, from $NUCLEUS_TEST_MODEL or the fetch-model.sh location.
// Empty when it is absent.
inline std::string default_model_path() {
  if (const char* env = std::getenv("NUCLEUS_TEST_MODEL"); env && *env) return env;
  const char* home = std::getenv("HOME");
  std::string path = std::string(home ? home : "") + "/.cache/nucleus/models/SmolLM2-135M-Instruct.Q4_1.gguf";
  return std::filesystem::exists(path) ? path : "";
}

// llama.cpp's models/templates, read from the llama-cpp-python sdist that
// bench/peers/fetch-llama-src.sh unpacks (never committed):
// $NUCLEUS_JINJA_TEMPLATES, else under $NUCLEUS_CACHE or ~/.cache/nucleus.
inline std::filesystem::path chat_templates_dir() {
  if (const char* dir = std::getenv("NUCLEUS_JINJA_TEMPLATES")) return dir;
  std::filesystem::path cache;
  if (const char* c = std::getenv("NUCLEUS_CACHE")) {
    cache = c;
  } else if (const char* home = std::getenv("HOME")) {
    cache = std::filesystem::path(home) / ".cache" / "nucleus";
  }
  return cache / "peers" / "llama_cpp_python-0.3.36" / "vendor" / "llama.cpp" / "models" / "templates";
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
