// runtime: the memory planner behind `hearth fit` and the runtime's layer placement. From a GGUF header
// alone (no tensor data needed) it computes what each layer weighs, what the KV cache and compute buffers
// take at a context size, how many layers fit on the GPU, the largest context that fits entirely on the
// GPU, and the token-generation and prompt-processing speeds the split should reach. docs/planner.md
// describes the memory and speed model. Knows nothing of the terminal or HTTP.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gguf/gguf.h"
#include "model/model.h"
#include "runtime/hw_table.h"

namespace hearth::runtime {

// KV cache element type.
enum class CacheType { F16, Q8_0, Q4_0 };
double cache_bytes_per_element(CacheType t);         // 2, 34/32, 18/32
const char* cache_type_name(CacheType t);            // "f16", "q8_0", "q4_0"
CacheType cache_type_from_name(std::string_view s);  // throws hearth::Error for an unknown name

// What a model costs, from its header: the weights of each layer and of the parts outside the layers.
struct ModelCost {
  model::HParams hp;
  std::vector<uint64_t> layer_bytes;   // weights of blk.N (all its tensors)
  std::vector<uint64_t> layer_params;  // elements of blk.N's matrices (FLOPs: 2 per element per token)
  uint64_t embd_bytes = 0;             // token_embd: stays in system RAM (one row is read per token)
  uint64_t output_bytes = 0;  // output matrix and output norm (tied: a copy of token_embd on the GPU)
  uint64_t output_params = 0;
  uint64_t other_bytes = 0;  // anything else (rope_freqs, ...): kept with the embeddings
  bool tied_output = false;  // no output.weight: the output uses token_embd
  bool quantized = true;     // most matrix bytes are block-quantized (int8 compute) rather than float
  uint64_t total_bytes = 0;  // all tensors of the file
  uint64_t n_params = 0;
  uint64_t header_bytes = 0;   // metadata and tensor index (mapped and read at load)
  uint64_t vocab_entries = 0;  // tokens + BPE merges: the tokenizer's tables in RAM
};

// Reads the cost of a model from its header (read_hparams + the tensor index, grouped by blk.N).
ModelCost model_cost(const gguf::File& f);
// The same from a tensor list (e.g. re-typed to estimate another quantization).
ModelCost model_cost(const model::HParams& hp, const std::vector<gguf::TensorInfo>& tensors);

struct PlanRequest {
  int64_t n_ctx = 4096;   // tokens per sequence; 0: the model's training context
  int n_seq = 1;          // parallel sequences (each gets n_ctx tokens of KV cache)
  int64_t n_batch = 512;  // prompt tokens per forward pass (activation buffers)
  CacheType cache_type = CacheType::F16;
  int gpu_layers = -1;            // -1: as many as fit; otherwise forced (clamped to the layer count)
  std::optional<DeviceSpec> gpu;  // none: CPU only
  DeviceSpec cpu;                 // system RAM, its bandwidth and the CPU's compute
};

// Memory on one device, by part (bytes).
struct DeviceUse {
  uint64_t weights = 0, kv_cache = 0, compute = 0, overhead = 0;
  uint64_t total() const { return weights + kv_cache + compute + overhead; }
};

struct Plan {
  int64_t n_layer = 0;
  int gpu_layers = 0;          // repeating layers on the GPU (the last ones)
  bool output_on_gpu = false;  // the output matrix goes to the GPU with the last layer
  int64_t n_ctx = 0;           // tokens per sequence planned for
  int n_seq = 1;
  int64_t n_batch = 0;
  CacheType cache_type = CacheType::F16;
  bool has_gpu = false;
  std::string gpu_name, cpu_name;
  uint64_t gpu_capacity = 0, cpu_capacity = 0;  // bytes each device offers (CPU: after a unified GPU)
  DeviceUse gpu, cpu;
  bool fits = false;             // both devices hold their part
  std::string problem;           // when it does not fit: what is short, in words
  int64_t max_ctx_full_gpu = 0;  // largest context with every layer on the GPU; 0: the weights do not fit
  int64_t max_ctx = 0;           // largest context that fits at all with this placement rule
  double tg_tok_s = 0;           // predicted generation speed at the start of a conversation
  double tg_tok_s_full_ctx = 0;  // ... with the context full (KV cache reads included)
  double pp_tok_s = 0;           // predicted prompt processing speed (one n_batch prompt)
  ModelCost model;
};

// A request for this machine as probed: the GPU best_gpu() picks (none: CPU only) and the RAM available
// now. Memory planning needs no measurement; with `measure` the speeds use this machine's measured memory
// bandwidth and matmul throughput (about a second), otherwise estimates.
PlanRequest local_request(const HardwareInfo& hw, bool measure, int n_threads = 0);

// Plans a model on the request's devices. Never throws for "does not fit": that is Plan::fits.
Plan plan(const ModelCost& m, const PlanRequest& req);
Plan plan(const gguf::File& f, const PlanRequest& req);

// Parts of the plan, exposed for tests and for `fit`'s explanations.
uint64_t kv_bytes_per_layer(const model::HParams& hp, int64_t n_tokens, CacheType t);
uint64_t compute_buffer_bytes(const model::HParams& hp, int64_t n_ctx, int64_t n_batch);
uint64_t logits_buffer_bytes(const model::HParams& hp, int n_outputs);
// Tokens + BPE merges in a model's header.
uint64_t vocab_entries(const gguf::File& f);
// System RAM the process takes beyond weights, KV cache and buffers: code, heap, the tokenizer's tables.
uint64_t cpu_overhead_bytes(const ModelCost& m);

}  // namespace hearth::runtime
