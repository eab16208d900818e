// See thread_pool.h. The caller and the workers claim ranges of the current
// job from next_chunk_ until none is left.
#include "kernels/thread_pool.h"

#include <algorithm>
#include <stdexcept>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define NUCLEUS_CPU_RELAX() _mm_pause()
#else
#define NUCLEUS_CPU_RELAX() std::this_thread::yield()
#endif

namespace nucleus::kernels {
namespace {

// Spin iterations before sleeping: ~20-60 us depending on the cost of `pause`,
// longer than the gap between two ops of a decode step, far shorter than a
// human-visible idle period.
constexpr int kSpinIterations = 4000;

// Ranges per thread: enough that a late thread's share is picked up by the
// others, few enough that claiming costs nothing next to a range's work.
constexpr int64_t kChunksPerThread = 4;

// The pool whose job the current thread is running, to run nested calls inline.
thread_local const ThreadPool* t_running_pool = nullptr;

}  // namespace

ThreadPool::ThreadPool(int num_threads) {
  if (num_threads <= 0) num_threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  workers_.reserve(static_cast<size_t>(num_threads - 1));
  for (int i = 0; i < num_threads - 1; ++i) workers_.emplace_back([this, i] { worker_loop(i); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
    published_generation_.fetch_add(1, std::memory_order_release);
  }
  work_ready_.notify_all();
  for (std::thread& worker : workers_) worker.join();
}

void ThreadPool::run_chunk(int64_t chunk) {
  const int64_t begin = chunk * job_chunk_;
  const int64_t end = std::min(job_n_, begin + job_chunk_);
  if (begin >= end) return;
  try {
    (*job_)(begin, end);
  } catch (...) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!error_) error_ = std::current_exception();
  }
}

void ThreadPool::claim_chunks() {
  for (int64_t c = next_chunk_.fetch_add(1, std::memory_order_relaxed); c < job_chunks_;
       c = next_chunk_.fetch_add(1, std::memory_order_relaxed)) {
    run_chunk(c);
  }
}

void ThreadPool::parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn) {
  if (n <= 0) return;
  grain = std::max<int64_t>(grain, 1);
  const int64_t max_chunks = std::min<int64_t>(kChunksPerThread * num_threads(), (n + grain - 1) / grain);
  if (num_threads() <= 1 || max_chunks <= 1 || t_running_pool == this) {
    fn(0, n);
    return;
  }
  std::lock_guard<std::mutex> call_lock(call_mutex_);
  const int64_t chunk = std::max(grain, (n + max_chunks - 1) / max_chunks);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    job_ = &fn;
    job_n_ = n;
    job_chunk_ = chunk;
    job_chunks_ = (n + chunk - 1) / chunk;
    error_ = nullptr;
    next_chunk_.store(0, std::memory_order_relaxed);
    job_open_ = true;
    ++generation_;
    published_generation_.store(generation_, std::memory_order_release);
  }
  work_ready_.notify_all();

  const ThreadPool* outer = t_running_pool;
  t_running_pool = this;
  claim_chunks();
  t_running_pool = outer;

  // Every range is claimed; wait for the workers still running theirs. Spin
  // first (they usually finish within microseconds of us), then sleep. The
  // job closes under mutex_, so no worker can join it after this check.
  for (int i = 0; i < kSpinIterations && active_.load(std::memory_order_acquire) != 0; ++i) NUCLEUS_CPU_RELAX();
  std::exception_ptr error;
  {
    std::unique_lock<std::mutex> lock(mutex_);
    work_done_.wait(lock, [this] { return active_.load(std::memory_order_acquire) == 0; });
    job_open_ = false;
    job_ = nullptr;
    error = error_;
    error_ = nullptr;
  }
  if (error) std::rethrow_exception(error);
}

void ThreadPool::worker_loop(int /*index*/) {
  uint64_t seen = 0;
  t_running_pool = this;
  for (;;) {
    for (int i = 0; i < kSpinIterations && published_generation_.load(std::memory_order_acquire) == seen; ++i) {
      NUCLEUS_CPU_RELAX();
    }
    {
      std::unique_lock<std::mutex> lock(mutex_);
      work_ready_.wait(lock, [&] { return stopping_ || generation_ != seen; });
      if (stopping_) return;
      seen = generation_;
      if (!job_open_) continue;  // the caller already finished that job alone
      active_.fetch_add(1, std::memory_order_relaxed);
    }
    claim_chunks();
    bool last = false;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      last = active_.fetch_sub(1, std::memory_order_acq_rel) == 1;
    }
    if (last) work_done_.notify_one();
  }
}

}  // namespace nucleus::kernels
