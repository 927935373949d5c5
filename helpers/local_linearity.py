"""Section 3's linear explanation, measured: the direction does the damage, and many small
changes add up with the dimension; and Figure 4's logits along the FGSM direction, with a
number for how straight they are.

For a linear score w.x, the max-norm perturbation eta = eps sign(w) moves it by
w.eta = eps ||w||_1 = eps * m * n (m = mean |w_i|, n = dimension): for fixed eps it grows
linearly with the number of coordinates perturbed. A network that is piecewise linear (ReLU,
max-pooling, maxout) has the same form locally, with w = the gradient of its score at x.

The score studied here is the *margin* of the true class over the runner-up,
z_y - z_t (t = the most likely other class at the clean x, kept fixed): it is negative
exactly when the prediction is wrong, and it is linear in x for a linear model. The
perturbations are not clipped to [0, 1] here (``clip=None``), so that the identity holds
exactly for linear models (the report's primary protocol, FGSM as printed, does not clip either).
"""
from __future__ import annotations

from typing import Iterable, Optional, Sequence

import torch
from torch import nn

from .attacks import PRIMARY, PROTOCOLS, Clip, fgsm_direction
from .metrics import predict_proba, proba_scores
from .models import device_of, mode


def margin(scores: torch.Tensor, y: torch.Tensor, other: Optional[torch.Tensor] = None
           ) -> tuple[torch.Tensor, torch.Tensor]:
    """(z_y - z_t, t): the margin of the true class over ``other`` (default: the highest other class)."""
    if other is None:
        masked = scores.detach().clone()
        masked[torch.arange(len(y)), y] = -float("inf")
        other = masked.argmax(1)
    idx = torch.arange(len(y))
    return scores[idx, y] - scores[idx, other], other


def margin_gradient(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int = 500
                    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(margin, w, t) at the clean x: w = grad_x (z_y - z_t), the local linear piece's weights.

    Eval mode; examples are independent there, so one backward of the summed margins gives
    every example's own gradient. Inputs may live on the CPU; results come back there."""
    dev = device_of(model)
    ms, ws, ts = [], [], []
    with mode(model, training=False):
        for i in range(0, len(x), batch_size):
            xb = x[i:i + batch_size].detach().to(dev).requires_grad_(True)
            m, t = margin(model(xb), y[i:i + batch_size].to(dev))
            (g,) = torch.autograd.grad(m.sum(), xb)
            ms.append(m.detach().cpu())
            ws.append(g.cpu())
            ts.append(t.cpu())
    return torch.cat(ms), torch.cat(ws), torch.cat(ts)


@torch.no_grad()
def _margins_at(model: nn.Module, x: torch.Tensor, y: torch.Tensor, other: torch.Tensor,
                batch_size: int = 1000) -> tuple[torch.Tensor, torch.Tensor]:
    """(margin over the fixed ``other`` class, predicted class) for a whole split, eval mode."""
    dev = device_of(model)
    ms, preds = [], []
    with mode(model, training=False):
        for i in range(0, len(x), batch_size):
            s = model(x[i:i + batch_size].to(dev))
            ms.append(margin(s, y[i:i + batch_size].to(dev), other[i:i + batch_size].to(dev))[0].cpu())
            preds.append(s.argmax(1).cpu())
    return torch.cat(ms), torch.cat(preds)


def _changes(model: nn.Module, steps: torch.Tensor, y: torch.Tensor, other: torch.Tensor, m0: torch.Tensor
             ) -> tuple[torch.Tensor, torch.Tensor]:
    """Margin changes (S, N) and error rates (S,) for S perturbed copies of the split, all in
    one pass over the model (fewer, larger batches: much faster for a many-layer net on a CPU)."""
    s, n = steps.shape[:2]
    m, pred = _margins_at(model, steps.flatten(0, 1), y.repeat(s), other.repeat(s))
    return (m.view(s, n) - m0), (pred.view(s, n) != y).float().mean(1)


def first_order(model: nn.Module, x: torch.Tensor, y: torch.Tensor, eps_grid: Iterable[float],
                clip: Clip = None, piece: Optional[tuple] = None) -> dict:
    """The margin under eta = -eps sign(w) against its first-order prediction m - eps ||w||_1.

    Returns ``eps`` (E,), ``margin`` (N,), ``l1`` = ||w||_1 (N,), ``predicted`` and ``actual``
    margin changes (E, N), and ``error`` (E,): the fraction misclassified after the step.
    For a linear model ``actual == predicted`` (unclipped); for a network the gap measures
    how far from linear it is along the direction that matters. ``piece``: the output of
    ``margin_gradient(model, x, y)`` where already computed (it is the expensive part)."""
    eps_grid = [float(e) for e in eps_grid]
    m0, w, t = piece if piece is not None else margin_gradient(model, x, y)
    x, y = x.cpu(), y.cpu()
    l1 = w.flatten(1).abs().sum(1)
    direction = -w.sign()
    steps = [x + eps * direction for eps in eps_grid]
    steps = torch.stack(steps if clip is None else [xa.clamp(*clip) for xa in steps])  # (E, N, ...)
    # first-order change for the step actually taken (= -eps ||w||_1 when unclipped)
    predicted = (w * (steps - x)).flatten(2).sum(2)
    actual, error = _changes(model, steps, y, t, m0)
    return {"eps": torch.tensor(eps_grid), "margin": m0, "l1": l1, "predicted": predicted,
            "actual": actual, "error": error}


def nested_masks(shape: Sequence[int], ks: Sequence[int], seed: int = 0) -> torch.Tensor:
    """(len(ks), *shape) 0/1 masks: the first k coordinates of one random permutation, so the
    masks are nested (each subset contains the smaller ones) and shared by all examples."""
    n = int(torch.tensor(shape).prod())
    if any(k < 0 or k > n for k in ks):
        raise ValueError(f"every k must lie in [0, {n}], got {list(ks)}")
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    masks = torch.zeros(len(ks), n)
    for i, k in enumerate(ks):
        masks[i, order[:k]] = 1.0
    return masks.view(len(ks), *shape)


def dimension_sweep(model: nn.Module, x: torch.Tensor, y: torch.Tensor, eps: float, ks: Sequence[int],
                    seed: int = 0, clip: Clip = None, piece: Optional[tuple] = None) -> dict:
    """Perturb only k coordinates (a random nested subset) by -eps sign(w), for each k.

    The max-norm of the perturbation is eps for every k; what grows is the number of
    coordinates, and with it the first-order change eps * sum_{i in S} |w_i| ~ eps * m * k.
    Returns ``k`` (K,), ``predicted`` / ``actual`` margin changes (K, N), ``error`` (K,),
    ``margin`` (N,) and ``mean_abs_w`` (N,): the mean |w_i| over all coordinates. ``piece`` as
    in ``first_order``."""
    m0, w, t = piece if piece is not None else margin_gradient(model, x, y)
    x, y = x.cpu(), y.cpu()
    masks = nested_masks(x.shape[1:], ks, seed)
    direction = -w.sign()
    steps = [x + eps * direction * mask for mask in masks]
    steps = torch.stack(steps if clip is None else [xa.clamp(*clip) for xa in steps])  # (K, N, ...)
    predicted = (w * (steps - x)).flatten(2).sum(2)
    actual, error = _changes(model, steps, y, t, m0)
    return {"k": torch.tensor(list(ks)), "predicted": predicted, "actual": actual,
            "error": error, "margin": m0, "mean_abs_w": w.flatten(1).abs().mean(1)}


def direction_sweep(model: nn.Module, x: torch.Tensor, y: torch.Tensor, eps_grid: Iterable[float],
                    kinds: Sequence[str] = ("fgsm", "sign", "uniform"), clip: Clip = PROTOCOLS[PRIMARY],
                    seed: int = 0) -> tuple[list[dict], dict]:
    """Accuracy and confidence as eps grows along a fixed direction per example and kind.

    ``fgsm``: x + eps sign(grad_x J) (the gradient at the clean x does not depend on eps, so
    one backward pass serves the whole grid: the same examples as ``helpers.attacks.fgsm``);
    ``sign``: a random +-1 direction; ``uniform``: a U(-1, 1) direction, i.e. U(-eps, eps)
    noise. The noise direction is drawn once and scaled, so the curves are smooth in eps.
    Returns (rows, probas): one row per (kind, eps) with ``accuracy``, ``error``,
    ``conf_wrong`` (mean confidence on mistakes) and ``conf_mean``; probas[(kind, eps)] are
    the class probabilities."""
    g = torch.Generator().manual_seed(seed)
    directions = {}
    for kind in kinds:
        if kind == "fgsm":
            directions[kind] = fgsm_direction(model, x, y, batch_size=500)
        elif kind == "sign":
            directions[kind] = torch.randint(0, 2, x.shape, generator=g).to(x.dtype) * 2 - 1
        elif kind == "uniform":
            directions[kind] = torch.rand(x.shape, generator=g).to(x.dtype) * 2 - 1
        else:
            raise ValueError(f"unknown direction {kind!r}; choose from fgsm, sign, uniform")
    eps_grid = [float(e) for e in eps_grid]
    # every kind starts from the same clean predictions: eps = 0 is evaluated once
    points = [("clean", 0.0)] + [(kind, eps) for kind in kinds for eps in eps_grid if eps != 0]
    batch = []
    for kind, eps in points:
        xa = x if kind == "clean" else x + eps * directions[kind].to(x.device)
        batch.append(xa if clip is None else xa.clamp(*clip))
    # one pass over all perturbed copies: fewer, larger batches
    p_all = predict_proba(model, torch.cat(batch)).view(len(points), len(x), -1)
    found = {pt: p_all[i] for i, pt in enumerate(points)}
    rows, probas = [], {}
    for kind in kinds:
        for eps in eps_grid:
            p = found[("clean", 0.0)] if eps == 0 else found[(kind, eps)]
            probas[(kind, eps)] = p
            r = proba_scores(p, y.cpu())
            rows.append({"kind": kind, "eps": eps, **r, "accuracy": 1 - r["error"]})
    return rows, probas


# --- Figure 4: the logits along the FGSM direction

@torch.inference_mode()
def logit_sweep(model: nn.Module, x: torch.Tensor, direction: torch.Tensor, eps_values: Sequence[float],
                batch_size: int = 4000) -> torch.Tensor:
    """Scores (logits) of ``x + eps * direction`` for every eps, *unclipped* (figure 4 goes
    far outside [0, 1]): a tensor ``(n, len(eps_values), K)``."""
    eps = torch.as_tensor(list(eps_values), dtype=x.dtype)
    n, e = len(x), len(eps)
    # every (example, eps) pair as one flat batch: (n, e, *shape) -> (n * e, *shape)
    pts = (x.unsqueeze(1) + eps.view(1, e, *[1] * (x.dim() - 1)) * direction.unsqueeze(1)).flatten(0, 1)
    device = device_of(model)
    with mode(model, training=False):
        out = torch.cat([model(pts[i:i + batch_size].to(device)).cpu() for i in range(0, len(pts), batch_size)])
    return out.view(n, e, -1)


def linear_fit_r2(t: torch.Tensor, curves: torch.Tensor) -> torch.Tensor:
    """R^2 of the least-squares line fitted to each curve ``curves[..., :]`` against ``t``.

    1 for a straight line; lower the more the curve bends. NaN for a constant curve (there
    is nothing to explain). Computed in float64: logits reach hundreds at eps = 15.
    """
    t = torch.as_tensor(t, dtype=torch.float64)
    c = curves.to(torch.float64)
    if c.shape[-1] != len(t) or len(t) < 3:
        raise ValueError("need at least 3 points and one value of t per point")
    tc = t - t.mean()
    cc = c - c.mean(-1, keepdim=True)
    slope = (cc * tc).sum(-1, keepdim=True) / (tc * tc).sum()
    ss_res = ((cc - slope * tc) ** 2).sum(-1)
    ss_tot = (cc ** 2).sum(-1)
    r2 = 1 - ss_res / ss_tot
    return torch.where(ss_tot > 1e-12 * c.abs().amax(-1).clamp_min(1) ** 2, r2, torch.full_like(r2, float("nan")))


def sweep_r2(model: nn.Module, x: torch.Tensor, y: torch.Tensor, eps_values: Sequence[float]) -> torch.Tensor:
    """R^2 of a straight line through each logit of each digit along its FGSM direction:
    ``(n, K)``. For a model that returns log-probabilities (RBF) these are its scores."""
    curves = logit_sweep(model, x, fgsm_direction(model, x, y), eps_values)  # (n, e, K)
    return linear_fit_r2(torch.as_tensor(list(eps_values)), curves.transpose(1, 2))
