// NEON dot products of float weights (F32, F16, BF16) with F32 activations, and the float helpers.
// Weights convert exactly to F32 (fcvtl, BF16 by a shift), so only the summation order differs
// from the scalar reference. Row tails (n % 4) are finished in scalar code.
#include "kernels/arm/neon/common.h"
#include "kernels/arm/neon/neon.h"

namespace hearth::kernels::neon {
namespace {

struct F32L {
  static constexpr int kSize = 4;
  static float32x4_t load(const uint8_t* p) { return vld1q_f32(reinterpret_cast<const float*>(p)); }
  static float one(const uint8_t* p) { return load_as<float>(p); }
};
struct F16L {
  static constexpr int kSize = 2;
  static float32x4_t load(const uint8_t* p) {
    return vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(reinterpret_cast<const uint16_t*>(p))));
  }
  static float one(const uint8_t* p) { return f16(load_as<uint16_t>(p)); }
};
struct BF16L {
  static constexpr int kSize = 2;
  static float32x4_t load(const uint8_t* p) {
    return vreinterpretq_f32_u32(vshll_n_u16(vld1_u16(reinterpret_cast<const uint16_t*>(p)), 16));
  }
  static float one(const uint8_t* p) {
    const uint32_t b = static_cast<uint32_t>(load_as<uint16_t>(p)) << 16;
    return load_as<float>(&b);
  }
};

template <class L>
struct KernF {
  static constexpr int kBlock = 1;
  static constexpr int kVecUnroll = 4;  // accumulators of the one-row kernel (FMA latency)

  template <int NR, int NC, int U = 1>
  static void run(int64_t n, const uint8_t* w, uint64_t ws, const uint8_t* x, uint64_t xs, float* out,
                  int64_t os) {
    // U interleaved accumulators per output: only the one-row kernel (vec_dot) uses more than one, so a
    // tile's arithmetic for an output never depends on the tile's size (batch invariance).
    float32x4_t acc[U][NR][NC];
#pragma GCC unroll 16
    for (int u = 0; u < U; ++u)
#pragma GCC unroll 16
      for (int r = 0; r < NR; ++r)
#pragma GCC unroll 16
        for (int c = 0; c < NC; ++c) acc[u][r][c] = vdupq_n_f32(0.0f);
    int64_t i = 0;
    for (; i + 4 * U <= n; i += 4 * U) {
#pragma GCC unroll 16
      for (int u = 0; u < U; ++u) {
        const int64_t j = i + 4 * u;
        float32x4_t wv[NR];
#pragma GCC unroll 16
        for (int r = 0; r < NR; ++r) wv[r] = L::load(w + r * ws + j * L::kSize);
#pragma GCC unroll 16
        for (int c = 0; c < NC; ++c) {
          const float32x4_t xv = vld1q_f32(reinterpret_cast<const float*>(x + c * xs) + j);
#pragma GCC unroll 16
          for (int r = 0; r < NR; ++r) acc[u][r][c] = vfmaq_f32(acc[u][r][c], wv[r], xv);
        }
      }
    }
    for (; i + 4 <= n; i += 4) {
      float32x4_t wv[NR];
#pragma GCC unroll 16
      for (int r = 0; r < NR; ++r) wv[r] = L::load(w + r * ws + i * L::kSize);
#pragma GCC unroll 16
      for (int c = 0; c < NC; ++c) {
        const float32x4_t xv = vld1q_f32(reinterpret_cast<const float*>(x + c * xs) + i);
#pragma GCC unroll 16
        for (int r = 0; r < NR; ++r) acc[0][r][c] = vfmaq_f32(acc[0][r][c], wv[r], xv);
      }
    }
#pragma GCC unroll 16
    for (int r = 0; r < NR; ++r)
#pragma GCC unroll 16
      for (int c = 0; c < NC; ++c) {
        float32x4_t s = acc[0][r][c];
#pragma GCC unroll 16
        for (int u = 1; u < U; ++u) s = vaddq_f32(s, acc[u][r][c]);
        float t = vaddvq_f32(s);
        const float* xr = reinterpret_cast<const float*>(x + c * xs);
        for (int64_t j = i; j < n; ++j) t += L::one(w + r * ws + j * L::kSize) * xr[j];
        out[c * os + r] = t;
      }
  }
};

}  // namespace

#define HEARTH_FLOAT(name, L)                                                                             \
  float vec_dot_##name(int64_t n, const void* w, const void* x) {                                         \
    return vec_dot_driver<KernF<L>>(n, w, x);                                                             \
  }                                                                                                       \
  void dot_tile_##name(int64_t n, int nr, int nc, const void* w, uint64_t ws, const void* x, uint64_t xs, \
                       float* out, int64_t os) {                                                          \
    tile_driver<KernF<L>, kFloatTileRows, kFloatTileCols>(n, nr, nc, w, ws, x, xs, out, os);              \
  }                                                                                                       \
  void dot_rows_##name(int64_t n, int nr, int nc, const void* w, uint64_t ws, const void* x, uint64_t xs, \
                       float* out, int64_t os) {                                                          \
    rows_driver<KernF<L>, 1, 4>(n, nr, nc, w, ws, x, xs, out, os);                                        \
  }

HEARTH_FLOAT(f32, F32L)
HEARTH_FLOAT(f16, F16L)
HEARTH_FLOAT(bf16, BF16L)
#undef HEARTH_FLOAT

float dot_f32(int64_t n, const float* a, const float* b) { return vec_dot_driver<KernF<F32L>>(n, a, b); }

void axpy_f32(int64_t n, float a, const float* x, float* y) {
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) vst1q_f32(y + i, vfmaq_n_f32(vld1q_f32(y + i), vld1q_f32(x + i), a));
  for (; i < n; ++i) y[i] += a * x[i];
}

}  // namespace hearth::kernels::neon
