"""Markdown tables and number formatting for the experiments report."""

from __future__ import annotations

import math
from collections.abc import Sequence


def fmt(v: object, digits: int = 3) -> str:
    """A table cell: numbers rounded, None/NaN as an en dash, everything else as text."""
    if v is None:
        return "–"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, int):
        return f"{v:,}".replace(",", " ")
    if isinstance(v, float):
        if not math.isfinite(v):
            return "–"
        return f"{v:.{digits}f}"
    return str(v)


def md_table(headers: Sequence[str], rows: Sequence[Sequence[object]], digits: int = 3) -> str:
    """A GitHub Markdown table; numeric columns right-aligned."""
    def numeric(col: int) -> bool:
        return all(isinstance(r[col], int | float) or r[col] is None for r in rows)

    align = ["---:" if rows and numeric(c) else "---" for c in range(len(headers))]
    lines = ["| " + " | ".join(headers) + " |", "| " + " | ".join(align) + " |"]
    lines += ["| " + " | ".join(fmt(v, digits) for v in r) + " |" for r in rows]
    return "\n".join(lines)
