#include "kernels/attn.h"

#include <algorithm>
#include <cmath>

#include "base/fp16.h"

namespace hearth::kernels {

namespace {
struct F16Table {
  float v[65536];
  F16Table() {
    for (uint32_t i = 0; i < 65536; ++i) v[i] = fp16_to_f32(static_cast<uint16_t>(i));
  }
};
const F16Table& f16_table() {
  static const F16Table t;
  return t;
}
}  // namespace

float dot_f16_f32_scalar(int64_t n, const uint16_t* k, const float* q) {
  const float* t = f16_table().v;
  float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) {
    s0 += t[k[i]] * q[i];
    s1 += t[k[i + 1]] * q[i + 1];
    s2 += t[k[i + 2]] * q[i + 2];
    s3 += t[k[i + 3]] * q[i + 3];
  }
  for (; i < n; ++i) s0 += t[k[i]] * q[i];
  return (s0 + s1) + (s2 + s3);
}

void axpy_f16_f32_scalar(int64_t n, float a, const uint16_t* v, float* y) {
  const float* t = f16_table().v;
  for (int64_t i = 0; i < n; ++i) y[i] += a * t[v[i]];
}

}  // namespace hearth::kernels

namespace hearth::kernels {

void attn_scores_f16_scalar(int64_t hd, int64_t n, const uint16_t* k, int64_t k_stride, const float* q,
                            int nq, int64_t q_stride, float* s, int64_t s_stride) {
  for (int j = 0; j < nq; ++j)
    for (int64_t c = 0; c < n; ++c)
      s[j * s_stride + c] = dot_f16_f32_scalar(hd, k + c * k_stride, q + j * q_stride);
}

void attn_mix_f16_scalar(int64_t hd, int64_t n, const uint16_t* v, int64_t v_stride, const float* w, int nq,
                         int64_t w_stride, float* o, int64_t o_stride) {
  for (int j = 0; j < nq; ++j)
    for (int64_t c = 0; c < n; ++c)
      axpy_f16_f32_scalar(hd, w[j * w_stride + c], v + c * v_stride, o + j * o_stride);
}

float exp_shifted_scalar(int64_t n, float* x, float scale) {
  float mx = -INFINITY;
  for (int64_t i = 0; i < n; ++i) {
    x[i] *= scale;
    mx = std::max(mx, x[i]);
  }
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) {
    x[i] = std::exp(x[i] - mx);
    sum += x[i];
  }
  return static_cast<float>(sum);
}

}  // namespace hearth::kernels
