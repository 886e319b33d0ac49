"""Keyword options checked against the function they go to, so a typo is an InputError naming it
instead of a TypeError from deep inside."""

from __future__ import annotations

import inspect
from collections.abc import Callable


def check_options(func: Callable, options: dict, what: str, skip: int = 2) -> None:
    """InputError for keys of `options` that `func` does not take (its first `skip` parameters are
    positional inputs, not options)."""
    from softfit.errors import InputError

    params = list(inspect.signature(func).parameters.values())[skip:]
    if any(p.kind is p.VAR_KEYWORD for p in params):
        return
    allowed = {p.name for p in params}
    unknown = sorted(set(options) - allowed)
    if unknown:
        raise InputError(f"unknown option(s) {', '.join(unknown)} for {what}; "
                         f"it takes: {', '.join(sorted(allowed)) or 'none'}")
