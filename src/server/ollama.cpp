// The Ollama-compatible API: /api/generate, /api/chat (NDJSON streams), /api/tags, /api/show, /api/ps,
// /api/pull, /api/delete, /api/copy, /api/version.
#include "base/error.h"
#include "gguf/gguf.h"
#include "server/api.h"
#include "store/store.h"

namespace hearth::server {

namespace {

std::string now_iso() { return iso8601(std::chrono::system_clock::now()); }

std::string ndjson(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace) + "\n"; }

std::string model_field(const json& b) {
  auto m = opt_string(b, "model");
  if (!m || m->empty()) m = opt_string(b, "name");
  if (!m || m->empty()) throw ApiError{400, "'model' is required"};
  return *m;
}

void parse_options(const json& b, GenRequest& r) {
  auto it = b.find("options");
  if (it == b.end() || it->is_null()) return;
  if (!it->is_object()) throw ApiError{400, "'options' must be an object"};
  const json& o = *it;
  auto& s = r.sampling;
  s.temperature = opt_number(o, "temperature", 0, 100);
  s.top_p = opt_number(o, "top_p", 0, 1);
  s.min_p = opt_number(o, "min_p", 0, 1);
  s.typical_p = opt_number(o, "typical_p", 0, 1);
  s.repeat_penalty = opt_number(o, "repeat_penalty", 0, 100);
  s.presence_penalty = opt_number(o, "presence_penalty", -100, 100);
  s.frequency_penalty = opt_number(o, "frequency_penalty", -100, 100);
  s.top_k = opt_int(o, "top_k", 0, 1 << 20);
  s.repeat_last_n = opt_int(o, "repeat_last_n", -1, 1 << 20);
  s.seed = opt_int(o, "seed", INT64_MIN, INT64_MAX);
  if (auto n = opt_int(o, "num_predict", -2, 10000000)) r.opt.max_tokens = *n < 0 ? -1 : static_cast<int32_t>(*n);
  auto stop = opt_stop(o, "stop");
  r.opt.stop.insert(r.opt.stop.end(), stop.begin(), stop.end());
  // Options Ollama knows that hearth does not use (the server's settings decide them): still type-checked,
  // so a client's mistake is reported rather than silently ignored.
  for (const char* k : {"num_ctx", "num_batch", "num_gpu", "main_gpu", "num_thread", "num_keep", "mirostat"})
    opt_int(o, k, INT64_MIN, INT64_MAX);
  for (const char* k : {"mirostat_tau", "mirostat_eta", "tfs_z"}) opt_number(o, k, -1e300, 1e300);
  for (const char* k : {"penalize_newline", "numa", "low_vram", "f16_kv", "vocab_only", "use_mmap",
                        "use_mlock", "logits_all", "embedding_only"})
    opt_bool(o, k);
}

void parse_common(const json& b, GenRequest& r) {
  r.model = model_field(b);
  parse_options(b, r);
  if (auto it = b.find("keep_alive"); it != b.end()) r.keep_alive = parse_keep_alive(*it, r.keep_alive);
  if (auto it = b.find("format"); it != b.end() && !it->is_null()) {
    if (it->is_string() && it->get<std::string>() == "json") {
      r.json = sample::JsonLimits{};
    } else if (it->is_object()) {
      r.json = json_mode_from_schema(*it, "format");
    } else if (!(it->is_string() && it->get<std::string>().empty())) {
      throw ApiError{400, "'format' must be \"json\" or a JSON schema object"};
    }
  }
  // Newer Ollama: logprobs (bool) and top_logprobs (0..20; asking for alternatives implies logprobs).
  const bool lp = opt_bool(b, "logprobs").value_or(false);
  const auto top = opt_int(b, "top_logprobs", 0, 20);
  if (lp || (top && *top > 0)) r.logprobs = static_cast<int>(top.value_or(0));
  if (auto it = b.find("images"); it != b.end() && !it->is_null() && !(it->is_array() && it->empty()))
    throw ApiError{400, "this model does not support images"};
}

json timings(const runtime::GenerateResult& r) {
  const auto ns = [](double s) { return static_cast<int64_t>(s * 1e9); };
  return {{"total_duration", ns(r.prompt_seconds + r.generate_seconds)},
          {"load_duration", 0},
          {"prompt_eval_count", r.prompt_tokens - r.cached_tokens},
          {"prompt_eval_duration", ns(r.prompt_seconds)},
          {"eval_count", r.generated_tokens},
          {"eval_duration", ns(r.generate_seconds)}};
}

const char* done_reason(const runtime::GenerateResult& r) {
  return r.finish == runtime::FinishReason::Length || r.finish == runtime::FinishReason::ContextFull ? "length" : "stop";
}

void generate(Context& ctx, const httplib::Request& req, httplib::Response& res, bool chat) {
  const json b = parse_body(req);
  GenRequest r;
  r.chat = chat;
  parse_common(b, r);
  if (chat) {
    auto it = b.find("messages");
    if (it == b.end() || it->is_null()) {
      r.messages = ojson::array();
    } else {
      if (!it->is_array()) throw ApiError{400, "'messages' must be an array"};
      r.messages = ojson::array();
      for (size_t i = 0; i < it->size(); ++i) {
        const auto& m = (*it)[i];
        if (!m.is_object() || !m.contains("role") || !m["role"].is_string())
          throw ApiError{400, fmt::format("messages[{}] must be an object with a string 'role'", i)};
        const std::string role = m["role"].get<std::string>();
        if (role != "system" && role != "user" && role != "assistant" && role != "tool")
          throw ApiError{
              400,
              fmt::format("messages[{}].role '{}' is not one of system, user, assistant, tool", i, role)};
        if (m.contains("content") && !m["content"].is_string() && !m["content"].is_null())
          throw ApiError{400, fmt::format("messages[{}].content must be a string", i)};
        if (m.contains("images") && !m["images"].is_null() &&
            !(m["images"].is_array() && m["images"].empty()))
          throw ApiError{400, "this model does not support images"};
        ojson msg = {{"role", role},
                     {"content", m.value("content", json("")).is_null() ? "" : m.value("content", "")}};
        if (m.contains("tool_calls") && !m["tool_calls"].is_null()) {
          if (!m["tool_calls"].is_array())
            throw ApiError{400, fmt::format("messages[{}].tool_calls must be an array", i)};
          msg["tool_calls"] = ojson::parse(m["tool_calls"].dump());
        }
        r.messages.push_back(std::move(msg));
      }
    }
    if (auto t = b.find("tools"); t != b.end() && !t->is_null()) {
      check_tools(*t, "tools");
      if (!t->empty()) r.tools = ojson::parse(t->dump());
    }
  } else {
    r.prompt = opt_string(b, "prompt").value_or("");
    r.system = opt_string(b, "system").value_or("");
    r.raw = opt_bool(b, "raw").value_or(false);
    if (!r.raw && !r.prompt.empty()) {
      // Ollama formats a generate prompt with the model's template as one user message.
      r.chat = true;
      if (!r.system.empty()) r.messages.push_back({{"role", "system"}, {"content", r.system}});
      r.messages.push_back({{"role", "user"}, {"content", r.prompt}});
    }
  }
  const bool stream = opt_bool(b, "stream").value_or(true);
  const std::string model = r.model;
  const bool empty = chat ? r.messages.empty() : r.prompt.empty();
  if (empty) {
    // An empty request loads (or with keep_alive 0 unloads) the model.
    json j = {{"model", model}, {"created_at", now_iso()}, {"done", true}};
    if (chat) j["message"] = {{"role", "assistant"}, {"content", ""}};
    else j["response"] = "";
    if (r.keep_alive.count() == 0) {
      try {
        ctx.models->unload(model);
      } catch (const Error&) {
        throw model_not_found(model);
      }
      j["done_reason"] = "unload";
    } else {
      try {
        ctx.models->acquire(model, r.keep_alive);
        ctx.models->release(model);
      } catch (const Error& e) {
        const std::string msg = e.what();
        if (msg.find("not found") != std::string::npos) throw model_not_found(model);
        throw ApiError{400, fmt::format("model '{}' could not be loaded: {}", model, msg)};
      }
      j["done_reason"] = "load";
    }
    res.set_content(j.dump(), "application/json");
    return;
  }
  ctx.metrics.requests++;
  auto g = std::make_shared<Generation>(start_generation(ctx, r));
  const bool want_lp = r.logprobs >= 0;
  auto piece = [=](const runtime::Event& ev) {
    json j = {{"model", model}, {"created_at", now_iso()}, {"done", false}};
    if (chat) j["message"] = {{"role", "assistant"}, {"content", ev.text}};
    else j["response"] = ev.text;
    if (want_lp) j["logprobs"] = logprob_entries(ev.logprobs);
    return j;
  };
  auto final = [=](const runtime::GenerateResult& rr, const std::string& all,
                   const std::vector<runtime::TokenLogprob>* lps) {
    json j = {{"model", model}, {"created_at", now_iso()}, {"done", true}, {"done_reason", done_reason(rr)}};
    if (chat) j["message"] = {{"role", "assistant"}, {"content", all}};
    else j["response"] = all;
    if (want_lp && lps) j["logprobs"] = logprob_entries(*lps);
    j.update(timings(rr));
    return j;
  };
  auto err = [](const std::string& msg) { return ndjson(json{{"error", msg}}); };
  if (stream) {
    stream_response(
        ctx, req, res, "application/x-ndjson", g, [=](const runtime::Event& ev) { return ndjson(piece(ev)); },
        [=](const runtime::GenerateResult& rr) { return ndjson(final(rr, "", nullptr)); }, err, "");
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
      [=](const runtime::GenerateResult& rr) {
        return final(rr, *text, lps.get()).dump(-1, ' ', false, json::error_handler_t::replace);
      },
      [](const std::string& msg) {
        return json{{"error", msg}}.dump();
      },
      " ");
}

// Parameters of a model (the elements of its tensors), from its GGUF header; remembered per file
// version so listing stays cheap. 0 when the header cannot be read.
uint64_t parameter_count(Context& ctx, const store::ModelEntry& m) {
  const std::string key = fmt::format("{}|{}|{}", m.path, m.size, m.modified);
  {
    std::lock_guard<std::mutex> lk(ctx.param_mu);
    if (auto it = ctx.param_counts.find(key); it != ctx.param_counts.end()) return it->second;
  }
  uint64_t n = 0;
  try {
    gguf::ReadOptions ro;
    ro.header_only = true;
    auto f = gguf::File::open(m.path, ro);
    for (auto& t : f->tensors()) n += static_cast<uint64_t>(t.n_elements());
  } catch (const Error&) {
    n = 0;
  }
  std::lock_guard<std::mutex> lk(ctx.param_mu);
  if (ctx.param_counts.size() > 4096) ctx.param_counts.clear();
  ctx.param_counts[key] = n;
  return n;
}

json details_of(Context& ctx, const store::ModelEntry& m) {
  const uint64_t params = parameter_count(ctx, m);
  return {{"parent_model", ""}, {"format", "gguf"}, {"family", m.arch}, {"families", json::array({m.arch})},
          {"parameter_size", params ? human_params(params) : ""}, {"quantization_level", m.quant}};
}

std::string digest_of(const store::ModelEntry& m) { return m.id; }

void show(Context&, const httplib::Request& req, httplib::Response& res) {
  const json b = parse_body(req);
  const std::string name = model_field(b);
  std::optional<store::ResolvedModel> rm;
  try {
    rm = find_request_model(name);
  } catch (const Error& e) {
    throw ApiError{400, e.what()};
  }
  if (!rm) throw model_not_found(name);
  gguf::ReadOptions ro;
  ro.header_only = true;
  std::unique_ptr<gguf::File> f;
  try {
    f = gguf::File::open(rm->model_path, ro);
  } catch (const Error& e) {
    throw ApiError{400, fmt::format("model '{}' cannot be read: {}", name, e.what())};
  }
  json info = json::object();
  for (auto& [k, v] : f->metadata()) {
    if (v.is_array() && v.array_size() > 64) {
      info[k] = nullptr;  // vocabularies etc. are left out, as Ollama does
      continue;
    }
    if (v.is_array()) {
      if (v.elem_type == gguf::ValueType::STRING) info[k] = v.strings;
      else if (v.elem_type == gguf::ValueType::FLOAT32 || v.elem_type == gguf::ValueType::FLOAT64) info[k] = v.floats;
      else info[k] = v.ints;
    } else if (v.is_string()) {
      if (k == "tokenizer.chat_template") continue;
      info[k] = v.as_string();
    } else if (v.type == gguf::ValueType::BOOL) {
      info[k] = v.as_bool();
    } else if (v.is_float()) {
      info[k] = v.as_float();
    } else {
      info[k] = v.as_int();
    }
  }
  uint64_t params = 0;
  for (auto& t : f->tensors()) params += static_cast<uint64_t>(t.n_elements());
  info["general.parameter_count"] = params;
  const std::string arch = f->get_string("general.architecture", "");
  std::string params_text;
  for (auto& [k, v] : rm->params.items()) {
    if (v.is_array())
      for (auto& x : v) params_text += fmt::format("{:<20}{}\n", k, x.is_string() ? x.get<std::string>() : x.dump());
    else
      params_text += fmt::format("{:<20}{}\n", k, v.is_string() ? v.get<std::string>() : v.dump());
  }
  json j = {{"license", rm->license.value_or("")},
            {"modelfile", fmt::format("FROM {}\n", rm->model_path)},
            {"parameters", params_text},
            {"template", rm->template_text.value_or(f->get_string("tokenizer.chat_template", ""))},
            {"system", rm->system.value_or("")},
            {"details", {{"parent_model", ""}, {"format", "gguf"}, {"family", arch}, {"families", json::array({arch})},
                         {"parameter_size", human_params(params)}, {"quantization_level", ""}}},
            {"model_info", info},
            {"capabilities", json::array({"completion"})}};
  res.set_content(j.dump(-1, ' ', false, json::error_handler_t::replace), "application/json");
}

void pull(Context&, const httplib::Request& req, httplib::Response& res) {
  const json b = parse_body(req);
  const std::string name = model_field(b);
  const bool stream = opt_bool(b, "stream").value_or(true);
  const bool insecure = opt_bool(b, "insecure").value_or(false);
  // What can be checked without the network is checked before a stream starts (its status is then 200).
  store::Reference ref;
  try {
    ref = store::parse_reference(name);
  } catch (const Error& e) {
    throw ApiError{400, e.what()};
  }
  if (ref.kind == store::RefKind::File && !is_gguf_file(ref.path)) throw model_not_found(name);
  if (!stream) {
    store::PullOptions po;
    po.quiet = true;
    po.insecure = insecure;
    try {
      store::pull(name, po);
    } catch (const Error& e) {
      const std::string msg = e.what();
      throw ApiError{msg.find("no such model") != std::string::npos ? 404 : 400, msg};
    }
    res.set_content(json{{"status", "success"}}.dump(), "application/json");
    return;
  }
  res.set_chunked_content_provider("application/x-ndjson", [name, insecure](size_t, httplib::DataSink& sink) {
    auto write = [&](const json& j) {
      const std::string s = ndjson(j);
      return sink.write(s.data(), s.size());
    };
    store::PullOptions po;
    po.quiet = true;
    po.insecure = insecure;
    po.on_event = [&](const store::PullEvent& e) {
      json j = {{"status", e.status}};
      if (!e.digest.empty()) {
        j["digest"] = e.digest;
        j["total"] = e.total;
        j["completed"] = e.completed;
      }
      if (!write(j)) throw Error("the client went away");
    };
    try {
      write(json{{"status", "pulling manifest"}});
      store::pull(name, po);
      write(json{{"status", "success"}});
    } catch (const std::exception& e) {
      write(json{{"error", e.what()}});
    }
    sink.done();
    return true;
  });
}

void remove(Context& c, const httplib::Request& req, httplib::Response& res) {
  const std::string name = model_field(parse_body(req));
  try {
    if (store::parse_reference(name).kind != store::RefKind::Name)
      throw model_not_found(name);  // files, URLs
    try {
      c.models->unload(name);
    } catch (const Error&) {
    }
    store::remove_model(name);
  } catch (const Error& e) {
    throw ApiError{404, e.what()};
  }
  res.status = 200;
}

void copy(Context&, const httplib::Request& req, httplib::Response& res) {
  const json b = parse_body(req);
  const auto src = opt_string(b, "source"), dst = opt_string(b, "destination");
  if (!src || !dst || src->empty() || dst->empty())
    throw ApiError{400, "'source' and 'destination' are required"};
  try {
    if (store::parse_reference(*src).kind != store::RefKind::Name)
      throw model_not_found(*src);  // files, URLs
    store::copy_model(*src, *dst);
  } catch (const Error& e) {
    const std::string msg = e.what();
    throw ApiError{
        msg.find("not found") != std::string::npos || msg.find("no such") != std::string::npos ? 404 : 400,
        msg};
  }
  res.status = 200;
}

}  // namespace

void add_ollama_routes(httplib::Server& svr, Context& ctx) {
  auto wrap = [&ctx](std::function<void(Context&, const httplib::Request&, httplib::Response&)> fn) {
    return [&ctx, fn](const httplib::Request& req, httplib::Response& res) {
      try {
        fn(ctx, req, res);
      } catch (const ApiError& e) {
        ctx.metrics.errors++;
        if (e.status == 503) res.set_header("Retry-After", "2");
        send_error(res, Api::Ollama, e);
      } catch (const Error& e) {
        ctx.metrics.errors++;
        send_error(res, Api::Ollama, ApiError{400, e.what()});
      } catch (const json::exception& e) {  // a field of an unexpected type that slipped through
        ctx.metrics.errors++;
        send_error(res, Api::Ollama, ApiError{400, fmt::format("invalid request: {}", e.what())});
      } catch (const std::exception& e) {
        ctx.metrics.errors++;
        send_error(res, Api::Ollama, ApiError{500, e.what()});
      }
    };
  };
  auto post = [&](const char* path,
                  std::function<void(Context&, const httplib::Request&, httplib::Response&)> fn) {
    add_body_route(svr, ctx, "POST", path, Api::Ollama, wrap(std::move(fn)));
  };
  post("/api/generate",
       [](Context& c, const httplib::Request& q, httplib::Response& s) { generate(c, q, s, false); });
  post("/api/chat",
       [](Context& c, const httplib::Request& q, httplib::Response& s) { generate(c, q, s, true); });
  post("/api/show", show);
  post("/api/pull", pull);
  svr.Get("/api/tags", wrap([](Context& c, const httplib::Request&, httplib::Response& res) {
    json models = json::array();
    for (auto& m : store::list_models(true)) {
      models.push_back({{"name", m.name}, {"model", m.name},
                        {"modified_at", iso8601(std::chrono::system_clock::from_time_t(m.modified))},
                        {"size", m.size}, {"digest", digest_of(m)}, {"details", details_of(c, m)}});
    }
    res.set_content(json{{"models", models}}.dump(), "application/json");
  }));
  svr.Get("/api/ps", wrap([](Context& c, const httplib::Request&, httplib::Response& res) {
    json models = json::array();
    for (auto& m : c.models->loaded()) {
      models.push_back({{"name", m.name}, {"model", m.name}, {"size", m.weight_bytes + m.kv_bytes}, {"digest", ""},
                        {"details", {{"format", "gguf"}}}, {"expires_at", iso8601(m.expires)}, {"size_vram", 0},
                        {"context_length", m.context}, {"active", m.active}, {"queued", m.queued},
                        {"warnings", m.warnings}});
    }
    res.set_content(json{{"models", models}}.dump(), "application/json");
  }));
  add_body_route(svr, ctx, "DELETE", "/api/delete", Api::Ollama, wrap(remove));
  post("/api/copy", copy);
  svr.Get("/api/version", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(json{{"version", HEARTH_VERSION_STRING}}.dump(), "application/json");
  });
}

}  // namespace hearth::server
