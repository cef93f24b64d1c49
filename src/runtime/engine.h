#pragma once
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "runtime/loaded_model.h"
#include "sample/json_constraint.h"
#include "sample/sampler.h"

namespace hearth::runtime {

// The log-probability of one generated token and of the most likely alternatives at its position
// (sample/logprobs.h: the model's distribution, before sampling transforms). Token texts are the
// token's bytes (special tokens shown), possibly a partial UTF-8 sequence.
struct TokenLogprob {
  struct Alt {
    std::string text;
    float logprob = 0;
  };
  std::string text;
  float logprob = 0;
  std::vector<Alt> top;  // best first
};

// What a request's generation reports, in order: text pieces, then one Done (or Error). A Text event
// carries the log-probabilities of the tokens whose text it completes (when the job asked for them);
// it may then have empty text (a token that printed nothing, or held back at the end).
struct Event {
  enum class Kind { Text, Done, Error } kind = Kind::Text;
  std::string text;
  GenerateResult result;
  std::vector<TokenLogprob> logprobs;
};

// The channel between an HTTP thread and the engine thread for one request. Only plain values cross.
class Stream {
 public:
  void push(Event e);
  // Waits up to `timeout` for the next event; false on timeout.
  bool pop(Event& e, std::chrono::milliseconds timeout);
  void cancel() { cancelled_.store(true); }
  bool cancelled() const { return cancelled_.load(); }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Event> q_;
  std::atomic<bool> cancelled_{false};
};

struct Job {
  std::vector<int32_t> prompt;
  sample::SamplerParams sampling;
  GenerateOptions opt;
  std::shared_ptr<Stream> out;
  int logprobs = -1;  // -1: none; else report each token's logprob and this many alternatives (<= 20)
  // JSON mode: the output is constrained to a valid JSON text of these limits; generation stops as soon
  // as the top-level value is closed (FinishReason::Stop; Length when max_tokens or the context forced
  // it closed early: near the end of the budget only tokens that leave room to close it are allowed).
  std::optional<sample::JsonLimits> json;
};

struct EngineStats {
  uint64_t requests = 0, prompt_tokens = 0, generated_tokens = 0;
  double busy_seconds = 0;
};

// One loaded model and the thread that runs it: continuous batching of every active sequence's decode
// step into one forward pass, prompts processed in chunks between decode steps, and prompt-prefix reuse
// (a request whose prompt extends a previous one reuses that sequence's KV cache).
class Engine {
 public:
  Engine(std::unique_ptr<LoadedModel> lm, size_t max_queue);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Queues a job; false when the queue is full (the caller answers 503).
  bool submit(Job job);
  const LoadedModel& model() const { return *lm_; }
  int n_parallel() const { return static_cast<int>(slots_.size()); }
  size_t queued() const;
  int active() const { return active_.load(); }
  EngineStats stats() const;

 private:
  struct Slot;
  void loop();
  void admit();
  void step();
  void finish(Slot& s, FinishReason why);
  void fail_slot(Slot& s, const std::string& message);
  // Samples the slot's next token (under its JSON constraint, if any); -1 when the constraint admits
  // no token at all.
  int32_t pick(Slot& s, const float* logits, int32_t n_vocab);

  std::unique_ptr<LoadedModel> lm_;
  size_t max_queue_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> queue_;
  std::vector<std::unique_ptr<Slot>> slots_;
  std::atomic<int> active_{0};
  std::atomic<bool> stop_{false};
  EngineStats stats_;
  // JSON mode: the first byte of each token's text (256: prints nothing), built on first use, so most
  // tokens a JSON state cannot take are rejected with one lookup (engine thread only).
  std::vector<uint16_t> first_byte_;
  std::thread thread_;
};

}  // namespace hearth::runtime
