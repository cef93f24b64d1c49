#pragma once
#include <atomic>
#include <cstdint>
#include <functional>
#include <thread>
#include <vector>

namespace hearth {

// One persistent pool of worker threads. `run(fn)` calls fn(ith, nth) on every thread (the caller is
// thread 0) and returns when all are done. Workers spin briefly between jobs, then sleep on a futex
// (std::atomic::wait), so back-to-back ops resume at once and an idle pool costs nothing.
class ThreadPool {
 public:
  explicit ThreadPool(int n_threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return n_threads_; }
  // fn must not throw.
  void run(const std::function<void(int ith, int nth)>& fn);
  // Split [0, n) into contiguous chunks, one per thread.
  void parallel_for(int64_t n, const std::function<void(int64_t begin, int64_t end)>& fn);

 private:
  void worker(int ith);
  int n_threads_;
  std::vector<std::thread> threads_;
  const std::function<void(int, int)>* job_ = nullptr;
  std::atomic<uint32_t> generation_{0};
  std::atomic<int> pending_{0};
  std::atomic<bool> stop_{false};
};

// Number of physical cores (never more threads than that by default).
int physical_cores();

}  // namespace hearth
