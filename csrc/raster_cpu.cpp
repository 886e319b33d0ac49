// CPU twin of the soft silhouette rasteriser (contract in raster.h): screen-space binning, then one
// task per (mesh, tile) on torch's intra-op threads. Each task writes only its own pixels (forward) or its
// own bin entries' gradients (backward), so results do not depend on the thread count.
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
#include "raster_math.h"

namespace softfit {
namespace {

// Threads that did work in the latest CPU forward / backward pass (the debug query `cpu_threads_used`).
std::atomic<int64_t> g_forward_threads{0};
std::atomic<int64_t> g_backward_threads{0};

// Runs fn(i) for every i in [0, n) on at::get_num_threads() threads, handing items out one at a time:
// tiles differ a lot in cost (the object covers part of the image), and a static split would leave
// threads idle. Returns how many threads ran at least one item. With OpenMP this is torch's own thread
// pool (at::parallel_for); without it at::parallel_for would be a serial loop, so the fallback starts
// std::threads itself.
template <typename Fn>
int64_t parallel_dynamic(int64_t n, const Fn& fn) {
  const int64_t nthreads = std::min<int64_t>(at::get_num_threads(), n);
  if (nthreads <= 1 || at::in_parallel_region()) {
    for (int64_t i = 0; i < n; ++i) fn(i);
    return n > 0 ? 1 : 0;
  }
  std::atomic<int64_t> next{0};
  std::atomic<int64_t> workers{0};
  auto work = [&] {
    bool did = false;
    for (int64_t i = next.fetch_add(1, std::memory_order_relaxed); i < n;
         i = next.fetch_add(1, std::memory_order_relaxed)) {
      fn(i);
      did = true;
    }
    if (did) workers.fetch_add(1, std::memory_order_relaxed);
  };
#ifdef _OPENMP
  at::parallel_for(0, nthreads, 1, [&](int64_t, int64_t) { work(); });
#else
  std::vector<std::thread> pool;
  for (int64_t t = 1; t < nthreads; ++t) pool.emplace_back(work);
  work();
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

// Pixel rectangle [x0, x1] x [y0, y1] of tile `t` (within one image) clipped to the image.
struct TileRect {
  int x0, x1, y0, y1;
};

inline TileRect tile_rect(int64_t t, int64_t tiles_x, int64_t H, int64_t W) {
  const int x0 = static_cast<int>((t % tiles_x) * kTile);
  const int y0 = static_cast<int>((t / tiles_x) * kTile);
  return {x0, static_cast<int>(std::min<int64_t>(x0 + kTile, W)) - 1, y0,
          static_cast<int>(std::min<int64_t>(y0 + kTile, H)) - 1};
}

// exp(x) for x <= 0, in a form the compiler can vectorise across a row of pixels (std::exp is an opaque
// call that keeps the loop scalar). float: range reduction x = n·ln2 + r, |r| <= ln2/2, and Cephes'
// degree-6 polynomial for e^r (≈ 1 ulp); x is clamped at -80, where e^x (< 2e-35) no longer changes
// 1 + e^x or a sigmoid that is used. double keeps std::exp (gradcheck precision; not the hot path).
template <typename T>
inline T exp_nonpositive(T x) {
  return std::exp(x);
}

template <>
inline float exp_nonpositive<float>(float x) {
  x = x < -80.0f ? -80.0f : x;
  const float shifter = 12582912.0f;  // 1.5·2^23: adding and subtracting it rounds to an integer
  const float n = (x * 1.44269504088896341f + shifter) - shifter;
  float r = x - n * 0.693359375f;
  r = r + n * 2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  const float er = p * (r * r) + r + 1.0f;
  const int32_t bits = (static_cast<int32_t>(n) + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return er * scale;
}

// One row of one face in the forward pass, pixels xa .. xa+n-1 (n <= kTile), branch-free so the
// compiler vectorises it. Every pair (pixel, face) with d² within the cut-off, or inside, multiplies
// the pixel's prod by 1 + e^{-|x|} and, inside, adds x to lin: log(1 - D) = -softplus(x) =
// -(max(x, 0) + log(1 + e^{-|x|})), so S = -(lin + log prod) costs one exp per pair and one log per
// pixel instead of an exp and a log1p per pair. Factors lie in (1, 2]: prod is rescaled by the caller.
template <typename T>
inline void forward_row(const Face<T>& face, T py, int xa, int n, T inv_sigma, T cutoff_sq, T* prod,
                        T* lin) {
  const Face<T> f = face;  // a local copy: the stores below cannot alias it, so it stays in registers
#pragma omp simd
  for (int i = 0; i < n; ++i) {
    const T px = T(xa + i) + T(0.5);
    T d2 = T(INFINITY);
    int pos = 0, neg = 0;
    for (int k = 0; k < 3; ++k) {
      const T dx = px - f.ax[k];
      const T dy = py - f.ay[k];
      const T cross = f.ex[k] * dy - f.ey[k] * dx;
      pos += cross > T(0);
      neg += cross < T(0);
      const T t = std::min(std::max((dx * f.ex[k] + dy * f.ey[k]) * f.inv_len2[k], T(0)), T(1));
      const T qx = dx - t * f.ex[k];
      const T qy = dy - t * f.ey[k];
      d2 = std::min(d2, qx * qx + qy * qy);
    }
    const bool inside = (pos == 3) | (neg == 3);
    const bool hit = inside | (d2 <= cutoff_sq);
    const T x = d2 * inv_sigma;  // |logit|
    const T e = exp_nonpositive<T>(-x);
    const T factor = hit ? T(1) + e : T(1);
    const T add = inside ? x : T(0);
    prod[i] = prod[i] * factor;
    lin[i] = lin[i] + add;
  }
}

// One row of one face in the backward pass: adds ∂L/∂(vertex xy) of its pixels to acc[6], with
// g = ∂L/∂A · exp(S) per pixel. Same maths as locate + add_pair_grad, branch-free: the closest edge of
// each pixel (first of equals, as in locate) gets -2w(1-t)(p-q) on its first vertex, -2wt(p-q) on its
// second, with w = g · sigmoid(x) · δ/σ.
template <typename T>
inline void backward_row(const Face<T>& face, T py, int xa, int n, T inv_sigma, T cutoff_sq, const T* g,
                         T* acc) {
  const Face<T> f = face;
  T a0 = 0, a1 = 0, a2 = 0, a3 = 0, a4 = 0, a5 = 0;
#pragma omp simd reduction(+ : a0, a1, a2, a3, a4, a5)
  for (int i = 0; i < n; ++i) {
    const T px = T(xa + i) + T(0.5);
    T d2 = T(INFINITY), bqx = 0, bqy = 0, bt = 0;
    int edge = 0, pos = 0, neg = 0;
    for (int k = 0; k < 3; ++k) {
      const T dx = px - f.ax[k];
      const T dy = py - f.ay[k];
      const T cross = f.ex[k] * dy - f.ey[k] * dx;
      pos += cross > T(0);
      neg += cross < T(0);
      const T t = std::min(std::max((dx * f.ex[k] + dy * f.ey[k]) * f.inv_len2[k], T(0)), T(1));
      const T qx = dx - t * f.ex[k];
      const T qy = dy - t * f.ey[k];
      const T dk = qx * qx + qy * qy;
      const bool closer = dk < d2;
      d2 = closer ? dk : d2;
      bqx = closer ? qx : bqx;
      bqy = closer ? qy : bqy;
      bt = closer ? t : bt;
      edge = closer ? k : edge;
    }
    const bool inside = (pos == 3) | (neg == 3);
    const bool hit = (g[i] != T(0)) & (inside | (d2 <= cutoff_sq));
    const T x = d2 * inv_sigma;  // |logit|
    const T e = exp_nonpositive<T>(-x);
    const T sig = (inside ? T(1) : e) / (T(1) + e);  // sigmoid(δ·x)
    const T w = hit ? g[i] * sig * (inside ? inv_sigma : -inv_sigma) : T(0);
    const T ca = T(-2) * w * (T(1) - bt);  // on the edge's first vertex
    const T cb = T(-2) * w * bt;           // on its second
    const T c0 = (edge == 0 ? ca : T(0)) + (edge == 2 ? cb : T(0));
    const T c1 = (edge == 1 ? ca : T(0)) + (edge == 0 ? cb : T(0));
    const T c2 = (edge == 2 ? ca : T(0)) + (edge == 1 ? cb : T(0));
    a0 += c0 * bqx;
    a1 += c0 * bqy;
    a2 += c1 * bqx;
    a3 += c1 * bqy;
    a4 += c2 * bqx;
    a5 += c2 * bqy;
  }
  acc[0] += a0;
  acc[1] += a1;
  acc[2] += a2;
  acc[3] += a3;
  acc[4] += a4;
  acc[5] += a5;
}

// Rows of face f inside tile r, with each row's cut-off span clipped to the tile: fn(y, xa, n).
template <typename T, typename Fn>
inline void for_each_row(const Face<T>& f, const TileRect& r, const Fn& fn) {
  const int y0 = std::max(f.y0, r.y0), y1 = std::min(f.y1, r.y1);
  for (int y = y0; y <= y1; ++y) {
    int xa, xb;
    row_span<T>(f, y, xa, xb);
    xa = std::max(xa, r.x0);
    xb = std::min(xb, r.x1);
    if (xa <= xb) fn(y, xa, xb - xa + 1);
  }
}

template <typename T>
void forward_kernel(const T* verts, const int64_t* faces, const Sizes& s, T inv_sigma, T cutoff_sq, T near,
                    bool hard, T* alpha, T* logsum) {
  const Bins<T> bins = build_bins<T>(verts, faces, s, near, hard ? T(0) : std::sqrt(cutoff_sq));
  g_forward_threads = parallel_dynamic(s.B * bins.ntiles, [&](int64_t item) {
    const int64_t b = item / bins.ntiles;
    const TileRect r = tile_rect(item % bins.ntiles, bins.tiles_x, s.H, s.W);
    // Per pixel: prod · 2^(64·scale) = ∏(1 + e^{-|x|}) and lin = Σ_inside x (see forward_row); in hard
    // mode lin holds the coverage.
    const int64_t first = bins.offsets[item], end = bins.offsets[item + 1];
    if (first == end) return;  // no face near this tile: alpha and S stay 0
    T prod[kTile * kTile], lin[kTile * kTile] = {}, scale[kTile * kTile] = {};
    std::fill(prod, prod + kTile * kTile, T(1));
    for (int64_t e = first; e < end; ++e) {
      const Face<T>& f = bins.faces[b * s.F + bins.entries[e]];
      for_each_row(f, r, [&](int y, int xa, int n) {
        const int at = (y - r.y0) * kTile + (xa - r.x0);
        const T py = T(y) + T(0.5);
        if (hard) {
          PixelHit<T> h;
          for (int i = 0; i < n; ++i) {
            locate<T>(f, T(xa + i) + T(0.5), py, h);
            if (h.inside) lin[at + i] = T(1);
          }
        } else {
          forward_row<T>(f, py, xa, n, inv_sigma, cutoff_sq, prod + at, lin + at);
        }
      });
      // Each face at most doubles prod: rescale every 64 faces, long before it could overflow.
      if (!hard && (e - first) % 64 == 63) {
        for (int i = 0; i < kTile * kTile; ++i) {
          const bool big = prod[i] > T(1.8446744073709552e19);  // 2^64
          prod[i] = big ? prod[i] * T(5.421010862427522e-20) : prod[i];
          scale[i] += big ? T(1) : T(0);
        }
      }
    }
    const T ln2_64 = T(64 * 0.6931471805599453);
    for (int y = r.y0; y <= r.y1; ++y) {
      for (int x = r.x0; x <= r.x1; ++x) {
        const int i = (y - r.y0) * kTile + (x - r.x0);
        const int64_t p = (b * s.H + y) * s.W + x;
        if (hard) {
          alpha[p] = lin[i];
          logsum[p] = T(0);
        } else if (prod[i] != T(1) || lin[i] != T(0) || scale[i] != T(0)) {  // else S = 0, alpha = 0
          const T v = (T(0) - lin[i]) - (std::log(prod[i]) + scale[i] * ln2_64);
          alpha[p] = -std::expm1(v);
          logsum[p] = v;
        }
      }
    }
  });
}

template <typename T>
void backward_kernel(const T* grad_alpha, const T* logsum, const T* verts, const int64_t* faces,
                     const Sizes& s, T inv_sigma, T cutoff_sq, T near, T* grad_verts) {
  const Bins<T> bins = build_bins<T>(verts, faces, s, near, std::sqrt(cutoff_sq));
  // One (gx0, gy0, gx1, gy1, gx2, gy2) per bin entry: tasks never share an output, so no races.
  std::vector<T> entry_grad(bins.entries.size() * 6, T(0));
  g_backward_threads = parallel_dynamic(s.B * bins.ntiles, [&](int64_t item) {
    const int64_t b = item / bins.ntiles;
    const TileRect r = tile_rect(item % bins.ntiles, bins.tiles_x, s.H, s.W);
    if (bins.offsets[item] == bins.offsets[item + 1]) return;  // no face near this tile
    // ∂L/∂A · exp(S) per pixel: the factor every face's gradient at that pixel shares.
    T g[kTile * kTile] = {};
    bool any = false;
    for (int y = r.y0; y <= r.y1; ++y) {
      for (int x = r.x0; x <= r.x1; ++x) {
        const int64_t p = (b * s.H + y) * s.W + x;
        const T v = grad_alpha[p] * std::exp(logsum[p]);
        g[(y - r.y0) * kTile + (x - r.x0)] = v;
        any = any || v != T(0);
      }
    }
    if (!any) return;
    for (int64_t e = bins.offsets[item]; e < bins.offsets[item + 1]; ++e) {
      const Face<T>& f = bins.faces[b * s.F + bins.entries[e]];
      T acc[6] = {};
      for_each_row(f, r, [&](int y, int xa, int n) {
        const T* row = g + (y - r.y0) * kTile + (xa - r.x0);
        backward_row<T>(f, T(y) + T(0.5), xa, n, inv_sigma, cutoff_sq, row, acc);
      });
      std::copy(acc, acc + 6, entry_grad.begin() + e * 6);
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

std::string cpu_parallel_backend() {
#ifdef _OPENMP
  return "openmp";
#else
  return "std::thread";
#endif
}

}  // namespace softfit
