// AVX-512 dot products of float weights (F32, F16, BF16) with F32 activations, and the float helpers.
// Weights convert exactly to F32 (vcvtph2ps, BF16 by a shift), so only the summation order differs
// from the scalar reference.
#include "kernels/x86/avx512/avx512.h"
#include "kernels/x86/avx512/common.h"

namespace hearth::kernels::avx512 {
namespace {

struct F32L {
  static constexpr int kSize = 4;
  static __m512 load(const uint8_t* p) { return _mm512_loadu_ps(p); }
  static __m512 load(const uint8_t* p, __mmask16 m) { return _mm512_maskz_loadu_ps(m, p); }
};
struct F16L {
  static constexpr int kSize = 2;
  static __m512 load(const uint8_t* p) { return _mm512_cvtph_ps(load256(p)); }
  static __m512 load(const uint8_t* p, __mmask16 m) {
    return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, p));
  }
};
struct BF16L {
  static constexpr int kSize = 2;
  static __m512 widen(__m256i h) {
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
  }
  static __m512 load(const uint8_t* p) { return widen(load256(p)); }
  static __m512 load(const uint8_t* p, __mmask16 m) { return widen(_mm256_maskz_loadu_epi16(m, p)); }
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
    __m512 acc[U][NR][NC];
#pragma GCC unroll 16
    for (int u = 0; u < U; ++u)
#pragma GCC unroll 16
      for (int r = 0; r < NR; ++r)
#pragma GCC unroll 16
        for (int c = 0; c < NC; ++c) acc[u][r][c] = _mm512_setzero_ps();
    int64_t i = 0;
    for (; i + 16 * U <= n; i += 16 * U) {
#pragma GCC unroll 16
      for (int u = 0; u < U; ++u) {
        const int64_t j = i + 16 * u;
        __m512 wv[NR];
#pragma GCC unroll 16
        for (int r = 0; r < NR; ++r) wv[r] = L::load(w + r * ws + j * L::kSize);
#pragma GCC unroll 16
        for (int c = 0; c < NC; ++c) {
          const __m512 xv = _mm512_loadu_ps(x + c * xs + j * 4);
#pragma GCC unroll 16
          for (int r = 0; r < NR; ++r) acc[u][r][c] = _mm512_fmadd_ps(wv[r], xv, acc[u][r][c]);
        }
      }
    }
    for (; i < n; i += 16) {
      const __mmask16 m = n - i >= 16 ? 0xFFFF : static_cast<__mmask16>((1u << (n - i)) - 1);
      __m512 wv[NR];
#pragma GCC unroll 16
      for (int r = 0; r < NR; ++r) wv[r] = L::load(w + r * ws + i * L::kSize, m);
#pragma GCC unroll 16
      for (int c = 0; c < NC; ++c) {
        const __m512 xv = _mm512_maskz_loadu_ps(m, x + c * xs + i * 4);
#pragma GCC unroll 16
        for (int r = 0; r < NR; ++r) acc[0][r][c] = _mm512_fmadd_ps(wv[r], xv, acc[0][r][c]);
      }
    }
#pragma GCC unroll 16
    for (int r = 0; r < NR; ++r)
#pragma GCC unroll 16
      for (int c = 0; c < NC; ++c) {
        __m512 s = acc[0][r][c];
#pragma GCC unroll 16
        for (int u = 1; u < U; ++u) s = _mm512_add_ps(s, acc[u][r][c]);
        out[c * os + r] = hsum(s);
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
  const __m512 va = _mm512_set1_ps(a);
  int64_t i = 0;
  for (; i + 16 <= n; i += 16)
    _mm512_storeu_ps(y + i, _mm512_fmadd_ps(va, _mm512_loadu_ps(x + i), _mm512_loadu_ps(y + i)));
  if (i < n) {
    const __mmask16 m = static_cast<__mmask16>((1u << (n - i)) - 1);
    _mm512_mask_storeu_ps(
        y + i, m, _mm512_fmadd_ps(va, _mm512_maskz_loadu_ps(m, x + i), _mm512_maskz_loadu_ps(m, y + i)));
  }
}

}  // namespace hearth::kernels::avx512
