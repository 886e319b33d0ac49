"""The batch's aggregate table: summary.json (every record + statistics) and summary.md (for people)."""

from __future__ import annotations

import json
import math
import statistics
from pathlib import Path

from softfit.atomic import public_mode, write_atomic

COLUMNS = (("heldout_iou", "held-out IoU", "{:.4f}"), ("chamfer", "Chamfer", "{:.4f}"),
           ("seconds", "time (s)", "{:.1f}"))
OK_STATUSES = ("done", "skipped")


def aggregate(records: list[dict]) -> dict:
    """Counts per status and mean/median of each headline number over the objects that have it."""
    stats: dict = {"objects": len(records)}
    for status in ("done", "skipped", "failed"):
        stats[status] = sum(r["status"] == status for r in records)
    ok = [r for r in records if r["status"] in OK_STATUSES]
    for key, _, _ in COLUMNS:
        values = [float(r[key]) for r in ok if _number(r.get(key))]
        stats[key] = {"n": len(values),
                      "mean": statistics.fmean(values) if values else None,
                      "median": statistics.median(values) if values else None}
    return stats


def _number(v) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def _fmt(v, fmt: str) -> str:
    return fmt.format(v) if _number(v) else "–"


def markdown(records: list[dict], stats: dict, title: str = "SoftFit batch") -> str:
    head = ["object", "status"] + [label for _, label, _ in COLUMNS] + ["note"]
    lines = [f"# {title}", "",
             f"{stats['objects']} objects: {stats['done']} fitted, {stats['skipped']} already done "
             f"(skipped), {stats['failed']} failed.", "",
             "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in records:
        note = (r.get("error") or "").replace("|", "\\|").replace("\n", " ")
        if len(note) > 120:
            note = note[:117] + "..."
        cells = [r["name"], r["status"]] + [_fmt(r.get(k), f) for k, _, f in COLUMNS] + [note]
        lines.append("| " + " | ".join(cells) + " |")
    for agg in ("mean", "median"):
        cells = [f"**{agg}**", ""] + [_fmt(stats[k][agg], f) for k, _, f in COLUMNS] + [""]
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "Means and medians are over fitted and skipped objects that have the number; Chamfer "
              "only where a ground-truth mesh exists.", ""]
    return "\n".join(lines)


def write_summary(out: Path, records: list[dict], info: dict | None = None) -> dict:
    """Write out/summary.json and out/summary.md; returns the statistics."""
    stats = aggregate(records)
    doc = {"summary": stats, "objects": records, **({"batch": info} if info else {})}
    write_atomic(out / "summary.json", json.dumps(doc, indent=1, allow_nan=False), public_mode())
    write_atomic(out / "summary.md", markdown(records, stats), public_mode())
    return stats
