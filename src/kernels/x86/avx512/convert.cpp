// AVX-512 activation quantizers (Q8_0, Q8_1, Q8_K), bit-exact with the scalar references in
// tensor/quant_*.cpp: the same float operations in the same order per element (this folder is built
// with -ffp-contract=off), round-half-away-from-zero for Q8_0 / Q8_1 (std::round) and the
// round-half-even magic-number trick of nearest_int for Q8_K.
#include "kernels/x86/avx512/avx512.h"
#include "kernels/x86/avx512/common.h"

namespace hearth::kernels::avx512 {
namespace {

using tensor::BlockQ8_0;
using tensor::BlockQ8_1;
using tensor::BlockQ8_K;

inline __m512 abs_ps(__m512 v) {
  return _mm512_castsi512_ps(_mm512_and_si512(_mm512_castps_si512(v), _mm512_set1_epi32(0x7fffffff)));
}

// std::round (half away from zero) of values well inside the int range, as int32.
inline __m512i round_away(__m512 v) {
  const __m512 t = _mm512_roundscale_ps(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
  const __mmask16 up = _mm512_cmp_ps_mask(abs_ps(_mm512_sub_ps(v, t)), _mm512_set1_ps(0.5f), _CMP_GE_OQ);
  const __m512 one = _mm512_castsi512_ps(
      _mm512_or_si512(_mm512_and_si512(_mm512_castps_si512(v), _mm512_set1_epi32(INT32_MIN)),
                      _mm512_castps_si512(_mm512_set1_ps(1.0f))));
  return _mm512_cvttps_epi32(_mm512_mask_add_ps(t, up, t, one));
}

// Q8_0 / Q8_1 block: returns the sum of the levels; *df is the unrounded scale.
inline int quant32(const float* x, half* d_out, int8_t* qs, float* df) {
  const __m512 a = _mm512_loadu_ps(x), b = _mm512_loadu_ps(x + 16);
  const float amax = _mm512_reduce_max_ps(_mm512_max_ps(abs_ps(a), abs_ps(b)));
  const float d = amax / ((1 << 7) - 1);
  const float id = d ? 1.0f / d : 0.0f;
  *d_out = _cvtss_sh(d, _MM_FROUND_TO_NEAREST_INT);
  *df = d;
  const __m512 vid = _mm512_set1_ps(id);
  const __m512i qa = round_away(_mm512_mul_ps(a, vid)), qb = round_away(_mm512_mul_ps(b, vid));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(qs), _mm512_cvtsepi32_epi8(qa));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(qs + 16), _mm512_cvtsepi32_epi8(qb));
  return _mm512_reduce_add_epi32(_mm512_add_epi32(qa, qb));
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
    __m512 m = _mm512_setzero_ps();
    for (int j = 0; j < 16; ++j) m = _mm512_max_ps(m, abs_ps(_mm512_loadu_ps(xb + 16 * j)));
    const float amax = _mm512_reduce_max_ps(m);
    if (!(amax > 0.0f)) {
      std::memset(&b, 0, sizeof(b));
      continue;
    }
    // The first element of largest magnitude, with its sign (as the reference's strict '>' scan).
    float max = 0.0f;
    for (int j = 0; j < 16; ++j) {
      const __mmask16 hit =
          _mm512_cmp_ps_mask(abs_ps(_mm512_loadu_ps(xb + 16 * j)), _mm512_set1_ps(amax), _CMP_EQ_OQ);
      if (hit) {
        max = xb[16 * j + __builtin_ctz(hit)];
        break;
      }
    }
    const float iscale = -127.f / max;
    const __m512 vs = _mm512_set1_ps(iscale), magic = _mm512_set1_ps(12582912.f);
    for (int j = 0; j < 16; ++j) {
      const __m512 v = _mm512_add_ps(_mm512_mul_ps(vs, _mm512_loadu_ps(xb + 16 * j)), magic);
      __m512i q = _mm512_sub_epi32(_mm512_and_si512(_mm512_castps_si512(v), _mm512_set1_epi32(0x007fffff)),
                                   _mm512_set1_epi32(0x00400000));
      q = _mm512_min_epi32(q, _mm512_set1_epi32(127));
      _mm_storeu_si128(reinterpret_cast<__m128i*>(b.qs + 16 * j), _mm512_cvtsepi32_epi8(q));
      b.bsums[j] = static_cast<int16_t>(_mm512_reduce_add_epi32(q));
    }
    b.d = 1 / iscale;
  }
}

}  // namespace hearth::kernels::avx512
