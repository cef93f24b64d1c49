#pragma once
#include <cstdint>
#include <utility>
#include <vector>

#include "backend/backend.h"
#include "model/model.h"

namespace hearth::model {

// Tokens to run in one forward pass: each with its position, its sequence and whether its logits are
// wanted. Several sequences may share a batch (continuous batching).
struct Batch {
  std::vector<int32_t> tokens, pos, seq;
  std::vector<uint8_t> logits;
  // The first n_generated tokens are sampled tokens fed back (one per generating sequence): they run
  // through the one-row kernels, every other token through the batched ones, whatever the batch holds,
  // so a sequence's results do not depend on the other sequences batched with it.
  int64_t n_generated = 0;
  void add(int32_t token, int32_t position, int32_t sequence, bool want_logits) {
    tokens.push_back(token);
    pos.push_back(position);
    seq.push_back(sequence);
    logits.push_back(want_logits ? 1 : 0);
  }
  void clear() {
    tokens.clear();
    pos.clear();
    seq.clear();
    logits.clear();
    n_generated = 0;
  }
  int64_t size() const { return static_cast<int64_t>(tokens.size()); }
};

struct ContextParams {
  int64_t n_ctx = 4096;  // tokens per sequence
  int n_seq = 1;          // parallel sequences
  int64_t n_batch = 512;  // tokens per forward chunk
};

// A model's working state: the F16 KV cache of every sequence and the activation buffers.
class Context {
 public:
  Context(const Model& m, backend::Backend& be, const ContextParams& p);

  // Run the batch (split into chunks of n_batch). Returns the logits of the tokens marked in
  // b.logits, in batch order: n_outputs() rows of n_vocab floats, valid until the next call.
  const float* forward(const Batch& b);
  int64_t n_outputs() const { return n_out_; }

  int64_t n_ctx() const { return params_.n_ctx; }
  int n_seq() const { return params_.n_seq; }
  // Number of positions cached for a sequence; forget positions >= p0.
  int32_t seq_len(int seq) const { return seq_len_.at(seq); }
  void seq_truncate(int seq, int32_t p0);
  uint64_t kv_bytes() const;
  uint64_t buffer_bytes() const;
  // Bytes of the activation buffers a context allocates for chunks of n_batch tokens (the planner's
  // figure for the CPU; buffer_bytes() adds the logits actually held).
  static uint64_t activation_bytes(const HParams& hp, int64_t n_batch);

  // For architecture block functions.
  const Model& model;
  backend::Backend& be;
  struct Buffers {
    std::vector<float> x, xn, q, k, v, attn, gate, up;
    std::vector<int64_t> cells, cell_begin, n_cells;
    std::vector<int32_t> pos;
  } buf;
  backend::KvLayer kv_layer(int layer);
  // Tokens of the current chunk that use the one-row kernels (Batch::n_generated, clipped to the chunk).
  int64_t n_rowwise = 0;

 private:
  // Each float activation buffer and its width per batch row.
  static std::vector<std::pair<std::vector<float> Buffers::*, int64_t>> buffer_widths(const HParams& hp);
  void run_chunk(const Batch& b, int64_t begin, int64_t end);
  ContextParams params_;
  std::vector<uint16_t> kv_k_, kv_v_;
  std::vector<int32_t> seq_len_;
  std::vector<float> logits_, out_rows_;
  int64_t n_out_ = 0;
};

// The shared Llama-family transformer block (Llama, Mistral, Qwen2, Qwen3): used when an
// architecture has no block of its own.
void llama_block(Context& ctx, int layer, int64_t n_tokens);

}  // namespace hearth::model
