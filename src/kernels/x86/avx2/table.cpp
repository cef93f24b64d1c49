// The "avx2" kernel table (AVX2 + FMA + F16C). This file is compiled WITHOUT the ISA's flags (see
// kernels/CMakeLists.txt): it only stores function pointers, so nothing inline that it instantiates can
// carry avx2 code into the rest of the program.
#include "kernels/table_fill.h"
#include "kernels/x86/avx2/avx2.h"

namespace hearth::kernels {

namespace {
HEARTH_DEFINE_KERNEL_TABLE(make_avx2_base, avx2)
}  // namespace

KernelTable make_avx2_table() {
  KernelTable t = make_avx2_base();
  t.types[static_cast<uint32_t>(tensor::Type::Q4_K)].dot_packed = avx2::dot_packed_q4_k;
  t.types[static_cast<uint32_t>(tensor::Type::Q6_K)].dot_packed = avx2::dot_packed_q6_k;
  return t;
}

}  // namespace hearth::kernels
