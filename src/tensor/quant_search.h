// tensor (internal): the scale searches shared by the quantizers. They follow the published GGUF
// reference quantizer step by step (same float operations in the same order) so that our files
// match its files bit for bit wherever the inputs are the same.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>

#include "tensor/types.h"

namespace hearth::tensor::detail {

// Throws hearth::Error unless t is a known type and n a non-negative multiple of its block size.
void check_row(Type t, int64_t n, const char* what);

constexpr float kGroupMaxEps = 1e-15f;

// Round to nearest, ties to even (the float "magic number" trick); |f| must be < 2^22.
inline int nearest_int(float f) {
  const float v = f + 12582912.f;
  int32_t i;
  std::memcpy(&i, &v, sizeof(i));
  return (i & 0x007fffff) - 0x00400000;
}

inline int clamp_int(int v, int lo, int hi) { return v < lo ? lo : (v > hi ? hi : v); }

// Symmetric quantization of x[0..n) to L in [0, 2*nmax) (stored with +nmax offset), returning the
// scale. rmse_type 0: plain max scaling; 1: weighted least squares with a +-0.9 scale search, weights
// qw (or x^2 when qw is null). Negative rmse_type: one refinement step only.
float make_qx_quants(int n, int nmax, const float* x, int8_t* L, int rmse_type, const float* qw);

// Q3_K's symmetric quantization (weights x^2) with an iterative per-element refinement.
float make_q3_quants(int n, int nmax, const float* x, int8_t* L, bool do_rmse);

// Asymmetric quantization to L in [0, nmax] with scale and min (returned as -min in *the_min):
// a grid search of nstep+1 scales around nmax/(max-min), each refit by weighted least squares.
float make_qkx2_quants(int n, int nmax, const float* x, const float* weights, uint8_t* L, float* the_min,
                       uint8_t* Laux, float rmin, float rdelta, int nstep, bool use_mad);
// As make_qkx2_quants (weights may be null: x^2), robust against degenerate fits.
float make_qkx3_quants(int n, int nmax, const float* x, const float* weights, uint8_t* L, float* the_min,
                       uint8_t* Laux, float rmin, float rdelta, int nstep, bool use_mad);

// Quantization of non-negative values (the sub-block scales/mins) to [0, nmax], weighted.
float make_qp_quants(int n, int nmax, const float* x, uint8_t* L, const float* quant_weights);

// Bit pattern of max |x[i]| over n (a multiple of 8) elements. Non-negative floats order like their
// bit patterns, so an integer max in 8 lanes finds it and vectorizes (float compares do not, under
// the default trapping-math rules). A result above 0x7f800000 means a NaN is present.
inline uint32_t absmax_bits8(const float* x, int n) {
  uint32_t m[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  for (int i = 0; i < n; i += 8)
    for (int l = 0; l < 8; ++l) {
      uint32_t b;
      std::memcpy(&b, x + i + l, 4);
      b &= 0x7fffffffu;
      m[l] = m[l] < b ? b : m[l];
    }
  uint32_t r = 0;
  for (uint32_t v : m) r = r < v ? v : r;
  return r;
}

inline float float_from_bits(uint32_t b) {
  float f;
  std::memcpy(&f, &b, 4);
  return f;
}

// roundf() (half away from zero) for |v| < 2^29: v + 0.5 is exact in double, and the truncating
// conversion vectorizes on baseline x86-64 (roundf does not).
inline int round_half_away(float v) {
  const double d = v;
  return static_cast<int>(d + std::copysign(0.5, d));
}

// Index of the nearest codebook value (val sorted ascending, n a power of two); ties go up.
inline int best_index_int8(int n, const int8_t* val, float x) {
  const float x2 = x + x;
  int idx = 0;
  for (int step = n >> 1; step > 0; step >>= 1) {
    const int j = idx + step;
    idx = (x2 >= static_cast<float>(val[j - 1] + val[j])) ? j : idx;
  }
  return idx;
}

}  // namespace hearth::tensor::detail
