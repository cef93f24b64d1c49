// kernels/ref: the scalar reference kernels, the oracle every fast path is tested against. Dot
// products of quantized weights run in integer arithmetic per block exactly as the formats define
// them; float rows accumulate in double. Fast tables may also call these as fallbacks.
#pragma once
#include <cstdint>

namespace hearth::kernels::ref {

// vec_dot(n, w, x): w is one weight row of the named type, x the activation row in its act type.
float vec_dot_f32(int64_t n, const void* w, const void* x);     // x: F32
float vec_dot_f16(int64_t n, const void* w, const void* x);     // x: F32
float vec_dot_bf16(int64_t n, const void* w, const void* x);    // x: F32
float vec_dot_q4_0(int64_t n, const void* w, const void* x);    // x: Q8_0
float vec_dot_q4_1(int64_t n, const void* w, const void* x);    // x: Q8_1
float vec_dot_q5_0(int64_t n, const void* w, const void* x);    // x: Q8_0
float vec_dot_q5_1(int64_t n, const void* w, const void* x);    // x: Q8_1
float vec_dot_q8_0(int64_t n, const void* w, const void* x);    // x: Q8_0
float vec_dot_iq4_nl(int64_t n, const void* w, const void* x);  // x: Q8_0
float vec_dot_q2_k(int64_t n, const void* w, const void* x);    // x: Q8_K
float vec_dot_q3_k(int64_t n, const void* w, const void* x);    // x: Q8_K
float vec_dot_q4_k(int64_t n, const void* w, const void* x);    // x: Q8_K
float vec_dot_q5_k(int64_t n, const void* w, const void* x);    // x: Q8_K
float vec_dot_q6_k(int64_t n, const void* w, const void* x);    // x: Q8_K
float vec_dot_iq4_xs(int64_t n, const void* w, const void* x);  // x: Q8_K

// from_float for the activation types.
void from_float_f32(const float* x, void* y, int64_t n);
void from_float_q8_0(const float* x, void* y, int64_t n);
void from_float_q8_1(const float* x, void* y, int64_t n);
void from_float_q8_k(const float* x, void* y, int64_t n);

float dot_f32(int64_t n, const float* a, const float* b);
void axpy_f32(int64_t n, float a, const float* x, float* y);

}  // namespace hearth::kernels::ref
