#include "quantize/synthetic.h"

#include <filesystem>
#include <random>
#include <set>

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

// A SentencePiece-style vocabulary of n_vocab pieces, so that a synthetic model runs end to end (run,
// serve, chat): control tokens, the 256 byte-fallback pieces, ChatML markers, printable characters with
// and without the word-start mark, then made-up words (deterministic, unique) with decreasing scores.
void add_synthetic_vocab(gguf::Writer& w, int64_t n_vocab) {
  std::vector<std::string> toks;
  std::vector<float> scores;
  std::vector<int32_t> types;
  std::set<std::string> seen;
  auto add = [&](std::string piece, int32_t type) {
    if (static_cast<int64_t>(toks.size()) >= n_vocab || !seen.insert(piece).second) return;
    scores.push_back(type == 1 ? -static_cast<float>(toks.size()) : 0.0f);
    toks.push_back(std::move(piece));
    types.push_back(type);
  };
  add("<unk>", 2);
  add("<s>", 3);
  add("</s>", 3);
  for (int b = 0; b < 256; ++b) add(fmt::format("<0x{:02X}>", b), 6);
  add("<|im_start|>", 3);
  add("<|im_end|>", 3);
  const std::string mark = "\xe2\x96\x81";  // U+2581, SentencePiece's word-start mark
  for (char c = ' ' + 1; c < 127; ++c) {
    add(std::string(1, c), 1);
    add(mark + c, 1);
  }
  std::mt19937 rng(42);
  const std::string letters = "etaoinshrdlcumwfgypbvkjxqz";
  std::geometric_distribution<int> len(0.3);
  std::uniform_int_distribution<int> pick(0, 25);
  while (static_cast<int64_t>(toks.size()) < n_vocab) {
    std::string word = rng() % 2 ? mark : "";
    const int n = 2 + std::min(len(rng), 10);
    for (int i = 0; i < n; ++i) word += letters[std::min(pick(rng), pick(rng))];  // skewed to frequent letters
    add(word, 1);
  }
  w.set("tokenizer.ggml.model", gguf::Value::str("llama"));
  w.set("tokenizer.ggml.tokens", gguf::Value::str_array(std::move(toks)));
  w.set("tokenizer.ggml.scores", gguf::Value::f32_array(std::move(scores)));
  w.set("tokenizer.ggml.token_type", gguf::Value::i32_array(std::move(types)));
  w.set("tokenizer.ggml.unknown_token_id", gguf::Value::u32(0));
  w.set("tokenizer.ggml.bos_token_id", gguf::Value::u32(1));
  w.set("tokenizer.ggml.eos_token_id", gguf::Value::u32(2));
  w.set("tokenizer.ggml.eot_token_id", gguf::Value::u32(260));  // <|im_end|>
  w.set("tokenizer.chat_template",
        gguf::Value::str("{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n"
                         "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"));
}

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
  add_synthetic_vocab(w, sh->n_vocab);

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
