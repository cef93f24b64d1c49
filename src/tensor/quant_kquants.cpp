// The k-quants (256-element super-blocks): reference quantizers for Q2_K, Q3_K, Q4_K, Q5_K, Q6_K
// and Q8_K. Each super-block holds sub-block scales (and mins) quantized against one fp16 super
// scale. Without an imatrix these are the standard reference algorithms; with one, the weighted
// searches (weights imatrix[j] * sqrt(sigma2 + x[j]^2)).
#include <algorithm>
#include <cmath>
#include <cstring>

#include "base/fp16.h"
#include "tensor/quant_search.h"
#include "tensor/quants.h"

namespace hearth::tensor {

using detail::clamp_int;
using detail::kGroupMaxEps;
using detail::make_q3_quants;
using detail::make_qkx2_quants;
using detail::make_qkx3_quants;
using detail::make_qp_quants;
using detail::make_qx_quants;
using detail::nearest_int;

namespace {

// 2-bit levels L[0..256) into qs: byte l of each 32-byte half holds elements l, l+32, l+64, l+96.
void pack_2bit(const uint8_t* L, uint8_t* qs) {
  for (int j = 0; j < QK_K; j += 128) {
    for (int l = 0; l < 32; ++l) {
      qs[j / 4 + l] =
          static_cast<uint8_t>(L[j + l] | (L[j + l + 32] << 2) | (L[j + l + 64] << 4) | (L[j + l + 96] << 6));
    }
  }
}

// Re-quantizes each 16-element group of a Q2_K block against its final (fp16-rounded) scales.
void q2_k_requantize(const float* x, const BlockQ2_K& b, uint8_t* L) {
  const float dd = fp16_to_f32(b.d), dmin = fp16_to_f32(b.dmin);
  for (int j = 0; j < QK_K / 16; ++j) {
    const float d = dd * (b.scales[j] & 0xF);
    if (!d) continue;
    const float dm = dmin * (b.scales[j] >> 4);
    for (int ii = 0; ii < 16; ++ii) {
      const int l = nearest_int((x[16 * j + ii] + dm) / d);
      L[16 * j + ii] = static_cast<uint8_t>(clamp_int(l, 0, 3));
    }
  }
}

void q2_k_block_ref(const float* x, BlockQ2_K& y) {
  uint8_t L[QK_K], Laux[16];
  float weights[16], mins[QK_K / 16], scales[QK_K / 16];
  const float q4scale = 15.f;
  float max_scale = 0, max_min = 0;  // scales are positive since the min is subtracted
  for (int j = 0; j < QK_K / 16; ++j) {
    for (int l = 0; l < 16; ++l) weights[l] = std::fabs(x[16 * j + l]);
    scales[j] =
        make_qkx2_quants(16, 3, x + 16 * j, weights, L + 16 * j, &mins[j], Laux, -0.5f, 0.1f, 15, true);
    max_scale = std::max(max_scale, scales[j]);
    max_min = std::max(max_min, mins[j]);
  }
  if (max_scale > 0) {
    const float iscale = q4scale / max_scale;
    for (int j = 0; j < QK_K / 16; ++j) y.scales[j] = static_cast<uint8_t>(nearest_int(iscale * scales[j]));
    y.d = f32_to_fp16(max_scale / q4scale);
  } else {
    std::memset(y.scales, 0, sizeof(y.scales));
    y.d = f32_to_fp16(0.f);
  }
  if (max_min > 0) {
    const float iscale = q4scale / max_min;
    for (int j = 0; j < QK_K / 16; ++j) {
      const int l = nearest_int(iscale * mins[j]);
      y.scales[j] = static_cast<uint8_t>(y.scales[j] | (l << 4));
    }
    y.dmin = f32_to_fp16(max_min / q4scale);
  } else {
    y.dmin = f32_to_fp16(0.f);
  }
  q2_k_requantize(x, y, L);
  pack_2bit(L, y.qs);
}

void q2_k_block_weighted(const float* x, BlockQ2_K& y, const float* qw_block) {
  uint8_t L[QK_K], Laux[16], Ls[QK_K / 16], Lm[QK_K / 16];
  float mins[QK_K / 16], scales[QK_K / 16], sw[QK_K / 16] = {}, weight[16];
  float sumx2 = 0;
  for (int j = 0; j < QK_K; ++j) sumx2 += x[j] * x[j];
  const float sigma2 = sumx2 / QK_K;
  for (int j = 0; j < QK_K / 16; ++j) {
    const float* qw = qw_block + 16 * j;
    for (int l = 0; l < 16; ++l) weight[l] = qw[l] * std::sqrt(sigma2 + x[16 * j + l] * x[16 * j + l]);
    for (int l = 0; l < 16; ++l) sw[j] += weight[l];
    scales[j] =
        make_qkx3_quants(16, 3, x + 16 * j, weight, L + 16 * j, &mins[j], Laux, -0.9f, 0.05f, 36, false);
  }
  const float dm = make_qp_quants(QK_K / 16, 15, scales, Ls, sw);
  const float mm = make_qp_quants(QK_K / 16, 15, mins, Lm, sw);
  y.d = f32_to_fp16(dm);
  y.dmin = f32_to_fp16(mm);
  for (int j = 0; j < QK_K / 16; ++j) y.scales[j] = static_cast<uint8_t>(Ls[j] | (Lm[j] << 4));
  q2_k_requantize(x, y, L);
  pack_2bit(L, y.qs);
}

// Packs 16 6-bit values (0..63) into Q3_K's 12 scale bytes.
void pack_q3_k_scales(const int* ls, uint8_t* s) {
  std::memset(s, 0, 12);
  for (int j = 0; j < 16; ++j) {
    int l = ls[j];
    if (j < 8) {
      s[j] = static_cast<uint8_t>(l & 0xF);
    } else {
      s[j - 8] = static_cast<uint8_t>(s[j - 8] | ((l & 0xF) << 4));
    }
    l >>= 4;
    s[j % 4 + 8] = static_cast<uint8_t>(s[j % 4 + 8] | (l << (2 * (j / 4))));
  }
}

// Final Q3_K levels against the stored scales, then the high-bit mask and 2-bit packing.
void q3_k_finish(const float* x, BlockQ3_K& y, int8_t* L) {
  int8_t sc[16];
  unpack_q3_k_scales(y.scales, sc);
  const float dd = fp16_to_f32(y.d);
  for (int j = 0; j < QK_K / 16; ++j) {
    const float d = dd * sc[j];
    if (!d) continue;
    for (int ii = 0; ii < 16; ++ii) {
      const int l = nearest_int(x[16 * j + ii] / d);
      L[16 * j + ii] = static_cast<int8_t>(clamp_int(l, -4, 3) + 4);
    }
  }
  // The high bit of element j goes to hmask[j % 32], bit j / 32.
  std::memset(y.hmask, 0, sizeof(y.hmask));
  uint8_t L2[QK_K];
  for (int j = 0; j < QK_K; ++j) {
    int l = L[j];
    if (l > 3) {
      y.hmask[j % 32] = static_cast<uint8_t>(y.hmask[j % 32] | (1 << (j / 32)));
      l -= 4;
    }
    L2[j] = static_cast<uint8_t>(l);
  }
  pack_2bit(L2, y.qs);
}

void q3_k_block_ref(const float* x, BlockQ3_K& y) {
  int8_t L[QK_K];
  float scales[QK_K / 16];
  float max_scale = 0, amax = 0;
  for (int j = 0; j < QK_K / 16; ++j) {
    scales[j] = make_q3_quants(16, 4, x + 16 * j, L + 16 * j, true);
    const float scale = std::fabs(scales[j]);
    if (scale > amax) {
      amax = scale;
      max_scale = scales[j];
    }
  }
  if (max_scale) {
    const float iscale = -32.f / max_scale;
    int ls[16];
    for (int j = 0; j < QK_K / 16; ++j) ls[j] = clamp_int(nearest_int(iscale * scales[j]), -32, 31) + 32;
    pack_q3_k_scales(ls, y.scales);
    y.d = f32_to_fp16(1 / iscale);
  } else {
    std::memset(y.scales, 0, sizeof(y.scales));
    y.d = f32_to_fp16(0.f);
  }
  q3_k_finish(x, y, L);
}

void q3_k_block_weighted(const float* x, BlockQ3_K& y, const float* qw_block) {
  int8_t L[QK_K], Ls[QK_K / 16];
  float scales[QK_K / 16], weight[16], sw[QK_K / 16];
  float sumx2 = 0;
  for (int j = 0; j < QK_K; ++j) sumx2 += x[j] * x[j];
  const float sigma2 = 2 * sumx2 / QK_K;
  for (int j = 0; j < QK_K / 16; ++j) {
    const float* qw = qw_block + 16 * j;
    for (int l = 0; l < 16; ++l) weight[l] = qw[l] * std::sqrt(sigma2 + x[16 * j + l] * x[16 * j + l]);
    float sumw = 0;
    for (int l = 0; l < 16; ++l) sumw += weight[l];
    sw[j] = sumw;
    scales[j] = make_qx_quants(16, 4, x + 16 * j, L + 16 * j, 1, weight);
  }
  const float d_block = make_qx_quants(QK_K / 16, 32, scales, Ls, 1, sw);
  int ls[16];
  for (int j = 0; j < QK_K / 16; ++j) ls[j] = Ls[j];
  pack_q3_k_scales(ls, y.scales);
  y.d = f32_to_fp16(d_block);
  q3_k_finish(x, y, L);
}

// Packs 8 (scale, min) pairs of 6 bits into the 12 scale bytes of Q4_K / Q5_K.
void pack_k4_scales(const uint8_t* ls, const uint8_t* lm, uint8_t* s) {
  for (int j = 0; j < QK_K / 32; ++j) {
    if (j < 4) {
      s[j] = ls[j];
      s[j + 4] = lm[j];
    } else {
      s[j + 4] = static_cast<uint8_t>((ls[j] & 0xF) | ((lm[j] & 0xF) << 4));
      s[j - 4] = static_cast<uint8_t>(s[j - 4] | ((ls[j] >> 4) << 6));
      s[j - 0] = static_cast<uint8_t>(s[j - 0] | ((lm[j] >> 4) << 6));
    }
  }
}

// The asymmetric 32-element sub-block search of Q4_K (nmax 15) / Q5_K (nmax 31): scales and mins
// of the 8 sub-blocks, levels in L. Returns them quantized to 6 bits with the fp16 d / dmin set.
template <typename Block>
void k4_scales_ref(const float* x, Block& y, int nmax, float rmin, float rdelta, int nstep, uint8_t* L) {
  uint8_t Laux[32];
  float weights[32], mins[QK_K / 32], scales[QK_K / 32];
  float max_scale = 0, max_min = 0;
  for (int j = 0; j < QK_K / 32; ++j) {
    float sum_x2 = 0;
    for (int l = 0; l < 32; ++l) sum_x2 += x[32 * j + l] * x[32 * j + l];
    const float av_x = std::sqrt(sum_x2 / 32);
    for (int l = 0; l < 32; ++l) weights[l] = av_x + std::fabs(x[32 * j + l]);
    scales[j] = make_qkx2_quants(32, nmax, x + 32 * j, weights, L + 32 * j, &mins[j], Laux, rmin, rdelta,
                                 nstep, false);
    max_scale = std::max(max_scale, scales[j]);
    max_min = std::max(max_min, mins[j]);
  }
  const float inv_scale = max_scale > 0 ? 63.f / max_scale : 0.f;
  const float inv_min = max_min > 0 ? 63.f / max_min : 0.f;
  uint8_t ls[QK_K / 32], lm[QK_K / 32];
  for (int j = 0; j < QK_K / 32; ++j) {
    ls[j] = std::min<uint8_t>(63, static_cast<uint8_t>(nearest_int(inv_scale * scales[j])));
    lm[j] = std::min<uint8_t>(63, static_cast<uint8_t>(nearest_int(inv_min * mins[j])));
  }
  pack_k4_scales(ls, lm, y.scales);
  y.d = f32_to_fp16(max_scale / 63.f);
  y.dmin = f32_to_fp16(max_min / 63.f);
}

// Weighted variant (imatrix): make_qkx3_quants per sub-block, make_qp_quants for the 6-bit scales.
template <typename Block>
void k4_scales_weighted(const float* x, Block& y, int nmax, const float* qw_block, uint8_t* L) {
  uint8_t Laux[32], Ls[QK_K / 32], Lm[QK_K / 32];
  float weights[32], sw[QK_K / 32], mins[QK_K / 32], scales[QK_K / 32];
  float sum_x2 = 0;
  for (int l = 0; l < QK_K; ++l) sum_x2 += x[l] * x[l];
  const float sigma2 = 2 * sum_x2 / QK_K;
  for (int j = 0; j < QK_K / 32; ++j) {
    const float* qw = qw_block + 32 * j;
    for (int l = 0; l < 32; ++l) weights[l] = qw[l] * std::sqrt(sigma2 + x[32 * j + l] * x[32 * j + l]);
    float sumw = 0;
    for (int l = 0; l < 32; ++l) sumw += weights[l];
    sw[j] = sumw;
    scales[j] =
        make_qkx3_quants(32, nmax, x + 32 * j, weights, L + 32 * j, &mins[j], Laux, -0.9f, 0.05f, 36, false);
  }
  const float d_block = make_qp_quants(QK_K / 32, 63, scales, Ls, sw);
  const float m_block = make_qp_quants(QK_K / 32, 63, mins, Lm, sw);
  for (int j = 0; j < QK_K / 32; ++j) {
    Ls[j] = std::min<uint8_t>(63, Ls[j]);
    Lm[j] = std::min<uint8_t>(63, Lm[j]);
  }
  pack_k4_scales(Ls, Lm, y.scales);
  y.d = f32_to_fp16(d_block);
  y.dmin = f32_to_fp16(m_block);
}

// Final Q4_K / Q5_K levels (0..nmax) against the stored 6-bit scales and mins.
template <typename Block>
void k4_requantize(const float* x, const Block& y, int nmax, uint8_t* L) {
  const float dd = fp16_to_f32(y.d), dmin = fp16_to_f32(y.dmin);
  for (int j = 0; j < QK_K / 32; ++j) {
    uint8_t sc, m;
    get_scale_min_k4(j, y.scales, &sc, &m);
    const float d = dd * sc;
    if (!d) continue;
    const float dm = dmin * m;
    for (int ii = 0; ii < 32; ++ii) {
      const int l = nearest_int((x[32 * j + ii] + dm) / d);
      L[32 * j + ii] = static_cast<uint8_t>(clamp_int(l, 0, nmax));
    }
  }
}

void q4_k_pack(const uint8_t* L, BlockQ4_K& y) {
  uint8_t* q = y.qs;
  for (int j = 0; j < QK_K; j += 64) {
    for (int l = 0; l < 32; ++l) q[l] = static_cast<uint8_t>(L[j + l] | (L[j + l + 32] << 4));
    q += 32;
  }
}

void q5_k_pack(const uint8_t* L, BlockQ5_K& y) {
  uint8_t* qh = y.qh;
  uint8_t* ql = y.qs;
  std::memset(qh, 0, QK_K / 8);
  uint8_t m1 = 1, m2 = 2;
  for (int n = 0; n < QK_K; n += 64) {
    for (int j = 0; j < 32; ++j) {
      int l1 = L[n + j];
      if (l1 > 15) {
        l1 -= 16;
        qh[j] |= m1;
      }
      int l2 = L[n + j + 32];
      if (l2 > 15) {
        l2 -= 16;
        qh[j] |= m2;
      }
      ql[j] = static_cast<uint8_t>(l1 | (l2 << 4));
    }
    m1 = static_cast<uint8_t>(m1 << 2);
    m2 = static_cast<uint8_t>(m2 << 2);
    ql += 32;
  }
}

void q6_k_block(const float* x, BlockQ6_K& y, const float* qw_block) {
  int8_t L[QK_K];
  float scales[QK_K / 16];
  float max_scale = 0, max_abs_scale = 0;
  for (int ib = 0; ib < QK_K / 16; ++ib) {
    const float* qw = qw_block ? qw_block + 16 * ib : nullptr;
    const float scale = make_qx_quants(16, 32, x + 16 * ib, L + 16 * ib, 1, qw);
    scales[ib] = scale;
    const float abs_scale = std::fabs(scale);
    if (abs_scale > max_abs_scale) {
      max_abs_scale = abs_scale;
      max_scale = scale;
    }
  }
  if (max_abs_scale < kGroupMaxEps) {
    std::memset(&y, 0, sizeof(y));
    y.d = f32_to_fp16(0.f);
    return;
  }
  const float iscale = -128.f / max_scale;
  y.d = f32_to_fp16(1 / iscale);
  for (int ib = 0; ib < QK_K / 16; ++ib)
    y.scales[ib] = static_cast<int8_t>(std::min(127, nearest_int(iscale * scales[ib])));
  const float dd = fp16_to_f32(y.d);
  for (int j = 0; j < QK_K / 16; ++j) {
    const float d = dd * y.scales[j];
    if (!d) continue;
    for (int ii = 0; ii < 16; ++ii) {
      const int l = nearest_int(x[16 * j + ii] / d);
      L[16 * j + ii] = static_cast<int8_t>(clamp_int(l, -32, 31) + 32);
    }
  }
  // ql: low nibbles (elements l, l+32 in byte l, l+32 low; l+64, l+96 high); qh: 2 high bits each.
  uint8_t* ql = y.ql;
  uint8_t* qh = y.qh;
  for (int j = 0; j < QK_K; j += 128) {
    for (int l = 0; l < 32; ++l) {
      const int q1 = L[j + l + 0] & 0xF, q2 = L[j + l + 32] & 0xF;
      const int q3 = L[j + l + 64] & 0xF, q4 = L[j + l + 96] & 0xF;
      ql[l + 0] = static_cast<uint8_t>(q1 | (q3 << 4));
      ql[l + 32] = static_cast<uint8_t>(q2 | (q4 << 4));
      qh[l] = static_cast<uint8_t>((L[j + l] >> 4) | ((L[j + l + 32] >> 4) << 2) |
                                   ((L[j + l + 64] >> 4) << 4) | ((L[j + l + 96] >> 4) << 6));
    }
    ql += 64;
    qh += 32;
  }
}

}  // namespace

void quantize_q2_k(const float* x, BlockQ2_K* y, int64_t n, const float* imatrix) {
  for (int64_t i = 0; i < n / QK_K; ++i) {
    if (imatrix) {
      q2_k_block_weighted(x + i * QK_K, y[i], imatrix + i * QK_K);
    } else {
      q2_k_block_ref(x + i * QK_K, y[i]);
    }
  }
}

void quantize_q3_k(const float* x, BlockQ3_K* y, int64_t n, const float* imatrix) {
  for (int64_t i = 0; i < n / QK_K; ++i) {
    if (imatrix) {
      q3_k_block_weighted(x + i * QK_K, y[i], imatrix + i * QK_K);
    } else {
      q3_k_block_ref(x + i * QK_K, y[i]);
    }
  }
}

void quantize_q4_k(const float* x, BlockQ4_K* y, int64_t n, const float* imatrix) {
  uint8_t L[QK_K];
  for (int64_t i = 0; i < n / QK_K; ++i) {
    const float* xb = x + i * QK_K;
    if (imatrix) {
      k4_scales_weighted(xb, y[i], 15, imatrix + i * QK_K, L);
    } else {
      k4_scales_ref(xb, y[i], 15, -1.f, 0.1f, 20, L);
    }
    k4_requantize(xb, y[i], 15, L);
    q4_k_pack(L, y[i]);
  }
}

void quantize_q5_k(const float* x, BlockQ5_K* y, int64_t n, const float* imatrix) {
  uint8_t L[QK_K];
  for (int64_t i = 0; i < n / QK_K; ++i) {
    const float* xb = x + i * QK_K;
    if (imatrix) {
      k4_scales_weighted(xb, y[i], 31, imatrix + i * QK_K, L);
    } else {
      k4_scales_ref(xb, y[i], 31, -0.5f, 0.1f, 15, L);
    }
    k4_requantize(xb, y[i], 31, L);
    q5_k_pack(L, y[i]);
  }
}

void quantize_q6_k(const float* x, BlockQ6_K* y, int64_t n, const float* imatrix) {
  for (int64_t i = 0; i < n / QK_K; ++i)
    q6_k_block(x + i * QK_K, y[i], imatrix ? imatrix + i * QK_K : nullptr);
}

void quantize_q8_k(const float* x, BlockQ8_K* y, int64_t n) {
  for (int64_t i = 0; i < n / QK_K; ++i) {
    const float* xb = x + i * QK_K;
    // The signed value of largest magnitude (the first one on ties), found with vectorizable loops.
    const uint32_t mbits = detail::absmax_bits8(xb, QK_K);
    const float amax = detail::float_from_bits(mbits);
    float max = 0;
    for (int j = 0; j < QK_K; ++j) {
      if (std::fabs(xb[j]) == amax) {
        max = xb[j];
        break;
      }
    }
    std::memset(y[i].bsums, 0, sizeof(y[i].bsums));
    if (!amax) {
      y[i].d = 0;
      std::memset(y[i].qs, 0, QK_K);
      continue;
    }
    // -127 (not -128) keeps every level in [-127, 127].
    const float iscale = -127.f / max;
    if (mbits < 0x7f800000u && amax > 1e-30f) {
      for (int j = 0; j < QK_K; ++j)
        y[i].qs[j] = static_cast<int8_t>(std::min(127, nearest_int(iscale * xb[j])));
    } else {
      // NaN / Inf / tiny maxima: clamp (NaN -> 0) instead of rounding out-of-range values.
      for (int j = 0; j < QK_K; ++j) {
        const float v = iscale * xb[j];
        y[i].qs[j] = std::isnan(v) ? 0 : static_cast<int8_t>(nearest_int(std::clamp(v, -127.0f, 127.0f)));
      }
    }
    for (int j = 0; j < QK_K / 16; ++j) {
      int sum = 0;
      for (int ii = 0; ii < 16; ++ii) sum += y[i].qs[j * 16 + ii];
      y[i].bsums[j] = static_cast<int16_t>(sum);
    }
    y[i].d = 1 / iscale;
  }
}

}  // namespace hearth::tensor
