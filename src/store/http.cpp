#include "store/http.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <thread>

#include "base/log.h"

namespace hearth::store::http {

namespace {

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct Transfer {
  CURL* curl = nullptr;
  const Request* req = nullptr;
  Sink* sink = nullptr;
  Response resp;
  bool started = false;  // the body of the final response began
  bool to_sink = false;
  std::exception_ptr error;
  bool too_large = false;
};

std::string trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return std::string(s);
}

size_t on_header(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::string_view line(data, size * n);
  if (line.substr(0, 5) == "HTTP/") {
    t->resp.headers.clear();  // a new response of a redirect chain (or a 100 Continue) begins
    if (!t->to_sink) {
      // libcurl skips the bodies of redirects it follows; should one arrive anyway, it is not the answer.
      t->started = false;
      t->resp.body.clear();
    }
    return size * n;
  }
  auto colon = line.find(':');
  if (colon == std::string_view::npos || t->resp.headers.size() > 200) return size * n;
  std::string name(line.substr(0, colon));
  std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
  t->resp.headers.emplace_back(trim(name), trim(line.substr(colon + 1)));
  return size * n;
}

size_t on_write(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t len = size * n;
  try {
    if (!t->started) {
      t->started = true;
      curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &t->resp.status);
      if (t->sink && t->resp.status >= 200 && t->resp.status < 300) {
        t->to_sink = true;
        t->sink->begin(t->resp);
      }
    }
    if (t->to_sink) {
      t->sink->write(data, len);
      return len;
    }
    // In memory: a whole small body, or the first 64 KB of an error body.
    const uint64_t cap = t->sink ? 65536 : t->req->max_body;
    if (t->resp.body.size() + len > cap) {
      if (t->sink) {
        t->resp.body.append(data, static_cast<size_t>(cap - t->resp.body.size()));
        return 0;  // enough of an error body: stop
      }
      t->too_large = true;
      return 0;
    }
    t->resp.body.append(data, len);
    return len;
  } catch (...) {
    t->error = std::current_exception();
    return 0;  // aborts the transfer (CURLE_WRITE_ERROR)
  }
}

bool transient_code(CURLcode c) {
  switch (c) {
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_PARTIAL_FILE:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_WEIRD_SERVER_REPLY:
      return true;
    default:
      return false;
  }
}

struct CurlHandle {
  CURL* h;
  curl_slist* headers = nullptr;
  CurlHandle() : h(curl_easy_init()) {
    if (!h) fail("cannot initialise libcurl");
  }
  ~CurlHandle() {
    curl_slist_free_all(headers);
    curl_easy_cleanup(h);
  }
};

int env_int(const char* name, int def, int lo, int hi) {
  const char* v = std::getenv(name);
  if (!v || !*v) return def;
  char* end = nullptr;
  long x = std::strtol(v, &end, 10);
  if (*end != '\0' || x < lo || x > hi)
    fail("{} must be an integer from {} to {} (got '{}')", name, lo, hi, v);
  return static_cast<int>(x);
}

}  // namespace

std::string Response::header(std::string_view name) const {
  for (auto it = headers.rbegin(); it != headers.rend(); ++it)
    if (it->first == name) return it->second;
  return "";
}

bool transient_status(long s) { return s == 408 || s == 425 || s == 429 || (s >= 500 && s <= 599); }

Response perform(const Request& req, Sink* sink) {
  global_init();
  CurlHandle c;
  Transfer t;
  t.curl = c.h;
  t.req = &req;
  t.sink = sink;
  char errbuf[CURL_ERROR_SIZE] = {0};
  for (const auto& h : req.headers) {
    if (h.find_first_of("\r\n") != std::string::npos) fail("invalid HTTP header (it contains a line break)");
    c.headers = curl_slist_append(c.headers, h.c_str());
  }
  curl_easy_setopt(c.h, CURLOPT_URL, req.url.c_str());
  curl_easy_setopt(c.h, CURLOPT_HTTPHEADER, c.headers);
  curl_easy_setopt(c.h, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(c.h, CURLOPT_MAXREDIRS, 10L);
  curl_easy_setopt(c.h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c.h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c.h, CURLOPT_USERAGENT, "hearth/0.1");
  curl_easy_setopt(c.h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c.h, CURLOPT_CONNECTTIMEOUT, 30L);
  curl_easy_setopt(c.h, CURLOPT_LOW_SPEED_LIMIT, 1L);  // a stalled transfer (no byte for a minute) fails
  curl_easy_setopt(c.h, CURLOPT_LOW_SPEED_TIME,
                   static_cast<long>(env_int("HEARTH_HTTP_STALL_SECONDS", 60, 1, 3600)));
  curl_easy_setopt(c.h, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(c.h, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(c.h, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(c.h, CURLOPT_HEADERDATA, &t);
  curl_easy_setopt(c.h, CURLOPT_WRITEFUNCTION, on_write);
  curl_easy_setopt(c.h, CURLOPT_WRITEDATA, &t);
  std::string range;
  if (req.range_from > 0) {
    range = std::to_string(req.range_from) + "-";
    curl_easy_setopt(c.h, CURLOPT_RANGE, range.c_str());
  }
  if (!sink) curl_easy_setopt(c.h, CURLOPT_ACCEPT_ENCODING, "");  // small bodies may come compressed
  const CURLcode rc = curl_easy_perform(c.h);
  if (t.error) std::rethrow_exception(t.error);
  curl_easy_getinfo(c.h, CURLINFO_RESPONSE_CODE, &t.resp.status);
  char* eff = nullptr;
  if (curl_easy_getinfo(c.h, CURLINFO_EFFECTIVE_URL, &eff) == CURLE_OK && eff) t.resp.effective_url = eff;
  if (t.too_large) fail("{}: the response is larger than {} bytes", req.url, req.max_body);
  if (rc != CURLE_OK) {
    // An error body cut short on purpose is not a transport failure.
    if (rc == CURLE_WRITE_ERROR && sink && !t.to_sink && t.resp.status > 0) return t.resp;
    std::string msg = errbuf[0] ? std::string(errbuf) : curl_easy_strerror(rc);
    while (!msg.empty() && msg.back() == '\n') msg.pop_back();
    throw TransportError(fmt::format("{}: {}", req.url, msg), transient_code(rc));
  }
  return t.resp;
}

RetryPolicy RetryPolicy::from_env() {
  RetryPolicy p;
  p.retries = env_int("HEARTH_PULL_RETRIES", 5, 0, 1000);
  p.base_delay_ms = env_int("HEARTH_RETRY_DELAY_MS", 1000, 0, 600000);
  return p;
}

int RetryPolicy::delay_ms(int attempt) const {
  int64_t d = base_delay_ms;
  for (int i = 0; i < attempt && d < 30000; ++i) d *= 2;
  return static_cast<int>(std::min<int64_t>(d, std::max(30000, base_delay_ms)));
}

Response get(const Request& req, const RetryPolicy& policy) {
  for (int attempt = 0;; ++attempt) {
    try {
      Response r = perform(req);
      if (!transient_status(r.status) || attempt >= policy.retries) return r;
      log::warn("{}: {}; retrying in {} ms", req.url, status_text(r.status), policy.delay_ms(attempt));
    } catch (const TransportError& e) {
      if (!e.transient() || attempt >= policy.retries) throw;
      log::warn("{}; retrying in {} ms", e.what(), policy.delay_ms(attempt));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(policy.delay_ms(attempt)));
  }
}

std::string escape_segment(std::string_view s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 15]);
    }
  }
  return out;
}

std::string status_text(long s) {
  const char* t = "";
  switch (s) {
    case 400:
      t = "Bad Request";
      break;
    case 401:
      t = "Unauthorized";
      break;
    case 403:
      t = "Forbidden";
      break;
    case 404:
      t = "Not Found";
      break;
    case 408:
      t = "Request Timeout";
      break;
    case 416:
      t = "Range Not Satisfiable";
      break;
    case 429:
      t = "Too Many Requests";
      break;
    case 500:
      t = "Internal Server Error";
      break;
    case 502:
      t = "Bad Gateway";
      break;
    case 503:
      t = "Service Unavailable";
      break;
    case 504:
      t = "Gateway Timeout";
      break;
    default:
      break;
  }
  return *t ? fmt::format("HTTP {} ({})", s, t) : fmt::format("HTTP {}", s);
}

}  // namespace hearth::store::http
