// One test body per device (CTranslate2's pattern): each op runs on the
// device under test through kernels/ops.h and is compared with a plain
// float64 computation here. CUDA cases skip, with the reason printed, where
// the build has no CUDA or the machine has no GPU; CPU cases always run.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "kernels/device.h"
#include "kernels/fp16.h"
#include "kernels/ops.h"

namespace nucleus::kernels {
namespace {

class OpDeviceTest : public ::testing::TestWithParam<Device> {
 protected:
  void SetUp() override {
    if (GetParam() == Device::kCuda) {
      std::string why;
      if (!cuda_available(&why)) GTEST_SKIP() << "CUDA case skipped: " << why;
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

INSTANTIATE_TEST_SUITE_P(Devices, OpDeviceTest, ::testing::Values(Device::kCpu, Device::kCuda),
                         [](const ::testing::TestParamInfo<Device>& info) { return std::string(device_name(info.param)); });

}  // namespace
}  // namespace nucleus::kernels
