#pragma once
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "runtime/engine.h"

namespace hearth::runtime {

struct ManagerOptions {
  int n_parallel = 4;          // sequences per model
  int64_t n_ctx = 4096;        // tokens per sequence (capped by the model's training context)
  int n_threads = 0;
  size_t max_queue = 64;       // queued requests per model beyond the parallel ones
  int max_loaded = 3;          // models loaded at once
  uint64_t memory_budget = 0;  // bytes for weights + KV of all loaded models (0: 80% of RAM)
  std::chrono::seconds default_keep_alive{300};
};

struct LoadedInfo {
  std::string name, path;
  uint64_t weight_bytes = 0, kv_bytes = 0;
  int64_t context = 0;                // tokens per sequence (after the memory plan)
  std::vector<std::string> warnings;  // from the load-time memory plan
  std::chrono::system_clock::time_point expires;
  int active = 0;
  size_t queued = 0;
  EngineStats stats;
};

// The models the server has loaded: loaded on first use, kept for keep_alive after their last use,
// the least recently used evicted when a new one needs room.
class ModelManager {
 public:
  // resolve: a model name from a request to (display name, GGUF path); throws hearth::Error if unknown.
  using Resolver = std::function<std::pair<std::string, std::string>(const std::string&)>;
  ModelManager(ManagerOptions opt, Resolver resolve);
  ~ModelManager();

  // The engine for a model, loading it if needed. keep_alive < 0: default; 0: unload after this use.
  std::shared_ptr<Engine> acquire(const std::string& name, std::chrono::seconds keep_alive);
  // Marks the end of a request on that model (starts the keep-alive clock).
  void release(const std::string& name);
  void unload(const std::string& name);
  std::vector<LoadedInfo> loaded() const;
  // Unloads models whose keep-alive ran out (called periodically).
  void reap();
  const ManagerOptions& options() const { return opt_; }

 private:
  struct Entry {
    std::string name, path;
    std::shared_ptr<Engine> engine;
    std::chrono::steady_clock::time_point last_used;
    std::chrono::seconds keep_alive{300};
    int in_use = 0;
    uint64_t bytes = 0;
  };
  ManagerOptions opt_;
  Resolver resolve_;
  mutable std::mutex mu_;
  std::mutex load_mu_;  // one load at a time
  std::map<std::string, Entry> models_;
};

}  // namespace hearth::runtime
