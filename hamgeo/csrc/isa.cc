// Instruction-set detection and selection: the best path the CPU runs, lowered on request.
#include <atomic>

#include "common.h"

namespace hamgeo {

const char* const kIsaNames[3] = {"portable", "avx2", "avx512"};

namespace {

Isa detect_isa() {
#ifdef HAMGEO_X86
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vpopcntdq"))
    return kAvx512;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("popcnt")) return kAvx2;
#endif
  return kPortable;
}

const Isa kBestIsa = detect_isa();

// The path in use: the best the CPU has, lowered by HAMGEO_NATIVE_ISA or set_isa(). An
// unknown value is ignored here; hamgeo._native warns about it by name.
std::atomic<int> g_isa{[] {
  int forced = isa_from_name(std::getenv("HAMGEO_NATIVE_ISA"));
  return forced >= 0 ? std::min<int>(forced, kBestIsa) : static_cast<int>(kBestIsa);
}()};

}  // namespace

int isa_from_name(const char* name) {
  if (name == nullptr || *name == '\0') return -1;
  for (int i = 0; i < 3; ++i)
    if (std::strcmp(name, kIsaNames[i]) == 0) return i;
  return -2;
}

Isa best_isa() { return kBestIsa; }

int current_isa() { return g_isa.load(); }

int set_isa(int want) {
  g_isa.store(std::min<int>(want, kBestIsa));
  return g_isa.load();
}

}  // namespace hamgeo
