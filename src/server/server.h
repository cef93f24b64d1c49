// server: HTTP routes for the OpenAI and Ollama APIs, streaming (SSE / NDJSON), auth, CORS, metrics.
// Untrusted requests are validated here, at the door; the runtime below sees only plain structs.
#pragma once
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace hearth::server {

struct ServeOptions {
  std::string host = "127.0.0.1";
  int port = 11434;
  std::string api_key;                    // empty: no authentication
  std::vector<std::string> cors_origins;  // empty: CORS off; "*" allows any origin
  int n_parallel = 4;                     // sequences decoded together per model
  int64_t n_ctx = 4096;                   // tokens per sequence
  size_t max_queue = 32;                  // waiting requests per model before 503
  int max_loaded = 3;                     // models loaded at once
  int threads = 0;
  std::chrono::seconds keep_alive{300};
  size_t max_body = 32u << 20;            // request body limit in bytes
  bool quiet = false;
};

// Runs the server until SIGINT/SIGTERM. Returns the exit code.
int serve(const ServeOptions& opt);

}  // namespace hearth::server
