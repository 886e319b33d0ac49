"""Adam, per coordinate or "uniform" (one step size for the whole tensor), in a few lines of torch.

Uniform Adam is what Large Steps (Nicolet et al. 2021) recommends: the optimiser moves u = (I + λL)x,
and per-coordinate Adam would rescale each entry of the gradient separately, re-introducing the high
frequencies the parameterisation just filtered out. Dividing by the largest second-moment estimate of the
tensor keeps Adam's momentum and bias correction and leaves the step a smooth field.

Not a torch.optim.Optimizer subclass on purpose: constructing one imports torch._dynamo, which costs
seconds per process (measured 2-8 s here), a large share of a one-minute fit."""

from __future__ import annotations

import torch


class Adam:
    """Adam (Kingma & Ba) on a list of leaf tensors; uniform=True uses max(v̂) over each tensor."""

    def __init__(self, params: list[torch.Tensor], lr: float = 1e-2,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8, uniform: bool = False) -> None:
        self.params = list(params)
        self.lr, self.betas, self.eps, self.uniform = lr, betas, eps, uniform
        self.t = 0
        self.m = [torch.zeros_like(p) for p in self.params]
        self.v = [torch.zeros_like(p) for p in self.params]

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    @torch.no_grad()
    def step(self) -> None:
        self.t += 1
        b1, b2 = self.betas
        c1, c2 = 1 - b1**self.t, 1 - b2**self.t
        for p, m, v in zip(self.params, self.m, self.v, strict=True):
            if p.grad is None or p.numel() == 0:
                continue
            m.mul_(b1).add_(p.grad, alpha=1 - b1)
            v.mul_(b2).addcmul_(p.grad, p.grad, value=1 - b2)
            denom = (v.max() if self.uniform else v).div(c2).sqrt_().add_(self.eps)
            p.sub_(m / denom, alpha=self.lr / c1)

    @torch.no_grad()
    def carry(self, old: Adam, source: torch.Tensor) -> None:
        """Take over `old`'s moments and step count, row i from `old`'s row source[i] (after remeshing,
        where each new vertex descends from an old one)."""
        self.t = old.t
        self.m = [m[source].clone() for m in old.m]
        self.v = [v[source].clone() for v in old.v]


def make_optimizer(kind: str, params: list[torch.Tensor], lr: float, betas: tuple[float, float]) -> Adam:
    return Adam(params, lr=lr, betas=betas, uniform=kind == "adam_uniform")
