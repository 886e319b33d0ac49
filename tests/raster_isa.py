"""A fixture that runs a raster test once per CPU kernel instruction set this machine can run
("generic" always, "avx2" on x86-64 CPUs with AVX2 + FMA), so neither variant goes untested."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from softfit import _C
from softfit.bench.raster_fit import kernel_isa


@pytest.fixture(params=_C.cpu_kernel_isas(), autouse=True)
def cpu_kernel_isa(request: pytest.FixtureRequest) -> Iterator[str]:
    with kernel_isa(request.param):
        yield request.param
