// The OpenAI-compatible API: /v1/chat/completions, /v1/completions, /v1/models.
#include <filesystem>
#include <random>

#include "base/error.h"
#include "server/api.h"
#include "store/store.h"

namespace hearth::server {

namespace {

std::string new_id(const char* prefix) {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  return fmt::format("{}-{:016x}", prefix, rng());
}

int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// Content may be a string, null, or an array of parts; only text parts are supported.
std::string content_text(const json& c, size_t i) {
  if (c.is_null()) return "";
  if (c.is_string()) return c.get<std::string>();
  if (c.is_array()) {
    std::string s;
    for (auto& part : c) {
      if (!part.is_object() || !part.contains("type") || !part["type"].is_string())
        throw ApiError{400, fmt::format("messages[{}].content: each part must be an object with a 'type'", i)};
      const std::string t = part["type"].get<std::string>();
      if (t != "text")
        throw ApiError{400, fmt::format("messages[{}].content: '{}' parts are not supported by this model", i, t)};
      if (!part.contains("text") || !part["text"].is_string())
        throw ApiError{400, fmt::format("messages[{}].content: a text part needs a string 'text'", i)};
      s += part["text"].get<std::string>();
    }
    return s;
  }
  throw ApiError{400, fmt::format("messages[{}].content must be a string or an array of parts", i)};
}

ojson parse_messages(const json& body) {
  auto it = body.find("messages");
  if (it == body.end() || !it->is_array()) throw ApiError{400, "'messages' must be an array"};
  if (it->empty()) throw ApiError{400, "'messages' must not be empty"};
  if (it->size() > 100000) throw ApiError{400, "'messages' is too long"};
  ojson out = ojson::array();
  for (size_t i = 0; i < it->size(); ++i) {
    const auto& m = (*it)[i];
    if (!m.is_object()) throw ApiError{400, fmt::format("messages[{}] must be an object", i)};
    if (!m.contains("role") || !m["role"].is_string()) throw ApiError{400, fmt::format("messages[{}].role must be a string", i)};
    std::string role = m["role"].get<std::string>();
    if (role == "developer") role = "system";
    if (role != "system" && role != "user" && role != "assistant" && role != "tool")
      throw ApiError{400, fmt::format("messages[{}].role '{}' is not one of system, user, assistant, tool", i, role)};
    ojson msg = {{"role", role}, {"content", content_text(m.value("content", json()), i)}};
    if (m.contains("tool_calls") && !m["tool_calls"].is_null()) {
      if (!m["tool_calls"].is_array()) throw ApiError{400, fmt::format("messages[{}].tool_calls must be an array", i)};
      msg["tool_calls"] = ojson::parse(m["tool_calls"].dump());
    }
    for (const char* k : {"name", "tool_call_id"})
      if (m.contains(k) && m[k].is_string()) msg[k] = m[k].get<std::string>();
    out.push_back(std::move(msg));
  }
  return out;
}

void parse_common(const json& b, GenRequest& r) {
  const auto model = opt_string(b, "model");
  if (!model || model->empty()) throw ApiError{400, "'model' is required"};
  r.model = *model;
  if (auto n = opt_int(b, "n", 1, 128); n && *n != 1) throw ApiError{400, "only n = 1 is supported"};
  auto mt = opt_int(b, "max_completion_tokens", 0, 10000000);
  if (!mt) mt = opt_int(b, "max_tokens", 0, 10000000);
  if (mt) r.opt.max_tokens = static_cast<int32_t>(*mt);
  auto& s = r.sampling;
  s.temperature = opt_number(b, "temperature", 0, 2);
  s.top_p = opt_number(b, "top_p", 0, 1);
  s.presence_penalty = opt_number(b, "presence_penalty", -2, 2);
  s.frequency_penalty = opt_number(b, "frequency_penalty", -2, 2);
  s.seed = opt_int(b, "seed", INT64_MIN, INT64_MAX);
  // llama.cpp server extensions.
  s.top_k = opt_int(b, "top_k", 0, 1 << 20);
  s.min_p = opt_number(b, "min_p", 0, 1);
  s.repeat_penalty = opt_number(b, "repeat_penalty", 0, 10);
  if (auto it = b.find("logit_bias"); it != b.end() && !it->is_null()) {
    if (!it->is_object()) throw ApiError{400, "'logit_bias' must be an object of token id -> bias"};
    if (it->size() > 10000) throw ApiError{400, "'logit_bias' has too many entries"};
    for (auto& [k, v] : it->items()) {
      char* end = nullptr;
      const long long id = std::strtoll(k.c_str(), &end, 10);
      if (k.empty() || *end != '\0' || id < 0 || id > INT32_MAX) throw ApiError{400, fmt::format("logit_bias: '{}' is not a token id", k)};
      if (!v.is_number() || v.get<double>() < -100 || v.get<double>() > 100)
        throw ApiError{400, "logit_bias values must be numbers between -100 and 100"};
      s.logit_bias[static_cast<int32_t>(id)] = v.get<double>() <= -100 ? -INFINITY : static_cast<float>(v.get<double>());
    }
  }
  r.opt.stop = opt_stop(b, "stop");
  if (auto it = b.find("keep_alive"); it != b.end()) r.keep_alive = parse_keep_alive(*it, r.keep_alive);
}

// logprobs / top_logprobs (chat: a boolean and 0..20; completions: an integer 0..5) and
// response_format (text, json_object, json_schema).
void parse_extras(const json& b, GenRequest& r, bool chat) {
  if (chat) {
    const bool lp = opt_bool(b, "logprobs").value_or(false);
    const auto top = opt_int(b, "top_logprobs", 0, 20);
    if (top && *top > 0 && !lp) throw ApiError{400, "'top_logprobs' requires 'logprobs': true"};
    if (lp) r.logprobs = static_cast<int>(top.value_or(0));
  } else {
    if (auto n = opt_int(b, "logprobs", 0, 5)) r.logprobs = static_cast<int>(*n);
  }
  auto it = b.find("response_format");
  if (it == b.end() || it->is_null()) return;
  if (!it->is_object()) throw ApiError{400, "'response_format' must be an object with a 'type'"};
  const auto type = opt_string(*it, "type");
  if (!type) throw ApiError{400, "'response_format.type' is required"};
  if (*type == "text") return;
  if (*type == "json_object") {
    r.json = sample::JsonLimits{};
    return;
  }
  if (*type == "json_schema") {
    auto js = it->find("json_schema");
    if (js == it->end() || !js->is_object())
      throw ApiError{400, "'response_format.json_schema' must be an object with a 'schema'"};
    auto schema = js->find("schema");
    r.json = schema == js->end() || schema->is_null() ? sample::JsonLimits{}
                                                      : json_mode_from_schema(*schema, "response_format.json_schema.schema");
    return;
  }
  throw ApiError{400, fmt::format("'response_format.type' must be one of text, json_object, json_schema; got '{}'", *type)};
}

// Completions' logprobs object for some tokens; `offset` (characters from the start of the prompt, as
// OpenAI counts text_offset) advances past them.
json completion_logprobs(const std::vector<runtime::TokenLogprob>& lps, int64_t& offset) {
  json tokens = json::array(), values = json::array(), tops = json::array(), offsets = json::array();
  for (const auto& t : lps) {
    tokens.push_back(t.text);
    values.push_back(logprob_value(t.logprob));
    json top = json::object();
    for (const auto& a : t.top) {
      if (!top.contains(a.text)) top[a.text] = logprob_value(a.logprob);
    }
    if (!top.contains(t.text)) top[t.text] = logprob_value(t.logprob);  // the sampled token is always there
    tops.push_back(std::move(top));
    offsets.push_back(offset);
    for (unsigned char c : t.text) offset += (c & 0xC0) != 0x80;  // code points
  }
  return {{"tokens", tokens}, {"token_logprobs", values}, {"top_logprobs", tops}, {"text_offset", offsets}};
}

int64_t code_points(const std::string& s) {
  int64_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

const char* finish_name(const runtime::GenerateResult& r) {
  return r.finish == runtime::FinishReason::Length || r.finish == runtime::FinishReason::ContextFull ? "length" : "stop";
}

json usage_json(const runtime::GenerateResult& r) {
  return {{"prompt_tokens", r.prompt_tokens},
          {"completion_tokens", r.generated_tokens},
          {"total_tokens", r.prompt_tokens + r.generated_tokens},
          {"prompt_tokens_details", {{"cached_tokens", r.cached_tokens}}}};
}

std::string sse(const json& j) { return "data: " + j.dump(-1, ' ', false, json::error_handler_t::replace) + "\n\n"; }

// Shared by both endpoints: chat (message deltas) or completion (text).
void generate(Context& ctx, const httplib::Request& req, httplib::Response& res, bool chat) {
  const json b = parse_body(req);
  GenRequest r;
  r.chat = chat;
  parse_common(b, r);
  if (chat) {
    r.messages = parse_messages(b);
    if (auto it = b.find("tools"); it != b.end() && !it->is_null()) {
      check_tools(*it, "tools");
      r.tools = ojson::parse(it->dump());
    }
  } else {
    auto it = b.find("prompt");
    if (it == b.end() || it->is_null()) throw ApiError{400, "'prompt' is required"};
    if (it->is_array() && it->size() == 1 && (*it)[0].is_string()) r.prompt = (*it)[0].get<std::string>();
    else if (it->is_string()) r.prompt = it->get<std::string>();
    else throw ApiError{400, "'prompt' must be a string"};
    r.raw = true;
  }
  parse_extras(b, r, chat);
  const bool stream = opt_bool(b, "stream").value_or(false);
  bool include_usage = false;
  if (auto it = b.find("stream_options"); it != b.end() && !it->is_null()) {
    if (!it->is_object()) throw ApiError{400, "'stream_options' must be an object"};
    include_usage = opt_bool(*it, "include_usage").value_or(false);
  }
  ctx.metrics.requests++;
  auto g = std::make_shared<Generation>(start_generation(ctx, r));
  const std::string id = new_id(chat ? "chatcmpl" : "cmpl");
  const int64_t created = unix_now();
  const std::string model = r.model;
  const char* object = chat ? "chat.completion" : "text_completion";
  const bool want_lp = r.logprobs >= 0;
  // text_offset counts characters from the start of the prompt (OpenAI's convention, even without echo).
  auto offset = std::make_shared<int64_t>(chat ? 0 : code_points(r.prompt));
  auto lp_json = [=](const std::vector<runtime::TokenLogprob>& lps) -> json {
    if (!want_lp) return nullptr;
    if (chat) return {{"content", logprob_entries(lps)}, {"refusal", nullptr}};
    return completion_logprobs(lps, *offset);
  };
  auto error_json = [](const std::string& msg) {
    return json{{"error", {{"message", msg}, {"type", "server_error"}, {"param", nullptr}, {"code", nullptr}}}};
  };
  if (stream) {
    const std::string chunk_obj = chat ? "chat.completion.chunk" : "text_completion";
    auto chunk = [=](json choice) {
      return json{{"id", id}, {"object", chunk_obj}, {"created", created}, {"model", model},
                  {"system_fingerprint", "hearth"}, {"choices", json::array({std::move(choice)})}};
    };
    auto first = std::make_shared<bool>(true);
    stream_response(
        ctx, req, res, "text/event-stream", g,
        [=](const runtime::Event& ev) {
          std::string out;
          if (chat && *first) {
            out += sse(chunk({{"index", 0}, {"delta", {{"role", "assistant"}, {"content", ""}}}, {"logprobs", nullptr}, {"finish_reason", nullptr}}));
          }
          *first = false;
          if (ev.text.empty() && ev.logprobs.empty()) return out;
          const json lp = lp_json(ev.logprobs);
          if (chat)
            out += sse(chunk({{"index", 0}, {"delta", {{"content", ev.text}}}, {"logprobs", lp}, {"finish_reason", nullptr}}));
          else
            out += sse(chunk({{"index", 0}, {"text", ev.text}, {"logprobs", lp}, {"finish_reason", nullptr}}));
          return out;
        },
        [=](const runtime::GenerateResult& res_) {
          std::string out;
          if (chat && *first)
            out += sse(chunk({{"index", 0}, {"delta", {{"role", "assistant"}, {"content", ""}}}, {"logprobs", nullptr}, {"finish_reason", nullptr}}));
          json last = chat ? json{{"index", 0}, {"delta", json::object()}, {"logprobs", nullptr}, {"finish_reason", finish_name(res_)}}
                           : json{{"index", 0}, {"text", ""}, {"logprobs", nullptr}, {"finish_reason", finish_name(res_)}};
          out += sse(chunk(last));
          if (include_usage) {
            json u = chunk(json());
            u["choices"] = json::array();
            u["usage"] = usage_json(res_);
            out += sse(u);
          }
          return out + "data: [DONE]\n\n";
        },
        [=](const std::string& msg) { return sse(error_json(msg)) + "data: [DONE]\n\n"; }, ": ping\n\n");
    return;
  }
  auto text = std::make_shared<std::string>();
  auto lps = std::make_shared<std::vector<runtime::TokenLogprob>>();
  stream_response(
      ctx, req, res, "application/json", g,
      [=](const runtime::Event& ev) {
        *text += ev.text;
        lps->insert(lps->end(), ev.logprobs.begin(), ev.logprobs.end());
        return std::string();
      },
      [=](const runtime::GenerateResult& res_) {
        json choice = {{"index", 0}, {"logprobs", lp_json(*lps)}, {"finish_reason", finish_name(res_)}};
        if (chat)
          choice["message"] = {{"role", "assistant"}, {"content", *text}};
        else
          choice["text"] = *text;
        json j = {{"id", id}, {"object", object}, {"created", created}, {"model", model},
                  {"system_fingerprint", "hearth"}, {"choices", json::array({choice})}, {"usage", usage_json(res_)}};
        return j.dump(-1, ' ', false, json::error_handler_t::replace);
      },
      [=](const std::string& msg) { return error_json(msg).dump(); }, " ");
}

json model_object(const store::ModelEntry& m) {
  return {{"id", m.name}, {"object", "model"}, {"created", m.modified}, {"owned_by", m.source == "hearth" ? "library" : m.source}};
}

}  // namespace

void add_openai_routes(httplib::Server& svr, Context& ctx) {
  auto wrap = [&ctx](void (*fn)(Context&, const httplib::Request&, httplib::Response&, bool), bool chat) {
    return [&ctx, fn, chat](const httplib::Request& req, httplib::Response& res) {
      try {
        fn(ctx, req, res, chat);
      } catch (const ApiError& e) {
        ctx.metrics.errors++;
        if (e.status == 503) res.set_header("Retry-After", "2");
        send_error(res, Api::OpenAI, e);
      } catch (const Error& e) {  // bad input found below the server (names, templates, sampling)
        ctx.metrics.errors++;
        send_error(res, Api::OpenAI, ApiError{400, e.what()});
      } catch (const json::exception& e) {  // a field of an unexpected type that slipped through
        ctx.metrics.errors++;
        send_error(res, Api::OpenAI, ApiError{400, fmt::format("invalid request: {}", e.what())});
      } catch (const std::exception& e) {
        ctx.metrics.errors++;
        send_error(res, Api::OpenAI, ApiError{500, e.what(), "internal_error"});
      }
    };
  };
  add_body_route(svr, ctx, "POST", "/v1/chat/completions", Api::OpenAI, wrap(generate, true));
  add_body_route(svr, ctx, "POST", "/v1/completions", Api::OpenAI, wrap(generate, false));
  svr.Get("/v1/models", [&ctx](const httplib::Request&, httplib::Response& res) {
    try {
      json data = json::array();
      for (auto& m : store::list_models(true)) data.push_back(model_object(m));
      res.set_content(json{{"object", "list"}, {"data", data}}.dump(), "application/json");
    } catch (const std::exception& e) {
      send_error(res, Api::OpenAI, ApiError{500, e.what(), "internal_error"});
    }
    (void)ctx;
  });
  svr.Get(R"(/v1/models/(.+))", [](const httplib::Request& req, httplib::Response& res) {
    const std::string id = req.matches[1];
    try {
      // Resolved as generation requests resolve model names: "stories" finds "stories:latest", a path
      // finds its file.
      std::optional<store::ResolvedModel> rm;
      try {
        rm = find_request_model(id);
      } catch (const Error&) {
        rm.reset();  // not a valid name: not found
      }
      if (!rm) {
        send_error(res, Api::OpenAI, model_not_found(id));
        return;
      }
      store::ModelEntry entry;
      entry.source = rm->source;
      bool listed = false;
      for (auto& m : store::list_models(true)) {
        if (m.path == rm->model_path || m.name == rm->name) {
          entry = m;
          listed = true;
          break;
        }
      }
      if (!listed) {
        std::error_code ec;
        const auto mtime = std::filesystem::last_write_time(rm->model_path, ec);
        if (!ec) {
          const auto sys = std::chrono::file_clock::to_sys(mtime);
          entry.modified = std::chrono::duration_cast<std::chrono::seconds>(sys.time_since_epoch()).count();
        }
      }
      json j = model_object(entry);
      j["id"] = id;
      res.set_content(j.dump(-1, ' ', false, json::error_handler_t::replace), "application/json");
    } catch (const std::exception& e) {
      send_error(res, Api::OpenAI, ApiError{500, e.what(), "internal_error"});
    }
  });
}

}  // namespace hearth::server
