// The CPU kernels' per-tile work, compiled once per instruction set (raster_cpu_tiles_impl.h, included by
// raster_cpu.cpp for the baseline and by raster_cpu_avx2.cpp with AVX2 + FMA enabled); raster_cpu.cpp
// picks one at run time from what the CPU supports, so the extension never needs AVX2 to load.
#pragma once

#include <cstdint>
#include <string>

#include "raster_math.h"

// Whether this compiler builds the AVX2 + FMA variant (x86-64 gcc/clang: per-function target options).
#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#define SOFTFIT_CPU_AVX2 1
#else
#define SOFTFIT_CPU_AVX2 0
#endif

namespace softfit {

// One (mesh, tile) work item of a CPU pass.
template <typename T>
struct TileTask {
  const Face<T>* faces;    // the mesh's precomputed screen-space faces
  const int32_t* entries;  // indices of the faces near this tile, ascending
  int64_t count;           // how many
  int x0, x1, y0, y1;      // the tile's pixels (inclusive), clipped to the image
  int64_t stride;          // row stride of the per-pixel images (the image width)
  T inv_sigma, cutoff_sq;
};

// forward_tile writes alpha and S of the tile's pixels (pointers at pixel (x0, y0) of the mesh's image);
// backward_tile writes the 6 vertex-xy gradients of each listed face (entry_grad: count x 6).
#define SOFTFIT_TILE_KERNELS(ns)                                                                        \
  namespace ns {                                                                                        \
  template <typename T>                                                                                 \
  void forward_tile(const TileTask<T>& task, bool hard, T* alpha, T* logsum);                           \
  template <typename T>                                                                                 \
  void backward_tile(const TileTask<T>& task, const T* grad_alpha, const T* logsum, T* entry_grad);     \
  }
SOFTFIT_TILE_KERNELS(cpu_generic)
#if SOFTFIT_CPU_AVX2
SOFTFIT_TILE_KERNELS(cpu_avx2)
#endif
#undef SOFTFIT_TILE_KERNELS

}  // namespace softfit
