// Kernel throughput per weight type and kernel table (single thread):
//  - tg/<table>/<type>: token generation, vec_dot of one activation row against a 4096 x 4096 weight
//    matrix streamed once per iteration; bytes_per_second counts weight bytes.
//  - pp/<table>/<type>: prompt processing, dot_tile (or vec_dot where a table has no tile) of 512
//    activation rows against 256 weight rows of length 4096, called like the CPU backend's matmul
//    (64 x 64 blocks, one tile_rows x tile_cols tile per call); reports GMAC/s.
//  - dec/<table>/<type>/<cols>: batched decoding, dot_rows of 1, 2, 4 or 8 activation rows (rows/s).
//  - pk/<table>/<type>/<cols>: the same through dot_packed on packed weights, for the types the table
//    has packed kernels for (what a loaded model uses for them).
//  - quant/<table>/<act>: from_float of one 4096-element activation row.
// Run e.g. `kernels_bench --benchmark_filter='tg/.*/Q4_K'`; HEARTH_BENCH_BIG=1 adds tg on a 16384 x
// 4096 matrix (larger than most L3 caches: the memory-bandwidth figure). On a shared machine add
// --benchmark_repetitions=3 --benchmark_report_aggregates_only=true and read the "_min" CPU times.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "kernels/kernels.h"
#include "tensor/types.h"

namespace {

using hearth::tensor::Type;
namespace ht = hearth::tensor;
namespace hk = hearth::kernels;

const Type kTypes[] = {Type::F32,  Type::F16,  Type::BF16, Type::Q4_0,   Type::Q4_1,
                       Type::Q5_0, Type::Q5_1, Type::Q8_0, Type::Q2_K,   Type::Q3_K,
                       Type::Q4_K, Type::Q5_K, Type::Q6_K, Type::IQ4_NL, Type::IQ4_XS};

constexpr int64_t kK = 4096;

// 64-byte aligned byte buffer.
struct Buffer {
  explicit Buffer(size_t n) : size(n), p(static_cast<uint8_t*>(std::aligned_alloc(64, (n + 63) / 64 * 64))) {}
  ~Buffer() { std::free(p); }
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  size_t size;
  uint8_t* p;
};

std::vector<float> gaussian(int64_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::vector<float> v(static_cast<size_t>(n));
  for (auto& x : v) x = nd(rng);
  return v;
}

// `rows` weight rows of type t (a few distinct quantized rows repeated: quantizing 16M floats with
// the reference quantizers would dominate the run time).
std::unique_ptr<Buffer> make_weights(Type t, int64_t rows) {
  const uint64_t rs = ht::row_size(t, kK);
  auto w = std::make_unique<Buffer>(rs * rows);
  constexpr int kDistinct = 16;
  for (int r = 0; r < kDistinct && r < rows; ++r) {
    const auto f = gaussian(kK, 100 + r);
    ht::quantize_row(t, f.data(), w->p + r * rs, kK);
  }
  for (int64_t r = kDistinct; r < rows; ++r) std::memcpy(w->p + r * rs, w->p + (r % kDistinct) * rs, rs);
  return w;
}

std::unique_ptr<Buffer> make_acts(const hk::TypeKernels& k, int64_t cols) {
  const uint64_t xs = ht::row_size(k.act_type, kK);
  auto x = std::make_unique<Buffer>(xs * cols);
  const auto f = gaussian(kK * cols, 7);
  for (int64_t c = 0; c < cols; ++c) k.from_float(f.data() + c * kK, x->p + c * xs, kK);
  return x;
}

void bench_tg(benchmark::State& state, const hk::KernelTable* table, Type t, int64_t rows) {
  const hk::TypeKernels& k = table->types[static_cast<uint32_t>(t)];
  const auto w = make_weights(t, rows);
  const auto x = make_acts(k, 1);
  const uint64_t rs = ht::row_size(t, kK);
  std::vector<float> out(static_cast<size_t>(rows));
  for (auto _ : state) {
    for (int64_t r = 0; r < rows; ++r) out[r] = k.vec_dot(kK, w->p + r * rs, x->p);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(rs * rows));
}

void bench_pp(benchmark::State& state, const hk::KernelTable* table, Type t) {
  const hk::TypeKernels& k = table->types[static_cast<uint32_t>(t)];
  constexpr int64_t kRows = 256, kCols = 512, kColBlock = 64, kRowBlock = 64;
  const auto w = make_weights(t, kRows);
  const auto x = make_acts(k, kCols);
  const uint64_t rs = ht::row_size(t, kK), xs = ht::row_size(k.act_type, kK);
  std::vector<float> out(static_cast<size_t>(kRows * kCols));
  // The CPU backend's matmul loop: column blocks, row blocks, then one tile per call.
  for (auto _ : state) {
    for (int64_t cb = 0; cb < kCols; cb += kColBlock) {
      for (int64_t rb = 0; rb < kRows; rb += kRowBlock) {
        if (k.dot_tile) {
          for (int64_t r = rb; r < rb + kRowBlock; r += k.tile_rows) {
            const int nr = static_cast<int>(std::min<int64_t>(k.tile_rows, rb + kRowBlock - r));
            for (int64_t c = cb; c < cb + kColBlock; c += k.tile_cols) {
              const int nc = static_cast<int>(std::min<int64_t>(k.tile_cols, cb + kColBlock - c));
              k.dot_tile(kK, nr, nc, w->p + r * rs, rs, x->p + c * xs, xs, out.data() + c * kRows + r, kRows);
            }
          }
        } else {
          for (int64_t c = cb; c < cb + kColBlock; ++c)
            for (int64_t r = rb; r < rb + kRowBlock; ++r)
              out[c * kRows + r] = k.vec_dot(kK, w->p + r * rs, x->p + c * xs);
        }
      }
    }
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  const double macs = static_cast<double>(kRows) * kCols * kK;
  state.counters["GMAC/s"] =
      benchmark::Counter(macs * static_cast<double>(state.iterations()) * 1e-9, benchmark::Counter::kIsRate);
}

// Batched decoding: dot_rows (one-row arithmetic, bit-identical to vec_dot) of `cols` activation rows
// against a 4096 x 4096 weight, reported as "rows/s": activation rows through the whole matrix per
// second (cols = 1 is plain vec_dot: the gain of batching is rows/s over that). `packed`: the same
// through dot_packed on the weights packed as a loaded model's are ("pk/<table>/<type>/<cols>").
void bench_dec(benchmark::State& state, const hk::KernelTable* table, Type t, int cols, bool packed) {
  const hk::TypeKernels& k = table->types[static_cast<uint32_t>(t)];
  const int64_t rows = std::getenv("HEARTH_BENCH_BIG") ? 4 * kK : kK;
  const auto w = make_weights(t, rows);
  const auto x = make_acts(k, cols);
  const uint64_t rs = ht::row_size(t, kK), xs = ht::row_size(k.act_type, kK);
  const uint64_t gs = packed ? hk::packed_group_bytes(t, kK) : 0;
  Buffer pw(gs * static_cast<uint64_t>(rows / hk::kPackRows));
  for (int64_t g = 0; packed && g < rows / hk::kPackRows; ++g)
    hk::pack_group(t, kK, w->p + g * hk::kPackRows * rs, rs, pw.p + g * gs);
  std::vector<float> out(static_cast<size_t>(rows * cols));
  for (auto _ : state) {
    if (packed) {
      k.dot_packed(kK, static_cast<int>(rows), cols, pw.p, gs, x->p, xs, out.data(), rows);
    } else if (k.dot_rows && cols > 1) {
      k.dot_rows(kK, static_cast<int>(rows), cols, w->p, rs, x->p, xs, out.data(), rows);
    } else {
      for (int64_t r = 0; r < rows; ++r)
        for (int c = 0; c < cols; ++c) out[c * rows + r] = k.vec_dot(kK, w->p + r * rs, x->p + c * xs);
    }
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.counters["rows/s"] = benchmark::Counter(
      static_cast<double>(cols) * static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}

void bench_quant(benchmark::State& state, const hk::KernelTable* table, Type user) {
  const hk::TypeKernels& k = table->types[static_cast<uint32_t>(user)];
  const auto f = gaussian(kK, 3);
  std::vector<uint8_t> y(ht::row_size(k.act_type, kK));
  for (auto _ : state) {
    k.from_float(f.data(), y.data(), kK);
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * kK * 4);
}

// The fastest repetition: on a shared machine the minimum is the figure that reflects the kernel.
double min_of(const std::vector<double>& v) {
  return v.empty() ? 0.0 : *std::min_element(v.begin(), v.end());
}

int register_all() {
  const bool big = std::getenv("HEARTH_BENCH_BIG") != nullptr;
  for (const hk::KernelTable* table : hk::available()) {
    const bool scalar = table->name == "scalar";
    for (Type t : kTypes) {
      if (!table->types[static_cast<uint32_t>(t)].vec_dot) continue;
      const std::string suffix = table->name + "/" + ht::type_name(t);
      benchmark::RegisterBenchmark(("tg/" + suffix).c_str(), bench_tg, table, t, kK)
          ->Unit(benchmark::kMillisecond)
          ->ComputeStatistics("min", min_of);
      if (big) {
        benchmark::RegisterBenchmark(("tg_big/" + suffix).c_str(), bench_tg, table, t, 4 * kK)
            ->Unit(benchmark::kMillisecond)
            ->ComputeStatistics("min", min_of);
      }
      if (!scalar) {
        const bool has_packed = table->types[static_cast<uint32_t>(t)].dot_packed != nullptr;
        for (bool packed : {false, true}) {
          if (packed && !has_packed) continue;
          for (int cols : {1, 2, 4, 8})
            benchmark::RegisterBenchmark(
                ((packed ? "pk/" : "dec/") + suffix + "/" + std::to_string(cols)).c_str(), bench_dec, table,
                t, cols, packed)
                ->Unit(benchmark::kMillisecond)
                ->ComputeStatistics("min", min_of);
        }
      }
      // The scalar reference is far too slow for 0.5 G multiply-adds per iteration.
      if (!scalar)
        benchmark::RegisterBenchmark(("pp/" + suffix).c_str(), bench_pp, table, t)
            ->Unit(benchmark::kMillisecond)
            ->ComputeStatistics("min", min_of);
    }
    const Type users[] = {Type::Q4_0, Type::Q4_1, Type::Q4_K};
    for (Type u : users) {
      const Type act = table->types[static_cast<uint32_t>(u)].act_type;
      benchmark::RegisterBenchmark(("quant/" + table->name + "/" + ht::type_name(act)).c_str(), bench_quant,
                                   table, u)
          ->Unit(benchmark::kMicrosecond)
          ->ComputeStatistics("min", min_of);
    }
  }
  return 0;
}

[[maybe_unused]] const int registered = register_all();

}  // namespace
