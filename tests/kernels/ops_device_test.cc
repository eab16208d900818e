// One test body per device (CTranslate2's pattern): each op runs on the
// device under test through kernels/ops.h and is compared with a plain
// float64 computation here. CUDA cases skip, with the reason printed, where
// the build has no CUDA or the machine has no GPU; CPU cases always run.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "kernels/cuda/ops_math.h"
#include "kernels/device.h"
#include "kernels/device_weights.h"
#include "kernels/fp16.h"
#include "kernels/ops.h"
#include "tests/kernels/kernel_test_util.h"

namespace nucleus::kernels {
namespace {

class OpDeviceTest : public ::testing::TestWithParam<Device> {
 protected:
  void SetUp() override {
    if (GetParam() == Device::kCuda) {
      std::string why;
      if (!cuda_available(&why)) GTEST_SKIP() << "CUDA unavailable: " << why;
    }
    ctx_.device = GetParam();
    ctx_.pool = &pool_;
  }

  // A device copy of host floats.
  std::unique_ptr<DeviceBuffer> put(const std::vector<float>& host) {
    auto buffer = std::make_unique<DeviceBuffer>(GetParam(), host.size() * sizeof(float));
    buffer->upload(host.data(), host.size() * sizeof(float));
    return buffer;
  }
  std::vector<float> get(const DeviceBuffer& buffer, size_t n) {
    std::vector<float> host(n);
    buffer.download(host.data(), n * sizeof(float));
    return host;
  }

  ThreadPool pool_{2};
  Context ctx_;
  std::mt19937 rng_{3};
  std::vector<float> random(size_t n) {
    std::normal_distribution<float> dist(0.0f, 1.0f);
    std::vector<float> v(n);
    for (float& x : v) x = dist(rng_);
    return v;
  }
};

TEST_P(OpDeviceTest, RmsNormSwigluAdd) {
  const int64_t T = 3, n = 200;
  const auto x = random(T * n), w = random(n), g = random(T * n), u = random(T * n);
  auto dx = put(x), dw = put(w), dg = put(g), du = put(u);
  DeviceBuffer out(GetParam(), T * n * sizeof(float));
  rms_norm(ctx_, dx->as<float>(), dw->as<float>(), T, n, 1e-5f, out.as<float>());
  const auto norm = get(out, T * n);
  for (int64_t t = 0; t < T; ++t) {
    double ss = 0;
    for (int64_t i = 0; i < n; ++i) ss += double(x[t * n + i]) * x[t * n + i];
    const double scale = 1.0 / std::sqrt(ss / n + 1e-5);
    for (int64_t i = 0; i < n; ++i) EXPECT_NEAR(norm[t * n + i], x[t * n + i] * scale * w[i], 1e-4);
  }
  swiglu(ctx_, dg->as<float>(), du->as<float>(), T, n, out.as<float>());
  const auto sw = get(out, T * n);
  for (int64_t i = 0; i < T * n; ++i) EXPECT_NEAR(sw[i], g[i] / (1.0 + std::exp(-double(g[i]))) * u[i], 1e-4);
  add_inplace(ctx_, dg->as<float>(), du->as<float>(), T * n);
  const auto sum = get(*dg, T * n);
  for (int64_t i = 0; i < T * n; ++i) EXPECT_FLOAT_EQ(sum[i], g[i] + u[i]);
}

TEST_P(OpDeviceTest, RopeBothStyles) {
  const int64_t T = 4;
  const int heads = 2, hd = 8;
  const std::vector<int32_t> positions = {0, 1, 7, 300};  // host memory on every device
  for (RopeStyle style : {RopeStyle::kNormal, RopeStyle::kNeox}) {
    const auto x = random(T * heads * hd);
    auto dx = put(x);
    RopeParams p;
    p.style = style;
    p.head_dim = hd;
    p.rot_dim = hd;
    p.freq_base = 10000.0f;
    rope(ctx_, dx->as<float>(), positions.data(), T, heads, p);
    const auto y = get(*dx, x.size());
    for (int64_t t = 0; t < T; ++t) {
      for (int h = 0; h < heads; ++h) {
        for (int i = 0; i < hd / 2; ++i) {
          const double theta = positions[t] * std::pow(10000.0, -2.0 * i / hd);
          const int a = style == RopeStyle::kNeox ? i : 2 * i, b = style == RopeStyle::kNeox ? i + hd / 2 : 2 * i + 1;
          const float* v = x.data() + (t * heads + h) * hd;
          const float* r = y.data() + (t * heads + h) * hd;
          EXPECT_NEAR(r[a], v[a] * std::cos(theta) - v[b] * std::sin(theta), 1e-3);
          EXPECT_NEAR(r[b], v[a] * std::sin(theta) + v[b] * std::cos(theta), 1e-3);
        }
      }
    }
  }
}

TEST_P(OpDeviceTest, EmbeddingAndF32Matmul) {
  const int64_t rows = 6, cols = 64, T = 2;
  const auto table = random(rows * cols), x = random(T * cols), bias = random(rows);
  auto dtable = put(table), dx = put(x), dbias = put(bias);
  WeightView w;
  w.type = GgmlType::F32;
  w.data = dtable->data();
  w.rows = rows;
  w.cols = cols;
  w.row_bytes = cols * sizeof(float);
  const std::vector<int32_t> ids = {4, 1};  // host memory
  DeviceBuffer out(GetParam(), T * std::max(cols, rows) * sizeof(float));
  embedding(ctx_, w, ids.data(), T, out.as<float>());
  const auto emb = get(out, T * cols);
  for (int64_t t = 0; t < T; ++t) {
    for (int64_t c = 0; c < cols; ++c) EXPECT_EQ(emb[t * cols + c], table[ids[t] * cols + c]);
  }
  matmul(ctx_, w, dx->as<float>(), T, out.as<float>(), dbias->as<float>());
  const auto y = get(out, T * rows);
  for (int64_t t = 0; t < T; ++t) {
    for (int64_t r = 0; r < rows; ++r) {
      double dot = bias[r];
      for (int64_t c = 0; c < cols; ++c) dot += double(x[t * cols + c]) * table[r * cols + c];
      EXPECT_NEAR(y[t * rows + r], dot, 1e-3);
    }
  }
}

TEST_P(OpDeviceTest, PagedAttentionOverTwoSequences) {
  const int kv_heads = 1, heads = 2, hd = 4, block = 2;
  const int64_t slots = 8;
  std::vector<float> kc = random(slots * kv_heads * hd), vc = random(slots * kv_heads * hd);
  auto dk = put(kc), dv = put(vc);
  KvLayerView cache{dk->as<float>(), dv->as<float>(), slots, kv_heads, hd};
  // Sequence 0 owns blocks {2, 0}, sequence 1 owns {1, 3}; one query each, at positions 2 and 3.
  const std::vector<int32_t> tables = {2, 0, 1, 3}, token_seq = {0, 1}, token_pos = {2, 3};
  AttentionBatch batch;
  batch.num_tokens = 2;
  batch.token_seq = token_seq.data();
  batch.token_pos = token_pos.data();
  batch.block_tables = tables.data();
  batch.max_blocks_per_seq = 2;
  batch.block_size = block;
  const auto q = random(2 * heads * hd);
  auto dq = put(q);
  DeviceBuffer out(GetParam(), q.size() * sizeof(float));
  const float scale = 0.5f;
  attention(ctx_, dq->as<float>(), cache, batch, heads, scale, out.as<float>());
  const auto o = get(out, q.size());
  for (int t = 0; t < 2; ++t) {
    for (int h = 0; h < heads; ++h) {
      std::vector<double> s;
      double mx = -1e300;
      for (int j = 0; j <= token_pos[t]; ++j) {
        const int slot = tables[t * 2 + j / block] * block + j % block;
        double dot = 0;
        for (int d = 0; d < hd; ++d) dot += double(q[(t * heads + h) * hd + d]) * kc[slot * hd + d];
        s.push_back(dot * scale);
        mx = std::max(mx, s.back());
      }
      double z = 0;
      for (double& v : s) z += (v = std::exp(v - mx));
      for (int d = 0; d < hd; ++d) {
        double acc = 0;
        for (int j = 0; j <= token_pos[t]; ++j) {
          const int slot = tables[t * 2 + j / block] * block + j % block;
          acc += s[j] / z * vc[slot * hd + d];
        }
        EXPECT_NEAR(o[(t * heads + h) * hd + d], acc, 1e-4) << "token " << t << " head " << h;
      }
    }
  }
}


// A prefill chunk and a decode row of two sequences, GQA (4 query heads on 2 KV heads),
// contexts longer than the CUDA kernel's 128-key chunk (its online softmax rescales).
TEST_P(OpDeviceTest, PagedAttentionLongContextGqa) {
  const int kv_heads = 2, heads = 4, hd = 64, block = 16, max_blocks = 20;
  const int64_t slots = 2 * max_blocks * block, width = kv_heads * hd;
  const auto kc = random(slots * width), vc = random(slots * width);
  auto dk = put(kc), dv = put(vc);
  KvLayerView cache{dk->as<float>(), dv->as<float>(), slots, kv_heads, hd};
  std::vector<int32_t> tables(2 * max_blocks);
  for (int b = 0; b < max_blocks; ++b) {  // interleaved, reversed block ids
    tables[b] = 2 * (max_blocks - 1 - b);
    tables[max_blocks + b] = 2 * b + 1;
  }
  // Sequence 0: a prefill chunk at positions 250..253; sequence 1: one decode row at 300.
  const std::vector<int32_t> token_seq = {0, 0, 0, 0, 1}, token_pos = {250, 251, 252, 253, 300};
  AttentionBatch batch;
  batch.num_tokens = 5;
  batch.token_seq = token_seq.data();
  batch.token_pos = token_pos.data();
  batch.block_tables = tables.data();
  batch.max_blocks_per_seq = max_blocks;
  batch.block_size = block;
  batch.num_seqs = 2;
  const auto q = random(5 * heads * hd);
  auto dq = put(q);
  DeviceBuffer out(GetParam(), q.size() * sizeof(float));
  const float scale = 0.125f;
  attention(ctx_, dq->as<float>(), cache, batch, heads, scale, out.as<float>());
  const auto o = get(out, q.size());
  for (int t = 0; t < 5; ++t) {
    for (int h = 0; h < heads; ++h) {
      const int kvh = h / 2;
      std::vector<double> s;
      double mx = -1e300;
      auto slot_of = [&](int j) { return tables[token_seq[t] * max_blocks + j / block] * block + j % block; };
      for (int j = 0; j <= token_pos[t]; ++j) {
        double dot = 0;
        for (int d = 0; d < hd; ++d) dot += double(q[(t * heads + h) * hd + d]) * kc[slot_of(j) * width + kvh * hd + d];
        s.push_back(dot * scale);
        mx = std::max(mx, s.back());
      }
      double z = 0;
      for (double& v : s) z += (v = std::exp(v - mx));
      for (int d = 0; d < hd; ++d) {
        double acc = 0;
        for (int j = 0; j <= token_pos[t]; ++j) acc += s[j] / z * vc[slot_of(j) * width + kvh * hd + d];
        EXPECT_NEAR(o[(t * heads + h) * hd + d], acc, 1e-4) << "token " << t << " head " << h << " dim " << d;
      }
    }
  }
}

// write_kv and attention on a cache of every dtype: the device writes the
// bytes the host's kv_encode_row writes (checked bitwise against numpy and
// gguf in kv_rounding_test.cc), and attention over them is a float64 softmax
// of the stored values. GQA, a prefill chunk and a decode row, 300 keys.
TEST_P(OpDeviceTest, WriteKvAndAttentionInEveryDtype) {
  const int kv_heads = 2, heads = 4, hd = 64, block = 16, max_blocks = 20;
  const int64_t slots = max_blocks * block, width = kv_heads * hd;
  const std::vector<int32_t> tables = [&] {
    std::vector<int32_t> t(max_blocks);
    for (int b = 0; b < max_blocks; ++b) t[b] = max_blocks - 1 - b;  // reversed block ids
    return t;
  }();
  auto slot_of = [&](int j) { return tables[j / block] * block + j % block; };
  const auto k_new = random(slots * width), v_new = random(slots * width);
  auto dk_new = put(k_new), dv_new = put(v_new);
  std::vector<int32_t> slot_mapping(slots);
  for (int j = 0; j < slots; ++j) slot_mapping[j] = slot_of(j);
  const std::vector<int32_t> token_seq = {0, 0, 0}, token_pos = {250, 251, 299};
  const auto q = random(3 * heads * hd);
  auto dq = put(q);
  for (KvDtype dtype : {KvDtype::kF32, KvDtype::kF16, KvDtype::kQ8_0}) {
    const size_t slot_bytes = kv_row_bytes(dtype, width);
    DeviceBuffer dk(GetParam(), slots * slot_bytes), dv(GetParam(), slots * slot_bytes);
    const KvLayerView cache{dk.data(), dv.data(), slots, kv_heads, hd, dtype};
    write_kv(ctx_, cache, dk_new->as<float>(), dv_new->as<float>(), slot_mapping.data(), slots);
    std::vector<uint8_t> k_bytes(slots * slot_bytes), v_bytes(k_bytes.size()), expected(slot_bytes);
    dk.download(k_bytes.data(), k_bytes.size());
    dv.download(v_bytes.data(), v_bytes.size());
    for (int j = 0; j < slots; ++j) {
      kv_encode_row(dtype, k_new.data() + j * width, width, expected.data());
      ASSERT_EQ(std::memcmp(k_bytes.data() + slot_of(j) * slot_bytes, expected.data(), slot_bytes), 0)
          << kv_dtype_name(dtype) << " key " << j;
      kv_encode_row(dtype, v_new.data() + j * width, width, expected.data());
      ASSERT_EQ(std::memcmp(v_bytes.data() + slot_of(j) * slot_bytes, expected.data(), slot_bytes), 0)
          << kv_dtype_name(dtype) << " value " << j;
    }
    AttentionBatch batch;
    batch.num_tokens = 3;
    batch.token_seq = token_seq.data();
    batch.token_pos = token_pos.data();
    batch.block_tables = tables.data();
    batch.max_blocks_per_seq = max_blocks;
    batch.block_size = block;
    batch.num_seqs = 1;
    DeviceBuffer out(GetParam(), q.size() * sizeof(float));
    const float scale = 0.125f;
    attention(ctx_, dq->as<float>(), cache, batch, heads, scale, out.as<float>());
    const auto o = get(out, q.size());
    auto stored = [&](const std::vector<uint8_t>& bytes, int j, int kvh, int d) {
      return kv_element(dtype, bytes.data() + slot_of(j) * slot_bytes + kvh * kv_row_bytes(dtype, hd), d);
    };
    for (int t = 0; t < 3; ++t) {
      for (int h = 0; h < heads; ++h) {
        const int kvh = h / 2;
        std::vector<double> s;
        double mx = -1e300;
        for (int j = 0; j <= token_pos[t]; ++j) {
          double dot = 0;
          for (int d = 0; d < hd; ++d) dot += double(q[(t * heads + h) * hd + d]) * stored(k_bytes, j, kvh, d);
          s.push_back(dot * scale);
          mx = std::max(mx, s.back());
        }
        double z = 0;
        for (double& v : s) z += (v = std::exp(v - mx));
        for (int d = 0; d < hd; ++d) {
          double acc = 0;
          for (int j = 0; j <= token_pos[t]; ++j) acc += s[j] / z * stored(v_bytes, j, kvh, d);
          ASSERT_NEAR(o[(t * heads + h) * hd + d], acc, 1e-4)
              << kv_dtype_name(dtype) << " token " << t << " head " << h << " dim " << d;
        }
      }
    }
  }
}

// Weights as the model holds them: quantized rows in host memory (the mmap'd GGUF).
// The CPU reads them in place; CUDA reads their registered fp16 copies with cuBLAS.
// Reference: float64 dot products with the dequantize_row values.
TEST_P(OpDeviceTest, HostQuantizedWeightsMatmul) {
  const int64_t rows = 40, cols = 256, T = 5;
  for (GgmlType type : {GgmlType::F32, GgmlType::F16, GgmlType::Q4_0, GgmlType::Q4_1, GgmlType::Q8_0,
                        GgmlType::Q4_K, GgmlType::Q6_K}) {
    const auto w = test::random_weights(rng_, type, rows, cols);
    const auto x = random(T * cols), bias = random(rows);
    auto dx = put(x);
    DeviceBuffer out(GetParam(), T * rows * sizeof(float));
    // Registered as a model registers its own (the CPU ignores them); a fresh
    // owner per type, so a bias reallocated at the same address is uploaded anew.
    DeviceWeights registered(make_device_memory(GetParam()));
    registered.add_matrix(w.view, &pool_);
    registered.add_floats(bias.data(), rows);
    Context ctx = ctx_;
    ctx.weights = &registered;
    matmul(ctx, w.view, dx->as<float>(), T, out.as<float>(), bias.data());  // host weight and bias
    const auto y = get(out, T * rows);
    for (int64_t t = 0; t < T; ++t) {
      for (int64_t r = 0; r < rows; ++r) {
        double dot = bias[r], mag = 0.0;
        for (int64_t c = 0; c < cols; ++c) {
          dot += double(x[t * cols + c]) * w.dequantized[r * cols + c];
          mag += std::fabs(double(x[t * cols + c]) * w.dequantized[r * cols + c]);
        }
        // CPU: 8-bit activation blocks for quantized types; CUDA: fp16 weights and activations.
        EXPECT_NEAR(y[t * rows + r], dot, 1e-2 * mag + 1e-4) << ggml_type_name(type) << " t=" << t << " r=" << r;
      }
    }
  }
}

// Activations beyond fp16's range (65504), as the down_proj inputs of
// Qwen2.5 or Llama 2 class models: CUDA scales such rows by a power of two
// before rounding them to fp16 (ops_math.h::fp16_scale_exponent), so nothing
// becomes inf; the CPU's 8-bit blocks carry their own scales.
TEST_P(OpDeviceTest, ActivationsBeyondFp16RangeStayFinite) {
  const int64_t rows = 24, cols = 256, T = 3;
  const auto w = test::random_weights(rng_, GgmlType::F16, rows, cols);
  auto x = random(T * cols);
  for (int64_t c = 0; c < cols; ++c) x[c] *= 3e5f;       // row 0: |x| up to ~1e6
  x[cols + 5] = 70000.0f;                                // row 1: one value just past the range
  auto dx = put(x);                                      // row 2: ordinary
  DeviceWeights registered(make_device_memory(GetParam()));
  registered.add_matrix(w.view, &pool_);
  Context ctx = ctx_;
  ctx.weights = &registered;
  DeviceBuffer out(GetParam(), T * rows * sizeof(float));
  const MatmulOutput shared[1] = {{w.view, out.as<float>(), nullptr}};
  matmul_shared_input(ctx, dx->as<float>(), T, shared, 1);
  const auto y = get(out, T * rows);
  for (int64_t t = 0; t < T; ++t) {
    for (int64_t r = 0; r < rows; ++r) {
      double dot = 0.0, mag = 0.0;
      for (int64_t c = 0; c < cols; ++c) {
        dot += double(x[t * cols + c]) * w.dequantized[r * cols + c];
        mag += std::fabs(double(x[t * cols + c]) * w.dequantized[r * cols + c]);
      }
      ASSERT_TRUE(std::isfinite(y[t * rows + r])) << "t=" << t << " r=" << r;
      EXPECT_NEAR(y[t * rows + r], dot, 1e-2 * mag) << "t=" << t << " r=" << r;
    }
  }
}

// On CUDA a host weight must have been registered (Context::weights): an
// unregistered one is a clear error, not a silent upload cached by address.
TEST_P(OpDeviceTest, UnregisteredHostWeightIsAnErrorOnCuda) {
  if (GetParam() == Device::kCpu) GTEST_SKIP() << "the CPU reads host weights in place";
  const auto w = test::random_weights(rng_, GgmlType::Q8_0, 4, 64);
  const auto x = random(64), norm = random(64);
  auto dx = put(x);
  DeviceBuffer out(GetParam(), 64 * sizeof(float));
  EXPECT_THROW(matmul(ctx_, w.view, dx->as<float>(), 1, out.as<float>()), std::invalid_argument);
  EXPECT_THROW(rms_norm(ctx_, dx->as<float>(), norm.data(), 1, 64, 1e-5f, out.as<float>()), std::invalid_argument);
}

TEST_P(OpDeviceTest, HostTableEmbeddingIsExact) {
  const int64_t rows = 10, cols = 64;
  const auto w = test::random_weights(rng_, GgmlType::Q4_1, rows, cols);
  const std::vector<int32_t> ids = {9, 0, 3};
  DeviceBuffer out(GetParam(), ids.size() * cols * sizeof(float));
  embedding(ctx_, w.view, ids.data(), static_cast<int64_t>(ids.size()), out.as<float>());
  const auto e = get(out, ids.size() * cols);
  for (size_t t = 0; t < ids.size(); ++t) {
    for (int64_t c = 0; c < cols; ++c) EXPECT_EQ(e[t * cols + c], w.dequantized[ids[t] * cols + c]);
  }
}

// The per-element formulas the CUDA kernels run (kernels/cuda/ops_math.h, host-compiled
// here) against the CPU op and float64: a GPU-free check of the device math.
TEST(CudaOpsMath, FormulasMatchTheCpuOps) {
  ThreadPool pool(1);
  Context ctx;
  ctx.pool = &pool;
  std::mt19937 rng(5);
  const auto g = test::random_floats(rng, 64, -8.0f, 8.0f), u = test::random_floats(rng, 64);
  std::vector<float> out(64);
  swiglu(ctx, g.data(), u.data(), 1, 64, out.data());
  // The CPU may use a vectorised exp (a few ulp); the formula must agree to float precision.
  for (int i = 0; i < 64; ++i) EXPECT_NEAR(cuda::silu_mul(g[i], u[i]), out[i], 1e-6 * std::fabs(out[i]) + 1e-12);

  std::vector<float> ones(64, 1.0f), normed(64);
  rms_norm(ctx, u.data(), ones.data(), 1, 64, 1e-6f, normed.data());
  double ss = 0.0;
  for (float v : u) ss += double(v) * v;
  EXPECT_NEAR(u[7] * cuda::rms_scale(ss, 64, 1e-6f), normed[7], 1e-6);

  for (bool neox : {false, true}) {
    const int hd = 16, half = 8;
    auto x = test::random_floats(rng, hd);
    auto cpu = x;
    const int32_t pos = 1234;
    RopeParams p;
    p.style = neox ? RopeStyle::kNeox : RopeStyle::kNormal;
    p.head_dim = hd;
    p.rot_dim = hd;
    p.freq_base = 500000.0f;
    p.freq_scale = 0.5f;
    rope(ctx, cpu.data(), &pos, 1, 1, p);
    for (int i = 0; i < half; ++i) {
      int a, b;
      cuda::rope_pair(neox, i, half, &a, &b);
      const double theta = cuda::rope_theta(pos, p.freq_scale, p.freq_base, i, hd);
      const float c = static_cast<float>(std::cos(theta)), s = static_cast<float>(std::sin(theta));
      EXPECT_EQ(x[a] * c - x[b] * s, cpu[a]) << "pair " << i;
      EXPECT_EQ(x[a] * s + x[b] * c, cpu[b]) << "pair " << i;
    }
  }
  // The activation scale: rows within fp16's range are left alone; larger ones
  // are brought just inside it by the smallest power of two.
  EXPECT_EQ(cuda::fp16_scale_exponent(0.0f), 0);
  EXPECT_EQ(cuda::fp16_scale_exponent(65504.0f), 0);
  EXPECT_EQ(cuda::fp16_scale_exponent(65505.0f), 1);
  EXPECT_EQ(cuda::fp16_scale_exponent(INFINITY), 0);
  EXPECT_EQ(cuda::fp16_scale_exponent(NAN), 0);
  for (float amax : {70000.0f, 1e5f, 3.3e5f, 1e6f, 1e20f, 3e38f}) {
    const int k = cuda::fp16_scale_exponent(amax);
    EXPECT_LE(std::ldexp(amax, -k), cuda::kFp16Max) << amax;
    EXPECT_GT(std::ldexp(amax, -k + 1), cuda::kFp16Max) << amax;  // the smallest such k
    // Scaled rounding is the unscaled rounding moved by 2^k: exact in binary.
    const float v = amax * 0.7f;
    EXPECT_EQ(std::ldexp(fp16_to_float(float_to_fp16(std::ldexp(v, -k))), k),
              std::ldexp(fp16_to_float(float_to_fp16(std::ldexp(v, -k - 3))), k + 3))
        << amax;
    EXPECT_TRUE(std::isinf(fp16_to_float(float_to_fp16(amax))));  // what the unscaled path gave
  }
  const int32_t table[] = {7, 2, 5};
  EXPECT_EQ(cuda::kv_slot(table, 16, 0), 7 * 16);
  EXPECT_EQ(cuda::kv_slot(table, 16, 17), 2 * 16 + 1);
  EXPECT_EQ(cuda::kv_slot(table, 16, 47), 5 * 16 + 15);
}

INSTANTIATE_TEST_SUITE_P(Devices, OpDeviceTest, ::testing::Values(Device::kCpu, Device::kCuda),
                         [](const ::testing::TestParamInfo<Device>& info) { return std::string(device_name(info.param)); });

}  // namespace
}  // namespace nucleus::kernels
