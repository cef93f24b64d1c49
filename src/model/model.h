// model: hyper-parameters from GGUF metadata, the architecture registry, weight binding through a
// per-architecture tensor list, the KV cache, batches and the forward pass. Knows nothing of HTTP,
// tokenizers or sampling.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "gguf/gguf.h"

namespace hearth::model {

struct HParams {
  std::string arch;
  int64_t n_vocab = 0;
  int64_t n_ctx_train = 0;
  int64_t n_embd = 0;
  int64_t n_layer = 0;
  int64_t n_ff = 0;
  int64_t n_head = 0;
  int64_t n_head_kv = 0;
  int64_t head_dim = 0;  // key/value length per head
  float norm_eps = 1e-5f;
  // RoPE
  backend::RopeParams rope;
  std::string rope_scaling = "none";  // none, linear, yarn
  float rope_scaling_factor = 1.0f;

  int64_t q_dim() const { return n_head * head_dim; }
  int64_t kv_dim() const { return n_head_kv * head_dim; }
};

struct ArchInfo;

// One tensor an architecture expects: its name, shape (ne order) and whether it may be absent.
struct TensorSpec {
  std::string name;
  std::vector<int64_t> shape;
  bool optional = false;
  bool is_vector = false;  // 1-D weights (norms, biases): converted to F32 at load
};

struct LayerWeights {
  const float* attn_norm = nullptr;
  backend::WeightView wq, wk, wv, wo;
  const float *bq = nullptr, *bk = nullptr, *bv = nullptr;
  const float *q_norm = nullptr, *k_norm = nullptr;
  const float* ffn_norm = nullptr;
  backend::WeightView gate, up, down;
};

class Model {
 public:
  // Load a model (memory-mapped; nothing is copied but small 1-D weights).
  static std::unique_ptr<Model> load(const std::string& path);
  // Build from an already opened file.
  static std::unique_ptr<Model> from_file(std::unique_ptr<gguf::File> f);

  // Hands every matrix weight to the backend's prepare (repacking for its kernels), letting the file
  // pages it copied go. Once per backend, before the first forward pass with it (Context does).
  void prepare(backend::Backend& be) const;

  const HParams& hparams() const { return hp_; }
  const ArchInfo& arch() const { return *arch_; }
  const gguf::File& file() const { return *file_; }
  uint64_t weight_bytes() const;  // bytes of all tensors
  uint64_t n_params() const;

  backend::WeightView tok_embd, output;
  const float* output_norm = nullptr;
  const float* rope_freqs = nullptr;
  std::vector<LayerWeights> layers;

 private:
  Model() = default;
  void bind();
  const float* vector_weight(const std::string& name, int64_t n, bool optional);
  backend::WeightView matrix_weight(const std::string& name, int64_t cols, int64_t rows, bool optional);
  HParams hp_;
  const ArchInfo* arch_ = nullptr;
  std::unique_ptr<gguf::File> file_;
  std::vector<std::vector<float>> owned_;  // converted 1-D weights
};

// Read hyper-parameters of a known architecture from metadata (works on header-only files).
HParams read_hparams(const gguf::File& f);
// The tensors an architecture expects for these hyper-parameters (loading, show, fit, quantize).
std::vector<TensorSpec> tensor_specs(const HParams& hp);

}  // namespace hearth::model
