#include "runtime/hw.h"

#include <sys/mman.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <vector>

#include "base/error.h"
#include "base/thread_pool.h"

namespace hearth::runtime {

namespace {
// Sum 64-bit words; eight independent accumulators let the compiler vectorize and pipeline loads.
uint64_t sum_words(const uint64_t* p, size_t n) {
  uint64_t a[8] = {};
  size_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int j = 0; j < 8; ++j) a[j] += p[i + j];
  for (; i < n; ++i) a[0] += p[i];
  uint64_t s = 0;
  for (uint64_t v : a) s += v;
  return s;
}
}  // namespace

double measure_read_bandwidth(int n_threads, uint64_t bytes) {
  ThreadPool pool(n_threads > 0 ? n_threads : physical_cores());
  const size_t words = bytes / sizeof(uint64_t);
  void* mem = ::mmap(nullptr, words * sizeof(uint64_t), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) fail("cannot allocate {} bytes to measure memory bandwidth", bytes);
  ::madvise(mem, words * sizeof(uint64_t), MADV_HUGEPAGE);
  auto* buf = static_cast<uint64_t*>(mem);
  // Touch every page from the threads that will read it.
  pool.parallel_for(static_cast<int64_t>(words), [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) buf[i] = static_cast<uint64_t>(i);
  });
  std::vector<uint64_t> sink(pool.size());
  double best = 0;
  for (int pass = 0; pass < 5; ++pass) {
    const auto t0 = std::chrono::steady_clock::now();
    pool.run([&](int ith, int nth) {
      const size_t chunk = (words + nth - 1) / nth;
      const size_t b = std::min(words, ith * chunk), e = std::min(words, b + chunk);
      sink[ith] += sum_words(buf + b, e - b);
    });
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    best = std::max(best, static_cast<double>(words * sizeof(uint64_t)) / s);
  }
  ::munmap(mem, words * sizeof(uint64_t));
  volatile uint64_t keep = 0;
  for (auto v : sink) keep = keep + v;
  (void)keep;
  return best;
}

}  // namespace hearth::runtime
