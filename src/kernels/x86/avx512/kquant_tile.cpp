// AVX-512 VNNI 16-row kernels of the super-block types (Q2_K..Q6_K, IQ4_XS): 16 weight rows x NC
// activation rows, with lane r of every vector belonging to row r: one vpdpbusd with a broadcast activation
// dword then serves all 16 rows, and the sub-block scales, super-block scales, mins and offsets apply to 16
// rows with one instruction each. The rows come either as stored (RowSrc: loaded per row and transposed in
// registers; the prompt tiles, dot_tile) or packed at load (PackedSrc: kernels.h pack_group, read with
// plain loads; dot_packed, for every batch width). Per activation row and 32-element sub-block this costs
// 8 vpdpbusd plus 2-3 scale operations for 16 x 32 products; decoding the weights is shared by the NC
// activation rows. Exact like the row kernels: integer sums per sub-block, scaled by the integer
// sub-block scales in 32 bits; offsets (Q3_K -4, Q6_K -32, IQ4_XS -128) and mins go through the
// activation's bsums; the float steps per super-block are vec_dot's, so every output has its bits.
#include <cstddef>
#include <type_traits>

#include "kernels/pack_layout.h"
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

// Scales of one super-block of 16 rows (lane r = row r).
struct Scales16 {
  __m512i sc[16];  // int32 scale of each 16-element group (kGroup16) or of each sub-block (sc[0..7])
  __m512i cp[8];   // int16 pairs: bsums coefficients of groups 2p, 2p + 1 (offset * scale, or mins)
  __m512 d, dmin;
};

// Where a 16-row kernel reads super-block i of its rows (lane r = row r of every vector).
// RowSrc: the rows as stored, ws bytes apart: loaded per row and transposed in registers.
struct RowSrc {
  const uint8_t* wb;
  uint64_t ws;
  __m512i rows;  // row_offsets(ws), for the gathers
  template <class T>
  static RowSrc at(const uint8_t* w, uint64_t ws, __m512i rows, int64_t i) {
    return {w + i * sizeof(typename T::W), ws, rows};
  }
  template <class T>
  static void prefetch(const uint8_t*, int64_t) {}
  // 16 bytes at block offset off: z[k] = dword k.
  void r16(size_t off, __m512i (&z)[4]) const { rows16x16(wb + off, ws, z); }
  __m512i dword(size_t off) const { return _mm512_i32gather_epi32(rows, wb + off, 1); }
  // The fp16 at off, read as the high half of the dword before it (except at the block start) so that
  // no read passes the end of the block, and of the tensor.
  __m512 half(size_t off) const { return off == 0 ? gathered_lo(dword(0)) : gathered_hi(dword(off - 2)); }
};
// PackedSrc: the packed layout of kernels.h (pack_group): dword k of the block's 16 rows at p + 64k.
struct PackedSrc {
  const uint8_t* p;
  template <class T>
  static PackedSrc at(const uint8_t* w, uint64_t /*ws*/, __m512i /*rows*/, int64_t i) {
    return {w + i * kBlockBytes<T>};
  }
  // Bytes of one packed super-block of 16 rows (kernels/pack.cpp): the dword interleave, or a type's own.
  template <class T>
  static constexpr uint64_t block_bytes() {
    if constexpr (requires { T::kPackedBytes; }) {
      return T::kPackedBytes;
    } else {
      static_assert(!std::is_same_v<typename T::W, BlockQ6_K>, "packed Q6_K has a layout of its own (Q6_KP)");
      return (sizeof(typename T::W) + 3) / 4 * 4 * 16;
    }
  }
  template <class T>
  static constexpr uint64_t kBlockBytes = block_bytes<T>();
  // One stream, but the hardware prefetcher alone leaves it waiting on memory: fetch kAhead blocks ahead.
  static constexpr int kAhead = 4;
  template <class T>
  static void prefetch(const uint8_t* w, int64_t i) {
    const uint8_t* p = w + (i + kAhead) * kBlockBytes<T>;
    for (uint64_t b = 0; b < kBlockBytes<T>; b += 64)
      _mm_prefetch(reinterpret_cast<const char*>(p + b), _MM_HINT_T0);
  }
  __m512i dword(size_t off) const { return load512(p + 16 * off); }  // off: a multiple of 4
  void r16(size_t off, __m512i (&z)[4]) const {
    for (int k = 0; k < 4; ++k) z[k] = dword(off + 4 * k);
  }
  __m512 half(size_t off) const {
    return off % 4 == 0 ? gathered_lo(dword(off)) : gathered_hi(dword(off - 2));
  }
};

// 32 bytes at off of 16 rows: z[k] = dword k (k < 8).
template <class Src>
inline void rows32(const Src& s, size_t off, __m512i (&z)[8]) {
  __m512i a[4], b[4];
  s.r16(off, a);
  s.r16(off + 16, b);
  for (int k = 0; k < 4; ++k) {
    z[k] = a[k];
    z[k + 4] = b[k];
  }
}

inline __m512i set8(int v) { return _mm512_set1_epi8(static_cast<char>(v)); }
inline __m512i set32(int v) { return _mm512_set1_epi32(v); }
// Byte j (0..3) of every dword, zero-extended.
inline __m512i byte_of(__m512i v, int j) {
  return _mm512_and_si512(_mm512_srli_epi32(v, 8 * j), set32(0xFF));
}
// Two int32 vectors (values fitting int16) packed as [lo | hi << 16] per dword.
inline __m512i pair16(__m512i lo, __m512i hi) {
  return _mm512_or_si512(_mm512_and_si512(lo, set32(0xFFFF)), _mm512_slli_epi32(hi, 16));
}
// The bits at `shift` (width given by mask) of each byte, moved to bit `to`.
inline __m512i bits(__m512i v, int shift, int mask, int to) {
  const __m512i f = _mm512_and_si512(_mm512_srli_epi32(v, static_cast<unsigned>(shift)), set8(mask));
  return to ? _mm512_slli_epi32(f, static_cast<unsigned>(to)) : f;
}

// Q4_K / Q5_K scales and mins (6 bits each, 8 sub-blocks) of 16 rows.
template <class W, class Src>
inline void k4_scales16(const Src& src, Scales16& s) {
  __m512i z[4];
  src.r16(offsetof(W, scales), z);  // bytes 4..19 of the block: 12 scale bytes + 4 qs bytes
  const __m512i m6 = set8(0x3f), m4 = set8(0x0f);
  const __m512i sc_lo = _mm512_and_si512(z[0], m6);
  const __m512i sc_hi = _mm512_or_si512(_mm512_and_si512(z[2], m4), bits(z[0], 6, 3, 4));
  const __m512i mn_lo = _mm512_and_si512(z[1], m6);
  const __m512i mn_hi = _mm512_or_si512(bits(z[2], 4, 0x0f, 0), bits(z[1], 6, 3, 4));
  for (int j = 0; j < 8; ++j) {
    s.sc[j] = byte_of(j < 4 ? sc_lo : sc_hi, j % 4);
    const __m512i m = byte_of(j < 4 ? mn_lo : mn_hi, j % 4);
    s.cp[j] = pair16(m, m);
  }
  const __m512i g = src.dword(offsetof(W, d));  // d | dmin << 16
  s.d = gathered_lo(g);
  s.dmin = gathered_hi(g);
}

struct Q2_KT {
  using W = BlockQ2_K;
  static constexpr bool kGroup16 = true, kMin = true;
  template <class Src>
  static void scales(const Src& src, Scales16& s) {
    __m512i z[4];
    src.r16(offsetof(W, scales), z);
    for (int g = 0; g < 16; ++g) s.sc[g] = _mm512_and_si512(byte_of(z[g / 4], g % 4), set32(0x0F));
    for (int p = 0; p < 8; ++p) {
      s.cp[p] = pair16(_mm512_srli_epi32(byte_of(z[p / 2], 2 * (p % 2)), 4),
                       _mm512_srli_epi32(byte_of(z[p / 2], 2 * (p % 2) + 1), 4));
    }
    const __m512i g = src.dword(offsetof(W, d));
    s.d = gathered_lo(g);
    s.dmin = gathered_hi(g);
  }
  // Pair p: sub-blocks 2p, 2p + 1 = bits 2q of qs[32n + l], n = p / 2, q = 2 (p % 2) + 0 / 1.
  template <class Src>
  static void pair(const Src& src, int p, __m512i (&ta)[8], __m512i (&tb)[8]) {
    __m512i z[8];
    rows32(src, offsetof(W, qs) + 32 * (p / 2), z);
    const int q = 2 * (p % 2);
    for (int k = 0; k < 8; ++k) {
      ta[k] = bits(z[k], 2 * q, 3, 0);
      tb[k] = bits(z[k], 2 * q + 2, 3, 0);
    }
  }
};

struct Q3_KT {
  using W = BlockQ3_K;
  static constexpr bool kGroup16 = true, kMin = false;
  template <class Src>
  static void scales(const Src& src, Scales16& s) {
    // Dwords, not 16 bytes: the scales end 2 bytes before the block does.
    constexpr size_t p = offsetof(W, scales);
    const __m512i a0 = src.dword(p), a1 = src.dword(p + 4), t = src.dword(p + 8);
    const __m512i m4 = set8(0x0f);
    __m512i v[4];
    v[0] = _mm512_or_si512(_mm512_and_si512(a0, m4), bits(t, 0, 3, 4));
    v[1] = _mm512_or_si512(_mm512_and_si512(a1, m4), bits(t, 2, 3, 4));
    v[2] = _mm512_or_si512(bits(a0, 4, 0x0f, 0), bits(t, 4, 3, 4));
    v[3] = _mm512_or_si512(bits(a1, 4, 0x0f, 0), bits(t, 6, 3, 4));
    for (int g = 0; g < 16; ++g) s.sc[g] = _mm512_sub_epi32(byte_of(v[g / 4], g % 4), set32(32));
    for (int p2 = 0; p2 < 8; ++p2) {  // value = u - 4
      s.cp[p2] = pair16(_mm512_mullo_epi32(s.sc[2 * p2], set32(-4)),
                        _mm512_mullo_epi32(s.sc[2 * p2 + 1], set32(-4)));
    }
    s.d = src.half(offsetof(W, d));
    s.dmin = _mm512_setzero_ps();
  }
  template <class Src>
  static void pair(const Src& src, int p, __m512i (&ta)[8], __m512i (&tb)[8]) {
    __m512i z[8], h[8];
    rows32(src, offsetof(W, qs) + 32 * (p / 2), z);
    rows32(src, offsetof(W, hmask), h);
    const int q = 2 * (p % 2), j = 2 * p;  // sub-block j uses hmask bit j
    for (int k = 0; k < 8; ++k) {
      ta[k] = _mm512_or_si512(bits(z[k], 2 * q, 3, 0), bits(h[k], j, 1, 2));
      tb[k] = _mm512_or_si512(bits(z[k], 2 * q + 2, 3, 0), bits(h[k], j + 1, 1, 2));
    }
  }
};

struct Q4_KT {
  using W = BlockQ4_K;
  static constexpr bool kGroup16 = false, kMin = true;
  template <class Src>
  static void scales(const Src& src, Scales16& s) {
    k4_scales16<W>(src, s);
  }
  template <class Src>
  static void pair(const Src& src, int p, __m512i (&ta)[8], __m512i (&tb)[8]) {
    __m512i z[8];
    rows32(src, offsetof(W, qs) + 32 * p, z);
    for (int k = 0; k < 8; ++k) {
      ta[k] = _mm512_and_si512(z[k], set8(0x0F));
      tb[k] = bits(z[k], 4, 0x0F, 0);
    }
  }
};

struct Q5_KT {
  using W = BlockQ5_K;
  static constexpr bool kGroup16 = false, kMin = true;
  template <class Src>
  static void scales(const Src& src, Scales16& s) {
    k4_scales16<W>(src, s);
  }
  template <class Src>
  static void pair(const Src& src, int p, __m512i (&ta)[8], __m512i (&tb)[8]) {
    __m512i z[8], h[8];
    rows32(src, offsetof(W, qs) + 32 * p, z);
    rows32(src, offsetof(W, qh), h);
    for (int k = 0; k < 8; ++k) {
      ta[k] = _mm512_or_si512(_mm512_and_si512(z[k], set8(0x0F)), bits(h[k], 2 * p, 1, 4));
      tb[k] = _mm512_or_si512(bits(z[k], 4, 0x0F, 0), bits(h[k], 2 * p + 1, 1, 4));
    }
  }
};

struct Q6_KT {
  using W = BlockQ6_K;
  static constexpr bool kGroup16 = true, kMin = false;
  template <class Src>
  static void scales(const Src& src, Scales16& s) {
    __m512i z[4];
    src.r16(offsetof(W, scales), z);
    for (int g = 0; g < 16; ++g) {
      s.sc[g] = _mm512_srai_epi32(_mm512_slli_epi32(z[g / 4], static_cast<unsigned>(24 - 8 * (g % 4))), 24);
    }
    for (int p = 0; p < 8; ++p) {  // value = u - 32
      s.cp[p] = pair16(_mm512_slli_epi32(_mm512_sub_epi32(_mm512_setzero_si512(), s.sc[2 * p]), 5),
                       _mm512_slli_epi32(_mm512_sub_epi32(_mm512_setzero_si512(), s.sc[2 * p + 1]), 5));
    }
    s.d = src.half(offsetof(W, d));
    s.dmin = _mm512_setzero_ps();
  }
  // Pair p: n = p / 2, h = p % 2: ql[64n + 32h + l] low nibbles are sub-block 4n + h, high nibbles
  // 4n + h + 2; their top bits are bits 2h and 2h + 4 of qh[32n + l].
  static constexpr int sub_a(int p) { return 4 * (p / 2) + p % 2; }
  static constexpr int sub_b(int p) { return sub_a(p) + 2; }
  template <class Src>
  static void pair(const Src& src, int p, __m512i (&ta)[8], __m512i (&tb)[8]) {
    __m512i z[8], h[8];
    const int n = p / 2, hh = p % 2;
    rows32(src, offsetof(W, ql) + 64 * n + 32 * hh, z);
    rows32(src, offsetof(W, qh) + 32 * n, h);
    for (int k = 0; k < 8; ++k) {
      ta[k] = _mm512_or_si512(_mm512_and_si512(z[k], set8(0x0F)), bits(h[k], 2 * hh, 3, 4));
      tb[k] = _mm512_or_si512(bits(z[k], 4, 0x0F, 0), bits(h[k], 2 * hh + 4, 3, 4));
    }
  }
};

// Q6_K in its own packed layout (kernels/pack_layout.h), made for cheap unpacking: a vector of 6-bit
// quants is one low-nibble extraction and one shifted crumb.
struct Q6_KP {
  using W = BlockQ6_K;
  static constexpr bool kGroup16 = true, kMin = false;
  static constexpr uint64_t kScales = packed::Q6K::kScales, kLow = packed::Q6K::kLow,
                            kHigh = packed::Q6K::kHigh;
  static constexpr uint64_t kPackedBytes = packed::Q6K::kBytes;
  static void scales(const PackedSrc& src, Scales16& s) {
    const __m512i zero = _mm512_setzero_si512();
    for (int p = 0; p < 8; ++p) {
      const __m512i pr = _mm512_cvtepi8_epi16(load256(src.p + kScales + 32 * p));  // [sc 2p, sc 2p+1] per row
      s.sc[2 * p] = _mm512_srai_epi32(_mm512_slli_epi32(pr, 16), 16);
      s.sc[2 * p + 1] = _mm512_srai_epi32(pr, 16);
      s.cp[p] = _mm512_slli_epi16(_mm512_sub_epi16(zero, pr), 5);  // value = u - 32
    }
    s.d = _mm512_cvtph_ps(load256(src.p));
    s.dmin = _mm512_setzero_ps();
  }
  // Top bits (crumb c of h) at bits 4-5, zero elsewhere.
  static inline __m512i top(__m512i h, int c) {
    const __m512i m = set8(0x30);
    if (c == 0) return _mm512_and_si512(_mm512_slli_epi16(h, 4), m);
    if (c == 1) return _mm512_and_si512(_mm512_slli_epi16(h, 2), m);
    if (c == 2) return _mm512_and_si512(h, m);
    return _mm512_and_si512(_mm512_srli_epi16(h, 2), m);
  }
  static void sub(const PackedSrc& src, int j, __m512i (&t)[8]) {
    const __m512i m4 = set8(0x0F);
    const __m512i h0 = load512(src.p + kHigh + 64 * (2 * j)), h1 = load512(src.p + kHigh + 64 * (2 * j + 1));
    for (int i = 0; i < 4; ++i) {
      const __m512i l = load512(src.p + kLow + 64 * (4 * j + i));
      t[i] = _mm512_or_si512(_mm512_and_si512(l, m4), top(h0, i));
      t[i + 4] = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(l, 4), m4), top(h1, i));
    }
  }
  static void pair(const PackedSrc& src, int p, __m512i (&ta)[8], __m512i (&tb)[8]) {
    sub(src, 2 * p, ta);
    sub(src, 2 * p + 1, tb);
  }
};

struct IQ4_XST {
  using W = BlockIQ4_XS;
  static constexpr bool kGroup16 = false, kMin = false;
  template <class Src>
  static void scales(const Src& src, Scales16& s) {
    const __m512i g = src.dword(0);  // d | scales_h << 16
    const __m512i l = src.dword(offsetof(W, scales_l));
    for (int j = 0; j < 8; ++j) {
      const __m512i lo = _mm512_and_si512(_mm512_srli_epi32(l, static_cast<unsigned>(4 * j)), set32(0xF));
      const __m512i hi = _mm512_and_si512(_mm512_srli_epi32(g, static_cast<unsigned>(16 + 2 * j)), set32(3));
      s.sc[j] = _mm512_sub_epi32(_mm512_or_si512(lo, _mm512_slli_epi32(hi, 4)), set32(32));
      const __m512i c =
          _mm512_slli_epi32(_mm512_sub_epi32(_mm512_setzero_si512(), s.sc[j]), 7);  // value = u - 128
      s.cp[j] = pair16(c, c);
    }
    s.d = gathered_lo(g);
    s.dmin = _mm512_setzero_ps();
  }
  template <class Src>
  static void pair(const Src& src, int p, __m512i (&ta)[8], __m512i (&tb)[8]) {
    __m512i z[8];
    rows32(src, offsetof(W, qs) + 32 * p, z);  // 16 bytes of sub-block 2p, then 2p + 1
    const __m512i tbl =
        _mm512_broadcast_i32x4(_mm_xor_si128(load128(tensor::kIQ4NLValues), _mm_set1_epi8(-128)));
    for (int k = 0; k < 4; ++k) {
      ta[k] = _mm512_shuffle_epi8(tbl, _mm512_and_si512(z[k], set8(0x0F)));
      ta[k + 4] = _mm512_shuffle_epi8(tbl, bits(z[k], 4, 0x0F, 0));
      tb[k] = _mm512_shuffle_epi8(tbl, _mm512_and_si512(z[k + 4], set8(0x0F)));
      tb[k + 4] = _mm512_shuffle_epi8(tbl, bits(z[k + 4], 4, 0x0F, 0));
    }
  }
};

template <class T>
constexpr int sub_a(int p) {
  if constexpr (requires { T::sub_a(0); }) {
    return T::sub_a(p);
  } else {
    return 2 * p;
  }
}
template <class T>
constexpr int sub_b(int p) {
  if constexpr (requires { T::sub_b(0); }) {
    return T::sub_b(p);
  } else {
    return 2 * p + 1;
  }
}

template <class T, class Src>
struct KernK16 {
  static constexpr int kBlock = 256;
  using W = typename T::W;

  // One 32-element sub-block j (quants t) against NC activation rows.
  template <int NC>
  static inline void sub_block(const __m512i (&t)[8], const Scales16& s, int j, const uint8_t* xb,
                               uint64_t xs, __m512i (&iacc)[NC]) {
#pragma GCC unroll 16
    for (int c = 0; c < NC; ++c) {
      const int8_t* q = reinterpret_cast<const BlockQ8_K*>(xb + c * xs)->qs + 32 * j;
      __m512i a = _mm512_setzero_si512(), b = _mm512_setzero_si512();
#pragma GCC unroll 4
      for (int k = 0; k < 4; ++k) {
        a = _mm512_dpbusd_epi32(a, t[k], _mm512_set1_epi32(load_as<int32_t>(q + 4 * k)));
        b = _mm512_dpbusd_epi32(b, t[k + 4], _mm512_set1_epi32(load_as<int32_t>(q + 16 + 4 * k)));
      }
      if constexpr (T::kGroup16) {
        iacc[c] = _mm512_add_epi32(iacc[c], _mm512_mullo_epi32(a, s.sc[2 * j]));
        iacc[c] = _mm512_add_epi32(iacc[c], _mm512_mullo_epi32(b, s.sc[2 * j + 1]));
      } else {
        iacc[c] = _mm512_add_epi32(iacc[c], _mm512_mullo_epi32(_mm512_add_epi32(a, b), s.sc[j]));
      }
    }
  }

  template <int NC>
  static inline void bsums(const Scales16& s, const uint8_t* xb, uint64_t xs, __m512i (&iacc)[NC]) {
#pragma GCC unroll 8
    for (int p = 0; p < 8; ++p) {
#pragma GCC unroll 16
      for (int c = 0; c < NC; ++c) {
        const int16_t* bs = reinterpret_cast<const BlockQ8_K*>(xb + c * xs)->bsums + 2 * p;
        iacc[c] = _mm512_dpwssd_epi32(iacc[c], s.cp[p], _mm512_set1_epi32(load_as<int32_t>(bs)));
      }
    }
  }

  template <int NR, int NC>
  static void run(int64_t nb, const uint8_t* w, uint64_t ws, const uint8_t* x, uint64_t xs, float* out,
                  int64_t os) {
    static_assert(NR == 16);
    __m512 acc[NC];
#pragma GCC unroll 16
    for (int c = 0; c < NC; ++c) acc[c] = _mm512_setzero_ps();
    const __m512i rows = row_offsets(ws);
    for (int64_t i = 0; i < nb; ++i) {
      Src::template prefetch<T>(w, i);
      const Src src = Src::template at<T>(w, ws, rows, i);
      const uint8_t* xb = x + i * sizeof(BlockQ8_K);
      Scales16 s;
      T::scales(src, s);
      __m512i iacc[NC];
#pragma GCC unroll 16
      for (int c = 0; c < NC; ++c) iacc[c] = _mm512_setzero_si512();
        // Two pairs per iteration: fully unrolled, GCC computed all 64 quant vectors up front and spilled
        // them (4 KiB of stack); 16-row decoding with 4 columns ran 30% slower.
#pragma GCC unroll 2
      for (int p = 0; p < 4; ++p) {
        __m512i ta[8], tb[8];
        T::pair(src, p, ta, tb);
        sub_block<NC>(ta, s, sub_a<T>(p), xb, xs, iacc);
        sub_block<NC>(tb, s, sub_b<T>(p), xb, xs, iacc);
      }
      if constexpr (!T::kMin) bsums<NC>(s, xb, xs, iacc);  // offsets: same scale d as the quants
#pragma GCC unroll 16
      for (int c = 0; c < NC; ++c) {
        const float dx = reinterpret_cast<const BlockQ8_K*>(xb + c * xs)->d;
        acc[c] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(iacc[c]), _mm512_mul_ps(s.d, _mm512_set1_ps(dx)), acc[c]);
      }
      if constexpr (T::kMin) {  // sum_g m_g * bsum_g, scaled by dmin
#pragma GCC unroll 16
        for (int c = 0; c < NC; ++c) iacc[c] = _mm512_setzero_si512();
        bsums<NC>(s, xb, xs, iacc);
#pragma GCC unroll 16
        for (int c = 0; c < NC; ++c) {
          const float dx = reinterpret_cast<const BlockQ8_K*>(xb + c * xs)->d;
          acc[c] = _mm512_fnmadd_ps(_mm512_cvtepi32_ps(iacc[c]), _mm512_mul_ps(s.dmin, _mm512_set1_ps(dx)),
                                    acc[c]);
        }
      }
    }
#pragma GCC unroll 16
    for (int c = 0; c < NC; ++c) _mm512_storeu_ps(out + c * os, acc[c]);
  }
};

// Groups of 16 rows through the transposed kernel (when the row offsets fit the 32-bit gather
// indices), the remaining rows through the row-blocked one. Both give every output the same bits as
// vec_dot (see KernK).
template <class T, TileFn rows4, int TC>
void tile16(int64_t n, int nr, int nc, const void* w, uint64_t ws, const void* x, uint64_t xs, float* out,
            int64_t os) {
  const auto* wb = static_cast<const uint8_t*>(w);
  int r0 = 0;
  if (ws * 15 < (1ull << 31)) {
    for (; r0 + 16 <= nr; r0 += 16)
      tile_cols<KernK16<T, RowSrc>, 16, TC>(n / 256, wb + r0 * ws, ws, static_cast<const uint8_t*>(x), xs,
                                            out + r0, os, nc);
  }
  if (r0 < nr) rows4(n, nr - r0, nc, wb + r0 * ws, ws, x, xs, out + r0, os);
}

// Packed rows (nr a multiple of 16; ws = bytes per packed group): the same kernel on loads instead of
// transposes, for every nc (decoding one or a few sequences as well as prompt tiles).
template <class T, int TC>
void packed16(int64_t n, int nr, int nc, const void* w, uint64_t ws, const void* x, uint64_t xs, float* out,
              int64_t os) {
  const auto* wb = static_cast<const uint8_t*>(w);
  for (int g = 0; g < nr / 16; ++g)
    tile_cols<KernK16<T, PackedSrc>, 16, TC>(n / 256, wb + g * ws, ws, static_cast<const uint8_t*>(x), xs,
                                             out + 16 * g, os, nc);
}

}  // namespace

#define HEARTH_KQ16(name, T, TC)                                                                          \
  void dot_tile_##name(int64_t n, int nr, int nc, const void* w, uint64_t ws, const void* x, uint64_t xs, \
                       float* out, int64_t os) {                                                          \
    tile16<T, dot_tile_rows4_##name, TC>(n, nr, nc, w, ws, x, xs, out, os);                               \
  }
// Packed kernels where kernels_bench measured them faster than the row kernels for decoding (pk/ vs dec/;
// Q2_K even, Q3_K slower: its extra bit plane costs more to unpack 16 rows at a time; Q6_K has a layout
// of its own for that reason).
#define HEARTH_KQ16_PACKED(name, T, TC)                                                                     \
  void dot_packed_##name(int64_t n, int nr, int nc, const void* w, uint64_t ws, const void* x, uint64_t xs, \
                         float* out, int64_t os) {                                                          \
    packed16<T, TC>(n, nr, nc, w, ws, x, xs, out, os);                                                      \
  }

HEARTH_KQ16(q2_k, Q2_KT, kKTileCols)
HEARTH_KQ16(q3_k, Q3_KT, kKTileColsNarrow)
HEARTH_KQ16(q4_k, Q4_KT, kKTileCols)
HEARTH_KQ16(q5_k, Q5_KT, kKTileColsNarrow)
HEARTH_KQ16(q6_k, Q6_KT, kKTileCols)
HEARTH_KQ16(iq4_xs, IQ4_XST, kKTileCols)
HEARTH_KQ16_PACKED(q4_k, Q4_KT, kKTileCols)
HEARTH_KQ16_PACKED(q5_k, Q5_KT, kKTileColsNarrow)
HEARTH_KQ16_PACKED(iq4_xs, IQ4_XST, kKTileCols)
HEARTH_KQ16_PACKED(q6_k, Q6_KP, kKTileCols)
#undef HEARTH_KQ16_PACKED
#undef HEARTH_KQ16

}  // namespace hearth::kernels::avx512
