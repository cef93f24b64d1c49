// runtime: a loaded model with its tokenizer, template and defaults; sessions that generate text over
// a model context (prefix reuse, sampling, stop strings); later the scheduler and the memory planner.
// Knows nothing of HTTP or the terminal.
#pragma once
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "chat/chat.h"
#include "model/context.h"
#include "model/model.h"
#include "sample/sampler.h"
#include "tokenizer/tokenizer.h"

namespace hearth::runtime {

struct LoadOptions {
  int n_threads = 0;      // 0: physical cores
  int64_t n_ctx = 0;      // tokens per sequence; 0: 4096
  int n_seq = 1;          // parallel sequences
  int64_t n_batch = 512;  // prompt tokens per forward chunk
  // Bytes of RAM the model may use; 0: what is available now (HEARTH_RAM_LIMIT caps it, e.g. "8GiB").
  uint64_t ram_limit = 0;
};

// A model ready to run: weights (memory-mapped), tokenizer, backend, one context.
class LoadedModel {
 public:
  static std::unique_ptr<LoadedModel> load(const std::string& path, const LoadOptions& opt);

  const model::Model& model() const { return *model_; }
  const tokenizer::Tokenizer& tokenizer() const { return *tok_; }
  backend::Backend& backend() { return *be_; }
  model::Context& context() { return *ctx_; }
  const model::Context& context() const { return *ctx_; }
  const std::string& chat_template() const { return chat_template_; }  // "" when the model has none
  // The template parsed once (ChatML fallback, warned about once, when the model has none).
  const chat::ChatTemplate& chat_template_engine() const;
  // Sampling defaults: the usual ones, overridden by the model's general.sampling.* metadata.
  sample::SamplerParams default_sampling() const;
  // The memory this model uses, by part (for --verbose and `ps`).
  struct Memory {
    uint64_t weights = 0, kv_cache = 0, buffers = 0;
  };
  Memory memory() const;
  // What the load-time memory plan changed or warned about ("context reduced to 2048 tokens to fit in
  // RAM", ...): printed when loading, returned by the server's `ps`.
  const std::vector<std::string>& warnings() const { return warnings_; }

 private:
  LoadedModel() = default;
  static void plan_memory(LoadedModel& lm, const std::string& path, const LoadOptions& opt,
                          model::ContextParams& cp);
  std::unique_ptr<model::Model> model_;
  std::unique_ptr<tokenizer::Tokenizer> tok_;
  std::unique_ptr<backend::Backend> be_;
  std::unique_ptr<model::Context> ctx_;
  std::string chat_template_;
  std::vector<std::string> warnings_;
  mutable std::once_flag template_once_;
  mutable std::unique_ptr<chat::ChatTemplate> template_engine_;
};

struct GenerateOptions {
  int32_t max_tokens = -1;  // -1: until the context is full or end of generation
  std::vector<std::string> stop;
  bool ignore_eos = false;
};

enum class FinishReason { Stop, Length, Cancelled, ContextFull };
const char* finish_reason_name(FinishReason r);

struct GenerateResult {
  FinishReason finish = FinishReason::Stop;
  int32_t prompt_tokens = 0, cached_tokens = 0, generated_tokens = 0;
  double prompt_seconds = 0, generate_seconds = 0;
};

// One conversation on one sequence of a context: keeps the tokens in its KV cache so a prompt that
// extends the previous one only processes the new tokens.
class Session {
 public:
  Session(LoadedModel& lm, int seq = 0);

  // Processes `prompt` (reusing the cached common prefix), then samples up to max_tokens tokens,
  // calling on_text with text as it becomes printable (whole UTF-8 characters, stop strings held
  // back; called once per token, possibly with no text). on_text returns false to cancel. The generated tokens stay cached.
  GenerateResult generate(const std::vector<int32_t>& prompt, sample::Sampler& sampler, const GenerateOptions& opt,
                          const std::function<bool(const std::string&)>& on_text);
  const std::vector<int32_t>& tokens() const { return cached_; }
  void reset();

 private:
  // Evaluate tokens[from..) appending to the cache; returns the logits of the last one.
  // Runs tokens[from..]; `generated`: the one token is a sampled token fed back (Batch::n_generated).
  const float* eval(const std::vector<int32_t>& tokens, size_t from, bool generated = false);
  LoadedModel& lm_;
  int seq_;
  std::vector<int32_t> cached_;
};

}  // namespace hearth::runtime
