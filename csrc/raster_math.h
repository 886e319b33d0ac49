// Per-face and per-pixel maths of the soft silhouette, shared verbatim by the CPU and CUDA kernels.
// Plain C++ on raw scalars: no torch types, so both twins compute the very same expressions.
#pragma once

#include <cmath>
#include <cstdint>

#if defined(__CUDACC__)
#define SF_HD __host__ __device__ __forceinline__
#else
#define SF_HD inline
#endif

namespace softfit {

using std::ceil;
using std::exp;
using std::fabs;
using std::floor;
using std::fmax;
using std::fmin;
using std::isfinite;
using std::log1p;
using std::sqrt;

// Screen tiles are kTile x kTile pixels; each face is listed in every tile its expanded bbox overlaps.
constexpr int kTile = 16;

// Edges shorter than this (pixels²) are treated as points so that a zero-area triangle stays finite.
template <typename T>
SF_HD T min_edge_len2() {
  return T(1e-12);
}

// Screen-space data of one face, precomputed once per call so the pixel loop only does arithmetic.
template <typename T>
struct Face {
  T ax[3], ay[3];      // vertex k (pixels)
  T ex[3], ey[3];      // edge k = vertex k+1 - vertex k
  T inv_len2[3];       // 1 / |edge k|², 0 for a (near) zero-length edge
  T orient;            // +1 / -1: the sign of every edge function inside; 0 when (near) degenerate
  int x0, x1, y0, y1;  // inclusive pixel range that can get > eps from this face; empty when x0 > x1
};

template <typename T>
SF_HD T clamp_to(T v, T lo, T hi) {
  return v < lo ? lo : (v > hi ? hi : v);
}

// Fills `f` for the face (i0, i1, i2) of one mesh and returns whether it can touch the image. A face is
// skipped when it is a padding row (any index < 0), has a vertex with depth <= near, or a non-finite
// coordinate. `radius` is the cut-off distance in pixels (0 for hard coverage).
template <typename T>
SF_HD bool setup_face(const T* verts, int64_t i0, int64_t i1, int64_t i2, T near, T radius, int height,
                      int width, Face<T>& f) {
  f.x0 = 1;
  f.x1 = 0;
  f.y0 = 1;
  f.y1 = 0;
  if (i0 < 0 || i1 < 0 || i2 < 0) return false;
  const int64_t idx[3] = {i0, i1, i2};
  for (int k = 0; k < 3; ++k) {
    const T* v = verts + 3 * idx[k];
    if (!(v[2] > near) || !isfinite(v[0]) || !isfinite(v[1])) return false;
    f.ax[k] = v[0];
    f.ay[k] = v[1];
  }
  T xmin = f.ax[0], xmax = f.ax[0], ymin = f.ay[0], ymax = f.ay[0];
  // Orientation in double: a float edge function of a sliver can get the sign wrong.
  const double area2 = (double(f.ax[1]) - f.ax[0]) * (double(f.ay[2]) - f.ay[0]) -
                       (double(f.ay[1]) - f.ay[0]) * (double(f.ax[2]) - f.ax[0]);
  f.orient = area2 > 1e-6 ? T(1) : (area2 < -1e-6 ? T(-1) : T(0));
  for (int k = 0; k < 3; ++k) {
    const int n = k == 2 ? 0 : k + 1;
    f.ex[k] = f.ax[n] - f.ax[k];
    f.ey[k] = f.ay[n] - f.ay[k];
    const T len2 = f.ex[k] * f.ex[k] + f.ey[k] * f.ey[k];
    f.inv_len2[k] = len2 > min_edge_len2<T>() ? T(1) / len2 : T(0);
    xmin = fmin(xmin, f.ax[k]);
    xmax = fmax(xmax, f.ax[k]);
    ymin = fmin(ymin, f.ay[k]);
    ymax = fmax(ymax, f.ay[k]);
  }
  // Pixel i has its centre at i + 0.5; the slack (growing with the coordinates' magnitude, as float
  // rounding does) keeps the range conservative: the exact cut-off is the d² test in the pixel loop.
  // Clamp before the int conversion.
  const T mag = fmax(fmax(fabs(xmin), fabs(xmax)), fmax(fabs(ymin), fabs(ymax)));
  const T pad = radius * T(1.000001) + T(1e-3) + T(1e-5) * mag;
  const T lo_x = clamp_to<T>(floor(xmin - pad - T(0.5)), T(-1), T(width));
  const T hi_x = clamp_to<T>(ceil(xmax + pad - T(0.5)), T(-1), T(width));
  const T lo_y = clamp_to<T>(floor(ymin - pad - T(0.5)), T(-1), T(height));
  const T hi_y = clamp_to<T>(ceil(ymax + pad - T(0.5)), T(-1), T(height));
  f.x0 = lo_x < 0 ? 0 : static_cast<int>(lo_x);
  f.x1 = hi_x > width - 1 ? width - 1 : static_cast<int>(hi_x);
  f.y0 = lo_y < 0 ? 0 : static_cast<int>(lo_y);
  f.y1 = hi_y > height - 1 ? height - 1 : static_cast<int>(hi_y);
  return f.x0 <= f.x1 && f.y0 <= f.y1;
}

// Where pixel centre (px, py) lies relative to a face: squared distance to the boundary, inside flag
// (either winding), and for the gradient p - q and how the closest boundary point q moves with each
// vertex (q = a_k + t·e_k on the closest edge k, t clamped to [0, 1]).
template <typename T>
struct PixelHit {
  T d2;
  T qx, qy;        // p - closest boundary point q
  T w0, w1, w2;    // ∂q/∂(vertex j): 1 - t for vertex k, t for vertex k + 1, 0 for the third
  bool inside;
};

template <typename T>
SF_HD T min_of(T a, T b) {
  return b < a ? b : a;
}

// Branch-free, so that the CPU kernels' loops over a row of pixels vectorise (the closest-edge selects
// compile to blends) and a CUDA warp never diverges. Inside means every edge function, signed by the
// face's orientation, is > 0: either winding counts, and a (near) degenerate face has no inside.
template <typename T>
SF_HD PixelHit<T> locate(const Face<T>& f, T px, T py) {
  T d2 = T(INFINITY), qx_best = T(0), qy_best = T(0), w[3] = {T(0), T(0), T(0)};
  T inner = T(INFINITY);  // min over edges of orient · edge function
  for (int k = 0; k < 3; ++k) {
    const T dx = px - f.ax[k];
    const T dy = py - f.ay[k];
    inner = min_of<T>(inner, (f.orient * f.ex[k]) * dy - (f.orient * f.ey[k]) * dx);
    const T t = clamp_to<T>((dx * f.ex[k] + dy * f.ey[k]) * f.inv_len2[k], T(0), T(1));
    const T qx = dx - t * f.ex[k];
    const T qy = dy - t * f.ey[k];
    const T dk = qx * qx + qy * qy;
    const bool closer = dk < d2;  // the first of equally close edges wins
    d2 = closer ? dk : d2;
    qx_best = closer ? qx : qx_best;
    qy_best = closer ? qy : qy_best;
    const int n = k == 2 ? 0 : k + 1;
    w[k] = closer ? T(1) - t : w[k];
    w[n] = closer ? t : w[n];
    w[3 - k - n] = closer ? T(0) : w[3 - k - n];
  }
  return {d2, qx_best, qy_best, w[0], w[1], w[2], inner > T(0)};
}

// log(1 - sigmoid(x)) = -softplus(x), computed without overflow for any x.
template <typename T>
SF_HD T softplus(T x) {
  // Past 17 (float) / 37 (double), log1p(exp(-x)) is below half an ulp of x: skip the two calls.
  if (x > T(sizeof(T) == 4 ? 17 : 37)) return x;
  return (x > T(0) ? x : T(0)) + log1p(exp(-fabs(x)));
}

template <typename T>
SF_HD T sigmoid(T x) {
  if (x >= T(0)) return T(1) / (T(1) + exp(-x));
  const T e = exp(x);
  return e / (T(1) + e);
}

// Signed, scaled distance x = δ·d²/σ of a located pixel, or false when the face is outside and beyond
// the cut-off (it would contribute < eps and is skipped, exactly as in the dense reference).
template <typename T>
SF_HD bool soft_logit(const PixelHit<T>& h, T inv_sigma, T cutoff_sq, T& x) {
  if (!h.inside && h.d2 > cutoff_sq) return false;
  x = (h.inside ? h.d2 : -h.d2) * inv_sigma;
  return true;
}

// ∂L/∂(vertex xy) of one pixel-face pair is c_j·(qx, qy) for vertex j, given w = ∂L/∂(d²) =
// ∂L/∂A · exp(S) · sigmoid(x) · δ/σ. With q the closest boundary point on edge (a, b), d² = |p - q|² and
// by the envelope theorem ∂d²/∂a = -2(1-t)(p-q), ∂d²/∂b = -2t(p-q): c_j = -2w·w_j.
template <typename T>
struct VertexCoeffs {
  T c0, c1, c2;
};

template <typename T>
SF_HD VertexCoeffs<T> pair_grad_coeffs(const PixelHit<T>& h, T w) {
  const T c = T(-2) * w;
  return {c * h.w0, c * h.w1, c * h.w2};
}

// Adds that gradient to g[6] = (gx0, gy0, gx1, gy1, gx2, gy2).
template <typename T>
SF_HD void add_pair_grad(const PixelHit<T>& h, T w, T* g) {
  const VertexCoeffs<T> c = pair_grad_coeffs<T>(h, w);
  g[0] += c.c0 * h.qx;
  g[1] += c.c0 * h.qy;
  g[2] += c.c1 * h.qx;
  g[3] += c.c1 * h.qy;
  g[4] += c.c2 * h.qx;
  g[5] += c.c2 * h.qy;
}

}  // namespace softfit
