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
  T len[3];            // |edge k|, for the per-row spans
  T span_r;            // cut-off distance (pixels, 0 for hard coverage), widened for rounding
  T inv_ex[3], inv_ey[3];  // 1 / ex, 1 / ey (0 where that component is 0), for the per-row spans
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
    f.len[k] = sqrt(len2);
    f.inv_ex[k] = f.ex[k] != T(0) ? T(1) / f.ex[k] : T(0);
    f.inv_ey[k] = f.ey[k] != T(0) ? T(1) / f.ey[k] : T(0);
    xmin = fmin(xmin, f.ax[k]);
    xmax = fmax(xmax, f.ax[k]);
    ymin = fmin(ymin, f.ay[k]);
    ymax = fmax(ymax, f.ay[k]);
  }
  // The spans' radius, widened so that float rounding in the pixel loop cannot reach past it.
  const T mag = fmax(fmax(fabs(xmin), fabs(xmax)), fmax(fabs(ymin), fabs(ymax)));
  f.span_r = radius * T(1.000001) + T(1e-3) + T(1e-5) * mag;
  // Pixel i has its centre at i + 0.5; the small slack keeps the range conservative under rounding
  // (the exact cut-off is the d² test in the pixel loop). Clamp before the int conversion.
  const T pad = radius + T(1e-3);
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

// Columns [xa, xb] (within the face's box) of row y whose pixel centres may lie within the cut-off of
// the face; xa > xb when none do. The exact d² test stays in the pixel loop: this only has to be a
// superset of it, and is tight: the face's r-neighbourhood is convex, the union of the face and its three
// edge capsules (segment ⊕ disk of radius r), and both ends of its chord along the row lie in a capsule.
// So the chord runs from the least to the greatest end of the capsules' chords, and each capsule's chord
// is the hull of its end disks' chords and its band's (the segment swept ±r along its normal). Solved in
// double with r widened by a hair, so float rounding in the pixel loop cannot miss a pixel.
template <typename T>
SF_HD void row_span(const Face<T>& f, int y, int& xa, int& xb) {
  xa = 1;
  xb = 0;
  const double c = y + 0.5;
  const double r = f.span_r;
  double lo = INFINITY, hi = -INFINITY;
  for (int k = 0; k < 3; ++k) {
    const double ax = f.ax[k], ex = f.ex[k], ey = f.ey[k];
    const double dy = c - double(f.ay[k]);
    if (dy <= r && dy >= -r) {  // the disk around vertex k (vertex k + 1 is the next edge's)
      const double w = sqrt(r * r - dy * dy);
      lo = ax - w < lo ? ax - w : lo;
      hi = ax + w > hi ? ax + w : hi;
    }
    if (!(f.len[k] > T(1e-6))) continue;  // a point: its disks cover it
    // Band, in u = x - ax: 0 <= u·ex + dy·ey <= |e|² (along the edge), |ex·dy - ey·u| <= r·|e| (across).
    double u0 = -INFINITY, u1 = INFINITY;
    if (ex != 0.0) {
      const double a = -dy * ey * f.inv_ex[k], b = (ex * ex + ey * ey - dy * ey) * f.inv_ex[k];
      u0 = a < b ? a : b;
      u1 = a < b ? b : a;
    } else if (dy * ey < 0.0 || dy * ey > ey * ey) {
      continue;
    }
    const double rl = r * double(f.len[k]);
    if (ey != 0.0) {
      const double a = (ex * dy - rl) * f.inv_ey[k], b = (ex * dy + rl) * f.inv_ey[k];
      const double a0 = a < b ? a : b, b0 = a < b ? b : a;
      u0 = a0 > u0 ? a0 : u0;
      u1 = b0 < u1 ? b0 : u1;
    } else if (ex * dy > rl || ex * dy < -rl) {
      continue;
    }
    if (u0 <= u1) {
      lo = ax + u0 < lo ? ax + u0 : lo;
      hi = ax + u1 > hi ? ax + u1 : hi;
    }
  }
  if (!(lo <= hi)) return;
  // Pixel x has its centre at x + 0.5: the columns with lo <= x + 0.5 <= hi, within the face's box.
  const double first = clamp_to<double>(ceil(lo - 0.5), double(f.x0), double(f.x1) + 1.0);
  const double last = clamp_to<double>(floor(hi - 0.5), double(f.x0) - 1.0, double(f.x1));
  xa = static_cast<int>(first);
  xb = static_cast<int>(last);
}

// Where pixel centre (px, py) lies relative to a face: squared distance to the boundary, inside flag
// (either winding), and the closest edge with the clamped projection parameter t (for the gradient).
template <typename T>
struct PixelHit {
  T d2;
  T qx, qy;  // p - closest boundary point
  T t;       // closest point = a_k + t * e_k
  int edge;
  bool inside;
};

template <typename T>
SF_HD void locate(const Face<T>& f, T px, T py, PixelHit<T>& h) {
  int pos = 0, neg = 0;
  h.d2 = T(INFINITY);
  h.edge = 0;
  h.t = T(0);
  h.qx = T(0);
  h.qy = T(0);
  for (int k = 0; k < 3; ++k) {
    const T dx = px - f.ax[k];
    const T dy = py - f.ay[k];
    const T cross = f.ex[k] * dy - f.ey[k] * dx;
    pos += cross > T(0);
    neg += cross < T(0);
    const T t = clamp_to<T>((dx * f.ex[k] + dy * f.ey[k]) * f.inv_len2[k], T(0), T(1));
    const T qx = dx - t * f.ex[k];
    const T qy = dy - t * f.ey[k];
    const T d2 = qx * qx + qy * qy;
    if (d2 < h.d2) {
      h.d2 = d2;
      h.qx = qx;
      h.qy = qy;
      h.t = t;
      h.edge = k;
    }
  }
  h.inside = pos == 3 || neg == 3;
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

// Adds ∂L/∂(vertex xy) of one pixel-face pair to g[6] = (gx0, gy0, gx1, gy1, gx2, gy2), given
// w = ∂L/∂(d²) = ∂L/∂A · exp(S) · sigmoid(x) · δ/σ. With q the closest boundary point on edge (a, b),
// d² = |p - q|² and by the envelope theorem ∂d²/∂a = -2(1-t)(p-q), ∂d²/∂b = -2t(p-q).
template <typename T>
SF_HD void add_pair_grad(const PixelHit<T>& h, T w, T* g) {
  const int a = h.edge;
  const int b = a == 2 ? 0 : a + 1;
  const T ca = T(-2) * w * (T(1) - h.t);
  const T cb = T(-2) * w * h.t;
  g[2 * a] += ca * h.qx;
  g[2 * a + 1] += ca * h.qy;
  g[2 * b] += cb * h.qx;
  g[2 * b + 1] += cb * h.qy;
}

}  // namespace softfit
