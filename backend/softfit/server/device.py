"""The compute device a server reports in its handshake: the one fits with device "auto" will use."""

from __future__ import annotations

import platform
from pathlib import Path


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "cpu"


def device_info(requested: str = "auto") -> tuple[str, str]:
    """(device, human name); InputError when "cuda" is asked for and not usable."""
    import torch

    from softfit.fit.engine import resolve_device

    dev = resolve_device(requested)
    if dev.type == "cuda":
        return "cuda", torch.cuda.get_device_name(dev)
    return "cpu", cpu_name()
