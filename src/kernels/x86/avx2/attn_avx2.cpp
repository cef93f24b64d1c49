// F16 KV-cache attention helpers with F16C + FMA (owned by the backend author; see kernels/attn.h).
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <type_traits>

#include "kernels/attn.h"

// Group helpers: up to 4 query heads share each converted key / value chunk. Per head and cell the
// operations are the same, in the same order, whatever the group: a dot product accumulates 16-element
// steps in two 8-lane halves (then one 8-element step in the first), adds the halves and reduces
// pairwise; a mix adds each cell's weighted row in order. The scalar reference finishes a head_dim
// that is not a multiple of 8.
namespace hearth::kernels {

namespace {

inline __m256 cvt8(const uint16_t* p) {
  return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}

inline float reduce8(__m256 acc) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(acc), _mm256_extractf128_ps(acc, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

template <int NQ>
void scores_nq(int64_t hd, int64_t n, const uint16_t* k, int64_t ks, const float* q, int64_t qs, float* s,
               int64_t ss) {
  for (int64_t c = 0; c < n; ++c) {
    const uint16_t* kc = k + c * ks;
    __m256 a0[NQ], a1[NQ];
    for (int j = 0; j < NQ; ++j) a0[j] = a1[j] = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 16 <= hd; i += 16) {
      const __m256 k0 = cvt8(kc + i), k1 = cvt8(kc + i + 8);
      for (int j = 0; j < NQ; ++j) {
        a0[j] = _mm256_fmadd_ps(k0, _mm256_loadu_ps(q + j * qs + i), a0[j]);
        a1[j] = _mm256_fmadd_ps(k1, _mm256_loadu_ps(q + j * qs + i + 8), a1[j]);
      }
    }
    for (; i + 8 <= hd; i += 8) {
      const __m256 k0 = cvt8(kc + i);
      for (int j = 0; j < NQ; ++j) a0[j] = _mm256_fmadd_ps(k0, _mm256_loadu_ps(q + j * qs + i), a0[j]);
    }
    for (int j = 0; j < NQ; ++j) {
      float r = reduce8(_mm256_add_ps(a0[j], a1[j]));
      if (i < hd) r += dot_f16_f32_scalar(hd - i, kc + i, q + j * qs + i);
      s[j * ss + c] = r;
    }
  }
}

template <int NQ>
void mix_nq(int64_t hd, int64_t n, const uint16_t* v, int64_t vs, const float* w, int64_t ws, float* o,
            int64_t os) {
  int64_t i = 0;
  for (; i + 16 <= hd; i += 16) {
    __m256 a0[NQ], a1[NQ];
    for (int j = 0; j < NQ; ++j) {
      a0[j] = _mm256_loadu_ps(o + j * os + i);
      a1[j] = _mm256_loadu_ps(o + j * os + i + 8);
    }
    for (int64_t c = 0; c < n; ++c) {
      const __m256 x0 = cvt8(v + c * vs + i), x1 = cvt8(v + c * vs + i + 8);
      for (int j = 0; j < NQ; ++j) {
        const __m256 a = _mm256_set1_ps(w[j * ws + c]);
        a0[j] = _mm256_fmadd_ps(a, x0, a0[j]);
        a1[j] = _mm256_fmadd_ps(a, x1, a1[j]);
      }
    }
    for (int j = 0; j < NQ; ++j) {
      _mm256_storeu_ps(o + j * os + i, a0[j]);
      _mm256_storeu_ps(o + j * os + i + 8, a1[j]);
    }
  }
  for (; i + 8 <= hd; i += 8) {
    __m256 a0[NQ];
    for (int j = 0; j < NQ; ++j) a0[j] = _mm256_loadu_ps(o + j * os + i);
    for (int64_t c = 0; c < n; ++c) {
      const __m256 x0 = cvt8(v + c * vs + i);
      for (int j = 0; j < NQ; ++j) a0[j] = _mm256_fmadd_ps(_mm256_set1_ps(w[j * ws + c]), x0, a0[j]);
    }
    for (int j = 0; j < NQ; ++j) _mm256_storeu_ps(o + j * os + i, a0[j]);
  }
  if (i < hd) {
    for (int j = 0; j < NQ; ++j)
      for (int64_t c = 0; c < n; ++c)
        axpy_f16_f32_scalar(hd - i, w[j * ws + c], v + c * vs + i, o + j * os + i);
  }
}

}  // namespace

namespace {

// Calls f(std::integral_constant<int, G>, j) for the heads j..j+G-1 of nq, in groups of 4 and one
// smaller group.
template <class F>
inline void in_groups(int nq, F&& f) {
  int j = 0;
  for (; j + 4 <= nq; j += 4) f(std::integral_constant<int, 4>{}, j);
  if (nq - j == 3) f(std::integral_constant<int, 3>{}, j);
  if (nq - j == 2) f(std::integral_constant<int, 2>{}, j);
  if (nq - j == 1) f(std::integral_constant<int, 1>{}, j);
}

}  // namespace

void attn_scores_f16_avx2(int64_t hd, int64_t n, const uint16_t* k, int64_t k_stride, const float* q, int nq,
                          int64_t q_stride, float* s, int64_t s_stride) {
  in_groups(nq, [&](auto g, int j) {
    scores_nq<decltype(g)::value>(hd, n, k, k_stride, q + j * q_stride, q_stride, s + j * s_stride, s_stride);
  });
}

void attn_mix_f16_avx2(int64_t hd, int64_t n, const uint16_t* v, int64_t v_stride, const float* w, int nq,
                       int64_t w_stride, float* o, int64_t o_stride) {
  in_groups(nq, [&](auto g, int j) {
    mix_nq<decltype(g)::value>(hd, n, v, v_stride, w + j * w_stride, w_stride, o + j * o_stride, o_stride);
  });
}

namespace {

// e^x for x <= 0 (softmax arguments): x = k ln 2 + r with |r| <= ln 2 / 2, e^r by its Taylor series to
// degree 7 (relative error below 2e-8 on that interval, before rounding), times 2^k built in the
// exponent bits. Arguments below -87 (results under the smallest normal float) give 0.
inline __m256 exp_nonpos(__m256 x) {
  const __m256 lo = _mm256_set1_ps(-87.0f);
  const __m256 under = _mm256_cmp_ps(x, lo, _CMP_LT_OQ);
  x = _mm256_max_ps(lo, x);  // a NaN argument stays NaN (max returns its second operand then)
  const __m256 k = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(k, _mm256_set1_ps(0.693359375f), x);  // ln 2 in two parts
  r = _mm256_fnmadd_ps(k, _mm256_set1_ps(-2.12194440e-4f), r);
  __m256 p = _mm256_set1_ps(1.0f / 5040);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 720));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 120));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 24));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 6));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.5f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
  const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(k), _mm256_set1_epi32(127)), 23);
  return _mm256_andnot_ps(under, _mm256_mul_ps(p, _mm256_castsi256_ps(e)));
}

inline __m256d add_pd8(__m256d acc, __m256 e) {
  return _mm256_add_pd(_mm256_add_pd(acc, _mm256_cvtps_pd(_mm256_castps256_ps128(e))),
                       _mm256_cvtps_pd(_mm256_extractf128_ps(e, 1)));
}

}  // namespace

float exp_shifted_avx2(int64_t n, float* x, float scale) {
  const __m256 sc = _mm256_set1_ps(scale);
  __m256 vmx = _mm256_set1_ps(-INFINITY);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 v = _mm256_mul_ps(_mm256_loadu_ps(x + i), sc);
    _mm256_storeu_ps(x + i, v);
    vmx = _mm256_max_ps(vmx, v);
  }
  __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(vmx), _mm256_extractf128_ps(vmx, 1));
  m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
  float mx = std::max(_mm_cvtss_f32(m4), _mm_cvtss_f32(_mm_movehdup_ps(m4)));
  for (int64_t j = i; j < n; ++j) {
    x[j] *= scale;
    mx = std::max(mx, x[j]);
  }
  const __m256 vm = _mm256_set1_ps(mx);
  __m256d acc = _mm256_setzero_pd();  // summed in double, like the scalar reference
  i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 e = exp_nonpos(_mm256_sub_ps(_mm256_loadu_ps(x + i), vm));
    _mm256_storeu_ps(x + i, e);
    acc = add_pd8(acc, e);
  }
  if (i < n) {  // the last few through the same function, masked
    alignas(32) float t[8];
    for (int j = 0; j < 8; ++j) t[j] = i + j < n ? x[i + j] - mx : -INFINITY;
    const __m256 e = exp_nonpos(_mm256_load_ps(t));
    _mm256_store_ps(t, e);
    acc = add_pd8(acc, e);
    for (int64_t j = i; j < n; ++j) x[j] = t[j - i];
  }
  const __m128d h = _mm_add_pd(_mm256_castpd256_pd128(acc), _mm256_extractf128_pd(acc, 1));
  return static_cast<float>(_mm_cvtsd_f64(_mm_add_sd(h, _mm_unpackhi_pd(h, h))));
}

}  // namespace hearth::kernels
