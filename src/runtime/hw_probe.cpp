#include "runtime/hw_probe.h"

#include <dlfcn.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include "backend/backend.h"
#include "base/cpu.h"
#include "base/log.h"
#include "base/thread_pool.h"
#include "tensor/types.h"

#if defined(__APPLE__)
#include <mach/mach.h>
#include <sys/sysctl.h>
#endif

namespace hearth::runtime {

namespace {

std::string read_text(const char* path) {
  std::ifstream in(path);
  if (!in) return {};
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A cgroup memory value: a byte count, or "max" (no limit: returns 0).
uint64_t cgroup_value(const std::string& text) {
  if (text.empty() || text.rfind("max", 0) == 0) return 0;
  char* end = nullptr;
  const unsigned long long v = std::strtoull(text.c_str(), &end, 10);
  if (end == text.c_str()) return 0;
  if (v >= (1ull << 60)) return 0;  // cgroup v1 reports "no limit" as a huge number
  return v;
}

// The container's limit and what it leaves free, when a cgroup limits memory.
void apply_cgroup_limit(MemoryInfo& m) {
  uint64_t limit = cgroup_value(read_text("/sys/fs/cgroup/memory.max"));
  uint64_t used = cgroup_value(read_text("/sys/fs/cgroup/memory.current"));
  uint64_t reclaimable = 0;
  if (limit) {
    std::istringstream st(read_text("/sys/fs/cgroup/memory.stat"));
    std::string key;
    uint64_t v = 0;
    while (st >> key >> v)
      if (key == "inactive_file") reclaimable = v;
  } else {
    limit = cgroup_value(read_text("/sys/fs/cgroup/memory/memory.limit_in_bytes"));
    used = cgroup_value(read_text("/sys/fs/cgroup/memory/memory.usage_in_bytes"));
  }
  if (!limit || (m.total && limit >= m.total)) return;
  m.container_limit = true;
  m.total = limit;
  const uint64_t in_use = used > reclaimable ? used - reclaimable : 0;
  const uint64_t left = limit > in_use ? limit - in_use : 0;
  m.available = m.available ? std::min(m.available, left) : left;
}

std::vector<std::string> simd_features(const CpuFeatures& f) {
  std::vector<std::string> v;
  auto add = [&](bool on, const char* name) {
    if (on) v.push_back(name);
  };
  add(f.sse42, "sse4.2");
  add(f.avx, "avx");
  add(f.avx2, "avx2");
  add(f.fma, "fma");
  add(f.f16c, "f16c");
  add(f.avxvnni, "avx-vnni");
  add(f.avx512f, "avx512f");
  add(f.avx512bw, "avx512bw");
  add(f.avx512vl, "avx512vl");
  add(f.avx512vnni, "avx512vnni");
  add(f.avx512bf16, "avx512bf16");
  add(f.neon, "neon");
  add(f.dotprod, "dotprod");
  return v;
}

std::string vendor_name(uint32_t id) {
  switch (id) {
    case 0x10DE:
      return "NVIDIA";
    case 0x1002:
    case 0x1022:
      return "AMD";
    case 0x8086:
      return "Intel";
    case 0x106B:
      return "Apple";
    case 0x13B5:
      return "ARM";
    case 0x5143:
      return "Qualcomm";
    case 0x1010:
      return "Imagination";
    case 0x10005:
      return "Mesa";
    default:
      return "unknown";
  }
}

// ---- Vulkan, declared here (the subset used) so that no Vulkan headers or library are needed to build.
namespace vk {
using Result = int32_t;
struct InstanceT;
using Instance = InstanceT*;
struct PhysicalDeviceT;
using PhysicalDevice = PhysicalDeviceT*;
using VoidFn = void (*)();
using GetInstanceProcAddrFn = VoidFn (*)(Instance, const char*);

struct ApplicationInfo {
  int32_t sType;
  const void* pNext;
  const char* pApplicationName;
  uint32_t applicationVersion;
  const char* pEngineName;
  uint32_t engineVersion;
  uint32_t apiVersion;
};
struct InstanceCreateInfo {
  int32_t sType;
  const void* pNext;
  uint32_t flags;
  const ApplicationInfo* pApplicationInfo;
  uint32_t enabledLayerCount;
  const char* const* ppEnabledLayerNames;
  uint32_t enabledExtensionCount;
  const char* const* ppEnabledExtensionNames;
};
// The leading members of VkPhysicalDeviceProperties; the limits that follow are not read. The driver
// writes the whole structure (824 bytes on 64-bit systems), so it is given a 4 KiB buffer.
struct PropertiesPrefix {
  uint32_t apiVersion, driverVersion, vendorID, deviceID;
  int32_t deviceType;
  char deviceName[256];
};
struct MemoryType {
  uint32_t propertyFlags, heapIndex;
};
struct MemoryHeap {
  uint64_t size;
  uint32_t flags;
};
struct MemoryProperties {
  uint32_t memoryTypeCount;
  MemoryType memoryTypes[32];
  uint32_t memoryHeapCount;
  MemoryHeap memoryHeaps[16];
};
struct MemoryProperties2 {
  int32_t sType;
  void* pNext;
  MemoryProperties memoryProperties;
};
struct MemoryBudget {
  int32_t sType;
  void* pNext;
  uint64_t heapBudget[16];
  uint64_t heapUsage[16];
};
struct ExtensionProperties {
  char extensionName[256];
  uint32_t specVersion;
};

constexpr int32_t kAppInfo = 0, kInstanceCreateInfo = 1;
constexpr int32_t kMemoryProperties2 = 1000059006, kMemoryBudget = 1000237000;
constexpr uint32_t kHeapDeviceLocal = 1;
constexpr uint32_t make_version(uint32_t major, uint32_t minor) { return (major << 22) | (minor << 12); }

using CreateInstanceFn = Result (*)(const InstanceCreateInfo*, const void*, Instance*);
using EnumerateInstanceVersionFn = Result (*)(uint32_t*);
using EnumerateInstanceExtensionsFn = Result (*)(const char*, uint32_t*, ExtensionProperties*);
using DestroyInstanceFn = void (*)(Instance, const void*);
using EnumeratePhysicalDevicesFn = Result (*)(Instance, uint32_t*, PhysicalDevice*);
using GetPropertiesFn = void (*)(PhysicalDevice, void*);
using GetMemoryPropertiesFn = void (*)(PhysicalDevice, MemoryProperties*);
using GetMemoryProperties2Fn = void (*)(PhysicalDevice, MemoryProperties2*);
using EnumerateDeviceExtensionsFn = Result (*)(PhysicalDevice, const char*, uint32_t*, ExtensionProperties*);
}  // namespace vk

bool has_extension(const std::vector<vk::ExtensionProperties>& exts, const char* name) {
  for (const auto& e : exts)
    if (std::strncmp(e.extensionName, name, sizeof(e.extensionName)) == 0) return true;
  return false;
}

const char* vk_device_type(int32_t t) {
  switch (t) {
    case 1:
      return "integrated";
    case 2:
      return "discrete";
    case 3:
      return "virtual";
    case 4:
      return "cpu";
    default:
      return "other";
  }
}

void probe_vulkan(HardwareInfo& hw) {
  void* lib = ::dlopen("libvulkan.so.1", RTLD_NOW | RTLD_LOCAL);
  if (!lib) lib = ::dlopen("libvulkan.so", RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    hw.notes.push_back("Vulkan: libvulkan.so.1 not found (no Vulkan GPUs)");
    return;
  }
  auto gipa = reinterpret_cast<vk::GetInstanceProcAddrFn>(::dlsym(lib, "vkGetInstanceProcAddr"));
  if (!gipa) {
    hw.notes.push_back("Vulkan: the library has no vkGetInstanceProcAddr");
    ::dlclose(lib);
    return;
  }
  auto create = reinterpret_cast<vk::CreateInstanceFn>(gipa(nullptr, "vkCreateInstance"));
  auto inst_version =
      reinterpret_cast<vk::EnumerateInstanceVersionFn>(gipa(nullptr, "vkEnumerateInstanceVersion"));
  auto inst_exts = reinterpret_cast<vk::EnumerateInstanceExtensionsFn>(
      gipa(nullptr, "vkEnumerateInstanceExtensionProperties"));
  uint32_t api = vk::make_version(1, 0);
  if (inst_version) {
    uint32_t v = 0;
    if (inst_version(&v) == 0 && v >= vk::make_version(1, 1)) api = vk::make_version(1, 1);
  }
  // VK_KHR_get_physical_device_properties2 gives the memory budget query on Vulkan 1.0 loaders.
  std::vector<const char*> enabled;
  if (api < vk::make_version(1, 1) && inst_exts) {
    uint32_t n = 0;
    if (inst_exts(nullptr, &n, nullptr) == 0 && n > 0 && n < 4096) {
      std::vector<vk::ExtensionProperties> exts(n);
      if (inst_exts(nullptr, &n, exts.data()) >= 0 && n <= exts.size()) {
        exts.resize(n);
        if (has_extension(exts, "VK_KHR_get_physical_device_properties2"))
          enabled.push_back("VK_KHR_get_physical_device_properties2");
      }
    }
  }
  vk::ApplicationInfo app{vk::kAppInfo, nullptr, "hearth", 1, "hearth", 1, api};
  vk::InstanceCreateInfo ci{
      vk::kInstanceCreateInfo, nullptr, 0, &app, 0, nullptr, static_cast<uint32_t>(enabled.size()),
      enabled.data()};
  vk::Instance inst = nullptr;
  if (!create || create(&ci, nullptr, &inst) != 0 || !inst) {
    hw.notes.push_back("Vulkan: no driver could create an instance (no Vulkan GPUs)");
    ::dlclose(lib);
    return;
  }
  auto fn = [&](const char* name) { return gipa(inst, name); };
  auto destroy = reinterpret_cast<vk::DestroyInstanceFn>(fn("vkDestroyInstance"));
  auto enum_devices = reinterpret_cast<vk::EnumeratePhysicalDevicesFn>(fn("vkEnumeratePhysicalDevices"));
  auto get_props = reinterpret_cast<vk::GetPropertiesFn>(fn("vkGetPhysicalDeviceProperties"));
  auto get_mem = reinterpret_cast<vk::GetMemoryPropertiesFn>(fn("vkGetPhysicalDeviceMemoryProperties"));
  auto get_mem2 = reinterpret_cast<vk::GetMemoryProperties2Fn>(fn("vkGetPhysicalDeviceMemoryProperties2"));
  if (!get_mem2)
    get_mem2 = reinterpret_cast<vk::GetMemoryProperties2Fn>(fn("vkGetPhysicalDeviceMemoryProperties2KHR"));
  auto dev_exts =
      reinterpret_cast<vk::EnumerateDeviceExtensionsFn>(fn("vkEnumerateDeviceExtensionProperties"));
  uint32_t n = 0;
  if (enum_devices && get_props && get_mem && enum_devices(inst, &n, nullptr) == 0 && n > 0 && n < 256) {
    std::vector<vk::PhysicalDevice> devs(n);
    if (enum_devices(inst, &n, devs.data()) >= 0) {
      devs.resize(std::min<size_t>(n, devs.size()));
      for (auto* d : devs) {
        alignas(16) unsigned char props_buf[4096] = {};
        get_props(d, props_buf);
        vk::PropertiesPrefix props;
        std::memcpy(&props, props_buf, sizeof(props));
        props.deviceName[sizeof(props.deviceName) - 1] = '\0';
        GpuInfo g;
        g.name = props.deviceName;
        g.vendor_id = props.vendorID;
        g.device_id = props.deviceID;
        g.vendor = vendor_name(props.vendorID);
        g.type = vk_device_type(props.deviceType);
        g.unified = props.deviceType == 1;
        g.source = "vulkan";
        g.driver = std::to_string(props.driverVersion);
        bool budget = false;
        if (dev_exts && get_mem2) {
          uint32_t ne = 0;
          if (dev_exts(d, nullptr, &ne, nullptr) == 0 && ne > 0 && ne < 4096) {
            std::vector<vk::ExtensionProperties> exts(ne);
            if (dev_exts(d, nullptr, &ne, exts.data()) >= 0 && ne <= exts.size()) {
              exts.resize(ne);
              budget = has_extension(exts, "VK_EXT_memory_budget");
            }
          }
        }
        vk::MemoryBudget mb{};
        vk::MemoryProperties2 mp2{};
        vk::MemoryProperties mp{};
        if (budget) {
          mb.sType = vk::kMemoryBudget;
          mp2.sType = vk::kMemoryProperties2;
          mp2.pNext = &mb;
          get_mem2(d, &mp2);
          mp = mp2.memoryProperties;
        } else {
          get_mem(d, &mp);
        }
        // The device's memory: its largest device-local heap.
        const uint32_t nh = std::min<uint32_t>(mp.memoryHeapCount, 16);
        for (uint32_t h = 0; h < nh; ++h) {
          if (!(mp.memoryHeaps[h].flags & vk::kHeapDeviceLocal) || mp.memoryHeaps[h].size <= g.memory_total)
            continue;
          g.memory_total = mp.memoryHeaps[h].size;
          if (budget && mb.heapBudget[h] > 0) {
            g.free_known = true;
            const uint64_t b = std::min(mb.heapBudget[h], g.memory_total);
            g.memory_free = b > mb.heapUsage[h] ? b - mb.heapUsage[h] : 0;
          }
        }
        hw.gpus.push_back(std::move(g));
      }
    }
  }
  if (destroy) destroy(inst, nullptr);
  // The library stays loaded: some drivers register exit handlers that must still find their code.
}

// ---- NVML (NVIDIA's management library), the subset used.
namespace nvml {
struct DeviceT;
using Device = DeviceT*;
struct Memory {
  unsigned long long total, free, used;
};
using InitFn = int (*)();
using CountFn = int (*)(unsigned*);
using HandleFn = int (*)(unsigned, Device*);
using NameFn = int (*)(Device, char*, unsigned);
using MemoryFn = int (*)(Device, Memory*);
using ClockFn = int (*)(Device, int, unsigned*);
using BusWidthFn = int (*)(Device, unsigned*);
using DriverFn = int (*)(char*, unsigned);
constexpr int kClockMem = 2;
}  // namespace nvml

void probe_nvml(HardwareInfo& hw) {
  void* lib = ::dlopen("libnvidia-ml.so.1", RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    hw.notes.push_back("NVML: libnvidia-ml.so.1 not found (no NVIDIA driver)");
    return;
  }
  auto sym = [&](const char* name) { return ::dlsym(lib, name); };
  auto init = reinterpret_cast<nvml::InitFn>(sym("nvmlInit_v2"));
  auto shutdown = reinterpret_cast<nvml::InitFn>(sym("nvmlShutdown"));
  auto count = reinterpret_cast<nvml::CountFn>(sym("nvmlDeviceGetCount_v2"));
  auto handle = reinterpret_cast<nvml::HandleFn>(sym("nvmlDeviceGetHandleByIndex_v2"));
  auto name = reinterpret_cast<nvml::NameFn>(sym("nvmlDeviceGetName"));
  auto memory = reinterpret_cast<nvml::MemoryFn>(sym("nvmlDeviceGetMemoryInfo"));
  auto clock = reinterpret_cast<nvml::ClockFn>(sym("nvmlDeviceGetMaxClockInfo"));
  auto bus = reinterpret_cast<nvml::BusWidthFn>(sym("nvmlDeviceGetMemoryBusWidth"));
  auto driver = reinterpret_cast<nvml::DriverFn>(sym("nvmlSystemGetDriverVersion"));
  if (!init || !count || !handle || !name || !memory || init() != 0) {
    hw.notes.push_back("NVML: the library did not initialize");
    ::dlclose(lib);
    return;
  }
  char drv[96] = {};
  if (driver && driver(drv, sizeof(drv)) != 0) drv[0] = '\0';
  drv[sizeof(drv) - 1] = '\0';
  unsigned n = 0;
  if (count(&n) != 0) n = 0;
  std::vector<bool> merged(hw.gpus.size(), false);
  for (unsigned i = 0; i < std::min(n, 64u); ++i) {
    nvml::Device d = nullptr;
    if (handle(i, &d) != 0) continue;
    char nm[128] = {};
    if (name(d, nm, sizeof(nm)) != 0) continue;
    nm[sizeof(nm) - 1] = '\0';
    nvml::Memory mem{};
    if (memory(d, &mem) != 0) continue;
    double bw = 0;
    unsigned mhz = 0, bits = 0;
    if (clock && bus && clock(d, nvml::kClockMem, &mhz) == 0 && bus(d, &bits) == 0)
      bw = mhz * 1e6 * 2.0 * bits / 8.0;  // double data rate
    // The same card seen through Vulkan: NVML's numbers are exact, keep one entry.
    GpuInfo* g = nullptr;
    for (size_t k = 0; k < hw.gpus.size(); ++k) {
      if (k < merged.size() && !merged[k] && hw.gpus[k].vendor_id == 0x10DE && hw.gpus[k].name == nm) {
        merged[k] = true;
        g = &hw.gpus[k];
        g->source = "vulkan+nvml";
        break;
      }
    }
    if (!g) {
      hw.gpus.emplace_back();
      g = &hw.gpus.back();
      g->name = nm;
      g->vendor = "NVIDIA";
      g->vendor_id = 0x10DE;
      g->type = "discrete";
      g->source = "nvml";
    }
    g->memory_total = mem.total;
    g->memory_free = mem.free;
    g->free_known = true;
    if (bw > 0) g->bandwidth = bw;
    if (drv[0]) g->driver = drv;
  }
  if (shutdown) shutdown();
  ::dlclose(lib);
}

#if defined(__APPLE__)
uint64_t sysctl_u64(const char* name) {
  uint64_t v = 0;
  size_t len = sizeof(v);
  if (::sysctlbyname(name, &v, &len, nullptr, 0) != 0) return 0;
  return len == 4 ? static_cast<uint32_t>(v) : v;
}
std::string sysctl_string(const char* name) {
  char buf[256] = {};
  size_t len = sizeof(buf) - 1;
  if (::sysctlbyname(name, buf, &len, nullptr, 0) != 0) return {};
  return buf;
}
void probe_apple(HardwareInfo& hw) {
  hw.ram.total = sysctl_u64("hw.memsize");
  vm_statistics64_data_t vm{};
  mach_msg_type_number_t cnt = HOST_VM_INFO64_COUNT;
  if (host_statistics64(mach_host_self(), HOST_VM_INFO64, reinterpret_cast<host_info64_t>(&vm), &cnt) ==
      KERN_SUCCESS) {
    const uint64_t page = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
    hw.ram.available = (static_cast<uint64_t>(vm.free_count) + vm.inactive_count + vm.purgeable_count) * page;
  }
  if (!hw.ram.available) hw.ram.available = hw.ram.total / 2;
  const std::string brand = sysctl_string("machdep.cpu.brand_string");
  if (brand.rfind("Apple", 0) != 0) return;  // an Intel Mac: its GPU is found through Vulkan, if at all
  GpuInfo g;
  g.name = brand;
  g.vendor = "Apple";
  g.vendor_id = 0x106B;
  g.type = "integrated";
  g.source = "sysctl";
  g.unified = true;
  // Metal lets the GPU wire about two thirds of the memory (three quarters on larger machines), or the
  // limit set with `sysctl iogpu.wired_limit_mb`.
  const uint64_t wired_mb = sysctl_u64("iogpu.wired_limit_mb");
  const uint64_t t = hw.ram.total;
  g.memory_total = wired_mb ? wired_mb << 20 : (t >= (36ull << 30) ? t / 4 * 3 : t / 3 * 2);
  hw.gpus.push_back(std::move(g));
}
#endif

}  // namespace

MemoryInfo parse_meminfo(const std::string& text) {
  MemoryInfo m;
  std::istringstream in(text);
  std::string line;
  uint64_t free = 0, cached = 0, buffers = 0;
  bool have_available = false;
  while (std::getline(in, line)) {
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    const std::string key = line.substr(0, colon);
    const uint64_t kb = std::strtoull(line.c_str() + colon + 1, nullptr, 10);
    if (kb > (1ull << 44)) continue;  // over 16 EiB: nonsense
    const uint64_t bytes = kb * 1024;
    if (key == "MemTotal") m.total = bytes;
    if (key == "MemAvailable") {
      m.available = bytes;
      have_available = true;
    }
    if (key == "MemFree") free = bytes;
    if (key == "Cached") cached = bytes;
    if (key == "Buffers") buffers = bytes;
  }
  if (!have_available) m.available = free + cached + buffers;  // kernels before 3.14
  if (m.available > m.total) m.available = m.total;
  return m;
}

HardwareInfo probe_hardware(const ProbeOptions& opt) {
  HardwareInfo hw;
  const auto& f = cpu_features();
  hw.cpu.model = f.brand.empty() ? "unknown CPU" : f.brand;
  hw.cpu.physical_cores = physical_cores();
  hw.cpu.logical_cores = std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  hw.cpu.features = simd_features(f);
  hw.cpu.load_average = std::atof(read_text("/proc/loadavg").c_str());
#if defined(__APPLE__)
  probe_apple(hw);
#else
  hw.ram = parse_meminfo(read_text("/proc/meminfo"));
  apply_cgroup_limit(hw.ram);
#endif
  const char* no_gpu = std::getenv("HEARTH_NO_GPU_PROBE");
  if (no_gpu && *no_gpu && std::strcmp(no_gpu, "0") != 0) {
    hw.notes.push_back("GPU libraries not probed (HEARTH_NO_GPU_PROBE is set)");
    return hw;
  }
  if (opt.vulkan) probe_vulkan(hw);
  if (opt.nvml) probe_nvml(hw);
  return hw;
}

const GpuInfo* best_gpu(const HardwareInfo& hw) {
  const GpuInfo* best = nullptr;
  auto rank = [](const GpuInfo& g) { return g.type == "discrete" ? 2 : g.type == "integrated" ? 1 : 0; };
  for (const auto& g : hw.gpus) {
    if (!g.is_gpu() || g.memory_total == 0) continue;
    if (!best || rank(g) > rank(*best) || (rank(g) == rank(*best) && g.usable() > best->usable())) best = &g;
  }
  return best;
}

double measure_cpu_matmul_flops(int n_threads) {
  using clock = std::chrono::steady_clock;
  constexpr int64_t cols = 4096, rows = 4096, batch = 128;
  const auto type = tensor::Type::Q4_K;
  const uint64_t row_bytes = tensor::row_size(type, cols);
  // A few quantized random rows, repeated: the kernels' speed does not depend on the values.
  std::mt19937 rng(7);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::vector<float> src(cols);
  std::vector<uint8_t> pool(row_bytes * 4);
  for (int r = 0; r < 4; ++r) {
    for (auto& v : src) v = nd(rng);
    tensor::quantize_row(type, src.data(), pool.data() + r * row_bytes, cols);
  }
  std::vector<uint8_t> w(row_bytes * rows);
  for (int64_t r = 0; r < rows; ++r)
    std::memcpy(w.data() + r * row_bytes, pool.data() + (r % 4) * row_bytes, row_bytes);
  std::vector<float> x(batch * cols), y(batch * rows);
  for (auto& v : x) v = nd(rng);
  backend::WeightView wv;
  wv.type = type;
  wv.cols = cols;
  wv.rows = rows;
  wv.data = w.data();
  wv.row_bytes = row_bytes;
  auto be = backend::make_cpu_backend(n_threads);
  be->prepare(wv, {});                        // the layout a loaded model's weights get
  be->matmul(wv, x.data(), batch, y.data());  // warm-up
  double best = 0;
  const auto start = clock::now();
  for (int rep = 0; rep < 8; ++rep) {
    const auto t0 = clock::now();
    be->matmul(wv, x.data(), batch, y.data());
    const double s = std::chrono::duration<double>(clock::now() - t0).count();
    if (s > 0) best = std::max(best, 2.0 * cols * rows * batch / s);
    if (std::chrono::duration<double>(clock::now() - start).count() > 0.5) break;
  }
  return best;
}

double estimate_cpu_matmul_flops(const CpuInfo& cpu) {
  // Effective FLOP per cycle per core of quantized matmuls (int8 dot products), at ~3 GHz; calibrated
  // against measure_cpu_matmul_flops (see docs/planner.md).
  auto has = [&](const char* f) {
    return std::find(cpu.features.begin(), cpu.features.end(), f) != cpu.features.end();
  };
  double per_cycle = 4;
  if (has("avx512vnni"))
    per_cycle = 48;
  else if (has("avx512bw"))
    per_cycle = 36;
  else if (has("avx2"))
    per_cycle = 24;
  else if (has("dotprod"))
    per_cycle = 16;
  else if (has("neon"))
    per_cycle = 8;
  return cpu.physical_cores * 3.0e9 * per_cycle;
}

}  // namespace hearth::runtime
