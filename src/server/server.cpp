#include "server/server.h"

#include <signal.h>

#include <algorithm>
#include <thread>

#include "base/error.h"
#include "base/log.h"
#include "server/api.h"

namespace hearth::server {

namespace {

bool is_loopback(const std::string& host) { return host == "127.0.0.1" || host == "localhost" || host == "::1"; }

// The host part of a Host header ("localhost:11434", "[::1]:8080").
std::string host_only(const std::string& h) {
  if (!h.empty() && h[0] == '[') {
    const auto e = h.find(']');
    return e == std::string::npos ? h : h.substr(1, e - 1);
  }
  const auto c = h.find(':');
  return c == std::string::npos ? h : h.substr(0, c);
}

std::string metrics_text(Context& ctx) {
  std::string s;
  auto metric = [&](const char* name, const char* type, const char* help, double v) {
    s += fmt::format("# HELP {} {}\n# TYPE {} {}\n{} {}\n", name, help, name, type, name, v);
  };
  const auto& m = ctx.metrics;
  metric("hearth_requests_total", "counter", "Generation requests received.", static_cast<double>(m.requests.load()));
  metric("hearth_request_errors_total", "counter", "Requests that failed.", static_cast<double>(m.errors.load()));
  metric("hearth_prompt_tokens_total", "counter", "Prompt tokens submitted.", static_cast<double>(m.prompt_tokens.load()));
  metric("hearth_generated_tokens_total", "counter", "Tokens generated.", static_cast<double>(m.generated_tokens.load()));
  const double gs = m.generate_seconds.load();
  metric("hearth_generation_tokens_per_second", "gauge", "Average generation speed per request.",
         gs > 0 ? static_cast<double>(m.generated_tokens.load()) / gs : 0.0);
  const auto loaded = ctx.models->loaded();
  size_t queued = 0;
  int active = 0;
  uint64_t bytes = 0;
  for (auto& l : loaded) {
    queued += l.queued;
    active += l.active;
    bytes += l.weight_bytes + l.kv_bytes;
  }
  metric("hearth_queue_length", "gauge", "Requests waiting for a free sequence.", static_cast<double>(queued));
  metric("hearth_active_sequences", "gauge", "Sequences being generated.", active);
  metric("hearth_loaded_models", "gauge", "Models in memory.", static_cast<double>(loaded.size()));
  metric("hearth_model_memory_bytes", "gauge", "Weights and KV caches of the loaded models.", static_cast<double>(bytes));
  return s;
}

// Threads of the HTTP server (see serve()).
size_t http_threads(const ServeOptions& opt) {
  constexpr size_t kSpare = 32, kMax = 1024;
  const size_t per_model = static_cast<size_t>(std::max(1, opt.n_parallel)) + std::min(opt.max_queue, kMax);
  const size_t n = per_model * static_cast<size_t>(std::max(1, opt.max_loaded)) + kSpare;
  return std::clamp(n, kSpare, kMax);
}

// A Content-Length over `max` (digits only; other values are left to httplib, which answers 400).
bool declared_too_large(const httplib::Request& req, size_t max) {
  if (!req.has_header("Content-Length")) return false;
  const std::string v = req.get_header_value("Content-Length");
  if (v.empty() || v.find_first_not_of("0123456789") != std::string::npos) return false;
  const size_t digits = v.size() - std::min(v.find_first_not_of('0'), v.size());
  return digits > 19 || std::stoull(v) > max;
}

}  // namespace

int serve(const ServeOptions& opt) {
  // Signals are handled by one thread that stops the server; block them everywhere else.
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
  ::signal(SIGPIPE, SIG_IGN);

  Context ctx;
  ctx.opt = opt;
  runtime::ManagerOptions mo;
  mo.n_parallel = opt.n_parallel;
  mo.n_ctx = opt.n_ctx;
  mo.n_threads = opt.threads;
  mo.max_queue = opt.max_queue;
  mo.max_loaded = opt.max_loaded;
  mo.default_keep_alive = opt.keep_alive;
  ctx.models = std::make_unique<runtime::ModelManager>(mo, resolve_request_model);

  httplib::Server svr;
  // One HTTP thread per connection: every sequence of every loaded model streaming, every queued request
  // waiting (so the queue fills up to --max-queue and then answers 503), and room for /health, /metrics
  // and model management beside them. httplib's default is max(8, cores - 1).
  const size_t n_threads = http_threads(opt);
  svr.new_task_queue = [n_threads] { return new httplib::ThreadPool(n_threads); };
  svr.set_payload_max_length(opt.max_body);
  svr.set_read_timeout(60, 0);
  svr.set_write_timeout(60, 0);
  const bool loopback = is_loopback(opt.host);
  svr.set_pre_routing_handler([&](const httplib::Request& req, httplib::Response& res) {
    // DNS-rebinding protection: a loopback server only answers requests addressed to loopback names.
    if (loopback && req.has_header("Host")) {
      const std::string h = host_only(req.get_header_value("Host"));
      if (!is_loopback(h) && h != "0.0.0.0") {
        send_error(res, Api::OpenAI, ApiError{403, fmt::format("host '{}' is not allowed", h), "forbidden"});
        return httplib::Server::HandlerResponse::Handled;
      }
    }
    if (!opt.cors_origins.empty() && req.has_header("Origin")) {
      const std::string origin = req.get_header_value("Origin");
      const bool any = std::find(opt.cors_origins.begin(), opt.cors_origins.end(), "*") != opt.cors_origins.end();
      if (any || std::find(opt.cors_origins.begin(), opt.cors_origins.end(), origin) != opt.cors_origins.end()) {
        res.set_header("Access-Control-Allow-Origin", any ? "*" : origin);
        res.set_header("Access-Control-Allow-Headers", "Authorization, Content-Type");
        res.set_header("Access-Control-Allow-Methods", "GET, POST, DELETE, HEAD, OPTIONS");
        if (!any) res.set_header("Vary", "Origin");
      }
      if (req.method == "OPTIONS") {
        res.status = 204;
        return httplib::Server::HandlerResponse::Handled;
      }
    }
    // A body over the limit is refused from its declared length, before httplib reads (or waits for) it.
    if (declared_too_large(req, opt.max_body)) {
      send_error(res, req.path.rfind("/api/", 0) == 0 ? Api::Ollama : Api::OpenAI,
                 ApiError{413, fmt::format("the request body is larger than {} bytes", opt.max_body)});
      return httplib::Server::HandlerResponse::Handled;
    }
    const bool open_path = req.path == "/" || req.path == "/health";
    if (!opt.api_key.empty() && !open_path) {
      const std::string auth = req.get_header_value("Authorization");
      if (auth != "Bearer " + opt.api_key) {
        send_error(res, req.path.rfind("/api/", 0) == 0 ? Api::Ollama : Api::OpenAI,
                   ApiError{401, "missing or invalid API key (send Authorization: Bearer KEY)", "invalid_api_key"});
        return httplib::Server::HandlerResponse::Handled;
      }
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });
  // A client that asks before sending its body (curl does for large ones) is told at once.
  svr.set_expect_100_continue_handler([&](const httplib::Request& req, httplib::Response& res) {
    if (!declared_too_large(req, opt.max_body)) return 100;
    send_error(res, req.path.rfind("/api/", 0) == 0 ? Api::Ollama : Api::OpenAI,
               ApiError{413, fmt::format("the request body is larger than {} bytes", opt.max_body)});
    return 413;
  });
  svr.set_logger([&](const httplib::Request& req, const httplib::Response& res) {
    if (!opt.quiet) log::info("{} {} -> {}", req.method, req.path, res.status);
  });
  svr.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return;
    const Api api = req.path.rfind("/api/", 0) == 0 ? Api::Ollama : Api::OpenAI;
    std::string msg = res.status == 404   ? fmt::format("no route for {} {}", req.method, req.path)
                      : res.status == 413 ? "the request body is too large"
                                          : fmt::format("HTTP error {}", res.status);
    send_error(res, api, ApiError{res.status, msg, res.status == 404 ? "not_found" : "invalid_request_error"});
  });

  svr.Get("/", [](const httplib::Request&, httplib::Response& res) { res.set_content("hearth is running", "text/plain"); });
  svr.Get("/health", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(R"({"status":"ok"})", "application/json");
  });
  svr.Get("/metrics", [&ctx](const httplib::Request&, httplib::Response& res) {
    res.set_content(metrics_text(ctx), "text/plain; version=0.0.4");
  });
  add_openai_routes(svr, ctx);
  add_ollama_routes(svr, ctx);

  if (!loopback && opt.api_key.empty())
    log::warn("listening on {} without an API key: anyone who can reach this machine can use it (set --api-key)", opt.host);
  if (!svr.bind_to_port(opt.host, opt.port)) fail("cannot listen on {}:{} (in use, or not permitted)", opt.host, opt.port);

  std::atomic<bool> stopping{false};
  std::thread reaper([&] {
    while (!stopping.load()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
      ctx.models->reap();
    }
  });
  std::thread sig([&] {
    int s = 0;
    sigwait(&sigs, &s);
    if (!stopping.load()) log::warn("received signal {}, shutting down", s);
    stopping.store(true);
    svr.stop();
  });
  std::fprintf(stderr, "hearth: listening on http://%s:%d\n", opt.host.c_str(), opt.port);
  svr.listen_after_bind();
  stopping.store(true);
  pthread_kill(sig.native_handle(), SIGTERM);
  sig.join();
  reaper.join();
  ctx.models.reset();
  return 0;
}

}  // namespace hearth::server
