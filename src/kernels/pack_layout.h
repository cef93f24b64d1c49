// Internal: byte offsets of the packed layouts of kernels.h that are not the plain dword interleave, shared
// by the packer (pack.cpp) and the ISA kernels that read them. Offsets within one packed super-block of
// kPackRows rows.
#pragma once
#include <cstdint>

#include "kernels/kernels.h"

namespace hearth::kernels::packed {

// Q6_K: d[16] (fp16), zero-padded to 64 bytes so that every vector below is 64-byte aligned; scales: 8 x 32
// bytes, pair p = [row r: scale 2p, scale 2p + 1] (int8); low nibbles: 32 vectors of 64 bytes, vector 4j + i,
// dword r, byte b = element 32j + 4i + b (low nibble) and 32j + 16 + 4i + b (high nibble) of row r; top bits:
// 16 vectors, vector 2j + h, dword r, byte b, crumb c = bits 4-5 of element 32j + 16h + 4c + b.
struct Q6K {
  static constexpr uint64_t kScales = 64, kLow = kScales + 8 * 32, kHigh = kLow + 32 * 64;
  static constexpr uint64_t kBytes = kHigh + 16 * 64;  // 53 cache lines for 16 x 210 bytes
  static_assert(kBytes % 64 == 0 && kLow % 64 == 0);
};

// Q4_0, in units of two blocks (64 elements) so that every vector is 64-byte aligned: d[2][16] (fp16,
// block 0's rows then block 1's); then per block b four vectors, vector 4b + k, dword r = quant bytes
// 4k..4k+3 of row r (low nibbles: elements 4k.., high nibbles: 16 + 4k..). Rows of n % 64 != 0 elements
// are not packed.
struct Q4_0 {
  static constexpr int64_t kElements = 64;
  static constexpr uint64_t kQuants = 64, kBytes = kQuants + 8 * 64;  // 9 cache lines for 16 x 2 x 18 bytes
};

}  // namespace hearth::kernels::packed
