#include "model/context.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "base/error.h"
#include "model/arch.h"

namespace hearth::model {

Context::Context(const Model& m, backend::Backend& b, const ContextParams& p) : model(m), be(b), params_(p) {
  const auto& hp = m.hparams();
  if (p.n_ctx < 1 || p.n_seq < 1 || p.n_batch < 1) fail("invalid context parameters");
  uint64_t cells = static_cast<uint64_t>(p.n_ctx) * static_cast<uint64_t>(p.n_seq);
  uint64_t per_layer, total;
  if (mul_overflow(cells, static_cast<uint64_t>(hp.kv_dim()), &per_layer) ||
      mul_overflow(per_layer, static_cast<uint64_t>(hp.n_layer), &total) || total > (1ull << 40))
    fail("context of {} tokens x {} sequences is too large", p.n_ctx, p.n_seq);
  try {
    kv_k_.assign(total, 0);
    kv_v_.assign(total, 0);
  } catch (const std::bad_alloc&) {
    fail("not enough memory for a KV cache of {} tokens ({:.1f} GiB); use a smaller context (-c)", cells,
         2.0 * total * 2 / (1024.0 * 1024 * 1024));
  }
  seq_len_.assign(p.n_seq, 0);
  const int64_t nb = p.n_batch;
  for (const auto& [b, width] : buffer_widths(hp)) (buf.*b).resize(nb * width);
  m.prepare(b);  // the backend's own weight layouts (idempotent per backend)
}

std::vector<std::pair<std::vector<float> Context::Buffers::*, int64_t>> Context::buffer_widths(
    const HParams& hp) {
  using B = Buffers;
  return {{&B::x, hp.n_embd},
          {&B::xn, std::max(hp.n_embd, hp.q_dim())},
          {&B::q, hp.q_dim()},
          {&B::k, hp.kv_dim()},
          {&B::v, hp.kv_dim()},
          {&B::attn, std::max(hp.q_dim(), hp.n_embd)},
          {&B::gate, std::max(hp.n_ff, hp.n_embd)},
          {&B::up, hp.n_ff}};
}

uint64_t Context::activation_bytes(const HParams& hp, int64_t n_batch) {
  uint64_t row = 0;
  for (const auto& bw : buffer_widths(hp)) row += static_cast<uint64_t>(bw.second);
  return row * static_cast<uint64_t>(std::max<int64_t>(1, n_batch)) * sizeof(float);
}

backend::KvLayer Context::kv_layer(int layer) {
  const auto& hp = model.hparams();
  const uint64_t per_layer = static_cast<uint64_t>(params_.n_ctx) * params_.n_seq * hp.kv_dim();
  return backend::KvLayer{kv_k_.data() + layer * per_layer, kv_v_.data() + layer * per_layer, hp.kv_dim(),
                          hp.head_dim, params_.n_ctx};
}

uint64_t Context::kv_bytes() const { return (kv_k_.size() + kv_v_.size()) * sizeof(uint16_t); }

uint64_t Context::buffer_bytes() const {
  return (buf.x.size() + buf.xn.size() + buf.q.size() + buf.k.size() + buf.v.size() + buf.attn.size() +
          buf.gate.size() + buf.up.size() + logits_.capacity() + out_rows_.capacity()) *
         sizeof(float);
}

void Context::seq_truncate(int seq, int32_t p0) {
  if (seq < 0 || seq >= params_.n_seq) fail("sequence {} out of range", seq);
  if (p0 < seq_len_[seq]) seq_len_[seq] = std::max(0, p0);
}

const float* Context::forward(const Batch& b) {
  const auto& hp = model.hparams();
  const int64_t n = b.size();
  if (b.pos.size() != b.tokens.size() || b.seq.size() != b.tokens.size() ||
      b.logits.size() != b.tokens.size())
    fail("malformed batch");
  n_out_ = 0;
  for (int64_t i = 0; i < n; ++i) {
    if (b.tokens[i] < 0 || b.tokens[i] >= hp.n_vocab)
      fail("token id {} is out of range (the vocabulary has {} tokens)", b.tokens[i], hp.n_vocab);
    if (b.seq[i] < 0 || b.seq[i] >= params_.n_seq) fail("sequence id {} is out of range", b.seq[i]);
    if (b.pos[i] < 0 || b.pos[i] >= params_.n_ctx)
      fail("position {} exceeds the context size of {} tokens", b.pos[i], params_.n_ctx);
    n_out_ += b.logits[i] ? 1 : 0;
  }
  if (logits_.size() < static_cast<size_t>(n_out_ * hp.n_vocab)) logits_.resize(n_out_ * hp.n_vocab);
  int64_t out_done = 0;
  for (int64_t s = 0; s < n; s += params_.n_batch) {
    const int64_t e = std::min(n, s + params_.n_batch);
    n_rowwise = std::clamp<int64_t>(b.n_generated - s, 0, e - s);
    run_chunk(b, s, e);
    // Output rows of this chunk.
    int64_t n_rows = 0;
    for (int64_t i = s; i < e; ++i) n_rows += b.logits[i];
    if (n_rows == 0) continue;
    if (out_rows_.size() < static_cast<size_t>(n_rows * hp.n_embd)) out_rows_.resize(n_rows * hp.n_embd);
    int64_t r = 0, out_rowwise = 0;
    for (int64_t i = s; i < s + n_rowwise; ++i) out_rowwise += b.logits[i];
    for (int64_t i = s; i < e; ++i)
      if (b.logits[i])
        std::memcpy(&out_rows_[r++ * hp.n_embd], &buf.x[(i - s) * hp.n_embd], hp.n_embd * sizeof(float));
    be.rms_norm(out_rows_.data(), model.output_norm, out_rows_.data(), n_rows, hp.n_embd, hp.norm_eps);
    be.matmul(model.output, out_rows_.data(), n_rows, logits_.data() + out_done * hp.n_vocab, nullptr,
              out_rowwise);
    out_done += n_rows;
  }
  return logits_.data();
}

void Context::run_chunk(const Batch& b, int64_t begin, int64_t end) {
  const auto& hp = model.hparams();
  const int64_t nt = end - begin;
  buf.cells.resize(nt);
  buf.cell_begin.resize(nt);
  buf.n_cells.resize(nt);
  buf.pos.resize(nt);
  for (int64_t t = 0; t < nt; ++t) {
    const int32_t seq = b.seq[begin + t], pos = b.pos[begin + t];
    if (pos > seq_len_[seq])
      fail("position {} of sequence {} skips ahead of its cached length {}", pos, seq, seq_len_[seq]);
    buf.pos[t] = pos;
    buf.cell_begin[t] = static_cast<int64_t>(seq) * params_.n_ctx;
    buf.cells[t] = buf.cell_begin[t] + pos;
    buf.n_cells[t] = pos + 1;
    seq_len_[seq] = std::max(seq_len_[seq], pos + 1);
  }
  be.get_rows(model.tok_embd, b.tokens.data() + begin, static_cast<int>(nt), buf.x.data());
  if (be.trace) be.trace("embd", -1, buf.x.data(), nt * hp.n_embd);
  const auto& arch = model.arch();
  for (int l = 0; l < hp.n_layer; ++l) {
    if (arch.block)
      arch.block(*this, l, nt);
    else
      llama_block(*this, l, nt);
    if (be.trace) be.trace("layer_out", l, buf.x.data(), nt * hp.n_embd);
  }
}

void llama_block(Context& ctx, int layer, int64_t nt) {
  const auto& hp = ctx.model.hparams();
  const auto& L = ctx.model.layers[layer];
  auto& be = ctx.be;
  auto& B = ctx.buf;
  const int64_t E = hp.n_embd;

  // Attention.
  be.rms_norm(B.x.data(), L.attn_norm, B.xn.data(), nt, E, hp.norm_eps);
  be.matmul(L.wq, B.xn.data(), nt, B.q.data(), L.bq, ctx.n_rowwise);
  be.matmul(L.wk, B.xn.data(), nt, B.k.data(), L.bk, ctx.n_rowwise);
  be.matmul(L.wv, B.xn.data(), nt, B.v.data(), L.bv, ctx.n_rowwise);
  if (L.q_norm) be.rms_norm(B.q.data(), L.q_norm, B.q.data(), nt * hp.n_head, hp.head_dim, hp.norm_eps);
  if (L.k_norm) be.rms_norm(B.k.data(), L.k_norm, B.k.data(), nt * hp.n_head_kv, hp.head_dim, hp.norm_eps);
  be.rope(B.q.data(), nt, static_cast<int>(hp.n_head), static_cast<int>(hp.head_dim), B.pos.data(), hp.rope);
  be.rope(B.k.data(), nt, static_cast<int>(hp.n_head_kv), static_cast<int>(hp.head_dim), B.pos.data(),
          hp.rope);
  const auto kv = ctx.kv_layer(layer);
  be.kv_store(kv, B.k.data(), B.v.data(), nt, B.cells.data());
  backend::AttnBatch ab;
  ab.n_tokens = static_cast<int>(nt);
  ab.n_head = static_cast<int>(hp.n_head);
  ab.n_head_kv = static_cast<int>(hp.n_head_kv);
  ab.head_dim = static_cast<int>(hp.head_dim);
  ab.scale = 1.0f / std::sqrt(static_cast<float>(hp.head_dim));
  ab.cell_begin = B.cell_begin.data();
  ab.n_cells = B.n_cells.data();
  be.attention(kv, ab, B.q.data(), B.attn.data());
  be.matmul(L.wo, B.attn.data(), nt, B.xn.data(), nullptr, ctx.n_rowwise);
  be.add(B.x.data(), B.xn.data(), nt * E);
  if (be.trace) be.trace("attn_out", layer, B.xn.data(), nt * E);

  // Feed-forward (SwiGLU).
  be.rms_norm(B.x.data(), L.ffn_norm, B.xn.data(), nt, E, hp.norm_eps);
  be.matmul(L.gate, B.xn.data(), nt, B.gate.data(), nullptr, ctx.n_rowwise);
  be.matmul(L.up, B.xn.data(), nt, B.up.data(), nullptr, ctx.n_rowwise);
  be.swiglu(B.gate.data(), B.up.data(), nt * hp.n_ff);
  be.matmul(L.down, B.gate.data(), nt, B.attn.data(), nullptr, ctx.n_rowwise);
  be.add(B.x.data(), B.attn.data(), nt * E);
}

}  // namespace hearth::model
