#pragma once
// OpenBLAS's CBLAS interface and its runtime queries (openblas_get_corename,
// openblas_set_num_threads, ...). The include path comes from `pkg-config openblas`.
#include <cblas.h>
