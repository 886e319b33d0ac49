"""`softfit bench thin`'s verdicts: adaptive against fixed fits, read on held-out and on training views."""

from softfit.bench.thin import markdown, verdict


def _row(polys, remesh: str, faces: int, heldout: float, train: float | None) -> dict:
    return {"polys": polys, "remesh": remesh, "init_faces": faces, "faces": faces, "heldout_iou": heldout,
            "train_iou": train, "fit_time": 1.0, "chamfer_rel": None, "loadavg": 1.0,
            "closed_manifold_oriented": True, "self_intersections": 0, "repaired_ok": True}


ROWS = [_row("hull (full resolution)", "-", 30000, 0.90, None), _row(500, "off", 500, 0.91, 0.93),
        _row(2000, "off", 2000, 0.95, 0.94), _row("auto", "on", 2500, 0.94, 0.96)]


def test_verdict_reads_the_iou_it_is_given():
    assert verdict(ROWS) == ("adaptive 2500 faces, MORE than the smallest fixed fit of at least its IoU "
                             "(2000 faces, 0.9500)")
    assert verdict(ROWS, "train_iou") == "adaptive IoU 0.9600 above every fixed fit"
    fewer = ROWS[:3] + [_row("auto", "on", 1500, 0.94, 0.935)]
    assert "fewer than the smallest fixed fit" in verdict(fewer, "train_iou")


def test_markdown_shows_both_readings():
    md = markdown({"thin": {"chair 64²": ROWS}}, {"git": "abc"}, "softfit bench thin")
    auto = next(line for line in md.splitlines() if line.startswith("| chair 64² | auto"))
    assert "| **0.9400** | 0.9600 |" in auto
    held, train = md.split("The same on the 22 training views")
    assert "MORE than" in held.split("Adaptive against fixed")[1] and "above every fixed fit" in train
