// AVX-512 VNNI dot products of the 256-element super-block types (Q2_K..Q6_K, IQ4_XS) with Q8_K
// activations. Each weight super-block is decoded once into unsigned bytes (four 64-byte chunks) and
// 16-bit group scales, then reused for every activation row of the tile:
//   sum_g scale_g * dot(u_g, x_g)  via vpdpbusd (4 products per dword), vpackssdw (two chunks to 16
//   bits) and vpdpwssd with the scales (exact in 32 bits; IQ4_XS: vpdpbusd and vpmulld),
// with offsets (Q3_K: -4, Q6_K: -32, IQ4_XS: -128) folded in through the activation's 16-group sums
// (bsums), and the min terms of Q2_K / Q4_K / Q5_K as sum_g m_g * bsum_g scaled by dmin.
#include "kernels/x86/avx512/avx512.h"
#include "kernels/x86/avx512/common.h"

namespace hearth::kernels::avx512 {
namespace {

using tensor::BlockIQ4_XS;
using tensor::BlockQ2_K;
using tensor::BlockQ3_K;
using tensor::BlockQ4_K;
using tensor::BlockQ5_K;
using tensor::BlockQ6_K;
using tensor::BlockQ8_K;

// One decoded weight super-block.
struct Dec {
  __m512i u[4];   // unsigned quants, 64 per chunk
  __m512i sc[4];  // 16-bit scales for vpdpwssd per chunk pair (kMulLo types: 32-bit per chunk)
  __m256i g16;    // kInit: coefficients of the 16 bsums added to the integer sum
  __m256i m16;    // kMin: the 16 group mins (16-bit), times the group sums, scaled by dmin, subtracted
  float d, dmin;
};

// Scale vectors for the packed chunk sums of quant_sum: pair p (chunks 2p, 2p + 1) holds, in 16-bit lane
// L, the scale of the 16-group its 4-element sum belongs to. vpackssdw interleaves the two chunks' dword
// sums per 128-bit block b: lanes 8b..8b+3 are chunk 2p's dwords 4b..4b+3 (group 8p + b), lanes
// 8b+4..8b+7 chunk 2p+1's (group 8p + 4 + b).
// `div` 2: the index of the 32-element sub-block instead (Q4_K / Q5_K: 8 scales, one per sub-block).
template <int div>
struct PairIndex {
  alignas(64) int16_t v[2][32];
  constexpr PairIndex() : v() {
    for (int p = 0; p < 2; ++p)
      for (int l = 0; l < 32; ++l)
        v[p][l] = static_cast<int16_t>((8 * p + l / 8 + (l % 8 >= 4 ? 4 : 0)) / div);
  }
};
constexpr PairIndex<1> kPairIndex;
constexpr PairIndex<2> kPairIndexSub;

// The two pair scale vectors from the 16 group scales (16-bit).
inline void chunk_scales(__m256i sc16, Dec& o) {
  const __m512i s = _mm512_castsi256_si512(sc16);
  o.sc[0] = _mm512_permutexvar_epi16(_mm512_load_si512(kPairIndex.v[0]), s);
  o.sc[1] = _mm512_permutexvar_epi16(_mm512_load_si512(kPairIndex.v[1]), s);
}

// Bytes whose bit (2k) (low 32 bytes) or (2k+1) (high 32 bytes) is set in a 32-byte bit plane.
inline __mmask64 plane_bits(__m512i plane, int k) {
  const __m512i sel = _mm512_inserti64x4(_mm512_set1_epi8(1), _mm256_set1_epi8(2), 1);
  return _mm512_test_epi8_mask(plane, _mm512_slli_epi64(sel, 2 * k));
}

// Q4_K / Q5_K: the 8 six-bit scales and mins. With the 12 bytes as dwords a, b, c: scales 0-3 are
// a & 0x3f, mins 0-3 b & 0x3f, scales 4-7 (c & 0x0f) | (bits 6-7 of a at 4-5), mins 4-7 (c >> 4) | (bits
// 6-7 of b at 4-5). Vector-only: the pair scale vectors for quant_sum straight from the 8 scales, and
// the mins as 16-bit values repeated for the two 16-groups of each sub-block.
inline void k4_scales(const uint8_t* q, Dec& o) {
  // 16 bytes from q: the 12 scale bytes and the first 4 quant bytes (unused) of the same block.
  const __m128i x = load128(q);  // [a, b, c, -]
  const __m128i z = _mm_srlv_epi32(_mm_shuffle_epi32(x, _MM_SHUFFLE(1, 0, 2, 2)), _mm_setr_epi32(0, 4, 2, 2));
  const __m128i t = _mm_and_si128(z, _mm_setr_epi32(0x0f0f0f0f, 0x0f0f0f0f, 0x30303030, 0x30303030));
  const __m128i hi = _mm_or_si128(t, _mm_shuffle_epi32(t, _MM_SHUFFLE(1, 0, 3, 2)));  // [sc4-7, m4-7, ..]
  const __m128i lo = _mm_and_si128(x, _mm_set1_epi8(0x3f));                           // [sc0-3, m0-3, ..]
  const __m128i sm = _mm_unpacklo_epi32(lo, hi);                                      // [sc0-7, m0-7]
  const __m512i s = _mm512_zextsi256_si512(_mm256_cvtepu8_epi16(sm));
  o.sc[0] = _mm512_permutexvar_epi16(_mm512_load_si512(kPairIndexSub.v[0]), s);
  o.sc[1] = _mm512_permutexvar_epi16(_mm512_load_si512(kPairIndexSub.v[1]), s);
  o.m16 = _mm256_cvtepu8_epi16(
      _mm_shuffle_epi8(sm, _mm_setr_epi8(8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13, 14, 14, 15, 15)));
}

// Q2_K / Q3_K: 2-bit fields of chunk k (bits 2j of qs[32n + l], j = 2(k%2) low half, j+1 high half).
inline __m512i crumbs(const uint8_t* qs, int k) {
  const int n = k / 2, j = 2 * (k % 2);
  const __m512i z = _mm512_broadcast_i64x4(load256(qs + 32 * n));
  const __m512i sh =
      _mm512_setr_epi64(2 * j, 2 * j, 2 * j, 2 * j, 2 * j + 2, 2 * j + 2, 2 * j + 2, 2 * j + 2);
  return _mm512_and_si512(_mm512_srlv_epi64(z, sh), _mm512_set1_epi8(3));
}

struct Q2_KT {
  using W = BlockQ2_K;
  static constexpr bool kInit = false, kMin = true, kMulLo = false;
  static void decode(const W* b, Dec& o) {
    const __m128i s = load128(b->scales);
    const __m256i sc16 = _mm256_cvtepu8_epi16(_mm_and_si128(s, _mm_set1_epi8(0x0F)));
    o.m16 = _mm256_cvtepu8_epi16(_mm_and_si128(_mm_srli_epi16(s, 4), _mm_set1_epi8(0x0F)));
    o.dmin = f16(b->dmin);
    chunk_scales(sc16, o);
#pragma GCC unroll 16
    for (int k = 0; k < 4; ++k) o.u[k] = crumbs(b->qs, k);
    o.d = f16(b->d);
  }
};

struct Q3_KT {
  using W = BlockQ3_K;
  static constexpr bool kInit = true, kMin = false, kMulLo = false;
  static void decode(const W* b, Dec& o) {
    // Scale j: low nibble of byte j (j < 8) or j - 8 (j >= 8, high nibble), plus 2 bits of byte
    // 8 + j % 4 at bit 2 * (j / 4) on top; minus 32.
    const __m128i v = _mm_cvtsi64_si128(static_cast<int64_t>(load_as<uint64_t>(b->scales)));
    const __m128i m4 = _mm_set1_epi8(0x0F);
    const __m128i low = _mm_unpacklo_epi64(_mm_and_si128(v, m4), _mm_and_si128(_mm_srli_epi16(v, 4), m4));
    const __m128i high =
        _mm_and_si128(_mm_srlv_epi32(_mm_set1_epi32(static_cast<int>(load_as<uint32_t>(b->scales + 8))),
                                     _mm_setr_epi32(0, 2, 4, 6)),
                      _mm_set1_epi8(3));
    const __m128i s = _mm_sub_epi8(_mm_or_si128(low, _mm_slli_epi32(high, 4)), _mm_set1_epi8(32));
    const __m256i sc16 = _mm256_cvtepi8_epi16(s);
    o.g16 = _mm256_sub_epi16(_mm256_setzero_si256(), _mm256_slli_epi16(sc16, 2));  // value = u - 4
    chunk_scales(sc16, o);
    const __m512i hm = _mm512_broadcast_i64x4(load256(b->hmask));
#pragma GCC unroll 16
    for (int k = 0; k < 4; ++k) {
      const __m512i u = crumbs(b->qs, k);
      o.u[k] = _mm512_mask_add_epi8(u, plane_bits(hm, k), u, _mm512_set1_epi8(4));
    }
    o.d = f16(b->d);
  }
};

struct Q4_KT {
  using W = BlockQ4_K;
  static constexpr bool kInit = false, kMin = true, kMulLo = false;
  static void decode(const W* b, Dec& o) {
    k4_scales(b->scales, o);
    o.dmin = f16(b->dmin);
#pragma GCC unroll 16
    for (int k = 0; k < 4; ++k) o.u[k] = nibbles256(b->qs + 32 * k);
    o.d = f16(b->d);
  }
};

struct Q5_KT {
  using W = BlockQ5_K;
  static constexpr bool kInit = false, kMin = true, kMulLo = false;
  static void decode(const W* b, Dec& o) {
    k4_scales(b->scales, o);
    o.dmin = f16(b->dmin);
    const __m512i qh = _mm512_broadcast_i64x4(load256(b->qh));
#pragma GCC unroll 16
    for (int k = 0; k < 4; ++k) {
      const __m512i u = nibbles256(b->qs + 32 * k);
      o.u[k] = _mm512_mask_add_epi8(u, plane_bits(qh, k), u, _mm512_set1_epi8(16));
    }
    o.d = f16(b->d);
  }
};

struct Q6_KT {
  using W = BlockQ6_K;
  static constexpr bool kInit = true, kMin = false, kMulLo = false;
  static void decode(const W* b, Dec& o) {
    const __m256i sc16 = _mm256_cvtepi8_epi16(load128(b->scales));
    o.g16 = _mm256_sub_epi16(_mm256_setzero_si256(), _mm256_slli_epi16(sc16, 5));  // value = u - 32
    chunk_scales(sc16, o);
    const __m512i m4 = _mm512_set1_epi8(0x0F), m30 = _mm512_set1_epi8(0x30);
#pragma GCC unroll 16
    for (int n = 0; n < 2; ++n) {
      const __m512i l = load512(b->ql + 64 * n);
      const __m512i h = _mm512_srlv_epi64(_mm512_broadcast_i64x4(load256(b->qh + 32 * n)),
                                          _mm512_setr_epi64(0, 0, 0, 0, 2, 2, 2, 2));
      o.u[2 * n] = _mm512_or_si512(_mm512_and_si512(l, m4), _mm512_and_si512(_mm512_slli_epi16(h, 4), m30));
      o.u[2 * n + 1] =
          _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(l, 4), m4), _mm512_and_si512(h, m30));
    }
    o.d = f16(b->d);
  }
};

struct IQ4_XST {
  using W = BlockIQ4_XS;
  static constexpr bool kInit = true, kMin = false, kMulLo = true;
  static void decode(const W* b, Dec& o) {
    const __m256i lo = _mm256_and_si256(
        _mm256_srlv_epi32(_mm256_set1_epi32(static_cast<int>(load_as<uint32_t>(b->scales_l))),
                          _mm256_setr_epi32(0, 4, 8, 12, 16, 20, 24, 28)),
        _mm256_set1_epi32(0x0F));
    const __m256i hi = _mm256_and_si256(
        _mm256_srlv_epi32(_mm256_set1_epi32(b->scales_h), _mm256_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14)),
        _mm256_set1_epi32(3));
    const __m256i sc32 =
        _mm256_sub_epi32(_mm256_or_si256(lo, _mm256_slli_epi32(hi, 4)), _mm256_set1_epi32(32));
    // value = u - 128: coefficient -128 * scale on both 16-groups of each sub-block.
    const __m256i m = _mm256_sub_epi32(_mm256_setzero_si256(), _mm256_slli_epi32(sc32, 7));
    o.g16 = _mm256_or_si256(_mm256_and_si256(m, _mm256_set1_epi32(0xFFFF)), _mm256_slli_epi32(m, 16));
    const __m512i s = _mm512_castsi256_si512(sc32);
    const __m512i idx = _mm512_setr_epi32(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1);
    const __m512i tbl =
        _mm512_broadcast_i32x4(_mm_xor_si128(load128(tensor::kIQ4NLValues), _mm_set1_epi8(-128)));
#pragma GCC unroll 16
    for (int k = 0; k < 4; ++k) {
      o.sc[k] = _mm512_permutexvar_epi32(_mm512_add_epi32(idx, _mm512_set1_epi32(2 * k)), s);
      o.u[k] = _mm512_shuffle_epi8(tbl, nibbles2x128(b->qs + 32 * k, b->qs + 32 * k + 16));
    }
    o.d = f16(b->d);
  }
};

template <class T>
struct KernK {
  static constexpr int kBlock = 256;
  static constexpr int kAhead = 4;  // super-blocks of software prefetch in run_block
  using W = typename T::W;

  template <int NR, int NC>
  static void run(int64_t nb, const uint8_t* w, uint64_t ws, const uint8_t* x, uint64_t xs, float* out,
                  int64_t os) {
    // Per output and super-block: the exact integer sums I (quants, offsets) and M (kMin: mins times
    // group sums), then acc = fma(I, d * dx, acc) and acc = fnma(M, dmin * dx, acc) in single floats: the
    // same operations, in the same order, as the 16-row tile kernel (kquant_tile.cpp) applies per lane,
    // so one-row and tiled products give identical bits (batch invariance). Blocks of 4+ outputs do the
    // float part for all outputs at once (lane r * NC + c), single outputs in scalar registers.
    if constexpr (NR * NC >= 4)
      run_block<NR, NC>(nb, w, ws, x, xs, out, os);
    else
      run_single<NR, NC>(nb, w, ws, x, xs, out, os);
  }

  // The integer sum I of one output and super-block (16 lanes to add).
  static inline __m512i quant_sum(const Dec& dq, const BlockQ8_K* xb) {
    const __m512i zero = _mm512_setzero_si512();
    __m512i iacc = zero;
    if constexpr (T::kInit) iacc = _mm512_zextsi256_si512(_mm256_madd_epi16(load256(xb->bsums), dq.g16));
    if constexpr (T::kMulLo) {
#pragma GCC unroll 16
      for (int k = 0; k < 4; ++k) {
        const __m512i xq = load512(xb->qs + 64 * k);
        iacc = _mm512_add_epi32(iacc, _mm512_mullo_epi32(_mm512_dpbusd_epi32(zero, dq.u[k], xq), dq.sc[k]));
      }
    } else {
      // Sums of 4 products per dword (|sum| <= 4 * 63 * 128 < 2^15 for quants up to 6 bits), two chunks
      // packed to 16 bits, times the group scales: 3 multiplies per 128 elements instead of 4.
#pragma GCC unroll 16
      for (int p = 0; p < 2; ++p) {
        const __m512i a = _mm512_dpbusd_epi32(zero, dq.u[2 * p], load512(xb->qs + 128 * p));
        const __m512i b = _mm512_dpbusd_epi32(zero, dq.u[2 * p + 1], load512(xb->qs + 128 * p + 64));
        iacc = _mm512_dpwssd_epi32(iacc, _mm512_packs_epi32(a, b), dq.sc[p]);
      }
    }
    return iacc;
  }

  template <int NR, int NC>
  static void run_single(int64_t nb, const uint8_t* w, uint64_t ws, const uint8_t* x, uint64_t xs, float* out,
                         int64_t os) {
    __m128 acc[NR][NC];
#pragma GCC unroll 16
    for (int r = 0; r < NR; ++r)
#pragma GCC unroll 16
      for (int c = 0; c < NC; ++c) acc[r][c] = _mm_setzero_ps();
    for (int64_t i = 0; i < nb; ++i) {
#pragma GCC unroll 16
      for (int r = 0; r < NR; ++r) {
        Dec dq;
        T::decode(reinterpret_cast<const W*>(w + r * ws) + i, dq);
        const __m128 d = _mm_set_ss(dq.d);
#pragma GCC unroll 16
        for (int c = 0; c < NC; ++c) {
          const BlockQ8_K* xb = reinterpret_cast<const BlockQ8_K*>(x + c * xs) + i;
          const __m128 dx = _mm_set_ss(xb->d);
          const __m128 fi = _mm_cvtsi32_ss(_mm_setzero_ps(), hsum_i32(quant_sum(dq, xb)));
          acc[r][c] = _mm_fmadd_ss(fi, _mm_mul_ss(d, dx), acc[r][c]);
          if constexpr (T::kMin) {
            const __m256i mm = _mm256_madd_epi16(load256(xb->bsums), dq.m16);
            const int32_t m = hsum_i32(_mm512_zextsi256_si512(mm));
            acc[r][c] = _mm_fnmadd_ss(_mm_cvtsi32_ss(_mm_setzero_ps(), m),
                                      _mm_mul_ss(_mm_set_ss(dq.dmin), dx), acc[r][c]);
          }
        }
      }
    }
#pragma GCC unroll 16
    for (int r = 0; r < NR; ++r)
#pragma GCC unroll 16
      for (int c = 0; c < NC; ++c) out[c * os + r] = _mm_cvtss_f32(acc[r][c]);
  }

  template <int NR, int NC>
  static void run_block(int64_t nb, const uint8_t* w, uint64_t ws, const uint8_t* x, uint64_t xs, float* out,
                        int64_t os) {
    static_assert(NR * NC <= 16);
    // kMin with NR, NC <= 4: the 16 min sums M[r][c] = m_r . bsums_c in 8 vpdpwssd on lane-gathered pairs.
    constexpr bool kPairedMins = T::kMin && NR <= 4 && NC <= 4;
    __m512i ia[8], ib[8];  // lane j = r * NC + c: dword g of row r's mins / column c's bsums
    if constexpr (kPairedMins) {
      alignas(64) int32_t a[16], b[16];
      for (int g = 0; g < 8; ++g) {
        for (int j = 0; j < 16; ++j) {
          const int r = j < NR * NC ? j / NC : 0, c = j < NR * NC ? j % NC : 0;
          a[j] = (r < 2 ? r * 8 : 16 + (r - 2) * 8) + g;
          b[j] = (c < 2 ? c * 8 : 16 + (c - 2) * 8) + g;
        }
        ia[g] = _mm512_load_si512(a);
        ib[g] = _mm512_load_si512(b);
      }
    }
    __m512 acc = _mm512_setzero_ps();
    for (int64_t i = 0; i < nb; ++i) {
      __m512i isum[16], msum[16];
      __m256i mins[4], bs[4];
      __m512 d = _mm512_setzero_ps(), dmin = _mm512_setzero_ps(), dx = _mm512_setzero_ps();
#pragma GCC unroll 16
      for (int j = NR * NC; j < 16; ++j) isum[j] = msum[j] = _mm512_setzero_si512();
#pragma GCC unroll 16
      for (int c = 0; c < NC; ++c) {
        const BlockQ8_K* xb = reinterpret_cast<const BlockQ8_K*>(x + c * xs) + i;
        dx = _mm512_mask_mov_ps(dx, static_cast<__mmask16>(col_mask<NR, NC>() << c), _mm512_set1_ps(xb->d));
        if constexpr (kPairedMins) bs[c] = load256(xb->bsums);
      }
#pragma GCC unroll 16
      for (int r = 0; r < NR; ++r) {
        // Several rows stream at once: fetch each row's super-block a few blocks ahead (the hardware
        // prefetcher alone leaves these kernels waiting on memory).
        const auto* ahead =
            reinterpret_cast<const char*>(reinterpret_cast<const W*>(w + r * ws) + i + kAhead);
#pragma GCC unroll 4
        for (size_t b = 0; b < sizeof(W); b += 64) _mm_prefetch(ahead + b, _MM_HINT_T0);
        Dec dq;
        T::decode(reinterpret_cast<const W*>(w + r * ws) + i, dq);
        const auto rm = static_cast<__mmask16>(((1u << NC) - 1) << (r * NC));
        d = _mm512_mask_mov_ps(d, rm, _mm512_set1_ps(dq.d));
        if constexpr (T::kMin) dmin = _mm512_mask_mov_ps(dmin, rm, _mm512_set1_ps(dq.dmin));
#pragma GCC unroll 16
        for (int c = 0; c < NC; ++c) {
          const BlockQ8_K* xb = reinterpret_cast<const BlockQ8_K*>(x + c * xs) + i;
          isum[r * NC + c] = quant_sum(dq, xb);
          if constexpr (T::kMin && !kPairedMins)
            msum[r * NC + c] = _mm512_zextsi256_si512(_mm256_madd_epi16(load256(xb->bsums), dq.m16));
        }
        if constexpr (kPairedMins) mins[r] = dq.m16;
      }
      acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(hsum_n_i32<NR * NC>(isum)), _mm512_mul_ps(d, dx), acc);
      if constexpr (kPairedMins) {
        const __m256i z = _mm256_setzero_si256();
        auto pack = [&](const __m256i(&v)[4], int n, int k) {
          return _mm512_inserti64x4(_mm512_castsi256_si512(k < n ? v[k] : z), k + 1 < n ? v[k + 1] : z, 1);
        };
        const __m512i m01 = pack(mins, NR, 0), m23 = pack(mins, NR, 2);
        const __m512i b01 = pack(bs, NC, 0), b23 = pack(bs, NC, 2);
        __m512i m = _mm512_setzero_si512();
#pragma GCC unroll 8
        for (int g = 0; g < 8; ++g)
          m = _mm512_dpwssd_epi32(m, _mm512_permutex2var_epi32(m01, ia[g], m23),
                                  _mm512_permutex2var_epi32(b01, ib[g], b23));
        acc = _mm512_fnmadd_ps(_mm512_cvtepi32_ps(m), _mm512_mul_ps(dmin, dx), acc);
      } else if constexpr (T::kMin) {
        acc = _mm512_fnmadd_ps(_mm512_cvtepi32_ps(hsum_n_i32<NR * NC>(msum)), _mm512_mul_ps(dmin, dx), acc);
      }
    }
    alignas(64) float res[16];
    _mm512_store_ps(res, acc);
#pragma GCC unroll 16
    for (int r = 0; r < NR; ++r)
#pragma GCC unroll 16
      for (int c = 0; c < NC; ++c) out[c * os + r] = res[r * NC + c];
  }

  // Lanes r * NC (every row's first column) of an NR x NC block.
  template <int NR, int NC>
  static constexpr unsigned col_mask() {
    unsigned m = 0;
    for (int r = 0; r < NR; ++r) m |= 1u << (r * NC);
    return m;
  }
};

}  // namespace

#define HEARTH_KQ(name, T, R, C)                                                                          \
  float vec_dot_##name(int64_t n, const void* w, const void* x) {                                         \
    return vec_dot_driver<KernK<T>>(n, w, x);                                                             \
  }                                                                                                       \
  void dot_tile_rows4_##name(int64_t n, int nr, int nc, const void* w, uint64_t ws, const void* x,        \
                             uint64_t xs, float* out, int64_t os) {                                       \
    tile_driver<KernK<T>, 4, 4>(n, nr, nc, w, ws, x, xs, out, os);                                        \
  }                                                                                                       \
  void dot_rows_##name(int64_t n, int nr, int nc, const void* w, uint64_t ws, const void* x, uint64_t xs, \
                       float* out, int64_t os) {                                                          \
    tile_driver<KernK<T>, R, C>(n, nr, nc, w, ws, x, xs, out, os);                                        \
  }

// dot_rows (batched decoding, weights streamed from memory) blocks, measured with kernels_bench dec/:
// the min types stream best 4 rows x 4 columns, the others one row x 8 columns.
HEARTH_KQ(q2_k, Q2_KT, 4, 4)
HEARTH_KQ(q3_k, Q3_KT, 1, 8)
HEARTH_KQ(q4_k, Q4_KT, 4, 4)
HEARTH_KQ(q5_k, Q5_KT, 4, 4)
HEARTH_KQ(q6_k, Q6_KT, 1, 8)
HEARTH_KQ(iq4_xs, IQ4_XST, 1, 8)
#undef HEARTH_KQ

}  // namespace hearth::kernels::avx512
