#include "base/cpu.h"

#include <fstream>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif
#if defined(__aarch64__) && defined(__linux__)
#include <sys/auxv.h>
#endif

namespace hearth {

namespace {

CpuFeatures detect() {
  CpuFeatures f;
#if defined(__x86_64__) || defined(__i386__)
  unsigned a, b, c, d;
  if (__get_cpuid(1, &a, &b, &c, &d)) {
    f.sse42 = c & bit_SSE4_2;
    f.fma = c & bit_FMA;
    f.f16c = c & bit_F16C;
    const bool osxsave = c & bit_OSXSAVE;
    f.avx = (c & bit_AVX) && osxsave;
    unsigned long long xcr0 = 0;
    if (osxsave) {
      unsigned lo, hi;
      __asm__("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
      xcr0 = ((unsigned long long)hi << 32) | lo;
    }
    const bool ymm = (xcr0 & 6) == 6;
    const bool zmm = (xcr0 & 0xe6) == 0xe6;
    f.avx = f.avx && ymm;
    f.fma = f.fma && ymm;
    if (__get_cpuid_count(7, 0, &a, &b, &c, &d)) {
      f.avx2 = (b & bit_AVX2) && ymm;
      f.bmi2 = b & bit_BMI2;
      f.avx512f = (b & bit_AVX512F) && zmm;
      f.avx512bw = (b & bit_AVX512BW) && zmm;
      f.avx512vl = (b & bit_AVX512VL) && zmm;
      f.avx512dq = (b & bit_AVX512DQ) && zmm;
      f.avx512vnni = (c & bit_AVX512VNNI) && zmm;
    }
    if (__get_cpuid_count(7, 1, &a, &b, &c, &d)) {
      f.avxvnni = (a & (1u << 4)) && ymm;
      f.avx512bf16 = (a & (1u << 5)) && zmm;
    }
  }
  unsigned brand[12] = {};
  if (__get_cpuid(0x80000000, &a, &b, &c, &d) && a >= 0x80000004) {
    for (unsigned i = 0; i < 3; ++i) __get_cpuid(0x80000002 + i, &brand[4 * i], &brand[4 * i + 1], &brand[4 * i + 2], &brand[4 * i + 3]);
    f.brand = std::string(reinterpret_cast<const char*>(brand), 48);
    f.brand = f.brand.c_str();
    while (!f.brand.empty() && f.brand.back() == ' ') f.brand.pop_back();
  }
#elif defined(__aarch64__)
  f.neon = true;
#if defined(__linux__)
  unsigned long hw = getauxval(AT_HWCAP);
  f.dotprod = hw & (1ul << 20);  // HWCAP_ASIMDDP
#elif defined(__APPLE__)
  f.dotprod = true;
#endif
#endif
  if (f.brand.empty()) {
    std::ifstream in("/proc/cpuinfo");
    std::string line;
    while (std::getline(in, line)) {
      if (line.rfind("model name", 0) == 0) {
        auto p = line.find(':');
        if (p != std::string::npos) f.brand = line.substr(p + 2);
        break;
      }
    }
  }
  return f;
}

}  // namespace

const CpuFeatures& cpu_features() {
  static const CpuFeatures f = detect();
  return f;
}

}  // namespace hearth
