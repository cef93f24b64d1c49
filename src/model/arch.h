#pragma once
#include <string_view>
#include <vector>

#include "backend/backend.h"
#include "model/model.h"

namespace hearth::model {

class Context;
struct Batch;

// An architecture is data: its options, plus a block function only where it truly differs.
struct ArchInfo {
  const char* name;
  backend::RopeStyle rope_style;
  bool attn_bias;  // Q/K/V biases (qwen2)
  bool qk_norm;    // per-head RMS norm of Q and K (qwen3)
  // Optional own transformer block; null uses the shared Llama-style block.
  void (*block)(Context& ctx, int layer, int64_t n_tokens) = nullptr;
};

const ArchInfo* find_arch(std::string_view name);
std::vector<const ArchInfo*> all_archs();

}  // namespace hearth::model
