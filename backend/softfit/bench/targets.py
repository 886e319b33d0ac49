"""The issue's targets for a fit from segmented photos, judged against the true masks: one rule that the
silhouette benchmark's tables and the drawn-run summary (`drawn_summary`) both count with."""

from __future__ import annotations

FLATTER = 0.02  # the bound: agreement may exceed the true held-out IoU by this much unwarned
TARGET = 0.93  # the target for the fit from `auto`, against the true masks


def held_out(fits: dict) -> float | None:
    """The held-out IoU vs the true masks the targets read: the mean over the splits where they ran."""
    splits = fits.get("fit_splits") or {}
    return splits["mean"] if "mean" in splits else (fits.get("fit") or {}).get("heldout_iou_vs_true_masks")


def verdict(row: dict, true_masks: dict) -> dict:
    """The issue's targets for one method on one scene: held-out IoU vs the true masks >= TARGET, within
    FLATTER of the true-mask fit (`true_masks`: its fits), and no agreement above the truth by more than
    FLATTER without a warning, on any split. Held-out figures are means over the splits where both ran
    over them (`fit_splits`), else the default split's. None where the method or its fit did not run."""
    f = row.get("fit") or {}
    if "fit_splits" in row and "fit_splits" in true_masks:
        held, ceiling = held_out(row), held_out(true_masks)
    else:  # compare like with like: the default split on both sides
        held = f.get("heldout_iou_vs_true_masks")
        ceiling = (true_masks.get("fit") or {}).get("heldout_iou_vs_true_masks")
    if held is None:
        return {}
    splits = row.get("fit_splits") or {}
    if "mean" in splits:
        pairs = list(zip(splits["heldout_agreement_with_own_masks"], splits["heldout_iou_vs_true_masks"],
                         strict=True))
    else:
        pairs = [(f.get("heldout_agreement_with_own_masks"), f["heldout_iou_vs_true_masks"])]
    flatters = any(a is not None and a > h + FLATTER for a, h in pairs)
    return {"held_out": held, "ceiling": ceiling, "meets_target": held >= TARGET,
            "within_gap": None if ceiling is None else held >= ceiling - FLATTER,
            "flatters": flatters, "warned": bool(row.get("warnings")),
            "flatters_unwarned": flatters and not row.get("warnings")}
