// AVX-512 kernels: helpers shared by the files of this folder only (compiled with the AVX-512 flags).
// Everything here has internal linkage so no AVX-512 code can be merged into a baseline translation
// unit by the linker; never include this header outside x86/avx512/.
#pragma once
// GCC 12 reports its own _mm256_undefined_* (used by the 512-bit extracts) as (maybe) uninitialized.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop

#include <cstdint>
#include <cstring>

#include "kernels/tile_driver.h"
#include "tensor/blocks.h"

namespace hearth::kernels::avx512 {
namespace {

using tensor::half;

inline float f16(half h) { return _cvtsh_ss(h); }

template <class T>
inline T load_as(const void* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

inline __m512i load512(const void* p) { return _mm512_loadu_si512(p); }
inline __m256i load256(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }
inline __m128i load128(const void* p) { return _mm_loadu_si128(static_cast<const __m128i*>(p)); }

// Two 32-byte rows (a in the low half, b in the high half).
inline __m512i load2x256(const void* a, const void* b) {
  return _mm512_inserti64x4(_mm512_castsi256_si512(load256(a)), load256(b), 1);
}

// Two 16-byte nibble arrays a, b (32 elements each: low nibbles first, then high nibbles) as 64
// unsigned bytes [a & 15, a >> 4, b & 15, b >> 4].
inline __m512i nibbles2x128(const void* a, const void* b) {
  const __m256i q = _mm256_inserti128_si256(_mm256_castsi128_si256(load128(a)), load128(b), 1);
  const __m512i z =
      _mm512_permutexvar_epi64(_mm512_setr_epi64(0, 1, 0, 1, 2, 3, 2, 3), _mm512_castsi256_si512(q));
  return _mm512_and_si512(_mm512_srlv_epi64(z, _mm512_setr_epi64(0, 0, 4, 4, 0, 0, 4, 4)),
                          _mm512_set1_epi8(0x0F));
}

// One 16-byte nibble array as 32 unsigned bytes [a & 15, a >> 4] in the low half, zero above.
inline __m512i nibbles1x128(const void* a) {
  const __m128i q = load128(a);
  const __m256i y = _mm256_inserti128_si256(_mm256_castsi128_si256(q), _mm_srli_epi16(q, 4), 1);
  return _mm512_zextsi256_si512(_mm256_and_si256(y, _mm256_set1_epi8(0x0F)));
}

// 32 bytes of packed nibbles as 64 unsigned bytes [q & 15 (32), q >> 4 (32)].
inline __m512i nibbles256(const void* p) {
  const __m512i z = _mm512_broadcast_i64x4(load256(p));
  return _mm512_and_si512(_mm512_srlv_epi64(z, _mm512_setr_epi64(0, 0, 0, 0, 4, 4, 4, 4)),
                          _mm512_set1_epi8(0x0F));
}

// The two fp16 values at the start of blocks p0 and p1 (their first 4 bytes) as floats
// [a0, b0, a1, b1]; head1 gives [a0, b0, 0, 0].
inline __m128 head2(const void* p0, const void* p1) {
  return _mm_cvtph_ps(_mm_insert_epi32(_mm_cvtsi32_si128(load_as<int>(p0)), load_as<int>(p1), 1));
}
inline __m128 head1(const void* p0) { return _mm_cvtph_ps(_mm_cvtsi32_si128(load_as<int>(p0))); }
// [v[i] x 8, v[i + 2] x 8] for i = 0 (first halves) or 1 (second halves).
inline __m512 spread(__m128 v, int i) {
  const __m512i idx = _mm512_setr_epi32(0, 0, 0, 0, 0, 0, 0, 0, 2, 2, 2, 2, 2, 2, 2, 2);
  return _mm512_permutexvar_ps(_mm512_add_epi32(idx, _mm512_set1_epi32(i)), _mm512_castps128_ps512(v));
}
// [v[i], 0 x 7, v[i + 2], 0 x 7]: a per-block term added once per block.
inline __m512 spread_first(__m128 v, int i) {
  const __m512i idx = _mm512_setr_epi32(0, 0, 0, 0, 0, 0, 0, 0, 2, 2, 2, 2, 2, 2, 2, 2);
  return _mm512_maskz_permutexvar_ps(0x0101, _mm512_add_epi32(idx, _mm512_set1_epi32(i)),
                                     _mm512_castps128_ps512(v));
}

// ---- 16-row transposes: lane r of a vector belongs to weight row r ----

// 4 x 4 transpose of the dwords within each 128-bit lane.
inline void transpose4(__m512i& a, __m512i& b, __m512i& c, __m512i& d) {
  const __m512i t0 = _mm512_unpacklo_epi32(a, b), t1 = _mm512_unpackhi_epi32(a, b);
  const __m512i t2 = _mm512_unpacklo_epi32(c, d), t3 = _mm512_unpackhi_epi32(c, d);
  a = _mm512_unpacklo_epi64(t0, t2);
  b = _mm512_unpackhi_epi64(t0, t2);
  c = _mm512_unpacklo_epi64(t1, t3);
  d = _mm512_unpackhi_epi64(t1, t3);
}

// 16 bytes at p of rows 0..15 (rows ws apart) as Z[k] = dword k of every row (lane r = row r).
inline void rows16x16(const uint8_t* p, uint64_t ws, __m512i (&z)[4]) {
  for (int m = 0; m < 4; ++m) {
    __m512i v = _mm512_castsi128_si512(load128(p + m * ws));
    v = _mm512_inserti32x4(v, load128(p + (4 + m) * ws), 1);
    v = _mm512_inserti32x4(v, load128(p + (8 + m) * ws), 2);
    z[m] = _mm512_inserti32x4(v, load128(p + (12 + m) * ws), 3);
  }
  transpose4(z[0], z[1], z[2], z[3]);
}

// Lane r = byte offset r * stride (for gathers over 16 rows).
inline __m512i row_offsets(uint64_t stride) {
  const __m512i r = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  return _mm512_mullo_epi32(r, _mm512_set1_epi32(static_cast<int>(stride)));
}

// The two fp16 values at the start of each of 16 blocks (gathered dwords) as floats.
inline __m512 gathered_lo(__m512i g) { return _mm512_cvtph_ps(_mm512_cvtepi32_epi16(g)); }
inline __m512 gathered_hi(__m512i g) {
  return _mm512_cvtph_ps(_mm512_cvtepi32_epi16(_mm512_srli_epi32(g, 16)));
}

// Sum of the 16 lanes.
inline float hsum(__m512 v) {
  const __m256 a = _mm256_add_ps(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps(v, 1));
  const __m128 b = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
  const __m128 c = _mm_add_ps(b, _mm_movehl_ps(b, b));
  return _mm_cvtss_f32(_mm_add_ss(c, _mm_movehdup_ps(c)));
}
inline int32_t hsum_i32(__m512i v) {
  const __m256i a = _mm256_add_epi32(_mm512_castsi512_si256(v), _mm512_extracti64x4_epi64(v, 1));
  const __m128i b = _mm_add_epi32(_mm256_castsi256_si128(a), _mm256_extracti128_si256(a, 1));
  const __m128i c = _mm_add_epi32(b, _mm_unpackhi_epi64(b, b));
  return _mm_cvtsi128_si32(_mm_add_epi32(c, _mm_shuffle_epi32(c, 1)));
}

// Lane j of the result = the sum of the 16 lanes of v[j] (a transposing reduction tree: 45 operations
// for 16 sums instead of 16 separate horizontal sums).
inline __m512i hsum16_i32(const __m512i (&v)[16]) {
  __m512i a[8], b[4], c[2];
#pragma GCC unroll 8
  for (int j = 0; j < 8; ++j)  // per 128-bit block: [x0+x2, y0+y2, x1+x3, y1+y3]
    a[j] = _mm512_add_epi32(_mm512_unpacklo_epi32(v[2 * j], v[2 * j + 1]),
                            _mm512_unpackhi_epi32(v[2 * j], v[2 * j + 1]));
#pragma GCC unroll 4
  for (int j = 0; j < 4; ++j)  // per block: the block sums of v[4j .. 4j+3]
    b[j] = _mm512_add_epi32(_mm512_unpacklo_epi64(a[2 * j], a[2 * j + 1]),
                            _mm512_unpackhi_epi64(a[2 * j], a[2 * j + 1]));
  // b[j] holds 4 block partials of outputs 4j..4j+3; add blocks pairwise, then again.
  for (int j = 0; j < 2; ++j)
    c[j] = _mm512_add_epi32(_mm512_shuffle_i32x4(b[2 * j], b[2 * j + 1], _MM_SHUFFLE(2, 0, 2, 0)),
                            _mm512_shuffle_i32x4(b[2 * j], b[2 * j + 1], _MM_SHUFFLE(3, 1, 3, 1)));
  return _mm512_add_epi32(_mm512_shuffle_i32x4(c[0], c[1], _MM_SHUFFLE(2, 0, 2, 0)),
                          _mm512_shuffle_i32x4(c[0], c[1], _MM_SHUFFLE(3, 1, 3, 1)));
}

// The same for the first N (<= 16) vectors only: lanes 0..N-1 of the result hold their sums (the other
// lanes are unspecified). Smaller trees for N <= 4 and N <= 8.
template <int N>
inline __m512i hsum_n_i32(const __m512i (&v)[16]) {
  static_assert(N >= 1 && N <= 16);
  if constexpr (N > 8) {
    return hsum16_i32(v);
  } else if constexpr (N > 4) {
    const __m512i z = _mm512_setzero_si512();
    __m512i a[4], b[2];
#pragma GCC unroll 4
    for (int j = 0; j < 4; ++j) {
      const __m512i x = 2 * j < N ? v[2 * j] : z, y = 2 * j + 1 < N ? v[2 * j + 1] : z;
      a[j] = _mm512_add_epi32(_mm512_unpacklo_epi32(x, y), _mm512_unpackhi_epi32(x, y));
    }
    for (int j = 0; j < 2; ++j)
      b[j] = _mm512_add_epi32(_mm512_unpacklo_epi64(a[2 * j], a[2 * j + 1]),
                              _mm512_unpackhi_epi64(a[2 * j], a[2 * j + 1]));
    const __m512i c = _mm512_add_epi32(_mm512_shuffle_i32x4(b[0], b[1], _MM_SHUFFLE(2, 0, 2, 0)),
                                       _mm512_shuffle_i32x4(b[0], b[1], _MM_SHUFFLE(3, 1, 3, 1)));
    return _mm512_add_epi32(_mm512_shuffle_i32x4(c, c, _MM_SHUFFLE(3, 1, 2, 0)),
                            _mm512_shuffle_i32x4(c, c, _MM_SHUFFLE(2, 0, 3, 1)));
  } else {
    const __m512i z = _mm512_setzero_si512();
    const __m512i v0 = v[0], v1 = N > 1 ? v[1] : z, v2 = N > 2 ? v[2] : z, v3 = N > 3 ? v[3] : z;
    const __m512i a0 = _mm512_add_epi32(_mm512_unpacklo_epi32(v0, v1), _mm512_unpackhi_epi32(v0, v1));
    const __m512i a1 = _mm512_add_epi32(_mm512_unpacklo_epi32(v2, v3), _mm512_unpackhi_epi32(v2, v3));
    const __m512i b = _mm512_add_epi32(_mm512_unpacklo_epi64(a0, a1), _mm512_unpackhi_epi64(a0, a1));
    const __m512i c = _mm512_add_epi32(b, _mm512_shuffle_i32x4(b, b, _MM_SHUFFLE(2, 3, 0, 1)));
    return _mm512_add_epi32(c, _mm512_shuffle_i32x4(c, c, _MM_SHUFFLE(1, 0, 3, 2)));
  }
}

// Columns [0, cc) of one row group with NC = TC, TC / 2, ..., 1 column kernels.
using tiles::rows_driver;
using tiles::tile_cols;
using tiles::tile_driver;
using tiles::vec_dot_driver;

}  // namespace
}  // namespace hearth::kernels::avx512
