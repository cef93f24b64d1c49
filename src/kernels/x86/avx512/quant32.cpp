// AVX-512 VNNI dot products of the 32-element block types (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, IQ4_NL) with
// 8-bit activations (Q8_0, or Q8_1 for the types with a min). Two blocks fill one 512-bit register.
// vpdpbusd multiplies unsigned by signed bytes, so weights are made unsigned by an offset (q - 8 for
// Q4_0 becomes q, Q8_0 and IQ4_NL become v + 128) and the offset times the block sum of the
// activations is subtracted: the integer result per block is exact.
#include <cstddef>

#include "kernels/x86/avx512/avx512.h"
#include "kernels/x86/avx512/common.h"

namespace hearth::kernels::avx512 {
namespace {

using tensor::BlockIQ4_NL;
using tensor::BlockQ4_0;
using tensor::BlockQ4_1;
using tensor::BlockQ5_0;
using tensor::BlockQ5_1;
using tensor::BlockQ8_0;
using tensor::BlockQ8_1;

// ---- 16-row transposed decode (dot_tile): lane r of T[k] holds elements 4k..4k+3 of row r ----

// Packed nibbles (32 elements in 16 bytes, low nibbles first) of 16 rows.
inline void nibbles16(const uint8_t* p, uint64_t ws, __m512i (&t)[8]) {
  __m512i z[4];
  rows16x16(p, ws, z);
  const __m512i m4 = _mm512_set1_epi8(0x0F);
  for (int k = 0; k < 4; ++k) {
    t[k] = _mm512_and_si512(z[k], m4);
    t[k + 4] = _mm512_and_si512(_mm512_srli_epi32(z[k], 4), m4);
  }
}

// The fifth bit (bit e of each row's 32-bit qh, lane r = row r) as 16 in the bytes of T.
inline void high_bits16(__m512i qh, __m512i (&t)[8]) {
  // Dword i: byte j is 0x10 where bit j of i is set.
  const __m512i lut = _mm512_setr_epi32(
      0x00000000, 0x00000010, 0x00001000, 0x00001010, 0x00100000, 0x00100010, 0x00101000, 0x00101010,
      0x10000000, 0x10000010, 0x10001000, 0x10001010, 0x10100000, 0x10100010, 0x10101000, 0x10101010);
  const __m512i m = _mm512_set1_epi32(0xF);
  for (int k = 0; k < 8; ++k) {
    const int shift = k < 4 ? 4 * k : 16 + 4 * (k - 4);
    const __m512i idx = _mm512_and_si512(_mm512_srli_epi32(qh, static_cast<unsigned>(shift)), m);
    t[k] = _mm512_or_si512(t[k], _mm512_permutexvar_epi32(idx, lut));
  }
}

// Sums of eight vectors of 8 int32: lane j = sum of s[j].
inline __m256i hsum8(const __m256i (&s)[8]) {
  const __m256i a = _mm256_hadd_epi32(s[0], s[1]), b = _mm256_hadd_epi32(s[2], s[3]);
  const __m256i c = _mm256_hadd_epi32(s[4], s[5]), d = _mm256_hadd_epi32(s[6], s[7]);
  const __m256i ab = _mm256_hadd_epi32(a, b), cd = _mm256_hadd_epi32(c, d);
  return _mm256_add_epi32(_mm256_permute2x128_si256(ab, cd, 0x20), _mm256_permute2x128_si256(ab, cd, 0x31));
}

// Each weight type: W, X (activation block), kOff (value = u - kOff, 0 when a min is added instead),
// kMin (value = d * u + m), u2 (two blocks as 64 unsigned bytes), u1 (one block in the low half).
struct Q4_0T {
  using W = BlockQ4_0;
  using X = BlockQ8_0;
  static constexpr int kOff = 8;
  static constexpr bool kMin = false;
  static __m512i u2(const W* b) { return nibbles2x128(b[0].qs, b[1].qs); }
  static __m512i u1(const W* b) { return nibbles1x128(b[0].qs); }
  static void t16(const uint8_t* p, uint64_t ws, __m512i, __m512i (&t)[8]) {
    nibbles16(p + offsetof(W, qs), ws, t);
  }
};

struct Q4_1T {
  using W = BlockQ4_1;
  using X = BlockQ8_1;
  static constexpr int kOff = 0;
  static constexpr bool kMin = true;
  static __m512i u2(const W* b) { return nibbles2x128(b[0].qs, b[1].qs); }
  static __m512i u1(const W* b) { return nibbles1x128(b[0].qs); }
  static void t16(const uint8_t* p, uint64_t ws, __m512i, __m512i (&t)[8]) {
    nibbles16(p + offsetof(W, qs), ws, t);
  }
};

template <class W>
inline __m512i q5_u2(const W* b) {
  const __m512i nib = nibbles2x128(b[0].qs, b[1].qs);
  const __mmask64 hi = load_as<uint32_t>(b[0].qh) | (static_cast<uint64_t>(load_as<uint32_t>(b[1].qh)) << 32);
  return _mm512_mask_add_epi8(nib, hi, nib, _mm512_set1_epi8(16));
}
template <class W>
inline void q5_t16(const uint8_t* p, uint64_t ws, __m512i rows, __m512i (&t)[8]) {
  nibbles16(p + offsetof(W, qs), ws, t);
  high_bits16(_mm512_i32gather_epi32(rows, p + offsetof(W, qh), 1), t);
}
template <class W>
inline __m512i q5_u1(const W* b) {
  const __m512i nib = nibbles1x128(b[0].qs);
  const __mmask64 hi = load_as<uint32_t>(b[0].qh);
  return _mm512_mask_add_epi8(nib, hi, nib, _mm512_set1_epi8(16));
}

struct Q5_0T {
  using W = BlockQ5_0;
  using X = BlockQ8_0;
  static constexpr int kOff = 16;
  static constexpr bool kMin = false;
  static __m512i u2(const W* b) { return q5_u2(b); }
  static __m512i u1(const W* b) { return q5_u1(b); }
  static void t16(const uint8_t* p, uint64_t ws, __m512i rows, __m512i (&t)[8]) { q5_t16<W>(p, ws, rows, t); }
};

struct Q5_1T {
  using W = BlockQ5_1;
  using X = BlockQ8_1;
  static constexpr int kOff = 0;
  static constexpr bool kMin = true;
  static __m512i u2(const W* b) { return q5_u2(b); }
  static __m512i u1(const W* b) { return q5_u1(b); }
  static void t16(const uint8_t* p, uint64_t ws, __m512i rows, __m512i (&t)[8]) { q5_t16<W>(p, ws, rows, t); }
};

struct Q8_0T {
  using W = BlockQ8_0;
  using X = BlockQ8_0;
  static constexpr int kOff = 128;
  static constexpr bool kMin = false;
  static __m512i u2(const W* b) {
    return _mm512_xor_si512(load2x256(b[0].qs, b[1].qs), _mm512_set1_epi8(-128));
  }
  static __m512i u1(const W* b) {
    return _mm512_zextsi256_si512(_mm256_xor_si256(load256(b[0].qs), _mm256_set1_epi8(-128)));
  }
  static void t16(const uint8_t* p, uint64_t ws, __m512i, __m512i (&t)[8]) {
    __m512i z[4];
    for (int h = 0; h < 2; ++h) {
      rows16x16(p + offsetof(W, qs) + 16 * h, ws, z);
      for (int k = 0; k < 4; ++k) t[4 * h + k] = _mm512_xor_si512(z[k], _mm512_set1_epi8(-128));
    }
  }
};

// The IQ4_NL codebook plus 128, as unsigned bytes, in every 128-bit lane.
inline __m512i iq4nl_table() {
  return _mm512_broadcast_i32x4(_mm_xor_si128(load128(tensor::kIQ4NLValues), _mm_set1_epi8(-128)));
}

struct IQ4_NLT {
  using W = BlockIQ4_NL;
  using X = BlockQ8_0;
  static constexpr int kOff = 128;
  static constexpr bool kMin = false;
  static __m512i u2(const W* b) { return _mm512_shuffle_epi8(iq4nl_table(), nibbles2x128(b[0].qs, b[1].qs)); }
  static __m512i u1(const W* b) {
    // Lanes above the block must stay zero: look up first, then clear the high half.
    return _mm512_zextsi256_si512(
        _mm512_castsi512_si256(_mm512_shuffle_epi8(iq4nl_table(), nibbles1x128(b[0].qs))));
  }
  static void t16(const uint8_t* p, uint64_t ws, __m512i, __m512i (&t)[8]) {
    nibbles16(p + offsetof(W, qs), ws, t);
    const __m512i tbl = iq4nl_table();
    for (int k = 0; k < 8; ++k) t[k] = _mm512_shuffle_epi8(tbl, t[k]);
  }
};

template <class T>
struct Kern32 {
  static constexpr int kBlock = 32;
  static constexpr int kVecUnroll = 2;  // accumulators of the one-row kernel (FMA latency)
  using W = typename T::W;
  using X = typename T::X;

  template <int NR, int NC, bool kTwo>
  static inline void step(int64_t i, const uint8_t* w, uint64_t ws, const uint8_t* x, uint64_t xs,
                          __m512 (&acc)[NR][NC]) {
    const __m512i zero = _mm512_setzero_si512();
    __m512i xq[NC], corr[NC];
    __m512 xd[NC], xm[NC];
#pragma GCC unroll 16
    for (int c = 0; c < NC; ++c) {
      const X* xb = reinterpret_cast<const X*>(x + c * xs) + i;
      const __m128 h = kTwo ? head2(xb, xb + 1) : head1(xb);  // [d0, s0, d1, s1] (s: Q8_1 only)
      xq[c] = kTwo ? load2x256(xb[0].qs, xb[1].qs) : _mm512_zextsi256_si512(load256(xb[0].qs));
      xd[c] = spread(h, 0);
      if constexpr (T::kOff != 0) {
        corr[c] = _mm512_sub_epi32(
            zero, _mm512_dpbusd_epi32(zero, _mm512_set1_epi8(static_cast<char>(T::kOff)), xq[c]));
      } else {
        corr[c] = zero;
      }
      // m * s once per block (s = d * sum(q) of the activation block).
      xm[c] = T::kMin ? spread_first(h, 1) : _mm512_setzero_ps();
    }
#pragma GCC unroll 16
    for (int r = 0; r < NR; ++r) {
      const W* wb = reinterpret_cast<const W*>(w + r * ws) + i;
      const __m128 h = kTwo ? head2(wb, wb + 1) : head1(wb);  // [d0, m0, d1, m1] (m: Q4_1 / Q5_1 only)
      const __m512i u = kTwo ? T::u2(wb) : T::u1(wb);
      const __m512 wd = spread(h, 0);
      const __m512 wm = T::kMin ? spread(h, 1) : _mm512_setzero_ps();
#pragma GCC unroll 16
      for (int c = 0; c < NC; ++c) {
        const __m512i s = _mm512_dpbusd_epi32(corr[c], u, xq[c]);
        acc[r][c] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s), _mm512_mul_ps(wd, xd[c]), acc[r][c]);
        if constexpr (T::kMin) acc[r][c] = _mm512_fmadd_ps(wm, xm[c], acc[r][c]);
      }
    }
  }

  template <int NR, int NC, int U = 1>
  static void run(int64_t nb, const uint8_t* w, uint64_t ws, const uint8_t* x, uint64_t xs, float* out,
                  int64_t os) {
    // U interleaved accumulators per output: only the one-row kernel (vec_dot) uses more than one, so a
    // tile's arithmetic for an output never depends on the tile's size (batch invariance).
    __m512 acc[U][NR][NC];
#pragma GCC unroll 16
    for (int u = 0; u < U; ++u)
#pragma GCC unroll 16
      for (int r = 0; r < NR; ++r)
#pragma GCC unroll 16
        for (int c = 0; c < NC; ++c) acc[u][r][c] = _mm512_setzero_ps();
    int64_t i = 0;
    for (; i + 2 * U <= nb; i += 2 * U)
#pragma GCC unroll 16
      for (int u = 0; u < U; ++u) step<NR, NC, true>(i + 2 * u, w, ws, x, xs, acc[u]);
    for (; i + 2 <= nb; i += 2) step<NR, NC, true>(i, w, ws, x, xs, acc[0]);
    if (i < nb) step<NR, NC, false>(i, w, ws, x, xs, acc[0]);
#pragma GCC unroll 16
    for (int r = 0; r < NR; ++r)
#pragma GCC unroll 16
      for (int c = 0; c < NC; ++c) {
        __m512 v = acc[0][r][c];
#pragma GCC unroll 16
        for (int u = 1; u < U; ++u) v = _mm512_add_ps(v, acc[u][r][c]);
        out[c * os + r] = hsum(v);
      }
  }
};

// 16 weight rows x NC activation rows: the 16 rows' blocks are transposed so that lane r of each
// vector belongs to row r; every activation dword is broadcast and one vpdpbusd serves 16 rows. The
// scales then apply to 16 rows at once and the 16 results of an activation row are one store.
template <class T>
struct Kern32x16 {
  static constexpr int kBlock = 32;
  using W = typename T::W;
  using X = typename T::X;

  template <int NR, int NC>
  static void run(int64_t nb, const uint8_t* w, uint64_t ws, const uint8_t* x, uint64_t xs, float* out,
                  int64_t os) {
    static_assert(NR == 16);
    __m512 acc[NC];
#pragma GCC unroll 16
    for (int c = 0; c < NC; ++c) acc[c] = _mm512_setzero_ps();
    const __m512i rows = row_offsets(ws), cols = row_offsets(xs);
    constexpr __mmask16 kColMask = static_cast<__mmask16>((1u << NC) - 1);
    alignas(64) float dx[16], sx[16];
    alignas(64) int32_t corr[NC < 8 ? 8 : NC];
    for (int64_t i = 0; i < nb; ++i) {
      const uint8_t* wb = w + i * sizeof(W);
      const uint8_t* xb = x + i * sizeof(X);
      // Activation side: scales (and Q8_1 sums) of the NC blocks, and -kOff * sum(q) for the offset.
      const __m512i gx = _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), kColMask, cols, xb, 1);
      _mm512_store_ps(dx, gathered_lo(gx));
      if constexpr (T::kMin) _mm512_store_ps(sx, gathered_hi(gx));
      if constexpr (T::kOff != 0) {
        for (int c0 = 0; c0 < NC; c0 += 8) {
          __m256i s8[8];
#pragma GCC unroll 8
          for (int j = 0; j < 8; ++j) {
            s8[j] = c0 + j < NC
                        ? _mm256_dpbusd_epi32(_mm256_setzero_si256(), _mm256_set1_epi8(1),
                                              load256(reinterpret_cast<const X*>(xb + (c0 + j) * xs)->qs))
                        : _mm256_setzero_si256();
          }
          const __m256i sums = _mm256_mullo_epi32(hsum8(s8), _mm256_set1_epi32(-T::kOff));
          _mm256_store_si256(reinterpret_cast<__m256i*>(corr + c0), sums);
        }
      }
      // Weight side: 16 rows decoded and transposed, their scales (and mins).
      __m512i t[8];
      T::t16(wb, ws, rows, t);
      const __m512i gw = _mm512_i32gather_epi32(rows, wb, 1);
      const __m512 vd = gathered_lo(gw);
      const __m512 vm = T::kMin ? gathered_hi(gw) : _mm512_setzero_ps();
#pragma GCC unroll 16
      for (int c = 0; c < NC; ++c) {
        const int8_t* q = reinterpret_cast<const X*>(xb + c * xs)->qs;
        __m512i a0 = T::kOff != 0 ? _mm512_set1_epi32(corr[c]) : _mm512_setzero_si512();
        __m512i a1 = _mm512_setzero_si512();
#pragma GCC unroll 8
        for (int k = 0; k < 8; k += 2) {
          a0 = _mm512_dpbusd_epi32(a0, t[k], _mm512_set1_epi32(load_as<int32_t>(q + 4 * k)));
          a1 = _mm512_dpbusd_epi32(a1, t[k + 1], _mm512_set1_epi32(load_as<int32_t>(q + 4 * k + 4)));
        }
        const __m512 dot = _mm512_cvtepi32_ps(_mm512_add_epi32(a0, a1));
        acc[c] = _mm512_fmadd_ps(dot, _mm512_mul_ps(vd, _mm512_set1_ps(dx[c])), acc[c]);
        if constexpr (T::kMin) acc[c] = _mm512_fmadd_ps(vm, _mm512_set1_ps(sx[c]), acc[c]);
      }
    }
#pragma GCC unroll 16
    for (int c = 0; c < NC; ++c) _mm512_storeu_ps(out + c * os, acc[c]);
  }
};

// Groups of 16 rows through the transposed kernel (when the row offsets fit the 32-bit gather
// indices), the remaining rows through the register-blocked one.
template <class T>
void tile32(int64_t n, int nr, int nc, const void* w, uint64_t ws, const void* x, uint64_t xs, float* out,
            int64_t os) {
  const auto* wb = static_cast<const uint8_t*>(w);
  int r0 = 0;
  if (ws * 15 < (1ull << 31) && xs * 15 < (1ull << 31)) {
    for (; r0 + 16 <= nr; r0 += 16)
      tile_cols<Kern32x16<T>, 16, kQ32TileCols>(n / 32, wb + r0 * ws, ws, static_cast<const uint8_t*>(x), xs,
                                                out + r0, os, nc);
  }
  if (r0 < nr) tile_driver<Kern32<T>, 4, 4>(n, nr - r0, nc, wb + r0 * ws, ws, x, xs, out + r0, os);
}

}  // namespace

#define HEARTH_Q32(name, T)                                                                               \
  float vec_dot_##name(int64_t n, const void* w, const void* x) {                                         \
    return vec_dot_driver<Kern32<T>>(n, w, x);                                                            \
  }                                                                                                       \
  void dot_tile_##name(int64_t n, int nr, int nc, const void* w, uint64_t ws, const void* x, uint64_t xs, \
                       float* out, int64_t os) {                                                          \
    tile32<T>(n, nr, nc, w, ws, x, xs, out, os);                                                          \
  }                                                                                                       \
  void dot_rows_##name(int64_t n, int nr, int nc, const void* w, uint64_t ws, const void* x, uint64_t xs, \
                       float* out, int64_t os) {                                                          \
    rows_driver<Kern32<T>, 2, 4>(n, nr, nc, w, ws, x, xs, out, os);                                       \
  }

HEARTH_Q32(q4_0, Q4_0T)
HEARTH_Q32(q4_1, Q4_1T)
HEARTH_Q32(q5_0, Q5_0T)
HEARTH_Q32(q5_1, Q5_1T)
HEARTH_Q32(q8_0, Q8_0T)
HEARTH_Q32(iq4_nl, IQ4_NLT)
#undef HEARTH_Q32

}  // namespace hearth::kernels::avx512
