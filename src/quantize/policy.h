#pragma once
#include <cstdint>
#include <string>

#include "tensor/types.h"

namespace hearth::quantize {

// What the policy needs to know about one tensor.
struct TensorContext {
  std::string name;      // GGUF tensor name ("blk.3.attn_v.weight")
  int64_t n_layer = 0;   // layers of the model
  bool has_output = true;  // the model has its own output.weight (else token_embd is also the output)
};

// The per-tensor type choices of a quantization mix (Q4_K_M, Q3_K_S, ...), following the choices
// the standard GGUF mixes are known for: more bits for output, attn_v and ffn_down in certain layers.
class Policy {
 public:
  static Policy for_mix(const std::string& mix);  // throws hearth::Error for an unknown mix
  const std::string& name() const { return name_; }
  uint32_t file_type() const { return file_type_; }  // general.file_type
  tensor::Type base_type() const { return base_; }
  // Type of a 2-D weight whose rows have `ncols` elements (falls back when ncols does not fit blocks).
  tensor::Type type_for(const TensorContext& t, int64_t ncols) const;

 private:
  std::string name_;
  uint32_t file_type_ = 0;
  tensor::Type base_ = tensor::Type::F16;
};

}  // namespace hearth::quantize
