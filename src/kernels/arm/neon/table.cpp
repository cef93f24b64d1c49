// The "neon" kernel table (ARMv8.2 NEON + dotprod). This file is compiled WITHOUT the ISA's flags (see
// kernels/CMakeLists.txt): it only stores function pointers, so nothing inline that it instantiates can
// carry neon code into the rest of the program.
#include "kernels/arm/neon/neon.h"
#include "kernels/table_fill.h"

namespace hearth::kernels {

HEARTH_DEFINE_KERNEL_TABLE(make_neon_table, neon)

}  // namespace hearth::kernels
