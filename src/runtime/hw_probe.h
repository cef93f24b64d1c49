// runtime: the hardware probe. What this machine has: the CPU (model, cores, SIMD features), system RAM
// (total and available, container limits included) and GPUs with their memory, found through libraries
// loaded at run time (Vulkan: libvulkan.so.1 with VK_EXT_memory_budget; NVIDIA: libnvidia-ml.so.1; macOS:
// sysctl for Apple unified memory). Nothing here is a build dependency: an absent library means no GPU.
// Knows nothing of models.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace hearth::runtime {

struct CpuInfo {
  std::string model;  // brand string ("AMD Ryzen 9 7950X 16-Core Processor")
  int physical_cores = 1;
  int logical_cores = 1;
  std::vector<std::string> features;  // SIMD features the kernels can use ("avx2", "fma", ...)
  double load_average = 0;            // runnable processes, 1-minute average (0 when unknown)
};

struct MemoryInfo {
  uint64_t total = 0;            // bytes of system RAM (or the container's memory limit when lower)
  uint64_t available = 0;        // bytes a new process can use without swapping (MemAvailable, limit applied)
  bool container_limit = false;  // a cgroup limit is lower than the machine's RAM
};

struct GpuInfo {
  std::string name;           // "NVIDIA GeForce RTX 3060"
  std::string vendor;         // "NVIDIA", "AMD", "Intel", "Apple", ...
  std::string type;           // "discrete", "integrated", "virtual", "cpu" (a software renderer), "other"
  std::string source;         // "vulkan", "nvml", "vulkan+nvml", "sysctl"
  uint64_t memory_total = 0;  // bytes of device memory (the largest device-local heap)
  uint64_t memory_free = 0;   // bytes free now (0 when free_known is false)
  bool free_known = false;
  bool unified = false;  // shares system RAM (Apple silicon, integrated GPUs)
  double bandwidth = 0;  // bytes/s when the driver reports it (NVML), else 0
  uint32_t vendor_id = 0, device_id = 0;
  std::string driver;  // driver version, when known

  // Memory a model may use: the free memory when known, else the total.
  uint64_t usable() const { return free_known ? memory_free : memory_total; }
  // A device that computes on a GPU (not a software renderer).
  bool is_gpu() const { return type != "cpu"; }
};

struct HardwareInfo {
  CpuInfo cpu;
  MemoryInfo ram;
  std::vector<GpuInfo> gpus;
  std::vector<std::string> notes;  // what was looked for and not found ("libvulkan.so.1 not found")
};

struct ProbeOptions {
  bool vulkan = true;
  bool nvml = true;
};

// Probes this machine. Never throws for a missing or failing GPU library: it adds a note instead.
// HEARTH_NO_GPU_PROBE=1 in the environment skips the GPU libraries (tests, broken drivers).
HardwareInfo probe_hardware(const ProbeOptions& opt = {});

// The GPU a single-device plan uses: the real GPU (not a software renderer) with the most usable memory,
// discrete before integrated; nullptr when there is none.
const GpuInfo* best_gpu(const HardwareInfo& hw);

// Parses /proc/meminfo-style text (kB values); exposed for tests.
MemoryInfo parse_meminfo(const std::string& text);

// Measured matmul throughput of this CPU's kernels in FLOP/s: a 4096 x 4096 Q4_K weight (larger than most
// L2 caches, like a model's) against a batch of 128 rows, as prompt processing does; n_threads threads
// (0: physical cores). Takes 0.1 to 0.5 s.
double measure_cpu_matmul_flops(int n_threads);

// A rough CPU matmul throughput from the core count and SIMD width, for when nothing was measured.
double estimate_cpu_matmul_flops(const CpuInfo& cpu);

}  // namespace hearth::runtime
