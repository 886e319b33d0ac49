"""The silhouette loss: 1 − IoU of the soft silhouette against the target, per view, averaged."""

from __future__ import annotations

import torch


def soft_iou(alpha: torch.Tensor, target: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """(B,) Σ(A·T) / Σ(A + T − A·T) per view; alpha and target (B, H, W) in [0, 1]."""
    inter = (alpha * target).flatten(1).sum(1)
    union = (alpha + target - alpha * target).flatten(1).sum(1)
    return inter / (union + eps)


def silhouette_loss(alpha: torch.Tensor, target: torch.Tensor, weights: torch.Tensor | None = None
                    ) -> tuple[torch.Tensor, torch.Tensor]:
    """(loss = mean over views of 1 − soft IoU, per-view soft IoU detached). `weights` (B,): how much each
    view counts (a weighted mean, so doubtful segmented views pull less; None = all alike)."""
    iou = soft_iou(alpha, target)
    if weights is None:
        return (1.0 - iou).mean(), iou.detach()
    w = weights.to(iou)
    return ((1.0 - iou) * w).sum() / w.sum().clamp_min(1e-12), iou.detach()
