#include "model/model.h"

#include <cmath>

#include "base/log.h"
#include "model/arch.h"

namespace hearth::model {

namespace {

int64_t positive(const gguf::File& f, const std::string& key, int64_t lo, int64_t hi) {
  const int64_t v = f.get_int(key);
  if (v < lo || v > hi) fail("{}: {} = {} is out of range ({} .. {})", f.path(), key, v, lo, hi);
  return v;
}

}  // namespace

HParams read_hparams(const gguf::File& f) {
  HParams hp;
  hp.arch = f.get_string("general.architecture");
  const ArchInfo* arch = find_arch(hp.arch);
  if (!arch) {
    std::string known;
    for (auto* a : all_archs()) known += (known.empty() ? "" : ", ") + std::string(a->name);
    fail("{}: architecture '{}' is not supported yet (supported: {})", f.path(), hp.arch, known);
  }
  const std::string a = hp.arch + ".";
  hp.n_embd = positive(f, a + "embedding_length", 1, 1 << 17);
  hp.n_layer = positive(f, a + "block_count", 1, 4096);
  hp.n_ff = positive(f, a + "feed_forward_length", 1, 1 << 20);
  hp.n_head = positive(f, a + "attention.head_count", 1, 4096);
  hp.n_head_kv =
      f.has(a + "attention.head_count_kv") ? positive(f, a + "attention.head_count_kv", 1, 4096) : hp.n_head;
  if (hp.n_head % hp.n_head_kv != 0)
    fail("{}: head_count {} is not a multiple of head_count_kv {}", f.path(), hp.n_head, hp.n_head_kv);
  hp.n_ctx_train = f.get_int(a + "context_length", 4096);
  if (hp.n_ctx_train <= 0) hp.n_ctx_train = 4096;
  hp.head_dim = f.has(a + "attention.key_length") ? positive(f, a + "attention.key_length", 1, 4096)
                                                  : hp.n_embd / hp.n_head;
  if (f.has(a + "attention.value_length") && f.get_int(a + "attention.value_length") != hp.head_dim)
    fail("{}: attention.value_length differs from key_length (not supported)", f.path());
  if (hp.head_dim % 2 != 0) fail("{}: head dimension {} is odd", f.path(), hp.head_dim);
  hp.norm_eps = static_cast<float>(f.get_float(a + "attention.layer_norm_rms_epsilon", 1e-5));
  if (!(hp.norm_eps > 0 && hp.norm_eps < 1))
    fail("{}: layer_norm_rms_epsilon {} is invalid", f.path(), hp.norm_eps);

  auto& r = hp.rope;
  r.style = arch->rope_style;
  r.n_rot = static_cast<int>(f.get_int(a + "rope.dimension_count", hp.head_dim));
  if (r.n_rot <= 0 || r.n_rot > hp.head_dim || r.n_rot % 2)
    fail("{}: rope.dimension_count {} is invalid", f.path(), r.n_rot);
  r.freq_base = static_cast<float>(f.get_float(a + "rope.freq_base", 10000.0));
  if (!(r.freq_base > 1.0f) || !std::isfinite(r.freq_base))
    fail("{}: rope.freq_base {} is invalid", f.path(), r.freq_base);
  hp.rope_scaling = f.get_string(a + "rope.scaling.type", "none");
  float factor = static_cast<float>(f.get_float(a + "rope.scaling.factor", 0.0));
  if (factor == 0.0f && f.has(a + "rope.scale_linear")) {
    factor = static_cast<float>(f.get_float(a + "rope.scale_linear"));
    if (hp.rope_scaling == "none") hp.rope_scaling = "linear";
  }
  if (hp.rope_scaling != "none" && hp.rope_scaling != "linear" && hp.rope_scaling != "yarn")
    log::warn("{}: unknown rope.scaling.type '{}', ignoring it", f.path(), hp.rope_scaling);
  if ((hp.rope_scaling == "linear" || hp.rope_scaling == "yarn") && factor > 0.0f) {
    if (!(factor >= 1.0f && factor < 1e4f)) fail("{}: rope.scaling.factor {} is invalid", f.path(), factor);
    hp.rope_scaling_factor = factor;
    r.freq_scale = 1.0f / factor;
  }
  r.n_ctx_orig = static_cast<int>(f.get_int(a + "rope.scaling.original_context_length", hp.n_ctx_train));
  if (hp.rope_scaling == "yarn" && r.freq_scale != 1.0f) {
    r.ext_factor = 1.0f;
    r.attn_factor = static_cast<float>(f.get_float(a + "rope.scaling.attn_factor", 1.0));
    r.beta_fast = static_cast<float>(f.get_float(a + "rope.scaling.yarn_beta_fast", 32.0));
    r.beta_slow = static_cast<float>(f.get_float(a + "rope.scaling.yarn_beta_slow", 1.0));
  }

  if (const auto* t = f.find_tensor("token_embd.weight"))
    hp.n_vocab = t->ne[1];
  else
    fail("{}: tensor 'token_embd.weight' is missing", f.path());
  return hp;
}

std::vector<TensorSpec> tensor_specs(const HParams& hp) {
  const ArchInfo* arch = find_arch(hp.arch);
  std::vector<TensorSpec> s;
  auto mat = [&](std::string n, int64_t cols, int64_t rows, bool opt = false) {
    s.push_back({std::move(n), {cols, rows}, opt, false});
  };
  auto vec = [&](std::string n, int64_t len, bool opt = false) {
    s.push_back({std::move(n), {len}, opt, true});
  };
  mat("token_embd.weight", hp.n_embd, hp.n_vocab);
  vec("output_norm.weight", hp.n_embd);
  mat("output.weight", hp.n_embd, hp.n_vocab, true);  // absent: tied to token_embd
  vec("rope_freqs.weight", hp.rope.n_rot / 2, true);
  for (int64_t l = 0; l < hp.n_layer; ++l) {
    const std::string b = "blk." + std::to_string(l) + ".";
    vec(b + "attn_norm.weight", hp.n_embd);
    mat(b + "attn_q.weight", hp.n_embd, hp.q_dim());
    mat(b + "attn_k.weight", hp.n_embd, hp.kv_dim());
    mat(b + "attn_v.weight", hp.n_embd, hp.kv_dim());
    mat(b + "attn_output.weight", hp.q_dim(), hp.n_embd);
    if (arch && arch->attn_bias) {
      vec(b + "attn_q.bias", hp.q_dim());
      vec(b + "attn_k.bias", hp.kv_dim());
      vec(b + "attn_v.bias", hp.kv_dim());
    }
    if (arch && arch->qk_norm) {
      vec(b + "attn_q_norm.weight", hp.head_dim);
      vec(b + "attn_k_norm.weight", hp.head_dim);
    }
    vec(b + "ffn_norm.weight", hp.n_embd);
    mat(b + "ffn_gate.weight", hp.n_embd, hp.n_ff);
    mat(b + "ffn_up.weight", hp.n_embd, hp.n_ff);
    mat(b + "ffn_down.weight", hp.n_ff, hp.n_embd);
  }
  return s;
}

std::unique_ptr<Model> Model::load(const std::string& path) { return from_file(gguf::File::open(path)); }

std::unique_ptr<Model> Model::from_file(std::unique_ptr<gguf::File> f) {
  if (!f->has_data()) fail("{}: the model's tensor data is missing (incomplete download?)", f->path());
  std::unique_ptr<Model> m(new Model());
  m->hp_ = read_hparams(*f);
  m->arch_ = find_arch(m->hp_.arch);
  m->file_ = std::move(f);
  m->bind();
  return m;
}

const float* Model::vector_weight(const std::string& name, int64_t n, bool optional) {
  const auto* t = file_->find_tensor(name);
  if (!t) {
    if (optional) return nullptr;
    fail("{}: tensor '{}' is missing", file_->path(), name);
  }
  if (t->n_elements() != n)
    fail("{}: tensor '{}' has shape {}, expected [{}]", file_->path(), name, t->shape_string(), n);
  const auto& ti = tensor::type_info(t->type);
  if (!ti.supported) fail("{}: tensor '{}' has unsupported type {}", file_->path(), name, ti.name);
  if (t->type == tensor::Type::F32 && reinterpret_cast<uintptr_t>(t->data) % alignof(float) == 0)
    return reinterpret_cast<const float*>(t->data);
  owned_.emplace_back(n);
  tensor::dequantize_row(t->type, t->data, owned_.back().data(), n);
  return owned_.back().data();
}

backend::WeightView Model::matrix_weight(const std::string& name, int64_t cols, int64_t rows, bool optional) {
  const auto* t = file_->find_tensor(name);
  if (!t) {
    if (optional) return {};
    fail("{}: tensor '{}' is missing", file_->path(), name);
  }
  if (t->ne[0] != cols || t->ne[1] != rows || t->ne[2] != 1 || t->ne[3] != 1)
    fail("{}: tensor '{}' has shape {}, expected [{}, {}]", file_->path(), name, t->shape_string(), cols,
         rows);
  const auto& ti = tensor::type_info(t->type);
  if (!ti.supported)
    fail("{}: tensor '{}' has type {}, which hearth cannot compute with yet", file_->path(), name, ti.name);
  backend::WeightView w;
  w.type = t->type;
  w.cols = cols;
  w.rows = rows;
  w.data = t->data;
  w.row_bytes = tensor::row_size(t->type, cols);
  return w;
}

void Model::bind() {
  const auto& hp = hp_;
  tok_embd = matrix_weight("token_embd.weight", hp.n_embd, hp.n_vocab, false);
  output_norm = vector_weight("output_norm.weight", hp.n_embd, false);
  output = matrix_weight("output.weight", hp.n_embd, hp.n_vocab, true);
  if (!output) output = tok_embd;
  rope_freqs = vector_weight("rope_freqs.weight", hp.rope.n_rot / 2, true);
  hp_.rope.freq_factors = rope_freqs;
  layers.resize(hp.n_layer);
  for (int64_t l = 0; l < hp.n_layer; ++l) {
    auto& L = layers[l];
    const std::string b = "blk." + std::to_string(l) + ".";
    L.attn_norm = vector_weight(b + "attn_norm.weight", hp.n_embd, false);
    L.wq = matrix_weight(b + "attn_q.weight", hp.n_embd, hp.q_dim(), false);
    L.wk = matrix_weight(b + "attn_k.weight", hp.n_embd, hp.kv_dim(), false);
    L.wv = matrix_weight(b + "attn_v.weight", hp.n_embd, hp.kv_dim(), false);
    L.wo = matrix_weight(b + "attn_output.weight", hp.q_dim(), hp.n_embd, false);
    L.bq = vector_weight(b + "attn_q.bias", hp.q_dim(), !arch_->attn_bias);
    L.bk = vector_weight(b + "attn_k.bias", hp.kv_dim(), !arch_->attn_bias);
    L.bv = vector_weight(b + "attn_v.bias", hp.kv_dim(), !arch_->attn_bias);
    L.q_norm = vector_weight(b + "attn_q_norm.weight", hp.head_dim, !arch_->qk_norm);
    L.k_norm = vector_weight(b + "attn_k_norm.weight", hp.head_dim, !arch_->qk_norm);
    L.ffn_norm = vector_weight(b + "ffn_norm.weight", hp.n_embd, false);
    L.gate = matrix_weight(b + "ffn_gate.weight", hp.n_embd, hp.n_ff, false);
    L.up = matrix_weight(b + "ffn_up.weight", hp.n_embd, hp.n_ff, false);
    L.down = matrix_weight(b + "ffn_down.weight", hp.n_ff, hp.n_embd, false);
  }
}

void Model::prepare(backend::Backend& be) const {
  // The pages of a repacked weight are released as it is packed. A tied output matrix is also the
  // embedding table: its rows are then read back from the file (page cache) one token at a time.
  const auto release = [this](const uint8_t* p, uint64_t n) { file_->release(p, n); };
  for (const auto& L : layers)
    for (const auto* w : {&L.wq, &L.wk, &L.wv, &L.wo, &L.gate, &L.up, &L.down})
      if (*w) be.prepare(*w, release);
  if (output) be.prepare(output, release);
}

uint64_t Model::weight_bytes() const {
  uint64_t s = 0;
  for (auto& t : file_->tensors()) s += t.nbytes;
  return s;
}

uint64_t Model::n_params() const {
  uint64_t s = 0;
  for (auto& t : file_->tensors()) s += static_cast<uint64_t>(t.n_elements());
  return s;
}

}  // namespace hearth::model
