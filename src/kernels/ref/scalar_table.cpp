// The "scalar" kernel table: every supported weight type with its reference vec_dot and activation
// quantizer; no tiles. Fast tables start from this one and replace what their ISA accelerates.
#include <cstring>

#include "kernels/ref/ref.h"
#include "kernels/tables.h"
#include "tensor/quants.h"

namespace hearth::kernels {

namespace ref {

void from_float_f32(const float* x, void* y, int64_t n) {
  std::memcpy(y, x, static_cast<size_t>(n) * sizeof(float));
}
void from_float_q8_0(const float* x, void* y, int64_t n) {
  tensor::quantize_q8_0(x, static_cast<tensor::BlockQ8_0*>(y), n);
}
void from_float_q8_1(const float* x, void* y, int64_t n) {
  tensor::quantize_q8_1(x, static_cast<tensor::BlockQ8_1*>(y), n);
}
void from_float_q8_k(const float* x, void* y, int64_t n) {
  tensor::quantize_q8_k(x, static_cast<tensor::BlockQ8_K*>(y), n);
}

float dot_f32(int64_t n, const float* a, const float* b) {
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) sum += static_cast<double>(a[i]) * b[i];
  return static_cast<float>(sum);
}

void axpy_f32(int64_t n, float a, const float* x, float* y) {
  for (int64_t i = 0; i < n; ++i) y[i] += a * x[i];
}

}  // namespace ref

KernelTable make_scalar_table() {
  using tensor::Type;
  KernelTable t;
  t.name = "scalar";
  auto set = [&](Type w, Type act, VecDotFn dot) {
    TypeKernels& k = t.types[static_cast<uint32_t>(w)];
    k.act_type = act;
    k.vec_dot = dot;
    switch (act) {
      case Type::Q8_0:
        k.from_float = ref::from_float_q8_0;
        break;
      case Type::Q8_1:
        k.from_float = ref::from_float_q8_1;
        break;
      case Type::Q8_K:
        k.from_float = ref::from_float_q8_k;
        break;
      default:
        k.from_float = ref::from_float_f32;
        break;
    }
    k.dot_tile = nullptr;
    k.tile_rows = k.tile_cols = 1;
  };
  set(Type::F32, Type::F32, ref::vec_dot_f32);
  set(Type::F16, Type::F32, ref::vec_dot_f16);
  set(Type::BF16, Type::F32, ref::vec_dot_bf16);
  set(Type::Q4_0, Type::Q8_0, ref::vec_dot_q4_0);
  set(Type::Q4_1, Type::Q8_1, ref::vec_dot_q4_1);
  set(Type::Q5_0, Type::Q8_0, ref::vec_dot_q5_0);
  set(Type::Q5_1, Type::Q8_1, ref::vec_dot_q5_1);
  set(Type::Q8_0, Type::Q8_0, ref::vec_dot_q8_0);
  set(Type::IQ4_NL, Type::Q8_0, ref::vec_dot_iq4_nl);
  set(Type::Q2_K, Type::Q8_K, ref::vec_dot_q2_k);
  set(Type::Q3_K, Type::Q8_K, ref::vec_dot_q3_k);
  set(Type::Q4_K, Type::Q8_K, ref::vec_dot_q4_k);
  set(Type::Q5_K, Type::Q8_K, ref::vec_dot_q5_k);
  set(Type::Q6_K, Type::Q8_K, ref::vec_dot_q6_k);
  set(Type::IQ4_XS, Type::Q8_K, ref::vec_dot_iq4_xs);
  t.dot_f32 = ref::dot_f32;
  t.axpy_f32 = ref::axpy_f32;
  return t;
}

}  // namespace hearth::kernels
