// Per-tile CPU kernels (declared in raster_cpu_tiles.h). No include guard on purpose: each translation
// unit that compiles a variant defines SOFTFIT_TILE_NS (the namespace) and includes this once, with its
// own target options in force. Everything here must stay inside that namespace (or be a template already
// defined outside the target region, like raster_math.h's), so no two variants share a symbol.
//
// A tile is kTile x kTile pixels; each face near it covers a box of its rows, and each row is worked on
// in chunks of kLanes pixels aligned to the tile: a fixed-width loop of straight-line maths (locate is
// branch-free) that the compiler turns into one AVX2 register of floats, or two SSE ones in the baseline.
// Lanes outside the face's cut-off (or outside the image) contribute exactly nothing: a factor 1 and a
// zero gradient weight, so results do not depend on how a row is chunked.

#include <algorithm>
#include <cmath>
#include <cstring>

namespace softfit {
namespace SOFTFIT_TILE_NS {

constexpr int kLanes = 8;

// exp(x) for x <= 0, in a form the compiler can vectorise (std::exp is an opaque call that keeps a loop
// scalar). float: range reduction x = n·ln2 + r, |r| <= ln2/2, and Cephes' degree-6 polynomial for e^r
// (≈ 1 ulp); x is clamped at -80, where e^x (< 2e-35) no longer changes 1 + e^x or a sigmoid that is
// used. double keeps std::exp (gradcheck precision; not the hot path).
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

// Calls fn(y, chunk, px0) for every row y of the tile within the face's box and every kLanes-pixel chunk
// of that row the box touches; px0 is the x of the chunk's first pixel centre, `at` its index in the tile.
template <typename T, typename Fn>
inline void for_each_chunk(const Face<T>& f, const TileTask<T>& task, const Fn& fn) {
  const int xa = std::max(f.x0, task.x0), xb = std::min(f.x1, task.x1);
  const int y0 = std::max(f.y0, task.y0), y1 = std::min(f.y1, task.y1);
  if (xa > xb) return;
  const int c0 = (xa - task.x0) / kLanes, c1 = (xb - task.x0) / kLanes;
  for (int y = y0; y <= y1; ++y) {
    for (int c = c0; c <= c1; ++c) {
      fn(T(y) + T(0.5), T(task.x0 + c * kLanes) + T(0.5), (y - task.y0) * kTile + c * kLanes);
    }
  }
}

// Forward, one chunk: every pair (pixel, face) with d² within the cut-off, or inside, multiplies the
// pixel's prod by 1 + e^{-|x|} and, inside, adds x to lin: log(1 - D) = -softplus(x) =
// -(max(x, 0) + log(1 + e^{-|x|})), so S = -(lin + log prod) costs one exp per pair and one log per
// pixel instead of an exp and a log1p per pair. Factors lie in (1, 2]: prod is rescaled by the caller.
template <typename T>
inline void forward_lanes(const Face<T>& f, T py, T px0, T inv_sigma, T cutoff_sq, T* __restrict prod,
                          T* __restrict lin) {
#pragma omp simd
  for (int i = 0; i < kLanes; ++i) {
    const PixelHit<T> h = locate<T>(f, px0 + T(i), py);
    // inside | d2 <= cutoff, written as one compare: gcc's if-conversion gives up on the bool or (SSE2).
    const bool hit = (h.inside ? -T(INFINITY) : h.d2) <= cutoff_sq;
    const T x = h.d2 * inv_sigma;  // |logit|
    const T e = exp_nonpositive<T>(-x);
    prod[i] = prod[i] * (hit ? T(1) + e : T(1));
    lin[i] = lin[i] + (h.inside ? x : T(0));
  }
}

// Hard coverage, one chunk: 1 where the pixel centre is strictly inside.
template <typename T>
inline void coverage_lanes(const Face<T>& f, T py, T px0, T* __restrict cover) {
#pragma omp simd
  for (int i = 0; i < kLanes; ++i) {
    const PixelHit<T> h = locate<T>(f, px0 + T(i), py);
    cover[i] = h.inside ? T(1) : cover[i];
  }
}

// Backward, one chunk: adds each pixel's ∂L/∂(vertex xy) to acc[2j / 2j+1][lane] for vertex j, with
// g = ∂L/∂A · exp(S) per pixel and w = g · sigmoid(δ·x) · δ/σ (as locate + add_pair_grad).
template <typename T>
inline void backward_lanes(const Face<T>& f, T py, T px0, T inv_sigma, T cutoff_sq, const T* __restrict g,
                           T (*__restrict acc)[kLanes]) {
#pragma omp simd
  for (int i = 0; i < kLanes; ++i) {
    const PixelHit<T> h = locate<T>(f, px0 + T(i), py);
    const bool hit = (g[i] != T(0)) & ((h.inside ? -T(INFINITY) : h.d2) <= cutoff_sq);
    const T x = h.d2 * inv_sigma;  // |logit|
    const T e = exp_nonpositive<T>(-x);
    const T r = T(1) / (T(1) + e);  // one division (gcc would split a select of numerators into two)
    const T sig = h.inside ? r : e * r;  // sigmoid(δ·x)
    const T w = hit ? g[i] * sig * (h.inside ? inv_sigma : -inv_sigma) : T(0);
    const VertexCoeffs<T> c = pair_grad_coeffs<T>(h, w);
    acc[0][i] += c.c0 * h.qx;
    acc[1][i] += c.c0 * h.qy;
    acc[2][i] += c.c1 * h.qx;
    acc[3][i] += c.c1 * h.qy;
    acc[4][i] += c.c2 * h.qx;
    acc[5][i] += c.c2 * h.qy;
  }
}

template <typename T>
void forward_tile(const TileTask<T>& task, bool hard, T* alpha, T* logsum) {
  // Per pixel: prod · 2^(64·scale) = ∏(1 + e^{-|x|}) and lin = Σ_inside x (see forward_lanes); in hard
  // mode lin holds the coverage.
  alignas(64) T prod[kTile * kTile], lin[kTile * kTile] = {}, scale[kTile * kTile] = {};
  std::fill(prod, prod + kTile * kTile, T(1));
  for (int64_t e = 0; e < task.count; ++e) {
    const Face<T> f = task.faces[task.entries[e]];  // a local copy: stores below cannot alias it
    for_each_chunk(f, task, [&](T py, T px0, int at) {
      if (hard) {
        coverage_lanes<T>(f, py, px0, lin + at);
      } else {
        forward_lanes<T>(f, py, px0, task.inv_sigma, task.cutoff_sq, prod + at, lin + at);
      }
    });
    // Each face at most doubles prod: rescale every 64 faces, long before it could overflow.
    if (!hard && e % 64 == 63) {
      for (int i = 0; i < kTile * kTile; ++i) {
        const bool big = prod[i] > T(1.8446744073709552e19);  // 2^64
        prod[i] = big ? prod[i] * T(5.421010862427522e-20) : prod[i];
        scale[i] += big ? T(1) : T(0);
      }
    }
  }
  const T ln2_64 = T(64 * 0.6931471805599453);
  for (int y = task.y0; y <= task.y1; ++y) {
    for (int x = task.x0; x <= task.x1; ++x) {
      const int i = (y - task.y0) * kTile + (x - task.x0);
      const int64_t p = (y - task.y0) * task.stride + (x - task.x0);
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
}

template <typename T>
void backward_tile(const TileTask<T>& task, const T* grad_alpha, const T* logsum, T* entry_grad) {
  // ∂L/∂A · exp(S) per pixel: the factor every face's gradient at that pixel shares; 0 off the image.
  alignas(64) T g[kTile * kTile] = {};
  bool any = false;
  for (int y = task.y0; y <= task.y1; ++y) {
    for (int x = task.x0; x <= task.x1; ++x) {
      const int64_t p = (y - task.y0) * task.stride + (x - task.x0);
      const T v = grad_alpha[p] * std::exp(logsum[p]);
      g[(y - task.y0) * kTile + (x - task.x0)] = v;
      any = any || v != T(0);
    }
  }
  if (!any) return;
  // Chunks whose g is all zero add exactly zero: skip them (deep inside the object exp(S) underflows).
  bool live[kTile * kTile / kLanes];
  for (int c = 0; c < kTile * kTile / kLanes; ++c) {
    live[c] = std::any_of(g + c * kLanes, g + (c + 1) * kLanes, [](T v) { return v != T(0); });
  }
  for (int64_t e = 0; e < task.count; ++e) {
    const Face<T> f = task.faces[task.entries[e]];
    alignas(64) T acc[6][kLanes] = {};
    for_each_chunk(f, task, [&](T py, T px0, int at) {
      if (live[at / kLanes]) backward_lanes<T>(f, py, px0, task.inv_sigma, task.cutoff_sq, g + at, acc);
    });
    for (int j = 0; j < 6; ++j) {
      T sum = T(0);
      for (int i = 0; i < kLanes; ++i) sum += acc[j][i];
      entry_grad[e * 6 + j] = sum;
    }
  }
}

template void forward_tile<float>(const TileTask<float>&, bool, float*, float*);
template void forward_tile<double>(const TileTask<double>&, bool, double*, double*);
template void backward_tile<float>(const TileTask<float>&, const float*, const float*, float*);
template void backward_tile<double>(const TileTask<double>&, const double*, const double*, double*);

}  // namespace SOFTFIT_TILE_NS
}  // namespace softfit
