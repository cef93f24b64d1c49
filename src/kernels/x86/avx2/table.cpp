// The "avx2" kernel table (AVX2 + FMA + F16C). This file is compiled WITHOUT the ISA's flags (see
// kernels/CMakeLists.txt): it only stores function pointers, so nothing inline that it instantiates can
// carry avx2 code into the rest of the program.
#include "kernels/table_fill.h"
#include "kernels/x86/avx2/avx2.h"

namespace hearth::kernels {

HEARTH_DEFINE_KERNEL_TABLE(make_avx2_table, avx2)

}  // namespace hearth::kernels
