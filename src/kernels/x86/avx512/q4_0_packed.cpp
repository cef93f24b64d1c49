// AVX-512 VNNI kernel of packed Q4_0 weights (kernels/pack_layout.h) against Q8_0 activations: lane r of
// every vector is weight row r of a 16-row group, so one vpdpbusd with a broadcast activation dword serves
// 16 rows. Per 32-element block and row: the exact integer sum of u * x (u = the 4-bit quant, 0..15) minus
// 8 times the activation block's sum (value = u - 8), then acc = fma(sum, d * dx, acc). Every output gets
// the same float steps whatever the number of columns (batch invariance); the result is close to, not
// bit-identical with, vec_dot (whose lanes sum in another order).
#include <vector>

#include "kernels/pack_layout.h"
#include "kernels/x86/avx512/avx512.h"
#include "kernels/x86/avx512/common.h"

namespace hearth::kernels::avx512 {
namespace {

using tensor::BlockQ8_0;
using L = packed::Q4_0;

inline __m512i bcast(const void* p) { return _mm512_set1_epi32(load_as<int32_t>(p)); }

// Sum of the 32 int8 activations of every block of nc rows, row c at xsum[c * nb + i].
void block_sums(const uint8_t* x, uint64_t xs, int nc, int64_t nb, int32_t* xsum) {
  const __m256i ones = _mm256_set1_epi8(1);
  for (int c = 0; c < nc; ++c)
    for (int64_t i = 0; i < nb; ++i) {
      const auto* xb = reinterpret_cast<const BlockQ8_0*>(x + c * xs) + i;
      const __m256i s = _mm256_madd_epi16(_mm256_maddubs_epi16(ones, load256(xb->qs)), _mm256_set1_epi16(1));
      const __m128i h = _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
      const __m128i q = _mm_add_epi32(h, _mm_unpackhi_epi64(h, h));
      xsum[c * nb + i] = _mm_cvtsi128_si32(_mm_add_epi32(q, _mm_shuffle_epi32(q, 1)));
    }
}

template <int NC>
void run(int64_t units, const uint8_t* w, const uint8_t* x, uint64_t xs, const int32_t* xsum, int64_t nb,
         float* out, int64_t os) {
  constexpr int kAhead = 4;  // units of software prefetch (one stream, but the prefetcher alone lags)
  __m512 acc[NC];
  for (int c = 0; c < NC; ++c) acc[c] = _mm512_setzero_ps();
  const __m512i m4 = _mm512_set1_epi8(0x0F);
  for (int64_t i = 0; i < units; ++i) {
    const uint8_t* p = w + i * L::kBytes;
    for (uint64_t o = 0; o < L::kBytes; o += 64)
      _mm_prefetch(reinterpret_cast<const char*>(p + kAhead * L::kBytes + o), _MM_HINT_T0);
    for (int b = 0; b < 2; ++b) {
      const __m512 d = _mm512_cvtph_ps(load256(p + 32 * b));
      __m512i lo[4], hi[4];
      for (int k = 0; k < 4; ++k) {
        const __m512i z = load512(p + L::kQuants + 64 * (4 * b + k));
        lo[k] = _mm512_and_si512(z, m4);
        hi[k] = _mm512_and_si512(_mm512_srli_epi16(z, 4), m4);
      }
      const int64_t blk = 2 * i + b;
#pragma GCC unroll 8
      for (int c = 0; c < NC; ++c) {
        const auto* xb = reinterpret_cast<const BlockQ8_0*>(x + c * xs) + blk;
        __m512i s0 = _mm512_set1_epi32(-8 * xsum[c * nb + blk]), s1 = _mm512_setzero_si512();
#pragma GCC unroll 4
        for (int k = 0; k < 4; ++k) {
          s0 = _mm512_dpbusd_epi32(s0, lo[k], bcast(xb->qs + 4 * k));
          s1 = _mm512_dpbusd_epi32(s1, hi[k], bcast(xb->qs + 16 + 4 * k));
        }
        const __m512 dx = _mm512_set1_ps(f16(xb->d));
        acc[c] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_add_epi32(s0, s1)), _mm512_mul_ps(d, dx), acc[c]);
      }
    }
  }
  for (int c = 0; c < NC; ++c) _mm512_storeu_ps(out + c * os, acc[c]);
}

// The columns of one 16-row group in blocks of 4, 2, 1.
void group(int64_t units, const uint8_t* w, const uint8_t* x, uint64_t xs, const int32_t* xsum, int64_t nb,
           int nc, float* out, int64_t os) {
  int c = 0;
  for (; c + 4 <= nc; c += 4) run<4>(units, w, x + c * xs, xs, xsum + c * nb, nb, out + c * os, os);
  if (c + 2 <= nc) {
    run<2>(units, w, x + c * xs, xs, xsum + c * nb, nb, out + c * os, os);
    c += 2;
  }
  if (c < nc) run<1>(units, w, x + c * xs, xs, xsum + c * nb, nb, out + c * os, os);
}

}  // namespace

void dot_packed_q4_0(int64_t n, int nr, int nc, const void* w, uint64_t ws, const void* x, uint64_t xs,
                     float* out, int64_t os) {
  const int64_t nb = n / 32, units = n / L::kElements;
  thread_local std::vector<int32_t> xsum;
  if (xsum.size() < static_cast<size_t>(nc * nb)) xsum.resize(static_cast<size_t>(nc * nb));
  const auto* xp = static_cast<const uint8_t*>(x);
  block_sums(xp, xs, nc, nb, xsum.data());
  const auto* wb = static_cast<const uint8_t*>(w);
  for (int g = 0; g < nr / kPackRows; ++g)
    group(units, wb + g * ws, xp, xs, xsum.data(), nb, nc, out + kPackRows * g, os);
}

}  // namespace hearth::kernels::avx512
