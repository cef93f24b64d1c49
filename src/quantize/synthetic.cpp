#include "quantize/synthetic.h"

#include <filesystem>
#include <random>

#include "base/error.h"
#include "base/log.h"
#include "gguf/gguf.h"
#include "model/model.h"
#include "quantize/policy.h"
#include "tensor/types.h"

namespace hearth::quantize {

namespace {

struct Shape {
  const char* name;
  const char* arch;
  int64_t n_embd, n_layer, n_head, n_head_kv, n_ff, n_vocab;
  float rope_base;
  bool tied;
};

constexpr Shape kShapes[] = {
    {"tiny", "llama", 256, 4, 8, 4, 512, 2048, 10000.0f, false},
    {"llama-1b", "llama", 2048, 16, 32, 8, 8192, 128256, 500000.0f, true},
    {"llama-3b", "llama", 3072, 28, 24, 8, 8192, 128256, 500000.0f, true},
    {"llama-8b", "llama", 4096, 32, 32, 8, 14336, 128256, 500000.0f, false},
    {"qwen2-0.5b", "qwen2", 896, 24, 14, 2, 4864, 151936, 1000000.0f, true},
};

}  // namespace

std::string synthetic_model(const std::string& spec, const std::string& dir) {
  const auto colon = spec.find(':');
  const std::string shape_name = spec.substr(0, colon);
  const std::string mix = colon == std::string::npos ? "Q4_K_M" : spec.substr(colon + 1);
  const Shape* sh = nullptr;
  for (const auto& s : kShapes)
    if (shape_name == s.name) sh = &s;
  if (!sh) {
    std::string names;
    for (const auto& s : kShapes) names += std::string(names.empty() ? "" : ", ") + s.name;
    fail("unknown synthetic model '{}' (known: {})", shape_name, names);
  }
  const auto policy = Policy::for_mix(mix);  // validates the mix name
  std::filesystem::create_directories(dir);
  const std::string path = fmt::format("{}/synthetic-{}-{}.gguf", dir, sh->name, policy.name());
  if (std::filesystem::exists(path)) return path;
  log::info("writing synthetic model {}", path);

  gguf::Writer w;
  const std::string a = std::string(sh->arch) + ".";
  w.set("general.architecture", gguf::Value::str(sh->arch));
  w.set("general.name", gguf::Value::str(std::string("synthetic ") + sh->name));
  w.set("general.file_type", gguf::Value::u32(policy.file_type()));
  w.set(a + "context_length", gguf::Value::u32(8192));
  w.set(a + "embedding_length", gguf::Value::u32(static_cast<uint32_t>(sh->n_embd)));
  w.set(a + "block_count", gguf::Value::u32(static_cast<uint32_t>(sh->n_layer)));
  w.set(a + "feed_forward_length", gguf::Value::u32(static_cast<uint32_t>(sh->n_ff)));
  w.set(a + "attention.head_count", gguf::Value::u32(static_cast<uint32_t>(sh->n_head)));
  w.set(a + "attention.head_count_kv", gguf::Value::u32(static_cast<uint32_t>(sh->n_head_kv)));
  w.set(a + "attention.layer_norm_rms_epsilon", gguf::Value::f32(1e-5f));
  w.set(a + "rope.freq_base", gguf::Value::f32(sh->rope_base));

  model::HParams hp;
  hp.arch = sh->arch;
  hp.n_embd = sh->n_embd;
  hp.n_layer = sh->n_layer;
  hp.n_ff = sh->n_ff;
  hp.n_head = sh->n_head;
  hp.n_head_kv = sh->n_head_kv;
  hp.head_dim = sh->n_embd / sh->n_head;
  hp.n_vocab = sh->n_vocab;
  hp.rope.n_rot = static_cast<int>(hp.head_dim);
  struct Planned {
    model::TensorSpec spec;
    tensor::Type type;
  };
  std::vector<Planned> plan;
  for (auto& ts : model::tensor_specs(hp)) {
    if (ts.optional && !(ts.name == "output.weight" && !sh->tied)) continue;
    TensorContext tc;
    tc.name = ts.name;
    tc.n_layer = hp.n_layer;
    tc.has_output = !sh->tied;
    tc.n_gqa = hp.n_head / hp.n_head_kv;
    tc.arch = sh->arch;
    const tensor::Type t = ts.is_vector ? tensor::Type::F32 : policy.type_for(tc, ts.shape[0]);
    w.add_tensor(ts.name, t, ts.shape);
    plan.push_back({ts, t});
  }

  // A pool of random rows per (type, row length), quantized once and cycled.
  std::mt19937 rng(1234);
  std::normal_distribution<float> nd(0.0f, 0.02f);
  w.begin(path);
  try {
    for (auto& p : plan) {
      const int64_t cols = p.spec.shape[0];
      const int64_t rows = p.spec.shape.size() > 1 ? p.spec.shape[1] : 1;
      if (p.spec.is_vector) {
        std::vector<float> v(cols, 1.0f);
        w.write_data(v.data(), v.size() * sizeof(float));
        continue;
      }
      constexpr int kPool = 64;
      const uint64_t rb = tensor::row_size(p.type, cols);
      std::vector<uint8_t> pool(rb * kPool);
      std::vector<float> src(cols);
      for (int r = 0; r < kPool; ++r) {
        for (auto& x : src) x = nd(rng);
        tensor::quantize_row(p.type, src.data(), pool.data() + r * rb, cols);
      }
      for (int64_t r = 0; r < rows; ++r) w.write_data(pool.data() + (r % kPool) * rb, rb);
    }
    w.finish();
  } catch (...) {
    w.abort();
    throw;
  }
  return path;
}

}  // namespace hearth::quantize
