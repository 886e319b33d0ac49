"""Shared test fixtures.

`render_dataset_cached(source="suzanne", **options) -> Path`: a dataset rendered with the real Blender
(`softfit.dataset.render_dataset`, in its own process, since a process holds one bpy), cached for the
whole test session under pytest's temporary folder and keyed by the options. Treat the folder as
read-only; keep sizes and view counts small (each new key costs a Blender start, about 1-2 s)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def render_dataset_cached(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Path]:
    from softfit.dataset import render_dataset

    root = tmp_path_factory.mktemp("datasets")
    cache: dict[str, Path] = {}

    def render(source: str | list[str] = "suzanne", **options) -> Path:
        key = json.dumps({"source": source, **options}, sort_keys=True, default=str)
        if key not in cache:
            digest = hashlib.sha256(key.encode()).hexdigest()[:16]
            cache[key] = render_dataset(source, root / digest, **options)
        return cache[key]

    return render


@pytest.fixture(scope="session")
def render_scene_cached(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Path]:
    """`render_scene_cached(name, views=3, size="96x72", samples=4) -> Path`: a tiny photoreal scene
    (`softfit.dataset.suite`), rendered once per session with Cycles in its own process."""
    from softfit.dataset.cache import cached_scene

    root = tmp_path_factory.mktemp("scenes")

    def render(name: str, views: int = 3, size: str = "96x72", samples: int = 4) -> Path:
        return cached_scene(name, root, views=views, size=size, samples=samples)

    return render
