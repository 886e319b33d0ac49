// The AVX2 + FMA variant of the CPU tile kernels (raster_cpu_tiles_impl.h): the same source compiled
// with those instructions enabled for the functions defined here only, so the extension still loads and
// runs on a CPU without them (raster_cpu.cpp checks the CPU before calling in).
#include "raster_cpu_tiles.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#if SOFTFIT_CPU_AVX2
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx2,fma")
#endif

#define SOFTFIT_TILE_NS cpu_avx2
#include "raster_cpu_tiles_impl.h"
#undef SOFTFIT_TILE_NS

#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif
#endif
