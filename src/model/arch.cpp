#include "model/arch.h"

namespace hearth::model {

namespace {
using backend::RopeStyle;
// The registry: one line per architecture.
const ArchInfo kArchs[] = {
    {"llama", RopeStyle::Normal, false, false, nullptr},
    {"mistral", RopeStyle::Normal, false, false, nullptr},
    {"qwen2", RopeStyle::NeoX, true, false, nullptr},
    {"qwen3", RopeStyle::NeoX, false, true, nullptr},
};
}  // namespace

const ArchInfo* find_arch(std::string_view name) {
  for (const auto& a : kArchs)
    if (name == a.name) return &a;
  return nullptr;
}

std::vector<const ArchInfo*> all_archs() {
  std::vector<const ArchInfo*> v;
  for (const auto& a : kArchs) v.push_back(&a);
  return v;
}

}  // namespace hearth::model
