// The "avx512" kernel table (AVX-512 F/BW/VL/DQ + VNNI). This file is compiled WITHOUT the ISA's flags (see
// kernels/CMakeLists.txt): it only stores function pointers, so nothing inline that it instantiates can
// carry avx512 code into the rest of the program.
#include "kernels/table_fill.h"
#include "kernels/x86/avx512/avx512.h"

namespace hearth::kernels {

HEARTH_DEFINE_KERNEL_TABLE(make_avx512_table, avx512)

}  // namespace hearth::kernels
