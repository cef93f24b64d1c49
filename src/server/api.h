// Internal to the server room: request parsing helpers, errors, and the shared generation path.
#pragma once
#include <httplib.h>

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "runtime/engine.h"
#include "runtime/models.h"
#include "sample/sampler.h"
#include "server/server.h"
#include "store/store.h"

namespace hearth::server {

using json = nlohmann::json;
using ojson = nlohmann::ordered_json;

// A client error with its HTTP status (4xx) and a machine-readable code.
struct ApiError {
  int status = 400;
  std::string message;
  std::string code = "invalid_request_error";
};

// Which API shapes errors are written in.
enum class Api { OpenAI, Ollama };

void send_error(httplib::Response& res, Api api, const ApiError& e);

// Arrays and objects nested deeper than this in a request body are refused (nothing downstream then
// recurses on a depth a client chooses).
inline constexpr size_t kMaxJsonDepth = 128;
// Parses a JSON object body; ApiError 400 for bad JSON (syntax, numbers out of range, nesting deeper than
// kMaxJsonDepth) or a non-object.
json parse_body(const httplib::Request& req);

// The model a request names: a store model, or the path of a regular file that is a GGUF file. nullopt
// when it is neither; nothing about a file that is not a GGUF file is read or told beyond its first four
// bytes. hearth::Error for a name that is not valid.
std::optional<store::ResolvedModel> find_request_model(const std::string& name);
// The ModelManager's resolver over find_request_model: (display name, GGUF path); hearth::Error
// "model 'X' not found".
std::pair<std::string, std::string> resolve_request_model(const std::string& name);
// True when `path` is a regular file (opened without blocking, so a FIFO cannot hang the caller) whose
// first four bytes are "GGUF".
bool is_gguf_file(const std::string& path);
// 404 "model 'X' not found".
ApiError model_not_found(const std::string& name);

// Tool definitions (OpenAI and Ollama): an array of {"type": "function", "function": {"name": string,
// ...}}. ApiError 400 otherwise; `what` names the field.
void check_tools(const json& tools, const char* what);

// Typed field access with clear 400s: "'max_tokens' must be an integer".
std::optional<double> opt_number(const json& j, const char* key, double lo, double hi);
std::optional<int64_t> opt_int(const json& j, const char* key, int64_t lo, int64_t hi);
std::optional<std::string> opt_string(const json& j, const char* key);
std::optional<bool> opt_bool(const json& j, const char* key);
std::vector<std::string> opt_stop(const json& j, const char* key);
// Ollama keep_alive: seconds or "5m"/"1h30m"/"-1"; negative = forever.
std::chrono::seconds parse_keep_alive(const json& v, std::chrono::seconds def);

struct Metrics {
  std::atomic<uint64_t> requests{0}, errors{0}, prompt_tokens{0}, generated_tokens{0};
  std::atomic<double> generate_seconds{0};
};

// Everything the routes share.
struct Context {
  ServeOptions opt;
  std::unique_ptr<runtime::ModelManager> models;
  Metrics metrics;
  std::chrono::system_clock::time_point started = std::chrono::system_clock::now();
  // Parameter counts read from GGUF headers, by "path|size|mtime" (for /api/tags).
  std::mutex param_mu;
  std::map<std::string, uint64_t> param_counts;
};

// Ollama's human form of a parameter count: "8.0B", "494.03M", "293K", "512".
std::string human_params(uint64_t n);

// One generation in flight: the engine, its output stream, and the prompt size.
struct Generation {
  std::string model;
  std::shared_ptr<runtime::Engine> engine;
  std::shared_ptr<runtime::Stream> stream;
  int32_t prompt_tokens = 0;
};

// Sampling fields a request may set; the rest come from the model's defaults.
struct SamplingOverrides {
  std::optional<double> temperature, top_p, min_p, typical_p, repeat_penalty, presence_penalty, frequency_penalty;
  std::optional<int64_t> top_k, repeat_last_n, seed;
  std::map<int32_t, float> logit_bias;
  void apply(sample::SamplerParams& p) const;
};

struct GenRequest {
  std::string model;
  bool chat = true;
  ojson messages;        // chat: the messages
  ojson tools;           // chat: tool definitions or null
  std::string prompt;    // completion: the text
  bool raw = false;      // completion: no template even if the model has one
  std::string system;    // Ollama generate: system prompt
  SamplingOverrides sampling;
  runtime::GenerateOptions opt;
  std::chrono::seconds keep_alive{-1};
  int logprobs = -1;                       // -1: none; else alternatives per token (0..20)
  std::optional<sample::JsonLimits> json;  // JSON mode
};

// JSON mode from a JSON schema (Ollama `format`, OpenAI `json_schema`): the schema's top-level "type"
// (a string or an array of them; absent: object) chooses the kinds of value allowed; the rest of the
// schema is not enforced. ApiError 400 for a schema that is not an object or an unknown type. `what`
// names the field in messages.
sample::JsonLimits json_mode_from_schema(const json& schema, const char* what);

// Logprobs as OpenAI chat and Ollama write them: [{token, logprob, bytes, top_logprobs: [{token,
// logprob, bytes}]}]. Log-probabilities below -9999 (or -inf) are written as -9999, OpenAI's floor.
json logprob_entries(const std::vector<runtime::TokenLogprob>& lps);
double logprob_value(float lp);
json token_bytes(const std::string& s);

// Loads the model if needed, formats and tokenizes the prompt, queues the job. ApiError on bad input
// (404 unknown model, 400 prompt too long or a logit_bias token outside the vocabulary, 503 queue full).
Generation start_generation(Context& ctx, GenRequest& r);
// Ends the request's use of its model (keep-alive starts).
void end_generation(Context& ctx, Generation& g);

// Streams a generation through a chunked response. on_text(event: text and its tokens' logprobs) and
// on_done(result) return the bytes to write; ping is written every ~200 ms while nothing else is (to
// notice a closed connection; "" for none). A failed write cancels the generation, and so does a client
// that closed its connection while nothing is written (the request's socket is checked every ~200 ms,
// for streams that send no pings, e.g. during a long prompt).
void stream_response(Context& ctx, const httplib::Request& req, httplib::Response& res,
                     const char* content_type, std::shared_ptr<Generation> g,
                     std::function<std::string(const runtime::Event&)> on_text,
                     std::function<std::string(const runtime::GenerateResult&)> on_done,
                     std::function<std::string(const std::string&)> on_error, std::string ping);

// Registers a route that takes a body (POST, DELETE). The body is read here, whatever its Content-Type
// (httplib would parse a form-encoded body itself and refuse one over 8 KB), bounded by --max-body (413);
// multipart bodies are refused (400). Then `handler` runs with the body in req.body.
using Handler = std::function<void(const httplib::Request&, httplib::Response&)>;
void add_body_route(httplib::Server& svr, Context& ctx, const std::string& method, const std::string& pattern,
                    Api api, Handler handler);

// Registration of each API's routes.
void add_openai_routes(httplib::Server& svr, Context& ctx);
void add_ollama_routes(httplib::Server& svr, Context& ctx);

std::string iso8601(std::chrono::system_clock::time_point t);

}  // namespace hearth::server
