// The index-array arena of the CUDA ops (kernels/cuda/int_arena.h) on a fake
// stream: copies and kernel reads are queued and run in order only when the
// "GPU" gets to them, possibly a whole step late, so a staging byte
// overwritten before its copy ran, or a lookup that returned another array's
// bytes, shows up as a kernel reading wrong values.
#include "kernels/cuda/int_arena.h"

#include <gtest/gtest.h>

#include <cstring>
#include <functional>
#include <random>
#include <vector>

namespace nucleus::kernels::cuda {
namespace {

class FakeStream final : public IntArenaMemory {
 public:
  void reallocate(int64_t capacity) override {
    EXPECT_TRUE(queue_.empty()) << "buffers replaced while work on them was queued";
    staging_.assign(static_cast<size_t>(capacity), -1);
    device_.assign(static_cast<size_t>(capacity), -7);
    ++reallocations;
  }
  int32_t* staging() override { return staging_.data(); }
  const int32_t* device() const override { return device_.data(); }
  void copy_to_device(int64_t begin, int64_t count) override {
    queue_.push_back([this, begin, count] {
      std::memcpy(device_.data() + begin, staging_.data() + begin, static_cast<size_t>(count) * sizeof(int32_t));
    });
  }
  void wait_copies() override {
    run();
    ++waits;
  }

  // A kernel reading `count` ints at `p` (a pointer place() returned), queued after the copies.
  void read(const int32_t* p, std::vector<int32_t> expected) {
    const int64_t offset = p - device_.data();
    queue_.push_back([this, offset, expected = std::move(expected)] {
      ASSERT_GE(offset, 0);
      ASSERT_LE(offset + static_cast<int64_t>(expected.size()), static_cast<int64_t>(device_.size()));
      for (size_t i = 0; i < expected.size(); ++i) {
        ASSERT_EQ(device_[static_cast<size_t>(offset) + i], expected[i]) << "element " << i;
        ++values_checked;
      }
    });
  }
  void run() {
    for (auto& op : queue_) op();
    queue_.clear();
  }

  int reallocations = 0, waits = 0;
  int64_t values_checked = 0;

 private:
  std::vector<int32_t> staging_, device_;
  std::vector<std::function<void()>> queue_;
};

std::vector<int32_t> random_ints(std::mt19937& rng, int64_t n, int32_t hi) {
  std::uniform_int_distribution<int32_t> dist(0, hi);
  std::vector<int32_t> v(static_cast<size_t>(n));
  for (int32_t& x : v) x = dist(rng);
  return v;
}

// 300 steps of a model with 6 layers: each layer uploads positions (rope),
// slot_mapping (write_kv), and token_seq, token_pos = positions and
// block_tables (attention), as ops_cuda.cu does. The GPU runs a step's queue
// only at the step's end (the sampler's copy back), so the arena must never
// overwrite staged bytes whose copy has not run. Batch sizes vary enough to
// force resets and growth.
TEST(IntArena, EveryKernelReadsItsOwnArraysAndAStepCopiesEachOnce) {
  FakeStream stream;
  IntArena arena(stream);
  std::mt19937 rng(7);
  std::uniform_int_distribution<int64_t> tokens(1, 3000), seqs(1, 40);
  int steps_with_reset = 0;
  for (int step = 0; step < 300; ++step) {
    const int64_t T = step % 50 == 49 ? 40000 : tokens(rng);  // now and then a batch larger than the arena
    const int64_t S = seqs(rng), max_blocks = 1 + T / 16;
    // Fresh vectors each step: the allocator may hand back the same addresses with new contents.
    const auto positions = random_ints(rng, T, 8000), slots = random_ints(rng, T, 100000);
    const auto token_seq = random_ints(rng, T, static_cast<int32_t>(S - 1));
    const auto tables = random_ints(rng, S * max_blocks, 5000);
    const int64_t copies_before = arena.copies();
    const int waits_before = stream.waits;
    int64_t copies_after_layer0 = 0;
    for (int layer = 0; layer < 6; ++layer) {
      const auto r = arena.place({{positions.data(), T}});
      stream.read(r[0], positions);
      const auto w = arena.place({{slots.data(), T}});
      stream.read(w[0], slots);
      const auto a = arena.place({{token_seq.data(), T}, {positions.data(), T}, {tables.data(), S * max_blocks}});
      stream.read(a[0], token_seq);
      stream.read(a[1], positions);
      stream.read(a[2], tables);
      if (layer == 0) copies_after_layer0 = arena.copies();
    }
    // A reset (full arena) in the middle of layer 0 forgets what it staged
    // before; otherwise a step copies at most 3 times, all in layer 0.
    if (stream.waits == waits_before) {
      EXPECT_LE(copies_after_layer0 - copies_before, 3) << "step " << step;
      EXPECT_EQ(arena.copies(), copies_after_layer0) << "later layers of step " << step << " copied again";
    } else {
      ++steps_with_reset;
    }
    stream.run();  // the step's sampler result: the GPU has caught up
    if (::testing::Test::HasFatalFailure()) return;
  }
  EXPECT_GT(stream.reallocations, 1);  // the large batches grew it
  EXPECT_LT(steps_with_reset, 60);
  EXPECT_GT(stream.values_checked, 300 * 6 * 3000);
}

// The same contents at another address are the same entry; other contents at
// the same address are not (what a cache keyed by address got wrong).
TEST(IntArena, ArraysAreFoundByContentsNotAddress) {
  FakeStream stream;
  IntArena arena(stream);
  std::vector<int32_t> a = {1, 2, 3}, b = {1, 2, 3};
  const auto first = arena.place({{a.data(), 3}});
  const auto again = arena.place({{b.data(), 3}});
  EXPECT_EQ(first[0], again[0]);
  EXPECT_EQ(arena.copies(), 1);
  a = {4, 5, 6};  // same address, new contents
  const auto changed = arena.place({{a.data(), 3}});
  EXPECT_NE(changed[0], first[0]);
  EXPECT_EQ(arena.copies(), 2);
  stream.read(first[0], {1, 2, 3});
  stream.read(changed[0], {4, 5, 6});
  const auto empty = arena.place({{nullptr, 0}, {a.data(), 3}});  // an empty part copies nothing
  EXPECT_EQ(empty[1], changed[0]);
  EXPECT_EQ(arena.copies(), 2);
  stream.run();
}

// Past kMaxEntries distinct arrays the arena starts again (lookups stay short),
// after waiting for the copies still reading staging.
TEST(IntArena, ManyDistinctArraysResetAfterWaiting) {
  FakeStream stream;
  IntArena arena(stream);
  std::vector<std::vector<int32_t>> arrays;
  for (int i = 0; i < 3 * IntArena::kMaxEntries; ++i) arrays.push_back({i, i + 1});
  for (const auto& v : arrays) stream.read(arena.place({{v.data(), 2}})[0], v);
  stream.run();
  EXPECT_EQ(arena.copies(), 3 * IntArena::kMaxEntries);
  EXPECT_EQ(stream.reallocations, 1);  // resets reuse the buffers
}

}  // namespace
}  // namespace nucleus::kernels::cuda
