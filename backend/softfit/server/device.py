"""The compute device a server reports in its handshake: the one fits with device "auto" will use."""

from __future__ import annotations

from softfit.sysinfo import cpu_model


def device_info(requested: str = "auto") -> tuple[str, str]:
    """(device, human name); InputError when "cuda" is asked for and not usable."""
    import torch

    from softfit.fit.engine import resolve_device

    dev = resolve_device(requested)
    if dev.type == "cuda":
        return "cuda", torch.cuda.get_device_name(dev)
    return "cpu", cpu_model()
