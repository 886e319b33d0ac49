// CUDA twin of the soft silhouette rasteriser (contract in raster.h), same algorithm as raster_cpu.cpp:
// per-face setup, exact binning (count, prefix sum, fill, then a stable sort into tile-major lists with
// faces ascending), one block per (mesh, tile) and one thread per pixel. Backward reduces each face's
// gradient over a warp before one atomicAdd per vertex coordinate.
#include <ATen/Dispatch.h>
#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAStream.h>
#include <c10/cuda/CUDAGuard.h>

#include "raster.h"
#include "raster_math.h"

namespace softfit {
namespace {

constexpr int kThreads = kTile * kTile;
constexpr int kSetupThreads = 256;
constexpr unsigned kFullMask = 0xffffffffu;

struct Sizes {
  int64_t B, V, Bf, F;
  int H, W, tiles_x, ntiles;  // ntiles per image
};

Sizes sizes_of(const at::Tensor& verts, const at::Tensor& faces, int64_t height, int64_t width) {
  const int tiles_x = static_cast<int>((width + kTile - 1) / kTile);
  const int tiles_y = static_cast<int>((height + kTile - 1) / kTile);
  return {verts.size(0), verts.size(1), faces.size(0),          faces.size(1),
          static_cast<int>(height), static_cast<int>(width), tiles_x, tiles_x * tiles_y};
}

__device__ __forceinline__ const int64_t* face_indices(const int64_t* faces, const Sizes& s, int64_t b,
                                                       int64_t f) {
  return faces + ((s.Bf == 1 ? 0 : b) * s.F + f) * 3;
}

template <typename T>
__global__ void setup_kernel(const T* __restrict__ verts, const int64_t* __restrict__ faces, Sizes s, T near,
                             T radius, Face<T>* __restrict__ out, int64_t* __restrict__ ntiles) {
  const int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (i >= s.B * s.F) return;
  const int64_t b = i / s.F;
  const int64_t* idx = face_indices(faces, s, b, i % s.F);
  Face<T> face;
  int64_t n = 0;
  if (setup_face<T>(verts + b * s.V * 3, idx[0], idx[1], idx[2], near, radius, s.H, s.W, face)) {
    n = int64_t(face.y1 / kTile - face.y0 / kTile + 1) * (face.x1 / kTile - face.x0 / kTile + 1);
  }
  out[i] = face;
  ntiles[i] = n;
}

// Writes one (tile key, face) pair per overlapped tile at the face's slot of the prefix sum.
template <typename T>
__global__ void emit_kernel(const Face<T>* __restrict__ faces, const int64_t* __restrict__ ends,
                            const int64_t* __restrict__ ntiles, Sizes s, int64_t* __restrict__ keys,
                            int32_t* __restrict__ values) {
  const int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (i >= s.B * s.F || ntiles[i] == 0) return;
  const Face<T> face = faces[i];
  const int64_t b = i / s.F;
  int64_t pos = ends[i] - ntiles[i];
  for (int ty = face.y0 / kTile; ty <= face.y1 / kTile; ++ty) {
    for (int tx = face.x0 / kTile; tx <= face.x1 / kTile; ++tx) {
      keys[pos] = b * s.ntiles + ty * s.tiles_x + tx;
      values[pos] = static_cast<int32_t>(i % s.F);
      ++pos;
    }
  }
}

struct Bins {
  at::Tensor faces;    // bytes of (B * F) Face<T>
  at::Tensor offsets;  // int64 (B * ntiles + 1)
  at::Tensor entries;  // int32, face index within its mesh, tile-major, ascending per tile
};

template <typename T>
Bins build_bins(const at::Tensor& verts, const at::Tensor& faces, const Sizes& s, T near, T radius,
                cudaStream_t stream) {
  const int64_t nfaces = s.B * s.F;
  const auto i64 = verts.options().dtype(at::kLong);
  Bins bins;
  bins.faces = at::empty({nfaces * static_cast<int64_t>(sizeof(Face<T>))}, verts.options().dtype(at::kByte));
  at::Tensor ntiles = at::empty({nfaces}, i64);
  auto* face_data = reinterpret_cast<Face<T>*>(bins.faces.data_ptr<uint8_t>());
  const int blocks = static_cast<int>((nfaces + kSetupThreads - 1) / kSetupThreads);
  setup_kernel<T><<<blocks, kSetupThreads, 0, stream>>>(verts.data_ptr<T>(), faces.data_ptr<int64_t>(), s,
                                                        near, radius, face_data, ntiles.data_ptr<int64_t>());
  C10_CUDA_KERNEL_LAUNCH_CHECK();
  const at::Tensor ends = ntiles.cumsum(0);
  const int64_t total = ends[nfaces - 1].item<int64_t>();
  at::Tensor keys = at::empty({total}, i64);
  at::Tensor values = at::empty({total}, verts.options().dtype(at::kInt));
  if (total > 0) {
    emit_kernel<T><<<blocks, kSetupThreads, 0, stream>>>(face_data, ends.data_ptr<int64_t>(),
                                                         ntiles.data_ptr<int64_t>(), s,
                                                         keys.data_ptr<int64_t>(), values.data_ptr<int32_t>());
    C10_CUDA_KERNEL_LAUNCH_CHECK();
  }
  // Stable sort keeps faces ascending within each tile: a fixed summation order, run to run.
  const auto [sorted_keys, order] = at::sort(keys, /*stable=*/true, /*dim=*/0, /*descending=*/false);
  bins.entries = values.index_select(0, order).contiguous();
  bins.offsets = at::searchsorted(sorted_keys, at::arange(s.B * s.ntiles + 1, i64)).contiguous();
  return bins;
}

// The pixel of this thread: one block per (mesh b, tile), one thread per pixel of the tile. `p` is its
// offset in the (B, H, W) images, meaningful only when it lies in the image (edge tiles overhang).
struct TilePixel {
  int64_t item, b, p;
  int x, y;
  bool in_image;
};

__device__ __forceinline__ TilePixel tile_pixel(const Sizes& s) {
  TilePixel q;
  q.item = blockIdx.x;
  q.b = q.item / s.ntiles;
  const int t = static_cast<int>(q.item % s.ntiles);
  q.x = (t % s.tiles_x) * kTile + static_cast<int>(threadIdx.x) % kTile;
  q.y = (t / s.tiles_x) * kTile + static_cast<int>(threadIdx.x) / kTile;
  q.in_image = q.x < s.W && q.y < s.H;
  q.p = (q.b * s.H + q.y) * s.W + q.x;
  return q;
}

// Whether the pixel lies in the face's cut-off box (the face can reach it).
template <typename T>
__device__ __forceinline__ bool in_box(const Face<T>& f, const TilePixel& q) {
  return q.x >= f.x0 && q.x <= f.x1 && q.y >= f.y0 && q.y <= f.y1;
}

template <typename T>
__global__ void __launch_bounds__(kThreads)
    forward_kernel(const Face<T>* __restrict__ faces, const int64_t* __restrict__ offsets,
                   const int32_t* __restrict__ entries, Sizes s, T inv_sigma, T cutoff_sq, bool hard,
                   T* __restrict__ alpha, T* __restrict__ logsum) {
  const TilePixel q = tile_pixel(s);
  const T px = T(q.x) + T(0.5), py = T(q.y) + T(0.5);
  T acc = T(0);
  for (int64_t e = offsets[q.item]; e < offsets[q.item + 1]; ++e) {
    const Face<T>& f = faces[q.b * s.F + entries[e]];
    if (!in_box(f, q)) continue;
    const PixelHit<T> h = locate<T>(f, px, py);
    T logit;
    if (hard) {
      if (h.inside) acc = T(1);
    } else if (soft_logit<T>(h, inv_sigma, cutoff_sq, logit)) {
      acc -= softplus<T>(logit);
    }
  }
  if (q.in_image) {
    alpha[q.p] = hard ? acc : -expm1(acc);
    logsum[q.p] = hard ? T(0) : acc;
  }
}

template <typename T>
__global__ void __launch_bounds__(kThreads)
    backward_kernel(const Face<T>* __restrict__ faces, const int64_t* __restrict__ offsets,
                    const int32_t* __restrict__ entries, const int64_t* __restrict__ face_idx, Sizes s,
                    T inv_sigma, T cutoff_sq, const T* __restrict__ grad_alpha, const T* __restrict__ logsum,
                    T* __restrict__ grad_verts) {
  const TilePixel q = tile_pixel(s);
  const T px = T(q.x) + T(0.5), py = T(q.y) + T(0.5);
  T g = T(0);  // ∂L/∂A · exp(S), shared by every face at this pixel
  if (q.in_image) g = grad_alpha[q.p] * exp(logsum[q.p]);
  // Uniform per block, so the shuffles below always see full warps.
  if (!__syncthreads_or(g != T(0))) return;
  const int lane = static_cast<int>(threadIdx.x) & 31;
  for (int64_t e = offsets[q.item]; e < offsets[q.item + 1]; ++e) {
    const int32_t fid = entries[e];
    const Face<T>& f = faces[q.b * s.F + fid];
    T acc[6] = {T(0), T(0), T(0), T(0), T(0), T(0)};
    bool hit = false;
    if (g != T(0) && in_box(f, q)) {
      const PixelHit<T> h = locate<T>(f, px, py);
      T logit;
      if (soft_logit<T>(h, inv_sigma, cutoff_sq, logit)) {
        add_pair_grad<T>(h, g * sigmoid<T>(logit) * (h.inside ? inv_sigma : -inv_sigma), acc);
        hit = true;
      }
    }
    if (!__any_sync(kFullMask, hit)) continue;
#pragma unroll
    for (int k = 0; k < 6; ++k) {
      for (int off = 16; off > 0; off >>= 1) acc[k] += __shfl_down_sync(kFullMask, acc[k], off);
    }
    if (lane == 0) {
      const int64_t* idx = face_indices(face_idx, s, q.b, fid);
      T* gv = grad_verts + q.b * s.V * 3;
#pragma unroll
      for (int k = 0; k < 3; ++k) {
        atomicAdd(gv + idx[k] * 3, acc[2 * k]);
        atomicAdd(gv + idx[k] * 3 + 1, acc[2 * k + 1]);
      }
    }
  }
}

}  // namespace

std::vector<at::Tensor> forward_cuda(const at::Tensor& verts, const at::Tensor& faces, int64_t height,
                                     int64_t width, double sigma_px, double cutoff_sq, double near,
                                     bool hard) {
  const c10::cuda::OptionalCUDAGuard guard(verts.device());
  const Sizes s = sizes_of(verts, faces, height, width);
  at::Tensor alpha = at::zeros({s.B, height, width}, verts.options());
  at::Tensor logsum = at::zeros({s.B, height, width}, verts.options());
  if (s.B == 0 || s.F == 0 || s.V == 0) return {alpha, logsum};
  cudaStream_t stream = c10::cuda::getCurrentCUDAStream();
  AT_DISPATCH_FLOATING_TYPES(verts.scalar_type(), "softfit_forward_cuda", [&] {
    using T = scalar_t;
    const Bins bins = build_bins<T>(verts, faces, s, static_cast<T>(near),
                                    hard ? T(0) : static_cast<T>(std::sqrt(cutoff_sq)), stream);
    forward_kernel<T><<<static_cast<unsigned>(s.B * s.ntiles), kThreads, 0, stream>>>(
        reinterpret_cast<const Face<T>*>(bins.faces.data_ptr<uint8_t>()), bins.offsets.data_ptr<int64_t>(),
        bins.entries.data_ptr<int32_t>(), s, static_cast<T>(1.0 / sigma_px), static_cast<T>(cutoff_sq), hard,
        alpha.data_ptr<T>(), logsum.data_ptr<T>());
    C10_CUDA_KERNEL_LAUNCH_CHECK();
  });
  return {alpha, logsum};
}

at::Tensor backward_cuda(const at::Tensor& grad_alpha, const at::Tensor& logsum, const at::Tensor& verts,
                         const at::Tensor& faces, int64_t height, int64_t width, double sigma_px,
                         double cutoff_sq, double near) {
  const c10::cuda::OptionalCUDAGuard guard(verts.device());
  const Sizes s = sizes_of(verts, faces, height, width);
  at::Tensor grad_verts = at::zeros_like(verts);
  if (s.B == 0 || s.F == 0 || s.V == 0) return grad_verts;
  cudaStream_t stream = c10::cuda::getCurrentCUDAStream();
  AT_DISPATCH_FLOATING_TYPES(verts.scalar_type(), "softfit_backward_cuda", [&] {
    using T = scalar_t;
    const Bins bins = build_bins<T>(verts, faces, s, static_cast<T>(near), static_cast<T>(std::sqrt(cutoff_sq)),
                                    stream);
    backward_kernel<T><<<static_cast<unsigned>(s.B * s.ntiles), kThreads, 0, stream>>>(
        reinterpret_cast<const Face<T>*>(bins.faces.data_ptr<uint8_t>()), bins.offsets.data_ptr<int64_t>(),
        bins.entries.data_ptr<int32_t>(), faces.data_ptr<int64_t>(), s, static_cast<T>(1.0 / sigma_px),
        static_cast<T>(cutoff_sq), grad_alpha.data_ptr<T>(), logsum.data_ptr<T>(), grad_verts.data_ptr<T>());
    C10_CUDA_KERNEL_LAUNCH_CHECK();
  });
  return grad_verts;
}

}  // namespace softfit
