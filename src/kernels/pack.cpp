// Packed weight layouts (kernels.h): kPackRows rows interleaved, the same for every instruction set (the
// kernels that read them live in the ISA folders). Most types: the blocks' dwords interleaved. Q6_K and
// Q4_0: layouts of their own (pack_layout.h), for cheap unpacking and aligned vectors.
#include <algorithm>
#include <cstring>

#include "kernels/kernels.h"
#include "kernels/pack_layout.h"
#include "tensor/blocks.h"

namespace hearth::kernels {

namespace {

uint64_t block_dwords(tensor::Type t) { return (tensor::type_info(t).type_size + 3) / 4; }

// Q6_K: see pack_layout.h.
void pack_q6_k(int64_t blocks, const uint8_t* w, uint64_t ws, uint8_t* out) {
  using L = packed::Q6K;
  constexpr uint64_t kScales = L::kScales, kLow = L::kLow, kHigh = L::kHigh, kBytes = L::kBytes;
  for (int64_t i = 0; i < blocks; ++i) {
    uint8_t* o = out + i * kBytes;  // every byte is written below
    std::memset(o + 2 * kPackRows, 0, kScales - 2 * kPackRows);
    for (int r = 0; r < kPackRows; ++r) {
      tensor::BlockQ6_K blk;  // a copy: blocks in a file need not be aligned
      std::memcpy(&blk, w + r * ws + i * sizeof blk, sizeof blk);
      const tensor::BlockQ6_K* b = &blk;
      uint8_t u[256];  // the 6-bit quants, in element order
      for (int half = 0; half < 2; ++half) {
        const uint8_t* ql = b->ql + 64 * half;
        const uint8_t* qh = b->qh + 32 * half;
        uint8_t* y = u + 128 * half;
        for (int l = 0; l < 32; ++l) {
          y[l] = static_cast<uint8_t>((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4));
          y[l + 32] = static_cast<uint8_t>((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4));
          y[l + 64] = static_cast<uint8_t>((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4));
          y[l + 96] = static_cast<uint8_t>((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4));
        }
      }
      std::memcpy(o + 2 * r, &b->d, 2);
      for (int p = 0; p < 8; ++p) {
        o[kScales + 32 * p + 2 * r] = static_cast<uint8_t>(b->scales[2 * p]);
        o[kScales + 32 * p + 2 * r + 1] = static_cast<uint8_t>(b->scales[2 * p + 1]);
      }
      for (int j = 0; j < 8; ++j) {
        const uint8_t* e = u + 32 * j;
        for (int k = 0; k < 4; ++k) {
          uint8_t v[4];
          for (int bb = 0; bb < 4; ++bb)
            v[bb] = static_cast<uint8_t>((e[4 * k + bb] & 0xF) | (e[16 + 4 * k + bb] & 0xF) << 4);
          std::memcpy(o + kLow + 64 * (4 * j + k) + 4 * r, v, 4);
        }
        for (int h = 0; h < 2; ++h) {
          uint8_t v[4];
          for (int bb = 0; bb < 4; ++bb) {
            const uint8_t* q = e + 16 * h + bb;
            v[bb] =
                static_cast<uint8_t>((q[0] >> 4) | (q[4] >> 4) << 2 | (q[8] >> 4) << 4 | (q[12] >> 4) << 6);
          }
          std::memcpy(o + kHigh + 64 * (2 * j + h) + 4 * r, v, 4);
        }
      }
    }
  }
}

// Q4_0: see pack_layout.h.
void pack_q4_0(int64_t units, const uint8_t* w, uint64_t ws, uint8_t* out) {
  using L = packed::Q4_0;
  for (int64_t i = 0; i < units; ++i) {
    uint8_t* o = out + i * L::kBytes;
    for (int r = 0; r < kPackRows; ++r)
      for (int b = 0; b < 2; ++b) {
        tensor::BlockQ4_0 blk;  // a copy: blocks in a file need not be aligned
        std::memcpy(&blk, w + r * ws + (2 * i + b) * sizeof blk, sizeof blk);
        std::memcpy(o + 2 * (kPackRows * b + r), &blk.d, 2);
        for (int k = 0; k < 4; ++k) std::memcpy(o + L::kQuants + 64 * (4 * b + k) + 4 * r, blk.qs + 4 * k, 4);
      }
  }
}

}  // namespace

uint64_t packed_group_bytes(tensor::Type t, int64_t n) {
  const uint64_t blocks = static_cast<uint64_t>(n) / tensor::type_info(t).block_size;
  if (t == tensor::Type::Q6_K) return blocks * packed::Q6K::kBytes;
  if (t == tensor::Type::Q4_0) return n % packed::Q4_0::kElements ? 0 : blocks / 2 * packed::Q4_0::kBytes;
  return blocks * block_dwords(t) * 4 * kPackRows;
}

void pack_group(tensor::Type t, int64_t n, const void* w, uint64_t w_stride, void* dst) {
  const auto& ti = tensor::type_info(t);
  const int64_t blocks = n / ti.block_size;
  const auto* src = static_cast<const uint8_t*>(w);
  auto* out = static_cast<uint8_t*>(dst);
  if (t == tensor::Type::Q6_K) return pack_q6_k(blocks, src, w_stride, out);
  if (t == tensor::Type::Q4_0) {
    if (packed_group_bytes(t, n) > 0) pack_q4_0(blocks / 2, src, w_stride, out);  // else nothing to write
    return;
  }
  const uint64_t dw = block_dwords(t), bytes = ti.type_size;
  // Row by row: each row's blocks are read in order, the dwords land kPackRows * 4 bytes apart.
  for (int r = 0; r < kPackRows; ++r) {
    const uint8_t* row = src + r * w_stride;
    for (int64_t i = 0; i < blocks; ++i) {
      const uint8_t* b = row + i * bytes;
      uint8_t* o = out + i * dw * 4 * kPackRows + 4 * r;
      for (uint64_t k = 0; k < bytes / 4; ++k) std::memcpy(o + k * 4 * kPackRows, b + 4 * k, 4);
      if (bytes % 4 != 0) {  // the last, partial dword, zero-padded
        uint8_t v[4] = {0, 0, 0, 0};
        std::memcpy(v, b + bytes / 4 * 4, bytes % 4);
        std::memcpy(o + bytes / 4 * 4 * kPackRows, v, 4);
      }
    }
  }
}

}  // namespace hearth::kernels
