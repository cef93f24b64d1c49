// backend: the ops an architecture's forward pass calls (matmul, norm, rope, attention, ...) behind
// one interface. cpu/ implements it with kernels/; a GPU backend comes later. Knows nothing of GGUF
// files or model architectures: it sees weights as typed row-major matrices and activations as floats.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>

#include "tensor/types.h"

namespace hearth::backend {

// A weight matrix: `rows` rows (output features) of `cols` elements (input features) of `type`.
struct WeightView {
  tensor::Type type = tensor::Type::F32;
  int64_t cols = 0;
  int64_t rows = 0;
  const uint8_t* data = nullptr;
  uint64_t row_bytes = 0;
  explicit operator bool() const { return data != nullptr; }
};

enum class RopeStyle { Normal, NeoX };  // Normal: pairs (2i, 2i+1); NeoX: pairs (i, i + n_rot/2)

struct RopeParams {
  RopeStyle style = RopeStyle::Normal;
  int n_rot = 0;  // rotated dimensions per head (<= head_dim)
  float freq_base = 10000.0f;
  float freq_scale = 1.0f;   // 1/factor for linear and YaRN scaling
  float ext_factor = 0.0f;   // YaRN extrapolation mix (0: off)
  float attn_factor = 1.0f;  // YaRN magnitude scale
  float beta_fast = 32.0f, beta_slow = 1.0f;
  int n_ctx_orig = 0;                   // training context (YaRN)
  const float* freq_factors = nullptr;  // n_rot/2 divisors of each frequency (Llama 3 scaling), or null
};

// The KV cache of one layer: F16 K and V values of `kv_dim` (= heads x head_dim) per cell. Cells come in
// blocks of `block` (one sequence's cells), and within a block each head's rows are contiguous
// ([head][cell][head_dim]), so attention over one head streams its keys and values sequentially.
struct KvLayer {
  uint16_t* k = nullptr;
  uint16_t* v = nullptr;
  int64_t kv_dim = 0;
  int64_t head_dim = 0;
  int64_t block = 0;
  // Element offset of head `head` of cell `cell` in k and v; the next cell of the block follows at
  // + head_dim.
  int64_t offset(int64_t cell, int64_t head) const {
    return cell / block * block * kv_dim + head * block * head_dim + cell % block * head_dim;
  }
};

// Attention of a batch of query rows against cache cells. Token t attends to cells
// [cell_begin[t], cell_begin[t] + n_cells[t]) (its sequence's cells up to its own position).
struct AttnBatch {
  int n_tokens = 0;
  int n_head = 0, n_head_kv = 0, head_dim = 0;
  float scale = 1.0f;
  const int64_t* cell_begin = nullptr;
  const int64_t* n_cells = nullptr;
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual const char* name() const = 0;
  virtual int n_threads() const = 0;

  // out[i] = row ids[i] of w as floats; out is n x w.cols.
  virtual void get_rows(const WeightView& w, const int32_t* ids, int n, float* out) = 0;
  // y = x / rms(x) * w for n rows of dim (w may be null). x and y may alias.
  virtual void rms_norm(const float* x, const float* w, float* y, int64_t n_rows, int64_t dim, float eps) = 0;
  // y[n x w.rows] = x[n x w.cols] * w^T (+ bias[w.rows]). The first `n_rowwise` rows of x go through the
  // one-row (matrix-vector) kernel, the others through the batched (tiled) kernel: a row's arithmetic
  // depends on its role, never on what else is in the batch, so batching does not change results.
  // -1: a single row uses the one-row kernel, several rows the batched one.
  virtual void matmul(const WeightView& w, const float* x, int64_t n, float* y, const float* bias = nullptr,
                      int64_t n_rowwise = -1) = 0;
  // Readies a weight for repeated matmuls: the CPU backend repacks the types its kernels read faster
  // interleaved (kernels.h pack_group) into memory of its own, handing each range of w.data it has
  // copied to `release` as it goes (so the caller can let those pages go at once, and memory peaks at
  // one slice over the final size). True when it repacked: matmul no longer reads w.data. Call before
  // the weight's first matmul, never concurrently with matmuls; the backend must not outlive the
  // weights it prepared (its copies are found by w.data).
  using ReleaseFn = std::function<void(const uint8_t* p, uint64_t n)>;
  virtual bool prepare(const WeightView& w, const ReleaseFn& release) {
    (void)w;
    (void)release;
    return false;
  }
  // Bytes of weights this backend holds in its own layouts (prepare).
  virtual uint64_t prepared_bytes() const { return 0; }
  // Rotate n_tokens rows of n_heads heads of head_dim (row stride n_heads*head_dim) in place.
  virtual void rope(float* x, int64_t n_tokens, int n_heads, int head_dim, const int32_t* pos,
                    const RopeParams& p) = 0;
  // Store n_tokens rows of k and v (each kv_dim floats) into cache cells cells[t].
  virtual void kv_store(const KvLayer& kv, const float* k, const float* v, int64_t n_tokens,
                        const int64_t* cells) = 0;
  // out[t] = softmax(q[t] k^T * scale) v, per head with grouped-query mapping.
  virtual void attention(const KvLayer& kv, const AttnBatch& b, const float* q, float* out) = 0;
  // gate = silu(gate) * up, n elements.
  virtual void swiglu(float* gate, const float* up, int64_t n) = 0;
  // y += x, n elements.
  virtual void add(float* y, const float* x, int64_t n) = 0;

  // Trace hook: when set, the forward pass reports named intermediates (for debugging numerics).
  std::function<void(const char* name, int layer, const float* data, int64_t n)> trace;
};

// The CPU backend with n_threads pool threads (0: physical cores).
std::unique_ptr<Backend> make_cpu_backend(int n_threads);

}  // namespace hearth::backend
