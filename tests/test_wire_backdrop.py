"""Segmentation options over a real socket: the empty scene travels as an array (silhouette "backdrop"),
and no client can make the server open a file of its choosing."""

from __future__ import annotations

import numpy as np
import pytest
from wire_support import PARAMS, SIZE, scene, shared_backend

from softfit.wire import RequestRejected, Result


@pytest.fixture
def backend():
    return shared_backend()


def _photos() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(photos (N, H, W, 3), the empty scene (H, W, 3), true masks): the ellipsoid painted in one colour
    over a textured backdrop (checks and noise), as a fixed camera on a turntable sees it."""
    sc = scene()
    rng = np.random.default_rng(3)
    yy, xx = np.mgrid[:SIZE, :SIZE]
    checks = ((yy // 6 + xx // 6) % 2)[..., None] * np.array([60, 40, 20]) + np.array([90, 110, 140])
    empty = np.clip(checks + rng.normal(0, 3, (SIZE, SIZE, 3)), 0, 255).astype(np.uint8)
    truth = sc.silhouettes > 0.5
    photos = np.repeat(empty[None], len(truth), 0)
    photos[truth] = (220, 200, 40)
    return np.ascontiguousarray(photos), empty, truth


def test_backdrop_segmentation_gets_the_empty_scene_as_an_array(backend):
    sc = scene()
    photos, empty, truth = _photos()
    with backend.client() as c:
        r = c.wait(c.submit(None, photos, sc.transforms, sc.init.verts, sc.init.faces, PARAMS,
                            silhouette_method="backdrop", backdrop=empty, texture=False), timeout=120)
        prepared = c.prepare(None, photos, sc.transforms, init="bbox", silhouette_method="backdrop",
                             backdrop=empty, params=PARAMS)
    assert isinstance(r, Result) and r.metrics["silhouette_method"] == "backdrop"
    assert r.metrics["train_iou"] > 0.8  # fitted to the masks the empty scene gave: the ellipsoid's
    assert prepared.verts is not None and len(prepared.verts) > 3


def test_backdrop_without_its_array_or_in_the_wrong_place_is_refused(backend):
    sc = scene()
    photos, empty, truth = _photos()
    args = (sc.transforms, sc.init.verts, sc.init.faces, PARAMS)
    with backend.client() as c:
        with pytest.raises(RequestRejected, match="needs the 'backdrop' array"):
            c.submit(None, photos, *args, silhouette_method="backdrop")
        with pytest.raises(RequestRejected, match="goes only with silhouette 'backdrop'"):
            c.submit(None, photos, *args, silhouette_method="grabcut", backdrop=empty)
        with pytest.raises(RequestRejected, match="goes only with silhouette 'backdrop'"):
            c.submit(truth, None, *args, silhouette_method="backdrop", backdrop=empty)
        with pytest.raises(RequestRejected, match="at the images' size 48x48, got 40x48"):
            c.submit(None, photos, *args, silhouette_method="backdrop", backdrop=empty[:, :40])
        with pytest.raises(RequestRejected, match="needs the 'backdrop' array"):  # prepare: the same checks
            c.prepare(None, photos, sc.transforms, init="bbox", silhouette_method="backdrop")


@pytest.mark.parametrize("method, match", [
    ("backdrop:backdrop=/etc/hosts", "send the empty scene as the 'backdrop' array"),
    ("deeplab:weights=/tmp/any.pth", "use weights=torchvision or the backend's SOFTFIT_DEEPLAB_WEIGHTS"),
    ("grabcut:nonsense", "grabcut"),  # a malformed method fails the request, not the job
])
def test_no_client_names_a_file_on_the_server(backend, method, match):
    sc = scene()
    photos, empty, _ = _photos()
    with backend.client() as c, pytest.raises(RequestRejected, match=match) as e:
        c.submit(None, photos, sc.transforms, sc.init.verts, sc.init.faces, PARAMS, silhouette_method=method,
                 backdrop=empty if method.startswith("backdrop") else None)
    assert e.value.code == "bad_request"


def test_silhouettes_an_earlier_segmentation_made_are_scored_as_agreement(backend):
    """`softfit views` writes segmented masks as alpha, with what the segmentation found; the add-on sends
    that along (`segmentation`), and the fit's IoUs are agreement with the segmentation, as from photos."""
    sc = scene()
    photos, _, truth = _photos()
    rgba = np.ascontiguousarray(np.concatenate([photos, truth[..., None].astype(np.uint8) * 255], axis=-1))
    seg = {"method": "multiview", "reason": "the views' cameras are known", "warnings": []}
    with backend.client() as c:
        told = c.wait(c.submit(None, rgba, sc.transforms, sc.init.verts, sc.init.faces, PARAMS,
                               segmentation=seg, texture=False), timeout=120)
        plain = c.wait(c.submit(None, rgba, sc.transforms, sc.init.verts, sc.init.faces, PARAMS,
                                texture=False), timeout=120)
    assert "agreement with the segmentation, not accuracy" in told.metrics["iou_against"]
    assert told.metrics["silhouette_method"] == "multiview"
    assert plain.metrics["iou_against"] == "the input silhouettes (given)"
