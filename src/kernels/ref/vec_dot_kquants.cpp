// Scalar dot products of the 256-element super-block types with Q8_K activations. Each block's
// levels are unpacked to integers in element order, multiplied with the activation levels in
// integer arithmetic per sub-block, scaled by the integer sub-block scales, and only then turned
// into floats with the super-block scales. The Q2_K / Q4_K / Q5_K min term uses the Q8_K bsums.
#include "base/fp16.h"
#include "kernels/ref/ref.h"
#include "tensor/blocks.h"
#include "tensor/quants.h"

namespace hearth::kernels::ref {

using namespace hearth::tensor;

namespace {

// sum(a[j] * b[j]) over a 16- or 32-element group.
inline int dot_int(const int* a, const int8_t* b, int len) {
  int s = 0;
  for (int j = 0; j < len; ++j) s += a[j] * b[j];
  return s;
}

// Q2_K levels (0..3): element 128*h + 32*k + l is (qs[32*h + l] >> 2k) & 3.
void levels_q2_k(const BlockQ2_K& b, int* q) {
  for (int j = 0; j < QK_K; ++j) {
    const int h = j / 128, k = (j % 128) / 32, l = j % 32;
    q[j] = (b.qs[32 * h + l] >> (2 * k)) & 3;
  }
}

// Q3_K levels (-4..3): 2 low bits as Q2_K, minus 4 unless the hmask bit (j/32 of byte j%32) is set.
void levels_q3_k(const BlockQ3_K& b, int* q) {
  for (int j = 0; j < QK_K; ++j) {
    const int h = j / 128, k = (j % 128) / 32, l = j % 32;
    const int lo = (b.qs[32 * h + l] >> (2 * k)) & 3;
    q[j] = lo - ((b.hmask[l] >> (j / 32)) & 1 ? 0 : 4);
  }
}

// Q4_K levels (0..15): each 64 elements use 32 bytes, low nibbles first.
void levels_q4_k(const BlockQ4_K& b, int* q) {
  for (int j = 0; j < QK_K; ++j) {
    const int c = j / 64, l = j % 32;
    const uint8_t byte = b.qs[32 * c + l];
    q[j] = (j % 64) < 32 ? (byte & 0xF) : (byte >> 4);
  }
}

// Q5_K levels (0..31): Q4_K's nibbles plus bit j/32 of qh[j%32] as the fifth bit.
void levels_q5_k(const BlockQ5_K& b, int* q) {
  for (int j = 0; j < QK_K; ++j) {
    const int c = j / 64, l = j % 32;
    const uint8_t byte = b.qs[32 * c + l];
    const int low = (j % 64) < 32 ? (byte & 0xF) : (byte >> 4);
    q[j] = low | (((b.qh[l] >> (j / 32)) & 1) << 4);
  }
}

// Q6_K levels (-32..31): per 128 elements, ql holds 64 bytes (low nibbles of l, l+32; high nibbles
// of l+64, l+96) and qh 32 bytes (2 bits for each of l, l+32, l+64, l+96).
void levels_q6_k(const BlockQ6_K& b, int* q) {
  for (int j = 0; j < QK_K; ++j) {
    const int h = j / 128, r = j % 128, k = r / 32, l = r % 32;
    const uint8_t* ql = b.ql + 64 * h;
    const uint8_t* qh = b.qh + 32 * h;
    const uint8_t lbyte = ql[l + 32 * (k % 2)];
    const int low = k < 2 ? (lbyte & 0xF) : (lbyte >> 4);
    const int high = (qh[l] >> (2 * k)) & 3;
    q[j] = (low | (high << 4)) - 32;
  }
}

}  // namespace

float vec_dot_q2_k(int64_t n, const void* w, const void* x) {
  const auto* a = static_cast<const BlockQ2_K*>(w);
  const auto* b = static_cast<const BlockQ8_K*>(x);
  float sumf = 0;
  int q[QK_K];
  for (int64_t i = 0; i < n / QK_K; ++i) {
    levels_q2_k(a[i], q);
    int isum = 0, summs = 0;
    for (int g = 0; g < QK_K / 16; ++g) {
      isum += (a[i].scales[g] & 0xF) * dot_int(q + 16 * g, b[i].qs + 16 * g, 16);
      summs += (a[i].scales[g] >> 4) * b[i].bsums[g];
    }
    const float dall = b[i].d * fp16_to_f32(a[i].d);
    const float dmin = b[i].d * fp16_to_f32(a[i].dmin);
    sumf += dall * isum - dmin * summs;
  }
  return sumf;
}

float vec_dot_q3_k(int64_t n, const void* w, const void* x) {
  const auto* a = static_cast<const BlockQ3_K*>(w);
  const auto* b = static_cast<const BlockQ8_K*>(x);
  float sumf = 0;
  int q[QK_K];
  int8_t sc[16];
  for (int64_t i = 0; i < n / QK_K; ++i) {
    levels_q3_k(a[i], q);
    unpack_q3_k_scales(a[i].scales, sc);
    int isum = 0;
    for (int g = 0; g < QK_K / 16; ++g) isum += sc[g] * dot_int(q + 16 * g, b[i].qs + 16 * g, 16);
    sumf += fp16_to_f32(a[i].d) * b[i].d * isum;
  }
  return sumf;
}

namespace {
// Q4_K / Q5_K: d * sum(sc_j * q.y) - dmin * sum(m_j * bsums of sub-block j).
template <typename Block>
float dot_k4(const Block& a, const BlockQ8_K& b, const int* q) {
  int isum = 0, summs = 0;
  for (int j = 0; j < QK_K / 32; ++j) {
    uint8_t sc, m;
    get_scale_min_k4(j, a.scales, &sc, &m);
    isum += sc * dot_int(q + 32 * j, b.qs + 32 * j, 32);
    summs += m * (b.bsums[2 * j] + b.bsums[2 * j + 1]);
  }
  const float d = fp16_to_f32(a.d) * b.d;
  const float dmin = fp16_to_f32(a.dmin) * b.d;
  return d * isum - dmin * summs;
}
}  // namespace

float vec_dot_q4_k(int64_t n, const void* w, const void* x) {
  const auto* a = static_cast<const BlockQ4_K*>(w);
  const auto* b = static_cast<const BlockQ8_K*>(x);
  float sumf = 0;
  int q[QK_K];
  for (int64_t i = 0; i < n / QK_K; ++i) {
    levels_q4_k(a[i], q);
    sumf += dot_k4(a[i], b[i], q);
  }
  return sumf;
}

float vec_dot_q5_k(int64_t n, const void* w, const void* x) {
  const auto* a = static_cast<const BlockQ5_K*>(w);
  const auto* b = static_cast<const BlockQ8_K*>(x);
  float sumf = 0;
  int q[QK_K];
  for (int64_t i = 0; i < n / QK_K; ++i) {
    levels_q5_k(a[i], q);
    sumf += dot_k4(a[i], b[i], q);
  }
  return sumf;
}

float vec_dot_q6_k(int64_t n, const void* w, const void* x) {
  const auto* a = static_cast<const BlockQ6_K*>(w);
  const auto* b = static_cast<const BlockQ8_K*>(x);
  float sumf = 0;
  int q[QK_K];
  for (int64_t i = 0; i < n / QK_K; ++i) {
    levels_q6_k(a[i], q);
    int isum = 0;
    for (int g = 0; g < QK_K / 16; ++g) isum += a[i].scales[g] * dot_int(q + 16 * g, b[i].qs + 16 * g, 16);
    sumf += fp16_to_f32(a[i].d) * b[i].d * isum;
  }
  return sumf;
}

float vec_dot_iq4_xs(int64_t n, const void* w, const void* x) {
  const auto* a = static_cast<const BlockIQ4_XS*>(w);
  const auto* b = static_cast<const BlockQ8_K*>(x);
  float sumf = 0;
  for (int64_t i = 0; i < n / QK_K; ++i) {
    int isum = 0;
    for (int ib = 0; ib < QK_K / 32; ++ib) {
      const uint8_t* qs = a[i].qs + 16 * ib;
      const int8_t* y = b[i].qs + 32 * ib;
      int s = 0;
      for (int j = 0; j < 16; ++j) {
        s += kIQ4NLValues[qs[j] & 0xF] * y[j];
        s += kIQ4NLValues[qs[j] >> 4] * y[j + 16];
      }
      isum += iq4_xs_scale(a[i], ib) * s;
    }
    sumf += fp16_to_f32(a[i].d) * b[i].d * isum;
  }
  return sumf;
}

}  // namespace hearth::kernels::ref
