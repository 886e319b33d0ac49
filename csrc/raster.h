// Soft silhouette rasteriser: the contract shared by the CPU (raster_cpu.cpp) and CUDA (raster_cuda.cu)
// twins, written once here, and the one place that dispatches on the device.
//
// Inputs (same for forward and backward):
//   verts  float32 | float64, (B, V, 3), contiguous: (x_px, y_px, depth). x, y are pixel coordinates with
//          the origin at the image's top-left corner, x right, y down; pixel (col i, row j) has its centre
//          at (i + 0.5, j + 0.5). depth is the camera-space distance in front of the camera.
//   faces  int64, (Bf, F, 3), contiguous, Bf = 1 (shared by all B meshes) or Bf = B. Indices in [0, V);
//          a row with any negative index is padding and ignored. Range is checked in Python, not here.
//   height, width   image size in pixels (> 0).
//   sigma_px        σ in pixels² (> 0). Python converts from NDC² where the longer image side spans
//                   [-1, 1]: sigma_px = sigma · max(H, W)² / 4.
//   cutoff_sq       r² in pixels² = sigma_px · ln(1/eps - 1): an outside face farther than r adds < eps
//                   and is skipped; this is the only approximation, and the dense reference makes it too.
//   near            faces with any vertex depth <= near are skipped entirely.
//
// Maths, per pixel centre p and valid face j: d = distance (pixels) from p to the face's boundary,
// δ = +1 inside (either winding) / -1 outside, x_j = δ·d²/sigma_px, D_j = sigmoid(x_j),
// S(p) = Σ_j log(1 - D_j) = -Σ_j softplus(x_j), A(p) = 1 - exp(S(p)).
// Hard mode: A(p) = 1 where p is strictly inside any valid face, else 0 (S is returned as zeros).
//
// forward  -> {alpha (B, H, W), logsum S (B, H, W)}, verts' dtype and device. alpha[b, row, col].
// backward(grad_alpha (B, H, W), logsum from forward, ...) -> grad_verts (B, V, 3); the depth column is 0.
//   ∂A/∂x_j = exp(S)·sigmoid(x_j) (the product of the other faces' 1 - D, never a division by 1 - D_j).
//   Pixel-face terms are recomputed, never stored: memory is O(B·(F + H·W) + binned face lists).
#pragma once

#include <ATen/ATen.h>

#include <string>
#include <vector>

namespace softfit {

std::vector<at::Tensor> forward_cpu(const at::Tensor& verts, const at::Tensor& faces, int64_t height,
                                    int64_t width, double sigma_px, double cutoff_sq, double near, bool hard);
at::Tensor backward_cpu(const at::Tensor& grad_alpha, const at::Tensor& logsum, const at::Tensor& verts,
                        const at::Tensor& faces, int64_t height, int64_t width, double sigma_px,
                        double cutoff_sq, double near);

// Debug facts about the CPU kernels' threading, for tests and benchmarks: how many threads did work in
// the latest CPU {forward, backward} pass, and which parallel backend was compiled in ("openmp", or
// "std::thread" where the compiler had no OpenMP).
std::vector<int64_t> cpu_threads_used();
std::string cpu_parallel_backend();

// The instruction set the CPU tile kernels run with ("avx2" where the CPU has AVX2 + FMA and the compiler
// built that variant, else "generic"), the ones available here, and a switch for tests and benchmarks.
std::string cpu_kernel_isa();
std::vector<std::string> cpu_kernel_isas();
void set_cpu_kernel_isa(const std::string& name);

#ifdef SOFTFIT_WITH_CUDA
std::vector<at::Tensor> forward_cuda(const at::Tensor& verts, const at::Tensor& faces, int64_t height,
                                     int64_t width, double sigma_px, double cutoff_sq, double near, bool hard);
at::Tensor backward_cuda(const at::Tensor& grad_alpha, const at::Tensor& logsum, const at::Tensor& verts,
                         const at::Tensor& faces, int64_t height, int64_t width, double sigma_px,
                         double cutoff_sq, double near);
#endif

inline bool has_cuda() {
#ifdef SOFTFIT_WITH_CUDA
  return true;
#else
  return false;
#endif
}

inline void check_args(const at::Tensor& verts, const at::Tensor& faces, int64_t height, int64_t width) {
  TORCH_CHECK(verts.dim() == 3 && verts.size(2) == 3, "verts must be (B, V, 3)");
  TORCH_CHECK(verts.scalar_type() == at::kFloat || verts.scalar_type() == at::kDouble,
              "verts must be float32 or float64");
  TORCH_CHECK(faces.dim() == 3 && faces.size(2) == 3 && faces.scalar_type() == at::kLong,
              "faces must be int64 (Bf, F, 3)");
  TORCH_CHECK(faces.size(0) == 1 || faces.size(0) == verts.size(0), "faces batch must be 1 or B");
  TORCH_CHECK(verts.device() == faces.device(), "verts and faces must be on the same device");
  TORCH_CHECK(height > 0 && width > 0, "image size must be positive");
}

// The single dispatch point on the device.
inline std::vector<at::Tensor> forward(const at::Tensor& verts, const at::Tensor& faces, int64_t height,
                                       int64_t width, double sigma_px, double cutoff_sq, double near,
                                       bool hard) {
  check_args(verts, faces, height, width);
  const at::Tensor v = verts.contiguous();
  const at::Tensor f = faces.contiguous();
  if (v.is_cuda()) {
#ifdef SOFTFIT_WITH_CUDA
    return forward_cuda(v, f, height, width, sigma_px, cutoff_sq, near, hard);
#else
    TORCH_CHECK(false, "softfit._C was built without CUDA");
#endif
  }
  return forward_cpu(v, f, height, width, sigma_px, cutoff_sq, near, hard);
}

inline at::Tensor backward(const at::Tensor& grad_alpha, const at::Tensor& logsum, const at::Tensor& verts,
                           const at::Tensor& faces, int64_t height, int64_t width, double sigma_px,
                           double cutoff_sq, double near) {
  check_args(verts, faces, height, width);
  const at::Tensor v = verts.contiguous();
  const at::Tensor f = faces.contiguous();
  const at::Tensor g = grad_alpha.to(v.scalar_type()).contiguous();
  const at::Tensor s = logsum.contiguous();
  if (v.is_cuda()) {
#ifdef SOFTFIT_WITH_CUDA
    return backward_cuda(g, s, v, f, height, width, sigma_px, cutoff_sq, near);
#else
    TORCH_CHECK(false, "softfit._C was built without CUDA");
#endif
  }
  return backward_cpu(g, s, v, f, height, width, sigma_px, cutoff_sq, near);
}

}  // namespace softfit
