// AVX2 dot products of the 32-element block types (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, IQ4_NL) with 8-bit
// activations (Q8_0, or Q8_1 for the types with a min); one block per 256-bit register.
// vpmaddubsw multiplies unsigned by signed bytes: signed weights use the sign trick
// (|w| times x with w's sign), unsigned ones (Q4_1, Q5_1) go straight in. Products of pairs stay
// within int16 (|w| <= 128, |x| <= 127), so the integer result per block is exact.
#include "kernels/x86/avx2/avx2.h"
#include "kernels/x86/avx2/common.h"

namespace hearth::kernels::avx2 {
namespace {

using tensor::BlockIQ4_NL;
using tensor::BlockQ4_0;
using tensor::BlockQ4_1;
using tensor::BlockQ5_0;
using tensor::BlockQ5_1;
using tensor::BlockQ8_0;
using tensor::BlockQ8_1;

// Each weight type: W, X (activation block), kSigned (q() gives signed levels; else unsigned with a
// min: value = d * q + m), q (the 32 levels of one block).
struct Q4_0T {
  using W = BlockQ4_0;
  using X = BlockQ8_0;
  static constexpr bool kSigned = true;
  static __m256i q(const W* b) { return _mm256_sub_epi8(nibbles128(b->qs), _mm256_set1_epi8(8)); }
};

struct Q4_1T {
  using W = BlockQ4_1;
  using X = BlockQ8_1;
  static constexpr bool kSigned = false;
  static __m256i q(const W* b) { return nibbles128(b->qs); }
};

template <class W>
inline __m256i q5(const W* b) {
  const __m256i hi = _mm256_and_si256(bytes_from_bits(load_as<uint32_t>(b->qh)), _mm256_set1_epi8(0x10));
  return _mm256_or_si256(nibbles128(b->qs), hi);
}

struct Q5_0T {
  using W = BlockQ5_0;
  using X = BlockQ8_0;
  static constexpr bool kSigned = true;
  static __m256i q(const W* b) { return _mm256_sub_epi8(q5(b), _mm256_set1_epi8(16)); }
};

struct Q5_1T {
  using W = BlockQ5_1;
  using X = BlockQ8_1;
  static constexpr bool kSigned = false;
  static __m256i q(const W* b) { return q5(b); }
};

struct Q8_0T {
  using W = BlockQ8_0;
  using X = BlockQ8_0;
  static constexpr bool kSigned = true;
  static __m256i q(const W* b) { return load256(b->qs); }
};

struct IQ4_NLT {
  using W = BlockIQ4_NL;
  using X = BlockQ8_0;
  static constexpr bool kSigned = true;
  static __m256i q(const W* b) {
    const __m256i tbl = _mm256_broadcastsi128_si256(load128(tensor::kIQ4NLValues));
    return _mm256_shuffle_epi8(tbl, nibbles128(b->qs));
  }
};

template <class T>
struct Kern32 {
  static constexpr int kBlock = 32;
  static constexpr int kVecUnroll = 2;  // accumulators of the one-row kernel (FMA latency)
  using W = typename T::W;
  using X = typename T::X;
  static constexpr bool kMin = !T::kSigned;

  // Both fp16 values at the start of a block ([d, m] of Q4_1 / Q5_1, [d, s] of Q8_1) as floats.
  static inline __m128 head(const void* b) { return _mm_cvtph_ps(_mm_cvtsi32_si128(load_as<int>(b))); }

  // acc gets d_w * d_x * sum(w * x) per block; macc lane 1 gets m_w * s_x (min types).
  template <int NR, int NC>
  static inline void step(int64_t i, const uint8_t* w, uint64_t ws, const uint8_t* x, uint64_t xs,
                          __m256 (&acc)[NR][NC], __m128 (&macc)[NR][NC]) {
    __m256i xq[NC];
    __m128 hx[NC];
#pragma GCC unroll 16
    for (int c = 0; c < NC; ++c) {
      const X* xb = reinterpret_cast<const X*>(x + c * xs) + i;
      xq[c] = load256(xb->qs);
      hx[c] = head(xb);
    }
#pragma GCC unroll 16
    for (int r = 0; r < NR; ++r) {
      const W* wb = reinterpret_cast<const W*>(w + r * ws) + i;
      const __m256i q = T::q(wb);
      const __m256i aq = T::kSigned ? _mm256_sign_epi8(q, q) : q;
      const __m128 hw = head(wb);
#pragma GCC unroll 16
      for (int c = 0; c < NC; ++c) {
        const __m256i p = T::kSigned ? _mm256_maddubs_epi16(aq, _mm256_sign_epi8(xq[c], q))
                                     : _mm256_maddubs_epi16(q, xq[c]);
        const __m128 prod = _mm_mul_ps(hw, hx[c]);  // [d_w * d_x, m_w * s_x, ...]
        acc[r][c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sum_pairs(p)), _mm256_broadcastss_ps(prod), acc[r][c]);
        if constexpr (kMin) macc[r][c] = _mm_add_ps(macc[r][c], prod);
      }
    }
  }

  template <int NR, int NC, int U = 1>
  static void run(int64_t nb, const uint8_t* w, uint64_t ws, const uint8_t* x, uint64_t xs, float* out,
                  int64_t os) {
    // U interleaved accumulators per output: only the one-row kernel (vec_dot) uses more than one, so a
    // tile's arithmetic for an output never depends on the tile's size (batch invariance).
    __m256 acc[U][NR][NC];
    __m128 macc[U][NR][NC];
#pragma GCC unroll 16
    for (int u = 0; u < U; ++u)
#pragma GCC unroll 16
      for (int r = 0; r < NR; ++r)
#pragma GCC unroll 16
        for (int c = 0; c < NC; ++c) {
          acc[u][r][c] = _mm256_setzero_ps();
          macc[u][r][c] = _mm_setzero_ps();
        }
    int64_t i = 0;
    for (; i + U <= nb; i += U)
#pragma GCC unroll 16
      for (int u = 0; u < U; ++u) step<NR, NC>(i + u, w, ws, x, xs, acc[u], macc[u]);
    for (; i < nb; ++i) step<NR, NC>(i, w, ws, x, xs, acc[0], macc[0]);
#pragma GCC unroll 16
    for (int r = 0; r < NR; ++r)
#pragma GCC unroll 16
      for (int c = 0; c < NC; ++c) {
        __m256 v = acc[0][r][c];
        __m128 m = macc[0][r][c];
#pragma GCC unroll 16
        for (int u = 1; u < U; ++u) {
          v = _mm256_add_ps(v, acc[u][r][c]);
          m = _mm_add_ps(m, macc[u][r][c]);
        }
        out[c * os + r] = hsum(v) + (kMin ? _mm_cvtss_f32(_mm_movehdup_ps(m)) : 0.0f);
      }
  }
};

}  // namespace

#define HEARTH_Q32(name, T)                                                                               \
  float vec_dot_##name(int64_t n, const void* w, const void* x) {                                         \
    return vec_dot_driver<Kern32<T>>(n, w, x);                                                            \
  }                                                                                                       \
  void dot_tile_##name(int64_t n, int nr, int nc, const void* w, uint64_t ws, const void* x, uint64_t xs, \
                       float* out, int64_t os) {                                                          \
    tile_driver<Kern32<T>, kQ32TileRows, kQ32TileCols>(n, nr, nc, w, ws, x, xs, out, os);                 \
  }                                                                                                       \
  void dot_rows_##name(int64_t n, int nr, int nc, const void* w, uint64_t ws, const void* x, uint64_t xs, \
                       float* out, int64_t os) {                                                          \
    rows_driver<Kern32<T>, 1, 4>(n, nr, nc, w, ws, x, xs, out, os);                                       \
  }

HEARTH_Q32(q4_0, Q4_0T)
HEARTH_Q32(q4_1, Q4_1T)
HEARTH_Q32(q5_0, Q5_0T)
HEARTH_Q32(q5_1, Q5_1T)
HEARTH_Q32(q8_0, Q8_0T)
HEARTH_Q32(iq4_nl, IQ4_NLT)
#undef HEARTH_Q32

}  // namespace hearth::kernels::avx2
