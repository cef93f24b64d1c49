// Internal: the body every SIMD kernel table shares. Each ISA folder declares, in its own namespace NS
// (avx2, avx512, neon), the same set of functions (vec_dot_*, dot_tile_*, dot_rows_*, from_float_q8_*,
// dot_f32, axpy_f32) and tile-shape constants (kFloatTileRows/Cols, kQ32TileRows/Cols, kKTileRows/Cols,
// kKTileColsNarrow for Q3_K and Q5_K). HEARTH_DEFINE_KERNEL_TABLE(make_x_table, x) then defines the
// table builder. Include only from a table.cpp compiled WITHOUT the ISA's flags (it stores pointers only).
#pragma once
#include "kernels/tables.h"

namespace hearth::kernels::detail {

// The function pointers and shapes one ISA supplies for one weight type.
struct TypeEntry {
  tensor::Type type;
  VecDotFn vec_dot;
  DotTileFn dot_tile, dot_rows;
  int tile_rows, tile_cols;
};

// Fills `t` (a copy of the scalar table named `name`) from the entries and the ISA's activation
// quantizers and float helpers.
inline void fill_table(KernelTable& t, const char* name, const TypeEntry* entries, int n, FromFloatFn q8_0,
                       FromFloatFn q8_1, FromFloatFn q8_k,
                       float (*dot_f32)(int64_t, const float*, const float*),
                       void (*axpy_f32)(int64_t, float, const float*, float*)) {
  t.name = name;
  for (int i = 0; i < n; ++i) {
    const TypeEntry& e = entries[i];
    TypeKernels& k = t.types[static_cast<uint32_t>(e.type)];
    k.vec_dot = e.vec_dot;
    k.dot_tile = e.dot_tile;
    k.dot_rows = e.dot_rows;
    k.tile_rows = e.tile_rows;
    k.tile_cols = e.tile_cols;
    switch (k.act_type) {
      case tensor::Type::Q8_0:
        k.from_float = q8_0;
        break;
      case tensor::Type::Q8_1:
        k.from_float = q8_1;
        break;
      case tensor::Type::Q8_K:
        k.from_float = q8_k;
        break;
      default:
        break;  // F32 activations: the scalar copy
    }
  }
  t.dot_f32 = dot_f32;
  t.axpy_f32 = axpy_f32;
}

}  // namespace hearth::kernels::detail

// One entry per weight type, in NS. (A macro because the ISAs differ only in their namespace.)
#define HEARTH_KT_ENTRY(NS, T, name, rows, cols) \
  { tensor::Type::T, NS::vec_dot_##name, NS::dot_tile_##name, NS::dot_rows_##name, rows, cols }

#define HEARTH_DEFINE_KERNEL_TABLE(FN, NS)                                                         \
  KernelTable FN() {                                                                               \
    KernelTable t = make_scalar_table();                                                           \
    constexpr int fr = NS::kFloatTileRows, fc = NS::kFloatTileCols;                                \
    constexpr int qr = NS::kQ32TileRows, qc = NS::kQ32TileCols;                                    \
    constexpr int kr = NS::kKTileRows, kc = NS::kKTileCols, kn = NS::kKTileColsNarrow;             \
    const detail::TypeEntry entries[] = {                                                          \
        HEARTH_KT_ENTRY(NS, F32, f32, fr, fc),       HEARTH_KT_ENTRY(NS, F16, f16, fr, fc),        \
        HEARTH_KT_ENTRY(NS, BF16, bf16, fr, fc),     HEARTH_KT_ENTRY(NS, Q4_0, q4_0, qr, qc),      \
        HEARTH_KT_ENTRY(NS, Q4_1, q4_1, qr, qc),     HEARTH_KT_ENTRY(NS, Q5_0, q5_0, qr, qc),      \
        HEARTH_KT_ENTRY(NS, Q5_1, q5_1, qr, qc),     HEARTH_KT_ENTRY(NS, Q8_0, q8_0, qr, qc),      \
        HEARTH_KT_ENTRY(NS, IQ4_NL, iq4_nl, qr, qc), HEARTH_KT_ENTRY(NS, Q2_K, q2_k, kr, kc),      \
        HEARTH_KT_ENTRY(NS, Q3_K, q3_k, kr, kn),     HEARTH_KT_ENTRY(NS, Q4_K, q4_k, kr, kc),      \
        HEARTH_KT_ENTRY(NS, Q5_K, q5_k, kr, kn),     HEARTH_KT_ENTRY(NS, Q6_K, q6_k, kr, kc),      \
        HEARTH_KT_ENTRY(NS, IQ4_XS, iq4_xs, kr, kc),                                               \
    };                                                                                             \
    detail::fill_table(t, #NS, entries, static_cast<int>(sizeof entries / sizeof entries[0]),      \
                       NS::from_float_q8_0, NS::from_float_q8_1, NS::from_float_q8_k, NS::dot_f32, \
                       NS::axpy_f32);                                                              \
    return t;                                                                                      \
  }
