"""`prepare` over real sockets: the server builds bbox/hull initial meshes from the views it is sent."""

from __future__ import annotations

import numpy as np
import pytest
from wire_support import scene, shared_backend

from softfit.mesh.types import Mesh
from softfit.wire import Prepared, RequestRejected


@pytest.fixture
def backend():
    return shared_backend()


def _iou(mesh: Prepared, sc) -> np.ndarray:
    from softfit.metrics import render_silhouettes

    tri = Mesh(mesh.verts.astype(np.float64), mesh.faces.astype(np.int64))
    got = render_silhouettes(tri, sc.cameras) > 0.5
    want = sc.silhouettes > 0.5
    return (got & want).sum((1, 2)) / (got | want).sum((1, 2))


def test_prepare_hull_matches_the_silhouettes(backend):
    sc = scene()
    with backend.client() as c:
        hull = c.prepare(sc.silhouettes, None, sc.transforms, init="hull")
        box = c.prepare((sc.silhouettes * 255).astype(np.uint8), None, sc.transforms, init="bbox", polys=200)
    assert hull.verts.dtype == np.float32 and hull.faces.dtype == np.int32 and "hull" in hull.message
    assert hull.faces.min() >= 0 and hull.faces.max() < len(hull.verts)
    # measured: per-view IoU >= 0.97 for the hull (6 views of 48²), 0.63 for the bbox ellipsoid
    assert _iou(hull, sc).min() > 0.85
    assert 0.4 < _iou(box, sc).min() < _iou(hull, sc).min()
    assert len(box.faces) > 0 and "bbox" in box.message


def test_prepare_bad_input_is_an_error_reply(backend):
    sc = scene()
    with backend.client() as c:
        with pytest.raises(RequestRejected) as empty:  # checked on the server: no view places a mesh
            c.prepare(np.zeros_like(sc.silhouettes), None, sc.transforms, init="hull")
        assert empty.value.code == "bad_request" and "empty" in str(empty.value)
        with pytest.raises(RequestRejected) as frames:  # refused by the client's local check
            c.prepare(sc.silhouettes[:3], None, sc.transforms, init="hull")
        assert frames.value.code == "bad_request" and "one frame per view" in str(frames.value)
        with pytest.raises(RequestRejected) as method:
            c.prepare(sc.silhouettes, None, sc.transforms, init="sphere")
        assert method.value.code == "bad_body"
        assert c.ping() >= 0  # still serving


def test_prepare_sfm_on_textureless_views_falls_back_to_a_turntable(backend):
    """SfM finds nothing to match on flat-coloured renders: turntable cameras, flagged and explained."""
    sc = scene()
    rgba = np.zeros((*sc.silhouettes.shape, 4), np.uint8)
    rgba[..., :3] = 200
    rgba[..., 3] = (sc.silhouettes > 0.5) * 255
    with backend.client() as c:
        got = c.prepare(None, rgba, None, init="hull", cameras="sfm")
        with pytest.raises(RequestRejected) as strict:  # fallback forbidden: the failure is the reply
            c.prepare(None, rgba, None, init=None, cameras="sfm:fallback=no")
        with pytest.raises(RequestRejected) as spec:
            c.prepare(None, rgba, None, init=None, cameras="sfm:bogus=1")
        with pytest.raises(RequestRejected) as sil_only:  # refused locally: SfM needs the images
            c.prepare(sc.silhouettes, None, None, init=None, cameras="sfm")
    assert got.fallback and "turntable" in got.message.lower() and "hull" in got.message
    assert len(got.transforms["frames"]) == len(sc.silhouettes)
    assert got.verts is not None and len(got.faces) > 0
    assert strict.value.code == "bad_request" and "SfM" in str(strict.value)
    assert spec.value.code == "bad_request" and "bogus" in str(spec.value)
    assert sil_only.value.code == "bad_request" and "images" in str(sil_only.value)
