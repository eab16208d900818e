// The acceptance test of the Jinja interpreter: every chat template in llama.cpp's
// models/templates, on every committed context, must render byte for byte what Python's jinja2
// (with transformers' environment) rendered into tests/data/jinja/golden.json
// (scripts/golden/gen_jinja_golden.py), or fail where jinja2 failed, with the same message when the
// template's own raise_exception() failed it.
//
// The templates are llama.cpp's, not committed: they are read from the llama-cpp-python sdist in the
// cache (bench/peers/fetch-llama-src.sh), or from $NUCLEUS_JINJA_TEMPLATES. Without them the test
// skips and names the path.
#include <gtest/gtest.h>

#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>

#include "tests/common/test_env.h"
#include "text/jinja/template.h"

namespace nucleus::jinja {
namespace {

namespace fs = std::filesystem;

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// SHA-256 (FIPS 180-4), to tell a template file that differs from the one the golden was made from.
std::string sha256(const std::string& data) {
  static const uint32_t k[64] = {
      0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
      0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
      0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
      0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
      0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
      0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
      0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
      0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};
  uint32_t h[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
  std::string msg = data;
  uint64_t bits = static_cast<uint64_t>(data.size()) * 8;
  msg += static_cast<char>(0x80);
  while (msg.size() % 64 != 56) msg += '\0';
  for (int i = 7; i >= 0; --i) msg += static_cast<char>((bits >> (i * 8)) & 0xFF);
  auto rotr = [](uint32_t x, int n) { return (x >> n) | (x << (32 - n)); };
  for (size_t off = 0; off < msg.size(); off += 64) {
    uint32_t w[64];
    for (int i = 0; i < 16; ++i)
      w[i] = (uint32_t(uint8_t(msg[off + 4 * i])) << 24) | (uint32_t(uint8_t(msg[off + 4 * i + 1])) << 16) |
             (uint32_t(uint8_t(msg[off + 4 * i + 2])) << 8) | uint32_t(uint8_t(msg[off + 4 * i + 3]));
    for (int i = 16; i < 64; ++i) {
      uint32_t s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3);
      uint32_t s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10);
      w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
    for (int i = 0; i < 64; ++i) {
      uint32_t t1 = hh + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + k[i] + w[i];
      uint32_t t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
      hh = g, g = f, f = e, e = d + t1, d = c, c = b, b = a, a = t1 + t2;
    }
    h[0] += a, h[1] += b, h[2] += c, h[3] += d, h[4] += e, h[5] += f, h[6] += g, h[7] += hh;
  }
  char out[65];
  for (int i = 0; i < 8; ++i) std::snprintf(out + 8 * i, 9, "%08x", h[i]);
  return std::string(out, 64);
}

// The golden's fixed strftime_now date (2025-07-26T14:30:05).
RenderOptions golden_options(const std::string& iso) {
  std::tm tm{};
  std::istringstream(iso) >> std::get_time(&tm, "%Y-%m-%dT%H:%M:%S");
  RenderOptions o;
  o.now = tm;
  return o;
}

// Where two renderings first differ, with some context, for the failure message.
std::string first_difference(const std::string& want, const std::string& got) {
  size_t i = 0;
  while (i < want.size() && i < got.size() && want[i] == got[i]) ++i;
  size_t from = i > 60 ? i - 60 : 0;
  return "at byte " + std::to_string(i) + "\n  jinja2:  ..." + nlohmann::json(want.substr(from, 160)).dump() +
         "\n  nucleus: ..." + nlohmann::json(got.substr(from, 160)).dump();
}

TEST(JinjaGolden, LlamaCppTemplatesRenderAsJinja2Does) {
  const fs::path dir = test::chat_templates_dir();
  if (!fs::is_directory(dir)) GTEST_SKIP() << "no chat templates at " << dir << " (run bench/peers/fetch-llama-src.sh)";
  const auto golden =
      nlohmann::ordered_json::parse(read_file(fs::path(nucleus::test::data_dir()) / "jinja" / "golden.json"));
  const RenderOptions options = golden_options(golden["strftime_now"].get<std::string>());
  std::map<std::string, Value> contexts;
  for (const auto& [id, ctx] : golden["contexts"].items()) contexts[id] = Value::from_json(ctx);

  int templates = 0, identical_templates = 0, pairs = 0, identical_pairs = 0;
  for (const auto& entry : golden["templates"]) {
    const std::string file = entry["file"];
    const std::string source = read_file(dir / file);
    ASSERT_EQ(sha256(source), entry["sha256"].get<std::string>())
        << dir / file << " differs from the template the golden was made from; regenerate the golden";
    ++templates;
    std::optional<Template> tmpl;
    std::string parse_error;
    try {
      tmpl = Template::parse(source);
    } catch (const TemplateError& e) {
      parse_error = e.what();
    }
    bool all_identical = true;
    for (const auto& [id, want] : entry["results"].items()) {
      ++pairs;
      std::string got, error;
      bool raised = false;
      if (!tmpl) {
        error = parse_error;
      } else {
        try {
          got = tmpl->render(contexts.at(id), options);
        } catch (const RaisedException& e) {
          error = e.what();
          raised = true;
        } catch (const TemplateError& e) {
          error = e.what();
        }
      }
      bool ok;
      if (want.contains("output")) {
        const std::string expected = want["output"];
        ok = error.empty() && got == expected;
        EXPECT_TRUE(ok) << file << " / " << id << ": "
                        << (error.empty() ? first_difference(expected, got) : "nucleus failed: " + error);
      } else {
        const bool want_raised = want["raise_exception"];
        const std::string expected = want["error"];
        ok = !error.empty() && (!want_raised || (raised && error == expected));
        EXPECT_TRUE(ok) << file << " / " << id << ": jinja2 failed with \"" << expected << "\""
                        << (want_raised ? " (raise_exception)" : "") << ", nucleus "
                        << (error.empty() ? "rendered" : "failed with \"" + error + "\"");
      }
      identical_pairs += ok;
      all_identical = all_identical && ok;
    }
    identical_templates += all_identical;
  }
  std::printf("[ jinja ] %d of %d templates identical on all contexts; %d of %d (template, context) pairs\n",
              identical_templates, templates, identical_pairs, pairs);
}

}  // namespace
}  // namespace nucleus::jinja
