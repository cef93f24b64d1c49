// kernels: CPU compute. Dot products and matmuls per tensor type, and the float ops a transformer
// needs. Scalar references live in ref/, fast paths per ISA in x86/avx2, x86/avx512, arm/neon.
// One KernelTable is chosen at start-up from the CPU's features (HEARTH_ISA=scalar|avx2|avx512
// forces one). Knows nothing of models or files.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "tensor/types.h"

namespace hearth::kernels {

// Dot product of one weight row (n elements of the weight type) with one activation row already
// converted to the weight type's `act_type`: returns the float result.
using VecDotFn = float (*)(int64_t n, const void* w, const void* x);
// Convert a float activation row to act_type (n a multiple of its block size).
using FromFloatFn = void (*)(const float* x, void* y, int64_t n);
// Tile: out[c * out_stride + r] = dot(w row r, x col c) for r < nr, c < nc. Rows of w are w_stride
// bytes apart, activation rows x_stride bytes apart. Lets a fast path reuse loaded weights across
// several activation rows (prompt processing). May be null: callers fall back to vec_dot.
using DotTileFn = void (*)(int64_t n, int nr, int nc, const void* w, uint64_t w_stride, const void* x,
                           uint64_t x_stride, float* out, int64_t out_stride);

struct TypeKernels {
  tensor::Type act_type = tensor::Type::F32;  // what activations are converted to
  VecDotFn vec_dot = nullptr;                 // null: type not supported for matmul
  FromFloatFn from_float = nullptr;           // converts to act_type
  DotTileFn dot_tile = nullptr;               // optional fast tile
  // A tile whose every output is bit-identical to vec_dot's (batched decoding: several sequences' one-row
  // products share each weight row, and results do not depend on the batch). Null: loop vec_dot.
  DotTileFn dot_rows = nullptr;
  int tile_rows = 1, tile_cols = 1;  // preferred tile shape of dot_tile
  // Packed weights (see pack_group): rows in groups of kPackRows, interleaved so that one vector load
  // holds the same 4 bytes of every row of the group. dot_packed takes w = the first group, w_stride =
  // packed_group_bytes(type, n), nr a multiple of kPackRows; every output is bit-identical to vec_dot's
  // on the original rows, whatever nc. Null: the type has no packed kernel in this table.
  DotTileFn dot_packed = nullptr;
};

// Rows per packed group.
constexpr int kPackRows = 16;
// Bytes of one packed group of kPackRows rows of n elements of type t; 0 when rows of n elements cannot
// be packed (Q4_0: n not a multiple of 64).
uint64_t packed_group_bytes(tensor::Type t, int64_t n);
// Packs kPackRows rows (row r at w + r * w_stride, n elements of type t) into dst
// (packed_group_bytes(t, n) bytes). Most types: for block i and dword k of the block,
// dst[(i * D + k) * 4 * kPackRows + 4 * r] holds that dword of row r (D dwords per block, the bytes past a
// block's end zero). Q6_K and Q4_0: layouts of their own (kernels/pack_layout.h).
void pack_group(tensor::Type t, int64_t n, const void* w, uint64_t w_stride, void* dst);

struct KernelTable {
  std::string name;  // "scalar", "avx2", "avx512", "neon"
  TypeKernels types[tensor::kTypeCount];
  // Float helpers used by the backend's hot loops.
  float (*dot_f32)(int64_t n, const float* a, const float* b) = nullptr;
  // y[i] += a * x[i]
  void (*axpy_f32)(int64_t n, float a, const float* x, float* y) = nullptr;
  // Attention over an F16 KV cache for nq query heads sharing one KV head, over n cache cells of hd
  // elements (filled in by select.cpp). Scores: s[j * s_stride + c] = dot(k + c * k_stride, q_j) with
  // q_j = q + j * q_stride. Mix: o_j[i] += w[j * w_stride + c] * v[c * v_stride + i], c in order.
  void (*attn_scores_f16)(int64_t hd, int64_t n, const uint16_t* k, int64_t k_stride, const float* q, int nq,
                          int64_t q_stride, float* s, int64_t s_stride) = nullptr;
  void (*attn_mix_f16)(int64_t hd, int64_t n, const uint16_t* v, int64_t v_stride, const float* w, int nq,
                       int64_t w_stride, float* o, int64_t o_stride) = nullptr;
  // Softmax numerators in place: x[i] = exp(x[i] * scale - max_j(x[j] * scale)) for i < n (n >= 1);
  // returns their sum.
  float (*exp_shifted)(int64_t n, float* x, float scale) = nullptr;
};

// The table chosen for this CPU (honours HEARTH_ISA). Thread-safe, computed once.
const KernelTable& active();
// Every table this CPU can run, best last (tests compare each against "scalar").
std::vector<const KernelTable*> available();
// A table by name, or nullptr when unknown or not runnable on this CPU.
const KernelTable* by_name(const std::string& name);

}  // namespace hearth::kernels
