// The per-tensor choices of the standard GGUF quantization mixes (the rules the reference quantizer
// is known for, restricted to the mixes hearth writes).
#include "quantize/policy.h"

#include <cctype>
#include <cstdlib>

#include "base/error.h"

namespace hearth::quantize {

namespace {

using tensor::Type;

struct Mix {
  const char* name;
  uint32_t file_type;
  Type base;
};

constexpr Mix kMixes[] = {
    {"F32", 0, Type::F32},        {"F16", 1, Type::F16},      {"BF16", 32, Type::BF16},
    {"Q4_0", 2, Type::Q4_0},      {"Q4_1", 3, Type::Q4_1},    {"Q8_0", 7, Type::Q8_0},
    {"Q5_0", 8, Type::Q5_0},      {"Q5_1", 9, Type::Q5_1},    {"Q2_K", 10, Type::Q2_K},
    {"Q3_K_S", 11, Type::Q3_K},   {"Q3_K_M", 12, Type::Q3_K}, {"Q3_K_L", 13, Type::Q3_K},
    {"Q4_K_S", 14, Type::Q4_K},   {"Q4_K_M", 15, Type::Q4_K}, {"Q5_K_S", 16, Type::Q5_K},
    {"Q5_K_M", 17, Type::Q5_K},   {"Q6_K", 18, Type::Q6_K},   {"IQ4_NL", 25, Type::IQ4_NL},
    {"IQ4_XS", 30, Type::IQ4_XS},
};

// Layers that get more bits in the _M mixes: the first and last eighth, and every third in between.
bool use_more_bits(int64_t i, int64_t n) { return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2; }

// Layer number of "blk.N...." (-1 for other names or absurd numbers).
int64_t layer_of(const std::string& name) {
  if (name.rfind("blk.", 0) != 0) return -1;
  int64_t v = 0;
  size_t i = 4;
  for (; i < name.size() && std::isdigit(static_cast<unsigned char>(name[i])) && i < 14; ++i)
    v = v * 10 + (name[i] - '0');
  return i == 4 ? -1 : v;
}

bool contains(const std::string& s, const char* x) { return s.find(x) != std::string::npos; }

}  // namespace

Type fallback_type(Type t, int64_t ncols) {
  const auto& ti = tensor::type_info(t);
  if (ncols % ti.block_size == 0) return t;
  Type f;
  switch (t) {
    case Type::Q2_K:
    case Type::Q3_K:
    case Type::IQ4_XS:
      f = Type::IQ4_NL;
      break;
    case Type::Q4_K:
      f = Type::Q5_0;
      break;
    case Type::Q5_K:
      f = Type::Q5_1;
      break;
    case Type::Q6_K:
      f = Type::Q8_0;
      break;
    default:
      f = Type::F16;
      break;
  }
  if (ncols % tensor::type_info(f).block_size != 0) f = Type::F16;
  return f;
}

bool is_quantizable(const std::string& name, int n_dims) {
  if (n_dims < 2 || !name.ends_with("weight")) return false;
  static const char* const kKeep[] = {
      "_norm.weight",
      "ffn_gate_inp.weight",
      "altup",
      "laurel",
      "per_layer_model_proj",
      "ssm_conv1d.weight",
      "shortconv.conv.weight",
      "time_mix_first.weight",
      "time_mix_w0.weight",
      "time_mix_w1.weight",
      "time_mix_w2.weight",
      "time_mix_v0.weight",
      "time_mix_v1.weight",
      "time_mix_v2.weight",
      "time_mix_a0.weight",
      "time_mix_a1.weight",
      "time_mix_a2.weight",
      "time_mix_g1.weight",
      "time_mix_g2.weight",
      "time_mix_decay_w1.weight",
      "time_mix_decay_w2.weight",
      "time_mix_lerp_fused.weight",
      "attn_rel_b.weight",
      ".position_embd.",
  };
  for (const char* k : kKeep)
    if (contains(name, k)) return false;
  return name != "position_embd.weight" && name != "token_types.weight";
}

std::vector<std::string> Policy::mix_names() {
  std::vector<std::string> v;
  for (const auto& m : kMixes) v.emplace_back(m.name);
  return v;
}

Policy Policy::for_mix(const std::string& mix) {
  std::string up;
  for (char c : mix) up += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (up == "Q4_K") up = "Q4_K_M";
  if (up == "Q5_K") up = "Q5_K_M";
  if (up == "Q3_K") up = "Q3_K_M";
  for (const auto& m : kMixes) {
    if (up == m.name) {
      Policy p;
      p.name_ = m.name;
      p.file_type_ = m.file_type;
      p.base_ = m.base;
      return p;
    }
  }
  std::string names;
  for (const auto& m : kMixes) names += std::string(names.empty() ? "" : ", ") + m.name;
  fail("unknown quantization type '{}' (known: {})", mix, names);
}

tensor::Type Policy::type_for(const TensorContext& t, int64_t ncols, bool* fell_back) const {
  if (fell_back) *fell_back = false;
  Type type = base_;
  if (!tensor::type_info(base_).quantized) return type;
  const std::string& n = t.name;
  const std::string& m = name_;
  const bool falcon = t.arch == "falcon";
  const bool moe8 = t.n_expert == 8;
  const int64_t NL = t.n_layer, L = layer_of(n);
  const bool is_output = n == "output.weight" || (!t.has_output && n == "token_embd.weight");
  if (is_output) {
    if (falcon || ncols % tensor::type_info(base_).block_size != 0)
      type = Type::Q8_0;
    else if (base_ != Type::Q8_0)
      type = Type::Q6_K;
  } else if (n == "token_embd.weight" || n == "per_layer_token_embd.weight") {
    // The mixes hearth writes keep their base type for the token embeddings.
  } else if (contains(n, "attn_v.weight")) {
    const int64_t i = t.i_attention_wv >= 0 ? t.i_attention_wv : L;
    const int64_t nv = t.n_attention_wv > 0 ? t.n_attention_wv : NL;
    if (m == "Q2_K")
      type = t.n_gqa >= 4 ? Type::Q4_K : Type::Q3_K;
    else if (m == "Q3_K_M")
      type = i < 2 ? Type::Q5_K : Type::Q4_K;
    else if (m == "Q3_K_L")
      type = Type::Q5_K;
    else if ((m == "IQ4_NL" || m == "IQ4_XS") && t.n_gqa >= 4)
      type = Type::Q5_K;
    else if ((m == "Q4_K_M" || m == "Q5_K_M") && use_more_bits(i, nv))
      type = Type::Q6_K;
    else if (m == "Q4_K_S" && i < 4)
      type = Type::Q5_K;
    // 70B-class models (80 layers, grouped-query attention): attn_v is 8x smaller than attn_q, so more
    // bits cost little.
    if (NL == 80 && t.n_gqa > 1 && (type == Type::Q3_K || type == Type::Q4_K)) type = Type::Q5_K;
    if (moe8) type = Type::Q8_0;
  } else if (contains(n, "attn_k.weight")) {
    if (moe8) type = Type::Q8_0;
  } else if (contains(n, "ffn_down")) {
    const int64_t i = L;
    if (m == "Q2_K")
      type = Type::Q3_K;
    else if (m == "Q3_K_M")
      type = i < NL / 16 ? Type::Q5_K : (!falcon || use_more_bits(i, NL)) ? Type::Q4_K : Type::Q3_K;
    else if (m == "Q3_K_L")
      type = falcon ? Type::Q4_K : Type::Q5_K;
    else if (m == "Q4_K_M") {
      if (falcon)
        type = i < NL / 16 ? Type::Q6_K : use_more_bits(i, NL) ? Type::Q5_K : Type::Q4_K;
      else if (use_more_bits(i, NL))
        type = Type::Q6_K;
    } else if (i < NL / 8 && (m == "IQ4_NL" || m == "IQ4_XS") && !t.has_imatrix)
      type = Type::Q5_K;
    else if (m == "Q5_K_M" && use_more_bits(i, NL))
      type = Type::Q6_K;
    else if (m == "Q4_K_S" && !falcon && i < NL / 8)
      type = Type::Q5_K;
    // With an importance matrix the first ffn_down layers of Q4_0 / Q5_0 can go wrong: use _1.
    else if ((m == "Q4_0" || m == "Q5_0") && t.has_imatrix && i < NL / 8)
      type = m == "Q4_0" ? Type::Q4_1 : Type::Q5_1;
  } else if (contains(n, "attn_output.weight")) {
    if (falcon) {
      if (m == "Q3_K_L") type = Type::Q4_K;
    } else if (moe8) {
      if (m == "Q2_K" || m == "Q3_K_S" || m == "Q3_K_M" || m == "IQ4_NL" || m == "Q4_K_S" || m == "Q4_K_M" ||
          m == "IQ4_XS")
        type = Type::Q5_K;
    } else {
      if (m == "Q2_K")
        type = Type::Q3_K;
      else if (m == "Q3_K_M")
        type = Type::Q4_K;
      else if (m == "Q3_K_L")
        type = Type::Q5_K;
    }
  } else if (contains(n, "attn_qkv.weight")) {
    if (m == "Q3_K_M" || m == "Q3_K_L")
      type = Type::Q4_K;
    else if (m == "Q4_K_M")
      type = Type::Q5_K;
    else if (m == "Q5_K_M")
      type = Type::Q6_K;
  }
  const Type f = fallback_type(type, ncols);
  if (fell_back) *fell_back = f != type;
  return f;
}

}  // namespace hearth::quantize
