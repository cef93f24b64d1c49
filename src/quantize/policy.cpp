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
    {"F32", 0, Type::F32},       {"F16", 1, Type::F16},       {"BF16", 32, Type::BF16},
    {"Q4_0", 2, Type::Q4_0},     {"Q4_1", 3, Type::Q4_1},     {"Q8_0", 7, Type::Q8_0},
    {"Q5_0", 8, Type::Q5_0},     {"Q5_1", 9, Type::Q5_1},     {"Q2_K", 10, Type::Q2_K},
    {"Q3_K_S", 11, Type::Q3_K},  {"Q3_K_M", 12, Type::Q3_K},  {"Q3_K_L", 13, Type::Q3_K},
    {"Q4_K_S", 14, Type::Q4_K},  {"Q4_K_M", 15, Type::Q4_K},  {"Q5_K_S", 16, Type::Q5_K},
    {"Q5_K_M", 17, Type::Q5_K},  {"Q6_K", 18, Type::Q6_K},    {"IQ4_NL", 25, Type::IQ4_NL},
    {"IQ4_XS", 30, Type::IQ4_XS},
};

// Layers that get more bits in the _M mixes: the first and last eighth, and every third in between.
bool use_more_bits(int64_t i, int64_t n) { return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2; }

int64_t layer_of(const std::string& name) {
  if (name.rfind("blk.", 0) != 0) return -1;
  return std::atoll(name.c_str() + 4);
}

bool ends_with(const std::string& s, const char* suffix) {
  const std::string x(suffix);
  return s.size() >= x.size() && s.compare(s.size() - x.size(), x.size(), x) == 0;
}

// When a row does not divide into 256-element super-blocks, the k-quants fall back to 32-blocks.
Type fallback(Type t, int64_t ncols) {
  const auto& ti = tensor::type_info(t);
  if (ncols % ti.block_size == 0) return t;
  Type f;
  switch (t) {
    case Type::Q2_K: case Type::Q3_K: case Type::IQ4_XS: f = Type::IQ4_NL; break;
    case Type::Q4_K: f = Type::Q5_0; break;
    case Type::Q5_K: f = Type::Q5_1; break;
    case Type::Q6_K: f = Type::Q8_0; break;
    default: f = Type::F16; break;
  }
  if (ncols % tensor::type_info(f).block_size != 0) f = Type::F16;
  return f;
}

}  // namespace

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

tensor::Type Policy::type_for(const TensorContext& t, int64_t ncols) const {
  Type type = base_;
  if (!tensor::type_info(base_).quantized) return fallback(type, ncols);
  const std::string& n = t.name;
  const int64_t L = layer_of(n), NL = t.n_layer;
  const bool is_output = n == "output.weight" || (!t.has_output && n == "token_embd.weight");
  if (is_output) {
    if (base_ != Type::Q8_0) type = Type::Q6_K;
  } else if (ends_with(n, "attn_v.weight")) {
    if (name_ == "Q2_K") type = Type::Q3_K;
    else if (name_ == "Q3_K_M") type = L < 2 ? Type::Q5_K : Type::Q4_K;
    else if (name_ == "Q3_K_L") type = Type::Q5_K;
    else if ((name_ == "Q4_K_M" || name_ == "Q5_K_M") && use_more_bits(L, NL)) type = Type::Q6_K;
    else if (name_ == "Q4_K_S" && L < 4) type = Type::Q5_K;
  } else if (ends_with(n, "ffn_down.weight")) {
    if (name_ == "Q2_K") type = Type::Q3_K;
    else if (name_ == "Q3_K_M") type = L < NL / 16 ? Type::Q5_K : Type::Q4_K;
    else if (name_ == "Q3_K_L") type = Type::Q5_K;
    else if ((name_ == "Q4_K_M" || name_ == "Q5_K_M") && use_more_bits(L, NL)) type = Type::Q6_K;
    else if (name_ == "Q4_K_S" && L < NL / 8) type = Type::Q5_K;
  } else if (ends_with(n, "attn_output.weight")) {
    if (name_ == "Q2_K") type = Type::Q3_K;
    else if (name_ == "Q3_K_M") type = Type::Q4_K;
    else if (name_ == "Q3_K_L") type = Type::Q5_K;
  }
  return fallback(type, ncols);
}

}  // namespace hearth::quantize
