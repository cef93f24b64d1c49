#pragma once
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "runtime/loaded_model.h"
#include "sample/sampler.h"

namespace hearth::runtime {

// What a request's generation reports, in order: text pieces, then one Done (or Error).
struct Event {
  enum class Kind { Text, Done, Error } kind = Kind::Text;
  std::string text;
  GenerateResult result;
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

  std::unique_ptr<LoadedModel> lm_;
  size_t max_queue_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> queue_;
  std::vector<std::unique_ptr<Slot>> slots_;
  std::atomic<int> active_{0};
  std::atomic<bool> stop_{false};
  EngineStats stats_;
  std::thread thread_;
};

}  // namespace hearth::runtime
