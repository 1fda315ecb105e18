#pragma once
// Vector square roots for the optimizers' SIMD lanes. Swift's `squareRoot()` on Linux goes
// through libm's `sqrtf` (with an errno check per element), which keeps vectors scalar;
// clang's element-wise builtin lowers to the packed instruction (`sqrtps`/`vsqrtps`).
// ext_vector_type(8) types import into Swift as SIMD8<Float> and SIMD8<Double>.

typedef float sweepd_float8 __attribute__((ext_vector_type(8)));
typedef double sweepd_double8 __attribute__((ext_vector_type(8)));

static inline __attribute__((always_inline)) sweepd_float8 sweepd_sqrt_float8(sweepd_float8 x) {
  return __builtin_elementwise_sqrt(x);
}

static inline __attribute__((always_inline)) sweepd_double8 sweepd_sqrt_double8(sweepd_double8 x) {
  return __builtin_elementwise_sqrt(x);
}

static inline __attribute__((always_inline)) float sweepd_sqrt_float(float x) {
  return __builtin_elementwise_sqrt(x);
}

static inline __attribute__((always_inline)) double sweepd_sqrt_double(double x) {
  return __builtin_elementwise_sqrt(x);
}

// Per lane: a where z > 0, else b (NaN is not positive). Bitwise select on the comparison
// mask, which stays a vector blend (Swift's generic `replacing(with:where:)` does not).
typedef int sweepd_int8 __attribute__((ext_vector_type(8)));
typedef long sweepd_long8 __attribute__((ext_vector_type(8)));

static inline __attribute__((always_inline)) sweepd_float8
sweepd_where_positive_float8(sweepd_float8 z, sweepd_float8 a, sweepd_float8 b) {
  sweepd_int8 mask = z > 0;
  return (sweepd_float8)(((sweepd_int8)a & mask) | ((sweepd_int8)b & ~mask));
}

static inline __attribute__((always_inline)) sweepd_double8
sweepd_where_positive_double8(sweepd_double8 z, sweepd_double8 a, sweepd_double8 b) {
  sweepd_long8 mask = z > 0;
  return (sweepd_double8)(((sweepd_long8)a & mask) | ((sweepd_long8)b & ~mask));
}

/// 1 when this build's training kernels were compiled for AVX2 + FMA, else 0.
int sweepd_built_for_avx2(void);
