// tensor: the table of tensor types (block size, bytes, name) and their GGUF-compatible block layouts;
// reference quantize / dequantize code. Knows nothing of files, models or kernels.
#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace hearth::tensor {

// Ids are GGUF's (ggml_type); they are stored in files, never renumber.
enum class Type : uint32_t {
  F32 = 0,
  F16 = 1,
  Q4_0 = 2,
  Q4_1 = 3,
  Q5_0 = 6,
  Q5_1 = 7,
  Q8_0 = 8,
  Q8_1 = 9,
  Q2_K = 10,
  Q3_K = 11,
  Q4_K = 12,
  Q5_K = 13,
  Q6_K = 14,
  Q8_K = 15,
  IQ2_XXS = 16,
  IQ2_XS = 17,
  IQ3_XXS = 18,
  IQ1_S = 19,
  IQ4_NL = 20,
  IQ3_S = 21,
  IQ2_S = 22,
  IQ4_XS = 23,
  I8 = 24,
  I16 = 25,
  I32 = 26,
  I64 = 27,
  F64 = 28,
  IQ1_M = 29,
  BF16 = 30,
};
constexpr uint32_t kTypeCount = 31;  // ids are < kTypeCount

struct TypeInfo {
  const char* name;     // "Q4_K", "F16", ... ; nullptr for ids GGUF does not define
  int64_t block_size;   // elements per block
  uint64_t type_size;   // bytes per block
  bool quantized;       // block-quantized (not a plain float/int type)
  bool supported;       // hearth can dequantize it and run matmuls with it
};

// Info for a type id; ids GGUF does not define (or >= kTypeCount) give a TypeInfo with name == nullptr.
const TypeInfo& type_info(uint32_t id);
inline const TypeInfo& type_info(Type t) { return type_info(static_cast<uint32_t>(t)); }
inline const char* type_name(Type t) { return type_info(t).name ? type_info(t).name : "?"; }
std::optional<Type> type_from_name(std::string_view name);  // case-insensitive: "q4_k", "F16"

// Bytes of a row of n elements; n must be a multiple of the block size (checked by callers).
inline uint64_t row_size(Type t, int64_t n) {
  const auto& ti = type_info(t);
  return static_cast<uint64_t>(n / ti.block_size) * ti.type_size;
}

// Reference conversion of one row (n a multiple of the type's block size).
void dequantize_row(Type t, const void* src, float* dst, int64_t n);
// Reference quantization. `imatrix` (n importance weights, may be null) weights the error the
// k-quant/IQ4 searches minimise. Quality matches the standard GGUF quantizer's.
void quantize_row(Type t, const float* src, void* dst, int64_t n, const float* imatrix = nullptr);

}  // namespace hearth::tensor
