// IQ4_NL (32-element blocks, one fp16 scale) and IQ4_XS (256-element super-blocks with 6-bit
// sub-block scales): 4-bit indices into the non-linear codebook kIQ4NLValues. The quantizer searches
// the sub-block scale over 15 candidates around max/values[0], each refit by weighted least squares
// (weights x^2, or imatrix[j] * sqrt(sigma2 + x[j]^2)), as the standard GGUF quantizer does.
#include <cmath>
#include <cstring>

#include "base/fp16.h"
#include "tensor/quant_search.h"
#include "tensor/quants.h"

namespace hearth::tensor {

using detail::best_index_int8;
using detail::clamp_int;
using detail::kGroupMaxEps;
using detail::nearest_int;

namespace {

constexpr int kBlock = 32;  // elements per scale
constexpr int kTries = 7;   // scale candidates on each side of the first guess

inline int nl_index(float x) { return best_index_int8(16, kIQ4NLValues, x); }

// Best scale of one 32-element sub-block; its indices go to L. Returns 0 for an all-zero block.
float iq4_subblock_scale(const float* xb, const float* weight, uint8_t* L) {
  const int8_t* values = kIQ4NLValues;
  float amax = 0, max = 0;
  for (int j = 0; j < kBlock; ++j) {
    const float ax = std::fabs(xb[j]);
    if (ax > amax) {
      amax = ax;
      max = xb[j];
    }
  }
  if (amax < kGroupMaxEps) {
    std::memset(L, 0, kBlock);
    return 0.f;
  }
  float d = -max / values[0];
  float id = 1 / d;
  float sumqx = 0, sumq2 = 0;
  for (int j = 0; j < kBlock; ++j) {
    const int l = nl_index(id * xb[j]);
    L[j] = static_cast<uint8_t>(l);
    const float q = values[l];
    const float w = weight[j];
    sumqx += w * q * xb[j];
    sumq2 += w * q * q;
  }
  d = sumq2 > 0 ? sumqx / sumq2 : 0.f;
  float best = d * sumqx;
  for (int itry = -kTries; itry <= kTries; ++itry) {
    id = (itry + values[0]) / max;
    sumqx = sumq2 = 0;
    for (int j = 0; j < kBlock; ++j) {
      const float q = values[nl_index(id * xb[j])];
      const float w = weight[j];
      sumqx += w * q * xb[j];
      sumq2 += w * q * q;
    }
    if (sumq2 > 0 && sumqx * sumqx > best * sumq2) {
      d = sumqx / sumq2;
      best = d * sumqx;
    }
  }
  return d;
}

// Error weights of the 32 elements at xb (qw: the imatrix slice or null).
void iq4_weights(const float* xb, const float* qw, float sigma2, float* weight) {
  if (qw) {
    for (int j = 0; j < kBlock; ++j) weight[j] = qw[j] * std::sqrt(sigma2 + xb[j] * xb[j]);
  } else {
    for (int j = 0; j < kBlock; ++j) weight[j] = xb[j] * xb[j];
  }
}

float mean_square2(const float* x, int n) {
  float sigma2 = 0;
  for (int j = 0; j < n; ++j) sigma2 += x[j] * x[j];
  return sigma2 * (2.f / n);
}

// 32 indices into 16 bytes: element j in the low nibble of byte j, element j+16 in the high one.
void pack_nibbles(const uint8_t* L, uint8_t* qs) {
  for (int j = 0; j < 16; ++j) qs[j] = static_cast<uint8_t>(L[j] | (L[16 + j] << 4));
}

}  // namespace

void quantize_iq4_nl(const float* x, BlockIQ4_NL* y, int64_t n, const float* imatrix) {
  uint8_t L[kBlock];
  float weight[kBlock];
  for (int64_t ib = 0; ib < n / QK4_NL; ++ib) {
    const float* xb = x + ib * QK4_NL;
    iq4_weights(xb, imatrix ? imatrix + ib * QK4_NL : nullptr, mean_square2(xb, QK4_NL), weight);
    const float d = iq4_subblock_scale(xb, weight, L);
    y[ib].d = f32_to_fp16(d);
    // Re-pick the indices for the chosen scale (the search only kept the scale).
    const float id = d ? 1 / d : 0;
    for (int j = 0; j < QK4_NL; ++j) L[j] = static_cast<uint8_t>(nl_index(id * xb[j]));
    pack_nibbles(L, y[ib].qs);
  }
}

void quantize_iq4_xs(const float* x, BlockIQ4_XS* y, int64_t n, const float* imatrix) {
  uint8_t L[QK_K];
  float weight[kBlock], scales[QK_K / kBlock];
  for (int64_t ibl = 0; ibl < n / QK_K; ++ibl) {
    const float* xs = x + ibl * QK_K;
    const float* qs = imatrix ? imatrix + ibl * QK_K : nullptr;
    BlockIQ4_XS& b = y[ibl];
    const float sigma2 = mean_square2(xs, QK_K);
    float max_scale = 0, amax_scale = 0;
    for (int ib = 0; ib < QK_K / kBlock; ++ib) {
      const float* xb = xs + ib * kBlock;
      iq4_weights(xb, qs ? qs + ib * kBlock : nullptr, sigma2, weight);
      scales[ib] = iq4_subblock_scale(xb, weight, L + ib * kBlock);
      if (std::fabs(scales[ib]) > amax_scale) {
        amax_scale = std::fabs(scales[ib]);
        max_scale = scales[ib];
      }
    }
    // 6-bit signed sub-block scales against d = -max_scale/32; indices re-picked for each.
    const float d = -max_scale / 32;
    b.d = f32_to_fp16(d);
    b.scales_h = 0;
    const float id = d ? 1 / d : 0.f;
    for (int ib = 0; ib < QK_K / kBlock; ++ib) {
      int l = clamp_int(nearest_int(id * scales[ib]), -32, 31);
      const float dl = d * l;
      const float idl = dl ? 1 / dl : 0.f;
      const float* xb = xs + ib * kBlock;
      for (int j = 0; j < kBlock; ++j) L[ib * kBlock + j] = static_cast<uint8_t>(nl_index(idl * xb[j]));
      l += 32;
      const uint8_t l_l = static_cast<uint8_t>(l & 0xf), l_h = static_cast<uint8_t>(l >> 4);
      if (ib % 2 == 0) {
        b.scales_l[ib / 2] = l_l;
      } else {
        b.scales_l[ib / 2] = static_cast<uint8_t>(b.scales_l[ib / 2] | (l_l << 4));
      }
      b.scales_h = static_cast<uint16_t>(b.scales_h | (l_h << (2 * (ib % 8))));
    }
    for (int i = 0; i < QK_K / 32; ++i) pack_nibbles(L + 32 * i, b.qs + 16 * i);
  }
}

}  // namespace hearth::tensor
