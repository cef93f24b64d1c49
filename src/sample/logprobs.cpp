// sample: log-softmax of raw logits and the most likely tokens (see logprobs.h).
#include "sample/logprobs.h"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <limits>

#include "base/error.h"

namespace hearth::sample {

namespace {

inline float clean(float x) {
  if (x != x) return -std::numeric_limits<float>::infinity();
  return x > FLT_MAX ? FLT_MAX : x;
}

}  // namespace

TokenLogprobs logprobs_of(const float* logits, int32_t n_vocab, int32_t chosen, int n_top) {
  if (n_vocab <= 0) fail("logprobs: vocabulary size must be positive, got {}", n_vocab);
  if (chosen < 0 || chosen >= n_vocab) fail("logprobs: token {} is out of range", chosen);
  const size_t n = static_cast<size_t>(n_vocab);
  const size_t k = static_cast<size_t>(std::clamp(n_top, 0, n_vocab));
  constexpr float kNegInf = -std::numeric_limits<float>::infinity();
  float max = kNegInf;
  for (size_t i = 0; i < n; ++i) max = std::max(max, clean(logits[i]));
  TokenLogprobs out;
  if (max == kNegInf) {  // nothing is possible: report -inf everywhere
    out.chosen = kNegInf;
    for (size_t i = 0; i < k; ++i) out.top.emplace_back(static_cast<int32_t>(i), kNegInf);
    return out;
  }
  double sum = 0;
  for (size_t i = 0; i < n; ++i) sum += std::exp(static_cast<double>(clean(logits[i])) - max);
  const double lse = max + std::log(sum);
  out.chosen = static_cast<float>(clean(logits[chosen]) - lse);
  if (k == 0) return out;
  // The best k so far, sorted best first; a new entry enters when it beats the worst.
  auto ahead = [](const std::pair<int32_t, float>& a, const std::pair<int32_t, float>& b) {
    return a.second > b.second || (a.second == b.second && a.first < b.first);
  };
  out.top.reserve(k + 1);
  for (size_t i = 0; i < n; ++i) {
    const std::pair<int32_t, float> e{static_cast<int32_t>(i), clean(logits[i])};
    if (out.top.size() == k && !ahead(e, out.top.back())) continue;
    out.top.insert(std::upper_bound(out.top.begin(), out.top.end(), e, ahead), e);
    if (out.top.size() > k) out.top.pop_back();
  }
  for (auto& [id, l] : out.top) l = static_cast<float>(l - lse);
  return out;
}

}  // namespace hearth::sample
