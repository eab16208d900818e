// The matrix of issue 20: every supported architecture in every weight type
// against llama.cpp. A random-weight model of each architecture
// (scripts/golden/make_random_model.py: F32 and F16 written by it, the other
// 13 types made from the F16 file by llama.cpp's llama-quantize --pure, so
// every matrix is in the cell's type) is regenerated here into the cache and
// checked byte for byte against the sha256 the reference recorded. It runs
// the reference prompts of 16 and 300 tokens (and 2500 in the F32 cells) and
// at every stored position our next-token log-probabilities of llama.cpp's
// top-6 tokens must be within the type's bound of llama.cpp's
// (tests/data/arch_ref/<arch>.<type>.json, scripts/golden/gen_arch_reference.py),
// with the same top-1 wherever llama.cpp's own top-1/top-2 margin exceeds
// that bound. Each cell prints its max |logprob diff| and top-1 agreement.
//
// The bounds (kBounds below) and why: see the comment there. The 2500-token
// prompt runs in the F32 cells only: it tests positions (RoPE scaling, YaRN,
// LongRoPE, sliding windows), which the weight type does not change, and it
// costs as much as all the other prompts of a cell together.
//
// Without the venv python (to regenerate a model), the default model (whose
// tokenizer every file copies; scripts/fetch-model.sh) or llama-quantize (for
// the quantized cells; bench/peers/build-llama.sh) a cell skips, saying so,
// unless NUCLEUS_REQUIRE_MODEL=1, where it fails.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sys/wait.h>
#include <string>
#include <utility>
#include <vector>

#include "model/model.h"
#include "tests/common/test_env.h"
#include "tests/model/model_test_util.h"

namespace nucleus {
namespace {

// Weight type -> bound on |our logprob - llama.cpp's|, from the figures this
// test prints (max over the 7 architectures and the 16/300-token prompts):
//
// F32 2.4e-3 (gemma3; the rest ~5e-5): float summation order, ggml's
// exp/tanh/GELU approximations, RoPE angles (ggml multiplies the frequency up
// in float; we compute it in double). Bound 0.01.
// F16 8.0e-3 (phi3): llama.cpp also rounds the activations to fp16 before each
// matmul. Bound 0.05, the issue's.
// BF16 6.4e-2 (mistral): the same rounding to bf16, 8 bits of mantissa.
// llama.cpp itself moves by 0.05 on its BF16 cells when only the float order
// changes (flash attention on; scripts/golden/gen_arch_self_agreement.py,
// printed per cell), so the 0.05 is at llama.cpp's own noise. Bound 0.08.
// Every quantized type: Q8_0 0.14, Q4_0 0.15, Q4_1 0.22, Q5_0 0.18, Q5_1 0.16,
// Q2_K 0.19, Q3_K 0.19, Q4_K 0.22, Q5_K 0.23, Q6_K 0.25, IQ4_NL 0.15,
// IQ4_XS 0.24 (gemma2 ~0.01 in all: its soft-caps flatten the logits).
// llama.cpp quantizes each matmul's activations to 8-bit blocks (Q8_0, Q8_1,
// Q8_K) and so does Nucleus, with the same int8 values: on the 16-token prompt
// most quantized cells agree to 5e-5. But that rounding is chaotic: any other
// difference (the RoPE angles, which grow with the position) moves some
// activation across a rounding boundary, and the change grows through the
// layers and the context, whatever the weight type. llama.cpp is no closer to
// itself: with flash attention on, its quantized cells move by up to 0.33
// (Q8_0 0.13-0.19; gemma2's all ~0.01) from its own references. The 0.05 for Q8_0 is
// below that, so no other implementation can be held to it; the bound is one
// for all the quantized types, since the noise does not depend on the type:
// 0.30, the largest measured (0.25) with 20% headroom, under llama.cpp's own
// largest. A broken kernel is far outside it: dropping the fifth bit of one
// Q5_K sub-block in sixteen gives differences of 6 to 17.
struct TypeBound {
  const char* type;
  double bound;
};
constexpr double kQuantizedBound = 0.30;
constexpr TypeBound kBounds[] = {
    {"f32", 0.01},
    {"f16", 0.05},
    {"bf16", 0.08},
    {"q8_0", kQuantizedBound},
    {"q4_0", kQuantizedBound},
    {"q4_1", kQuantizedBound},
    {"q5_0", kQuantizedBound},
    {"q5_1", kQuantizedBound},
    {"q2_k", kQuantizedBound},
    {"q3_k", kQuantizedBound},
    {"q4_k", kQuantizedBound},
    {"q5_k", kQuantizedBound},
    {"q6_k", kQuantizedBound},
    {"iq4_nl", kQuantizedBound},
    {"iq4_xs", kQuantizedBound},
};
constexpr const char* kArchitectures[] = {"llama3", "qwen2yarn", "qwen3", "gemma2", "gemma3", "phi3", "mistral"};
// llama.cpp made the references with a context of 4096 (gen_arch_reference.py N_CTX), which picks
// phi3's LongRoPE factors: short for phi3 (original context 4096), long for phi3long (256, passed
// by the 300-token prompt). Our models are loaded for the same context.
constexpr int kReferenceContext = 4096;
constexpr int kExitNoQuantizer = 3;       // make_random_model.py: no llama-quantize
constexpr int kExitNoTokenizerModel = 4;  // make_random_model.py: the default model is not fetched

double bound_of(const std::string& type) {
  for (const TypeBound& b : kBounds) {
    if (type == b.type) return b.bound;
  }
  return 0.0;
}

std::string home_cache() {
  if (const char* env = std::getenv("NUCLEUS_CACHE"); env && *env) return env;
  const char* home = std::getenv("HOME");
  return std::string(home ? home : "") + "/.cache/nucleus";
}

std::string venv_python() {
  if (const char* env = std::getenv("NUCLEUS_VENV"); env && *env) return std::string(env) + "/bin/python";
  return home_cache() + "/venv/bin/python";
}

// Runs `command`, returns its stdout (empty on failure to start).
std::string run(const std::string& command, int* status) {
  std::string out;
  FILE* pipe = popen(command.c_str(), "r");
  if (!pipe) {
    *status = -1;
    return out;
  }
  std::array<char, 4096> buf{};
  while (size_t n = fread(buf.data(), 1, buf.size(), pipe)) out.append(buf.data(), n);
  *status = pclose(pipe);
  return out;
}

std::string sha256_of(const std::string& path) {
  int status = 0;
  const std::string out = run("sha256sum '" + path + "' 2>/dev/null", &status);
  return status == 0 && out.size() >= 64 ? out.substr(0, 64) : "";
}

bool model_required() {
  const char* require = std::getenv("NUCLEUS_REQUIRE_MODEL");
  return require && std::string(require) == "1";
}

struct Missing {
  std::string why;    // empty: the model is in place
  bool tool = false;  // a tool is absent (skip unless required), not a failure
};

// Runs make_random_model.py for (arch, type) into `path`; quantized types from
// the F16 file `from` (already checked against its reference's sha256).
Missing generate(const std::string& arch, const std::string& type, const std::string& path, const std::string& from) {
  const std::string python = venv_python();
  if (!std::filesystem::exists(python)) return {"no venv python at " + python + " to generate " + path, true};
  const std::string script = test::source_dir() + "/scripts/golden/make_random_model.py";
  std::string command = "'" + python + "' '" + script + "' " + arch + " '" + path + "' --type " + type;
  if (!from.empty()) command += " --from '" + from + "'";
  int status = 0;
  const std::string out = run(command + " 2>&1", &status);
  if (status == 0) return {};
  const bool tool_absent = WIFEXITED(status) &&
                           (WEXITSTATUS(status) == kExitNoQuantizer || WEXITSTATUS(status) == kExitNoTokenizerModel);
  return {"generating " + path + " failed: " + out, tool_absent};
}

// Where the model with this sha256 lives in the cache. The name holds the
// hash so that checkouts whose generators differ (another branch, an older
// commit) sharing one cache each keep their own file instead of rewriting
// one another's, and a file never changes under a test that checked it.
std::string model_path(const std::string& arch, const std::string& type, const std::string& sha256) {
  return home_cache() + "/arch_models/" + arch + "." + type + "." + sha256.substr(0, 16) + ".gguf";
}

// Ensures the cache holds the exact model the reference was made from.
Missing ensure_model(const std::string& arch, const std::string& type, const std::string& sha256) {
  const std::string path = model_path(arch, type, sha256);
  if (std::filesystem::exists(path) && sha256_of(path) == sha256) return {};
  std::string from;
  if (type != "f32" && type != "f16") {
    std::ifstream in(test::data_dir() + "/arch_ref/" + arch + ".f16.json");
    if (!in) return {"missing tests/data/arch_ref/" + arch + ".f16.json, whose model " + type + " is made from"};
    const std::string f16_sha = nlohmann::json::parse(in)["sha256"].get<std::string>();
    if (Missing m = ensure_model(arch, "f16", f16_sha); !m.why.empty()) return m;
    from = model_path(arch, "f16", f16_sha);
  }
  if (Missing m = generate(arch, type, path, from); !m.why.empty()) return m;
  const std::string got = sha256_of(path);
  if (got != sha256) {
    return {"the generator wrote " + path + " with sha256 " + got + ", not the reference's " + sha256 +
            " (another gguf/numpy/llama-quantize version?): regenerate the references with "
            "scripts/golden/gen_arch_reference.py"};
  }
  return {};
}

struct Figures {
  double max_diff = 0.0;
  int positions = 0, top1_checked = 0, top1_agree = 0;
};

// Our log-softmax of one logit row, in double.
std::vector<double> log_softmax(const float* row, int n) {
  double m = -INFINITY;
  for (int i = 0; i < n; ++i) m = std::max(m, static_cast<double>(row[i]));
  double sum = 0.0;
  for (int i = 0; i < n; ++i) sum += std::exp(static_cast<double>(row[i]) - m);
  const double lse = m + std::log(sum);
  std::vector<double> out(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) out[i] = static_cast<double>(row[i]) - lse;
  return out;
}

// Feeds the prompt in chunks, keeping only the rows the reference has (the
// 2500-token prompt's logits would not fit in memory at once), and compares.
Figures compare_prompt(Model& model, const nlohmann::json& prompt, const std::string& label, double bound) {
  const std::vector<int32_t> ids = prompt["ids"].get<std::vector<int32_t>>();
  const int vocab = model.config().vocab_size;
  constexpr int kBlock = 16;
  constexpr size_t kChunk = 256;
  const int max_blocks = static_cast<int>((ids.size() + kBlock - 1) / kBlock);
  // An F32 cache, as the reference's llama.cpp run had.
  KvStorage kv(model.config(), max_blocks, kBlock, kernels::Device::kCpu, kernels::KvDtype::kF32);
  kernels::ThreadPool pool(2);
  const kernels::Context ctx{kernels::Device::kCpu, &pool};

  Figures fig;
  const auto& refs = prompt["positions"];
  size_t next_ref = 0;
  std::vector<float> logits;
  for (size_t begin = 0; begin < ids.size(); begin += kChunk) {
    const size_t end = std::min(ids.size(), begin + kChunk);
    test::SeqSpec spec{std::vector<int32_t>(ids.begin() + begin, ids.begin() + end), static_cast<int32_t>(begin), 0};
    ForwardBatch b = test::make_batch({spec}, kBlock, max_blocks, true);
    logits.resize(b.logit_rows.size() * static_cast<size_t>(vocab));
    model.forward(ctx, b, kv, logits.data());
    for (; next_ref < refs.size() && refs[next_ref]["pos"].get<size_t>() < end; ++next_ref) {
      const auto& ref = refs[next_ref];
      const size_t pos = ref["pos"].get<size_t>();
      const float* row = logits.data() + (pos - begin) * vocab;
      const std::vector<double> ours = log_softmax(row, vocab);
      for (const auto& entry : ref["top"]) {
        const int id = entry[0].get<int>();
        const double diff = std::abs(ours[id] - entry[1].get<double>());
        if (diff > fig.max_diff) fig.max_diff = diff;
        EXPECT_LE(diff, bound) << label << " position " << pos << " token " << id;
      }
      ++fig.positions;
      if (ref["margin"].get<double>() > bound) {
        ++fig.top1_checked;
        const int ours_top = static_cast<int>(std::max_element(row, row + vocab) - row);
        const int theirs = ref["top"][0][0].get<int>();
        fig.top1_agree += ours_top == theirs;
        EXPECT_EQ(ours_top, theirs) << label << " position " << pos << " (llama.cpp margin " << ref["margin"] << ")";
      }
    }
  }
  EXPECT_EQ(next_ref, refs.size()) << label << ": reference positions beyond the prompt";
  return fig;
}

// llama.cpp's own difference from its reference for this cell and prompt with
// flash attention on (scripts/golden/gen_arch_self_agreement.py), or -1 when not measured.
double llama_self_difference(const std::string& cell, const std::string& prompt) {
  static const nlohmann::json doc = [] {
    std::ifstream in(test::data_dir() + "/arch_ref/llama_self_agreement.json");
    return in ? nlohmann::json::parse(in) : nlohmann::json::object();
  }();
  if (!doc.contains(cell) || !doc[cell].contains(prompt)) return -1.0;
  return doc[cell][prompt].get<double>();
}

// (architecture, weight type): the model and reference tests/data/arch_ref/<arch>.<type>.json.
class ArchitectureMatrix : public ::testing::TestWithParam<std::pair<const char*, const char*>> {};

TEST_P(ArchitectureMatrix, LogprobsMatchLlamaCpp) {
  const std::string arch = GetParam().first, type = GetParam().second;
  const std::string name = arch + "." + type;
  std::ifstream in(test::data_dir() + "/arch_ref/" + name + ".json");
  ASSERT_TRUE(in) << "missing tests/data/arch_ref/" << name << ".json (scripts/golden/gen_arch_reference.py)";
  const nlohmann::json ref = nlohmann::json::parse(in);
  if (ref.contains("refused")) {
    std::printf("  %-18s refused by llama-quantize: %s\n", name.c_str(), ref["refused"].get<std::string>().c_str());
    return;
  }
  const std::string sha256 = ref["sha256"].get<std::string>();
  if (const Missing m = ensure_model(arch, type, sha256); !m.why.empty()) {
    if (!m.tool || model_required()) FAIL() << m.why;
    GTEST_SKIP() << m.why;
  }
  const double bound = bound_of(type);
  ASSERT_GT(bound, 0.0) << "no bound for type " << type;
  std::unique_ptr<Model> model =
      Model::load(model_path(arch, type, sha256), ModelOptions{.context = kReferenceContext});
  for (const auto& prompt : ref["prompts"]) {
    const std::string label = name + " " + prompt["name"].get<std::string>();
    const Figures f = compare_prompt(*model, prompt, label, bound);
    std::printf("  %-18s %4d positions: max |logprob diff| %.2e; top-1 %d/%d where llama.cpp's margin > %.2f",
                label.c_str(), f.positions, f.max_diff, f.top1_agree, f.top1_checked, bound);
    if (const double self = llama_self_difference(name, prompt["name"]); self >= 0.0) {
      std::printf("; llama.cpp with flash attention: %.2e", self);
    }
    std::printf("\n");
  }
}

std::vector<std::pair<const char*, const char*>> cases() {
  std::vector<std::pair<const char*, const char*>> out;
  for (const char* arch : kArchitectures) {
    for (const TypeBound& b : kBounds) out.emplace_back(arch, b.type);
  }
  // LongRoPE's long factors (phi3 past its original context): the architecture, not the types.
  out.emplace_back("phi3long", "f32");
  out.emplace_back("phi3long", "f16");
  return out;
}

INSTANTIATE_TEST_SUITE_P(Random, ArchitectureMatrix, ::testing::ValuesIn(cases()), [](const auto& info) {
  return std::string(info.param.first) + "_" + info.param.second;
});

}  // namespace
}  // namespace nucleus
