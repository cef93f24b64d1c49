// The "neon" kernel table (ARMv8.2 NEON + dotprod). This file is compiled WITHOUT the dotprod
// flags (see kernels/CMakeLists.txt): it only stores function pointers, so nothing inline that it
// instantiates can carry dotprod code into the rest of the program.
#include "kernels/arm/neon/neon.h"
#include "kernels/tables.h"

namespace hearth::kernels {

KernelTable make_neon_table() {
  using tensor::Type;
  KernelTable t = make_scalar_table();
  t.name = "neon";
  auto set = [&](Type w, VecDotFn dot, DotTileFn tile, DotTileFn rows_fn, int rows, int cols) {
    TypeKernels& k = t.types[static_cast<uint32_t>(w)];
    k.vec_dot = dot;
    k.dot_tile = tile;
    k.dot_rows = rows_fn;
    k.tile_rows = rows;
    k.tile_cols = cols;
    switch (k.act_type) {
      case Type::Q8_0:
        k.from_float = neon::from_float_q8_0;
        break;
      case Type::Q8_1:
        k.from_float = neon::from_float_q8_1;
        break;
      case Type::Q8_K:
        k.from_float = neon::from_float_q8_k;
        break;
      default:
        break;  // F32 activations: the scalar copy
    }
  };
  using namespace neon;
  constexpr int fr = kFloatTileRows, fc = kFloatTileCols, qr = kQ32TileRows, qc = kQ32TileCols;
  constexpr int kr = kKTileRows, kc = kKTileCols;
  set(Type::F32, vec_dot_f32, dot_tile_f32, dot_rows_f32, fr, fc);
  set(Type::F16, vec_dot_f16, dot_tile_f16, dot_rows_f16, fr, fc);
  set(Type::BF16, vec_dot_bf16, dot_tile_bf16, dot_rows_bf16, fr, fc);
  set(Type::Q4_0, vec_dot_q4_0, dot_tile_q4_0, dot_rows_q4_0, qr, qc);
  set(Type::Q4_1, vec_dot_q4_1, dot_tile_q4_1, dot_rows_q4_1, qr, qc);
  set(Type::Q5_0, vec_dot_q5_0, dot_tile_q5_0, dot_rows_q5_0, qr, qc);
  set(Type::Q5_1, vec_dot_q5_1, dot_tile_q5_1, dot_rows_q5_1, qr, qc);
  set(Type::Q8_0, vec_dot_q8_0, dot_tile_q8_0, dot_rows_q8_0, qr, qc);
  set(Type::IQ4_NL, vec_dot_iq4_nl, dot_tile_iq4_nl, dot_rows_iq4_nl, qr, qc);
  set(Type::Q2_K, vec_dot_q2_k, dot_tile_q2_k, dot_rows_q2_k, kr, kc);
  set(Type::Q3_K, vec_dot_q3_k, dot_tile_q3_k, dot_rows_q3_k, kr, kc);
  set(Type::Q4_K, vec_dot_q4_k, dot_tile_q4_k, dot_rows_q4_k, kr, kc);
  set(Type::Q5_K, vec_dot_q5_k, dot_tile_q5_k, dot_rows_q5_k, kr, kc);
  set(Type::Q6_K, vec_dot_q6_k, dot_tile_q6_k, dot_rows_q6_k, kr, kc);
  set(Type::IQ4_XS, vec_dot_iq4_xs, dot_tile_iq4_xs, dot_rows_iq4_xs, kr, kc);
  t.dot_f32 = neon::dot_f32;
  t.axpy_f32 = neon::axpy_f32;
  return t;
}

}  // namespace hearth::kernels
