// Shared by `run` (cmd_run.cpp) and the interactive chat (chat_repl.cpp).
#pragma once
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtime/loaded_model.h"
#include "runtime/prompt.h"

namespace hearth::cli {

struct RunOptions {
  std::string model;
  std::optional<std::string> prompt;
  std::optional<std::string> system;
  int32_t n_predict = -1;
  int threads = 0;
  int64_t ctx = 0;
  std::optional<float> temp, top_p, min_p, typical_p, repeat_penalty, presence_penalty, frequency_penalty;
  std::optional<int32_t> top_k, repeat_last_n;
  std::optional<uint64_t> seed;
  std::vector<std::string> stop;
  bool raw = false;
  bool verbose = false;
  bool ignore_eos = false;
};

// Sampler parameters: the model's defaults overridden by the command line.
sample::SamplerParams sampling_from(const runtime::LoadedModel& lm, const RunOptions& o);

// Messages -> prompt tokens: runtime::chat_prompt_tokens (runtime/prompt.h).
using runtime::chat_prompt_tokens;

// The interactive chat of `hearth run MODEL` on a terminal (chat_repl.cpp).
int run_interactive(runtime::LoadedModel& lm, const RunOptions& o);

}  // namespace hearth::cli
