// quantize: per-tensor type policy of each mix and the quantize pipeline; synthetic models for
// benchmarks. Knows GGUF, tensor types and the architectures' tensor lists; nothing of HTTP or sampling.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "tensor/types.h"

namespace hearth::quantize {

// What the policy needs to know about one tensor and its model.
struct TensorContext {
  std::string name;          // GGUF tensor name ("blk.3.attn_v.weight")
  int64_t n_layer = 0;       // layers of the model
  bool has_output = true;    // the model has its own output.weight (else token_embd is also the output)
  int64_t n_gqa = 1;         // query heads per KV head (n_head / n_head_kv)
  int64_t n_expert = 0;      // experts of an MoE model (0 or 1: dense)
  bool has_imatrix = false;  // an importance matrix is used (changes some choices)
  std::string arch;          // general.architecture (a few rules are Falcon-specific)
  // Position of this attn_v (attn_qkv, attn_kv_b) tensor among those of the model in layer order, and
  // their count; -1 / 0: the layer number from the name and n_layer.
  int64_t i_attention_wv = -1;
  int64_t n_attention_wv = 0;
};

// The per-tensor type choices of a quantization mix (Q4_K_M, Q3_K_S, ...), following the choices
// the standard GGUF mixes are known for: more bits for output, attn_v and ffn_down in certain layers,
// depending on grouped-query attention, MoE and the presence of an importance matrix.
class Policy {
 public:
  static Policy for_mix(const std::string& mix);  // throws hearth::Error for an unknown mix
  static std::vector<std::string> mix_names();
  const std::string& name() const { return name_; }
  uint32_t file_type() const { return file_type_; }  // general.file_type
  tensor::Type base_type() const { return base_; }
  // Type of a weight matrix whose rows have `ncols` elements (falls back when ncols does not fit
  // the blocks of the chosen type). `fell_back`, when given, tells whether the fallback was used.
  tensor::Type type_for(const TensorContext& t, int64_t ncols, bool* fell_back = nullptr) const;

 private:
  std::string name_;
  uint32_t file_type_ = 0;
  tensor::Type base_ = tensor::Type::F16;
};

// Whether a tensor is a weight a mix applies to (GGUF name and number of dimensions that are not 1):
// matrices whose name ends in "weight", except norms, MoE router, position / token-type embeddings
// and the small 2-D weights of a few architectures. Other tensors are copied unchanged.
bool is_quantizable(const std::string& name, int n_dims);

// When a row does not divide into the blocks of `t`: the type used instead (k-quants fall back to
// 32-element blocks, then F16).
tensor::Type fallback_type(tensor::Type t, int64_t ncols);

}  // namespace hearth::quantize
