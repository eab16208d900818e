// How the ops' host index arrays (positions, slot_mapping, token_seq,
// block_tables, penalty rows and ids) reach the device without a host
// synchronisation or an allocation per call. Host code only (no CUDA
// header), so the CPU tests run the bookkeeping on a fake memory.
//
// The arena is a pinned host staging buffer and a device buffer of the same
// size, filled from the front: an array is written to staging at the next
// free offset and one asynchronous copy per call moves the new bytes to the
// same offset on the device, queued on the stream before the kernel that
// reads them. Arrays already in the arena are found by their CONTENTS (the
// bytes still in staging), not by host address: the 4 ops of each layer pass
// the same step arrays, so a step copies each distinct array once, and a
// lookup can never return stale data, since an entry's bytes are exactly what
// its device copy holds. Staged bytes are only overwritten after a reset,
// which first waits for the copies out of staging to finish (on a full arena,
// or more than kMaxEntries arrays; normally the previous step's sampler copy
// has long drained the stream by then). The device side needs no wait: a
// later copy into it is queued behind the kernels that read the old bytes.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <utility>
#include <vector>

namespace nucleus::kernels::cuda {

// The memory behind an IntArena.
class IntArenaMemory {
 public:
  virtual ~IntArenaMemory() = default;
  // Staging and device buffers of `capacity` ints each, contents dropped
  // (called only after wait_copies()).
  virtual void reallocate(int64_t capacity) = 0;
  virtual int32_t* staging() = 0;
  virtual const int32_t* device() const = 0;
  // Queues a copy of staging[begin, begin + count) to device[begin, ...).
  virtual void copy_to_device(int64_t begin, int64_t count) = 0;
  // Returns once every queued copy has read its staging bytes.
  virtual void wait_copies() = 0;
};

class IntArena {
 public:
  static constexpr int kMaxEntries = 64;  // arrays looked up by content before a reset
  static constexpr int64_t kMinCapacity = 1 << 16;

  explicit IntArena(IntArenaMemory& memory) : memory_(memory) {}

  // Device copies of the given host arrays (pointer, count), in order. Counts
  // of 0 give a valid, unread pointer.
  std::vector<const int32_t*> place(std::initializer_list<std::pair<const int32_t*, int64_t>> parts) {
    std::vector<int64_t> offsets(parts.size(), -1);
    int64_t missing = 0, total = 0;
    size_t i = 0;
    for (const auto& [host, count] : parts) {
      offsets[i] = find(host, count);
      if (offsets[i] < 0) missing += count;
      total += count;
      ++i;
    }
    const bool too_many = entries_.size() + parts.size() > static_cast<size_t>(kMaxEntries);
    if (missing > 0 && (used_ + missing > capacity_ || too_many)) {
      reset(total);                                   // every part is staged again after a reset
      std::fill(offsets.begin(), offsets.end(), -1);  // a reset forgets every entry
    }
    const int64_t copy_begin = used_;
    i = 0;
    for (const auto& [host, count] : parts) {
      if (offsets[i] < 0) offsets[i] = find(host, count);  // an earlier part of this call may hold it
      if (offsets[i] < 0) {
        offsets[i] = used_;
        if (count > 0) std::memcpy(memory_.staging() + used_, host, static_cast<size_t>(count) * sizeof(int32_t));
        entries_.push_back({used_, count});
        used_ += count;
      }
      ++i;
    }
    if (used_ > copy_begin) {
      memory_.copy_to_device(copy_begin, used_ - copy_begin);
      ++copies_;
    }
    std::vector<const int32_t*> out(offsets.size());
    for (size_t j = 0; j < offsets.size(); ++j) out[j] = memory_.device() + offsets[j];
    return out;
  }

  int64_t copies() const { return copies_; }      // copies queued so far
  int64_t capacity() const { return capacity_; }  // ints

 private:
  struct Entry {
    int64_t offset, count;
  };

  int64_t find(const int32_t* host, int64_t count) const {
    if (count == 0) return used_;
    for (const Entry& e : entries_) {
      if (e.count == count &&
          std::memcmp(memory_.staging() + e.offset, host, static_cast<size_t>(count) * sizeof(int32_t)) == 0) {
        return e.offset;
      }
    }
    return -1;
  }

  void reset(int64_t needed) {
    memory_.wait_copies();  // staging is about to be overwritten
    entries_.clear();
    used_ = 0;
    if (needed > capacity_ || capacity_ == 0) {
      int64_t capacity = std::max(capacity_, kMinCapacity);
      while (capacity < needed) capacity *= 2;
      memory_.reallocate(capacity);
      capacity_ = capacity;
    }
  }

  IntArenaMemory& memory_;
  std::vector<Entry> entries_;
  int64_t used_ = 0, capacity_ = 0, copies_ = 0;
};

}  // namespace nucleus::kernels::cuda
