"""Error rates, confidence on mistakes, eps sweeps and agreement between models."""
from __future__ import annotations

from typing import Iterable, Optional

import torch
from torch import nn

from .attacks import EPS, PRIMARY, PROTOCOLS, along, fgsm_direction, perturb
from .models import device_of, mode, probabilities


@torch.inference_mode()
def predict_proba(model: nn.Module, x: torch.Tensor, batch_size: int = 2000) -> torch.Tensor:
    """Class probabilities (as the model defines them) for a whole split, in eval mode."""
    device = device_of(model)
    with mode(model, training=False):
        out = [probabilities(model, model(x[i:i + batch_size].to(device))).cpu()
               for i in range(0, len(x), batch_size)]
    return torch.cat(out)


def error_rate(pred: torch.Tensor, y: torch.Tensor) -> float:
    """Fraction of ``pred`` (labels, or probabilities to argmax) that differ from ``y`` (on
    ``pred``'s device: ``predict_proba`` returns to the CPU from a model on the GPU)."""
    if pred.dim() == 2:
        pred = pred.argmax(1)
    return (pred != y.to(pred.device)).float().mean().item()


def model_error(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """Error rate of ``model`` on ``(x, y)`` in eval mode."""
    return error_rate(predict_proba(model, x), y)


def confidence_on_mistakes(proba: torch.Tensor, y: torch.Tensor) -> float:
    """Mean probability the model gives its (wrong) predicted class, over misclassified
    examples only, as the paper reports it. NaN when there is no mistake."""
    conf, pred = proba.max(1)
    wrong = pred != y
    return conf[wrong].mean().item() if wrong.any() else float("nan")


def proba_scores(p: torch.Tensor, y: torch.Tensor) -> dict[str, float]:
    """Error and mean confidence (on mistakes, and on everything) from class probabilities."""
    return {"error": error_rate(p, y), "conf_wrong": confidence_on_mistakes(p, y),
            "conf_mean": p.max(1).values.mean().item()}


def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> dict[str, float]:
    """``proba_scores`` of ``model`` on one split."""
    return proba_scores(predict_proba(model, x), y)


def robustness(model: nn.Module, x: torch.Tensor, y: torch.Tensor, eps: float = EPS,
               direction: Optional[torch.Tensor] = None) -> dict[str, float]:
    """Clean error, mean clean confidence, and FGSM error and confidence on its mistakes under
    both protocols, in %: ``adv_err`` / ``adv_conf`` as printed (the primary), and
    ``adv_err_clipped`` / ``adv_conf_clipped`` clipped to [0, 1], from one gradient
    (``direction``: the model's ``fgsm_direction`` on (x, y), where the caller has it)."""
    p = predict_proba(model, x)
    out = {"clean_err": 100 * error_rate(p, y), "clean_conf": 100 * p.max(1).values.mean().item()}
    direction = fgsm_direction(model, x, y) if direction is None else direction
    for name, clip in PROTOCOLS.items():
        pa = predict_proba(model, along(x, direction, eps, clip))
        suffix = "" if name == PRIMARY else "_" + name
        out[f"adv_err{suffix}"] = 100 * error_rate(pa, y)
        out[f"adv_conf{suffix}"] = 100 * confidence_on_mistakes(pa, y)
    return out


def eps_sweep(model: nn.Module, x: torch.Tensor, y: torch.Tensor, eps_grid: Iterable[float],
              kinds: Iterable[str] = ("fgsm",), protocols: Iterable[str] = tuple(PROTOCOLS)) -> list[dict]:
    """Error and confidence on mistakes for each perturbation kind, protocol (``PROTOCOLS``)
    and eps: one row each."""
    rows = []
    for kind in kinds:
        # FGSM's direction does not depend on eps: one backward pass serves the whole grid
        direction = fgsm_direction(model, x, y) if kind == "fgsm" else None
        for protocol in protocols:
            clip = PROTOCOLS[protocol]
            for eps in eps_grid:
                xa = (perturb(kind, model, x, y, float(eps), clip) if direction is None
                      else along(x, direction, float(eps), clip))
                r = evaluate(model, xa, y)
                rows.append({"kind": kind, "protocol": protocol, "eps": float(eps), **r})
    return rows


def agreement(pred_a: torch.Tensor, pred_b: torch.Tensor, mask: torch.Tensor | None = None) -> float:
    """Fraction of examples (within ``mask``) where two models predict the same class."""
    same = pred_a == pred_b
    if mask is not None:
        same = same[mask]
    return same.float().mean().item() if same.numel() else float("nan")
