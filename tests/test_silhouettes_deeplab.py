"""The DeepLabv3 path with a randomly initialised model saved to a temporary weights file.

No real weights exist here (none ship in any wheel and there is no network), so this checks loading,
hash verification, batching and the foreground rule, not accuracy."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from softfit import silhouettes as S
from softfit.errors import InputError
from softfit.silhouettes import deeplab


@pytest.fixture(scope="module")
def random_weights(tmp_path_factory):
    torch.manual_seed(0)
    model = deeplab.build_model("mobilenet_v3_large", 21, aux_loss=True)
    folder = tmp_path_factory.mktemp("deeplab")
    path = folder / "random.pth"
    torch.save(model.state_dict(), path)
    return path, deeplab.file_sha256(path), model.state_dict()


@pytest.fixture(scope="module")
def images():
    rng = np.random.default_rng(0)
    return rng.integers(0, 255, (5, 48, 64, 3), dtype=np.uint8)


def _biased(random_weights, tmp_path, winner: int):
    """Weights whose classifier always picks class `winner` (zero final conv, one-hot bias)."""
    _, _, state = random_weights
    state = {k: v.clone() for k, v in state.items()}
    state["classifier.4.weight"].zero_()
    state["classifier.4.bias"].fill_(-10.0)
    state["classifier.4.bias"][winner] = 10.0
    path = tmp_path / f"class{winner}.pth"
    torch.save(state, path)
    return path, deeplab.file_sha256(path)


def test_loads_verifies_and_runs_batched(random_weights, images):
    path, sha, _ = random_weights
    out = S.segment(images, "deeplab", weights=path, sha256=sha, batch_size=2, device="cpu")
    assert out.shape == (5, 48, 64) and out.dtype == bool
    one = deeplab.segment(images, weights=path, sha256=sha, batch_size=1, device="cpu", clean=False)
    three = deeplab.segment(images, weights=path, sha256=sha, batch_size=3, device="cpu", clean=False)
    assert np.array_equal(one, three)  # batching does not change the answer
    # a prefix of the hash is accepted, as torchvision's file names carry one
    assert deeplab.segment(images[:1], weights=path, sha256=sha[:8], clean=False).shape == (1, 48, 64)


def test_refuses_wrong_or_missing_hash(random_weights, images, tmp_path, monkeypatch):
    path, sha, _ = random_weights
    monkeypatch.delenv("SOFTFIT_DEEPLAB_SHA256", raising=False)
    monkeypatch.delenv("SOFTFIT_DEEPLAB_WEIGHTS", raising=False)
    wrong = ("0" if sha[0] != "0" else "1") + sha[1:]
    with pytest.raises(InputError, match="refusing to load"):
        S.segment(images, "deeplab", weights=path, sha256=wrong)
    with pytest.raises(InputError, match="no expected SHA-256"):
        S.segment(images, "deeplab", weights=path)
    with pytest.raises(InputError, match="needs weights: weights=FILE"):
        S.segment(images, "deeplab")
    with pytest.raises(InputError, match="not found"):
        S.segment(images, "deeplab", weights=tmp_path / "missing.pth", sha256=sha)
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"not a model")
    with pytest.raises(InputError, match="cannot read"):
        S.segment(images, "deeplab", weights=junk, sha256=deeplab.file_sha256(junk))
    # configured through the environment instead of arguments
    monkeypatch.setenv("SOFTFIT_DEEPLAB_WEIGHTS", str(path))
    monkeypatch.setenv("SOFTFIT_DEEPLAB_SHA256", sha)
    assert S.segment(images[:2], "deeplab", allow_empty=True).shape == (2, 48, 64)


def test_foreground_is_any_non_background_class(random_weights, images, tmp_path):
    path, sha = _biased(random_weights, tmp_path, winner=12)
    assert deeplab.segment(images, weights=path, sha256=sha, clean=False).all()
    path, sha = _biased(random_weights, tmp_path, winner=0)
    assert not deeplab.segment(images, weights=path, sha256=sha, clean=False).any()
    with pytest.raises(InputError, match="found no object"):
        S.segment(images, "deeplab", weights=path, sha256=sha)


def test_torchvision_weights_come_from_the_hub_cache_hash_checked(random_weights, images, monkeypatch,
                                                                   tmp_path):
    """weights=torchvision: torch's hub cache is where the file lives. A file there is verified against
    the hash in its published name (a random model fails that check), and the one line that an offline
    machine gets names the exact file to put there."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    target = deeplab.hub_path("mobilenet_v3_large")
    assert target.parent == tmp_path / "torch" / "hub" / "checkpoints"
    assert target.name == "deeplabv3_mobilenet_v3_large-fc3c493d.pth"
    # offline (a closed local port stands in for the unreachable server): one line, naming the file
    monkeypatch.setattr(deeplab, "DOWNLOAD_URL", "http://127.0.0.1:9/{stem}.pth")
    with pytest.raises(InputError) as err:
        S.segment(images, "deeplab", weights="torchvision")
    msg = str(err.value)
    assert "\n" not in msg and str(target) in msg and "weights=FILE" in msg
    assert not target.exists()  # nothing half-downloaded is left where a later run would trust it
    # a file in the cache is checked like any other: the random model is not torchvision's
    path, sha, _ = random_weights
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(path.read_bytes())
    with pytest.raises(InputError, match="refusing to load"):
        S.segment(images, "deeplab", weights="torchvision")
    # with the hash given explicitly (a user's own file put there) it loads and segments
    out = deeplab.segment(images, weights="torchvision", sha256=sha, device="cpu", clean=False)
    assert out.shape == images.shape[:3] and out.dtype == bool
