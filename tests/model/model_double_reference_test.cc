// The forward pass on tiny random-weight models (llama and qwen2, several
// weight types) against a plain double-precision transformer written out in
// this file: embedding, RMSNorm, Q/K/V (+ biases), RoPE of both styles,
// grouped-query causal attention, SwiGLU, residuals, final norm, tied head.
// It runs on the device named by NUCLEUS_TEST_DEVICE (cpu, the default, or
// cuda; skipped with the reason where CUDA is unavailable), with the bound of
// that device (kCudaBound below).
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "model/model.h"
#include "tests/common/gguf_writer.h"
#include "tests/model/model_test_util.h"

namespace nucleus {
namespace {

using Vec = std::vector<double>;

// Rows of a GGUF matrix as doubles: m[row][col].
std::vector<Vec> matrix(const GgufFile& f, const std::string& name) {
  const GgufTensorInfo& t = f.tensor(name);
  const int64_t cols = t.shape[0], rows = t.shape.size() > 1 ? t.shape[1] : 1;
  const size_t row_bytes = ggml_row_size(t.type, cols);
  std::vector<Vec> m(rows, Vec(cols));
  std::vector<float> tmp(cols);
  for (int64_t r = 0; r < rows; ++r) {
    dequantize_row(t.type, t.data + r * row_bytes, tmp.data(), cols);
    for (int64_t c = 0; c < cols; ++c) m[r][c] = tmp[c];
  }
  return m;
}
Vec vec(const GgufFile& f, const std::string& name) { return matrix(f, name)[0]; }

// The 8-bit activation quantization our quantized matmuls apply to their input
// (blocks of 32, q = round(x * 127 / amax) to nearest even, scale amax / 127
// kept to fp16's 11 significant bits), written out here so the reference can
// follow the same scheme; `round_trip` returns the values the integer dot
// products actually see.
double scale_to_11_bits(float d) {
  int exponent = 0;
  const double mantissa = std::frexp(double(d), &exponent);  // d = mantissa * 2^exponent, 0.5 <= mantissa < 1
  return std::ldexp(std::nearbyint(std::ldexp(mantissa, 11)), exponent - 11);
}

Vec round_trip_q8(const Vec& x) {
  Vec y(x.size());
  for (size_t b = 0; b < x.size(); b += 32) {
    float amax = 0;
    for (size_t i = b; i < std::min(x.size(), b + 32); ++i) amax = std::max(amax, std::fabs(float(x[i])));
    const float id = amax != 0 ? 127.0f / amax : 0.0f;
    const double d = scale_to_11_bits(amax / 127.0f);
    for (size_t i = b; i < std::min(x.size(), b + 32); ++i) y[i] = double(std::nearbyint(float(x[i]) * id)) * d;
  }
  return y;
}

bool g_quantize_activations = false;  // set per test case: weights are quantized

Vec matvec(const std::vector<Vec>& m, const Vec& input) {
  const Vec x = g_quantize_activations ? round_trip_q8(input) : input;
  Vec y(m.size(), 0.0);
  for (size_t r = 0; r < m.size(); ++r) {
    for (size_t c = 0; c < x.size(); ++c) y[r] += m[r][c] * x[c];
  }
  return y;
}

Vec rms_norm(const Vec& x, const Vec& w, double eps) {
  double ss = 0;
  for (double v : x) ss += v * v;
  const double scale = 1.0 / std::sqrt(ss / x.size() + eps);
  Vec y(x.size());
  for (size_t i = 0; i < x.size(); ++i) y[i] = x[i] * scale * w[i];
  return y;
}

void rope(Vec& x, int n_heads, const ModelConfig& c, int pos) {
  const int hd = c.head_dim, rot = c.rope_dim;
  for (int h = 0; h < n_heads; ++h) {
    double* v = x.data() + h * hd;
    for (int i = 0; i < rot / 2; ++i) {
      const double theta = pos * c.rope_freq_scale * std::pow(double(c.rope_freq_base), -2.0 * i / rot);
      const int a = c.rope_style == kernels::RopeStyle::kNeox ? i : 2 * i;
      const int b = c.rope_style == kernels::RopeStyle::kNeox ? i + rot / 2 : 2 * i + 1;
      const double x0 = v[a], x1 = v[b];
      v[a] = x0 * std::cos(theta) - x1 * std::sin(theta);
      v[b] = x0 * std::sin(theta) + x1 * std::cos(theta);
    }
  }
}

// Logits [n, vocab] of every position of `ids`, in double precision.
std::vector<Vec> reference_forward(const GgufFile& f, const ModelConfig& c, const std::vector<int32_t>& ids) {
  const auto embd = matrix(f, "token_embd.weight");
  const int n = static_cast<int>(ids.size()), hd = c.head_dim, group = c.n_heads / c.n_kv_heads;
  std::vector<Vec> x(n);
  for (int t = 0; t < n; ++t) x[t] = embd[ids[t]];
  for (int l = 0; l < c.n_layers; ++l) {
    const std::string p = "blk." + std::to_string(l) + ".";
    const auto wq = matrix(f, p + "attn_q.weight"), wk = matrix(f, p + "attn_k.weight"),
               wv = matrix(f, p + "attn_v.weight"), wo = matrix(f, p + "attn_output.weight");
    std::vector<Vec> q(n), k(n), v(n);
    for (int t = 0; t < n; ++t) {
      const Vec h = rms_norm(x[t], vec(f, p + "attn_norm.weight"), c.rms_eps);
      q[t] = matvec(wq, h), k[t] = matvec(wk, h), v[t] = matvec(wv, h);
      if (c.has_qkv_bias) {
        const Vec bq = vec(f, p + "attn_q.bias"), bk = vec(f, p + "attn_k.bias"), bv = vec(f, p + "attn_v.bias");
        for (size_t i = 0; i < q[t].size(); ++i) q[t][i] += bq[i];
        for (size_t i = 0; i < k[t].size(); ++i) k[t][i] += bk[i], v[t][i] += bv[i];
      }
      rope(q[t], c.n_heads, c, t);
      rope(k[t], c.n_kv_heads, c, t);
    }
    for (int t = 0; t < n; ++t) {
      Vec attn(c.n_heads * hd, 0.0);
      for (int h = 0; h < c.n_heads; ++h) {
        const int kvh = h / group;
        Vec scores(t + 1);
        double max_score = -1e300;
        for (int s = 0; s <= t; ++s) {
          double dot = 0;
          for (int i = 0; i < hd; ++i) dot += q[t][h * hd + i] * k[s][kvh * hd + i];
          scores[s] = dot / std::sqrt(double(hd));
          max_score = std::max(max_score, scores[s]);
        }
        double sum = 0;
        for (double& s : scores) sum += (s = std::exp(s - max_score));
        for (int s = 0; s <= t; ++s) {
          for (int i = 0; i < hd; ++i) attn[h * hd + i] += scores[s] / sum * v[s][kvh * hd + i];
        }
      }
      const Vec o = matvec(wo, attn);
      for (size_t i = 0; i < o.size(); ++i) x[t][i] += o[i];
    }
    const auto wg = matrix(f, p + "ffn_gate.weight"), wu = matrix(f, p + "ffn_up.weight"),
               wd = matrix(f, p + "ffn_down.weight");
    for (int t = 0; t < n; ++t) {
      const Vec h = rms_norm(x[t], vec(f, p + "ffn_norm.weight"), c.rms_eps);
      Vec g = matvec(wg, h);
      const Vec u = matvec(wu, h);
      for (size_t i = 0; i < g.size(); ++i) g[i] = g[i] / (1.0 + std::exp(-g[i])) * u[i];
      const Vec d = matvec(wd, g);
      for (size_t i = 0; i < d.size(); ++i) x[t][i] += d[i];
    }
  }
  const auto head = c.tied_embeddings ? embd : matrix(f, "output.weight");
  std::vector<Vec> logits(n);
  for (int t = 0; t < n; ++t) logits[t] = matvec(head, rms_norm(x[t], vec(f, "output_norm.weight"), c.rms_eps));
  return logits;
}

struct Case {
  std::string arch;
  GgmlType type;
  bool tied;
  double tolerance;  // max |logit difference| as a fraction of the largest |logit|
};

// The bound on CUDA, for every case (not yet measured: no GPU has run it).
// CUDA rounds each matmul's weights (dequantized) and activations to fp16
// (unit roundoff 2^-11 = 4.9e-4, no 8-bit activation step) and accumulates in
// fp32: each product is off by at most ~1e-3 of its size, and five matmuls in
// a row (Q/K/V, output, gate/up, down, head) over two layers compound that.
// 1e-2 of the largest logit leaves ~2x over that worst case on this model,
// whose logits are sums of few terms of like size; the reference keeps its
// activations exact there (the CPU's 8-bit emulation is the CPU's scheme).
constexpr double kCudaBound = 1e-2;

class TinyModelDoubleReference : public ::testing::TestWithParam<Case> {};

TEST_P(TinyModelDoubleReference, LogitsMatchAtEveryPosition) {
  const Case& cs = GetParam();
  std::string skip;
  const kernels::Device device = test::test_device(&skip);
  if (!skip.empty()) GTEST_SKIP() << skip;
  test::GgufWriter w;
  test::TinyModelSpec spec;
  spec.arch = cs.arch;
  spec.matrix_type = cs.type;
  spec.tied_embeddings = cs.tied;
  spec.n_layers = 2;
  spec.scale = 0.3f;
  test::add_tiny_model(w, spec);
  Model model(GgufFile::from_memory("tiny-" + cs.arch, w.build()));
  const ModelConfig& c = model.config();
  ASSERT_EQ(c.rope_style, cs.arch == "qwen2" ? kernels::RopeStyle::kNeox : kernels::RopeStyle::kNormal);

  const std::vector<int32_t> ids = {3, 17, 42, 5, 5, 60, 1, 33, 8, 21, 63, 0};
  kernels::ThreadPool pool(2);
  const kernels::Context ctx{device, &pool};
  KvStorage kv(c, 4, 4, device, kernels::KvDtype::kF32);  // the reference keeps K and V exact
  const std::vector<float> ours = test::run_chunked(model, kv, ctx, ids, 5);
  g_quantize_activations = cs.type == GgmlType::Q8_0 && device == kernels::Device::kCpu;
  const double tolerance = device == kernels::Device::kCpu ? cs.tolerance : kCudaBound;
  const std::vector<Vec> ref = reference_forward(model.file(), c, ids);
  double worst = 0, largest = 0;
  for (size_t t = 0; t < ids.size(); ++t) {
    for (int v = 0; v < c.vocab_size; ++v) {
      worst = std::max(worst, std::fabs(ours[t * c.vocab_size + v] - ref[t][v]));
      largest = std::max(largest, std::fabs(ref[t][v]));
    }
  }
  std::printf("  %s: %s %s %s: max |logit - float64 reference| = %.2e (%.3f%% of the largest logit, %.2f)\n",
              kernels::device_name(device), cs.arch.c_str(), std::string(ggml_type_name(cs.type)).c_str(),
              cs.tied ? "tied" : "untied", worst, 100 * worst / largest, largest);
  EXPECT_LE(worst, tolerance * largest);
}

// Float weights: only float32 rounding (1e-5 relative leaves room over the
// ~1e-6 seen). Q8_0 weights: the reference quantizes each matmul's input to
// 8 bits exactly as the kernels do, so what remains is float32 rounding plus
// the rare activation that rounds the other way at a .5 tie (a 1/127 step of
// one element); 1e-4 relative covers that (1.4e-7 seen). Without that emulation the tiny
// model lands ~4% away, the real model 1.4% from float64 (llama.cpp 2.3%).
INSTANTIATE_TEST_SUITE_P(Models, TinyModelDoubleReference,
                         ::testing::Values(Case{"llama", GgmlType::F32, true, 1e-5},
                                           Case{"llama", GgmlType::F16, false, 1e-5},
                                           Case{"llama", GgmlType::Q8_0, true, 1e-4},
                                           Case{"qwen2", GgmlType::F32, false, 1e-5},
                                           Case{"qwen2", GgmlType::Q8_0, true, 1e-4}));

}  // namespace
}  // namespace nucleus
