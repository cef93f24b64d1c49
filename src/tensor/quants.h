// tensor: per-type reference quantize / dequantize of one row, typed on the block structs.
// `quantize_row` / `dequantize_row` (types.h) dispatch to these; kernels use the 8-bit activation
// quantizers (Q8_0, Q8_1, Q8_K) directly. n is always a multiple of the type's block size.
#pragma once
#include <cstdint>

#include "tensor/blocks.h"

namespace hearth::tensor {

// ---- dequantize (exact GGUF definitions) ----
void dequantize_q4_0(const BlockQ4_0* x, float* y, int64_t n);
void dequantize_q4_1(const BlockQ4_1* x, float* y, int64_t n);
void dequantize_q5_0(const BlockQ5_0* x, float* y, int64_t n);
void dequantize_q5_1(const BlockQ5_1* x, float* y, int64_t n);
void dequantize_q8_0(const BlockQ8_0* x, float* y, int64_t n);
void dequantize_q8_1(const BlockQ8_1* x, float* y, int64_t n);
void dequantize_q2_k(const BlockQ2_K* x, float* y, int64_t n);
void dequantize_q3_k(const BlockQ3_K* x, float* y, int64_t n);
void dequantize_q4_k(const BlockQ4_K* x, float* y, int64_t n);
void dequantize_q5_k(const BlockQ5_K* x, float* y, int64_t n);
void dequantize_q6_k(const BlockQ6_K* x, float* y, int64_t n);
void dequantize_q8_k(const BlockQ8_K* x, float* y, int64_t n);
void dequantize_iq4_nl(const BlockIQ4_NL* x, float* y, int64_t n);
void dequantize_iq4_xs(const BlockIQ4_XS* x, float* y, int64_t n);

// ---- quantize. `imatrix` (n weights or null) selects the weighted search where GGUF's quantizer
// has one; without it the plain reference algorithm runs (what files made without an imatrix hold).
void quantize_q4_0(const float* x, BlockQ4_0* y, int64_t n, const float* imatrix);
void quantize_q4_1(const float* x, BlockQ4_1* y, int64_t n, const float* imatrix);
void quantize_q5_0(const float* x, BlockQ5_0* y, int64_t n, const float* imatrix);
void quantize_q5_1(const float* x, BlockQ5_1* y, int64_t n, const float* imatrix);
void quantize_q2_k(const float* x, BlockQ2_K* y, int64_t n, const float* imatrix);
void quantize_q3_k(const float* x, BlockQ3_K* y, int64_t n, const float* imatrix);
void quantize_q4_k(const float* x, BlockQ4_K* y, int64_t n, const float* imatrix);
void quantize_q5_k(const float* x, BlockQ5_K* y, int64_t n, const float* imatrix);
void quantize_q6_k(const float* x, BlockQ6_K* y, int64_t n, const float* imatrix);
void quantize_iq4_nl(const float* x, BlockIQ4_NL* y, int64_t n, const float* imatrix);
void quantize_iq4_xs(const float* x, BlockIQ4_XS* y, int64_t n, const float* imatrix);

// 8-bit quantizers (no imatrix; also the activation formats of the quantized matmuls).
void quantize_q8_0(const float* x, BlockQ8_0* y, int64_t n);  // d = amax/127, q = round(x/d)
void quantize_q8_1(const float* x, BlockQ8_1* y, int64_t n);  // as Q8_0, plus s = d * sum(q)
void quantize_q8_k(const float* x, BlockQ8_K* y, int64_t n);  // f32 d = max/-127 (signed), bsums

// Q4_K / Q5_K: the 6-bit scale and min of sub-block j (0..7) from the 12 packed scale bytes.
inline void get_scale_min_k4(int j, const uint8_t* q, uint8_t* d, uint8_t* m) {
  if (j < 4) {
    *d = q[j] & 63;
    *m = q[j + 4] & 63;
  } else {
    *d = (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4);
    *m = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
  }
}

// Q3_K: the 16 signed 6-bit scales (already minus 32) from the 12 packed scale bytes.
inline void unpack_q3_k_scales(const uint8_t* s, int8_t out[16]) {
  for (int j = 0; j < 16; ++j) {
    const int low = j < 8 ? (s[j] & 0xF) : (s[j - 8] >> 4);
    const int high = (s[8 + j % 4] >> (2 * (j / 4))) & 3;
    out[j] = static_cast<int8_t>((low | (high << 4)) - 32);
  }
}

// IQ4_XS: the 6-bit scale (minus 32) of sub-block ib (0..7).
inline int iq4_xs_scale(const BlockIQ4_XS& b, int ib) {
  const int low = (b.scales_l[ib / 2] >> (4 * (ib % 2))) & 0xF;
  const int high = (b.scales_h >> (2 * ib)) & 3;
  return (low | (high << 4)) - 32;
}

}  // namespace hearth::tensor
