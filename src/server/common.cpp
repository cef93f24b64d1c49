#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <ctime>
#include <regex>

#include "base/error.h"
#include "base/log.h"
#include "runtime/prompt.h"
#include "server/api.h"

namespace hearth::server {

void send_error(httplib::Response& res, Api api, const ApiError& e) {
  res.status = e.status;
  json j;
  if (api == Api::OpenAI) {
    j["error"] = {{"message", e.message}, {"type", e.status >= 500 ? "server_error" : "invalid_request_error"},
                  {"param", nullptr}, {"code", e.code}};
  } else {
    j["error"] = e.message;
  }
  res.set_content(j.dump(-1, ' ', false, json::error_handler_t::replace), "application/json");
}

namespace {

// True when no array or object in `s` (read as JSON; brackets inside strings do not count) is nested more
// than `limit` deep. A linear scan before parsing, so depth is bounded before anything is built.
bool nesting_within(std::string_view s, size_t limit) {
  size_t depth = 0;
  bool in_string = false, escaped = false;
  for (const char c : s) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > limit) return false;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return true;
}

}  // namespace

json parse_body(const httplib::Request& req) {
  if (!nesting_within(req.body, kMaxJsonDepth))
    throw ApiError{
        400, fmt::format("the request body nests arrays or objects more than {} levels deep", kMaxJsonDepth),
        "invalid_json"};
  json j;
  try {
    j = json::parse(req.body);
  } catch (const json::parse_error& e) {
    throw ApiError{400, std::string("the request body is not valid JSON: ") + e.what(), "invalid_json"};
  } catch (const json::exception& e) {  // out_of_range: a number beyond a double's range (1e400)
    throw ApiError{400, std::string("the request body cannot be read: ") + e.what(), "invalid_json"};
  }
  if (!j.is_object()) throw ApiError{400, "the request body must be a JSON object", "invalid_json"};
  return j;
}

void add_body_route(httplib::Server& svr, Context& ctx, const std::string& method, const std::string& pattern,
                    Api api, Handler handler) {
  const size_t max_body = ctx.opt.max_body;
  httplib::Server::HandlerWithContentReader h = [max_body, api, handler = std::move(handler)](
                                                    const httplib::Request& req, httplib::Response& res,
                                                    const httplib::ContentReader& read) {
    if (req.is_multipart_form_data()) {
      send_error(res, api, ApiError{400, "multipart bodies are not accepted: send the request as JSON"});
      return;
    }
    std::string body;
    bool too_large = false;
    const bool ok = read([&](const char* data, size_t n) {
      if (n > max_body - body.size()) {
        too_large = true;
        return false;
      }
      body.append(data, n);
      return true;
    });
    if (too_large || res.status == 413) {
      send_error(res, api, ApiError{413, fmt::format("the request body is larger than {} bytes", max_body)});
      return;
    }
    if (!ok) {
      send_error(res, api, ApiError{400, "the request body could not be read"});
      return;
    }
    httplib::Request with_body = req;
    with_body.body = std::move(body);
    handler(with_body, res);
  };
  if (method == "POST") {
    svr.Post(pattern, std::move(h));
  } else if (method == "DELETE") {
    svr.Delete(pattern, std::move(h));
  } else {
    fail("add_body_route: unsupported method {}", method);
  }
}

bool is_gguf_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) return false;
  struct stat st {};
  char magic[4] = {};
  const bool ok = ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && ::pread(fd, magic, 4, 0) == 4 &&
                  std::memcmp(magic, "GGUF", 4) == 0;
  ::close(fd);
  return ok;
}

std::optional<store::ResolvedModel> find_request_model(const std::string& name) {
  auto rm = store::find_model(name);
  if (rm && rm->source == "file" && !is_gguf_file(rm->model_path)) rm.reset();
  return rm;
}

std::pair<std::string, std::string> resolve_request_model(const std::string& name) {
  auto rm = find_request_model(name);
  if (!rm) fail("model '{}' not found", name);
  return {rm->name, rm->model_path};
}

ApiError model_not_found(const std::string& name) {
  return ApiError{404, fmt::format("model '{}' not found", name), "model_not_found"};
}

void check_tools(const json& tools, const char* what) {
  if (!tools.is_array()) throw ApiError{400, fmt::format("'{}' must be an array of tool definitions", what)};
  if (tools.size() > 1024) throw ApiError{400, fmt::format("'{}' may hold at most 1024 tools", what)};
  for (size_t i = 0; i < tools.size(); ++i) {
    const json& t = tools[i];
    if (!t.is_object())
      throw ApiError{
          400, fmt::format("{}[{}] must be an object like {{\"type\": \"function\", \"function\": {{...}}}}",
                           what, i)};
    auto type = t.find("type");
    if (type == t.end() || !type->is_string() || type->get<std::string>() != "function")
      throw ApiError{400, fmt::format("{}[{}].type must be \"function\"", what, i)};
    auto fn = t.find("function");
    if (fn == t.end() || !fn->is_object())
      throw ApiError{400, fmt::format("{}[{}].function must be an object", what, i)};
    auto name = fn->find("name");
    if (name == fn->end() || !name->is_string() || name->get<std::string>().empty())
      throw ApiError{400, fmt::format("{}[{}].function.name must be a non-empty string", what, i)};
  }
}

std::optional<double> opt_number(const json& j, const char* key, double lo, double hi) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return std::nullopt;
  if (!it->is_number()) throw ApiError{400, fmt::format("'{}' must be a number", key)};
  const double v = it->get<double>();
  if (!std::isfinite(v) || v < lo || v > hi) throw ApiError{400, fmt::format("'{}' must be between {} and {}", key, lo, hi)};
  return v;
}

std::optional<int64_t> opt_int(const json& j, const char* key, int64_t lo, int64_t hi) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return std::nullopt;
  int64_t v;
  if (it->is_number_integer()) {
    v = it->get<int64_t>();
  } else if (it->is_number_float() && std::floor(it->get<double>()) == it->get<double>() &&
             std::abs(it->get<double>()) < 9e15) {
    v = static_cast<int64_t>(it->get<double>());
  } else {
    throw ApiError{400, fmt::format("'{}' must be an integer", key)};
  }
  if (v < lo || v > hi) throw ApiError{400, fmt::format("'{}' must be between {} and {}", key, lo, hi)};
  return v;
}

std::optional<std::string> opt_string(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return std::nullopt;
  if (!it->is_string()) throw ApiError{400, fmt::format("'{}' must be a string", key)};
  return it->get<std::string>();
}

std::optional<bool> opt_bool(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return std::nullopt;
  if (!it->is_boolean()) throw ApiError{400, fmt::format("'{}' must be true or false", key)};
  return it->get<bool>();
}

std::vector<std::string> opt_stop(const json& j, const char* key) {
  auto it = j.find(key);
  std::vector<std::string> v;
  if (it == j.end() || it->is_null()) return v;
  if (it->is_string()) {
    v.push_back(it->get<std::string>());
  } else if (it->is_array()) {
    if (it->size() > 16) throw ApiError{400, fmt::format("'{}' may hold at most 16 strings", key)};
    for (auto& s : *it) {
      if (!s.is_string()) throw ApiError{400, fmt::format("'{}' must be a string or an array of strings", key)};
      v.push_back(s.get<std::string>());
    }
  } else {
    throw ApiError{400, fmt::format("'{}' must be a string or an array of strings", key)};
  }
  for (auto& s : v)
    if (s.size() > 1024) throw ApiError{400, fmt::format("'{}': stop strings are limited to 1024 bytes", key)};
  return v;
}

std::chrono::seconds parse_keep_alive(const json& v, std::chrono::seconds def) {
  constexpr auto forever = std::chrono::seconds(100ll * 365 * 24 * 3600);
  if (v.is_null()) return def;
  if (v.is_number()) {
    const double s = v.get<double>();
    if (!std::isfinite(s)) throw ApiError{400, "'keep_alive' must be a duration"};
    return s < 0 ? forever : std::chrono::seconds(static_cast<int64_t>(std::min(s, 3.15e9)));
  }
  if (!v.is_string()) throw ApiError{400, "'keep_alive' must be a duration like \"5m\" or a number of seconds"};
  const std::string s = v.get<std::string>();
  if (!s.empty() && s[0] == '-') return forever;
  static const std::regex re(R"(^(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s)?$)");
  std::smatch m;
  if (s.empty() || !std::regex_match(s, m, re)) {
    char* end = nullptr;
    const double secs = std::strtod(s.c_str(), &end);
    if (!s.empty() && end && *end == '\0' && std::isfinite(secs))
      return std::chrono::seconds(static_cast<int64_t>(std::min(secs, 3.15e9)));
    throw ApiError{400, "'keep_alive' must be a duration like \"5m\", \"1h\" or a number of seconds"};
  }
  double secs = 0;
  if (m[1].matched) secs += std::stod(m[1]) * 3600;
  if (m[2].matched) secs += std::stod(m[2]) * 60;
  if (m[3].matched) secs += std::stod(m[3]);
  return std::chrono::seconds(static_cast<int64_t>(std::min(secs, 3.15e9)));
}

std::string human_params(uint64_t n) {
  // Ollama's format.HumanNumber: billions with one decimal, millions with two, thousands with none;
  // whole numbers of billions or millions without decimals.
  const double x = static_cast<double>(n);
  if (n >= 1000000000ull) {
    const double v = x / 1e9;
    return v == std::floor(v) ? fmt::format("{:.0f}B", v) : fmt::format("{:.1f}B", v);
  }
  if (n >= 1000000ull) {
    const double v = x / 1e6;
    return v == std::floor(v) ? fmt::format("{:.0f}M", v) : fmt::format("{:.2f}M", v);
  }
  if (n >= 1000ull) return fmt::format("{:.0f}K", x / 1e3);
  return std::to_string(n);
}

sample::JsonLimits json_mode_from_schema(const json& schema, const char* what) {
  if (!schema.is_object()) throw ApiError{400, fmt::format("'{}' must be a JSON schema object", what)};
  sample::JsonLimits lim;
  auto t = schema.find("type");
  if (t == schema.end() || t->is_null()) return lim;  // no type: an object, the usual case
  std::vector<json> types;
  if (t->is_array()) {
    types.assign(t->begin(), t->end());
  } else {
    types.push_back(*t);
  }
  uint8_t root = 0;
  for (const auto& x : types) {
    const std::string name = x.is_string() ? x.get<std::string>() : "";
    if (name == "object")
      root |= sample::kJsonObject;
    else if (name == "array")
      root |= sample::kJsonArray;
    else if (name == "string")
      root |= sample::kJsonString;
    else if (name == "number" || name == "integer")
      root |= sample::kJsonNumber;
    else if (name == "boolean" || name == "null")
      root |= sample::kJsonLiteral;
    else
      throw ApiError{400, fmt::format("'{}': unknown schema type {}", what, x.dump())};
  }
  if (root == 0) throw ApiError{400, fmt::format("'{}': the schema's \"type\" is empty", what)};
  lim.root = root;
  return lim;
}

double logprob_value(float lp) {
  return std::isfinite(lp) ? std::max(static_cast<double>(lp), -9999.0) : -9999.0;
}

json token_bytes(const std::string& s) {
  json b = json::array();
  for (unsigned char c : s) b.push_back(static_cast<int>(c));
  return b;
}

json logprob_entries(const std::vector<runtime::TokenLogprob>& lps) {
  json out = json::array();
  for (const auto& t : lps) {
    json top = json::array();
    for (const auto& a : t.top)
      top.push_back(
          {{"token", a.text}, {"logprob", logprob_value(a.logprob)}, {"bytes", token_bytes(a.text)}});
    out.push_back({{"token", t.text},
                   {"logprob", logprob_value(t.logprob)},
                   {"bytes", token_bytes(t.text)},
                   {"top_logprobs", std::move(top)}});
  }
  return out;
}

std::string iso8601(std::chrono::system_clock::time_point t) {
  const std::time_t tt = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

void SamplingOverrides::apply(sample::SamplerParams& p) const {
  if (temperature) p.temperature = static_cast<float>(*temperature);
  if (top_p) p.top_p = static_cast<float>(*top_p);
  if (min_p) p.min_p = static_cast<float>(*min_p);
  if (typical_p) p.typical_p = static_cast<float>(*typical_p);
  if (repeat_penalty) p.repeat_penalty = static_cast<float>(*repeat_penalty);
  if (presence_penalty) p.presence_penalty = static_cast<float>(*presence_penalty);
  if (frequency_penalty) p.frequency_penalty = static_cast<float>(*frequency_penalty);
  if (top_k) p.top_k = static_cast<int32_t>(*top_k);
  if (repeat_last_n) p.repeat_last_n = static_cast<int32_t>(*repeat_last_n);
  if (seed) p.seed = static_cast<uint64_t>(*seed);
  for (auto& [k, v] : logit_bias) p.logit_bias[k] = v;
}

Generation start_generation(Context& ctx, GenRequest& r) {
  Generation g;
  g.model = r.model;
  try {
    g.engine = ctx.models->acquire(r.model, r.keep_alive);
  } catch (const Error& e) {
    const std::string msg = e.what();
    if (msg.find("not found") != std::string::npos || msg.find("no such") != std::string::npos ||
        msg.find("pull") != std::string::npos)
      throw model_not_found(r.model);
    throw ApiError{400, fmt::format("model '{}' could not be loaded: {}", r.model, msg), "model_load_failed"};
  }
  runtime::Job job;
  try {
    const auto& lm = g.engine->model();
    if (r.chat) {
      job.prompt = runtime::chat_prompt_tokens(lm, r.messages, r.tools);
    } else if (!r.raw && !lm.chat_template().empty() && !r.system.empty()) {
      ojson msgs = ojson::array({{{"role", "system"}, {"content", r.system}}, {{"role", "user"}, {"content", r.prompt}}});
      job.prompt = runtime::chat_prompt_tokens(lm, msgs);
    } else {
      job.prompt = runtime::text_prompt_tokens(lm, r.prompt);
    }
    if (static_cast<int64_t>(job.prompt.size()) >= lm.context().n_ctx())
      throw ApiError{400, fmt::format("the prompt has {} tokens, more than the context of {} tokens", job.prompt.size(),
                                      lm.context().n_ctx()),
                     "context_length_exceeded"};
    const int64_t n_vocab = lm.model().hparams().n_vocab;
    for (const auto& [id, bias] : r.sampling.logit_bias)
      if (id >= n_vocab)
        throw ApiError{
            400,
            fmt::format("logit_bias: token id {} is outside the vocabulary (ids 0 to {})", id, n_vocab - 1),
            "invalid_logit_bias"};
    job.sampling = lm.default_sampling();
    r.sampling.apply(job.sampling);
    job.sampling.validate();
  } catch (const Error& e) {
    ctx.models->release(r.model);
    throw ApiError{400, e.what()};
  } catch (...) {
    ctx.models->release(r.model);
    throw;
  }
  g.prompt_tokens = static_cast<int32_t>(job.prompt.size());
  job.opt = r.opt;
  job.logprobs = r.logprobs;
  job.json = r.json;
  job.out = std::make_shared<runtime::Stream>();
  g.stream = job.out;
  if (!g.engine->submit(std::move(job))) {
    ctx.models->release(r.model);
    throw ApiError{503, "the server is busy: too many requests are queued for this model; retry shortly", "overloaded"};
  }
  ctx.metrics.prompt_tokens += static_cast<uint64_t>(g.prompt_tokens);
  return g;
}

void end_generation(Context& ctx, Generation& g) {
  if (g.engine) ctx.models->release(g.model);
  g.engine.reset();
}

namespace {

// The socket a request arrived on, found by its addresses among the process's open sockets (httplib does
// not hand it to handlers); -1 when not found. Called on the connection's own thread, which keeps the
// socket open until the response ends.
int find_connection_socket(const std::string& remote_addr, int remote_port, int local_port) {
  if (remote_port <= 0 || local_port <= 0) return -1;
  DIR* dir = ::opendir("/proc/self/fd");
  if (!dir) return -1;
  auto port_of = [](const sockaddr_storage& a) {
    if (a.ss_family == AF_INET)
      return static_cast<int>(ntohs(reinterpret_cast<const sockaddr_in&>(a).sin_port));
    if (a.ss_family == AF_INET6)
      return static_cast<int>(ntohs(reinterpret_cast<const sockaddr_in6&>(a).sin6_port));
    return -1;
  };
  int found = -1, matches = 0;
  const int dir_fd = ::dirfd(dir);
  while (const dirent* e = ::readdir(dir)) {
    char* end = nullptr;
    const long fd = std::strtol(e->d_name, &end, 10);
    if (end == e->d_name || *end != '\0' || fd < 0 || fd == dir_fd) continue;
    struct stat st {};
    if (::fstat(static_cast<int>(fd), &st) != 0 || !S_ISSOCK(st.st_mode)) continue;
    sockaddr_storage peer{}, local{};
    socklen_t pl = sizeof peer, ll = sizeof local;
    if (::getpeername(static_cast<int>(fd), reinterpret_cast<sockaddr*>(&peer), &pl) != 0 ||
        ::getsockname(static_cast<int>(fd), reinterpret_cast<sockaddr*>(&local), &ll) != 0)
      continue;
    if (port_of(peer) != remote_port || port_of(local) != local_port) continue;
    char host[NI_MAXHOST];
    if (::getnameinfo(reinterpret_cast<sockaddr*>(&peer), pl, host, sizeof host, nullptr, 0,
                      NI_NUMERICHOST) != 0 ||
        remote_addr != host)
      continue;
    found = static_cast<int>(fd);
    ++matches;
  }
  ::closedir(dir);
  return matches == 1 ? found : -1;
}

// True when the client closed its side of the connection (FIN or RST); data it sent is left unread.
bool peer_closed(int fd) {
  char c;
  const ssize_t n = ::recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
  if (n == 0) return true;
  if (n < 0) return errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR;
  return false;
}

}  // namespace

void stream_response(Context& ctx, const httplib::Request& req, httplib::Response& res,
                     const char* content_type, std::shared_ptr<Generation> g,
                     std::function<std::string(const runtime::Event&)> on_text,
                     std::function<std::string(const runtime::GenerateResult&)> on_done,
                     std::function<std::string(const std::string&)> on_error, std::string ping) {
  auto finished = std::make_shared<bool>(false);
  // The connection's socket is looked for only when a response is silent for a while (a long prompt).
  struct Peer {
    std::string addr;
    int port = -1, local_port = -1;
    int fd = -2;  // -2: not looked for yet; -1: not found
  };
  auto peer = std::make_shared<Peer>(Peer{req.remote_addr, req.remote_port, req.local_port});
  res.set_chunked_content_provider(
      content_type,
      [&ctx, g, on_text, on_done, on_error, ping, finished, peer](size_t, httplib::DataSink& sink) {
        auto write = [&](const std::string& s) {
          if (s.empty()) return true;
          if (!sink.write(s.data(), s.size())) {
            g->stream->cancel();
            return false;
          }
          return true;
        };
        auto last_write = std::chrono::steady_clock::now();
        for (;;) {
          runtime::Event ev;
          if (!g->stream->pop(ev, std::chrono::milliseconds(50))) {
            if (std::chrono::steady_clock::now() - last_write > std::chrono::milliseconds(200)) {
              if (peer->fd == -2) peer->fd = find_connection_socket(peer->addr, peer->port, peer->local_port);
              if (peer->fd >= 0 && peer_closed(peer->fd)) {
                g->stream->cancel();
                return false;
              }
              if (!ping.empty() && !write(ping)) return false;
              last_write = std::chrono::steady_clock::now();
            }
            continue;
          }
          if (ev.kind == runtime::Event::Kind::Text) {
            if (!write(on_text(ev))) return false;
            last_write = std::chrono::steady_clock::now();
          } else if (ev.kind == runtime::Event::Kind::Done) {
            ctx.metrics.generated_tokens += static_cast<uint64_t>(ev.result.generated_tokens);
            double cur = ctx.metrics.generate_seconds.load();
            while (!ctx.metrics.generate_seconds.compare_exchange_weak(cur, cur + ev.result.generate_seconds)) {
            }
            write(on_done(ev.result));
            *finished = true;
            sink.done();
            return true;
          } else {
            ctx.metrics.errors++;
            write(on_error(ev.text));
            *finished = true;
            sink.done();
            return true;
          }
        }
      },
      [&ctx, g, finished](bool) {
        if (!*finished) g->stream->cancel();  // client went away: stop generating
        end_generation(ctx, *g);
      });
}

}  // namespace hearth::server
