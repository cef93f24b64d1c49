// AVX2 dot products of the 256-element super-block types (Q2_K..Q6_K, IQ4_XS) with Q8_K activations.
// Per super-block and weight row the scales are decoded once; then each 32-element chunk is decoded
// and multiplied with the matching chunk of every activation row of the tile:
//   sum_g scale_g * dot(u_g, x_g)  via vpmaddubsw + vpmaddwd (exact in 32 bits),
// with the offsets of Q3_K (-4) and Q6_K (-32) folded in through the activation's 16-group sums
// (bsums), the min terms of Q2_K / Q4_K / Q5_K as dmin * m_g * bsum_g in float, and IQ4_XS's signed
// codebook values through the sign trick.
#include "kernels/x86/avx2/avx2.h"
#include "kernels/x86/avx2/common.h"

namespace hearth::kernels::avx2 {
namespace {

using tensor::BlockIQ4_XS;
using tensor::BlockQ2_K;
using tensor::BlockQ3_K;
using tensor::BlockQ4_K;
using tensor::BlockQ5_K;
using tensor::BlockQ6_K;
using tensor::BlockQ8_K;

// Scales of one decoded weight super-block.
struct Dec {
  __m256i lo2, hi2;  // group scales 0..7 / 8..15 (int16) in both 128-bit lanes
  __m256i g16;       // kInit: coefficients of the 16 bsums added to the integer sum
  __m256i m16;       // kMin: the 16 group mins (int16)
  float d, dmin;
};

inline void set_scales(__m256i sc16, Dec& o) {
  o.lo2 = _mm256_permute2x128_si256(sc16, sc16, 0x00);
  o.hi2 = _mm256_permute2x128_si256(sc16, sc16, 0x11);
}

// The scales of chunk k (32 elements = groups 2k, 2k+1): [s(2k) x 8 | s(2k+1) x 8].
template <int k>
inline __m256i chunk_scales(const Dec& o) {
  constexpr int a = (2 * k) % 8, b = (2 * k + 1) % 8;
  const __m256i ctrl = _mm256_setr_m128i(_mm_set1_epi16(static_cast<int16_t>(((2 * a + 1) << 8) | (2 * a))),
                                         _mm_set1_epi16(static_cast<int16_t>(((2 * b + 1) << 8) | (2 * b))));
  return _mm256_shuffle_epi8(k < 4 ? o.lo2 : o.hi2, ctrl);
}

inline void set_mins(__m256i m16, float dmin, Dec& o) {
  o.m16 = m16;
  o.dmin = dmin;
}

// Bytes shifted so that bit `from` of each byte lands on bit `to`, masked to that bit.
template <int from, int to>
inline __m256i move_bit(__m256i v, int mask) {
  if constexpr (from > to)
    return _mm256_and_si256(_mm256_srli_epi16(v, from - to), _mm256_set1_epi8(static_cast<char>(mask)));
  if constexpr (from < to)
    return _mm256_and_si256(_mm256_slli_epi16(v, to - from), _mm256_set1_epi8(static_cast<char>(mask)));
  return _mm256_and_si256(v, _mm256_set1_epi8(static_cast<char>(mask)));
}

// Q2_K / Q3_K: the 2-bit fields of chunk k: bits 2j of qs[32n + l], n = k / 4, j = k % 4.
template <int k>
inline __m256i crumbs(const uint8_t* qs) {
  return move_bit<2 * (k % 4), 0>(load256(qs + 32 * (k / 4)), 3);
}

// Q4_K / Q5_K scales and mins: 8 six-bit values each, repeated for the two 16-groups of a sub-block.
inline void k4_scales(const uint8_t* q, __m256i* sc16, __m256i* m16) {
  constexpr uint64_t kmask1 = 0x3f3f3f3f, kmask2 = 0x0f0f0f0f, kmask3 = 0x03030303;
  const uint64_t a = load_as<uint32_t>(q), b = load_as<uint32_t>(q + 4), c = load_as<uint32_t>(q + 8);
  const uint64_t sc = (a & kmask1) | (((c & kmask2) | (((a >> 6) & kmask3) << 4)) << 32);
  const uint64_t mn = (b & kmask1) | ((((c >> 4) & kmask2) | (((b >> 6) & kmask3) << 4)) << 32);
  const __m128i sm = _mm_set_epi64x(static_cast<int64_t>(mn), static_cast<int64_t>(sc));  // [sc0..7, m0..7]
  *sc16 = _mm256_cvtepu8_epi16(
      _mm_shuffle_epi8(sm, _mm_setr_epi8(0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7)));
  *m16 = _mm256_cvtepu8_epi16(
      _mm_shuffle_epi8(sm, _mm_setr_epi8(8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13, 14, 14, 15, 15)));
}

struct Q2_KT {
  using W = BlockQ2_K;
  static constexpr bool kInit = false, kMin = true, kSigned = false;
  static void scales(const W* b, Dec& o) {
    const __m128i s = load128(b->scales);
    set_scales(_mm256_cvtepu8_epi16(_mm_and_si128(s, _mm_set1_epi8(0x0F))), o);
    set_mins(_mm256_cvtepu8_epi16(_mm_and_si128(_mm_srli_epi16(s, 4), _mm_set1_epi8(0x0F))), f16(b->dmin), o);
    o.d = f16(b->d);
  }
  template <int k>
  static __m256i chunk(const W* b) {
    return crumbs<k>(b->qs);
  }
};

struct Q3_KT {
  using W = BlockQ3_K;
  static constexpr bool kInit = true, kMin = false, kSigned = false;
  static void scales(const W* b, Dec& o) {
    // Scale j: low nibble of byte j (j < 8) or j - 8 (j >= 8, high nibble), plus 2 bits of byte
    // 8 + j % 4 at bit 2 * (j / 4) on top; minus 32.
    const __m128i v = _mm_cvtsi64_si128(static_cast<int64_t>(load_as<uint64_t>(b->scales)));
    const __m128i m4 = _mm_set1_epi8(0x0F);
    const __m128i low = _mm_unpacklo_epi64(_mm_and_si128(v, m4), _mm_and_si128(_mm_srli_epi16(v, 4), m4));
    const __m128i high =
        _mm_and_si128(_mm_srlv_epi32(_mm_set1_epi32(static_cast<int>(load_as<uint32_t>(b->scales + 8))),
                                     _mm_setr_epi32(0, 2, 4, 6)),
                      _mm_set1_epi8(3));
    const __m128i s = _mm_sub_epi8(_mm_or_si128(low, _mm_slli_epi32(high, 4)), _mm_set1_epi8(32));
    const __m256i sc16 = _mm256_cvtepi8_epi16(s);
    o.g16 = _mm256_sub_epi16(_mm256_setzero_si256(), _mm256_slli_epi16(sc16, 2));  // value = u - 4
    set_scales(sc16, o);
    o.d = f16(b->d);
  }
  template <int k>
  static __m256i chunk(const W* b) {
    return _mm256_or_si256(crumbs<k>(b->qs), move_bit<k, 2>(load256(b->hmask), 4));
  }
};

struct Q4_KT {
  using W = BlockQ4_K;
  static constexpr bool kInit = false, kMin = true, kSigned = false;
  template <class B>  // BlockQ4_K or BlockQ5_K: same scales
  static void scales(const B* b, Dec& o) {
    __m256i sc16, m16;
    k4_scales(b->scales, &sc16, &m16);
    set_scales(sc16, o);
    set_mins(m16, f16(b->dmin), o);
    o.d = f16(b->d);
  }
  template <int k>
  static __m256i chunk(const W* b) {
    return move_bit<4 * (k % 2), 0>(load256(b->qs + 32 * (k / 2)), 0x0F);
  }
};

struct Q5_KT {
  using W = BlockQ5_K;
  static constexpr bool kInit = false, kMin = true, kSigned = false;
  static void scales(const W* b, Dec& o) { Q4_KT::scales(b, o); }
  template <int k>
  static __m256i chunk(const W* b) {
    const __m256i nib = move_bit<4 * (k % 2), 0>(load256(b->qs + 32 * (k / 2)), 0x0F);
    return _mm256_or_si256(nib, move_bit<k, 4>(load256(b->qh), 0x10));
  }
};

struct Q6_KT {
  using W = BlockQ6_K;
  static constexpr bool kInit = true, kMin = false, kSigned = false;
  static void scales(const W* b, Dec& o) {
    const __m256i sc16 = _mm256_cvtepi8_epi16(load128(b->scales));
    o.g16 = _mm256_sub_epi16(_mm256_setzero_si256(), _mm256_slli_epi16(sc16, 5));  // value = u - 32
    set_scales(sc16, o);
    o.d = f16(b->d);
  }
  template <int k>
  static __m256i chunk(const W* b) {
    constexpr int n = k / 4, j = k % 4;
    const __m256i l = load256(b->ql + 64 * n + 32 * (j % 2));
    const __m256i nib = move_bit<4 * (j / 2), 0>(l, 0x0F);
    return _mm256_or_si256(nib, move_bit<2 * j, 4>(load256(b->qh + 32 * n), 0x30));
  }
};

struct IQ4_XST {
  using W = BlockIQ4_XS;
  static constexpr bool kInit = false, kMin = false, kSigned = true;
  static void scales(const W* b, Dec& o) {
    const __m256i lo = _mm256_and_si256(
        _mm256_srlv_epi32(_mm256_set1_epi32(static_cast<int>(load_as<uint32_t>(b->scales_l))),
                          _mm256_setr_epi32(0, 4, 8, 12, 16, 20, 24, 28)),
        _mm256_set1_epi32(0x0F));
    const __m256i hi = _mm256_and_si256(
        _mm256_srlv_epi32(_mm256_set1_epi32(b->scales_h), _mm256_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14)),
        _mm256_set1_epi32(3));
    const __m256i sc32 =
        _mm256_sub_epi32(_mm256_or_si256(lo, _mm256_slli_epi32(hi, 4)), _mm256_set1_epi32(32));
    // Each sub-block scale on both of its 16-groups (int16 lanes 2j, 2j + 1).
    set_scales(
        _mm256_or_si256(_mm256_and_si256(sc32, _mm256_set1_epi32(0xFFFF)), _mm256_slli_epi32(sc32, 16)), o);
    o.d = f16(b->d);
  }
  template <int k>
  static __m256i chunk(const W* b) {
    return _mm256_shuffle_epi8(_mm256_broadcastsi128_si256(load128(tensor::kIQ4NLValues)),
                               nibbles128(b->qs + 16 * k));
  }
};

template <class T>
struct KernK {
  static constexpr int kBlock = 256;
  using W = typename T::W;

  template <int k, int NC>
  static inline void chunk_step(const W* wb, const Dec& dq, const uint8_t* x, uint64_t xs, int64_t i,
                                __m256i (&iacc)[NC]) {
    const __m256i u = T::template chunk<k>(wb);
    const __m256i sc = chunk_scales<k>(dq);
    const __m256i au = T::kSigned ? _mm256_sign_epi8(u, u) : u;
#pragma GCC unroll 16
    for (int c = 0; c < NC; ++c) {
      const __m256i xq = load256(reinterpret_cast<const BlockQ8_K*>(x + c * xs)[i].qs + 32 * k);
      const __m256i p =
          T::kSigned ? _mm256_maddubs_epi16(au, _mm256_sign_epi8(xq, u)) : _mm256_maddubs_epi16(u, xq);
      iacc[c] = _mm256_add_epi32(iacc[c], _mm256_madd_epi16(p, sc));
    }
  }

  template <int NR, int NC>
  static void run(int64_t nb, const uint8_t* w, uint64_t ws, const uint8_t* x, uint64_t xs, float* out,
                  int64_t os) {
    __m256 acc[NR][NC];
#pragma GCC unroll 16
    for (int r = 0; r < NR; ++r)
#pragma GCC unroll 16
      for (int c = 0; c < NC; ++c) acc[r][c] = _mm256_setzero_ps();
    for (int64_t i = 0; i < nb; ++i) {
      float dx[NC];
#pragma GCC unroll 16
      for (int c = 0; c < NC; ++c) dx[c] = reinterpret_cast<const BlockQ8_K*>(x + c * xs)[i].d;
#pragma GCC unroll 16
      for (int r = 0; r < NR; ++r) {
        const W* wb = reinterpret_cast<const W*>(w + r * ws) + i;
        Dec dq;
        T::scales(wb, dq);
        __m256i iacc[NC];
#pragma GCC unroll 16
        for (int c = 0; c < NC; ++c) {
          iacc[c] = T::kInit ? _mm256_madd_epi16(
                                   load256(reinterpret_cast<const BlockQ8_K*>(x + c * xs)[i].bsums), dq.g16)
                             : _mm256_setzero_si256();
        }
        chunk_step<0>(wb, dq, x, xs, i, iacc);
        chunk_step<1>(wb, dq, x, xs, i, iacc);
        chunk_step<2>(wb, dq, x, xs, i, iacc);
        chunk_step<3>(wb, dq, x, xs, i, iacc);
        chunk_step<4>(wb, dq, x, xs, i, iacc);
        chunk_step<5>(wb, dq, x, xs, i, iacc);
        chunk_step<6>(wb, dq, x, xs, i, iacc);
        chunk_step<7>(wb, dq, x, xs, i, iacc);
#pragma GCC unroll 16
        for (int c = 0; c < NC; ++c) {
          acc[r][c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(iacc[c]), _mm256_set1_ps(dq.d * dx[c]), acc[r][c]);
          if constexpr (T::kMin) {
            const __m256i ms =
                _mm256_madd_epi16(load256(reinterpret_cast<const BlockQ8_K*>(x + c * xs)[i].bsums), dq.m16);
            acc[r][c] = _mm256_fnmadd_ps(_mm256_cvtepi32_ps(ms), _mm256_set1_ps(dq.dmin * dx[c]), acc[r][c]);
          }
        }
      }
    }
#pragma GCC unroll 16
    for (int r = 0; r < NR; ++r)
#pragma GCC unroll 16
      for (int c = 0; c < NC; ++c) out[c * os + r] = hsum(acc[r][c]);
  }
};

}  // namespace

#define HEARTH_KQ(name, T)                                                                                \
  float vec_dot_##name(int64_t n, const void* w, const void* x) {                                         \
    return vec_dot_driver<KernK<T>>(n, w, x);                                                             \
  }                                                                                                       \
  void dot_tile_##name(int64_t n, int nr, int nc, const void* w, uint64_t ws, const void* x, uint64_t xs, \
                       float* out, int64_t os) {                                                          \
    tile_driver<KernK<T>, kKTileRows, kKTileCols>(n, nr, nc, w, ws, x, xs, out, os);                      \
  }                                                                                                       \
  void dot_rows_##name(int64_t n, int nr, int nc, const void* w, uint64_t ws, const void* x, uint64_t xs, \
                       float* out, int64_t os) {                                                          \
    rows_driver<KernK<T>, kKTileRows, kKTileCols>(n, nr, nc, w, ws, x, xs, out, os);                      \
  }

HEARTH_KQ(q2_k, Q2_KT)
HEARTH_KQ(q3_k, Q3_KT)
HEARTH_KQ(q4_k, Q4_KT)
HEARTH_KQ(q5_k, Q5_KT)
HEARTH_KQ(q6_k, Q6_KT)
HEARTH_KQ(iq4_xs, IQ4_XST)
#undef HEARTH_KQ

}  // namespace hearth::kernels::avx2
