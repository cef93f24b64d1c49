// sample: log-probabilities of the model's distribution for API responses (OpenAI / Ollama `logprobs`).
// They are the log-softmax of the raw logits, before logit bias, penalties, temperature and the filters
// of the chain (what OpenAI and llama.cpp's server report), so they describe the model, not the sampler.
#pragma once
#include <cstdint>
#include <utility>
#include <vector>

namespace hearth::sample {

struct TokenLogprobs {
  float chosen = 0;                            // log p(chosen); -inf if its logit is -inf or NaN
  std::vector<std::pair<int32_t, float>> top;  // the n_top most likely tokens, best first (ties: lower id)
};

// n_top is clamped to [0, n_vocab]. NaN logits count as -inf, +inf as the largest float. O(n_vocab).
TokenLogprobs logprobs_of(const float* logits, int32_t n_vocab, int32_t chosen, int n_top);

}  // namespace hearth::sample
