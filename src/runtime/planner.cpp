#include "runtime/planner.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>

#include "base/error.h"
#include "model/context.h"
#include "runtime/hw.h"

namespace hearth::runtime {

namespace {

// System RAM beyond the model's buffers: the process (code, libraries, heap, thread stacks), plus the
// mapped header and the tokenizer's tables per vocabulary entry. Calibrated with `hearth run --verbose`
// (tests/e2e/memory_test.sh): about 14 MiB for a model with a tiny vocabulary, about 170-210 bytes per
// token or merge (the Llama 3 vocabulary: 128256 tokens + 280147 merges take ~75 MiB).
constexpr uint64_t kCpuBaseOverheadBytes = 16ull << 20;
constexpr uint64_t kBytesPerVocabEntry = 200;
constexpr int64_t kMaxContext = int64_t{1} << 24;

std::string gib(uint64_t b) { return fmt::format("{:.1f} GiB", static_cast<double>(b) / double(1ull << 30)); }

// "blk.12.attn_q.weight" -> 12; -1 for other names.
int64_t block_index(const std::string& name) {
  if (name.rfind("blk.", 0) != 0) return -1;
  int64_t v = 0;
  size_t i = 4;
  if (i >= name.size() || !std::isdigit(static_cast<unsigned char>(name[i]))) return -1;
  for (; i < name.size() && std::isdigit(static_cast<unsigned char>(name[i])); ++i) {
    v = v * 10 + (name[i] - '0');
    if (v > (1 << 20)) return -1;
  }
  return i < name.size() && name[i] == '.' ? v : -1;
}

bool is_matrix(const gguf::TensorInfo& t) { return t.n_dims >= 2 && t.ne[1] > 1; }

// The memory each device needs with k layers on the GPU, at a context of ctx tokens per sequence.
struct Needs {
  DeviceUse gpu, cpu;
};

class Planner {
 public:
  Planner(const ModelCost& m, const PlanRequest& r) : m_(m), r_(r), hp_(m.hp) {}

  int64_t n_layer() const { return hp_.n_layer; }
  int64_t batch(int64_t ctx) const { return std::max<int64_t>(1, std::min(r_.n_batch, ctx * r_.n_seq)); }

  Needs needs(int k, int64_t ctx) const {
    Needs n;
    const int64_t L = n_layer();
    const uint64_t kv_layer = kv_bytes_per_layer(hp_, ctx * r_.n_seq, r_.cache_type);
    const uint64_t compute = compute_buffer_bytes(hp_, ctx, batch(ctx));
    uint64_t gpu_w = 0, cpu_w = 0;
    for (int64_t l = 0; l < L; ++l) (l >= L - k ? gpu_w : cpu_w) += m_.layer_bytes[l];
    // Token embeddings stay in system RAM; the output goes to the GPU with the last layer.
    cpu_w += m_.embd_bytes + m_.other_bytes;
    if (k >= 1) {
      gpu_w += m_.output_bytes;
    } else {
      // A tied output on the CPU reads token_embd in place: only its norm is extra.
      cpu_w += m_.tied_output ? m_.output_bytes - std::min(m_.output_bytes, m_.embd_bytes) : m_.output_bytes;
    }
    n.gpu.weights = gpu_w;
    n.cpu.weights = cpu_w;
    n.gpu.kv_cache = kv_layer * static_cast<uint64_t>(k);
    n.cpu.kv_cache = kv_layer * static_cast<uint64_t>(L - k);
    if (k >= 1) {
      n.gpu.compute = compute;
      n.gpu.overhead = r_.gpu ? r_.gpu->overhead_bytes : 0;
    }
    // The CPU always holds the input embeddings of a batch and the logits.
    // The CPU backend keeps no n_ctx x n_batch score matrix (attention streams over the cache).
    n.cpu.compute = logits_buffer_bytes(hp_, r_.n_seq) +
                    (k < L ? model::Context::activation_bytes(hp_, batch(ctx))
                           : static_cast<uint64_t>(batch(ctx) * hp_.n_embd) * sizeof(float));
    n.cpu.overhead = cpu_overhead_bytes(m_);
    return n;
  }

  uint64_t gpu_capacity() const { return r_.gpu ? r_.gpu->memory : 0; }
  uint64_t cpu_capacity(const Needs& n) const {
    if (r_.gpu && r_.gpu->unified) return r_.cpu.memory > n.gpu.total() ? r_.cpu.memory - n.gpu.total() : 0;
    return r_.cpu.memory;
  }
  bool gpu_ok(const Needs& n) const { return n.gpu.total() <= gpu_capacity(); }
  bool cpu_ok(const Needs& n) const { return n.cpu.total() <= cpu_capacity(n); }

  // The most layers the GPU holds at this context (needs grow with k: binary search).
  int auto_layers(int64_t ctx) const {
    if (!r_.gpu) return 0;
    int lo = 0, hi = static_cast<int>(n_layer());
    while (lo < hi) {
      const int mid = (lo + hi + 1) / 2;
      if (gpu_ok(needs(mid, ctx)))
        lo = mid;
      else
        hi = mid - 1;
    }
    return lo;
  }

  int layers_at(int64_t ctx) const {
    if (r_.gpu_layers < 0) return auto_layers(ctx);
    return r_.gpu ? static_cast<int>(std::min<int64_t>(r_.gpu_layers, n_layer())) : 0;
  }

  // Largest ctx in [1, limit] for which pred(ctx) holds (pred is monotone: true up to some point); 0: none.
  template <class Pred>
  static int64_t largest(int64_t limit, Pred pred) {
    if (limit < 1 || !pred(1)) return 0;
    int64_t lo = 1, hi = limit;
    while (lo < hi) {
      const int64_t mid = lo + (hi - lo + 1) / 2;
      if (pred(mid))
        lo = mid;
      else
        hi = mid - 1;
    }
    return lo;
  }

  // Seconds per generated token at `depth` cached tokens.
  double tg_seconds(int k, int64_t depth) const {
    const int64_t L = n_layer();
    const uint64_t kv_read = kv_bytes_per_layer(hp_, depth, r_.cache_type);
    double t = 0;
    uint64_t gpu_b = 0, cpu_b = 0;
    for (int64_t l = 0; l < L; ++l) (l >= L - k ? gpu_b : cpu_b) += m_.layer_bytes[l];
    (k >= 1 ? gpu_b : cpu_b) += m_.output_bytes;
    cpu_b += static_cast<uint64_t>(embedding_row_bytes());
    if (k >= 1) {
      const auto& g = *r_.gpu;
      t += static_cast<double>(gpu_b + kv_read * k) / (g.bandwidth * g.bandwidth_efficiency) +
           k * g.layer_overhead_s;
    }
    const auto& c = r_.cpu;
    t += static_cast<double>(cpu_b + kv_read * (L - k)) / (c.bandwidth * c.bandwidth_efficiency) +
         (L - k + 1) * c.layer_overhead_s;
    return t;
  }

  // Seconds per prompt token for a prompt of one batch (roofline per device: compute or weight reads).
  double pp_seconds(int k, int64_t ctx) const {
    const int64_t L = n_layer();
    const double P = static_cast<double>(batch(ctx));
    const double attn_flops = 4.0 * static_cast<double>(hp_.q_dim()) * (P / 2.0);
    double gpu_f = 0, cpu_f = 0, gpu_b = 0, cpu_b = 0;
    for (int64_t l = 0; l < L; ++l) {
      const double f = 2.0 * static_cast<double>(m_.layer_params[l]) + attn_flops;
      const bool on_gpu = l >= L - k;
      (on_gpu ? gpu_f : cpu_f) += f;
      (on_gpu ? gpu_b : cpu_b) += static_cast<double>(m_.layer_bytes[l]);
    }
    // Logits only for the last token of the prompt.
    const double out_f = 2.0 * static_cast<double>(m_.output_params) / P;
    const double out_b = static_cast<double>(m_.output_bytes);
    (k >= 1 ? gpu_f : cpu_f) += out_f;
    (k >= 1 ? gpu_b : cpu_b) += out_b;
    auto device = [&](const DeviceSpec& d, double flops, double bytes, int64_t layers) {
      const double rate = (m_.quantized ? d.flops_q : d.flops_f16) * d.compute_efficiency;
      const double compute = rate > 0 ? flops / rate : 0;
      const double reads = bytes / P / (d.bandwidth * d.bandwidth_efficiency);
      return std::max(compute, reads) + static_cast<double>(layers) * d.layer_overhead_s / P;
    };
    double t = device(r_.cpu, cpu_f, cpu_b, L - k + 1);
    if (k >= 1) t += device(*r_.gpu, gpu_f, gpu_b, k);
    return t;
  }

 private:
  double embedding_row_bytes() const {
    return hp_.n_vocab > 0 ? static_cast<double>(m_.embd_bytes) / static_cast<double>(hp_.n_vocab) : 0.0;
  }
  const ModelCost& m_;
  const PlanRequest& r_;
  const model::HParams& hp_;
};

void check_device(const DeviceSpec& d, const char* what) {
  if (!(d.bandwidth > 0) || !std::isfinite(d.bandwidth))
    fail("planner: the {} has no memory bandwidth", what);
  if (!(d.bandwidth_efficiency > 0) || !(d.compute_efficiency > 0))
    fail("planner: the {} has an invalid efficiency", what);
}

}  // namespace

double cache_bytes_per_element(CacheType t) {
  switch (t) {
    case CacheType::F16:
      return 2.0;
    case CacheType::Q8_0:
      return 34.0 / 32.0;
    case CacheType::Q4_0:
      return 18.0 / 32.0;
  }
  return 2.0;
}

const char* cache_type_name(CacheType t) {
  switch (t) {
    case CacheType::F16:
      return "f16";
    case CacheType::Q8_0:
      return "q8_0";
    case CacheType::Q4_0:
      return "q4_0";
  }
  return "?";
}

CacheType cache_type_from_name(std::string_view s) {
  std::string l;
  for (char c : s) l += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (l == "f16") return CacheType::F16;
  if (l == "q8_0") return CacheType::Q8_0;
  if (l == "q4_0") return CacheType::Q4_0;
  fail("unknown KV cache type '{}' (f16, q8_0 or q4_0)", s);
}

uint64_t kv_bytes_per_layer(const model::HParams& hp, int64_t n_tokens, CacheType t) {
  // K and V: kv_dim elements each per token.
  const double elems =
      2.0 * static_cast<double>(hp.kv_dim()) * static_cast<double>(std::max<int64_t>(0, n_tokens));
  return static_cast<uint64_t>(std::ceil(elems * cache_bytes_per_element(t)));
}

uint64_t compute_buffer_bytes(const model::HParams& hp, int64_t n_ctx, int64_t n_batch) {
  const int64_t nb = std::max<int64_t>(1, n_batch);
  // Activations of a batch: residual, normed input, Q, K, V, attention output, FFN gate and up.
  const int64_t row = hp.n_embd + std::max(hp.n_embd, hp.q_dim()) + hp.q_dim() + 2 * hp.kv_dim() +
                      std::max(hp.q_dim(), hp.n_embd) + std::max(hp.n_ff, hp.n_embd) + hp.n_ff;
  const uint64_t activations = static_cast<uint64_t>(nb * row) * sizeof(float);
  // Attention scores: n_head x n_ctx floats per batch row.
  const uint64_t scores = static_cast<uint64_t>(hp.n_head) *
                          static_cast<uint64_t>(std::max<int64_t>(1, n_ctx)) * static_cast<uint64_t>(nb) *
                          sizeof(float);
  return activations + scores;
}

uint64_t logits_buffer_bytes(const model::HParams& hp, int n_outputs) {
  return static_cast<uint64_t>(hp.n_vocab) * static_cast<uint64_t>(std::max(1, n_outputs)) * sizeof(float);
}

ModelCost model_cost(const model::HParams& hp, const std::vector<gguf::TensorInfo>& tensors) {
  ModelCost m;
  m.hp = hp;
  m.layer_bytes.assign(hp.n_layer, 0);
  m.layer_params.assign(hp.n_layer, 0);
  uint64_t q_bytes = 0, f_bytes = 0, embd_params = 0, norm_bytes = 0;
  bool has_output = false;
  for (const auto& t : tensors) {
    m.total_bytes += t.nbytes;
    m.n_params += static_cast<uint64_t>(t.n_elements());
    const bool mat = is_matrix(t);
    if (mat) (tensor::type_info(t.type).quantized ? q_bytes : f_bytes) += t.nbytes;
    const int64_t b = block_index(t.name);
    if (b >= 0 && b < hp.n_layer) {
      m.layer_bytes[b] += t.nbytes;
      if (mat) m.layer_params[b] += static_cast<uint64_t>(t.n_elements());
    } else if (t.name == "token_embd.weight") {
      m.embd_bytes += t.nbytes;
      embd_params = static_cast<uint64_t>(t.n_elements());
    } else if (t.name == "output.weight") {
      has_output = true;
      m.output_bytes += t.nbytes;
      m.output_params += static_cast<uint64_t>(t.n_elements());
    } else if (t.name == "output_norm.weight") {
      norm_bytes += t.nbytes;
    } else {
      m.other_bytes += t.nbytes;
    }
  }
  if (!has_output) {
    m.tied_output = true;
    m.output_bytes = m.embd_bytes;
    m.output_params = embd_params;
  }
  m.output_bytes += norm_bytes;
  m.quantized = q_bytes >= f_bytes;
  return m;
}

ModelCost model_cost(const gguf::File& f) {
  ModelCost m = model_cost(model::read_hparams(f), f.tensors());
  m.header_bytes = f.data_offset();
  m.vocab_entries = vocab_entries(f);
  return m;
}

uint64_t vocab_entries(const gguf::File& f) {
  uint64_t n = 0;
  for (const char* key : {"tokenizer.ggml.tokens", "tokenizer.ggml.merges"})
    if (const auto* v = f.find(key); v && v->is_array()) n += v->array_size();
  return n;
}

uint64_t cpu_overhead_bytes(const ModelCost& m) {
  return kCpuBaseOverheadBytes + m.header_bytes + m.vocab_entries * kBytesPerVocabEntry;
}

Plan plan(const ModelCost& m, const PlanRequest& req) {
  const auto& hp = m.hp;
  if (hp.n_layer < 1 || static_cast<int64_t>(m.layer_bytes.size()) != hp.n_layer ||
      static_cast<int64_t>(m.layer_params.size()) != hp.n_layer)
    fail("planner: the model cost does not match its layer count");
  if (req.n_ctx < 0 || req.n_ctx > kMaxContext)
    fail("context {} is out of range (1 .. {})", req.n_ctx, kMaxContext);
  if (req.n_seq < 1 || req.n_seq > 1024) fail("parallel sequences {} out of range (1 .. 1024)", req.n_seq);
  if (req.n_batch < 1 || req.n_batch > 65536) fail("batch size {} out of range (1 .. 65536)", req.n_batch);
  check_device(req.cpu, "CPU");
  if (req.gpu) check_device(*req.gpu, "GPU");

  Plan p;
  p.model = m;
  p.n_layer = hp.n_layer;
  p.n_ctx = req.n_ctx > 0 ? req.n_ctx : std::min<int64_t>(std::max<int64_t>(1, hp.n_ctx_train), kMaxContext);
  p.n_seq = req.n_seq;
  p.cache_type = req.cache_type;
  p.has_gpu = req.gpu.has_value();
  p.cpu_name = req.cpu.name;
  if (req.gpu) p.gpu_name = req.gpu->name;

  const Planner pl(m, req);
  p.n_batch = pl.batch(p.n_ctx);
  const int k = pl.layers_at(p.n_ctx);
  const Needs n = pl.needs(k, p.n_ctx);
  p.gpu_layers = k;
  p.output_on_gpu = k >= 1;
  p.gpu = n.gpu;
  p.cpu = n.cpu;
  p.gpu_capacity = pl.gpu_capacity();
  p.cpu_capacity = pl.cpu_capacity(n);
  const bool gpu_ok = pl.gpu_ok(n), cpu_ok = pl.cpu_ok(n);
  p.fits = gpu_ok && cpu_ok;
  if (!gpu_ok) {
    p.problem =
        fmt::format("{} layers on the GPU need {}, it has {}", k, gib(n.gpu.total()), gib(p.gpu_capacity));
  } else if (!cpu_ok) {
    p.problem = fmt::format("needs {} of system RAM{}, there is {}", gib(n.cpu.total()),
                            k > 0 ? fmt::format(" besides {} on the GPU", gib(n.gpu.total())) : std::string(),
                            gib(p.cpu_capacity));
  }

  const int64_t limit =
      std::max(p.n_ctx, std::min<int64_t>(std::max<int64_t>(1, hp.n_ctx_train), kMaxContext));
  const int L = static_cast<int>(hp.n_layer);
  if (req.gpu)
    p.max_ctx_full_gpu = Planner::largest(limit, [&](int64_t c) { return pl.gpu_ok(pl.needs(L, c)); });
  p.max_ctx = Planner::largest(limit, [&](int64_t c) {
    const Needs nc = pl.needs(pl.layers_at(c), c);
    return pl.gpu_ok(nc) && pl.cpu_ok(nc);
  });

  p.tg_tok_s = 1.0 / pl.tg_seconds(k, 0);
  p.tg_tok_s_full_ctx = 1.0 / pl.tg_seconds(k, p.n_ctx);
  p.pp_tok_s = 1.0 / pl.pp_seconds(k, p.n_ctx);
  return p;
}

Plan plan(const gguf::File& f, const PlanRequest& req) { return plan(model_cost(f), req); }

PlanRequest local_request(const HardwareInfo& hw, bool measure, int n_threads) {
  PlanRequest r;
  if (const GpuInfo* g = best_gpu(hw)) r.gpu = gpu_from_probe(*g);
  double bw = 51.2e9 * kRamPeakToMeasured, flops = 0;  // DDR4-3200 dual channel when not measured
  if (measure) {
    bw = measure_read_bandwidth(n_threads, hw.ram.available > (8ull << 30) ? (1ull << 30) : (256ull << 20));
    flops = measure_cpu_matmul_flops(n_threads);
  }
  r.cpu = cpu_device(hw.cpu, hw.ram.available, bw, flops);
  return r;
}

}  // namespace hearth::runtime
