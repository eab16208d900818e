// See thread_pool.h. Chunk 0 of every job runs on the calling thread, chunk
// i > 0 on worker i - 1, so a job of k chunks wakes at most k - 1 workers.
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

void ThreadPool::parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn) {
  if (n <= 0) return;
  grain = std::max<int64_t>(grain, 1);
  const int64_t max_chunks = std::min<int64_t>(num_threads(), (n + grain - 1) / grain);
  if (max_chunks <= 1 || t_running_pool == this) {
    fn(0, n);
    return;
  }
  std::lock_guard<std::mutex> call_lock(call_mutex_);
  const int64_t chunk = (n + max_chunks - 1) / max_chunks;
  const int64_t chunks = (n + chunk - 1) / chunk;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    job_ = &fn;
    job_n_ = n;
    job_chunk_ = chunk;
    job_chunks_ = chunks;
    error_ = nullptr;
    pending_.store(static_cast<int>(chunks - 1), std::memory_order_relaxed);
    ++generation_;
    published_generation_.store(generation_, std::memory_order_release);
  }
  work_ready_.notify_all();

  const ThreadPool* outer = t_running_pool;
  t_running_pool = this;
  run_chunk(0);
  t_running_pool = outer;

  // Wait for the workers: spin first (they usually finish within microseconds
  // of us), then sleep. pending_ only reaches 0 under mutex_ with a notify.
  for (int i = 0; i < kSpinIterations && pending_.load(std::memory_order_acquire) != 0; ++i) NUCLEUS_CPU_RELAX();
  std::exception_ptr error;
  {
    std::unique_lock<std::mutex> lock(mutex_);
    work_done_.wait(lock, [this] { return pending_.load(std::memory_order_acquire) == 0; });
    job_ = nullptr;
    error = error_;
    error_ = nullptr;
  }
  if (error) std::rethrow_exception(error);
}

void ThreadPool::worker_loop(int index) {
  const int64_t my_chunk = index + 1;
  uint64_t seen = 0;
  t_running_pool = this;
  for (;;) {
    for (int i = 0; i < kSpinIterations && published_generation_.load(std::memory_order_acquire) == seen; ++i) {
      NUCLEUS_CPU_RELAX();
    }
    int64_t chunks = 0;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      work_ready_.wait(lock, [&] { return stopping_ || generation_ != seen; });
      if (stopping_) return;
      seen = generation_;
      chunks = job_chunks_;
    }
    // job_ and its fields stay valid until pending_ reaches 0, which needs us.
    if (my_chunk >= chunks) continue;
    run_chunk(my_chunk);
    bool last = false;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      last = pending_.fetch_sub(1, std::memory_order_acq_rel) == 1;
    }
    if (last) work_done_.notify_one();
  }
}

}  // namespace nucleus::kernels
