"""`seenthrough`: a background-coloured region inside a mask is a hole only if the photos show what lies
behind it. Scenes drawn here exactly (the hard rasteriser's fragments, colours a function of the 3-D
point, so every view agrees where a surface is): a textured object and backdrop seen by 24 cameras on two
rings. A patch of a sphere's surface stays object; a torus's hole, with the textured floor it rests on
seen through it, stays a hole."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
import torch

from softfit.cameras import Cameras, turntable
from softfit.dataset.primitives import torus
from softfit.mesh.sphere import uv_sphere
from softfit.mesh.types import Mesh
from softfit.silhouettes.common import fill_holes
from softfit.silhouettes.seenthrough import keep_surfaces, open_regions
from softfit.texture.zbuffer import fragments

SIZE = 128


def _cameras() -> Cameras:
    az = np.arange(0, 360, 30.0)
    elevation = np.r_[np.full(12, 35.0), np.full(12, 60.0)]
    return turntable(np.r_[az, az + 15], distance=3.0, elevation_deg=elevation, fov_deg=40.0, width=SIZE,
                     height=SIZE)


def _blotches(p: np.ndarray, freq: float, phase: float) -> np.ndarray:
    """(..., 3) uint8-range colours that vary smoothly with the 3-D point: texture for parallax to read."""
    k = np.array([[1.0, 1.7, 0.6], [-1.3, 0.4, 1.9], [0.8, -1.1, -1.4]]) * freq
    return 128 + 90 * np.sin(p @ k.T + phase + np.array([0.0, 2.1, 4.2]))


def _render(parts: list[tuple[Mesh, float, float]], cams: Cameras, label: Callable | None = None
            ) -> tuple[np.ndarray, np.ndarray]:
    """((N, H, W, 3) uint8 photos, (N, H, W) int index of the part seen at each pixel, -1 for none).
    parts: (mesh, blotch frequency, phase) each; `label(points) -> (P, 1) bool`: instead of the part's
    index, 0 where the seen point passes it and 1 elsewhere."""
    verts = np.concatenate([m.verts for m, _, _ in parts])
    offsets = np.cumsum([0] + [len(m.verts) for m, _, _ in parts])
    faces = np.concatenate([m.faces + o for (m, _, _), o in zip(parts, offsets, strict=False)])
    part_of_face = np.concatenate([np.full(len(m.faces), k) for k, (m, _, _) in enumerate(parts)])
    pix, face, bary, depth = fragments(Mesh(verts, faces), cams, dtype=torch.float64)
    order = np.lexsort((depth.numpy(), pix.numpy()))
    pix, face, bary = pix.numpy()[order], face.numpy()[order], bary.numpy()[order]
    first = np.r_[True, pix[1:] != pix[:-1]]
    pix, face, bary = pix[first], face[first], bary[first]
    points = np.einsum("pk,pkj->pj", bary, verts[faces[face]])
    n = len(cams)
    image = np.zeros((n * SIZE * SIZE, 3))
    which = np.full(n * SIZE * SIZE, -1)
    which[pix] = part_of_face[face] if label is None else np.where(label(points)[:, 0], 0, 1)
    for k, (_, freq, phase) in enumerate(parts):
        sel = part_of_face[face] == k
        image[pix[sel]] = _blotches(points[sel], freq, phase)
    return (np.clip(image, 0, 255).astype(np.uint8).reshape(n, SIZE, SIZE, 3),
            which.reshape(n, SIZE, SIZE))


def _room() -> Mesh:
    """A large sphere around everything: the textured backdrop every pixel falls on."""
    return uv_sphere(2000, radius=8.0)


def test_a_patch_of_the_surface_that_looks_like_background_stays_object():
    cams = _cameras()
    ball = uv_sphere(3000, radius=0.5)
    photos, which = _render([(ball, 6.0, 0.0), (_room(), 1.5, 1.0)], cams)
    masks = which == 0
    cap, regions = _cap(ball, cams, masks)
    keep, verdicts = keep_surfaces(photos, cams, masks, regions)
    assert len(verdicts) == sum(r.any() for r in regions)
    # A view that sees the cap at a grazing angle (a sliver of 100 pixels) may find no clear surface: the
    # hull's front lies further from the sphere there; every view that sees it well keeps it.
    assert all(v.object for v in verdicts if v.pixels >= 150), verdicts
    asked = np.stack([r > 0 for r in regions])
    assert keep[asked].mean() > 0.9
    assert not keep[~asked].any()  # nothing outside the regions is ever touched


def _cap(ball: Mesh, cams: Cameras, masks: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
    """((N, H, W) the cap of the ball facing +X where a view sees it, one region per view that sees
    at least 20 of its pixels): the region a colour test would open."""
    _, which = _render([(ball, 6.0, 0.0)], cams, lambda p: p[:, :1] > 0.35)
    cap = (which == 0) & masks
    regions = [(c if c.sum() >= 20 else np.zeros_like(c)).astype(np.int32) for c in cap]
    assert sum(r.any() for r in regions) >= 8  # the point of the scene: many views see the cap
    return cap, regions


def test_a_hole_seen_through_to_the_floor_it_rests_on_stays_a_hole():
    cams = _cameras()
    tv, tf = torus(major=0.5, minor=0.18)
    ring = Mesh(tv, tf)
    floor_v = np.array([[-6, -6, -0.18], [6, -6, -0.18], [6, 6, -0.18], [-6, 6, -0.18]], float)
    floor = Mesh(floor_v, np.array([[0, 1, 2], [0, 2, 3]]))
    photos, which = _render([(ring, 6.0, 0.0), (floor, 2.5, 1.0), (_room(), 1.5, 2.0)], cams)
    truth = which == 0
    filled = np.stack([fill_holes(t) for t in truth])
    hole = filled & ~truth
    asked = [i for i, h in enumerate(hole) if h.sum() >= 20]
    assert len(asked) >= 8  # the point of the scene: the hole shows the floor in many views
    regions = [(hole[i] if i in asked else np.zeros_like(hole[i])).astype(np.int32) for i in range(len(hole))]
    opened, keep, verdicts = open_regions(photos, cams, filled, regions)
    assert len(verdicts) == len(asked)
    assert not any(v.object for v in verdicts), verdicts
    assert not keep.any()
    # Every asked hole is opened again, and nothing else of the masks is touched.
    asked_px = np.stack([r > 0 for r in regions])
    assert not opened[asked_px].any()
    assert np.array_equal(opened[~asked_px], filled[~asked_px])
    # Further along the rays (the floor, at the hull's back) the colours agree better in most views; in
    # the low ring's views the floor spot seen through the hole is hidden from the neighbours by the tube.
    assert sum(v.far < v.near for v in verdicts) >= 0.8 * len(verdicts), verdicts


def test_without_texture_there_is_no_evidence_and_the_region_is_opened():
    """One flat colour everywhere agrees at every depth: no clear surface, so the region is opened, as
    every region was before the test existed."""
    cams = _cameras()
    ball = uv_sphere(3000, radius=0.5)
    _, which = _render([(ball, 6.0, 0.0), (_room(), 1.5, 1.0)], cams)
    masks = which == 0
    _, regions = _cap(ball, cams, masks)
    flat = np.full((*masks.shape, 3), 120, np.uint8)
    keep, verdicts = keep_surfaces(flat, cams, masks, regions)
    assert verdicts and not any(v.object for v in verdicts), verdicts
    assert not keep.any()


def test_an_empty_view_or_no_common_hull_gives_no_evidence_and_no_error():
    """A view GrabCut emptied takes no part in the hull (it used to stop the segmentation with "silhouette
    of view 11 is empty"); masks with no common region leave no hull, and every region is opened."""
    cams = _cameras()
    ball = uv_sphere(3000, radius=0.5)
    photos, which = _render([(ball, 6.0, 0.0), (_room(), 1.5, 1.0)], cams)
    masks = which == 0
    _, regions = _cap(ball, cams, masks)
    empty = next(i for i, r in enumerate(regions) if not r.any())
    masks[empty] = False
    keep, verdicts = keep_surfaces(photos, cams, masks, regions)
    assert verdicts and all(v.object for v in verdicts if v.pixels >= 150), verdicts
    apart = np.zeros_like(masks)
    apart[0, :10, :10] = apart[1, -10:, -10:] = True  # two corners no 3-D region projects into both
    keep, verdicts = keep_surfaces(photos, cams, apart, [a.astype(np.int32) for a in apart])
    assert verdicts == [] and not keep.any()


def test_no_region_no_work():
    cams = _cameras()
    masks = np.zeros((len(cams), SIZE, SIZE), bool)
    masks[:, 40:80, 40:80] = True
    keep, verdicts = keep_surfaces(np.zeros((*masks.shape, 3), np.uint8), cams, masks,
                                   [np.zeros(masks.shape[1:], np.int32)] * len(cams))
    assert verdicts == [] and not keep.any()


@pytest.mark.slow
def test_a_painted_cube_keeps_its_patches_end_to_end(tmp_path, monkeypatch):
    """Blender's Cycles render of the texture benchmark's kind of photos (a matte cube painted in
    blotches, on the patchwork backdrop whose colours the blotches share), 24 views at 160 px, 8 samples
    (about 10 s): camera-aware segmentation with the test against all background-looking regions opened
    (the behaviour before it; measured 0.930 -> 0.970 mask IoU against the true masks)."""
    from softfit.data.load import load_dataset
    from softfit.dataset.render import render_dataset
    from softfit.metrics import silhouette_iou
    from softfit.silhouettes import seenthrough
    from softfit.silhouettes.multiview import segment_views

    folder = render_dataset("cube", tmp_path / "cube", views=24, cameras="rings", size="160x160",
                            background="backdrop", engine="cycles", texture="paint", samples=8,
                            finish="matte")
    truth = load_dataset(folder, silhouette="mask", image_size=160)
    seg = segment_views(truth.images, truth.cameras)
    new = silhouette_iou(seg.masks, truth.silhouettes > 0.5).mean()
    assert any("kept as object" in n for n in seg.notes), seg.notes
    monkeypatch.setattr(seenthrough, "RATIO", 0.0)  # no region can stay: every one is opened
    old = silhouette_iou(segment_views(truth.images, truth.cameras).masks, truth.silhouettes > 0.5).mean()
    assert new > 0.95 and new > old + 0.02, (new, old)
