// Internal: the per-ISA table builders select.cpp chooses from.
#pragma once
#include "kernels/kernels.h"

namespace hearth::kernels {

KernelTable make_scalar_table();
#if defined(HEARTH_X86)
// Each fills in what its ISA accelerates, starting from the scalar table (defined in x86/avx2, x86/avx512).
// Weak: a build without that ISA's sources simply has no such table (select.cpp checks for null).
__attribute__((weak)) KernelTable make_avx2_table();
__attribute__((weak)) KernelTable make_avx512_table();
#endif
#if defined(HEARTH_ARM)
__attribute__((weak)) KernelTable make_neon_table();
#endif

}  // namespace hearth::kernels
