"""Section 6's transfer pair and section 8's agreement: FGSM examples crafted on every model,
classified by every model, and how often two fooled models pick the same wrong class."""
from __future__ import annotations

from typing import Iterable, Mapping, Optional

import torch
from torch import nn

from .attacks import EPS, PRIMARY, PROTOCOLS, Clip, along, perturb
from .metrics import agreement, error_rate, predict_proba


def predict_labels(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Predicted classes (argmax of the model's probabilities) for a whole split."""
    return predict_proba(model, x).argmax(1)


def transfer_predictions(models: Mapping[str, nn.Module], x: torch.Tensor, y: torch.Tensor,
                         eps: float = EPS, clip: Clip = PROTOCOLS[PRIMARY],
                         sources: Optional[Iterable[str]] = None,
                         directions: Optional[Mapping[str, torch.Tensor]] = None) -> dict[str, dict[str, torch.Tensor]]:
    """``preds[source][target]``: the labels ``target`` gives to FGSM examples crafted on ``source``.

    Every source's examples are crafted once and shown to every model, so the whole
    matrix costs one attack per source (the expensive part) and cheap forward passes;
    ``directions[source]`` (its ``fgsm_direction`` on (x, y)) saves even that.
    """
    preds: dict[str, dict[str, torch.Tensor]] = {}
    for src in (models if sources is None else sources):
        x_adv = (perturb("fgsm", models[src], x, y, eps, clip) if directions is None
                 else along(x, directions[src], eps, clip))
        preds[src] = {tgt: predict_labels(m, x_adv) for tgt, m in models.items()}
    return preds


def error_matrix(preds: Mapping[str, Mapping[str, torch.Tensor]], y: torch.Tensor):
    """Error % of each target (columns) on examples crafted on each source (rows)."""
    import pandas as pd

    rows = {src: {tgt: 100 * error_rate(p, y) for tgt, p in row.items()} for src, row in preds.items()}
    df = pd.DataFrame(rows).T
    df.index.name, df.columns.name = "crafted on", "classified by"
    return df


def same_wrong_class(pred_ref: torch.Tensor, pred_other: torch.Tensor, y: torch.Tensor,
                     both_wrong: bool = False) -> float:
    """Section 8: among examples the reference model gets wrong (and, with ``both_wrong``,
    the other model too), the fraction where the other model picks the *same* class.

    Without ``both_wrong`` the number mixes two things: whether the other model is fooled
    at all, and whether it is fooled the same way; the paper reports both.
    """
    mask = pred_ref != y
    if both_wrong:
        mask &= pred_other != y
    return agreement(pred_ref, pred_other, mask)
