"""Appendix A: Gaussian "rubbish" inputs, and how many of them a model labels confidently."""
from __future__ import annotations

import torch

RUBBISH_THRESHOLD = 0.5  # Appendix A: a rubbish input is a mistake when any class gets p > .5


def gaussian_rubbish(n: int, shape: tuple[int, ...] = (1, 28, 28), seed: int = 0) -> torch.Tensor:
    """``n`` samples of N(0, I) shaped like the inputs (Appendix A), not clipped to [0, 1]."""
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    return torch.randn((n, *shape), generator=torch.Generator().manual_seed(seed))


def rubbish_eval(proba: torch.Tensor, threshold: float = RUBBISH_THRESHOLD) -> dict:
    """Appendix A's numbers from class probabilities of rubbish inputs.

    ``error``: fraction given some class with probability > ``threshold``; ``conf``: mean of
    that top probability over those inputs (NaN if none); ``classes``: how those inputs are
    spread over the classes (fractions summing to 1, zeros if none). Works for any
    probability map: softmax (sums to 1), independent sigmoids or unnormalised RBF (need not).
    """
    conf, pred = proba.max(1)
    fooled = conf > threshold
    k = proba.shape[1]
    counts = torch.bincount(pred[fooled], minlength=k).float()
    n_fooled = int(fooled.sum())
    return {"error": fooled.float().mean().item(),
            "conf": conf[fooled].mean().item() if n_fooled else float("nan"),
            "n_fooled": n_fooled,
            "classes": (counts / n_fooled if n_fooled else counts).tolist()}
