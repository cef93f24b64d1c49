// NEON kernels: helpers shared by the files of this folder only (compiled with +dotprod+fp16).
// Everything here has internal linkage so no dotprod code can be merged into a baseline translation
// unit by the linker; never include this header outside arm/neon/.
#pragma once
#include <arm_neon.h>

#include <cstdint>
#include <cstring>

#include "tensor/blocks.h"

namespace hearth::kernels::neon {
namespace {

using tensor::half;

inline float f16(half h) {
  __fp16 v;
  std::memcpy(&v, &h, 2);
  return static_cast<float>(v);
}
inline half to_f16(float f) {
  const __fp16 v = static_cast<__fp16>(f);
  half h;
  std::memcpy(&h, &v, 2);
  return h;
}

template <class T>
inline T load_as(const void* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

inline int8x16_t ld_s8(const void* p) { return vld1q_s8(static_cast<const int8_t*>(p)); }
inline uint8x16_t ld_u8(const void* p) { return vld1q_u8(static_cast<const uint8_t*>(p)); }

// 16 bytes of packed nibbles: low nibbles (elements 0..15) and high nibbles (16..31).
inline void nibbles(const void* p, uint8x16_t* lo, uint8x16_t* hi) {
  const uint8x16_t q = ld_u8(p);
  *lo = vandq_u8(q, vdupq_n_u8(0x0F));
  *hi = vshrq_n_u8(q, 4);
}

// 0xFF in byte j of the result where bit j of the 16-bit value is set.
inline uint8x16_t bytes_from_bits16(uint32_t bits) {
  const uint8x16_t v =
      vcombine_u8(vdup_n_u8(static_cast<uint8_t>(bits)), vdup_n_u8(static_cast<uint8_t>(bits >> 8)));
  const uint8x16_t sel = {1, 2, 4, 8, 16, 32, 64, 128, 1, 2, 4, 8, 16, 32, 64, 128};
  return vtstq_u8(v, sel);
}

// Columns [0, cc) of one row group with NC = TC, TC / 2, ..., 1 column kernels.
// K::run<NR, NC> with the one-row kernel's accumulators when kVec (K::kVecUnroll), so that every output
// of a kVec tile is bit-identical to vec_dot_driver's for the same row and column (batch invariance).
template <class K, int NR, int NC, bool kVec>
inline void run_kernel(int64_t nb, const uint8_t* wp, uint64_t ws, const uint8_t* xp, uint64_t xs, float* op,
                       int64_t os) {
  if constexpr (kVec && requires { K::kVecUnroll; })
    K::template run<NR, NC, K::kVecUnroll>(nb, wp, ws, xp, xs, op, os);
  else
    K::template run<NR, NC>(nb, wp, ws, xp, xs, op, os);
}

// Columns [0, cc) of one row group with NC = TC, TC / 2, ..., 1 column kernels.
template <class K, int NR, int TC, bool kVec = false>
inline void tile_cols(int64_t nb, const uint8_t* wp, uint64_t ws, const uint8_t* xp, uint64_t xs, float* op,
                      int64_t os, int cc) {
  for (; cc >= TC; cc -= TC, xp += TC * xs, op += TC * os) run_kernel<K, NR, TC, kVec>(nb, wp, ws, xp, xs, op, os);
  if constexpr (TC > 1) {
    if (cc > 0) tile_cols<K, NR, TC / 2, kVec>(nb, wp, ws, xp, xs, op, os, cc);
  }
}

// Drives a register-blocked kernel K::run<NR, NC>(nb, w, ws, x, xs, out, os) over any nr x nc output:
// full TR x TC tiles where possible, smaller instantiations at the edges.
template <class K, int TR, int TC, bool kVec = false>
void tile_driver(int64_t n, int nr, int nc, const void* w, uint64_t ws, const void* x, uint64_t xs,
                 float* out, int64_t os) {
  const int64_t nb = n / K::kBlock;
  const auto* wb = static_cast<const uint8_t*>(w);
  const auto* xb = static_cast<const uint8_t*>(x);
  int r0 = 0;
  for (; r0 + TR <= nr; r0 += TR) tile_cols<K, TR, TC, kVec>(nb, wb + r0 * ws, ws, xb, xs, out + r0, os, nc);
  for (; r0 < nr; ++r0) tile_cols<K, 1, TC, kVec>(nb, wb + r0 * ws, ws, xb, xs, out + r0, os, nc);
}

// The one-row kernel (vec_dot), and a tile of one-row arithmetic (dot_rows: batched decoding).
template <class K>
float vec_dot_driver(int64_t n, const void* w, const void* x) {
  float out = 0.0f;
  run_kernel<K, 1, 1, true>(n / K::kBlock, static_cast<const uint8_t*>(w), 0, static_cast<const uint8_t*>(x), 0,
                            &out, 0);
  return out;
}
template <class K, int TR, int TC>
void rows_driver(int64_t n, int nr, int nc, const void* w, uint64_t ws, const void* x, uint64_t xs, float* out,
                 int64_t os) {
  tile_driver<K, TR, TC, true>(n, nr, nc, w, ws, x, xs, out, os);
}

}  // namespace
}  // namespace hearth::kernels::neon
