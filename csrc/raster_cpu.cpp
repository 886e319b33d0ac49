// CPU twin of the soft silhouette rasteriser (contract in raster.h): screen-space binning, then one
// task per (mesh, tile) on torch's intra-op threads. Each task writes only its own pixels (forward) or its
// own bin entries' gradients (backward), so results do not depend on the thread count. The per-tile maths
// (raster_cpu_tiles_impl.h) is compiled here for any x86-64 / other CPU and in raster_cpu_avx2.cpp with
// AVX2 + FMA; the faster one the CPU supports runs.
#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <vector>

#ifndef _OPENMP
#include <thread>
#endif

#include "raster.h"
#include "raster_cpu_tiles.h"
#include "raster_math.h"

#define SOFTFIT_TILE_NS cpu_generic
#include "raster_cpu_tiles_impl.h"
#undef SOFTFIT_TILE_NS

namespace softfit {
namespace {

// Threads that did work in the latest CPU forward / backward pass (the debug query `cpu_threads_used`).
std::atomic<int64_t> g_forward_threads{0};
std::atomic<int64_t> g_backward_threads{0};

// Runs fn(i) for every i in [0, n) on at::get_num_threads() threads: thread t runs item t first, then
// takes the remaining items one at a time (tiles differ a lot in cost, as the object covers part of the
// image, and a static split would leave threads idle). Every thread thus works whenever n >= threads,
// however late the system starts it. Returns how many threads ran at least one item. With OpenMP this
// is torch's own thread pool (at::parallel_for); without it at::parallel_for would be a serial loop, so
// the fallback starts std::threads itself.
template <typename Fn>
int64_t parallel_dynamic(int64_t n, const Fn& fn) {
  const int64_t nthreads = std::min<int64_t>(at::get_num_threads(), n);
  if (nthreads <= 1 || at::in_parallel_region()) {
    for (int64_t i = 0; i < n; ++i) fn(i);
    return n > 0 ? 1 : 0;
  }
  std::atomic<int64_t> next{nthreads};
  std::atomic<int64_t> workers{0};
  auto work = [&](int64_t first, int64_t end) {  // one thread: items [first, end), then the queue
    for (int64_t i = first; i < end; ++i) fn(i);
    for (int64_t i = next.fetch_add(1, std::memory_order_relaxed); i < n;
         i = next.fetch_add(1, std::memory_order_relaxed)) {
      fn(i);
    }
    workers.fetch_add(1, std::memory_order_relaxed);
  };
#ifdef _OPENMP
  at::parallel_for(0, nthreads, 1, work);
#else
  std::vector<std::thread> pool;
  for (int64_t t = 1; t < nthreads; ++t) pool.emplace_back(work, t, t + 1);
  work(0, 1);
  for (std::thread& t : pool) t.join();
#endif
  return workers.load();
}

// Runs fn(lo, hi) over [0, n) in chunks of `grain`, in parallel (each chunk must write its own outputs).
template <typename Fn>
void parallel_chunks(int64_t n, int64_t grain, const Fn& fn) {
  parallel_dynamic((n + grain - 1) / grain, [&](int64_t c) { fn(c * grain, std::min(n, (c + 1) * grain)); });
}

// Faces binned into tiles, sized exactly (count, prefix sum, fill): no capacity, nothing dropped.
template <typename T>
struct Bins {
  int64_t tiles_x = 0, tiles_y = 0, ntiles = 0;  // per image
  std::vector<Face<T>> faces;                    // (B * F) precomputed screen-space faces
  std::vector<int64_t> offsets;                  // (B * ntiles + 1) start of each tile's list
  std::vector<int32_t> entries;                  // face index within its mesh, ascending per tile
};

struct Sizes {
  int64_t B, V, Bf, F, H, W;
};

Sizes sizes_of(const at::Tensor& verts, const at::Tensor& faces, int64_t height, int64_t width) {
  return {verts.size(0), verts.size(1), faces.size(0), faces.size(1), height, width};
}

inline const int64_t* face_indices(const int64_t* faces, const Sizes& s, int64_t b, int64_t f) {
  return faces + ((s.Bf == 1 ? 0 : b) * s.F + f) * 3;
}

template <typename T>
Bins<T> build_bins(const T* verts, const int64_t* faces, const Sizes& s, T near, T radius) {
  Bins<T> bins;
  bins.tiles_x = (s.W + kTile - 1) / kTile;
  bins.tiles_y = (s.H + kTile - 1) / kTile;
  bins.ntiles = bins.tiles_x * bins.tiles_y;
  bins.faces.resize(s.B * s.F);
  parallel_chunks(s.B * s.F, 2048, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) {
      const int64_t b = i / s.F;
      const int64_t* idx = face_indices(faces, s, b, i % s.F);
      setup_face<T>(verts + b * s.V * 3, idx[0], idx[1], idx[2], near, radius, static_cast<int>(s.H),
                    static_cast<int>(s.W), bins.faces[i]);
    }
  });
  // Visits the tiles overlapped by each face of mesh b in face order (so lists come out ascending).
  auto for_each_overlap = [&](int64_t b, auto&& visit) {
    for (int64_t f = 0; f < s.F; ++f) {
      const Face<T>& face = bins.faces[b * s.F + f];
      if (face.x0 > face.x1 || face.y0 > face.y1) continue;
      for (int64_t ty = face.y0 / kTile; ty <= face.y1 / kTile; ++ty) {
        for (int64_t tx = face.x0 / kTile; tx <= face.x1 / kTile; ++tx) {
          visit(b * bins.ntiles + ty * bins.tiles_x + tx, f);
        }
      }
    }
  };
  std::vector<int64_t> counts(s.B * bins.ntiles, 0);
  parallel_chunks(s.B, 1, [&](int64_t lo, int64_t hi) {
    for (int64_t b = lo; b < hi; ++b) for_each_overlap(b, [&](int64_t tile, int64_t) { ++counts[tile]; });
  });
  bins.offsets.assign(s.B * bins.ntiles + 1, 0);
  for (int64_t i = 0; i < s.B * bins.ntiles; ++i) bins.offsets[i + 1] = bins.offsets[i] + counts[i];
  bins.entries.resize(bins.offsets.back());
  std::copy(bins.offsets.begin(), bins.offsets.end() - 1, counts.begin());  // counts become fill cursors
  parallel_chunks(s.B, 1, [&](int64_t lo, int64_t hi) {
    for (int64_t b = lo; b < hi; ++b) {
      for_each_overlap(b, [&](int64_t tile, int64_t f) { bins.entries[counts[tile]++] = static_cast<int32_t>(f); });
    }
  });
  return bins;
}

// The instruction set of the tile kernels: the best this CPU supports, unless a test or benchmark picked
// another with set_cpu_kernel_isa.
std::atomic<int> g_isa{-1};

constexpr const char* kIsaNames[] = {"generic", "avx2"};

bool cpu_has_avx2() {
#if SOFTFIT_CPU_AVX2
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
  return false;
#endif
}

int active_isa() {
  int isa = g_isa.load(std::memory_order_relaxed);
  if (isa < 0) {
    isa = cpu_has_avx2() ? 1 : 0;
    g_isa.store(isa, std::memory_order_relaxed);
  }
  return isa;
}

template <typename T>
void forward_tile(const TileTask<T>& task, bool hard, T* alpha, T* logsum) {
#if SOFTFIT_CPU_AVX2
  if (active_isa() == 1) return cpu_avx2::forward_tile<T>(task, hard, alpha, logsum);
#endif
  cpu_generic::forward_tile<T>(task, hard, alpha, logsum);
}

template <typename T>
void backward_tile(const TileTask<T>& task, const T* grad_alpha, const T* logsum, T* entry_grad) {
#if SOFTFIT_CPU_AVX2
  if (active_isa() == 1) return cpu_avx2::backward_tile<T>(task, grad_alpha, logsum, entry_grad);
#endif
  cpu_generic::backward_tile<T>(task, grad_alpha, logsum, entry_grad);
}

// The work item `item` = (mesh b, tile t) of a pass, and its pixels' offset in the (B, H, W) images.
template <typename T>
TileTask<T> tile_task(const Bins<T>& bins, const Sizes& s, int64_t item, T inv_sigma, T cutoff_sq,
                      int64_t& pixel) {
  const int64_t b = item / bins.ntiles, t = item % bins.ntiles;
  const int x0 = static_cast<int>((t % bins.tiles_x) * kTile);
  const int y0 = static_cast<int>((t / bins.tiles_x) * kTile);
  pixel = (b * s.H + y0) * s.W + x0;
  const int64_t first = bins.offsets[item];
  return {bins.faces.data() + b * s.F, bins.entries.data() + first, bins.offsets[item + 1] - first,
          x0, static_cast<int>(std::min<int64_t>(x0 + kTile, s.W)) - 1,
          y0, static_cast<int>(std::min<int64_t>(y0 + kTile, s.H)) - 1, s.W, inv_sigma, cutoff_sq};
}

template <typename T>
void forward_kernel(const T* verts, const int64_t* faces, const Sizes& s, T inv_sigma, T cutoff_sq, T near,
                    bool hard, T* alpha, T* logsum) {
  const Bins<T> bins = build_bins<T>(verts, faces, s, near, hard ? T(0) : std::sqrt(cutoff_sq));
  g_forward_threads = parallel_dynamic(s.B * bins.ntiles, [&](int64_t item) {
    int64_t pixel;
    const TileTask<T> task = tile_task(bins, s, item, inv_sigma, cutoff_sq, pixel);
    if (task.count > 0) forward_tile<T>(task, hard, alpha + pixel, logsum + pixel);  // else alpha, S stay 0
  });
}

template <typename T>
void backward_kernel(const T* grad_alpha, const T* logsum, const T* verts, const int64_t* faces,
                     const Sizes& s, T inv_sigma, T cutoff_sq, T near, T* grad_verts) {
  const Bins<T> bins = build_bins<T>(verts, faces, s, near, std::sqrt(cutoff_sq));
  // One (gx0, gy0, gx1, gy1, gx2, gy2) per bin entry: tasks never share an output, so no races.
  std::vector<T> entry_grad(bins.entries.size() * 6, T(0));
  g_backward_threads = parallel_dynamic(s.B * bins.ntiles, [&](int64_t item) {
    int64_t pixel;
    const TileTask<T> task = tile_task(bins, s, item, inv_sigma, cutoff_sq, pixel);
    if (task.count > 0) {
      backward_tile<T>(task, grad_alpha + pixel, logsum + pixel, entry_grad.data() + bins.offsets[item] * 6);
    }
  });
  // Scatter to vertices mesh by mesh, in bin order: deterministic and race-free.
  parallel_chunks(s.B, 1, [&](int64_t lo, int64_t hi) {
    for (int64_t b = lo; b < hi; ++b) {
      T* gv = grad_verts + b * s.V * 3;
      for (int64_t e = bins.offsets[b * bins.ntiles]; e < bins.offsets[(b + 1) * bins.ntiles]; ++e) {
        const int64_t* idx = face_indices(faces, s, b, bins.entries[e]);
        const T* ge = entry_grad.data() + e * 6;
        for (int k = 0; k < 3; ++k) {
          gv[idx[k] * 3] += ge[2 * k];
          gv[idx[k] * 3 + 1] += ge[2 * k + 1];
        }
      }
    }
  });
}

}  // namespace

std::vector<at::Tensor> forward_cpu(const at::Tensor& verts, const at::Tensor& faces, int64_t height,
                                    int64_t width, double sigma_px, double cutoff_sq, double near, bool hard) {
  const Sizes s = sizes_of(verts, faces, height, width);
  at::Tensor alpha = at::zeros({s.B, height, width}, verts.options());
  at::Tensor logsum = at::zeros({s.B, height, width}, verts.options());
  if (s.B == 0 || s.F == 0 || s.V == 0) return {alpha, logsum};
  AT_DISPATCH_FLOATING_TYPES(verts.scalar_type(), "softfit_forward_cpu", [&] {
    forward_kernel<scalar_t>(verts.data_ptr<scalar_t>(), faces.data_ptr<int64_t>(), s,
                             static_cast<scalar_t>(1.0 / sigma_px), static_cast<scalar_t>(cutoff_sq),
                             static_cast<scalar_t>(near), hard, alpha.data_ptr<scalar_t>(),
                             logsum.data_ptr<scalar_t>());
  });
  return {alpha, logsum};
}

at::Tensor backward_cpu(const at::Tensor& grad_alpha, const at::Tensor& logsum, const at::Tensor& verts,
                        const at::Tensor& faces, int64_t height, int64_t width, double sigma_px,
                        double cutoff_sq, double near) {
  const Sizes s = sizes_of(verts, faces, height, width);
  at::Tensor grad_verts = at::zeros_like(verts);
  if (s.B == 0 || s.F == 0 || s.V == 0) return grad_verts;
  AT_DISPATCH_FLOATING_TYPES(verts.scalar_type(), "softfit_backward_cpu", [&] {
    backward_kernel<scalar_t>(grad_alpha.data_ptr<scalar_t>(), logsum.data_ptr<scalar_t>(),
                              verts.data_ptr<scalar_t>(), faces.data_ptr<int64_t>(), s,
                              static_cast<scalar_t>(1.0 / sigma_px), static_cast<scalar_t>(cutoff_sq),
                              static_cast<scalar_t>(near), grad_verts.data_ptr<scalar_t>());
  });
  return grad_verts;
}

std::vector<int64_t> cpu_threads_used() { return {g_forward_threads.load(), g_backward_threads.load()}; }

std::string cpu_kernel_isa() { return kIsaNames[active_isa()]; }

std::vector<std::string> cpu_kernel_isas() {
  std::vector<std::string> names{kIsaNames[0]};
  if (cpu_has_avx2()) names.emplace_back(kIsaNames[1]);
  return names;
}

void set_cpu_kernel_isa(const std::string& name) {
  const std::vector<std::string> ok = cpu_kernel_isas();
  TORCH_CHECK(std::find(ok.begin(), ok.end(), name) != ok.end(), "CPU kernel instruction set '", name,
              "' is not available here");
  g_isa.store(name == kIsaNames[1] ? 1 : 0, std::memory_order_relaxed);
}

std::string cpu_parallel_backend() {
#ifdef _OPENMP
  return "openmp";
#else
  return "std::thread";
#endif
}

}  // namespace softfit
