#pragma once
// Include in every file that calls at::parallel_for. That function is inline, and its
// `#pragma omp parallel` is ignored in a file compiled without OpenMP: the loop would run on
// one thread while LibTorch's other intra-op threads wait. Such a file must be listed in
// CMakeLists.txt's OpenMP set; this header refuses to compile it otherwise.

#include <ATen/Config.h>
#include <ATen/Parallel.h>

#if AT_PARALLEL_OPENMP && !defined(_OPENMP)
#error "this file calls at::parallel_for: list it among CMakeLists.txt's OpenMP sources"
#endif
