// store: the HTTP client (libcurl): HTTPS, proxies from the usual environment variables (http_proxy,
// https_proxy, no_proxy, ALL_PROXY), redirects (http/https only), Range requests, and the classification of
// failures into transient (retry with backoff) and permanent ones. Knows nothing of registries or the store.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/error.h"

namespace hearth::store::http {

struct Response {
  long status = 0;
  std::vector<std::pair<std::string, std::string>> headers;  // of the final response; names lower-case
  std::string body;  // in-memory body, or the start of an error body when a sink took the transfer
  std::string effective_url;
  std::string header(std::string_view name) const;  // "" when absent
};

struct Request {
  std::string url;
  std::vector<std::string> headers;  // "Name: value"
  uint64_t range_from = 0;           // > 0: sends "Range: bytes=N-"
  uint64_t max_body = 16 << 20;      // bound on in-memory bodies; larger ones are an error
};

// Receives the body of a successful (2xx) final response. Either function may throw to abort the transfer.
class Sink {
 public:
  virtual ~Sink() = default;
  virtual void begin(const Response& head) = 0;
  virtual void write(const char* data, size_t n) = 0;
};

// A failed transfer: no HTTP status (connection refused or reset, timeout, TLS, ...).
class TransportError : public Error {
 public:
  TransportError(const std::string& msg, bool transient) : Error(msg), transient_(transient) {}
  bool transient() const { return transient_; }

 private:
  bool transient_;
};

// One attempt. HTTP statuses (including 4xx/5xx) are returned; transport failures throw TransportError;
// exceptions thrown by the sink propagate unchanged.
Response perform(const Request& req, Sink* sink = nullptr);

bool transient_status(long status);  // 408, 425, 429 and 5xx

// Retries with exponential backoff. HEARTH_PULL_RETRIES (default 5) and HEARTH_RETRY_DELAY_MS (default
// 1000, doubled each time up to 30 s) override the defaults.
struct RetryPolicy {
  int retries = 5;
  int base_delay_ms = 1000;
  static RetryPolicy from_env();
  int delay_ms(int attempt) const;  // attempt 0, 1, 2, ...
};

// perform() with retries on transient failures; the last response (possibly an error status) is returned,
// the last transport error thrown.
Response get(const Request& req, const RetryPolicy& policy);

// "%"-escapes one URL path segment.
std::string escape_segment(std::string_view s);

// One line describing a status for error messages: "HTTP 503 (Service Unavailable)".
std::string status_text(long status);

}  // namespace hearth::store::http
