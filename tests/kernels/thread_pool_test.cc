// ThreadPool: coverage and shape of the ranges, inline cases, exceptions,
// nesting, concurrent callers, and many rapid calls (lost wake-ups would hang).
#include "kernels/thread_pool.h"

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <mutex>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

namespace nucleus::kernels {
namespace {

struct Range {
  int64_t begin, end;
  std::thread::id thread;
};

std::vector<Range> record(ThreadPool& pool, int64_t n, int64_t grain) {
  std::mutex m;
  std::vector<Range> ranges;
  pool.parallel_for(n, grain, [&](int64_t b, int64_t e) {
    std::lock_guard<std::mutex> lock(m);
    ranges.push_back({b, e, std::this_thread::get_id()});
  });
  std::sort(ranges.begin(), ranges.end(), [](const Range& a, const Range& b) { return a.begin < b.begin; });
  return ranges;
}

TEST(ThreadPoolTest, RangesAreContiguousDisjointAndCoverAll) {
  for (int threads : {1, 2, 3, 5}) {
    ThreadPool pool(threads);
    EXPECT_EQ(pool.num_threads(), threads);
    for (int64_t n : {1, 2, 3, 7, 64, 1000, 1001}) {
      for (int64_t grain : {1, 3, 100}) {
        const auto ranges = record(pool, n, grain);
        ASSERT_FALSE(ranges.empty());
        EXPECT_EQ(ranges.front().begin, 0);
        EXPECT_EQ(ranges.back().end, n);
        EXPECT_LE(static_cast<int>(ranges.size()), 4 * threads);  // a few ranges per thread, claimed dynamically
        for (size_t i = 0; i < ranges.size(); ++i) {
          EXPECT_LT(ranges[i].begin, ranges[i].end);
          if (i + 1 < ranges.size()) {
            EXPECT_EQ(ranges[i].end, ranges[i + 1].begin);
            EXPECT_GE(ranges[i].end - ranges[i].begin, grain) << "n=" << n << " grain=" << grain;
          }
        }
      }
    }
  }
}

TEST(ThreadPoolTest, UsesSeveralThreadsAndIncludesTheCaller) {
  // Ranges are claimed dynamically, so a fast caller may run them all; make
  // each range wait (up to 5 s) until three different threads have started one.
  ThreadPool pool(3);
  std::mutex mutex;
  std::condition_variable all_in;
  std::set<std::thread::id> ids;
  pool.parallel_for(3000, 1, [&](int64_t, int64_t) {
    std::unique_lock<std::mutex> lock(mutex);
    ids.insert(std::this_thread::get_id());
    all_in.notify_all();
    all_in.wait_for(lock, std::chrono::seconds(5), [&] { return ids.size() >= 3; });
  });
  EXPECT_EQ(ids.size(), 3u);
  EXPECT_TRUE(ids.count(std::this_thread::get_id()));
}

TEST(ThreadPoolTest, SingleThreadPoolAndSmallJobsRunInline) {
  ThreadPool one(1);
  auto ranges = record(one, 100, 1);
  ASSERT_EQ(ranges.size(), 1u);
  EXPECT_EQ(ranges[0].thread, std::this_thread::get_id());
  ThreadPool two(2);
  ranges = record(two, 10, 10);  // one grain: no hand-off
  ASSERT_EQ(ranges.size(), 1u);
  EXPECT_EQ(ranges[0].thread, std::this_thread::get_id());
}

TEST(ThreadPoolTest, EmptyRangeCallsNothing) {
  ThreadPool pool(2);
  bool called = false;
  pool.parallel_for(0, 1, [&](int64_t, int64_t) { called = true; });
  pool.parallel_for(-5, 1, [&](int64_t, int64_t) { called = true; });
  EXPECT_FALSE(called);
}

TEST(ThreadPoolTest, ExceptionFromAnyRangeReachesTheCaller) {
  ThreadPool pool(3);
  for (int64_t bad : {0, 1500, 2999}) {
    std::atomic<int64_t> done{0};
    std::atomic<int64_t> failed{0};
    EXPECT_THROW(pool.parallel_for(3000, 1,
                                   [&](int64_t b, int64_t e) {
                                     if (b <= bad && bad < e) {
                                       failed = e - b;
                                       throw std::runtime_error("boom");
                                     }
                                     done += e - b;
                                   }),
                 std::runtime_error);
    EXPECT_GT(failed.load(), 0);
    EXPECT_EQ(done.load(), 3000 - failed.load());  // the other ranges still ran to completion
  }
  // The pool still works afterwards.
  std::atomic<int64_t> sum{0};
  pool.parallel_for(100, 1, [&](int64_t b, int64_t e) { sum += e - b; });
  EXPECT_EQ(sum.load(), 100);
}

TEST(ThreadPoolTest, NestedCallRunsInline) {
  ThreadPool pool(2);
  std::atomic<int64_t> sum{0};
  pool.parallel_for(4, 1, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      pool.parallel_for(10, 1, [&](int64_t ib, int64_t ie) { sum += ie - ib; });
    }
  });
  EXPECT_EQ(sum.load(), 40);
}

TEST(ThreadPoolTest, ConcurrentCallersAreSerialisedCorrectly) {
  ThreadPool pool(3);
  std::atomic<int64_t> total{0};
  std::vector<std::thread> callers;
  for (int c = 0; c < 3; ++c) {
    callers.emplace_back([&] {
      for (int i = 0; i < 200; ++i) {
        std::vector<int> hits(97, 0);
        pool.parallel_for(97, 1, [&](int64_t b, int64_t e) {
          for (int64_t k = b; k < e; ++k) ++hits[k];
        });
        for (int h : hits) total += h == 1 ? 1 : 1000000;
      }
    });
  }
  for (std::thread& t : callers) t.join();
  EXPECT_EQ(total.load(), 3 * 200 * 97);
}

TEST(ThreadPoolTest, ManyCallsWithSleepsBetweenDoNotLoseWakeups) {
  ThreadPool pool(3);
  int64_t expected = 0;
  std::atomic<int64_t> sum{0};
  for (int i = 0; i < 3000; ++i) {
    // Every so often let the workers fall asleep on the condition variable.
    if (i % 500 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    const int64_t n = 1 + i % 17;
    pool.parallel_for(n, 1, [&](int64_t b, int64_t e) { sum += e - b; });
    expected += n;
  }
  EXPECT_EQ(sum.load(), expected);
}

TEST(ThreadPoolTest, DefaultSizeIsTheCoreCount) {
  ThreadPool pool;
  EXPECT_EQ(pool.num_threads(), static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
}

}  // namespace
}  // namespace nucleus::kernels
