"""Writing COLMAP sparse models of known cameras (and chosen 3-D points) with pycolmap, for the tests
of the `colmap:DIR` route."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pycolmap

from softfit.cameras import Cameras


def write_colmap(model_dir: Path, cams: Cameras, model: str = "PINHOLE", extra: tuple = (),
                 points: np.ndarray | None = None) -> None:
    """A COLMAP model of `cams` (COLMAP: x right, y down, z forward), with `points` (P, 3) as its
    points3D (no tracks: nothing here reads them)."""
    rec = pycolmap.Reconstruction()
    cam = pycolmap.Camera.create_from_model_name(1, model, float(cams.fx[0]), cams.width, cams.height)
    cam.params = [cams.fx[0], cams.fy[0], cams.cx[0], cams.cy[0], *extra]
    rec.add_camera_with_trivial_rig(cam)
    gl_to_cv = np.diag([1.0, -1.0, -1.0])
    for i in range(len(cams)):
        r = cams.c2w[i, :3, :3] @ gl_to_cv  # camera-to-world rotation of COLMAP's camera axes
        w2c = np.concatenate([r.T, (-r.T @ cams.c2w[i, :3, 3])[:, None]], axis=1)
        image = pycolmap.Image(name=f"view_{i:03d}.png", camera_id=1, image_id=i + 1)
        rec.add_image_with_trivial_frame(image, pycolmap.Rigid3d(w2c))
    for p in [] if points is None else np.asarray(points, float):
        rec.add_point3D(p, pycolmap.Track(), np.zeros(3, np.uint8))
    model_dir.mkdir(parents=True)
    rec.write(str(model_dir))
