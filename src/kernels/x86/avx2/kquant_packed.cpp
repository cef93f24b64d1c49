// AVX2 kernels of packed weights (kernels.h dot_packed; layouts in kernels/pack.cpp, pack_layout.h):
// lane r of a vector belongs to weight row r, 8 rows per vector, so each 16-row group is read as two
// halves. One vpmaddubsw with a broadcast activation dword serves 8 rows; sums stay in 16 bits while they
// fit (Q4_K: a whole 32-element sub-block, Q6_K: 8 elements), then vpmaddwd applies the row's scale.
// The integer sums are exact, and the float steps per super-block and row are those of the AVX-512
// kernels (x86/avx512/kquant_tile.cpp), so every output has the same bits as there, whatever nc.
#include "kernels/pack_layout.h"
#include "kernels/x86/avx2/avx2.h"
#include "kernels/x86/avx2/common.h"

namespace hearth::kernels::avx2 {
namespace {

using tensor::BlockQ8_K;

inline __m256i set8(int v) { return _mm256_set1_epi8(static_cast<char>(v)); }
inline __m256i bcast(const void* p) { return _mm256_set1_epi32(load_as<int32_t>(p)); }
inline const BlockQ8_K* act(const uint8_t* x, uint64_t xs, int c, int64_t i) {
  return reinterpret_cast<const BlockQ8_K*>(x + c * xs) + i;
}

// The fp16 in the low (high = false) or high halves of 8 dwords, as floats.
inline __m256 halves(__m256i g, bool high) {
  const int o = high ? 2 : 0;
  const __m256i ctrl =
      _mm256_setr_epi8(o, o + 1, o + 4, o + 5, o + 8, o + 9, o + 12, o + 13, -1, -1, -1, -1, -1, -1, -1, -1,
                       o, o + 1, o + 4, o + 5, o + 8, o + 9, o + 12, o + 13, -1, -1, -1, -1, -1, -1, -1, -1);
  const __m256i t = _mm256_permute4x64_epi64(_mm256_shuffle_epi8(g, ctrl), _MM_SHUFFLE(3, 1, 2, 0));
  return _mm256_cvtph_ps(_mm256_castsi256_si128(t));
}

// Byte j of every dword, as the int16 pair (v, v).
inline __m256i dup_byte(__m256i v, int j) {
  const __m256i ctrl = _mm256_add_epi8(_mm256_set1_epi32(static_cast<int>(0x80008000u) | j | j << 16),
                                       _mm256_setr_epi8(0, 0, 0, 0, 4, 0, 4, 0, 8, 0, 8, 0, 12, 0, 12, 0, 0,
                                                        0, 0, 0, 4, 0, 4, 0, 8, 0, 8, 0, 12, 0, 12, 0));
  return _mm256_shuffle_epi8(v, ctrl);
}

// Fetch the super-block kAhead ahead (the whole 16-row block: the second half's pass finds it cached and
// its prefetches cost little).
template <class T>
inline void prefetch_ahead(const uint8_t* b) {
  constexpr int kAhead = 4;  // super-blocks
  for (uint64_t o = 0; o < T::kBlockBytes; o += 64)
    _mm_prefetch(reinterpret_cast<const char*>(b + kAhead * T::kBlockBytes + o), _MM_HINT_T0);
}

// Q4_K, dword interleave: dword 0 = d | dmin << 16, dwords 1-3 the 12 scale bytes, dword 4 + 8p + k the
// quant bytes 32p + 4k.. (low nibbles: sub-block 2p, high nibbles: 2p + 1).
struct Q4K {
  static constexpr uint64_t kBlockBytes = 36 * 64;
  template <int NC>
  static void run(int64_t nb, const uint8_t* w, int h, const uint8_t* x, uint64_t xs, float* out,
                  int64_t os) {
    __m256 acc[NC];
    for (int c = 0; c < NC; ++c) acc[c] = _mm256_setzero_ps();
    const __m256i m4 = set8(0x0F), m6 = set8(0x3F), m30 = set8(0x30);
    for (int64_t i = 0; i < nb; ++i) {
      const uint8_t* b = w + i * kBlockBytes;
      prefetch_ahead<Q4K>(b);
      const uint8_t* v = b + 32 * h;  // this half's 32 bytes of each 64-byte vector
      const __m256i g = load256(v);
      const __m256 d = halves(g, false), dmin = halves(g, true);
      const __m256i a = load256(v + 64), bb = load256(v + 128), cc = load256(v + 192);
      const __m256i sc_lo = _mm256_and_si256(a, m6);
      const __m256i sc_hi =
          _mm256_or_si256(_mm256_and_si256(cc, m4), _mm256_and_si256(_mm256_srli_epi16(a, 2), m30));
      const __m256i mn_lo = _mm256_and_si256(bb, m6);
      const __m256i mn_hi = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(cc, 4), m4),
                                            _mm256_and_si256(_mm256_srli_epi16(bb, 2), m30));
      __m256i iacc[NC];
      for (int c = 0; c < NC; ++c) iacc[c] = _mm256_setzero_si256();
        // Not unrolled (nor Q6K's sub-blocks beyond 2): GCC would hoist and spill the quant vectors of
        // every sub-block; measured 12% (Q4_K) and 30% (Q6_K) slower with 4 columns.
#pragma GCC unroll 1
      for (int p = 0; p < 4; ++p) {
#pragma GCC unroll 2
        for (int s = 0; s < 2; ++s) {
          const int j = 2 * p + s;
          __m256i u[8];
#pragma GCC unroll 8
          for (int k = 0; k < 8; ++k) {
            const __m256i z = load256(v + (4 + 8 * p + k) * 64);
            u[k] = _mm256_and_si256(s ? _mm256_srli_epi16(z, 4) : z, m4);
          }
          const __m256i sc = dup_byte(j < 4 ? sc_lo : sc_hi, j % 4);
#pragma GCC unroll 8
          for (int c = 0; c < NC; ++c) {
            const int8_t* q = act(x, xs, c, i)->qs + 32 * j;
            __m256i s16 = _mm256_maddubs_epi16(u[0], bcast(q));  // |sum| <= 8 * 2 * 15 * 128 < 2^15
#pragma GCC unroll 8
            for (int k = 1; k < 8; ++k)
              s16 = _mm256_add_epi16(s16, _mm256_maddubs_epi16(u[k], bcast(q + 4 * k)));
            iacc[c] = _mm256_add_epi32(iacc[c], _mm256_madd_epi16(s16, sc));
          }
        }
      }
#pragma GCC unroll 8
      for (int c = 0; c < NC; ++c) {
        const BlockQ8_K* xb = act(x, xs, c, i);
        acc[c] =
            _mm256_fmadd_ps(_mm256_cvtepi32_ps(iacc[c]), _mm256_mul_ps(d, _mm256_set1_ps(xb->d)), acc[c]);
        __m256i m = _mm256_setzero_si256();  // sum_j min_j * (bsum 2j + bsum 2j+1)
#pragma GCC unroll 8
        for (int j = 0; j < 8; ++j)
          m = _mm256_add_epi32(
              m, _mm256_madd_epi16(dup_byte(j < 4 ? mn_lo : mn_hi, j % 4), bcast(xb->bsums + 2 * j)));
        acc[c] = _mm256_fnmadd_ps(_mm256_cvtepi32_ps(m), _mm256_mul_ps(dmin, _mm256_set1_ps(xb->d)), acc[c]);
      }
    }
    for (int c = 0; c < NC; ++c) _mm256_storeu_ps(out + c * os, acc[c]);
  }
};

// Q6_K in its own layout (pack_layout.h).
struct Q6K {
  using L = packed::Q6K;
  static constexpr uint64_t kBlockBytes = L::kBytes;
  // Crumb c of h at bits 4-5, zero elsewhere.
  static inline __m256i top(__m256i h, int c) {
    const __m256i m = set8(0x30);
    if (c == 0) return _mm256_and_si256(_mm256_slli_epi16(h, 4), m);
    if (c == 1) return _mm256_and_si256(_mm256_slli_epi16(h, 2), m);
    if (c == 2) return _mm256_and_si256(h, m);
    return _mm256_and_si256(_mm256_srli_epi16(h, 2), m);
  }
  template <int NC>
  static void run(int64_t nb, const uint8_t* w, int h, const uint8_t* x, uint64_t xs, float* out,
                  int64_t os) {
    __m256 acc[NC];
    for (int c = 0; c < NC; ++c) acc[c] = _mm256_setzero_ps();
    const __m256i m4 = set8(0x0F);
    const __m256i lo16 = _mm256_setr_epi8(0, 1, 0, 1, 4, 5, 4, 5, 8, 9, 8, 9, 12, 13, 12, 13, 0, 1, 0, 1, 4,
                                          5, 4, 5, 8, 9, 8, 9, 12, 13, 12, 13);
    const __m256i hi16 = _mm256_add_epi8(lo16, set8(2));
    for (int64_t i = 0; i < nb; ++i) {
      const uint8_t* b = w + i * kBlockBytes;
      prefetch_ahead<Q6K>(b);
      const __m256 d = _mm256_cvtph_ps(load128(b + 16 * h));
      __m256i iacc[NC];
      for (int c = 0; c < NC; ++c) iacc[c] = _mm256_setzero_si256();
#pragma GCC unroll 2
      for (int j = 0; j < 8; ++j) {
        // Scales of groups 2j, 2j + 1 as int16 pairs per row; the quants of sub-block j.
        const __m256i pr = _mm256_cvtepi8_epi16(load128(b + L::kScales + 32 * j + 16 * h));
        const __m256i sa = _mm256_shuffle_epi8(pr, lo16), sb = _mm256_shuffle_epi8(pr, hi16);
        const __m256i h0 = load256(b + L::kHigh + 64 * (2 * j) + 32 * h);
        const __m256i h1 = load256(b + L::kHigh + 64 * (2 * j + 1) + 32 * h);
        __m256i t[8];
#pragma GCC unroll 4
        for (int k = 0; k < 4; ++k) {
          const __m256i l = load256(b + L::kLow + 64 * (4 * j + k) + 32 * h);
          t[k] = _mm256_or_si256(_mm256_and_si256(l, m4), top(h0, k));
          t[k + 4] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l, 4), m4), top(h1, k));
        }
#pragma GCC unroll 8
        for (int c = 0; c < NC; ++c) {
          const int8_t* q = act(x, xs, c, i)->qs + 32 * j;
          // Two products per pair, two pairs per int16 sum: |sum| <= 4 * 63 * 128 < 2^15.
          __m256i s[4];
#pragma GCC unroll 4
          for (int e = 0; e < 4; ++e)
            s[e] = _mm256_add_epi16(_mm256_maddubs_epi16(t[2 * e], bcast(q + 8 * e)),
                                    _mm256_maddubs_epi16(t[2 * e + 1], bcast(q + 8 * e + 4)));
          iacc[c] = _mm256_add_epi32(
              iacc[c], _mm256_add_epi32(_mm256_madd_epi16(s[0], sa), _mm256_madd_epi16(s[1], sa)));
          iacc[c] = _mm256_add_epi32(
              iacc[c], _mm256_add_epi32(_mm256_madd_epi16(s[2], sb), _mm256_madd_epi16(s[3], sb)));
        }
      }
#pragma GCC unroll 8
      for (int c = 0; c < NC; ++c) {
        // value = u - 32: the offset through the group sums, 32 * sum_g scale_g * bsum_g.
        const BlockQ8_K* xb = act(x, xs, c, i);
        __m256i off = _mm256_setzero_si256();
#pragma GCC unroll 8
        for (int j = 0; j < 8; ++j) {
          const __m256i pr = _mm256_cvtepi8_epi16(load128(b + L::kScales + 32 * j + 16 * h));
          off = _mm256_add_epi32(off, _mm256_madd_epi16(pr, bcast(xb->bsums + 2 * j)));
        }
        const __m256i isum = _mm256_sub_epi32(iacc[c], _mm256_slli_epi32(off, 5));
        acc[c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum), _mm256_mul_ps(d, _mm256_set1_ps(xb->d)), acc[c]);
      }
    }
    for (int c = 0; c < NC; ++c) _mm256_storeu_ps(out + c * os, acc[c]);
  }
};

// One half (rows 8h..8h+7) of every group, through tile_cols.
template <class T, int H>
struct Half {
  template <int NR, int NC>
  static void run(int64_t nb, const uint8_t* w, uint64_t /*ws*/, const uint8_t* x, uint64_t xs, float* out,
                  int64_t os) {
    T::template run<NC>(nb, w, H, x, xs, out, os);
  }
};

constexpr int kPackedCols = 4;

template <class T>
void packed8(int64_t n, int nr, int nc, const void* w, uint64_t ws, const void* x, uint64_t xs, float* out,
             int64_t os) {
  const auto* wb = static_cast<const uint8_t*>(w);
  const auto* xb = static_cast<const uint8_t*>(x);
  for (int g = 0; g < nr / kPackRows; ++g) {
    tile_cols<Half<T, 0>, 8, kPackedCols>(n / 256, wb + g * ws, ws, xb, xs, out + kPackRows * g, os, nc);
    tile_cols<Half<T, 1>, 8, kPackedCols>(n / 256, wb + g * ws, ws, xb, xs, out + kPackRows * g + 8, os, nc);
  }
}

}  // namespace

void dot_packed_q4_k(int64_t n, int nr, int nc, const void* w, uint64_t ws, const void* x, uint64_t xs,
                     float* out, int64_t os) {
  packed8<Q4K>(n, nr, nc, w, ws, x, xs, out, os);
}
void dot_packed_q6_k(int64_t n, int nr, int nc, const void* w, uint64_t ws, const void* x, uint64_t xs,
                     float* out, int64_t os) {
  packed8<Q6K>(n, nr, nc, w, ws, x, xs, out, os);
}

}  // namespace hearth::kernels::avx2
