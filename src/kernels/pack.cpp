// Packed weight layout (kernels.h): a plain interleaving of kPackRows rows at dword granularity, the same
// for every instruction set; the kernels that read it live in the ISA folders.
#include <algorithm>
#include <cstring>

#include "kernels/kernels.h"

namespace hearth::kernels {

namespace {
uint64_t block_dwords(tensor::Type t) { return (tensor::type_info(t).type_size + 3) / 4; }
}  // namespace

uint64_t packed_group_bytes(tensor::Type t, int64_t n) {
  const uint64_t blocks = static_cast<uint64_t>(n) / tensor::type_info(t).block_size;
  return blocks * block_dwords(t) * 4 * kPackRows;
}

void pack_group(tensor::Type t, int64_t n, const void* w, uint64_t w_stride, void* dst) {
  const auto& ti = tensor::type_info(t);
  const uint64_t blocks = static_cast<uint64_t>(n) / ti.block_size, dw = block_dwords(t);
  const auto* src = static_cast<const uint8_t*>(w);
  auto* out = static_cast<uint8_t*>(dst);
  for (uint64_t i = 0; i < blocks; ++i) {
    for (uint64_t k = 0; k < dw; ++k) {
      const uint64_t off = i * ti.type_size + 4 * k;
      const uint64_t len = std::min<uint64_t>(4, ti.type_size - 4 * k);
      uint8_t* o = out + (i * dw + k) * 4 * kPackRows;
      for (int r = 0; r < kPackRows; ++r) {
        uint8_t v[4] = {0, 0, 0, 0};
        std::memcpy(v, src + r * w_stride + off, len);
        std::memcpy(o + 4 * r, v, 4);
      }
    }
  }
}

}  // namespace hearth::kernels
