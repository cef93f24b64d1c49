// The "avx512" kernel table (AVX-512 F/BW/VL/DQ + VNNI). This file is compiled WITHOUT the ISA's flags (see
// kernels/CMakeLists.txt): it only stores function pointers, so nothing inline that it instantiates can
// carry avx512 code into the rest of the program.
#include <utility>

#include "kernels/table_fill.h"
#include "kernels/x86/avx512/avx512.h"

namespace hearth::kernels {

namespace {
HEARTH_DEFINE_KERNEL_TABLE(make_avx512_base, avx512)
}  // namespace

KernelTable make_avx512_table() {
  KernelTable t = make_avx512_base();
  const std::pair<tensor::Type, DotTileFn> packed[] = {
      {tensor::Type::Q4_0, avx512::dot_packed_q4_0},     {tensor::Type::Q4_K, avx512::dot_packed_q4_k},
      {tensor::Type::Q5_K, avx512::dot_packed_q5_k},     {tensor::Type::Q6_K, avx512::dot_packed_q6_k},
      {tensor::Type::IQ4_XS, avx512::dot_packed_iq4_xs},
  };
  for (const auto& [type, fn] : packed) t.types[static_cast<uint32_t>(type)].dot_packed = fn;
  return t;
}

}  // namespace hearth::kernels
