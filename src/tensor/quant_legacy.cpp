// The 32-element block formats (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q8_1): reference quantizers.
// Without an imatrix: plain max / min-max scaling (what GGUF files made without an imatrix hold).
// With one: the weighted least-squares searches (make_qx_quants / make_qkx3_quants), weights
// imatrix[j] * sqrt(sigma2 + x[j]^2) with sigma2 the row's mean square.
#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstring>

#include "base/fp16.h"
#include "tensor/quant_search.h"
#include "tensor/quants.h"

namespace hearth::tensor {

using detail::make_qkx3_quants;
using detail::make_qx_quants;

namespace {

// Value of largest magnitude (keeping its sign), first one on ties.
inline float signed_absmax(const float* x, int n) {
  float amax = 0.0f, max = 0.0f;
  for (int j = 0; j < n; ++j) {
    if (amax < std::fabs(x[j])) {
      amax = std::fabs(x[j]);
      max = x[j];
    }
  }
  return max;
}

inline void min_max(const float* x, int n, float* mn, float* mx) {
  float min = FLT_MAX, max = -FLT_MAX;
  for (int j = 0; j < n; ++j) {
    if (x[j] < min) min = x[j];
    if (x[j] > max) max = x[j];
  }
  *mn = min;
  *mx = max;
}

// Truncating float -> int as C's (int8_t) cast of a value known to be in [0, 127] (NaN gives 0).
inline int trunc_small(float v) { return v >= 0.0f && v < 128.0f ? static_cast<int>(v) : 0; }

// The row's mean square, the base of the imatrix error weights.
inline float row_sigma2(const float* x, int64_t n) {
  float sum_x2 = 0;
  for (int64_t j = 0; j < n; ++j) sum_x2 += x[j] * x[j];
  return sum_x2 / n;
}

inline void imatrix_weights(const float* xb, const float* qw, float sigma2, float* weight, int n) {
  for (int j = 0; j < n; ++j) weight[j] = qw[j] * std::sqrt(sigma2 + xb[j] * xb[j]);
}

// Packs 32 5-bit levels into 16 nibble bytes plus 32 high bits.
inline void pack_q5(const uint8_t* L, uint8_t* qs, uint8_t qh_out[4]) {
  uint32_t qh = 0;
  for (int j = 0; j < 16; ++j) {
    const uint8_t x0 = L[j], x1 = L[j + 16];
    qs[j] = static_cast<uint8_t>((x0 & 0x0F) | ((x1 & 0x0F) << 4));
    qh |= ((x0 & 0x10u) >> 4) << (j + 0);
    qh |= ((x1 & 0x10u) >> 4) << (j + 16);
  }
  std::memcpy(qh_out, &qh, 4);
}

}  // namespace

void quantize_q4_0(const float* x, BlockQ4_0* y, int64_t n, const float* imatrix) {
  const int64_t nb = n / QK4_0;
  if (!imatrix) {
    for (int64_t i = 0; i < nb; ++i) {
      const float* xb = x + i * QK4_0;
      const float d = signed_absmax(xb, QK4_0) / -8;
      const float id = d ? 1.0f / d : 0.0f;
      y[i].d = f32_to_fp16(d);
      for (int j = 0; j < QK4_0 / 2; ++j) {
        const int x0 = std::min(15, trunc_small(xb[j] * id + 8.5f));
        const int x1 = std::min(15, trunc_small(xb[j + QK4_0 / 2] * id + 8.5f));
        y[i].qs[j] = static_cast<uint8_t>(x0 | (x1 << 4));
      }
    }
    return;
  }
  const float sigma2 = row_sigma2(x, n);
  float weight[QK4_0];
  int8_t L[QK4_0];
  for (int64_t i = 0; i < nb; ++i) {
    const float* xb = x + i * QK4_0;
    imatrix_weights(xb, imatrix + i * QK4_0, sigma2, weight, QK4_0);
    const float d = make_qx_quants(QK4_0, 8, xb, L, 1, weight);
    y[i].d = f32_to_fp16(d);
    for (int j = 0; j < 16; ++j) y[i].qs[j] = static_cast<uint8_t>(L[j] | (L[j + 16] << 4));
  }
}

void quantize_q4_1(const float* x, BlockQ4_1* y, int64_t n, const float* imatrix) {
  const int64_t nb = n / QK4_1;
  if (!imatrix) {
    for (int64_t i = 0; i < nb; ++i) {
      const float* xb = x + i * QK4_1;
      float min, max;
      min_max(xb, QK4_1, &min, &max);
      const float d = (max - min) / ((1 << 4) - 1);
      const float id = d ? 1.0f / d : 0.0f;
      y[i].d = f32_to_fp16(d);
      y[i].m = f32_to_fp16(min);
      for (int j = 0; j < QK4_1 / 2; ++j) {
        const int x0 = std::min(15, trunc_small((xb[j] - min) * id + 0.5f));
        const int x1 = std::min(15, trunc_small((xb[j + QK4_1 / 2] - min) * id + 0.5f));
        y[i].qs[j] = static_cast<uint8_t>(x0 | (x1 << 4));
      }
    }
    return;
  }
  const float sigma2 = row_sigma2(x, n);
  float weight[QK4_1];
  uint8_t L[QK4_1], Laux[QK4_1];
  for (int64_t i = 0; i < nb; ++i) {
    const float* xb = x + i * QK4_1;
    imatrix_weights(xb, imatrix + i * QK4_1, sigma2, weight, QK4_1);
    float min;
    const float d = make_qkx3_quants(QK4_1, 15, xb, weight, L, &min, Laux, -0.9f, 0.05f, 36, false);
    y[i].d = f32_to_fp16(d);
    y[i].m = f32_to_fp16(-min);
    for (int j = 0; j < 16; ++j) y[i].qs[j] = static_cast<uint8_t>(L[j] | (L[j + 16] << 4));
  }
}

void quantize_q5_0(const float* x, BlockQ5_0* y, int64_t n, const float* imatrix) {
  const int64_t nb = n / QK5_0;
  uint8_t L[QK5_0];
  if (!imatrix) {
    for (int64_t i = 0; i < nb; ++i) {
      const float* xb = x + i * QK5_0;
      const float d = signed_absmax(xb, QK5_0) / -16;
      const float id = d ? 1.0f / d : 0.0f;
      y[i].d = f32_to_fp16(d);
      for (int j = 0; j < QK5_0; ++j)
        L[j] = static_cast<uint8_t>(std::min(31, trunc_small(xb[j] * id + 16.5f)));
      pack_q5(L, y[i].qs, y[i].qh);
    }
    return;
  }
  const float sigma2 = row_sigma2(x, n);
  float weight[QK5_0];
  int8_t Ls[QK5_0];
  for (int64_t i = 0; i < nb; ++i) {
    const float* xb = x + i * QK5_0;
    imatrix_weights(xb, imatrix + i * QK5_0, sigma2, weight, QK5_0);
    const float d = make_qx_quants(QK5_0, 16, xb, Ls, 1, weight);
    y[i].d = f32_to_fp16(d);
    for (int j = 0; j < QK5_0; ++j) L[j] = static_cast<uint8_t>(Ls[j]);
    pack_q5(L, y[i].qs, y[i].qh);
  }
}

void quantize_q5_1(const float* x, BlockQ5_1* y, int64_t n, const float* imatrix) {
  const int64_t nb = n / QK5_1;
  uint8_t L[QK5_1];
  if (!imatrix) {
    for (int64_t i = 0; i < nb; ++i) {
      const float* xb = x + i * QK5_1;
      float min, max;
      min_max(xb, QK5_1, &min, &max);
      const float d = (max - min) / ((1 << 5) - 1);
      const float id = d ? 1.0f / d : 0.0f;
      y[i].d = f32_to_fp16(d);
      y[i].m = f32_to_fp16(min);
      // No clamp here in the reference: (x - min) * id <= 31 up to rounding, and 31.5 truncates to 31.
      for (int j = 0; j < QK5_1; ++j) L[j] = static_cast<uint8_t>(trunc_small((xb[j] - min) * id + 0.5f));
      pack_q5(L, y[i].qs, y[i].qh);
    }
    return;
  }
  const float sigma2 = row_sigma2(x, n);
  float weight[QK5_1];
  uint8_t Laux[QK5_1];
  for (int64_t i = 0; i < nb; ++i) {
    const float* xb = x + i * QK5_1;
    imatrix_weights(xb, imatrix + i * QK5_1, sigma2, weight, QK5_1);
    float min;
    const float d = make_qkx3_quants(QK5_1, 31, xb, weight, L, &min, Laux, -0.9f, 0.05f, 36, false);
    y[i].d = f32_to_fp16(d);
    y[i].m = f32_to_fp16(-min);
    pack_q5(L, y[i].qs, y[i].qh);
  }
}

namespace {

// amax / 127 scaling of 32 values into q; returns d. The common case runs as vectorizable loops;
// blocks holding NaN / Inf or a tiny non-zero maximum (where 1/d overflows) take a careful path that
// ignores NaNs in the maximum and clamps (NaN -> 0), so no float -> int conversion is undefined.
float q8_block32(const float* xb, int8_t* q) {
  const uint32_t mbits = detail::absmax_bits8(xb, 32);
  const float amax = detail::float_from_bits(mbits);
  if (mbits < 0x7f800000u && (amax == 0.0f || amax > 1e-30f)) {
    const float d = amax / ((1 << 7) - 1);
    const float id = d ? 1.0f / d : 0.0f;
    for (int j = 0; j < 32; ++j) q[j] = static_cast<int8_t>(detail::round_half_away(xb[j] * id));
    return d;
  }
  float m = 0.0f;
  for (int j = 0; j < 32; ++j) m = std::fabs(xb[j]) > m ? std::fabs(xb[j]) : m;
  const float d = m / ((1 << 7) - 1);
  const float id = d ? 1.0f / d : 0.0f;
  for (int j = 0; j < 32; ++j) {
    const float v = xb[j] * id;
    q[j] = std::isnan(v) ? 0 : static_cast<int8_t>(detail::round_half_away(std::clamp(v, -127.0f, 127.0f)));
  }
  return d;
}

}  // namespace

void quantize_q8_0(const float* x, BlockQ8_0* y, int64_t n) {
  for (int64_t i = 0; i < n / QK8_0; ++i) y[i].d = f32_to_fp16(q8_block32(x + i * QK8_0, y[i].qs));
}

void quantize_q8_1(const float* x, BlockQ8_1* y, int64_t n) {
  for (int64_t i = 0; i < n / QK8_1; ++i) {
    const float d = q8_block32(x + i * QK8_1, y[i].qs);
    y[i].d = f32_to_fp16(d);
    int sum = 0;
    for (int j = 0; j < QK8_1; ++j) sum += y[i].qs[j];
    y[i].s = f32_to_fp16(static_cast<float>(sum) * d);
  }
}

}  // namespace hearth::tensor
