// The vector functions are static inline in the header. This file makes the target a C
// library and holds the start-up check for native builds.
#include "CVectorMath.h"

#if SWEEPD_BUILT_FOR_AVX2
#include <stdio.h>
#include <unistd.h>

// Runs before main: a binary compiled for AVX2 (see Package.swift) on a CPU without it
// would otherwise die of SIGILL somewhere in training.
__attribute__((constructor)) static void sweepd_check_cpu_features(void) {
  __builtin_cpu_init();
  if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma")) {
    fputs("sweepd: this binary was built for CPUs with AVX2 and FMA, and this CPU lacks them.\n"
          "Rebuild it on this machine, or build a portable binary with: SWEEPD_PORTABLE=1 swift build -c release\n",
          stderr);
    _exit(78);
  }
}
#endif

int sweepd_built_for_avx2(void) {
#if SWEEPD_BUILT_FOR_AVX2
  return 1;
#else
  return 0;
#endif
}
