// The prepacked AVX-512 kernels of Q5_0, Q5_1 and IQ4_NL (matmul_q5_avx512.cc)
// against a reference written here from the block formats and the float
// order those kernels document (that of the Q4_0 / Q4_1 kernels), bitwise:
//   acc = fma(d_w * d_x, float(idot), acc) per block in order; Q5_1 also
//   extra = fma(m_w, s_x, extra); y = acc + extra.
// The activations are the matmul's own 8-bit blocks (quantize_row_q8), so
// only the weight side and the float order are under test. Odd row counts
// leave partial panels; T = 1 is decode, the others prefill tiles.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "kernels/cpu/cpu_features.h"
#include "kernels/cpu/quantize_act.h"
#include "kernels/fp16.h"
#include "kernels/ops.h"
#include "tests/kernels/kernel_test_util.h"

namespace nucleus::kernels {
namespace {

using cpu::ActBlockQ8;

struct Block32 {
  int q[kQK];
  float d = 0.0f;
  float m = 0.0f;
};

uint16_t u16(const uint8_t* p) {
  uint16_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// Block b of a row, read from the GGML layout (ggml_types.h) without the kernels' helpers.
Block32 read_block(GgmlType type, const uint8_t* row, int64_t b) {
  Block32 out;
  if (type == GgmlType::IQ4_NL) {
    const uint8_t* p = row + b * sizeof(BlockIQ4_NL);
    out.d = fp16_to_float(u16(p));
    for (int j = 0; j < 16; ++j) {
      out.q[j] = kIq4nlValues[p[2 + j] & 0xF];
      out.q[j + 16] = kIq4nlValues[p[2 + j] >> 4];
    }
    return out;
  }
  const bool q5_1 = type == GgmlType::Q5_1;
  const uint8_t* p = row + b * (q5_1 ? sizeof(BlockQ5_1) : sizeof(BlockQ5_0));
  out.d = fp16_to_float(u16(p));
  if (q5_1) out.m = fp16_to_float(u16(p + 2));
  const uint8_t* qh_bytes = p + (q5_1 ? 4 : 2);
  const uint8_t* qs = qh_bytes + 4;
  uint32_t qh;
  std::memcpy(&qh, qh_bytes, sizeof qh);
  for (int j = 0; j < 16; ++j) {
    out.q[j] = (qs[j] & 0xF) | static_cast<int>(((qh >> j) & 1u) << 4);
    out.q[j + 16] = (qs[j] >> 4) | static_cast<int>(((qh >> (j + 16)) & 1u) << 4);
  }
  if (!q5_1) {
    for (int& v : out.q) v -= 16;
  }
  return out;
}

float reference_dot(GgmlType type, const uint8_t* row, const ActBlockQ8* x, int64_t nb) {
  float acc = 0.0f, extra = 0.0f;
  for (int64_t b = 0; b < nb; ++b) {
    const Block32 w = read_block(type, row, b);
    int idot = 0;
    for (int j = 0; j < kQK; ++j) idot += w.q[j] * x[b].qs[j];
    acc = std::fma(w.d * x[b].d, static_cast<float>(idot), acc);
    extra = std::fma(w.m, x[b].s, extra);
  }
  return type == GgmlType::Q5_1 ? acc + extra : acc;
}

class SmallBlockAvx512Test : public ::testing::TestWithParam<GgmlType> {};

TEST_P(SmallBlockAvx512Test, PrepackedEqualsReferenceBitwise) {
  if (!cpu::avx512_enabled()) GTEST_SKIP() << "AVX-512 VNNI absent on this CPU or disabled (NUCLEUS_NO_AVX512=1)";
  const GgmlType type = GetParam();
  ThreadPool pool(2);
  const Context ctx{Device::kCpu, &pool};
  std::mt19937 rng(77 + static_cast<int>(type));
  test::PathGuard path(test::KernelPath::kAvx512Packed);
  for (int64_t cols : {32, 96, 2048}) {
    for (int64_t rows : {1, 19, 48}) {
      auto w = test::random_weights(rng, type, rows, cols);
      const WeightView view = test::view_for(test::KernelPath::kAvx512Packed, w);
      ASSERT_NE(view.cpu_packed, nullptr) << ggml_type_name(type);
      for (int64_t T : {1, 5, 13}) {
        const auto x = test::random_floats(rng, T * cols, -3.0f, 3.0f);
        std::vector<float> y(static_cast<size_t>(T * rows));
        matmul(ctx, view, x.data(), T, y.data());
        std::vector<ActBlockQ8> xq(static_cast<size_t>(cols / kQK));
        for (int64_t t = 0; t < T; ++t) {
          cpu::quantize_row_q8(x.data() + t * cols, cols, xq.data());
          for (int64_t r = 0; r < rows; ++r) {
            const float want = reference_dot(type, w.bytes.data() + r * w.view.row_bytes, xq.data(), cols / kQK);
            const float got = y[t * rows + r];
            ASSERT_EQ(std::memcmp(&got, &want, sizeof got), 0)
                << ggml_type_name(type) << " rows=" << rows << " cols=" << cols << " T=" << T << " t=" << t
                << " r=" << r << ": " << got << " vs " << want;
          }
        }
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(SmallBlocks, SmallBlockAvx512Test,
                         ::testing::Values(GgmlType::Q5_0, GgmlType::Q5_1, GgmlType::IQ4_NL),
                         [](const auto& info) { return std::string(ggml_type_name(info.param)); });

}  // namespace
}  // namespace nucleus::kernels
