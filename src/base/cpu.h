#pragma once
#include <string>

namespace hearth {

// What the CPU can do, detected once.
struct CpuFeatures {
  bool sse42 = false, avx = false, avx2 = false, fma = false, f16c = false, bmi2 = false;
  bool avx512f = false, avx512bw = false, avx512vl = false, avx512dq = false, avx512vnni = false,
       avx512bf16 = false, avxvnni = false;
  bool neon = false, dotprod = false;
  std::string brand;
};

const CpuFeatures& cpu_features();

}  // namespace hearth
