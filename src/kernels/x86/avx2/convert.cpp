// AVX2 activation quantizers (Q8_0, Q8_1, Q8_K), bit-exact with the scalar references in
// tensor/quant_*.cpp: the same float operations in the same order per element (this folder is built
// with -ffp-contract=off), round-half-away-from-zero for Q8_0 / Q8_1 (std::round) and the
// round-half-even magic-number trick of nearest_int for Q8_K.
#include "kernels/x86/avx2/avx2.h"
#include "kernels/x86/avx2/common.h"

namespace hearth::kernels::avx2 {
namespace {

using tensor::BlockQ8_0;
using tensor::BlockQ8_1;
using tensor::BlockQ8_K;

inline __m256 abs_ps(__m256 v) { return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), v); }

inline float hmax(__m256 v) {
  __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  m = _mm_max_ps(m, _mm_movehl_ps(m, m));
  return _mm_cvtss_f32(_mm_max_ss(m, _mm_movehdup_ps(m)));
}

inline int hsum_i32(__m256i v) {
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_unpackhi_epi64(s, s));
  return _mm_cvtsi128_si32(_mm_add_epi32(s, _mm_shuffle_epi32(s, 1)));
}

// std::round (half away from zero) of values well inside the int range, as int32.
inline __m256i round_away(__m256 v) {
  const __m256 t = _mm256_round_ps(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
  const __m256 up = _mm256_cmp_ps(abs_ps(_mm256_sub_ps(v, t)), _mm256_set1_ps(0.5f), _CMP_GE_OQ);
  const __m256 one = _mm256_or_ps(_mm256_and_ps(v, _mm256_set1_ps(-0.0f)), _mm256_set1_ps(1.0f));
  return _mm256_cvttps_epi32(_mm256_add_ps(t, _mm256_and_ps(up, one)));
}

// Four vectors of 8 int32 (values in int8 range) packed to 32 int8 in element order.
inline __m256i pack4(__m256i a, __m256i b, __m256i c, __m256i d) {
  const __m256i ab = _mm256_packs_epi32(a, b), cd = _mm256_packs_epi32(c, d);
  const __m256i q = _mm256_packs_epi16(ab, cd);  // lane-interleaved: fix the dword order
  return _mm256_permutevar8x32_epi32(q, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

// Q8_0 / Q8_1 block: returns the sum of the levels; *df is the unrounded scale.
inline int quant32(const float* x, half* d_out, int8_t* qs, float* df) {
  __m256 v[4];
  __m256 m = _mm256_setzero_ps();
  for (int j = 0; j < 4; ++j) {
    v[j] = _mm256_loadu_ps(x + 8 * j);
    m = _mm256_max_ps(m, abs_ps(v[j]));
  }
  const float amax = hmax(m);
  const float d = amax / ((1 << 7) - 1);
  const float id = d ? 1.0f / d : 0.0f;
  *d_out = _cvtss_sh(d, _MM_FROUND_TO_NEAREST_INT);
  *df = d;
  const __m256 vid = _mm256_set1_ps(id);
  __m256i q[4];
  for (int j = 0; j < 4; ++j) q[j] = round_away(_mm256_mul_ps(v[j], vid));
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(qs), pack4(q[0], q[1], q[2], q[3]));
  return hsum_i32(_mm256_add_epi32(_mm256_add_epi32(q[0], q[1]), _mm256_add_epi32(q[2], q[3])));
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
    b[i].s = _cvtss_sh(static_cast<float>(sum) * d, _MM_FROUND_TO_NEAREST_INT);
  }
}

void from_float_q8_k(const float* x, void* y, int64_t n) {
  auto* out = static_cast<BlockQ8_K*>(y);
  for (int64_t i = 0; i < n / 256; ++i) {
    const float* xb = x + 256 * i;
    BlockQ8_K& b = out[i];
    __m256 m = _mm256_setzero_ps();
    for (int j = 0; j < 32; ++j) m = _mm256_max_ps(m, abs_ps(_mm256_loadu_ps(xb + 8 * j)));
    const float amax = hmax(m);
    if (!(amax > 0.0f)) {
      std::memset(&b, 0, sizeof(b));
      continue;
    }
    // The first element of largest magnitude, with its sign (as the reference's strict '>' scan).
    float max = 0.0f;
    for (int j = 0; j < 32; ++j) {
      const int hit = _mm256_movemask_ps(
          _mm256_cmp_ps(abs_ps(_mm256_loadu_ps(xb + 8 * j)), _mm256_set1_ps(amax), _CMP_EQ_OQ));
      if (hit) {
        max = xb[8 * j + __builtin_ctz(static_cast<unsigned>(hit))];
        break;
      }
    }
    const float iscale = -127.f / max;
    const __m256 vs = _mm256_set1_ps(iscale), magic = _mm256_set1_ps(12582912.f);
    for (int g = 0; g < 8; ++g) {  // 32 elements (two 16-groups) per step
      __m256i q[4];
      for (int j = 0; j < 4; ++j) {
        const __m256 v = _mm256_add_ps(_mm256_mul_ps(vs, _mm256_loadu_ps(xb + 32 * g + 8 * j)), magic);
        const __m256i t =
            _mm256_sub_epi32(_mm256_and_si256(_mm256_castps_si256(v), _mm256_set1_epi32(0x007fffff)),
                             _mm256_set1_epi32(0x00400000));
        q[j] = _mm256_min_epi32(t, _mm256_set1_epi32(127));
      }
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(b.qs + 32 * g), pack4(q[0], q[1], q[2], q[3]));
      b.bsums[2 * g] = static_cast<int16_t>(hsum_i32(_mm256_add_epi32(q[0], q[1])));
      b.bsums[2 * g + 1] = static_cast<int16_t>(hsum_i32(_mm256_add_epi32(q[2], q[3])));
    }
    b.d = 1 / iscale;
  }
}

}  // namespace hearth::kernels::avx2
