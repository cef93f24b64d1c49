// NEON kernels: helpers shared by the files of this folder only (compiled with +dotprod+fp16).
// Everything here has internal linkage so no dotprod code can be merged into a baseline translation
// unit by the linker; never include this header outside arm/neon/.
#pragma once
#include <arm_neon.h>

#include <cstdint>
#include <cstring>

#include "kernels/tile_driver.h"
#include "tensor/blocks.h"

namespace hearth::kernels::neon {
namespace {

using tensor::half;

inline float f16(half h) {
  __fp16 v;
  std::memcpy(&v, &h, 2);
  return static_cast<float>(v);
}
inline half to_f16(float f) {
  const __fp16 v = static_cast<__fp16>(f);
  half h;
  std::memcpy(&h, &v, 2);
  return h;
}

template <class T>
inline T load_as(const void* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

inline int8x16_t ld_s8(const void* p) { return vld1q_s8(static_cast<const int8_t*>(p)); }
inline uint8x16_t ld_u8(const void* p) { return vld1q_u8(static_cast<const uint8_t*>(p)); }

// 16 bytes of packed nibbles: low nibbles (elements 0..15) and high nibbles (16..31).
inline void nibbles(const void* p, uint8x16_t* lo, uint8x16_t* hi) {
  const uint8x16_t q = ld_u8(p);
  *lo = vandq_u8(q, vdupq_n_u8(0x0F));
  *hi = vshrq_n_u8(q, 4);
}

// 0xFF in byte j of the result where bit j of the 16-bit value is set.
inline uint8x16_t bytes_from_bits16(uint32_t bits) {
  const uint8x16_t v =
      vcombine_u8(vdup_n_u8(static_cast<uint8_t>(bits)), vdup_n_u8(static_cast<uint8_t>(bits >> 8)));
  const uint8x16_t sel = {1, 2, 4, 8, 16, 32, 64, 128, 1, 2, 4, 8, 16, 32, 64, 128};
  return vtstq_u8(v, sel);
}

// Columns [0, cc) of one row group with NC = TC, TC / 2, ..., 1 column kernels.
using tiles::rows_driver;
using tiles::tile_cols;
using tiles::tile_driver;
using tiles::vec_dot_driver;

}  // namespace
}  // namespace hearth::kernels::neon
