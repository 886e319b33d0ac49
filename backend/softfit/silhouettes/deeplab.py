"""`deeplab`: torchvision DeepLabv3 (MobileNetV3-Large, ResNet-50 or ResNet-101); object = any
non-background class.

The model is built with `weights=None, weights_backbone=None` and loaded from a state-dict file whose
SHA-256 must match the expected hash (given by the user, or known for torchvision's published files,
whose names carry their hash prefix as torchvision checks it). The file is either the user's
(`weights=FILE`, or the environment variables SOFTFIT_DEEPLAB_WEIGHTS and SOFTFIT_DEEPLAB_SHA256) or
torchvision's own (`weights=torchvision`), fetched on first use into torch's hub cache the usual torch
way and checked like any other file; with no network that fails with one line naming the file to put
there. Nothing is ever downloaded unless asked for. Its 21 VOC classes miss many everyday objects: it is
an option, never the default (`auto` only picks it without cameras, when weights are configured and
the classical methods do not fit the data)."""

from __future__ import annotations

import functools
import hashlib
import os
import re
from pathlib import Path

import numpy as np

from softfit.errors import InputError
from softfit.silhouettes.common import check_images, clean_mask

ENV_WEIGHTS = "SOFTFIT_DEEPLAB_WEIGHTS"
ENV_SHA256 = "SOFTFIT_DEEPLAB_SHA256"
ARCHS = ("mobilenet_v3_large", "resnet50", "resnet101")
# torchvision's published weights: file stem -> (architecture, SHA-256 prefix carried in the file name).
KNOWN_WEIGHTS = {
    "deeplabv3_mobilenet_v3_large-fc3c493d": ("mobilenet_v3_large", "fc3c493d"),
    "deeplabv3_resnet50_coco-cd0a2569": ("resnet50", "cd0a2569"),
    "deeplabv3_resnet101_coco-586e9e4e": ("resnet101", "586e9e4e"),
}
DOWNLOAD = "torchvision"  # weights=torchvision: fetch torchvision's published file into the hub cache
DOWNLOAD_URL = "https://download.pytorch.org/models/{stem}.pth"
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def configured_weights(weights: str | os.PathLike | None = None) -> Path | None:
    """The weights file given explicitly or through SOFTFIT_DEEPLAB_WEIGHTS, if any (for
    weights=torchvision: where the hub cache keeps the default architecture's file)."""
    w = weights if weights is not None else os.environ.get(ENV_WEIGHTS)
    if w is not None and str(w) == DOWNLOAD:
        return hub_path(ARCHS[0])
    return Path(w) if w else None


def hub_path(arch: str) -> Path:
    """Where torch's hub cache keeps torchvision's published weights for `arch`."""
    import torch

    if arch not in ARCHS:
        raise InputError(f"DeepLab architecture must be one of {ARCHS}, got {arch!r}")
    stem = next(k for k, (a, _) in KNOWN_WEIGHTS.items() if a == arch)
    return Path(torch.hub.get_dir()) / "checkpoints" / f"{stem}.pth"


def fetch(arch: str, url: str | None = None) -> Path:
    """torchvision's weights for `arch` in the hub cache, downloaded there on first use (hash-checked by
    torch while downloading, and by `verify` on every load). Offline: one line naming the file to provide."""
    import torch

    path = hub_path(arch)
    if path.is_file():
        return path
    src = url or DOWNLOAD_URL.format(stem=path.stem)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        torch.hub.download_url_to_file(src, str(path), hash_prefix=KNOWN_WEIGHTS[path.stem][1],
                                       progress=False)
    except (OSError, RuntimeError, ValueError) as exc:  # URLError is an OSError; a bad hash a RuntimeError
        raise InputError(f"cannot fetch DeepLab weights ({type(exc).__name__}: {str(exc)[:120]}): download "
                         f"{src} and save it as {path}, or pass weights=FILE") from None
    return path


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def expected_hash(path: Path, sha256: str | None) -> str:
    """The hash (full or prefix, lower-case hex) the file must have; InputError when none is known."""
    sha = sha256 if sha256 is not None else os.environ.get(ENV_SHA256)
    if sha is None and path.stem in KNOWN_WEIGHTS:
        sha = KNOWN_WEIGHTS[path.stem][1]
    if sha is None:
        raise InputError(f"no expected SHA-256 for DeepLab weights {path.name}: pass sha256=HEX "
                         f"(or set {ENV_SHA256}); known files: {', '.join(KNOWN_WEIGHTS)}")
    sha = sha.strip().lower()
    if not re.fullmatch(r"[0-9a-f]{8,64}", sha):
        raise InputError(f"expected SHA-256 must be 8 to 64 hex digits, got {sha!r}")
    return sha


def verify(path: Path, sha256: str | None) -> str:
    """Check the weights file against its expected hash; returns the file's full SHA-256."""
    if not path.is_file():
        raise InputError(f"DeepLab weights file not found: {path}")
    want = expected_hash(path, sha256)
    got = file_sha256(path)
    if not got.startswith(want):
        raise InputError(f"DeepLab weights {path.name} have SHA-256 {got}, expected {want}: refusing to load")
    return got


def _arch_of(state: dict, path: Path, arch: str | None) -> str:
    if arch is not None:
        if arch not in ARCHS:
            raise InputError(f"DeepLab architecture must be one of {ARCHS}, got {arch!r}")
        return arch
    if path.stem in KNOWN_WEIGHTS:
        return KNOWN_WEIGHTS[path.stem][0]
    if not any(k.startswith("backbone.conv1.") for k in state):
        return "mobilenet_v3_large"
    return "resnet101" if any(k.startswith("backbone.layer3.22.") for k in state) else "resnet50"


def build_model(arch: str, num_classes: int, aux_loss: bool):
    from torchvision.models.segmentation import (
        deeplabv3_mobilenet_v3_large,
        deeplabv3_resnet50,
        deeplabv3_resnet101,
    )

    ctor = {"resnet50": deeplabv3_resnet50, "resnet101": deeplabv3_resnet101}.get(arch,
                                                                                 deeplabv3_mobilenet_v3_large)
    return ctor(weights=None, weights_backbone=None, num_classes=num_classes, aux_loss=aux_loss)


@functools.lru_cache(maxsize=2)
def _load(path: str, digest: str, arch: str | None, device: str):
    """The model in eval mode on `device`; cached per file content so batches of calls load it once."""
    import torch

    p = Path(path)
    try:
        state = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises several types for a corrupt or foreign file
        raise InputError(f"cannot read DeepLab weights {p.name}: {exc}") from exc
    if isinstance(state, dict) and "model" in state and isinstance(state["model"], dict):
        state = state["model"]
    if not isinstance(state, dict) or "classifier.4.weight" not in state:
        raise InputError(f"{p.name} is not a DeepLabv3 state dict (no classifier.4.weight)")
    a = _arch_of(state, p, arch)
    num_classes = int(state["classifier.4.weight"].shape[0])
    model = build_model(a, num_classes, aux_loss=any(k.startswith("aux_classifier.") for k in state))
    try:
        model.load_state_dict(state)
    except RuntimeError as exc:
        raise InputError(f"DeepLab weights {p.name} do not fit a {a} DeepLabv3: {exc}") from exc
    return model.eval().to(device)


def resolve_device(device: str) -> str:
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device not in ("cpu", "cuda"):
        raise InputError(f"device must be auto, cpu or cuda, got {device!r}")
    if device == "cuda" and not torch.cuda.is_available():
        raise InputError("device 'cuda' requested but no CUDA device is available")
    return device


def load_model(weights: str | os.PathLike | None = None, sha256: str | None = None, arch: str | None = None,
               device: str = "auto"):
    """Verify and load the DeepLabv3 model; InputError when no weights are configured."""
    w = weights if weights is not None else os.environ.get(ENV_WEIGHTS)
    if w is not None and str(w) == DOWNLOAD:
        a = arch or ARCHS[0]
        path = fetch(a)
        return _load(str(path.resolve()), verify(path, sha256), a, resolve_device(device))
    path = configured_weights(weights)
    if path is None:
        raise InputError(f"silhouette method 'deeplab' needs weights: weights=FILE (or {ENV_WEIGHTS}), or "
                         f"weights={DOWNLOAD} to fetch torchvision's into torch's hub cache")
    digest = verify(path, sha256)
    return _load(str(path.resolve()), digest, arch, resolve_device(device))


def predict(model, images: np.ndarray, batch_size: int = 8, max_side: int | None = 520) -> np.ndarray:
    """(N, H, W) bool: argmax class != 0, at the input resolution (inference at most `max_side` px)."""
    import torch
    import torch.nn.functional as F

    device = next(model.parameters()).device
    n, h, w = images.shape[:3]
    s = 1.0 if max_side is None else min(1.0, max_side / max(h, w))
    size = (max(8, round(h * s)), max(8, round(w * s)))
    mean = torch.tensor(IMAGENET_MEAN, device=device).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD, device=device).view(1, 3, 1, 1)
    out = np.empty((n, h, w), dtype=bool)
    with torch.inference_mode():
        for i in range(0, n, batch_size):
            x = torch.from_numpy(images[i:i + batch_size]).to(device).permute(0, 3, 1, 2).float() / 255.0
            if size != (h, w):
                x = F.interpolate(x, size=size, mode="bilinear", align_corners=False, antialias=True)
            logits = model((x - mean) / std)["out"]
            if size != (h, w):
                logits = F.interpolate(logits, size=(h, w), mode="bilinear", align_corners=False)
            out[i:i + batch_size] = (logits.argmax(1) != 0).cpu().numpy()
    return out


def segment(images: np.ndarray, weights: str | os.PathLike | None = None, sha256: str | None = None,
            arch: str | None = None, device: str = "auto", batch_size: int = 8, max_side: int | None = 520,
            clean: bool = True, open_radius: int = 1, holes: bool | float = True) -> np.ndarray:
    """(N, H, W) bool masks. `weights`: state-dict file, or "torchvision" (fetched into the hub cache on
    first use); `sha256`: its expected hash (full or prefix); `arch`: "mobilenet_v3_large" | "resnet50" |
    "resnet101" (default: from the file; mobilenet_v3_large for "torchvision"); `device`: auto | cpu | cuda;
    `batch_size`: images per forward pass; `max_side`: inference resolution (long side)."""
    imgs = check_images(images)
    if batch_size < 1:
        raise InputError(f"batch_size must be >= 1, got {batch_size}")
    masks = predict(load_model(weights, sha256, arch, device), imgs, batch_size, max_side)
    if clean:
        masks = np.stack([clean_mask(m, open_radius=open_radius, keep="large", holes=holes) for m in masks])
    return masks
