"""Run pycolmap's incremental SfM on in-memory images and return raw COLMAP poses.

Everything COLMAP needs lives in a temporary workspace (images, masks, database, models) that is
removed afterwards. Poses come back exactly as COLMAP gives them (world-to-camera, OpenCV camera
frame); conversion to SoftFit's convention is `softfit.sfm.frames`' job.

pycolmap 4.x API (checked with help()): `extract_features(db, image_dir, image_names, camera_mode,
reader_options, extraction_options, device)`, `match_exhaustive` / `match_sequential`,
`incremental_mapping(db, image_dir, out_dir, options) -> {id: Reconstruction}`; a mask for image
`a.png` is `<mask_path>/a.png.png`, and no features are extracted where the mask is 0."""

from __future__ import annotations

import contextlib
import logging
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image
from scipy import ndimage

log = logging.getLogger(__name__)

CAMERA_MODELS = ("SIMPLE_PINHOLE", "SIMPLE_RADIAL")
EXHAUSTIVE_MAX_VIEWS = 72  # exhaustive matching is affordable up to here and the most robust choice
SEQUENTIAL_OVERLAP = 6  # neighbours matched on each side in sequential matching
MAX_IMAGE_SIZE = 2048  # SIFT runs on a downscaled copy of larger photos (keypoints are scaled back)


@dataclass(frozen=True)
class ColmapOutput:
    """The largest reconstruction COLMAP found.

    registered: sorted input indices with a pose; R (M, 3, 3), t (M, 3): world-to-camera in COLMAP's
    OpenCV camera frame (+Z forward, +Y down), rows in `registered` order; f, cx, cy: the shared
    intrinsics in pixels; k: the radial coefficient (0 for SIMPLE_PINHOLE)."""

    registered: list[int]
    R: np.ndarray
    t: np.ndarray
    f: float
    cx: float
    cy: float
    k: float
    num_points: int
    reprojection_error: float
    num_models: int
    seconds: float


@contextlib.contextmanager
def _quiet_colmap(pycolmap) -> Iterator[None]:
    """COLMAP logs every step through glog to stderr; keep it quiet while SfM runs (a failure is
    reported by the caller, in its own words)."""
    glog = getattr(pycolmap, "logging", None)
    before = getattr(glog, "minloglevel", None)
    if before is not None:
        glog.minloglevel = 3
    try:
        yield
    finally:
        if before is not None:
            glog.minloglevel = before


def _erode(mask: np.ndarray, pixels: int) -> np.ndarray:
    """Shrink the mask so SIFT keeps off the silhouette edge, whose keypoints are not fixed on the
    object (they slide with the view and mix in background)."""
    if pixels <= 0:
        return mask
    return ndimage.binary_erosion(mask, iterations=pixels)


def _write_workspace(root: Path, images: np.ndarray, masks: np.ndarray | None,
                     erode_px: int) -> tuple[Path, Path | None, list[str]]:
    image_dir, mask_dir = root / "images", root / "masks"
    image_dir.mkdir()
    names = [f"{i:05d}.png" for i in range(len(images))]
    for name, im in zip(names, images, strict=True):
        Image.fromarray(np.ascontiguousarray(im)).save(image_dir / name)
    if masks is None:
        return image_dir, None, names
    mask_dir.mkdir()
    for name, m in zip(names, masks, strict=True):
        Image.fromarray((_erode(m, erode_px) * 255).astype(np.uint8)).save(mask_dir / f"{name}.png")
    return image_dir, mask_dir, names


def run_colmap(images: np.ndarray, masks: np.ndarray | None, focal_guess: float | None = None,
               camera_model: str = "SIMPLE_PINHOLE", sequential: bool | None = None,
               seed: int = 0, erode_px: int | None = None, max_features: int = 4096
               ) -> ColmapOutput | None:
    """Extract masked SIFT, match, map; None when COLMAP registers nothing.

    sequential: None picks exhaustive matching up to EXHAUSTIVE_MAX_VIEWS views and sequential matching
    with loop closure (the sequence wraps around a turntable) above."""
    import pycolmap

    with _quiet_colmap(pycolmap):
        return _run(pycolmap, images, masks, focal_guess, camera_model, sequential, seed, erode_px,
                    max_features)


def _run(pycolmap, images: np.ndarray, masks: np.ndarray | None, focal_guess: float | None,
         camera_model: str, sequential: bool | None, seed: int, erode_px: int | None, max_features: int
         ) -> ColmapOutput | None:
    start = time.perf_counter()
    n, h, w = images.shape[:3]
    if erode_px is None:
        erode_px = max(1, round(0.008 * min(h, w)))
    if sequential is None:
        sequential = n > EXHAUSTIVE_MAX_VIEWS
    pycolmap.set_random_seed(seed)
    with tempfile.TemporaryDirectory(prefix="softfit-sfm-") as tmp:
        root = Path(tmp)
        image_dir, mask_dir, names = _write_workspace(root, images, masks, erode_px)
        db = root / "database.db"

        reader = pycolmap.ImageReaderOptions()
        reader.camera_model = camera_model
        if mask_dir is not None:
            reader.mask_path = str(mask_dir)
        if focal_guess:
            extra = ",0" if camera_model == "SIMPLE_RADIAL" else ""
            reader.camera_params = f"{focal_guess},{w / 2.0},{h / 2.0}{extra}"
        extraction = pycolmap.FeatureExtractionOptions()
        extraction.sift.max_num_features = max_features
        extraction.max_image_size = MAX_IMAGE_SIZE
        extraction.use_gpu = False
        pycolmap.extract_features(db, image_dir, image_names=names, camera_mode=pycolmap.CameraMode.SINGLE,
                                  reader_options=reader, extraction_options=extraction,
                                  device=pycolmap.Device.cpu)

        matching = pycolmap.FeatureMatchingOptions()
        matching.use_gpu = False
        verification = pycolmap.TwoViewGeometryOptions()
        verification.ransac.random_seed = seed
        if sequential:
            pairing = pycolmap.SequentialPairingOptions()
            pairing.overlap = SEQUENTIAL_OVERLAP
            pairing.quadratic_overlap = False
            # A turntable sequence closes on itself: pair the last views with the first ones.
            pairing.loop_detection = False
            pycolmap.match_sequential(db, matching_options=matching, pairing_options=pairing,
                                      verification_options=verification, device=pycolmap.Device.cpu)
            _match_wraparound(pycolmap, db, root / "wrap_pairs.txt", names, pairing.overlap, matching,
                              verification)
        else:
            pycolmap.match_exhaustive(db, matching_options=matching, verification_options=verification,
                                      device=pycolmap.Device.cpu)

        opts = pycolmap.IncrementalPipelineOptions()
        opts.random_seed = seed
        opts.mapper.random_seed = seed
        opts.triangulation.random_seed = seed
        opts.min_model_size = 3
        opts.ba_refine_principal_point = False
        opts.ba_refine_extra_params = camera_model != "SIMPLE_PINHOLE"
        opts.extract_colors = False
        models = pycolmap.incremental_mapping(db, image_dir, root / "sparse", options=opts)
    seconds = time.perf_counter() - start
    if not models:
        return None
    rec = max(models.values(), key=lambda r: r.num_reg_images())
    by_name = {name: i for i, name in enumerate(names)}
    rows = sorted((by_name[img.name], img) for img in rec.images.values() if img.has_pose)
    if not rows:
        return None
    R = np.stack([np.asarray(img.cam_from_world().rotation.matrix(), dtype=np.float64) for _, img in rows])
    t = np.stack([np.asarray(img.cam_from_world().translation, dtype=np.float64) for _, img in rows])
    cam = next(iter(rec.cameras.values()))
    params = np.asarray(cam.params, dtype=np.float64)
    return ColmapOutput(
        registered=[i for i, _ in rows], R=R, t=t, f=float(params[0]), cx=float(params[1]),
        cy=float(params[2]), k=float(params[3]) if params.size > 3 else 0.0,
        num_points=int(rec.num_points3D()), reprojection_error=float(rec.compute_mean_reprojection_error()),
        num_models=len(models), seconds=seconds)


def _match_wraparound(pycolmap, db: Path, pair_file: Path, names: list[str], overlap: int, matching,
                      verification) -> None:
    """Match the last `overlap` views with the first ones: the loop closure of a full turn (COLMAP's own
    loop detection needs a vocabulary tree file, which nothing here may download)."""
    n = len(names)
    pairs = [(names[n - 1 - a], names[b]) for a in range(overlap) for b in range(overlap)
             if n - 1 - a > b + overlap]
    if not pairs:
        return
    pair_file.write_text("\n".join(f"{a} {b}" for a, b in pairs) + "\n")
    pairing = pycolmap.ImportedPairingOptions()
    pairing.match_list_path = str(pair_file)
    pycolmap.match_image_pairs(db, matching_options=matching, pairing_options=pairing,
                               verification_options=verification, device=pycolmap.Device.cpu)
