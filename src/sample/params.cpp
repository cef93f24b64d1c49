// sample: sampler parameters: validation and the defaults a model file suggests.
#include <cmath>
#include <limits>

#include "base/error.h"
#include "base/log.h"
#include "sample/sampler.h"

namespace hearth::sample {

namespace {

bool in_unit(double v) { return v >= 0.0 && v <= 1.0; }  // false for NaN

// An integer-valued number within [lo, hi].
bool integral_in(double v, double lo, double hi) { return v >= lo && v <= hi && std::floor(v) == v; }

void ignored(std::string_view key, double v) {
  log::warn("ignoring model metadata {} = {}: out of range", key, v);
}

}  // namespace

void SamplerParams::apply_gguf_defaults(const std::map<std::string, double>& meta) {
  auto find = [&](std::string_view key) -> const double* {
    auto it = meta.find(std::string(key));
    return it == meta.end() ? nullptr : &it->second;
  };
  if (const double* v = find(kGgufTemp)) {
    if (std::isfinite(*v) && std::abs(*v) <= 1e6) {
      temperature = static_cast<float>(*v);
    } else {
      ignored(kGgufTemp, *v);
    }
  }
  if (const double* v = find(kGgufTopK)) {
    if (integral_in(*v, -1, std::numeric_limits<int32_t>::max())) {
      top_k = *v < 0 ? 0 : static_cast<int32_t>(*v);
    } else {
      ignored(kGgufTopK, *v);
    }
  }
  if (const double* v = find(kGgufTopP)) {
    if (in_unit(*v)) {
      top_p = static_cast<float>(*v);
    } else {
      ignored(kGgufTopP, *v);
    }
  }
  if (const double* v = find(kGgufMinP)) {
    if (in_unit(*v)) {
      min_p = static_cast<float>(*v);
    } else {
      ignored(kGgufMinP, *v);
    }
  }
  if (const double* v = find(kGgufPenaltyLastN)) {
    if (integral_in(*v, -1, std::numeric_limits<int32_t>::max())) {
      repeat_last_n = static_cast<int32_t>(*v);
    } else {
      ignored(kGgufPenaltyLastN, *v);
    }
  }
  if (const double* v = find(kGgufPenaltyRepeat)) {
    if (std::isfinite(*v) && *v > 0 && *v <= 1e6) {
      repeat_penalty = static_cast<float>(*v);
    } else {
      ignored(kGgufPenaltyRepeat, *v);
    }
  }
}

SamplerParams SamplerParams::from_gguf_defaults(const std::map<std::string, double>& meta) {
  SamplerParams p;
  p.apply_gguf_defaults(meta);
  return p;
}

void SamplerParams::validate() const {
  if (!std::isfinite(temperature)) fail("temperature must be a finite number, got {}", temperature);
  if (!in_unit(top_p)) fail("top_p must be between 0 and 1, got {}", top_p);
  if (!in_unit(min_p)) fail("min_p must be between 0 and 1, got {}", min_p);
  if (!in_unit(typical_p)) fail("typical_p must be between 0 and 1, got {}", typical_p);
  if (!(std::isfinite(repeat_penalty) && repeat_penalty > 0)) {
    fail("repeat_penalty must be a positive number, got {}", repeat_penalty);
  }
  if (repeat_last_n < -1)
    fail("repeat_last_n must be -1 (whole context), 0 (off) or a window, got {}", repeat_last_n);
  if (!std::isfinite(frequency_penalty))
    fail("frequency_penalty must be a finite number, got {}", frequency_penalty);
  if (!std::isfinite(presence_penalty))
    fail("presence_penalty must be a finite number, got {}", presence_penalty);
  for (const auto& [token, bias] : logit_bias) {
    if (token < 0) fail("logit_bias: token id {} is negative", token);
    if (std::isnan(bias) || bias == std::numeric_limits<float>::infinity()) {
      fail("logit_bias for token {} must be a number or -inf (to ban it), got {}", token, bias);
    }
  }
}

}  // namespace hearth::sample
