// NEON dot products of the 256-element super-block types (Q2_K..Q6_K, IQ4_XS) with Q8_K activations.
// Per super-block and weight row the 16 group scales are decoded once; each 32-element chunk is then
// decoded to signed bytes (offsets of Q3_K / Q6_K applied, IQ4_XS through its codebook) and sdot'ed
// with the matching chunk of every activation row of the tile, the group sums scaled by their
// integer scales in 32 bits (exact). The mins of Q2_K / Q4_K / Q5_K use the activation's bsums.
#include "kernels/arm/neon/common.h"
#include "kernels/arm/neon/neon.h"

namespace hearth::kernels::neon {
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
  int32x4_t sc[4];   // the 16 group scales
  int16x8_t m16[2];  // kMin: the 16 group mins
  float d, dmin;
};

inline void set_scales(int8x16_t s, Dec& o) {
  const int16x8_t lo = vmovl_s8(vget_low_s8(s)), hi = vmovl_high_s8(s);
  o.sc[0] = vmovl_s16(vget_low_s16(lo));
  o.sc[1] = vmovl_high_s16(lo);
  o.sc[2] = vmovl_s16(vget_low_s16(hi));
  o.sc[3] = vmovl_high_s16(hi);
}

inline void set_mins(uint8x16_t m, Dec& o) {
  o.m16[0] = vreinterpretq_s16_u16(vmovl_u8(vget_low_u8(m)));
  o.m16[1] = vreinterpretq_s16_u16(vmovl_high_u8(m));
}

// Two 16-byte halves of a 32-byte array shifted right by `s` bits per byte and masked.
template <int s>
inline void fields(const uint8_t* p, uint8_t mask, uint8x16_t* a, uint8x16_t* b) {
  const uint8x16_t m = vdupq_n_u8(mask);
  if constexpr (s == 0) {
    *a = vandq_u8(ld_u8(p), m);
    *b = vandq_u8(ld_u8(p + 16), m);
  } else {
    *a = vandq_u8(vshrq_n_u8(ld_u8(p), s), m);
    *b = vandq_u8(vshrq_n_u8(ld_u8(p + 16), s), m);
  }
}

// `value` where bit `bit` of the bytes of the 32-byte plane is set, 0 elsewhere.
inline void plane(const uint8_t* p, int bit, uint8_t value, uint8x16_t* a, uint8x16_t* b) {
  const uint8x16_t sel = vdupq_n_u8(static_cast<uint8_t>(1u << bit)), v = vdupq_n_u8(value);
  *a = vandq_u8(vtstq_u8(ld_u8(p), sel), v);
  *b = vandq_u8(vtstq_u8(ld_u8(p + 16), sel), v);
}

inline int8x16_t s8(uint8x16_t v) { return vreinterpretq_s8_u8(v); }

// Q4_K / Q5_K: the 8 six-bit scales and mins as bytes [sc0..7, m0..7].
inline uint8x16_t k4_scales(const uint8_t* q) {
  constexpr uint64_t kmask1 = 0x3f3f3f3f, kmask2 = 0x0f0f0f0f, kmask3 = 0x03030303;
  const uint64_t a = load_as<uint32_t>(q), b = load_as<uint32_t>(q + 4), c = load_as<uint32_t>(q + 8);
  const uint64_t sc = (a & kmask1) | (((c & kmask2) | (((a >> 6) & kmask3) << 4)) << 32);
  const uint64_t mn = (b & kmask1) | ((((c >> 4) & kmask2) | (((b >> 6) & kmask3) << 4)) << 32);
  return vcombine_u8(vcreate_u8(sc), vcreate_u8(mn));
}

struct Q2_KT {
  using W = BlockQ2_K;
  static constexpr bool kMin = true;
  static void scales(const W* b, Dec& o) {
    const uint8x16_t s = ld_u8(b->scales);
    set_scales(s8(vandq_u8(s, vdupq_n_u8(0x0F))), o);
    set_mins(vshrq_n_u8(s, 4), o);
    o.d = f16(b->d);
    o.dmin = f16(b->dmin);
  }
  template <int k>
  static void chunk(const W* b, int8x16_t* q0, int8x16_t* q1) {
    uint8x16_t a, c;
    fields<2 * (k % 4)>(b->qs + 32 * (k / 4), 3, &a, &c);
    *q0 = s8(a);
    *q1 = s8(c);
  }
};

struct Q3_KT {
  using W = BlockQ3_K;
  static constexpr bool kMin = false;
  static void scales(const W* b, Dec& o) {
    constexpr uint32_t kmask1 = 0x03030303, kmask2 = 0x0f0f0f0f;
    uint32_t a[4];
    std::memcpy(a, b->scales, 12);
    const uint32_t tmp = a[2];
    a[2] = ((a[0] >> 4) & kmask2) | (((tmp >> 4) & kmask1) << 4);
    a[3] = ((a[1] >> 4) & kmask2) | (((tmp >> 6) & kmask1) << 4);
    a[0] = (a[0] & kmask2) | (((tmp >> 0) & kmask1) << 4);
    a[1] = (a[1] & kmask2) | (((tmp >> 2) & kmask1) << 4);
    set_scales(vsubq_s8(vreinterpretq_s8_u32(vld1q_u32(a)), vdupq_n_s8(32)), o);
    o.d = f16(b->d);
    o.dmin = 0.0f;
  }
  template <int k>
  static void chunk(const W* b, int8x16_t* q0, int8x16_t* q1) {
    uint8x16_t a, c, ha, hc;
    fields<2 * (k % 4)>(b->qs + 32 * (k / 4), 3, &a, &c);
    plane(b->hmask, k, 4, &ha, &hc);
    *q0 = vsubq_s8(s8(vorrq_u8(a, ha)), vdupq_n_s8(4));
    *q1 = vsubq_s8(s8(vorrq_u8(c, hc)), vdupq_n_s8(4));
  }
};

struct Q4_KT {
  using W = BlockQ4_K;
  static constexpr bool kMin = true;
  template <class B>  // BlockQ4_K or BlockQ5_K: same scales
  static void scales(const B* b, Dec& o) {
    const uint8x16_t sm = k4_scales(b->scales);
    set_scales(s8(vzip1q_u8(sm, sm)), o);
    set_mins(vzip2q_u8(sm, sm), o);
    o.d = f16(b->d);
    o.dmin = f16(b->dmin);
  }
  template <int k>
  static void chunk(const W* b, int8x16_t* q0, int8x16_t* q1) {
    uint8x16_t a, c;
    fields<4 * (k % 2)>(b->qs + 32 * (k / 2), 0x0F, &a, &c);
    *q0 = s8(a);
    *q1 = s8(c);
  }
};

struct Q5_KT {
  using W = BlockQ5_K;
  static constexpr bool kMin = true;
  static void scales(const W* b, Dec& o) { Q4_KT::scales(b, o); }
  template <int k>
  static void chunk(const W* b, int8x16_t* q0, int8x16_t* q1) {
    uint8x16_t a, c, ha, hc;
    fields<4 * (k % 2)>(b->qs + 32 * (k / 2), 0x0F, &a, &c);
    plane(b->qh, k, 16, &ha, &hc);
    *q0 = s8(vorrq_u8(a, ha));
    *q1 = s8(vorrq_u8(c, hc));
  }
};

struct Q6_KT {
  using W = BlockQ6_K;
  static constexpr bool kMin = false;
  static void scales(const W* b, Dec& o) {
    set_scales(vld1q_s8(b->scales), o);
    o.d = f16(b->d);
    o.dmin = 0.0f;
  }
  template <int k>
  static void chunk(const W* b, int8x16_t* q0, int8x16_t* q1) {
    constexpr int n = k / 4, j = k % 4;
    uint8x16_t a, c, ha, hc;
    fields<4 * (j / 2)>(b->ql + 64 * n + 32 * (j % 2), 0x0F, &a, &c);
    fields<2 * j>(b->qh + 32 * n, 3, &ha, &hc);
    *q0 = vsubq_s8(s8(vorrq_u8(a, vshlq_n_u8(ha, 4))), vdupq_n_s8(32));
    *q1 = vsubq_s8(s8(vorrq_u8(c, vshlq_n_u8(hc, 4))), vdupq_n_s8(32));
  }
};

struct IQ4_XST {
  using W = BlockIQ4_XS;
  static constexpr bool kMin = false;
  static void scales(const W* b, Dec& o) {
    int8_t s[16];
    for (int j = 0; j < 8; ++j) {
      const int low = (b->scales_l[j / 2] >> (4 * (j % 2))) & 0xF;
      const int high = (b->scales_h >> (2 * j)) & 3;
      s[2 * j] = s[2 * j + 1] = static_cast<int8_t>((low | (high << 4)) - 32);
    }
    set_scales(vld1q_s8(s), o);
    o.d = f16(b->d);
    o.dmin = 0.0f;
  }
  template <int k>
  static void chunk(const W* b, int8x16_t* q0, int8x16_t* q1) {
    const int8x16_t tbl = vld1q_s8(tensor::kIQ4NLValues);
    uint8x16_t lo, hi;
    nibbles(b->qs + 16 * k, &lo, &hi);
    *q0 = vqtbl1q_s8(tbl, lo);
    *q1 = vqtbl1q_s8(tbl, hi);
  }
};

template <class T>
struct KernK {
  static constexpr int kBlock = 256;
  using W = typename T::W;

  // Chunk k into the accumulators: two per activation row (one per 16-group of the chunk), and for a
  // single row two more (by chunk parity), so the multiply-accumulate chains stay short.
  static constexpr int kSets(int nc) { return nc == 1 ? 4 : 2; }

  template <int k, int NC>
  static inline void chunk_step(const W* wb, const Dec& dq, const uint8_t* x, uint64_t xs, int64_t i,
                                int32x4_t (&iacc)[kSets(NC)][NC]) {
    constexpr int a = kSets(NC) == 4 ? 2 * (k % 2) : 0;
    int8x16_t q0, q1;
    T::template chunk<k>(wb, &q0, &q1);
    const int32x4_t zero = vdupq_n_s32(0);
#pragma GCC unroll 16
    for (int c = 0; c < NC; ++c) {
      const int8_t* xq = reinterpret_cast<const BlockQ8_K*>(x + c * xs)[i].qs + 32 * k;
      iacc[a][c] =
          vmlaq_laneq_s32(iacc[a][c], vdotq_s32(zero, q0, ld_s8(xq)), dq.sc[(2 * k) / 4], (2 * k) % 4);
      iacc[a + 1][c] = vmlaq_laneq_s32(iacc[a + 1][c], vdotq_s32(zero, q1, ld_s8(xq + 16)),
                                       dq.sc[(2 * k + 1) / 4], (2 * k + 1) % 4);
    }
  }

  template <int NR, int NC>
  static void run(int64_t nb, const uint8_t* w, uint64_t ws, const uint8_t* x, uint64_t xs, float* out,
                  int64_t os) {
    float32x4_t acc[NR][NC];
#pragma GCC unroll 16
    for (int r = 0; r < NR; ++r)
#pragma GCC unroll 16
      for (int c = 0; c < NC; ++c) acc[r][c] = vdupq_n_f32(0.0f);
    for (int64_t i = 0; i < nb; ++i) {
#pragma GCC unroll 16
      for (int r = 0; r < NR; ++r) {
        const W* wb = reinterpret_cast<const W*>(w + r * ws) + i;
        Dec dq;
        T::scales(wb, dq);
        int32x4_t iacc[kSets(NC)][NC];
        for (auto& set : iacc)
          for (auto& v : set) v = vdupq_n_s32(0);
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
          const BlockQ8_K* xb = reinterpret_cast<const BlockQ8_K*>(x + c * xs) + i;
          int32x4_t is = vaddq_s32(iacc[0][c], iacc[1][c]);
          if constexpr (kSets(NC) == 4) is = vaddq_s32(is, vaddq_s32(iacc[2][c], iacc[3][c]));
          acc[r][c] = vfmaq_n_f32(acc[r][c], vcvtq_f32_s32(is), dq.d * xb->d);
          if constexpr (T::kMin) {
            const int16x8_t b0 = vld1q_s16(xb->bsums), b1 = vld1q_s16(xb->bsums + 8);
            int32x4_t ms = vmull_s16(vget_low_s16(dq.m16[0]), vget_low_s16(b0));
            ms = vmlal_high_s16(ms, dq.m16[0], b0);
            ms = vmlal_s16(ms, vget_low_s16(dq.m16[1]), vget_low_s16(b1));
            ms = vmlal_high_s16(ms, dq.m16[1], b1);
            acc[r][c] = vfmaq_n_f32(acc[r][c], vcvtq_f32_s32(ms), -dq.dmin * xb->d);
          }
        }
      }
    }
#pragma GCC unroll 16
    for (int r = 0; r < NR; ++r)
#pragma GCC unroll 16
      for (int c = 0; c < NC; ++c) out[c * os + r] = vaddvq_f32(acc[r][c]);
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

}  // namespace hearth::kernels::neon
