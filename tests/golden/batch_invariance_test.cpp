// Batching does not change results: a sequence's logits are bit-identical whether its tokens run alone
// or batched with other sequences' decode steps and prompt chunks (the continuous-batching server's
// promise that a request's greedy output does not depend on the other requests).
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "model/context.h"
#include "model/model.h"

namespace hearth {
namespace {

class BatchInvariance : public ::testing::TestWithParam<std::string> {};

std::vector<int32_t> ids(int n, int salt, int64_t vocab) {
  std::vector<int32_t> v;
  for (int i = 0; i < n; ++i) v.push_back(static_cast<int32_t>((i * 7919 + salt * 104729 + 13) % vocab));
  return v;
}

TEST_P(BatchInvariance, LogitsDoNotDependOnTheBatch) {
  const auto m = model::Model::load(std::string(HEARTH_FIXTURES) + "/models/" + GetParam());
  const int64_t V = m->hparams().n_vocab;
  auto be = backend::make_cpu_backend(2);
  model::ContextParams cp;
  cp.n_ctx = 64;
  cp.n_seq = 3;
  cp.n_batch = 16;
  const auto prompt0 = ids(9, 0, V), prompt1 = ids(5, 1, V), prompt2 = ids(23, 2, V), gen = ids(4, 3, V);

  // Sequence 0 alone: its prompt, then four generated tokens one at a time.
  std::vector<std::vector<float>> alone;
  {
    model::Context ctx(*m, *be, cp);
    model::Batch b;
    for (size_t i = 0; i < prompt0.size(); ++i) b.add(prompt0[i], static_cast<int32_t>(i), 0, i + 1 == prompt0.size());
    const float* l = ctx.forward(b);
    alone.emplace_back(l, l + V);
    for (size_t t = 0; t < gen.size(); ++t) {
      model::Batch d;
      d.add(gen[t], static_cast<int32_t>(prompt0.size() + t), 0, true);
      d.n_generated = 1;
      l = ctx.forward(d);
      alone.emplace_back(l, l + V);
    }
  }

  // The same tokens batched with sequence 1 (prompt, then decoding alongside) and sequence 2, whose long
  // prompt arrives in chunks during the decode steps; chunks of the batch split at n_batch too.
  model::Context ctx(*m, *be, cp);
  model::Batch b;
  for (size_t i = 0; i < prompt1.size(); ++i) b.add(prompt1[i], static_cast<int32_t>(i), 1, i + 1 == prompt1.size());
  for (size_t i = 0; i < prompt0.size(); ++i) b.add(prompt0[i], static_cast<int32_t>(i), 0, i + 1 == prompt0.size());
  const float* l = ctx.forward(b);
  ASSERT_EQ(ctx.n_outputs(), 2);
  EXPECT_EQ(0, std::memcmp(l + V, alone[0].data(), V * sizeof(float))) << "prompt logits";
  size_t p2 = 0;
  for (size_t t = 0; t < gen.size(); ++t) {
    model::Batch d;
    d.add(gen[(t + 1) % gen.size()], static_cast<int32_t>(prompt1.size() + t), 1, true);
    d.add(gen[t], static_cast<int32_t>(prompt0.size() + t), 0, true);
    d.n_generated = 2;
    const size_t take = std::min<size_t>(prompt2.size() - p2, 7 + t * 3);
    for (size_t i = 0; i < take; ++i, ++p2)
      d.add(prompt2[p2], static_cast<int32_t>(p2), 2, p2 + 1 == prompt2.size());
    l = ctx.forward(d);
    EXPECT_EQ(0, std::memcmp(l + V, alone[t + 1].data(), V * sizeof(float))) << "generated token " << t;
  }
}

// Quantized types with tiled batch kernels, and float types.
INSTANTIATE_TEST_SUITE_P(Fixtures, BatchInvariance,
                         ::testing::Values("llama-s-Q8_0.gguf", "llama-s-Q4_0.gguf", "llama-s-Q4_K_M.gguf",
                                           "llama-s-Q6_K.gguf", "llama-s-IQ4_XS.gguf", "llama-s-F16.gguf",
                                           "qwen3-s-Q5_1.gguf", "qwen2-s-Q2_K.gguf"),
                         [](const auto& info) {
                           std::string n = info.param.substr(0, info.param.size() - 5);
                           for (auto& c : n)
                             if (c == '-' || c == '.') c = '_';
                           return n;
                         });

}  // namespace
}  // namespace hearth
