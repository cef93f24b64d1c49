// `hearth ps`: the models a running `hearth serve` has loaded (its /api/ps), like `ollama ps`: name, size,
// context, streams, when it unloads, and the memory plan's warnings (a shortened context, ...).
#include <cstdlib>
#include <ctime>
#include <memory>
#include <nlohmann/json.hpp>

#include "base/error.h"
#include "cli/command.h"
#include "cli/common.h"
#include "store/http.h"

namespace hearth::cli {
namespace {

struct PsArgs {
  std::string host;
  bool json = false;
};

// "HOST", "HOST:PORT" or a URL; default HEARTH_HOST, else 127.0.0.1:11434. A server bound to every
// address (0.0.0.0, ::) is reached on loopback.
std::string base_url(std::string h) {
  if (h.empty()) {
    const char* e = std::getenv("HEARTH_HOST");
    h = e && *e ? e : "127.0.0.1:11434";
  }
  if (h.rfind("http://", 0) == 0 || h.rfind("https://", 0) == 0) {
    while (!h.empty() && h.back() == '/') h.pop_back();
    return h;
  }
  std::string host = h, port = "11434";
  if (const auto c = h.rfind(':'); c != std::string::npos && h.find(']', c) == std::string::npos) {
    host = h.substr(0, c);
    port = h.substr(c + 1);
  }
  if (host.empty() || host == "0.0.0.0") host = "127.0.0.1";
  if (host == "::" || host == "[::]") host = "[::1]";
  if (port.empty() || port.find_first_not_of("0123456789") != std::string::npos || port.size() > 5)
    fail("invalid server address '{}' (HOST, HOST:PORT or a URL)", h);
  return "http://" + host + ":" + port;
}

// "in 4 minutes", "in 30 seconds", "now" from an ISO 8601 UTC time ("2026-11-24T10:19:48Z").
std::string until(const std::string& iso) {
  std::tm tm{};
  if (iso.size() < 19 || !strptime(iso.c_str(), "%Y-%m-%dT%H:%M:%S", &tm)) return iso;
  const int64_t d = static_cast<int64_t>(timegm(&tm)) - static_cast<int64_t>(std::time(nullptr));
  if (d <= 0) return "now";
  if (d < 60) return fmt::format("in {} second{}", d, d == 1 ? "" : "s");
  if (d < 7200) return fmt::format("in {} minutes", (d + 30) / 60);
  return fmt::format("in {} hours", (d + 1800) / 3600);
}

int run(const PsArgs& a) {
  const std::string url = base_url(a.host) + "/api/ps";
  store::http::Request req;
  req.url = url;
  if (const char* k = std::getenv("HEARTH_API_KEY"); k && *k)
    req.headers.push_back(std::string("Authorization: Bearer ") + k);
  store::http::Response r;
  try {
    r = store::http::perform(req);
  } catch (const store::http::TransportError& e) {
    fail("no hearth server answers at {} ({}); start one with `hearth serve`", base_url(a.host), e.what());
  }
  if (r.status != 200) fail("{}: {}", url, store::http::status_text(r.status));
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(r.body);
  } catch (const nlohmann::json::exception&) {
    fail("{}: the answer is not JSON", url);
  }
  if (!j.is_object() || !j.contains("models") || !j["models"].is_array()) fail("{}: unexpected answer", url);
  if (a.json) {
    fmt::print("{}\n", j.dump(2));
    return 0;
  }
  fmt::print("{:<40} {:>10} {:>8} {:>7} {}\n", "NAME", "SIZE", "CONTEXT", "ACTIVE", "UNTIL");
  for (const auto& m : j["models"]) {
    if (!m.is_object()) continue;
    const std::string name = m.value("name", std::string("?"));
    const uint64_t size =
        m.contains("size") && m["size"].is_number_unsigned() ? m["size"].get<uint64_t>() : 0;
    const int64_t ctx = m.contains("context_length") && m["context_length"].is_number_integer()
                            ? m["context_length"].get<int64_t>()
                            : 0;
    const int active = m.contains("active") && m["active"].is_number_integer() ? m["active"].get<int>() : 0;
    const std::string exp =
        m.contains("expires_at") && m["expires_at"].is_string() ? m["expires_at"].get<std::string>() : "";
    fmt::print("{:<40} {:>10} {:>8} {:>7} {}\n", name, human_bytes(size), ctx > 0 ? std::to_string(ctx) : "-",
               active, until(exp));
    if (m.contains("warnings") && m["warnings"].is_array())
      for (const auto& w : m["warnings"])
        if (w.is_string()) fmt::print("  warning: {}\n", w.get<std::string>());
  }
  return 0;
}

HEARTH_COMMAND(45, [](CLI::App& app) {
  auto a = std::make_shared<PsArgs>();
  auto* c = app.add_subcommand("ps", "list the models a running `hearth serve` has loaded");
  c->add_option("--host", a->host,
                "server: HOST, HOST:PORT or a URL (default HEARTH_HOST, else 127.0.0.1:11434)");
  c->add_flag("--json", a->json, "print the server's answer as JSON");
  return std::function<int()>([a] { return run(*a); });
});

}  // namespace
}  // namespace hearth::cli
