// A fixed pool of worker threads for the CPU kernels.
//
// Threads: the pool owns `num_threads - 1` workers, created in the constructor
// and joined in the destructor; nothing else creates threads in kernels/. The
// calling thread (the engine thread) takes part in every parallel_for, so a
// pool of 1 runs everything inline and creates no thread at all.
//
// Idle workers spin briefly (a few tens of microseconds, with `pause`) so that
// the back-to-back parallel_for calls of one decode step do not pay a futex
// wake-up each, then sleep on a condition variable: an idle server uses no CPU.
//
// Work is split into contiguous ranges of whole items (a few per thread) that
// threads claim from a shared counter, so a worker the OS has descheduled
// (a loaded machine) never holds up the caller: whoever is running takes the
// next range. An item is always computed entirely by one thread, with the
// same code whichever thread that is, so results never depend on the thread
// count or on who ran what.
// parallel_for may be called from several threads (calls are serialised) and
// from inside a running parallel_for (the nested call then runs inline).
// An exception thrown by fn is rethrown in the caller after all ranges finish.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace nucleus::kernels {

class ThreadPool {
 public:
  // num_threads <= 0 means one per hardware core.
  explicit ThreadPool(int num_threads = 0);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int num_threads() const { return static_cast<int>(workers_.size()) + 1; }

  // Calls fn(begin, end) on disjoint ranges covering [0, n), in parallel,
  // each range at least `grain` items (except the last); returns when all are done.
  void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn);

 private:
  void worker_loop(int index);
  // Runs range `chunk` of the current job; records the first exception.
  void run_chunk(int64_t chunk);
  // Claims and runs ranges of the current job until none is left.
  void claim_chunks();

  std::vector<std::thread> workers_;
  std::mutex call_mutex_;  // serialises parallel_for calls from different threads
  std::mutex mutex_;       // guards the job fields and the condition variables
  std::condition_variable work_ready_;
  std::condition_variable work_done_;
  const std::function<void(int64_t, int64_t)>* job_ = nullptr;
  int64_t job_n_ = 0;
  int64_t job_chunk_ = 0;
  int64_t job_chunks_ = 0;
  uint64_t generation_ = 0;
  std::atomic<uint64_t> published_generation_{0};  // mirrors generation_ for the spin phase
  std::atomic<int64_t> next_chunk_{0};             // the next range of the current job to claim
  std::atomic<int> active_{0};                     // workers inside the current job
  bool job_open_ = false;                          // workers may still join the current job
  std::exception_ptr error_;
  bool stopping_ = false;
};

}  // namespace nucleus::kernels
