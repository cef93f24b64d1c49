// runtime: a table of common hardware (consumer and data-centre GPUs, Apple silicon, desktop memory) with
// memory size, bandwidth and rough compute, so that plans can be made for hardware the user does not have;
// and the devices a plan places a model on (DeviceSpec), made from the table, from the probe or from the
// user's numbers. The efficiency factors of the speed model live here (docs/planner.md explains them).
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/hw_probe.h"

namespace hearth::runtime {

enum class HwKind { Gpu, Apple, Memory };

struct HwSpec {
  const char* name;  // "NVIDIA GeForce RTX 3060" (GPUs: without the memory size), "DDR5-5600 dual channel"
  HwKind kind;
  double memory_gib;     // GPUs: VRAM; Apple: unified memory of the common configuration; Memory: 0
  double bandwidth_gbs;  // peak memory bandwidth, GB/s (10^9 bytes)
  double fp16_tflops;    // peak dense fp16 matrix throughput (tensor/matrix units where the chip has them)
  double int8_tops;      // peak dense int8 throughput (what quantized matmuls use)

  std::string display() const;  // "NVIDIA GeForce RTX 3060 12GB", "Apple M2 Max (32GB unified)"
};

const std::vector<HwSpec>& hardware_table();

struct HwMatch {
  const HwSpec* spec = nullptr;
  uint64_t memory_bytes = 0;  // the device's memory (Apple: a size given in the query, e.g. "M2 Max 64GB")
};

// Finds hardware by a loose, case-insensitive name ("RTX 3060 12GB", "rtx3060", "4090", "7900 xtx",
// "M2 Max 64GB", "ddr5-6000"). Every word of the query must appear in the entry; the entry with the
// fewest other words wins (ties: table order, the common variant first). GPUs and Apple chips match
// unless `memory` is true (then only memory kinds). Throws hearth::Error listing close matches.
HwMatch find_hardware(std::string_view query, bool memory = false);
// The same without throwing: nullopt-like (spec null) when nothing matches. Used for probed device names.
HwMatch lookup_hardware(std::string_view query, bool memory = false);
// Up to n table entries most similar to the query (for error messages).
std::vector<std::string> close_hardware(std::string_view query, size_t n, bool memory = false);

// Parses a size: "12GiB", "12GB", "12G", "12288MiB", "24" (GiB). GB means GiB, as GPU makers use it.
uint64_t parse_memory_size(std::string_view s);

// A device a plan can place weights on.
struct DeviceSpec {
  std::string name;
  bool gpu = false;
  uint64_t memory = 0;              // bytes the plan may use (free VRAM; available RAM)
  double bandwidth = 0;             // bytes/s (GPU: peak; CPU: measured read bandwidth or its equivalent)
  double flops_f16 = 0;             // FLOP/s for float weights (peak; CPU: effective)
  double flops_q = 0;               // FLOP/s for quantized weights
  double bandwidth_efficiency = 1;  // fraction of `bandwidth` token generation reaches
  double compute_efficiency = 1;    // fraction of the FLOP/s prompt processing reaches
  double layer_overhead_s = 0;      // fixed time per layer and forward pass (kernel launches, barriers)
  uint64_t overhead_bytes = 0;      // driver/context memory on the device, beyond the model's buffers
  bool unified = false;  // GPU memory is system RAM: what the GPU takes, the CPU side does not have
  std::string source;    // where the numbers come from: "probe", "table", "options", "measured", ...
};

// Efficiencies and fixed costs of the speed model (docs/planner.md).
inline constexpr double kGpuBandwidthEfficiency = 0.75;
inline constexpr double kGpuComputeEfficiency = 0.30;    // of the int8/fp16 matrix peak (NVIDIA, AMD, Intel)
inline constexpr double kAppleComputeEfficiency = 0.60;  // of Apple's fp16 (= fp32 vector) peak
inline constexpr double kCpuBandwidthEfficiency = 0.90;  // of the measured read bandwidth
inline constexpr double kCpuComputeEfficiency = 0.70;    // of the measured matmul rate (whole forward pass)
inline constexpr double kRamPeakToMeasured = 0.75;       // measured read bandwidth / peak of DDR memory
inline constexpr double kGpuLayerOverheadS = 20e-6;
inline constexpr double kCpuLayerOverheadS = 30e-6;
inline constexpr uint64_t kGpuOverheadBytes = 320ull << 20;  // CUDA/Vulkan context, driver, allocator slack

// A GPU from the table (memory: HwMatch.memory_bytes; Apple: the part Metal lets the GPU wire).
DeviceSpec gpu_from_table(const HwMatch& m);
// A probed GPU; bandwidth and compute from the driver, else from the table by name, else a low guess.
DeviceSpec gpu_from_probe(const GpuInfo& g);
// A GPU given by numbers (--vram/--gpu-bandwidth): compute is guessed from the bandwidth.
DeviceSpec gpu_from_numbers(uint64_t memory, double bandwidth_bytes_s);
// This machine's CPU and RAM: `available` bytes, `bandwidth` bytes/s (measured read bandwidth), and the
// effective matmul FLOP/s (measured or estimated).
DeviceSpec cpu_device(const CpuInfo& cpu, uint64_t available, double bandwidth, double matmul_flops);

// Bytes of the GPU's share of unified memory (Apple: about 2/3, 3/4 from 36 GiB).
uint64_t apple_gpu_share(uint64_t unified_bytes);

}  // namespace hearth::runtime
