// NEON dot products of the 32-element block types (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, IQ4_NL) with 8-bit
// activations (Q8_0, or Q8_1 for the types with a min). Weights decode to signed bytes and sdot
// multiplies them with the activation bytes exactly in 32 bits; one block is two 16-byte registers.
#include "kernels/arm/neon/common.h"
#include "kernels/arm/neon/neon.h"

namespace hearth::kernels::neon {
namespace {

using tensor::BlockIQ4_NL;
using tensor::BlockQ4_0;
using tensor::BlockQ4_1;
using tensor::BlockQ5_0;
using tensor::BlockQ5_1;
using tensor::BlockQ8_0;
using tensor::BlockQ8_1;

// Each weight type: W, X (activation block), kMin (value = d * q + m, else d * q), q (the 32 levels
// of one block as two signed 16-byte halves).
struct Q4_0T {
  using W = BlockQ4_0;
  using X = BlockQ8_0;
  static constexpr bool kMin = false;
  static void q(const W* b, int8x16_t* q0, int8x16_t* q1) {
    uint8x16_t lo, hi;
    nibbles(b->qs, &lo, &hi);
    *q0 = vsubq_s8(vreinterpretq_s8_u8(lo), vdupq_n_s8(8));
    *q1 = vsubq_s8(vreinterpretq_s8_u8(hi), vdupq_n_s8(8));
  }
};

struct Q4_1T {
  using W = BlockQ4_1;
  using X = BlockQ8_1;
  static constexpr bool kMin = true;
  static void q(const W* b, int8x16_t* q0, int8x16_t* q1) {
    uint8x16_t lo, hi;
    nibbles(b->qs, &lo, &hi);
    *q0 = vreinterpretq_s8_u8(lo);
    *q1 = vreinterpretq_s8_u8(hi);
  }
};

template <class W>
inline void q5(const W* b, int8x16_t* q0, int8x16_t* q1) {
  uint8x16_t lo, hi;
  nibbles(b->qs, &lo, &hi);
  const uint32_t qh = load_as<uint32_t>(b->qh);
  const uint8x16_t b16 = vdupq_n_u8(0x10);
  *q0 = vreinterpretq_s8_u8(vorrq_u8(lo, vandq_u8(bytes_from_bits16(qh & 0xFFFF), b16)));
  *q1 = vreinterpretq_s8_u8(vorrq_u8(hi, vandq_u8(bytes_from_bits16(qh >> 16), b16)));
}

struct Q5_0T {
  using W = BlockQ5_0;
  using X = BlockQ8_0;
  static constexpr bool kMin = false;
  static void q(const W* b, int8x16_t* q0, int8x16_t* q1) {
    q5(b, q0, q1);
    *q0 = vsubq_s8(*q0, vdupq_n_s8(16));
    *q1 = vsubq_s8(*q1, vdupq_n_s8(16));
  }
};

struct Q5_1T {
  using W = BlockQ5_1;
  using X = BlockQ8_1;
  static constexpr bool kMin = true;
  static void q(const W* b, int8x16_t* q0, int8x16_t* q1) { q5(b, q0, q1); }
};

struct Q8_0T {
  using W = BlockQ8_0;
  using X = BlockQ8_0;
  static constexpr bool kMin = false;
  static void q(const W* b, int8x16_t* q0, int8x16_t* q1) {
    *q0 = ld_s8(b->qs);
    *q1 = ld_s8(b->qs + 16);
  }
};

struct IQ4_NLT {
  using W = BlockIQ4_NL;
  using X = BlockQ8_0;
  static constexpr bool kMin = false;
  static void q(const W* b, int8x16_t* q0, int8x16_t* q1) {
    const int8x16_t tbl = vld1q_s8(tensor::kIQ4NLValues);
    uint8x16_t lo, hi;
    nibbles(b->qs, &lo, &hi);
    *q0 = vqtbl1q_s8(tbl, lo);
    *q1 = vqtbl1q_s8(tbl, hi);
  }
};

template <class T>
struct Kern32 {
  static constexpr int kBlock = 32;
  static constexpr int kVecUnroll = 2;  // accumulators of the one-row kernel (FMA latency)
  using W = typename T::W;
  using X = typename T::X;

  template <int NR, int NC>
  static inline void step(int64_t i, const uint8_t* w, uint64_t ws, const uint8_t* x, uint64_t xs,
                          float32x4_t (&acc)[NR][NC], float (&macc)[NR][NC]) {
    int8x16_t x0[NC], x1[NC];
    float dx[NC], sx[NC];
#pragma GCC unroll 16
    for (int c = 0; c < NC; ++c) {
      const X* xb = reinterpret_cast<const X*>(x + c * xs) + i;
      x0[c] = ld_s8(xb->qs);
      x1[c] = ld_s8(xb->qs + 16);
      dx[c] = f16(xb->d);
      if constexpr (T::kMin) {
        sx[c] = f16(xb->s);
      } else {
        sx[c] = 0.0f;
      }
    }
#pragma GCC unroll 16
    for (int r = 0; r < NR; ++r) {
      const W* wb = reinterpret_cast<const W*>(w + r * ws) + i;
      int8x16_t q0, q1;
      T::q(wb, &q0, &q1);
      const float dw = f16(wb->d);
#pragma GCC unroll 16
      for (int c = 0; c < NC; ++c) {
        const int32x4_t s = vdotq_s32(vdotq_s32(vdupq_n_s32(0), q0, x0[c]), q1, x1[c]);
        acc[r][c] = vfmaq_n_f32(acc[r][c], vcvtq_f32_s32(s), dw * dx[c]);
        if constexpr (T::kMin) macc[r][c] += f16(wb->m) * sx[c];
      }
    }
  }

  template <int NR, int NC, int U = 1>
  static void run(int64_t nb, const uint8_t* w, uint64_t ws, const uint8_t* x, uint64_t xs, float* out,
                  int64_t os) {
    // U interleaved accumulators per output: only the one-row kernel (vec_dot) uses more than one, so a
    // tile's arithmetic for an output never depends on the tile's size (batch invariance).
    float32x4_t acc[U][NR][NC];
    float macc[U][NR][NC];
#pragma GCC unroll 16
    for (int u = 0; u < U; ++u)
#pragma GCC unroll 16
      for (int r = 0; r < NR; ++r)
#pragma GCC unroll 16
        for (int c = 0; c < NC; ++c) {
          acc[u][r][c] = vdupq_n_f32(0.0f);
          macc[u][r][c] = 0.0f;
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
        float32x4_t v = acc[0][r][c];
        float m = macc[0][r][c];
#pragma GCC unroll 16
        for (int u = 1; u < U; ++u) {
          v = vaddq_f32(v, acc[u][r][c]);
          m += macc[u][r][c];
        }
        out[c * os + r] = vaddvq_f32(v) + m;
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

}  // namespace hearth::kernels::neon
