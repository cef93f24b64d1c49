#pragma once
#include <cstdint>

namespace hearth::runtime {

// Measured memory read bandwidth in bytes per second with n_threads threads (0: physical cores):
// the best of several passes over a buffer much larger than the caches.
double measure_read_bandwidth(int n_threads, uint64_t buffer_bytes = 1ull << 30);

}  // namespace hearth::runtime
