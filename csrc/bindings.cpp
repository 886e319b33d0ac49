// Python bindings of the soft silhouette rasteriser: binding only; the contract is in raster.h.
// The kernels release the GIL so other Python threads (a server's I/O loop) keep running meanwhile.
#include <torch/extension.h>

#include "raster.h"
#include "raster_math.h"

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  m.doc() = "SoftFit soft silhouette rasteriser kernels (see csrc/raster.h for the contract)";
  m.def("forward", &softfit::forward, "alpha, logsum = forward(verts, faces, H, W, sigma_px, cutoff_sq, near, hard)",
        py::arg("verts"), py::arg("faces"), py::arg("height"), py::arg("width"), py::arg("sigma_px"),
        py::arg("cutoff_sq"), py::arg("near"), py::arg("hard"), py::call_guard<py::gil_scoped_release>());
  m.def("backward", &softfit::backward,
        "grad_verts = backward(grad_alpha, logsum, verts, faces, H, W, sigma_px, cutoff_sq, near)",
        py::arg("grad_alpha"), py::arg("logsum"), py::arg("verts"), py::arg("faces"), py::arg("height"),
        py::arg("width"), py::arg("sigma_px"), py::arg("cutoff_sq"), py::arg("near"),
        py::call_guard<py::gil_scoped_release>());
  m.def("has_cuda", &softfit::has_cuda, "whether the CUDA kernels were compiled in");
  m.def("cpu_threads_used", &softfit::cpu_threads_used,
        "[forward, backward]: threads that did work in the latest CPU pass of each (debug)");
  m.def("cpu_parallel_backend", &softfit::cpu_parallel_backend, "\"openmp\" or \"std::thread\"");
  m.def("cpu_kernel_isa", &softfit::cpu_kernel_isa, "instruction set of the CPU kernels: \"avx2\" or \"generic\"");
  m.def("cpu_kernel_isas", &softfit::cpu_kernel_isas, "the CPU kernel instruction sets this machine can run");
  m.def("set_cpu_kernel_isa", &softfit::set_cpu_kernel_isa, "use another available CPU kernel instruction set",
        py::arg("name"));
  m.def("tile_size", [] { return softfit::kTile; }, "binning tile edge in pixels");
}
