// AVX2 kernels: helpers shared by the files of this folder only (compiled with AVX2 + FMA + F16C).
// Everything here has internal linkage so no AVX2 code can be merged into a baseline translation unit
// by the linker; never include this header outside x86/avx2/.
#pragma once
#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "kernels/tile_driver.h"
#include "tensor/blocks.h"

namespace hearth::kernels::avx2 {
namespace {

using tensor::half;

inline float f16(half h) { return _cvtsh_ss(h); }

template <class T>
inline T load_as(const void* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

inline __m256i load256(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }
inline __m128i load128(const void* p) { return _mm_loadu_si128(static_cast<const __m128i*>(p)); }

// 16 bytes of packed nibbles as 32 unsigned bytes [q & 15, q >> 4].
inline __m256i nibbles128(const void* p) {
  const __m128i q = load128(p);
  return _mm256_and_si256(_mm256_inserti128_si256(_mm256_castsi128_si256(q), _mm_srli_epi16(q, 4), 1),
                          _mm256_set1_epi8(0x0F));
}

// 0xFF in byte j where bit j of x is set.
inline __m256i bytes_from_bits(uint32_t x) {
  const __m256i shuf = _mm256_set_epi64x(0x0303030303030303, 0x0202020202020202, 0x0101010101010101, 0);
  const __m256i bytes = _mm256_shuffle_epi8(_mm256_set1_epi32(static_cast<int>(x)), shuf);
  return _mm256_cmpeq_epi8(_mm256_or_si256(bytes, _mm256_set1_epi64x(0x7fbfdfeff7fbfdfe)),
                           _mm256_set1_epi64x(-1));
}

// Adjacent int16 pairs summed: 16 x int16 -> 8 x int32.
inline __m256i sum_pairs(__m256i p) { return _mm256_madd_epi16(p, _mm256_set1_epi16(1)); }

inline float hsum(__m256 v) {
  const __m128 b = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  const __m128 c = _mm_add_ps(b, _mm_movehl_ps(b, b));
  return _mm_cvtss_f32(_mm_add_ss(c, _mm_movehdup_ps(c)));
}

// Columns [0, cc) of one row group with NC = TC, TC / 2, ..., 1 column kernels.
using tiles::rows_driver;
using tiles::tile_cols;
using tiles::tile_driver;
using tiles::vec_dot_driver;

}  // namespace
}  // namespace hearth::kernels::avx2
