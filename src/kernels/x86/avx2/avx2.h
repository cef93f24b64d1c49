// AVX2 kernels: declarations only (no inline code), so table.cpp can be compiled without the
// AVX2 flags. Tile shapes are the register blocks of each dot_tile (weight rows x activation rows).
#pragma once
#include <cstdint>

namespace hearth::kernels::avx2 {

#define HEARTH_AVX2_DOT(name)                                                                             \
  float vec_dot_##name(int64_t n, const void* w, const void* x);                                          \
  void dot_tile_##name(int64_t n, int nr, int nc, const void* w, uint64_t ws, const void* x, uint64_t xs, \
                       float* out, int64_t os);                                                           \
  void dot_rows_##name(int64_t n, int nr, int nc, const void* w, uint64_t ws, const void* x, uint64_t xs, \
                       float* out, int64_t os);

HEARTH_AVX2_DOT(f32)
HEARTH_AVX2_DOT(f16)
HEARTH_AVX2_DOT(bf16)
HEARTH_AVX2_DOT(q4_0)
HEARTH_AVX2_DOT(q4_1)
HEARTH_AVX2_DOT(q5_0)
HEARTH_AVX2_DOT(q5_1)
HEARTH_AVX2_DOT(q8_0)
HEARTH_AVX2_DOT(iq4_nl)
HEARTH_AVX2_DOT(q2_k)
HEARTH_AVX2_DOT(q3_k)
HEARTH_AVX2_DOT(q4_k)
HEARTH_AVX2_DOT(q5_k)
HEARTH_AVX2_DOT(q6_k)
HEARTH_AVX2_DOT(iq4_xs)
#undef HEARTH_AVX2_DOT

// Packed-weight kernels (kernels.h dot_packed).
void dot_packed_q4_k(int64_t n, int nr, int nc, const void* w, uint64_t ws, const void* x, uint64_t xs,
                     float* out, int64_t os);
void dot_packed_q6_k(int64_t n, int nr, int nc, const void* w, uint64_t ws, const void* x, uint64_t xs,
                     float* out, int64_t os);

void from_float_q8_0(const float* x, void* y, int64_t n);
void from_float_q8_1(const float* x, void* y, int64_t n);
void from_float_q8_k(const float* x, void* y, int64_t n);

float dot_f32(int64_t n, const float* a, const float* b);
void axpy_f32(int64_t n, float a, const float* x, float* y);

// Register blocks (weight rows, activation rows) of the dot_tile kernels.
constexpr int kFloatTileRows = 3, kFloatTileCols = 4;
constexpr int kQ32TileRows = 2, kQ32TileCols = 8;
constexpr int kKTileRows = 1, kKTileCols = 8;
constexpr int kKTileColsNarrow = kKTileCols;  // Q3_K, Q5_K

}  // namespace hearth::kernels::avx2
