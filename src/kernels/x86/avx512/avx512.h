// AVX-512 kernels: declarations only (no inline code), so table.cpp can be compiled without the
// AVX-512 flags. Tile shapes are the register blocks of each dot_tile (weight rows x activation rows).
#pragma once
#include <cstdint>

namespace hearth::kernels::avx512 {

using TileFn = void (*)(int64_t n, int nr, int nc, const void* w, uint64_t ws, const void* x, uint64_t xs,
                        float* out, int64_t os);

#define HEARTH_AVX512_DOT(name)                                                                           \
  float vec_dot_##name(int64_t n, const void* w, const void* x);                                          \
  void dot_tile_##name(int64_t n, int nr, int nc, const void* w, uint64_t ws, const void* x, uint64_t xs, \
                       float* out, int64_t os);                                                           \
  void dot_rows_##name(int64_t n, int nr, int nc, const void* w, uint64_t ws, const void* x, uint64_t xs, \
                       float* out, int64_t os);

HEARTH_AVX512_DOT(f32)
HEARTH_AVX512_DOT(f16)
HEARTH_AVX512_DOT(bf16)
HEARTH_AVX512_DOT(q4_0)
HEARTH_AVX512_DOT(q4_1)
HEARTH_AVX512_DOT(q5_0)
HEARTH_AVX512_DOT(q5_1)
HEARTH_AVX512_DOT(q8_0)
HEARTH_AVX512_DOT(iq4_nl)
HEARTH_AVX512_DOT(q2_k)
HEARTH_AVX512_DOT(q3_k)
HEARTH_AVX512_DOT(q4_k)
HEARTH_AVX512_DOT(q5_k)
HEARTH_AVX512_DOT(q6_k)
HEARTH_AVX512_DOT(iq4_xs)
#undef HEARTH_AVX512_DOT

// Row-blocked (4 x 4) tiles of the super-block types: rows that do not fill a 16-row tile.
#define HEARTH_AVX512_ROWS4(name)                                                                  \
  void dot_tile_rows4_##name(int64_t n, int nr, int nc, const void* w, uint64_t ws, const void* x, \
                             uint64_t xs, float* out, int64_t os);
HEARTH_AVX512_ROWS4(q2_k)
HEARTH_AVX512_ROWS4(q3_k)
HEARTH_AVX512_ROWS4(q4_k)
HEARTH_AVX512_ROWS4(q5_k)
HEARTH_AVX512_ROWS4(q6_k)
HEARTH_AVX512_ROWS4(iq4_xs)
#undef HEARTH_AVX512_ROWS4

// Packed-weight kernels (kernels.h dot_packed).
void dot_packed_q4_0(int64_t n, int nr, int nc, const void* w, uint64_t ws, const void* x, uint64_t xs,
                     float* out, int64_t os);
void dot_packed_q4_k(int64_t n, int nr, int nc, const void* w, uint64_t ws, const void* x, uint64_t xs,
                     float* out, int64_t os);
void dot_packed_q5_k(int64_t n, int nr, int nc, const void* w, uint64_t ws, const void* x, uint64_t xs,
                     float* out, int64_t os);
void dot_packed_q6_k(int64_t n, int nr, int nc, const void* w, uint64_t ws, const void* x, uint64_t xs,
                     float* out, int64_t os);
void dot_packed_iq4_xs(int64_t n, int nr, int nc, const void* w, uint64_t ws, const void* x, uint64_t xs,
                       float* out, int64_t os);

void from_float_q8_0(const float* x, void* y, int64_t n);
void from_float_q8_1(const float* x, void* y, int64_t n);
void from_float_q8_k(const float* x, void* y, int64_t n);

float dot_f32(int64_t n, const float* a, const float* b);
void axpy_f32(int64_t n, float a, const float* x, float* y);

// Register blocks (weight rows, activation rows) of the dot_tile kernels.
constexpr int kFloatTileRows = 4, kFloatTileCols = 4;
constexpr int kQ32TileRows = 16, kQ32TileCols = 16;
constexpr int kKTileRows = 16, kKTileCols = 16;
constexpr int kKTileColsNarrow = 8;  // Q3_K, Q5_K: their extra bit plane leaves fewer registers

}  // namespace hearth::kernels::avx512
