// Reference dequantization of every supported type: the exact GGUF definitions.
#include <cstring>

#include "base/error.h"
#include "base/fp16.h"
#include "tensor/quant_search.h"
#include "tensor/quants.h"
#include "tensor/types.h"

namespace hearth::tensor {

void dequantize_q4_0(const BlockQ4_0* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n / QK4_0; ++i, y += QK4_0) {
    const float d = fp16_to_f32(x[i].d);
    for (int j = 0; j < QK4_0 / 2; ++j) {
      y[j] = ((x[i].qs[j] & 0x0F) - 8) * d;
      y[j + QK4_0 / 2] = ((x[i].qs[j] >> 4) - 8) * d;
    }
  }
}

void dequantize_q4_1(const BlockQ4_1* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n / QK4_1; ++i, y += QK4_1) {
    const float d = fp16_to_f32(x[i].d), m = fp16_to_f32(x[i].m);
    for (int j = 0; j < QK4_1 / 2; ++j) {
      y[j] = (x[i].qs[j] & 0x0F) * d + m;
      y[j + QK4_1 / 2] = (x[i].qs[j] >> 4) * d + m;
    }
  }
}

namespace {
// The 32 5-bit levels of a Q5_0 / Q5_1 block: nibbles (element j low, j+16 high) plus qh bit j.
inline void q5_levels(const uint8_t* qs, const uint8_t* qh_bytes, int* out) {
  uint32_t qh;
  std::memcpy(&qh, qh_bytes, 4);
  for (int j = 0; j < 16; ++j) {
    out[j] = (qs[j] & 0x0F) | static_cast<int>(((qh >> j) & 1) << 4);
    out[j + 16] = (qs[j] >> 4) | static_cast<int>(((qh >> (j + 16)) & 1) << 4);
  }
}
}  // namespace

void dequantize_q5_0(const BlockQ5_0* x, float* y, int64_t n) {
  int q[32];
  for (int64_t i = 0; i < n / QK5_0; ++i, y += QK5_0) {
    const float d = fp16_to_f32(x[i].d);
    q5_levels(x[i].qs, x[i].qh, q);
    for (int j = 0; j < QK5_0; ++j) y[j] = (q[j] - 16) * d;
  }
}

void dequantize_q5_1(const BlockQ5_1* x, float* y, int64_t n) {
  int q[32];
  for (int64_t i = 0; i < n / QK5_1; ++i, y += QK5_1) {
    const float d = fp16_to_f32(x[i].d), m = fp16_to_f32(x[i].m);
    q5_levels(x[i].qs, x[i].qh, q);
    for (int j = 0; j < QK5_1; ++j) y[j] = q[j] * d + m;
  }
}

void dequantize_q8_0(const BlockQ8_0* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n / QK8_0; ++i, y += QK8_0) {
    const float d = fp16_to_f32(x[i].d);
    for (int j = 0; j < QK8_0; ++j) y[j] = x[i].qs[j] * d;
  }
}

void dequantize_q8_1(const BlockQ8_1* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n / QK8_1; ++i, y += QK8_1) {
    const float d = fp16_to_f32(x[i].d);
    for (int j = 0; j < QK8_1; ++j) y[j] = x[i].qs[j] * d;
  }
}

void dequantize_q2_k(const BlockQ2_K* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n / QK_K; ++i) {
    const float d = fp16_to_f32(x[i].d), min = fp16_to_f32(x[i].dmin);
    const uint8_t* q = x[i].qs;
    int is = 0;
    // Each 128-element half uses 32 bytes of qs; shift 2*k picks the k-th group of 32.
    for (int half = 0; half < QK_K; half += 128) {
      for (int shift = 0; shift < 8; shift += 2) {
        for (int g = 0; g < 2; ++g) {
          const uint8_t sc = x[i].scales[is++];
          const float dl = d * (sc & 0xF), ml = min * (sc >> 4);
          for (int l = 0; l < 16; ++l) *y++ = dl * ((q[l + 16 * g] >> shift) & 3) - ml;
        }
      }
      q += 32;
    }
  }
}

void dequantize_q3_k(const BlockQ3_K* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n / QK_K; ++i) {
    const float d_all = fp16_to_f32(x[i].d);
    int8_t scales[16];
    unpack_q3_k_scales(x[i].scales, scales);
    const uint8_t* q = x[i].qs;
    const uint8_t* hm = x[i].hmask;
    uint8_t m = 1;
    int is = 0;
    for (int half = 0; half < QK_K; half += 128) {
      for (int shift = 0; shift < 8; shift += 2) {
        for (int g = 0; g < 2; ++g) {
          const float dl = d_all * scales[is++];
          for (int l = 0; l < 16; ++l) {
            const int lo = (q[l + 16 * g] >> shift) & 3;
            *y++ = dl * (lo - ((hm[l + 16 * g] & m) ? 0 : 4));
          }
        }
        m = static_cast<uint8_t>(m << 1);
      }
      q += 32;
    }
  }
}

void dequantize_q4_k(const BlockQ4_K* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n / QK_K; ++i) {
    const float d = fp16_to_f32(x[i].d), min = fp16_to_f32(x[i].dmin);
    const uint8_t* q = x[i].qs;
    for (int is = 0; is < QK_K / 32; is += 2, q += 32) {
      uint8_t sc, m;
      get_scale_min_k4(is + 0, x[i].scales, &sc, &m);
      const float d1 = d * sc, m1 = min * m;
      get_scale_min_k4(is + 1, x[i].scales, &sc, &m);
      const float d2 = d * sc, m2 = min * m;
      for (int l = 0; l < 32; ++l) *y++ = d1 * (q[l] & 0xF) - m1;
      for (int l = 0; l < 32; ++l) *y++ = d2 * (q[l] >> 4) - m2;
    }
  }
}

void dequantize_q5_k(const BlockQ5_K* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n / QK_K; ++i) {
    const float d = fp16_to_f32(x[i].d), min = fp16_to_f32(x[i].dmin);
    const uint8_t* ql = x[i].qs;
    const uint8_t* qh = x[i].qh;
    uint8_t u1 = 1, u2 = 2;
    for (int is = 0; is < QK_K / 32; is += 2, ql += 32) {
      uint8_t sc, m;
      get_scale_min_k4(is + 0, x[i].scales, &sc, &m);
      const float d1 = d * sc, m1 = min * m;
      get_scale_min_k4(is + 1, x[i].scales, &sc, &m);
      const float d2 = d * sc, m2 = min * m;
      for (int l = 0; l < 32; ++l) *y++ = d1 * ((ql[l] & 0xF) + (qh[l] & u1 ? 16 : 0)) - m1;
      for (int l = 0; l < 32; ++l) *y++ = d2 * ((ql[l] >> 4) + (qh[l] & u2 ? 16 : 0)) - m2;
      u1 = static_cast<uint8_t>(u1 << 2);
      u2 = static_cast<uint8_t>(u2 << 2);
    }
  }
}

void dequantize_q6_k(const BlockQ6_K* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n / QK_K; ++i) {
    const float d = fp16_to_f32(x[i].d);
    const uint8_t* ql = x[i].ql;
    const uint8_t* qh = x[i].qh;
    const int8_t* sc = x[i].scales;
    for (int half = 0; half < QK_K; half += 128) {
      for (int l = 0; l < 32; ++l) {
        const int is = l / 16;
        const int q1 = ((ql[l + 0] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
        const int q2 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
        const int q3 = ((ql[l + 0] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
        const int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
        y[l + 0] = d * sc[is + 0] * q1;
        y[l + 32] = d * sc[is + 2] * q2;
        y[l + 64] = d * sc[is + 4] * q3;
        y[l + 96] = d * sc[is + 6] * q4;
      }
      y += 128;
      ql += 64;
      qh += 32;
      sc += 8;
    }
  }
}

void dequantize_q8_k(const BlockQ8_K* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n / QK_K; ++i)
    for (int j = 0; j < QK_K; ++j) *y++ = x[i].d * x[i].qs[j];
}

void dequantize_iq4_nl(const BlockIQ4_NL* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n / QK4_NL; ++i, y += QK4_NL) {
    const float d = fp16_to_f32(x[i].d);
    for (int j = 0; j < QK4_NL / 2; ++j) {
      y[j] = d * kIQ4NLValues[x[i].qs[j] & 0xf];
      y[j + QK4_NL / 2] = d * kIQ4NLValues[x[i].qs[j] >> 4];
    }
  }
}

void dequantize_iq4_xs(const BlockIQ4_XS* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n / QK_K; ++i) {
    const float d = fp16_to_f32(x[i].d);
    const uint8_t* qs = x[i].qs;
    for (int ib = 0; ib < QK_K / 32; ++ib, y += 32, qs += 16) {
      const float dl = d * iq4_xs_scale(x[i], ib);
      for (int j = 0; j < 16; ++j) {
        y[j] = dl * kIQ4NLValues[qs[j] & 0xf];
        y[j + 16] = dl * kIQ4NLValues[qs[j] >> 4];
      }
    }
  }
}

namespace detail {
void check_row(Type t, int64_t n, const char* what) {
  const TypeInfo& ti = type_info(t);
  if (!ti.name) fail("{}: unknown tensor type id {}", what, static_cast<uint32_t>(t));
  if (n < 0 || n % ti.block_size != 0)
    fail("{}: row length {} is not a multiple of the {} block size {}", what, n, ti.name, ti.block_size);
}
}  // namespace detail

void dequantize_row(Type t, const void* src, float* dst, int64_t n) {
  detail::check_row(t, n, "dequantize");
  switch (t) {
    case Type::F32:
      std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(float));
      return;
    case Type::F16: {
      const auto* s = static_cast<const uint16_t*>(src);
      for (int64_t i = 0; i < n; ++i) dst[i] = fp16_to_f32(s[i]);
      return;
    }
    case Type::BF16: {
      const auto* s = static_cast<const uint16_t*>(src);
      for (int64_t i = 0; i < n; ++i) dst[i] = bf16_to_f32(s[i]);
      return;
    }
    case Type::Q4_0:
      return dequantize_q4_0(static_cast<const BlockQ4_0*>(src), dst, n);
    case Type::Q4_1:
      return dequantize_q4_1(static_cast<const BlockQ4_1*>(src), dst, n);
    case Type::Q5_0:
      return dequantize_q5_0(static_cast<const BlockQ5_0*>(src), dst, n);
    case Type::Q5_1:
      return dequantize_q5_1(static_cast<const BlockQ5_1*>(src), dst, n);
    case Type::Q8_0:
      return dequantize_q8_0(static_cast<const BlockQ8_0*>(src), dst, n);
    case Type::Q8_1:
      return dequantize_q8_1(static_cast<const BlockQ8_1*>(src), dst, n);
    case Type::Q2_K:
      return dequantize_q2_k(static_cast<const BlockQ2_K*>(src), dst, n);
    case Type::Q3_K:
      return dequantize_q3_k(static_cast<const BlockQ3_K*>(src), dst, n);
    case Type::Q4_K:
      return dequantize_q4_k(static_cast<const BlockQ4_K*>(src), dst, n);
    case Type::Q5_K:
      return dequantize_q5_k(static_cast<const BlockQ5_K*>(src), dst, n);
    case Type::Q6_K:
      return dequantize_q6_k(static_cast<const BlockQ6_K*>(src), dst, n);
    case Type::Q8_K:
      return dequantize_q8_k(static_cast<const BlockQ8_K*>(src), dst, n);
    case Type::IQ4_NL:
      return dequantize_iq4_nl(static_cast<const BlockIQ4_NL*>(src), dst, n);
    case Type::IQ4_XS:
      return dequantize_iq4_xs(static_cast<const BlockIQ4_XS*>(src), dst, n);
    default:
      break;
  }
  fail("dequantize: tensor type {} is not supported", type_name(t));
}

}  // namespace hearth::tensor
