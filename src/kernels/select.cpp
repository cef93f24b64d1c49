#include <cstdlib>
#include <memory>

#include "base/cpu.h"
#include "base/error.h"
#include "base/log.h"
#include "kernels/attn.h"
#include "kernels/tables.h"

namespace hearth::kernels {

namespace {

struct Tables {
  std::vector<std::unique_ptr<KernelTable>> all;  // runnable here, best last
  const KernelTable* active = nullptr;
};

Tables build() {
  Tables t;
  t.all.push_back(std::make_unique<KernelTable>(make_scalar_table()));
  const auto& f = cpu_features();
#if defined(HEARTH_X86) && defined(HEARTH_HAVE_AVX2)
  if (make_avx2_table && f.avx2 && f.fma && f.f16c && f.bmi2) t.all.push_back(std::make_unique<KernelTable>(make_avx2_table()));
#endif
#if defined(HEARTH_X86) && defined(HEARTH_HAVE_AVX512)
  if (make_avx512_table && f.avx512f && f.avx512bw && f.avx512vl && f.avx512dq && f.avx512vnni && f.avx2 && f.fma && f.f16c && f.bmi2)
    t.all.push_back(std::make_unique<KernelTable>(make_avx512_table()));
#endif
#if defined(HEARTH_ARM) && defined(HEARTH_HAVE_NEON)
  if (make_neon_table && f.neon && f.dotprod) t.all.push_back(std::make_unique<KernelTable>(make_neon_table()));
#endif
  (void)f;
  for (auto& k : t.all) {
    const bool x86_fast = k->name == "avx2" || k->name == "avx512";
    (void)x86_fast;
    k->attn_scores_f16 = attn_scores_f16_scalar;
    k->attn_mix_f16 = attn_mix_f16_scalar;
    k->exp_shifted = exp_shifted_scalar;
#if defined(HEARTH_X86) && defined(HEARTH_HAVE_AVX2)
    if (x86_fast) {
      k->attn_scores_f16 = attn_scores_f16_avx2;
      k->attn_mix_f16 = attn_mix_f16_avx2;
      k->exp_shifted = exp_shifted_avx2;
    }
#endif
  }
  t.active = t.all.back().get();
  if (const char* isa = std::getenv("HEARTH_ISA"); isa && *isa) {
    const KernelTable* found = nullptr;
    for (auto& k : t.all)
      if (k->name == isa) found = k.get();
    if (found) {
      t.active = found;
    } else {
      log::warn("HEARTH_ISA={} is not available on this CPU; using {}", isa, t.active->name);
    }
  }
  return t;
}

const Tables& tables() {
  static const Tables t = build();
  return t;
}

}  // namespace

const KernelTable& active() { return *tables().active; }

std::vector<const KernelTable*> available() {
  std::vector<const KernelTable*> v;
  for (auto& k : tables().all) v.push_back(k.get());
  return v;
}

const KernelTable* by_name(const std::string& name) {
  for (auto& k : tables().all)
    if (k->name == name) return k.get();
  return nullptr;
}

}  // namespace hearth::kernels
