// Internal: F16 attention helpers for each ISA (attn_*.cpp), installed into tables by select.cpp.
#pragma once
#include <cstdint>

namespace hearth::kernels {

float dot_f16_f32_scalar(int64_t n, const uint16_t* k, const float* q);
void axpy_f16_f32_scalar(int64_t n, float a, const uint16_t* v, float* y);
#if defined(HEARTH_X86)
float dot_f16_f32_avx2(int64_t n, const uint16_t* k, const float* q);
void axpy_f16_f32_avx2(int64_t n, float a, const uint16_t* v, float* y);
#endif

}  // namespace hearth::kernels
