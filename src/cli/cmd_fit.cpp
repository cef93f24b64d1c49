// `hearth fit MODEL`: will this model run here (or on the hardware named), and how fast? Reads only the
// GGUF header (of a local file, a store model, or the first megabytes of a remote file fetched with Range
// requests), plans the placement with runtime::plan (the same planner the runtime follows at load time)
// and says in plain words what fits, the expected speeds, and what to change for a better fit.
#include <fmt/format.h>

#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>

#include "base/error.h"
#include "cli/command.h"
#include "cli/common.h"
#include "gguf/gguf.h"
#include "quantize/policy.h"
#include "runtime/hw.h"
#include "runtime/hw_probe.h"
#include "runtime/hw_table.h"
#include "runtime/planner.h"
#include "store/http.h"
#include "store/sources.h"
#include "store/store.h"

namespace hearth::cli {
namespace {

using runtime::DeviceSpec;
using runtime::Plan;
using runtime::PlanRequest;

struct Opts {
  std::string model;
  int64_t ctx = -1;  // -1: the runtime's default (training context, at most 4096); 0: training context
  int parallel = 1;
  int64_t batch = 512;
  std::string cache_type = "f16";
  std::string gpu, vram, ram, ram_bandwidth;
  double gpu_bandwidth = 0;
  bool no_gpu = false;
  int gpu_layers = -1;
  int threads = 0;
  bool no_measure = false;
  bool json = false;
};

// ---- The model's header: local file, store model, or the start of a remote file.

struct ModelHeader {
  std::string display;  // what the user named, or the file
  std::string where;    // the path or URL read
  model::HParams hp;
  std::vector<gguf::TensorInfo> tensors;  // over every part of a split model
  std::string file_type;                  // "Q4_K_M", ... from general.file_type when known
  uint64_t header_bytes = 0;              // metadata + tensor index of every part
  uint64_t vocab_entries = 0;

  runtime::ModelCost cost(const std::vector<gguf::TensorInfo>& ts) const {
    auto c = runtime::model_cost(hp, ts);
    c.header_bytes = header_bytes;
    c.vocab_entries = vocab_entries;
    return c;
  }
};

// Stops a download once enough bytes arrived.
struct EnoughBytes {};
class PrefixSink : public store::http::Sink {
 public:
  explicit PrefixSink(uint64_t limit) : limit_(limit) {}
  void begin(const store::http::Response&) override {}
  void write(const char* p, size_t n) override {
    const size_t take = static_cast<size_t>(std::min<uint64_t>(n, limit_ - data_.size()));
    data_.append(p, take);
    if (data_.size() >= limit_) throw EnoughBytes{};
  }
  std::string& data() { return data_; }

 private:
  uint64_t limit_;
  std::string data_;
};

// The first `limit` bytes of a URL (fewer when the file is shorter).
std::string fetch_prefix(const std::string& url, const std::vector<std::string>& headers, uint64_t limit) {
  store::http::Request req;
  req.url = url;
  req.headers = headers;
  req.headers.push_back(fmt::format("Range: bytes=0-{}", limit - 1));
  PrefixSink sink(limit);
  store::http::Response resp;
  try {
    resp = store::http::perform(req, &sink);
  } catch (const EnoughBytes&) {
    return std::move(sink.data());
  }
  if (resp.status < 200 || resp.status >= 300)
    fail("cannot read the header of {}: {}", url, store::http::status_text(resp.status));
  return std::move(sink.data());
}

// Parses a remote GGUF header, fetching more when the header is longer than the first request.
std::unique_ptr<gguf::File> remote_header(const std::string& url, const std::vector<std::string>& headers) {
  uint64_t want = 8ull << 20;
  constexpr uint64_t kMaxHeader = 512ull << 20;
  for (int attempt = 0; attempt < 6; ++attempt) {
    const std::string data = fetch_prefix(url, headers, want);
    try {
      return gguf::File::parse_header(reinterpret_cast<const uint8_t*>(data.data()), data.size(), url);
    } catch (const gguf::TruncatedError& e) {
      if (data.size() < want) throw;  // the whole file was read: it is truncated
      const uint64_t next = std::max<uint64_t>(want * 2, e.needed() + (1ull << 20));
      if (next > kMaxHeader) fail("{}: the GGUF header is larger than {} MiB", url, kMaxHeader >> 20);
      want = next;
    }
  }
  fail("{}: could not read the GGUF header", url);
}

std::string file_type_name(const gguf::File& f) {
  const int64_t ft = f.get_int("general.file_type", -1);
  if (ft < 0) return "";
  for (const auto& n : quantize::Policy::mix_names()) {
    try {
      if (quantize::Policy::for_mix(n).file_type() == static_cast<uint32_t>(ft)) return n;
    } catch (const Error&) {
    }
  }
  return "";
}

void add_part(ModelHeader& h, const gguf::File& f, bool first) {
  if (first) {
    h.hp = model::read_hparams(f);
    h.file_type = file_type_name(f);
    h.vocab_entries = runtime::vocab_entries(f);
  }
  h.header_bytes += f.data_offset();
  h.tensors.insert(h.tensors.end(), f.tensors().begin(), f.tensors().end());
}

ModelHeader read_model(const std::string& ref) {
  ModelHeader h;
  h.display = ref;
  std::error_code ec;
  std::string path;
  if (std::filesystem::is_regular_file(ref, ec)) {
    path = ref;
  } else if (auto found = store::find_model(ref)) {
    path = found->model_path;
    h.display = found->name;
  }
  if (!path.empty()) {
    auto f = gguf::File::open(path, {.header_only = true, .load_splits = true});
    h.where = path;
    add_part(h, *f, true);
    return h;
  }
  // Not on this machine: read the header over the network.
  const store::Reference r = store::parse_reference(ref);
  std::vector<store::BlobSource> parts;
  if (r.kind == store::RefKind::Url) {
    store::BlobSource b;
    b.url = r.url;
    b.gguf = true;
    parts.push_back(std::move(b));
  } else if (r.kind == store::RefKind::Name) {
    const store::PullPlan pp = r.name.is_hf() ? store::hf::plan(r.name) : store::ollama::plan(r.name, false);
    for (const auto& b : pp.blobs)
      if (b.gguf) parts.push_back(b);
    if (parts.empty()) fail("{}: the registry lists no GGUF model file", ref);
  } else {
    fail("model '{}' not found", ref);
  }
  if (parts.size() > 256) fail("{}: too many parts ({})", ref, parts.size());
  for (size_t i = 0; i < parts.size(); ++i) {
    auto f = remote_header(parts[i].url, parts[i].headers);
    add_part(h, *f, i == 0);
  }
  h.where = parts[0].url;
  return h;
}

// ---- The hardware: probed, from the table, or from the user's numbers.

struct Hardware {
  std::optional<DeviceSpec> gpu;
  DeviceSpec cpu;
  std::vector<std::string> notes;
};

double parse_bandwidth(const std::string& s, std::string* how) {
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  if (!s.empty() && end && *end == '\0') {
    if (!(v > 0.1 && v < 100000)) fail("--ram-bandwidth {} is out of range (GB/s)", s);
    *how = "given";
    return v * 1e9;
  }
  const auto m = runtime::find_hardware(s, true);
  *how = fmt::format("{}, {:.0f}% of its {:g} GB/s peak", m.spec->name, runtime::kRamPeakToMeasured * 100,
                     m.spec->bandwidth_gbs);
  return m.spec->bandwidth_gbs * 1e9 * runtime::kRamPeakToMeasured;
}

uint64_t usable_ram(uint64_t total) {
  // Leave the system its share: 10%, at least 1 GiB.
  const uint64_t reserve = std::max<uint64_t>(1ull << 30, total / 10);
  return total > reserve ? total - reserve : 0;
}

Hardware resolve_hardware(const Opts& o) {
  Hardware hw;
  runtime::ProbeOptions po;
  po.vulkan = po.nvml = !o.no_gpu && o.gpu.empty() && o.vram.empty();
  const auto probe = runtime::probe_hardware(po);
  std::optional<runtime::HwMatch> table_gpu;
  if (o.no_gpu && (!o.gpu.empty() || !o.vram.empty()))
    fail("--no-gpu cannot be combined with --gpu or --vram");
  if (!o.no_gpu) {
    if (!o.gpu.empty()) {
      table_gpu = runtime::find_hardware(o.gpu);
      if (!o.vram.empty()) table_gpu->memory_bytes = runtime::parse_memory_size(o.vram);
      hw.gpu = runtime::gpu_from_table(*table_gpu);
      if (o.gpu_bandwidth > 0) hw.gpu->bandwidth = o.gpu_bandwidth * 1e9;
    } else if (!o.vram.empty()) {
      if (!(o.gpu_bandwidth > 0)) hw.notes.push_back("no --gpu-bandwidth given: assuming 300 GB/s");
      hw.gpu = runtime::gpu_from_numbers(runtime::parse_memory_size(o.vram),
                                         (o.gpu_bandwidth > 0 ? o.gpu_bandwidth : 300) * 1e9);
    } else if (const auto* g = runtime::best_gpu(probe)) {
      hw.gpu = runtime::gpu_from_probe(*g);
      if (o.gpu_bandwidth > 0) hw.gpu->bandwidth = o.gpu_bandwidth * 1e9;
      if (hw.gpu->source.find("guessed") != std::string::npos)
        hw.notes.push_back(
            fmt::format("{} is not in the table: its speed is a guess (--gpu-bandwidth sets it)", g->name));
    } else if (o.gpu_bandwidth > 0) {
      fail("--gpu-bandwidth needs a GPU: none was found (give --gpu NAME or --vram SIZE)");
    }
  }
  const bool apple = table_gpu && table_gpu->spec->kind == runtime::HwKind::Apple;
  // System RAM.
  uint64_t ram;
  std::string ram_how;
  if (!o.ram.empty()) {
    ram = usable_ram(runtime::parse_memory_size(o.ram));
    ram_how = fmt::format("{} given, {} usable", o.ram, human_bytes(ram));
  } else if (apple) {
    ram = usable_ram(table_gpu->memory_bytes);
    ram_how = "unified memory";
  } else {
    ram = probe.ram.available;
    ram_how = "available now";
  }
  // Its bandwidth and the CPU's compute.
  double bw = 0, flops = 0;
  std::string bw_how;
  if (!o.ram_bandwidth.empty()) {
    bw = parse_bandwidth(o.ram_bandwidth, &bw_how);
  } else if (apple) {
    bw = table_gpu->spec->bandwidth_gbs * 1e9 / 2;
    bw_how = "half the unified bandwidth: the CPU cores' share";
  } else if (o.no_measure) {
    bw = 51.2e9 * runtime::kRamPeakToMeasured;
    bw_how = "assumed DDR4-3200 dual channel";
  } else {
    const uint64_t buf = probe.ram.available > (8ull << 30) ? (1ull << 30) : (256ull << 20);
    bw = runtime::measure_read_bandwidth(o.threads, buf);
    bw_how = "measured";
  }
  if (!o.no_measure) flops = runtime::measure_cpu_matmul_flops(o.threads);
  if (!apple && o.ram_bandwidth.empty() && probe.cpu.load_average > probe.cpu.physical_cores)
    hw.notes.push_back(
        fmt::format("this machine is busy (load average {:.1f} on {} cores): what runs on the CPU will be "
                    "slower than predicted{}",
                    probe.cpu.load_average, probe.cpu.physical_cores,
                    o.no_measure ? "" : ", and the measurements may be low"));
  hw.cpu = runtime::cpu_device(probe.cpu, ram, bw, flops);
  hw.cpu.source =
      fmt::format("RAM {}; bandwidth {}; compute {}", ram_how, bw_how, flops > 0 ? "measured" : "estimated");
  return hw;
}

// ---- Words.

std::string tok_s(double v) {
  if (!(v > 0) || !std::isfinite(v)) return "?";
  if (v >= 10) return fmt::format("{:.0f}", v);
  if (v >= 1) return fmt::format("{:.1f}", v);
  return fmt::format("{:.2f}", v);
}

std::string gb(uint64_t b) {
  const double g = static_cast<double>(b) / double(1ull << 30);
  return g >= 10 ? fmt::format("{:.0f} GiB", g) : fmt::format("{:.1f} GiB", g);
}

std::string params_words(uint64_t n) {
  if (n >= 1000000000ull) return fmt::format("{:.1f}B", n / 1e9);
  if (n >= 1000000ull) return fmt::format("{:.1f}M", n / 1e6);
  return fmt::format("{:.1f}K", n / 1e3);
}

// One line saying what the plan means.
std::string headline(const Plan& p) {
  const int64_t L = p.n_layer;
  if (!p.fits) return "does not fit: " + p.problem;
  if (p.has_gpu && p.gpu_layers == L)
    return fmt::format("fits entirely on the GPU at {} tokens, ~{} tok/s (prompts ~{} tok/s)", p.n_ctx,
                       tok_s(p.tg_tok_s), tok_s(p.pp_tok_s));
  if (p.has_gpu && p.gpu_layers > 0)
    return fmt::format(
        "{} of {} layers on the GPU, the rest in system RAM: expect ~{} tok/s (prompts ~{} tok/s)",
        p.gpu_layers, L, tok_s(p.tg_tok_s), tok_s(p.pp_tok_s));
  if (p.has_gpu)
    return fmt::format(
        "no layer fits on the GPU: runs on the CPU from system RAM, expect ~{} tok/s (prompts ~{} tok/s)",
        tok_s(p.tg_tok_s), tok_s(p.pp_tok_s));
  return fmt::format("runs on the CPU from system RAM at {} tokens: expect ~{} tok/s (prompts ~{} tok/s)",
                     p.n_ctx, tok_s(p.tg_tok_s), tok_s(p.pp_tok_s));
}

std::string short_outcome(const Plan& p) {
  if (!p.fits) return fmt::format("still does not fit ({})", p.problem);
  if (p.has_gpu && p.gpu_layers == p.n_layer)
    return fmt::format("fits entirely on the GPU, ~{} tok/s", tok_s(p.tg_tok_s));
  if (p.has_gpu)
    return fmt::format("{} of {} layers on the GPU, ~{} tok/s", p.gpu_layers, p.n_layer, tok_s(p.tg_tok_s));
  return fmt::format("fits in RAM, ~{} tok/s", tok_s(p.tg_tok_s));
}

// ---- What to change for a better fit.

struct Suggestion {
  std::string change;  // "--cache-type q8_0", "--ctx 8192", "quantization Q3_K_M (~3.7 GiB)"
  Plan plan;
};

// Is b a better outcome than a?
bool better(const Plan& a, const Plan& b) {
  if (b.fits != a.fits) return b.fits;
  return b.gpu_layers > a.gpu_layers;
}

// The model's tensors re-typed as a quantization mix would type them (1-D weights stay as they are).
std::vector<gguf::TensorInfo> requantized(const ModelHeader& h, const std::string& mix) {
  const auto pol = quantize::Policy::for_mix(mix);
  const bool has_output = std::any_of(h.tensors.begin(), h.tensors.end(),
                                      [](const gguf::TensorInfo& t) { return t.name == "output.weight"; });
  std::vector<gguf::TensorInfo> out = h.tensors;
  for (auto& t : out) {
    if (t.n_dims < 2 || t.ne[1] <= 1) continue;
    quantize::TensorContext tc;
    tc.name = t.name;
    tc.n_layer = h.hp.n_layer;
    tc.has_output = has_output;
    tc.n_gqa = h.hp.n_head_kv > 0 ? h.hp.n_head / h.hp.n_head_kv : 1;
    tc.arch = h.hp.arch;
    t.type = pol.type_for(tc, t.ne[0]);
    t.nbytes = tensor::row_size(t.type, t.ne[0]) * static_cast<uint64_t>(t.n_rows());
  }
  return out;
}

std::vector<Suggestion> suggestions(const ModelHeader& h, const runtime::ModelCost& cost,
                                    const PlanRequest& req, const Plan& p) {
  std::vector<Suggestion> out;
  out.reserve(8);  // `best` below points into it
  const bool full = p.fits && (!p.has_gpu || p.gpu_layers == p.n_layer);
  if (full || req.gpu_layers >= 0) return out;
  // A shorter context.
  if (p.has_gpu && p.max_ctx_full_gpu >= 512 && p.max_ctx_full_gpu < p.n_ctx) {
    PlanRequest r = req;
    r.n_ctx = p.max_ctx_full_gpu / 256 * 256;
    out.push_back({fmt::format("--ctx {}", r.n_ctx), runtime::plan(cost, r)});
  } else if (!p.fits && p.max_ctx >= 256 && p.max_ctx < p.n_ctx) {
    PlanRequest r = req;
    r.n_ctx = p.max_ctx >= 512 ? p.max_ctx / 256 * 256 : p.max_ctx;
    out.push_back({fmt::format("--ctx {}", r.n_ctx), runtime::plan(cost, r)});
  }
  // A smaller KV cache.
  const Plan* best = &p;
  for (auto ct : {runtime::CacheType::Q8_0, runtime::CacheType::Q4_0}) {
    if (runtime::cache_bytes_per_element(ct) >= runtime::cache_bytes_per_element(req.cache_type)) continue;
    PlanRequest r = req;
    r.cache_type = ct;
    Plan q = runtime::plan(cost, r);
    if (!better(*best, q)) continue;
    out.push_back({fmt::format("--cache-type {}", runtime::cache_type_name(ct)), std::move(q)});
    best = &out.back().plan;
  }
  // A smaller quantization of the same model.
  for (const char* mix : {"Q4_K_M", "Q3_K_M", "Q2_K"}) {
    runtime::ModelCost c;
    try {
      c = h.cost(requantized(h, mix));
    } catch (const Error&) {
      continue;
    }
    if (static_cast<double>(c.total_bytes) > 0.95 * static_cast<double>(cost.total_bytes)) continue;
    Plan q = runtime::plan(c, req);
    if (!better(p, q)) continue;
    const bool done = q.fits && (!q.has_gpu || q.gpu_layers == q.n_layer);
    out.push_back({fmt::format("a {} file (~{})", mix, gb(c.total_bytes)), std::move(q)});
    if (done) break;
  }
  return out;
}

// ---- Output.

nlohmann::json use_json(const runtime::DeviceUse& u) {
  return {{"weights", u.weights},
          {"kv_cache", u.kv_cache},
          {"compute", u.compute},
          {"overhead", u.overhead},
          {"total", u.total()}};
}

nlohmann::json device_json(const DeviceSpec& d) {
  return {{"name", d.name},
          {"memory_bytes", d.memory},
          {"bandwidth_gb_s", d.bandwidth / 1e9},
          {"compute_tflops", (d.flops_q * d.compute_efficiency) / 1e12},
          {"unified", d.unified},
          {"source", d.source}};
}

nlohmann::json plan_json(const Plan& p) {
  return {{"gpu_layers", p.gpu_layers},
          {"total_layers", p.n_layer},
          {"output_on_gpu", p.output_on_gpu},
          {"context", p.n_ctx},
          {"parallel", p.n_seq},
          {"batch", p.n_batch},
          {"cache_type", runtime::cache_type_name(p.cache_type)},
          {"fits", p.fits},
          {"problem", p.problem},
          {"gpu_bytes", p.gpu.total()},
          {"cpu_bytes", p.cpu.total()},
          {"gpu_capacity_bytes", p.gpu_capacity},
          {"cpu_capacity_bytes", p.cpu_capacity},
          {"gpu", use_json(p.gpu)},
          {"cpu", use_json(p.cpu)},
          {"max_context_full_gpu", p.max_ctx_full_gpu},
          {"max_context", p.max_ctx},
          {"predicted_tg_tok_s", p.tg_tok_s},
          {"predicted_tg_tok_s_full_context", p.tg_tok_s_full_ctx},
          {"predicted_pp_tok_s", p.pp_tok_s}};
}

void print_table(const Plan& p) {
  auto row = [&](const char* what, uint64_t g, uint64_t c) {
    if (p.has_gpu)
      fmt::print("  {:<10} {:>12} {:>12}\n", what, human_bytes(g), human_bytes(c));
    else
      fmt::print("  {:<10} {:>12}\n", what, human_bytes(c));
  };
  if (p.has_gpu)
    fmt::print("  {:<10} {:>12} {:>12}\n", "", "GPU", "CPU");
  else
    fmt::print("  {:<10} {:>12}\n", "", "CPU");
  row("weights", p.gpu.weights, p.cpu.weights);
  row("KV cache", p.gpu.kv_cache, p.cpu.kv_cache);
  row("buffers", p.gpu.compute, p.cpu.compute);
  row("overhead", p.gpu.overhead, p.cpu.overhead);
  row("total", p.gpu.total(), p.cpu.total());
  row("of", p.gpu_capacity, p.cpu_capacity);
}

int run(const Opts& o) {
  const ModelHeader h = read_model(o.model);
  const auto cost = h.cost(h.tensors);
  const Hardware hw = resolve_hardware(o);
  PlanRequest req;
  req.n_ctx = o.ctx >= 0 ? o.ctx : std::min<int64_t>(h.hp.n_ctx_train, 4096);
  req.n_seq = o.parallel;
  req.n_batch = o.batch;
  req.cache_type = runtime::cache_type_from_name(o.cache_type);
  req.gpu_layers = o.gpu_layers;
  req.gpu = hw.gpu;
  req.cpu = hw.cpu;
  const Plan p = runtime::plan(cost, req);
  const auto sugg = suggestions(h, cost, req, p);

  if (o.json) {
    nlohmann::json j = plan_json(p);
    j["model"] = {{"name", h.display},
                  {"source", h.where},
                  {"architecture", h.hp.arch},
                  {"parameters", cost.n_params},
                  {"bytes", cost.total_bytes},
                  {"file_type", h.file_type},
                  {"context_length", h.hp.n_ctx_train}};
    j["hardware"] = {{"gpu", hw.gpu ? device_json(*hw.gpu) : nlohmann::json()}, {"cpu", device_json(hw.cpu)}};
    j["notes"] = hw.notes;
    nlohmann::json s = nlohmann::json::array();
    for (const auto& x : sugg) {
      nlohmann::json e = plan_json(x.plan);
      e["change"] = x.change;
      e["outcome"] = short_outcome(x.plan);
      s.push_back(std::move(e));
    }
    j["suggestions"] = std::move(s);
    fmt::print("{}\n", j.dump(2));
    return 0;
  }
  fmt::print("model    {}: {}, {} layers, {} parameters, {}{}, trained for {} tokens\n", h.display, h.hp.arch,
             h.hp.n_layer, params_words(cost.n_params), human_bytes(cost.total_bytes),
             h.file_type.empty() ? "" : " (" + h.file_type + ")", h.hp.n_ctx_train);
  if (hw.gpu)
    fmt::print("GPU      {}: {} usable, {:.0f} GB/s [{}]\n", hw.gpu->name, human_bytes(hw.gpu->memory),
               hw.gpu->bandwidth / 1e9, hw.gpu->source);
  else
    fmt::print("GPU      none{}\n", o.no_gpu ? " (--no-gpu)" : " found");
  fmt::print("CPU      {}: {} of RAM, {:.1f} GB/s, {:.0f} GFLOP/s [{}]\n", hw.cpu.name,
             human_bytes(hw.cpu.memory), hw.cpu.bandwidth / 1e9, hw.cpu.flops_q / 1e9, hw.cpu.source);
  fmt::print("context  {} tokens{}, KV cache {}\n", p.n_ctx,
             p.n_seq > 1 ? fmt::format(" x {} sequences", p.n_seq) : "",
             runtime::cache_type_name(p.cache_type));
  for (const auto& n : hw.notes) fmt::print("note     {}\n", n);
  fmt::print("\n{}\n", headline(p));
  if (p.has_gpu) {
    if (p.max_ctx_full_gpu >= std::max(h.hp.n_ctx_train, p.n_ctx))
      fmt::print("  the whole model fits on the GPU even with its full context of {} tokens\n",
                 p.max_ctx_full_gpu);
    else if (p.max_ctx_full_gpu > 0)
      fmt::print("  the whole model fits on the GPU with up to {} tokens of context\n", p.max_ctx_full_gpu);
    else
      fmt::print("  the weights alone are larger than the GPU's memory\n");
  }
  if (p.fits && p.n_ctx > 1024)
    fmt::print("  with the context full, generation slows to ~{} tok/s\n", tok_s(p.tg_tok_s_full_ctx));
  fmt::print("\n");
  print_table(p);
  if (!sugg.empty()) {
    fmt::print("\nto fit better:\n");
    for (const auto& s : sugg) fmt::print("  {:<28} {}\n", s.change, short_outcome(s.plan));
  }
  return 0;
}

HEARTH_COMMAND(42, [](CLI::App& app) {
  auto o = std::make_shared<Opts>();
  auto* c = app.add_subcommand(
      "fit", "will a model fit this machine (or the hardware named), and how fast will it run?");
  c->add_option("model", o->model, "model: GGUF path, store name or URL (only the header is read)")
      ->required();
  c->add_option("-c,--ctx", o->ctx,
                "context tokens per sequence (default: the model's, at most 4096; 0: the model's)")
      ->check(CLI::Range(int64_t{0}, int64_t{1} << 24));
  c->add_option("--parallel", o->parallel, "parallel sequences, each with its own context")
      ->check(CLI::Range(1, 1024));
  c->add_option("-b,--batch", o->batch, "prompt tokens per forward pass")
      ->check(CLI::Range(int64_t{1}, int64_t{65536}));
  c->add_option("--cache-type", o->cache_type, "KV cache type: f16, q8_0 or q4_0");
  c->add_option("--gpu", o->gpu,
                "plan for this GPU from the table, e.g. \"RTX 3060 12GB\", \"M2 Max 64GB\" (hw --list)");
  c->add_option("--vram", o->vram, "GPU memory, e.g. 12GiB (with --gpu: overrides the table's)");
  c->add_option("--gpu-bandwidth", o->gpu_bandwidth, "GPU memory bandwidth, GB/s")
      ->check(CLI::Range(1.0, 100000.0));
  c->add_flag("--no-gpu", o->no_gpu, "plan for the CPU only");
  c->add_option("--ram", o->ram, "system RAM, e.g. 32GiB (default: what is available now)");
  c->add_option("--ram-bandwidth", o->ram_bandwidth,
                "RAM read bandwidth in GB/s, or a memory type (\"DDR5-6000\"); default: measured");
  c->add_option("--gpu-layers", o->gpu_layers, "force this many layers on the GPU")
      ->check(CLI::Range(0, 100000));
  c->add_option("-t,--threads", o->threads, "threads for the measurements (default: physical cores)")
      ->check(CLI::Range(0, 1024));
  c->add_flag("--no-measure", o->no_measure,
              "do not measure this machine (estimate its bandwidth and compute)");
  c->add_flag("--json", o->json, "print the plan as JSON");
  return std::function<int()>([o] { return run(*o); });
});

}  // namespace
}  // namespace hearth::cli
