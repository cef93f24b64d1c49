// `hearth serve`: the OpenAI- and Ollama-compatible HTTP server.
#include <cstdlib>

#include "base/error.h"
#include "base/log.h"
#include "cli/command.h"
#include "server/server.h"

namespace hearth::cli {
namespace {

struct Opts {
  server::ServeOptions s;
  std::string listen;
  int keep_alive_s = 300;
  std::vector<std::string> cors;
  bool verbose = false;
};

int run(Opts o) {
  if (o.verbose) log::set_level(log::Level::info);
  if (!o.listen.empty()) {
    const auto c = o.listen.rfind(':');
    if (c == std::string::npos) fail("--listen must be HOST:PORT");
    o.s.host = o.listen.substr(0, c);
    o.s.port = std::atoi(o.listen.c_str() + c + 1);
  } else if (const char* h = std::getenv("HEARTH_HOST"); h && *h) {
    const std::string hs(h);
    const auto c = hs.rfind(':');
    o.s.host = c == std::string::npos ? hs : hs.substr(0, c);
    if (c != std::string::npos) o.s.port = std::atoi(hs.c_str() + c + 1);
  }
  if (o.s.port <= 0 || o.s.port > 65535) fail("invalid port {}", o.s.port);
  if (o.s.api_key.empty())
    if (const char* k = std::getenv("HEARTH_API_KEY"); k && *k) o.s.api_key = k;
  o.s.keep_alive = std::chrono::seconds(o.keep_alive_s);
  o.s.cors_origins = o.cors;
  return server::serve(o.s);
}

HEARTH_COMMAND(20, [](CLI::App& app) {
  auto o = std::make_shared<Opts>();
  auto* c = app.add_subcommand("serve", "serve models over HTTP (OpenAI- and Ollama-compatible APIs)");
  c->add_option("--host", o->s.host, "address to bind (default 127.0.0.1; also HEARTH_HOST)");
  c->add_option("--port", o->s.port, "port (default 11434)");
  c->add_option("--listen", o->listen, "HOST:PORT to bind");
  c->add_option("--api-key", o->s.api_key, "require Authorization: Bearer KEY (also HEARTH_API_KEY)");
  c->add_option("--cors", o->cors, "allowed CORS origin (repeatable; * for any)");
  c->add_option("--parallel", o->s.n_parallel, "sequences decoded together per model")->check(CLI::Range(1, 256));
  c->add_option("-c,--ctx", o->s.n_ctx, "context size per sequence in tokens")->check(CLI::Range(16, 1 << 22));
  c->add_option("--max-queue", o->s.max_queue, "queued requests per model before answering 503")->check(CLI::Range(0, 100000));
  c->add_option("--max-loaded", o->s.max_loaded, "models loaded at once")->check(CLI::Range(1, 64));
  c->add_option("--keep-alive", o->keep_alive_s, "seconds a model stays loaded after its last request")->check(CLI::Range(0, 1 << 30));
  c->add_option("-t,--threads", o->s.threads, "threads per model (default: physical cores)")->check(CLI::Range(0, 1024));
  c->add_option("--max-body", o->s.max_body, "request body limit in bytes");
  c->add_flag("-v,--verbose", o->verbose, "log every request");
  return std::function<int()>([o] { return run(*o); });
});

}  // namespace
}  // namespace hearth::cli
