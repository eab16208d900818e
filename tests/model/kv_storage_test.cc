// KvStorage for every dtype: its size in bytes, copy_slots moving exactly the
// bytes of the copied slots in every layer (copy-on-write of a shared block
// and prefix caching rely on it), and a dtype the model cannot use refused.
#include "model/kv_storage.h"

#include <gtest/gtest.h>

#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "model/model_config.h"

namespace nucleus {
namespace {

using kernels::KvDtype;

ModelConfig config_with_head_dim(int head_dim) {
  ModelConfig c;
  c.n_layers = 3;
  c.n_kv_heads = 2;
  c.head_dim = head_dim;
  return c;
}

TEST(KvStorage, BytesPerTokenOfEachDtype) {
  const ModelConfig c = config_with_head_dim(64);
  // K and V, 3 layers, 2 heads of 64 values.
  EXPECT_EQ(KvStorage::bytes_per_token(c, KvDtype::kF32), 2 * 3 * 128 * 4);
  EXPECT_EQ(KvStorage::bytes_per_token(c, KvDtype::kF16), 2 * 3 * 128 * 2);
  EXPECT_EQ(KvStorage::bytes_per_token(c, KvDtype::kQ8_0), 2 * 3 * 4 * 34);  // 4 blocks of 32 per slot
  EXPECT_EQ(KvStorage(c, 2, 4).dtype(), kernels::kDefaultKvDtype);
  EXPECT_EQ(kernels::kDefaultKvDtype, KvDtype::kF16);
}

TEST(KvStorage, CopySlotsMovesExactlyTheSlotsBytesForEveryDtype) {
  const ModelConfig c = config_with_head_dim(64);
  for (KvDtype dtype : {KvDtype::kF32, KvDtype::kF16, KvDtype::kQ8_0}) {
    KvStorage kv(c, 4, 4, kernels::Device::kCpu, dtype);
    const size_t slot_bytes = kv.layer(0).slot_bytes();
    const size_t total = slot_bytes * static_cast<size_t>(kv.num_slots());
    // Every byte of every layer's K and V numbered: (layer, side, offset) -> a distinct pattern.
    for (int l = 0; l < 3; ++l) {
      auto* k = static_cast<uint8_t*>(kv.layer(l).k);
      auto* v = static_cast<uint8_t*>(kv.layer(l).v);
      for (size_t i = 0; i < total; ++i) {
        k[i] = static_cast<uint8_t>(i * 7 + l);
        v[i] = static_cast<uint8_t>(i * 13 + l + 100);
      }
    }
    std::vector<std::vector<uint8_t>> before;
    for (int l = 0; l < 3; ++l) {
      const auto* k = static_cast<const uint8_t*>(kv.layer(l).k);
      const auto* v = static_cast<const uint8_t*>(kv.layer(l).v);
      before.emplace_back(k, k + total);
      before.emplace_back(v, v + total);
    }
    kv.copy_slots(5, 10, 3);  // slots 5..7 -> 10..12
    for (int l = 0; l < 3; ++l) {
      for (int side = 0; side < 2; ++side) {
        const auto* now = static_cast<const uint8_t*>(side == 0 ? kv.layer(l).k : kv.layer(l).v);
        const std::vector<uint8_t>& was = before[2 * l + side];
        // Every head's row of every slot (the layout puts them where
        // KvLayerView::row_offset says; the copy crosses a block boundary at 12).
        const kernels::KvLayerView view = kv.layer(l);
        const size_t row = view.head_bytes();
        size_t checked = 0;
        for (int64_t slot = 0; slot < kv.num_slots(); ++slot) {
          for (int h = 0; h < c.n_kv_heads; ++h) {
            const size_t at = view.row_offset(slot, h);
            const size_t from = slot >= 10 && slot < 13 ? view.row_offset(slot - 5, h) : at;
            for (size_t i = 0; i < row; ++i, ++checked) {
              ASSERT_EQ(now[at + i], was[from + i]) << kernels::kv_dtype_name(dtype) << " layer " << l << " side "
                                                    << side << " slot " << slot << " head " << h << " byte " << i;
            }
          }
        }
        ASSERT_EQ(checked, total);
      }
    }
  }
}

TEST(KvStorage, Q8_0IsRefusedWhenHeadDimIsNotAMultipleOf32) {
  const ModelConfig c = config_with_head_dim(48);
  try {
    KvStorage kv(c, 2, 4, kernels::Device::kCpu, KvDtype::kQ8_0);
    ADD_FAILURE() << "accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("head_dim is 48"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("use f16 or f32"), std::string::npos) << e.what();
  }
  EXPECT_NO_THROW(KvStorage(c, 2, 4, kernels::Device::kCpu, KvDtype::kF16));
}

}  // namespace
}  // namespace nucleus
