// NEON activation quantizers (Q8_0, Q8_1, Q8_K), bit-exact with the scalar references in
// tensor/quant_*.cpp: the same float operations in the same order per element (this folder is built
// with -ffp-contract=off). fcvtas rounds half away from zero like std::round (Q8_0 / Q8_1) and fcvtns
// half to even like nearest_int's magic-number trick (Q8_K; |values| <= 127).
#include <cmath>

#include "kernels/arm/neon/common.h"
#include "kernels/arm/neon/neon.h"

namespace hearth::kernels::neon {
namespace {

using tensor::BlockQ8_0;
using tensor::BlockQ8_1;
using tensor::BlockQ8_K;

// Eight int32x4 (values in int8 range) narrowed to 32 int8 in element order.
inline void store32(int8_t* dst, const int32x4_t* q) {
  const int16x8_t a = vcombine_s16(vqmovn_s32(q[0]), vqmovn_s32(q[1]));
  const int16x8_t b = vcombine_s16(vqmovn_s32(q[2]), vqmovn_s32(q[3]));
  const int16x8_t c = vcombine_s16(vqmovn_s32(q[4]), vqmovn_s32(q[5]));
  const int16x8_t d = vcombine_s16(vqmovn_s32(q[6]), vqmovn_s32(q[7]));
  vst1q_s8(dst, vcombine_s8(vqmovn_s16(a), vqmovn_s16(b)));
  vst1q_s8(dst + 16, vcombine_s8(vqmovn_s16(c), vqmovn_s16(d)));
}

// Q8_0 / Q8_1 block: returns the sum of the levels; *df is the unrounded scale.
inline int quant32(const float* x, half* d_out, int8_t* qs, float* df) {
  float32x4_t v[8];
  float32x4_t m = vdupq_n_f32(0.0f);
  for (int j = 0; j < 8; ++j) {
    v[j] = vld1q_f32(x + 4 * j);
    m = vmaxq_f32(m, vabsq_f32(v[j]));
  }
  const float amax = vmaxvq_f32(m);
  const float d = amax / ((1 << 7) - 1);
  const float id = d ? 1.0f / d : 0.0f;
  *d_out = to_f16(d);
  *df = d;
  int32x4_t q[8];
  int32x4_t sum = vdupq_n_s32(0);
  for (int j = 0; j < 8; ++j) {
    q[j] = vcvtaq_s32_f32(vmulq_n_f32(v[j], id));
    sum = vaddq_s32(sum, q[j]);
  }
  store32(qs, q);
  return vaddvq_s32(sum);
}

}  // namespace

void from_float_q8_0(const float* x, void* y, int64_t n) {
  auto* b = static_cast<BlockQ8_0*>(y);
  float d;
  for (int64_t i = 0; i < n / 32; ++i) quant32(x + 32 * i, &b[i].d, b[i].qs, &d);
}

void from_float_q8_1(const float* x, void* y, int64_t n) {
  auto* b = static_cast<BlockQ8_1*>(y);
  for (int64_t i = 0; i < n / 32; ++i) {
    float d;
    const int sum = quant32(x + 32 * i, &b[i].d, b[i].qs, &d);
    b[i].s = to_f16(static_cast<float>(sum) * d);
  }
}

void from_float_q8_k(const float* x, void* y, int64_t n) {
  auto* out = static_cast<BlockQ8_K*>(y);
  for (int64_t i = 0; i < n / 256; ++i) {
    const float* xb = x + 256 * i;
    BlockQ8_K& b = out[i];
    float32x4_t m = vdupq_n_f32(0.0f);
    for (int j = 0; j < 64; ++j) m = vmaxq_f32(m, vabsq_f32(vld1q_f32(xb + 4 * j)));
    const float amax = vmaxvq_f32(m);
    if (!(amax > 0.0f)) {
      std::memset(&b, 0, sizeof(b));
      continue;
    }
    // The first element of largest magnitude, with its sign (as the reference's strict '>' scan).
    float max = 0.0f;
    for (int j = 0; j < 256; ++j) {
      if (std::fabs(xb[j]) == amax) {
        max = xb[j];
        break;
      }
    }
    const float iscale = -127.f / max;
    for (int g = 0; g < 8; ++g) {  // 32 elements (two 16-groups) per step
      int32x4_t q[8];
      for (int j = 0; j < 8; ++j) {
        q[j] =
            vminq_s32(vcvtnq_s32_f32(vmulq_n_f32(vld1q_f32(xb + 32 * g + 4 * j), iscale)), vdupq_n_s32(127));
      }
      store32(b.qs + 32 * g, q);
      b.bsums[2 * g] =
          static_cast<int16_t>(vaddvq_s32(vaddq_s32(vaddq_s32(q[0], q[1]), vaddq_s32(q[2], q[3]))));
      b.bsums[2 * g + 1] =
          static_cast<int16_t>(vaddvq_s32(vaddq_s32(vaddq_s32(q[4], q[5]), vaddq_s32(q[6], q[7]))));
    }
    b.d = 1 / iscale;
  }
}

}  // namespace hearth::kernels::neon
