// `hearth hw`: what this machine has for running models: CPU, system RAM and GPUs with their memory
// (found at run time through Vulkan, NVML or sysctl; absent libraries simply mean no GPU). `--measure`
// adds the measured memory bandwidth and matmul throughput; `--list` prints the hardware table that
// `hearth fit --gpu NAME` plans with.
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "cli/common.h"
#include "runtime/hw.h"
#include "runtime/hw_probe.h"
#include "runtime/hw_table.h"

namespace hearth::cli {
namespace {

struct Opts {
  bool json = false;
  bool measure = false;
  bool list = false;
  int threads = 0;
};

std::string join(const std::vector<std::string>& v, const char* sep) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : sep) + x;
  return s;
}

const char* kind_name(runtime::HwKind k) {
  switch (k) {
    case runtime::HwKind::Gpu:
      return "gpu";
    case runtime::HwKind::Apple:
      return "apple";
    case runtime::HwKind::Memory:
      return "memory";
  }
  return "?";
}

int list_table(bool json) {
  const auto& t = runtime::hardware_table();
  if (json) {
    nlohmann::json a = nlohmann::json::array();
    for (const auto& h : t)
      a.push_back({{"name", h.display()},
                   {"kind", kind_name(h.kind)},
                   {"memory_gib", h.memory_gib},
                   {"bandwidth_gb_s", h.bandwidth_gbs},
                   {"fp16_tflops", h.fp16_tflops},
                   {"int8_tops", h.int8_tops}});
    fmt::print("{}\n", a.dump(2));
    return 0;
  }
  fmt::print("{:<44} {:>8} {:>10} {:>10} {:>10}\n", "hardware", "memory", "bandwidth", "fp16", "int8");
  for (const auto& h : t) {
    const std::string mem = h.kind == runtime::HwKind::Memory ? "-" : fmt::format("{:g} GB", h.memory_gib);
    const std::string f16 = h.fp16_tflops > 0 ? fmt::format("{:g} TF", h.fp16_tflops) : "-";
    const std::string i8 = h.int8_tops > 0 ? fmt::format("{:g} TOPS", h.int8_tops) : "-";
    fmt::print("{:<44} {:>8} {:>10} {:>10} {:>10}\n", h.name, mem, fmt::format("{:g} GB/s", h.bandwidth_gbs),
               f16, i8);
  }
  fmt::print("\nApple chips come in several memory sizes: `--gpu \"M2 Max 64GB\"`.\n");
  return 0;
}

int run(const Opts& o) {
  if (o.list) return list_table(o.json);
  const auto hw = runtime::probe_hardware();
  double bw = 0, flops = 0;
  if (o.measure) {
    const uint64_t buf = hw.ram.available > (8ull << 30) ? (1ull << 30) : (256ull << 20);
    bw = runtime::measure_read_bandwidth(o.threads, buf);
    flops = runtime::measure_cpu_matmul_flops(o.threads);
  }
  if (o.json) {
    nlohmann::json j;
    j["cpu"] = {{"model", hw.cpu.model},
                {"physical_cores", hw.cpu.physical_cores},
                {"logical_cores", hw.cpu.logical_cores},
                {"features", hw.cpu.features},
                {"kernels", kernels_name()}};
    j["ram"] = {{"total_bytes", hw.ram.total},
                {"available_bytes", hw.ram.available},
                {"container_limit", hw.ram.container_limit}};
    nlohmann::json gpus = nlohmann::json::array();
    for (const auto& g : hw.gpus) {
      nlohmann::json x = {{"name", g.name},
                          {"vendor", g.vendor},
                          {"type", g.type},
                          {"source", g.source},
                          {"memory_total_bytes", g.memory_total},
                          {"unified", g.unified},
                          {"driver", g.driver}};
      x["memory_free_bytes"] = g.free_known ? nlohmann::json(g.memory_free) : nlohmann::json();
      x["bandwidth_gb_s"] = g.bandwidth > 0 ? nlohmann::json(g.bandwidth / 1e9) : nlohmann::json();
      const auto m = runtime::lookup_hardware(g.name);
      x["table_match"] = m.spec ? nlohmann::json(m.spec->display()) : nlohmann::json();
      gpus.push_back(std::move(x));
    }
    j["gpus"] = std::move(gpus);
    j["notes"] = hw.notes;
    if (o.measure) j["measured"] = {{"ram_bandwidth_gb_s", bw / 1e9}, {"cpu_matmul_gflops", flops / 1e9}};
    fmt::print("{}\n", j.dump(2));
    return 0;
  }
  fmt::print("CPU   {} ({} cores, {} threads), kernels {}\n", hw.cpu.model, hw.cpu.physical_cores,
             hw.cpu.logical_cores, kernels_name());
  if (!hw.cpu.features.empty()) fmt::print("      {}\n", join(hw.cpu.features, " "));
  fmt::print("RAM   {} total, {} available{}\n", human_bytes(hw.ram.total), human_bytes(hw.ram.available),
             hw.ram.container_limit ? " (container limit)" : "");
  if (o.measure)
    fmt::print("      {:.1f} GB/s read bandwidth, {:.0f} GFLOP/s quantized matmul (measured)\n", bw / 1e9,
               flops / 1e9);
  if (hw.gpus.empty()) fmt::print("GPU   none found\n");
  for (const auto& g : hw.gpus) {
    std::string mem = human_bytes(g.memory_total);
    if (g.free_known) mem += fmt::format(", {} free", human_bytes(g.memory_free));
    std::string extra;
    if (g.bandwidth > 0) extra += fmt::format(", {:.0f} GB/s", g.bandwidth / 1e9);
    if (g.unified) extra += ", unified memory";
    if (!g.is_gpu()) extra += ", software renderer: not used";
    fmt::print("GPU   {} ({} {}, {}){} [{}]\n", g.name, g.vendor, g.type, mem, extra, g.source);
  }
  for (const auto& n : hw.notes) fmt::print("      {}\n", n);
  return 0;
}

HEARTH_COMMAND(95, [](CLI::App& app) {
  auto o = std::make_shared<Opts>();
  auto* c = app.add_subcommand("hw", "show this machine's CPU, RAM and GPUs (what `fit` plans with)");
  c->add_flag("--json", o->json, "print as JSON");
  c->add_flag("--measure", o->measure,
              "also measure memory bandwidth and matmul throughput (about a second)");
  c->add_flag("--list", o->list, "print the table of known hardware used by `fit --gpu NAME`");
  c->add_option("-t,--threads", o->threads, "threads for --measure (default: physical cores)")
      ->check(CLI::Range(0, 1024));
  return std::function<int()>([o] { return run(*o); });
});

}  // namespace
}  // namespace hearth::cli
