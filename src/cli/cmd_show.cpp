// `hearth show MODEL`: what a model is, from its GGUF header (works before the data is downloaded).
#include <map>
#include <nlohmann/json.hpp>

#include "base/error.h"
#include "cli/command.h"
#include "cli/common.h"
#include "gguf/gguf.h"
#include "model/model.h"

namespace hearth::cli {
namespace {

struct Opts {
  std::string model;
  bool json = false;
  bool tensors = false;
};

nlohmann::json value_json(const gguf::Value& v) {
  using gguf::ValueType;
  if (!v.is_array()) {
    if (v.is_string()) return std::get<std::string>(v.scalar);
    if (v.type == ValueType::BOOL) return std::get<bool>(v.scalar);
    if (v.is_float()) return std::get<double>(v.scalar);
    if (auto* u = std::get_if<uint64_t>(&v.scalar)) return *u;
    return std::get<int64_t>(v.scalar);
  }
  if (v.elem_type == ValueType::STRING) return v.strings;
  if (v.elem_type == ValueType::FLOAT32 || v.elem_type == ValueType::FLOAT64) return v.floats;
  return v.ints;
}

std::string param_string(uint64_t n) {
  if (n >= 1000000000ull) return fmt::format("{:.2f}B", n / 1e9);
  if (n >= 1000000ull) return fmt::format("{:.1f}M", n / 1e6);
  if (n >= 1000ull) return fmt::format("{:.1f}K", n / 1e3);
  return std::to_string(n);
}

int run(const Opts& o) {
  gguf::ReadOptions ro;
  ro.header_only = true;
  auto f = gguf::File::open(resolve_model(o.model), ro);
  uint64_t params = 0, bytes = 0;
  std::map<std::string, std::pair<int, uint64_t>> types;  // name -> (tensors, elements)
  for (auto& t : f->tensors()) {
    params += static_cast<uint64_t>(t.n_elements());
    bytes += t.nbytes;
    auto& e = types[tensor::type_name(t.type)];
    e.first++;
    e.second += static_cast<uint64_t>(t.n_elements());
  }
  const std::string arch = f->get_string("general.architecture", "unknown");
  std::optional<model::HParams> hp;
  std::string hp_error;
  try {
    hp = model::read_hparams(*f);
  } catch (const Error& e) {
    hp_error = e.what();
  }
  const double bpw = params ? 8.0 * static_cast<double>(bytes) / static_cast<double>(params) : 0.0;

  if (o.json) {
    nlohmann::json j;
    j["path"] = f->path();
    j["gguf_version"] = f->version();
    j["architecture"] = arch;
    j["name"] = f->get_string("general.name", "");
    j["parameters"] = params;
    j["tensor_bytes"] = bytes;
    j["file_bytes"] = f->file_size();
    j["bits_per_weight"] = bpw;
    j["data_present"] = f->has_data();
    if (hp) {
      j["context_length"] = hp->n_ctx_train;
      j["embedding_length"] = hp->n_embd;
      j["block_count"] = hp->n_layer;
      j["feed_forward_length"] = hp->n_ff;
      j["head_count"] = hp->n_head;
      j["head_count_kv"] = hp->n_head_kv;
      j["head_dim"] = hp->head_dim;
      j["vocab_size"] = hp->n_vocab;
      j["rope_freq_base"] = hp->rope.freq_base;
      j["rope_scaling"] = hp->rope_scaling;
    } else {
      j["unsupported"] = hp_error;
    }
    for (auto& [name, e] : types) j["tensor_types"][name] = {{"tensors", e.first}, {"elements", e.second}};
    for (auto& [k, v] : f->metadata()) j["metadata"][k] = value_json(v);
    for (auto& t : f->tensors())
      j["tensors"].push_back({{"name", t.name},
                              {"type", tensor::type_name(t.type)},
                              {"shape", std::vector<int64_t>(t.ne, t.ne + t.n_dims)},
                              {"offset", t.offset},
                              {"bytes", t.nbytes}});
    fmt::print("{}\n", j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace));
    return 0;
  }

  fmt::print("  model\n");
  if (f->has("general.name")) fmt::print("    {:<20}{}\n", "name", f->get_string("general.name"));
  fmt::print("    {:<20}{}\n", "architecture", arch);
  fmt::print("    {:<20}{}\n", "parameters", param_string(params));
  if (hp) {
    fmt::print("    {:<20}{}\n", "context length", hp->n_ctx_train);
    fmt::print("    {:<20}{}\n", "embedding length", hp->n_embd);
    fmt::print("    {:<20}{}\n", "layers", hp->n_layer);
    fmt::print("    {:<20}{} (KV heads {}, head dim {})\n", "attention heads", hp->n_head, hp->n_head_kv, hp->head_dim);
    fmt::print("    {:<20}{}\n", "vocabulary", hp->n_vocab);
    fmt::print("    {:<20}{}{}\n", "rope", hp->rope.freq_base,
               hp->rope_scaling == "none" ? "" : fmt::format(" ({} x{})", hp->rope_scaling, hp->rope_scaling_factor));
  } else {
    fmt::print("    {:<20}{}\n", "note", hp_error);
  }
  fmt::print("    {:<20}{} ({:.2f} bits per weight)\n", "size", human_bytes(bytes), bpw);
  if (!f->has_data()) fmt::print("    {:<20}{}\n", "data", "incomplete (header only)");
  fmt::print("\n  tensor types\n");
  for (auto& [name, e] : types) fmt::print("    {:<20}{} tensors, {} weights\n", name, e.first, param_string(e.second));
  fmt::print("\n  metadata\n");
  for (auto& [k, v] : f->metadata()) fmt::print("    {:<40} {}\n", k, v.to_display());
  if (o.tensors) {
    fmt::print("\n  tensors\n");
    for (auto& t : f->tensors())
      fmt::print("    {:<40} {:<8} {}\n", t.name, tensor::type_name(t.type), t.shape_string());
  }
  return 0;
}

HEARTH_COMMAND(40, [](CLI::App& app) {
  auto o = std::make_shared<Opts>();
  auto* c = app.add_subcommand("show", "show a model's architecture, size, tensor types and metadata");
  c->add_option("model", o->model, "model (GGUF path or name)")->required();
  c->add_flag("--json", o->json, "print everything as JSON");
  c->add_flag("--tensors", o->tensors, "also list every tensor");
  return std::function<int()>([o] { return run(*o); });
});

}  // namespace
}  // namespace hearth::cli
