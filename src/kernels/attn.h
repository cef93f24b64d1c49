// Internal: F16 attention helpers for each ISA (attn_*.cpp), installed into tables by select.cpp.
// Every ISA's group helpers give each query head the same bits whatever the group size (the heads of a
// group only share the key and value conversions), so how heads are grouped never changes results.
#pragma once
#include <cstdint>

namespace hearth::kernels {

float dot_f16_f32_scalar(int64_t n, const uint16_t* k, const float* q);
void axpy_f16_f32_scalar(int64_t n, float a, const uint16_t* v, float* y);
void attn_scores_f16_scalar(int64_t hd, int64_t n, const uint16_t* k, int64_t k_stride, const float* q,
                            int nq, int64_t q_stride, float* s, int64_t s_stride);
void attn_mix_f16_scalar(int64_t hd, int64_t n, const uint16_t* v, int64_t v_stride, const float* w, int nq,
                         int64_t w_stride, float* o, int64_t o_stride);
float exp_shifted_scalar(int64_t n, float* x, float scale);
#if defined(HEARTH_X86)
void attn_scores_f16_avx2(int64_t hd, int64_t n, const uint16_t* k, int64_t k_stride, const float* q, int nq,
                          int64_t q_stride, float* s, int64_t s_stride);
void attn_mix_f16_avx2(int64_t hd, int64_t n, const uint16_t* v, int64_t v_stride, const float* w, int nq,
                       int64_t w_stride, float* o, int64_t o_stride);
float exp_shifted_avx2(int64_t n, float* x, float scale);
#endif

}  // namespace hearth::kernels
