#include "runtime/hw_table.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>

#include "base/error.h"

namespace hearth::runtime {

namespace {

constexpr HwKind G = HwKind::Gpu, A = HwKind::Apple, M = HwKind::Memory;

// Peak figures from the makers' specifications (dense, no sparsity). fp16: tensor/matrix units with fp16
// accumulation where the chip has them; int8: the rate quantized matmuls use (tensor int8, DP4A or, on
// RDNA3 and Apple, the fp16 rate). Order matters for ties: the common variant of a name comes first.
const std::vector<HwSpec> kTable = {
    // NVIDIA GeForce
    {"NVIDIA GeForce GTX 1060", G, 6, 192, 0.1, 15.6},
    {"NVIDIA GeForce GTX 1660 Super", G, 6, 336, 10.1, 20.1},
    {"NVIDIA GeForce GTX 1080 Ti", G, 11, 484, 0.2, 45.4},
    {"NVIDIA GeForce RTX 2060", G, 6, 336, 51.6, 103},
    {"NVIDIA GeForce RTX 2070", G, 8, 448, 59.7, 119},
    {"NVIDIA GeForce RTX 2080 Ti", G, 11, 616, 107.6, 215},
    {"NVIDIA GeForce RTX 3050", G, 8, 224, 36.4, 73},
    {"NVIDIA GeForce RTX 3060", G, 12, 360, 51.2, 102},
    {"NVIDIA GeForce RTX 3060", G, 8, 240, 51.2, 102},
    {"NVIDIA GeForce RTX 3060 Ti", G, 8, 448, 64.8, 130},
    {"NVIDIA GeForce RTX 3070", G, 8, 448, 81.3, 163},
    {"NVIDIA GeForce RTX 3070 Ti", G, 8, 608, 87.0, 174},
    {"NVIDIA GeForce RTX 3080", G, 10, 760, 119, 238},
    {"NVIDIA GeForce RTX 3080", G, 12, 912, 122.6, 245},
    {"NVIDIA GeForce RTX 3080 Ti", G, 12, 912, 136.4, 273},
    {"NVIDIA GeForce RTX 3090", G, 24, 936, 142.3, 285},
    {"NVIDIA GeForce RTX 3090 Ti", G, 24, 1008, 160, 320},
    {"NVIDIA GeForce RTX 4060", G, 8, 272, 60.4, 121},
    {"NVIDIA GeForce RTX 4060 Ti", G, 16, 288, 88.3, 177},
    {"NVIDIA GeForce RTX 4060 Ti", G, 8, 288, 88.3, 177},
    {"NVIDIA GeForce RTX 4070", G, 12, 504, 116.6, 233},
    {"NVIDIA GeForce RTX 4070 Super", G, 12, 504, 141.9, 284},
    {"NVIDIA GeForce RTX 4070 Ti", G, 12, 504, 160.4, 321},
    {"NVIDIA GeForce RTX 4070 Ti Super", G, 16, 672, 176.4, 353},
    {"NVIDIA GeForce RTX 4080", G, 16, 717, 195, 390},
    {"NVIDIA GeForce RTX 4080 Super", G, 16, 736, 209, 418},
    {"NVIDIA GeForce RTX 4090", G, 24, 1008, 330, 661},
    {"NVIDIA GeForce RTX 5060", G, 8, 448, 76.8, 154},
    {"NVIDIA GeForce RTX 5060 Ti", G, 16, 448, 94.7, 189},
    {"NVIDIA GeForce RTX 5060 Ti", G, 8, 448, 94.7, 189},
    {"NVIDIA GeForce RTX 5070", G, 12, 672, 123.4, 247},
    {"NVIDIA GeForce RTX 5070 Ti", G, 16, 896, 175.6, 351},
    {"NVIDIA GeForce RTX 5080", G, 16, 960, 225, 450},
    {"NVIDIA GeForce RTX 5090", G, 32, 1792, 419, 838},
    // NVIDIA workstation and data centre
    {"NVIDIA Tesla T4", G, 16, 320, 65, 130},
    {"NVIDIA Tesla V100", G, 16, 900, 125, 62},
    {"NVIDIA A10", G, 24, 600, 125, 250},
    {"NVIDIA L4", G, 24, 300, 121, 242},
    {"NVIDIA RTX A6000", G, 48, 768, 155, 310},
    {"NVIDIA RTX 6000 Ada", G, 48, 960, 364, 728},
    {"NVIDIA A100", G, 80, 2039, 312, 624},
    {"NVIDIA A100", G, 40, 1555, 312, 624},
    {"NVIDIA H100", G, 80, 3350, 989, 1979},
    // AMD Radeon
    {"AMD Radeon RX 6600", G, 8, 224, 17.9, 35.7},
    {"AMD Radeon RX 6600 XT", G, 8, 256, 21.2, 42.4},
    {"AMD Radeon RX 6700 XT", G, 12, 384, 26.4, 52.9},
    {"AMD Radeon RX 6750 XT", G, 12, 432, 26.6, 53.2},
    {"AMD Radeon RX 6800", G, 16, 512, 32.3, 64.6},
    {"AMD Radeon RX 6800 XT", G, 16, 512, 41.5, 83.0},
    {"AMD Radeon RX 6900 XT", G, 16, 512, 46.1, 92.2},
    {"AMD Radeon RX 6950 XT", G, 16, 576, 47.3, 94.6},
    {"AMD Radeon RX 7600", G, 8, 288, 43.5, 43.5},
    {"AMD Radeon RX 7600 XT", G, 16, 288, 45.1, 45.1},
    {"AMD Radeon RX 7700 XT", G, 12, 432, 70.3, 70.3},
    {"AMD Radeon RX 7800 XT", G, 16, 624, 74.6, 74.6},
    {"AMD Radeon RX 7900 GRE", G, 16, 576, 91.9, 91.9},
    {"AMD Radeon RX 7900 XT", G, 20, 800, 103, 103},
    {"AMD Radeon RX 7900 XTX", G, 24, 960, 122.8, 122.8},
    {"AMD Radeon RX 9070", G, 16, 640, 144.5, 289},
    {"AMD Radeon RX 9070 XT", G, 16, 640, 194.6, 389},
    // Intel Arc
    {"Intel Arc A750", G, 8, 512, 117.6, 235},
    {"Intel Arc A770", G, 16, 560, 137.6, 275},
    {"Intel Arc A770", G, 8, 512, 137.6, 275},
    {"Intel Arc B570", G, 10, 380, 101, 203},
    {"Intel Arc B580", G, 12, 456, 117, 233},
    // Apple silicon: unified memory (the common configuration; "M2 Max 64GB" picks another size).
    {"Apple M1", A, 16, 68, 2.6, 2.6},
    {"Apple M1 Pro", A, 16, 200, 5.2, 5.2},
    {"Apple M1 Max", A, 32, 400, 10.4, 10.4},
    {"Apple M1 Ultra", A, 64, 800, 21.0, 21.0},
    {"Apple M2", A, 16, 100, 3.6, 3.6},
    {"Apple M2 Pro", A, 16, 200, 6.8, 6.8},
    {"Apple M2 Max", A, 32, 400, 13.6, 13.6},
    {"Apple M2 Ultra", A, 64, 800, 27.2, 27.2},
    {"Apple M3", A, 16, 100, 4.1, 4.1},
    {"Apple M3 Pro", A, 18, 150, 7.4, 7.4},
    {"Apple M3 Max", A, 36, 400, 16.4, 16.4},
    {"Apple M3 Ultra", A, 96, 819, 28.4, 28.4},
    {"Apple M4", A, 16, 120, 4.3, 4.3},
    {"Apple M4 Pro", A, 24, 273, 9.2, 9.2},
    {"Apple M4 Max", A, 36, 546, 18.4, 18.4},
    // System memory, peak (MT/s x 8 bytes x channels).
    {"DDR4-2400 dual channel", M, 0, 38.4, 0, 0},
    {"DDR4-2666 dual channel", M, 0, 42.7, 0, 0},
    {"DDR4-3200 dual channel", M, 0, 51.2, 0, 0},
    {"DDR4-3600 dual channel", M, 0, 57.6, 0, 0},
    {"DDR5-4800 dual channel", M, 0, 76.8, 0, 0},
    {"DDR5-5600 dual channel", M, 0, 89.6, 0, 0},
    {"DDR5-6000 dual channel", M, 0, 96.0, 0, 0},
    {"DDR5-6400 dual channel", M, 0, 102.4, 0, 0},
    {"LPDDR5-6400 128-bit", M, 0, 102.4, 0, 0},
    {"LPDDR5X-8533 128-bit", M, 0, 136.5, 0, 0},
    {"DDR4-3200 quad channel", M, 0, 102.4, 0, 0},
    {"DDR5-4800 eight channel", M, 0, 307.2, 0, 0},
};

// Words that say nothing about which device is meant.
bool is_filler(const std::string& w) {
  static const char* const kWords[] = {"nvidia",  "geforce", "amd",      "radeon", "intel", "apple",
                                       "arc",     "tesla",   "graphics", "gpu",    "card",  "with",
                                       "unified", "memory",  "ram",      "channel"};
  for (const char* k : kWords)
    if (w == k) return true;
  return false;
}

struct Words {
  std::vector<std::string> words;
  double memory_gib = 0;  // a "12GB" word, when present
};

// Lower-cased words, letters and digits split ("4060ti" -> 4060 ti, "m2" -> m 2); sizes ("12GB",
// "12 GB", "24gib") become memory_gib.
Words split_words(std::string_view s) {
  std::vector<std::string> raw;
  std::string cur;
  auto flush = [&] {
    if (!cur.empty()) raw.push_back(cur);
    cur.clear();
  };
  for (char ch : s) {
    const unsigned char c = static_cast<unsigned char>(ch);
    if (std::isalnum(c) ||
        (ch == '.' && !cur.empty() && std::isdigit(static_cast<unsigned char>(cur.back())))) {
      cur += static_cast<char>(std::tolower(c));
    } else {
      flush();
    }
  }
  flush();
  Words out;
  auto is_unit = [](const std::string& u) { return u == "gb" || u == "gib" || u == "g"; };
  for (size_t i = 0; i < raw.size(); ++i) {
    const std::string& w = raw[i];
    size_t digits = 0;
    while (digits < w.size() && (std::isdigit(static_cast<unsigned char>(w[digits])) || w[digits] == '.'))
      ++digits;
    if (digits > 0 && digits < w.size() && is_unit(w.substr(digits))) {
      out.memory_gib = std::atof(w.substr(0, digits).c_str());
      continue;
    }
    if (digits == w.size() && i + 1 < raw.size() && is_unit(raw[i + 1])) {
      out.memory_gib = std::atof(w.c_str());
      ++i;
      continue;
    }
    // Split at letter/digit boundaries.
    std::string part;
    for (size_t k = 0; k < w.size(); ++k) {
      const bool d = std::isdigit(static_cast<unsigned char>(w[k])) || w[k] == '.';
      if (!part.empty()) {
        const bool pd = std::isdigit(static_cast<unsigned char>(part.back())) || part.back() == '.';
        if (pd != d) {
          out.words.push_back(part);
          part.clear();
        }
      }
      part += w[k];
    }
    if (!part.empty()) out.words.push_back(part);
  }
  out.words.erase(std::remove_if(out.words.begin(), out.words.end(), is_filler), out.words.end());
  return out;
}

bool kind_ok(const HwSpec& h, bool memory) {
  return memory ? h.kind == HwKind::Memory : h.kind != HwKind::Memory;
}

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j)
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::string joined(const std::vector<std::string>& w) {
  std::string s;
  for (const auto& x : w) s += x;
  return s;
}

uint64_t gib(double g) { return static_cast<uint64_t>(std::llround(g * 1024.0)) << 20; }

}  // namespace

std::string HwSpec::display() const {
  auto num = [](double v) { return v == std::floor(v) ? fmt::format("{:.0f}", v) : fmt::format("{}", v); };
  if (kind == HwKind::Gpu) return fmt::format("{} {}GB", name, num(memory_gib));
  if (kind == HwKind::Apple) return fmt::format("{} ({}GB unified)", name, num(memory_gib));
  return name;
}

const std::vector<HwSpec>& hardware_table() { return kTable; }

HwMatch lookup_hardware(std::string_view query, bool memory) {
  const Words q = split_words(query);
  HwMatch best;
  if (q.words.empty()) return best;
  size_t best_extra = SIZE_MAX;
  for (const auto& h : kTable) {
    if (!kind_ok(h, memory)) continue;
    const Words e = split_words(h.name);
    bool all = true;
    for (const auto& w : q.words)
      if (std::find(e.words.begin(), e.words.end(), w) == e.words.end()) all = false;
    if (!all) continue;
    // A size in the query must be the card's size (Apple chips come in many sizes: it picks one).
    if (q.memory_gib > 0 && h.kind == HwKind::Gpu && std::fabs(q.memory_gib - h.memory_gib) > 0.01) continue;
    const size_t extra = e.words.size() - q.words.size();
    if (extra < best_extra) {
      best_extra = extra;
      best.spec = &h;
    }
  }
  if (best.spec) {
    double mem = best.spec->memory_gib;
    if (best.spec->kind == HwKind::Apple && q.memory_gib >= 4 && q.memory_gib <= 1024) mem = q.memory_gib;
    best.memory_bytes = gib(mem);
  }
  return best;
}

std::vector<std::string> close_hardware(std::string_view query, size_t n, bool memory) {
  const Words q = split_words(query);
  const std::string qs = joined(q.words);
  struct Scored {
    size_t common;
    size_t dist;
    size_t index;
  };
  std::vector<Scored> v;
  for (size_t i = 0; i < kTable.size(); ++i) {
    if (!kind_ok(kTable[i], memory)) continue;
    const Words e = split_words(kTable[i].name);
    size_t common = 0;
    for (const auto& w : q.words)
      if (std::find(e.words.begin(), e.words.end(), w) != e.words.end()) ++common;
    v.push_back({common, edit_distance(qs, joined(e.words)), i});
  }
  std::stable_sort(v.begin(), v.end(), [](const Scored& a, const Scored& b) {
    return a.common != b.common ? a.common > b.common : a.dist < b.dist;
  });
  std::vector<std::string> out;
  for (size_t i = 0; i < v.size() && out.size() < n; ++i) out.push_back(kTable[v[i].index].display());
  return out;
}

HwMatch find_hardware(std::string_view query, bool memory) {
  HwMatch m = lookup_hardware(query, memory);
  if (m.spec) return m;
  std::string list;
  for (const auto& s : close_hardware(query, 5, memory)) list += "\n  " + s;
  fail(
      "unknown {} '{}'; close matches:{}\n(`hearth hw --list` shows the whole table; or give the numbers: "
      "{})",
      memory ? "memory type" : "GPU", query, list,
      memory ? "--ram-bandwidth GB/s" : "--vram SIZE --gpu-bandwidth GB/s");
}

uint64_t parse_memory_size(std::string_view s) {
  std::string t;
  for (char c : s)
    if (!std::isspace(static_cast<unsigned char>(c)))
      t += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  size_t i = 0;
  while (i < t.size() && (std::isdigit(static_cast<unsigned char>(t[i])) || t[i] == '.')) ++i;
  const std::string num = t.substr(0, i), unit = t.substr(i);
  char* end = nullptr;
  const double v = std::strtod(num.c_str(), &end);
  if (num.empty() || end != num.c_str() + num.size() || !(v > 0) || !std::isfinite(v))
    fail("'{}' is not a memory size (e.g. 12GiB, 24GB, 16384MiB)", s);
  double mult;
  if (unit.empty() || unit == "g" || unit == "gb" || unit == "gib")
    mult = 1024.0 * 1024 * 1024;
  else if (unit == "m" || unit == "mb" || unit == "mib")
    mult = 1024.0 * 1024;
  else if (unit == "t" || unit == "tb" || unit == "tib")
    mult = 1024.0 * 1024 * 1024 * 1024;
  else
    fail("'{}' is not a memory size: unknown unit '{}' (use GiB, MiB or TiB)", s, unit);
  const double bytes = v * mult;
  if (bytes < 1024.0 * 1024 || bytes > 64.0 * 1024 * 1024 * 1024 * 1024)
    fail("memory size '{}' is out of range (1 MiB .. 64 TiB)", s);
  return static_cast<uint64_t>(bytes);
}

uint64_t apple_gpu_share(uint64_t unified) {
  return unified >= (36ull << 30) ? unified / 4 * 3 : unified / 3 * 2;
}

DeviceSpec gpu_from_table(const HwMatch& m) {
  if (!m.spec) fail("no hardware given");
  const HwSpec& h = *m.spec;
  DeviceSpec d;
  d.gpu = true;
  d.source = "table";
  d.bandwidth = h.bandwidth_gbs * 1e9;
  d.flops_f16 = h.fp16_tflops * 1e12;
  d.flops_q = h.int8_tops * 1e12;
  d.bandwidth_efficiency = kGpuBandwidthEfficiency;
  d.layer_overhead_s = kGpuLayerOverheadS;
  d.overhead_bytes = kGpuOverheadBytes;
  if (h.kind == HwKind::Apple) {
    d.name = fmt::format("{} ({}GB unified)", h.name, m.memory_bytes >> 30);
    d.memory = apple_gpu_share(m.memory_bytes);
    d.unified = true;
    d.compute_efficiency = kAppleComputeEfficiency;
  } else {
    d.name = h.display();
    d.memory = m.memory_bytes;
    d.compute_efficiency = kGpuComputeEfficiency;
  }
  return d;
}

DeviceSpec gpu_from_numbers(uint64_t memory, double bandwidth) {
  DeviceSpec d;
  d.gpu = true;
  d.source = "options";
  d.name = fmt::format("GPU with {:.1f} GiB at {:.0f} GB/s", memory / double(1ull << 30), bandwidth / 1e9);
  d.memory = memory;
  d.bandwidth = bandwidth;
  // Consumer GPUs of the table have ~0.25 int8 TOPS per GB/s of bandwidth (RTX 3060: 102 / 360).
  d.flops_q = bandwidth * 250.0;
  d.flops_f16 = d.flops_q / 2;
  d.bandwidth_efficiency = kGpuBandwidthEfficiency;
  d.compute_efficiency = kGpuComputeEfficiency;
  d.layer_overhead_s = kGpuLayerOverheadS;
  d.overhead_bytes = kGpuOverheadBytes;
  return d;
}

DeviceSpec gpu_from_probe(const GpuInfo& g) {
  DeviceSpec d;
  const HwMatch m = lookup_hardware(g.name);
  const bool apple = g.vendor == "Apple";
  if (m.spec && (!apple || m.spec->kind == HwKind::Apple)) {
    HwMatch mm = m;
    mm.memory_bytes = g.memory_total;
    d = gpu_from_table(mm);
    d.source = "probe+table";
  } else {
    // Unknown card: a modest guess (an integrated GPU reads system RAM).
    d = gpu_from_numbers(g.memory_total, g.unified ? 60e9 : 300e9);
    d.source = "probe (speed guessed)";
  }
  d.name = g.name;
  d.memory = g.usable();
  d.unified = g.unified;
  if (g.bandwidth > 0) d.bandwidth = g.bandwidth;
  return d;
}

DeviceSpec cpu_device(const CpuInfo& cpu, uint64_t available, double bandwidth, double matmul_flops) {
  DeviceSpec d;
  d.name = fmt::format("{} ({} cores)", cpu.model, cpu.physical_cores);
  d.gpu = false;
  d.source = "probe";
  d.memory = available;
  d.bandwidth = bandwidth;
  d.flops_q = matmul_flops > 0 ? matmul_flops : estimate_cpu_matmul_flops(cpu);
  d.flops_f16 = d.flops_q;
  d.bandwidth_efficiency = kCpuBandwidthEfficiency;
  d.compute_efficiency = kCpuComputeEfficiency;  // the rest of the forward pass around the matmuls
  d.layer_overhead_s = kCpuLayerOverheadS;
  return d;
}

}  // namespace hearth::runtime
