#include "tensor/types.h"

#include <cctype>
#include <string>

#include "tensor/blocks.h"

namespace hearth::tensor {

namespace {

struct Table {
  TypeInfo info[kTypeCount + 1] = {};
  constexpr Table() {
    auto set = [&](Type t, const char* name, int64_t bs, uint64_t ts, bool q, bool sup) {
      info[static_cast<uint32_t>(t)] = TypeInfo{name, bs, ts, q, sup};
    };
    set(Type::F32, "F32", 1, 4, false, true);
    set(Type::F16, "F16", 1, 2, false, true);
    set(Type::BF16, "BF16", 1, 2, false, true);
    set(Type::Q4_0, "Q4_0", QK4_0, sizeof(BlockQ4_0), true, true);
    set(Type::Q4_1, "Q4_1", QK4_1, sizeof(BlockQ4_1), true, true);
    set(Type::Q5_0, "Q5_0", QK5_0, sizeof(BlockQ5_0), true, true);
    set(Type::Q5_1, "Q5_1", QK5_1, sizeof(BlockQ5_1), true, true);
    set(Type::Q8_0, "Q8_0", QK8_0, sizeof(BlockQ8_0), true, true);
    set(Type::Q8_1, "Q8_1", QK8_1, sizeof(BlockQ8_1), true, false);
    set(Type::Q2_K, "Q2_K", QK_K, sizeof(BlockQ2_K), true, true);
    set(Type::Q3_K, "Q3_K", QK_K, sizeof(BlockQ3_K), true, true);
    set(Type::Q4_K, "Q4_K", QK_K, sizeof(BlockQ4_K), true, true);
    set(Type::Q5_K, "Q5_K", QK_K, sizeof(BlockQ5_K), true, true);
    set(Type::Q6_K, "Q6_K", QK_K, sizeof(BlockQ6_K), true, true);
    set(Type::Q8_K, "Q8_K", QK_K, sizeof(BlockQ8_K), true, false);
    set(Type::IQ4_NL, "IQ4_NL", QK4_NL, sizeof(BlockIQ4_NL), true, true);
    set(Type::IQ4_XS, "IQ4_XS", QK_K, sizeof(BlockIQ4_XS), true, true);
    // Defined by GGUF but not (yet) computed by hearth: known sizes so files can still be read/shown.
    set(Type::IQ2_XXS, "IQ2_XXS", QK_K, 66, true, false);
    set(Type::IQ2_XS, "IQ2_XS", QK_K, 74, true, false);
    set(Type::IQ3_XXS, "IQ3_XXS", QK_K, 98, true, false);
    set(Type::IQ1_S, "IQ1_S", QK_K, 50, true, false);
    set(Type::IQ3_S, "IQ3_S", QK_K, 110, true, false);
    set(Type::IQ2_S, "IQ2_S", QK_K, 82, true, false);
    set(Type::IQ1_M, "IQ1_M", QK_K, 56, true, false);
    set(Type::I8, "I8", 1, 1, false, false);
    set(Type::I16, "I16", 1, 2, false, false);
    set(Type::I32, "I32", 1, 4, false, false);
    set(Type::I64, "I64", 1, 8, false, false);
    set(Type::F64, "F64", 1, 8, false, false);
  }
};

constexpr Table kTable;

}  // namespace

const TypeInfo& type_info(uint32_t id) {
  if (id >= kTypeCount) return kTable.info[kTypeCount];
  return kTable.info[id];
}

std::optional<Type> type_from_name(std::string_view name) {
  std::string up(name);
  for (auto& c : up) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  for (uint32_t i = 0; i < kTypeCount; ++i) {
    if (kTable.info[i].name && up == kTable.info[i].name) return static_cast<Type>(i);
  }
  return std::nullopt;
}

}  // namespace hearth::tensor
