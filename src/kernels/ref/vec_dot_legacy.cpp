// Scalar dot products of the float weight types (with F32 activations, double accumulation) and of
// the 32-element block types (with Q8_0 / Q8_1 activations, integer sums per block).
#include <cstring>

#include "base/fp16.h"
#include "kernels/ref/ref.h"
#include "tensor/blocks.h"

namespace hearth::kernels::ref {

using namespace hearth::tensor;

float vec_dot_f32(int64_t n, const void* w, const void* x) {
  return dot_f32(n, static_cast<const float*>(w), static_cast<const float*>(x));
}

float vec_dot_f16(int64_t n, const void* w, const void* x) {
  const auto* a = static_cast<const uint16_t*>(w);
  const auto* b = static_cast<const float*>(x);
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) sum += static_cast<double>(fp16_to_f32(a[i])) * b[i];
  return static_cast<float>(sum);
}

float vec_dot_bf16(int64_t n, const void* w, const void* x) {
  const auto* a = static_cast<const uint16_t*>(w);
  const auto* b = static_cast<const float*>(x);
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) sum += static_cast<double>(bf16_to_f32(a[i])) * b[i];
  return static_cast<float>(sum);
}

namespace {

// Levels of the 32 elements of a block, in element order.
inline void levels_q4(const uint8_t* qs, int offset, int* out) {
  for (int j = 0; j < 16; ++j) {
    out[j] = (qs[j] & 0x0F) - offset;
    out[j + 16] = (qs[j] >> 4) - offset;
  }
}

inline void levels_q5(const uint8_t* qs, const uint8_t* qh_bytes, int offset, int* out) {
  uint32_t qh;
  std::memcpy(&qh, qh_bytes, 4);
  for (int j = 0; j < 16; ++j) {
    out[j] = ((qs[j] & 0x0F) | (((qh >> j) & 1) << 4)) - offset;
    out[j + 16] = ((qs[j] >> 4) | (((qh >> (j + 16)) & 1) << 4)) - offset;
  }
}

inline int dot32(const int* a, const int8_t* b) {
  int s = 0;
  for (int j = 0; j < 32; ++j) s += a[j] * b[j];
  return s;
}

}  // namespace

float vec_dot_q4_0(int64_t n, const void* w, const void* x) {
  const auto* a = static_cast<const BlockQ4_0*>(w);
  const auto* b = static_cast<const BlockQ8_0*>(x);
  float sumf = 0;
  int q[32];
  for (int64_t i = 0; i < n / QK4_0; ++i) {
    levels_q4(a[i].qs, 8, q);
    sumf += dot32(q, b[i].qs) * (fp16_to_f32(a[i].d) * fp16_to_f32(b[i].d));
  }
  return sumf;
}

float vec_dot_q4_1(int64_t n, const void* w, const void* x) {
  const auto* a = static_cast<const BlockQ4_1*>(w);
  const auto* b = static_cast<const BlockQ8_1*>(x);
  float sumf = 0;
  int q[32];
  for (int64_t i = 0; i < n / QK4_1; ++i) {
    levels_q4(a[i].qs, 0, q);
    // sum((d_w*q + m) * d_x*y) = d_w*d_x*sum(q*y) + m * (d_x*sum(y)) and s = d_x*sum(y).
    sumf += dot32(q, b[i].qs) * (fp16_to_f32(a[i].d) * fp16_to_f32(b[i].d)) +
            fp16_to_f32(a[i].m) * fp16_to_f32(b[i].s);
  }
  return sumf;
}

float vec_dot_q5_0(int64_t n, const void* w, const void* x) {
  const auto* a = static_cast<const BlockQ5_0*>(w);
  const auto* b = static_cast<const BlockQ8_0*>(x);
  float sumf = 0;
  int q[32];
  for (int64_t i = 0; i < n / QK5_0; ++i) {
    levels_q5(a[i].qs, a[i].qh, 16, q);
    sumf += dot32(q, b[i].qs) * (fp16_to_f32(a[i].d) * fp16_to_f32(b[i].d));
  }
  return sumf;
}

float vec_dot_q5_1(int64_t n, const void* w, const void* x) {
  const auto* a = static_cast<const BlockQ5_1*>(w);
  const auto* b = static_cast<const BlockQ8_1*>(x);
  float sumf = 0;
  int q[32];
  for (int64_t i = 0; i < n / QK5_1; ++i) {
    levels_q5(a[i].qs, a[i].qh, 0, q);
    sumf += dot32(q, b[i].qs) * (fp16_to_f32(a[i].d) * fp16_to_f32(b[i].d)) +
            fp16_to_f32(a[i].m) * fp16_to_f32(b[i].s);
  }
  return sumf;
}

float vec_dot_q8_0(int64_t n, const void* w, const void* x) {
  const auto* a = static_cast<const BlockQ8_0*>(w);
  const auto* b = static_cast<const BlockQ8_0*>(x);
  float sumf = 0;
  for (int64_t i = 0; i < n / QK8_0; ++i) {
    int s = 0;
    for (int j = 0; j < QK8_0; ++j) s += a[i].qs[j] * b[i].qs[j];
    sumf += s * (fp16_to_f32(a[i].d) * fp16_to_f32(b[i].d));
  }
  return sumf;
}

float vec_dot_iq4_nl(int64_t n, const void* w, const void* x) {
  const auto* a = static_cast<const BlockIQ4_NL*>(w);
  const auto* b = static_cast<const BlockQ8_0*>(x);
  float sumf = 0;
  for (int64_t i = 0; i < n / QK4_NL; ++i) {
    int s = 0;
    for (int j = 0; j < QK4_NL / 2; ++j) {
      s += kIQ4NLValues[a[i].qs[j] & 0xF] * b[i].qs[j];
      s += kIQ4NLValues[a[i].qs[j] >> 4] * b[i].qs[j + QK4_NL / 2];
    }
    sumf += s * (fp16_to_f32(a[i].d) * fp16_to_f32(b[i].d));
  }
  return sumf;
}

}  // namespace hearth::kernels::ref
