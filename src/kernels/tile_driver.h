// kernels: the drivers every instruction set's register-blocked kernels share. A kernel K provides
// K::kBlock (elements per block) and K::run<NR, NC>(nb, w, ws, x, xs, out, os) computing an NR x NC block
// of outputs (optionally K::run<NR, NC, U> with K::kVecUnroll accumulators for the one-row kernel). These
// templates hold no intrinsics: each ISA's kernels instantiate them in files compiled with its flags, and
// since every K has internal linkage, so has every instantiation.
#pragma once
#include <cstdint>

namespace hearth::kernels::tiles {

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
  for (; cc >= TC; cc -= TC, xp += TC * xs, op += TC * os)
    run_kernel<K, NR, TC, kVec>(nb, wp, ws, xp, xs, op, os);
  if constexpr (TC > 1) {
    if (cc > 0) tile_cols<K, NR, TC / 2, kVec>(nb, wp, ws, xp, xs, op, os, cc);
  }
}

// Drives a register-blocked kernel K::run<NR, NC>(nb, w, ws, x, xs, out, os) over any nr x nc output:
// full TR x TC tiles where possible, smaller instantiations at the edges.
template <class K, int TR, int TC, bool kVec = false>
inline void tile_driver(int64_t n, int nr, int nc, const void* w, uint64_t ws, const void* x, uint64_t xs,
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
inline float vec_dot_driver(int64_t n, const void* w, const void* x) {
  float out = 0.0f;
  run_kernel<K, 1, 1, true>(n / K::kBlock, static_cast<const uint8_t*>(w), 0, static_cast<const uint8_t*>(x),
                            0, &out, 0);
  return out;
}
template <class K, int TR, int TC>
inline void rows_driver(int64_t n, int nr, int nc, const void* w, uint64_t ws, const void* x, uint64_t xs,
                        float* out, int64_t os) {
  tile_driver<K, TR, TC, true>(n, nr, nc, w, ws, x, xs, out, os);
}

}  // namespace hearth::kernels::tiles
