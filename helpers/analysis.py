"""Sections 4 and 7-9 and Appendix A: why adversarial examples exist and generalise.

Reusable pieces of notebook 04:

- ``transfer_predictions`` / ``error_matrix``: FGSM examples crafted on every model, classified
  by every model (section 6's transfer pair and section 8's cross-model generalisation);
- ``same_wrong_class``: section 8's agreement ("of the examples that fool model A, how often
  does model B pick the same wrong class");
- ``Ensemble`` and ``ensemble_attack``: section 9's ensembles, with FGSM on the whole ensemble
  or on one member;
- ``gaussian_rubbish`` / ``rubbish_eval``: Appendix A's N(0, I) "rubbish class" inputs;
- ``logit_sweep`` / ``linear_fit_r2``: figure 4's logits along the FGSM direction and a
  number for "how linear" they are;
- ``cifar_experiment``: section 4's CIFAR-10 conv maxout, which needs the data set
  (``DataUnavailable`` where it cannot be downloaded).

The nets these take are configured in ``helpers.experiments``.
"""
from __future__ import annotations

from types import SimpleNamespace
from typing import Callable, Iterable, Mapping, Optional, Sequence

import torch
from torch import nn

from . import data as D
from . import experiments
from .attacks import EPS, PRIMARY, PROTOCOLS, Clip, fgsm_direction, perturb
from .metrics import agreement, confidence_on_mistakes, error_rate, predict_proba
from .models import Classifier
from .training import train_model

RUBBISH_THRESHOLD = 0.5  # Appendix A: a rubbish input is a mistake when any class gets p > .5


# --------------------------------------------------------------------------- transfer
def predict_labels(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Predicted classes (argmax of the model's probabilities) for a whole split."""
    return predict_proba(model, x).argmax(1)


def transfer_predictions(models: Mapping[str, nn.Module], x: torch.Tensor, y: torch.Tensor,
                         eps: float = EPS, clip: Clip = PROTOCOLS[PRIMARY],
                         sources: Optional[Iterable[str]] = None) -> dict[str, dict[str, torch.Tensor]]:
    """``preds[source][target]``: the labels ``target`` gives to FGSM examples crafted on ``source``.

    Every source's examples are crafted once and shown to every model, so the whole
    matrix costs one attack per source (the expensive part) and cheap forward passes.
    """
    preds: dict[str, dict[str, torch.Tensor]] = {}
    for src in (models if sources is None else sources):
        x_adv = perturb("fgsm", models[src], x, y, eps, clip)
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


# --------------------------------------------------------------------------- ensembles
class Ensemble(Classifier):
    """The average of the members' class probabilities, as one differentiable model.

    ``forward`` returns log of the averaged probabilities: softmax of those scores gives the
    averaged probabilities back (they already sum to one), and cross-entropy on them is
    ``-log mean_m p_m(y|x)``, the ensemble's own loss. So ``helpers.attacks.fgsm`` attacks the
    whole ensemble with no special case.
    """

    output = "softmax"

    def __init__(self, members: Sequence[nn.Module]):
        super().__init__()
        if not members:
            raise ValueError("an ensemble needs at least one member")
        for m in members:
            if getattr(m, "output", "softmax") != "softmax":
                raise ValueError("ensemble members must have softmax outputs (probabilities that sum to 1)")
        self.members = nn.ModuleList(members)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        p = torch.stack([m(x).softmax(1) for m in self.members]).mean(0)
        return p.clamp_min(torch.finfo(p.dtype).tiny).log()


def ensemble_attack(members: Sequence[nn.Module], x: torch.Tensor, y: torch.Tensor, eps: float = EPS,
                    clip: Clip = PROTOCOLS[PRIMARY]) -> dict:
    """Section 9: the ensemble's error when FGSM targets the whole ensemble (``all``) and when it
    targets one member only (``one``, a list: one value per member attacked). Also returns the
    ensemble's and each member's clean error and each member's own (white-box) FGSM error."""
    ens = Ensemble(members).eval()
    out = {"clean": error_rate(predict_proba(ens, x), y),
           "member_clean": [error_rate(predict_proba(m, x), y) for m in members],
           "all": error_rate(predict_proba(ens, perturb("fgsm", ens, x, y, eps, clip)), y),
           "one": [], "member_self": []}
    for m in members:
        x_adv = perturb("fgsm", m, x, y, eps, clip)
        out["one"].append(error_rate(predict_proba(ens, x_adv), y))
        out["member_self"].append(error_rate(predict_proba(m, x_adv), y))
    return out


# --------------------------------------------------------------------------- rubbish
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


# --------------------------------------------------------------------------- figure 4
@torch.inference_mode()
def logit_sweep(model: nn.Module, x: torch.Tensor, direction: torch.Tensor, eps_values: Sequence[float],
                batch_size: int = 4000) -> torch.Tensor:
    """Scores (logits) of ``x + eps * direction`` for every eps, *unclipped* (figure 4 goes
    far outside [0, 1]): a tensor ``(n, len(eps_values), K)``."""
    model.eval()
    eps = torch.as_tensor(list(eps_values), dtype=x.dtype)
    n, e = len(x), len(eps)
    # every (example, eps) pair as one flat batch: (n, e, *shape) -> (n * e, *shape)
    pts = (x.unsqueeze(1) + eps.view(1, e, *[1] * (x.dim() - 1)) * direction.unsqueeze(1)).flatten(0, 1)
    device = next(model.parameters()).device
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


# --------------------------------------------------------------------------- capacity
# --------------------------------------------------------------------------- CIFAR-10
def cifar_test_set(n: Optional[int] = None) -> tuple[torch.Tensor, torch.Tensor]:
    """CIFAR-10 test images standardised with the *training* statistics (what the net saw)."""
    xtr, _ = D.cifar10("train")
    _, mean, std = D.standardize(xtr)
    x, y = D.cifar10("test")
    x, _, _ = D.standardize(x, mean, std)
    return D.subset(x, y, n)


def cifar_experiment(P: SimpleNamespace, n_test: Optional[int] = None, n_rubbish: int = 1000,
                     progress: bool = True, **overrides) -> dict:
    """Train (or load) the conv maxout net; its FGSM error and confidence on mistakes at
    eps = .1 (unclipped: the inputs are standardised, not in [0, 1]) and its error on
    ``n_rubbish`` N(0, I) 3 x 32 x 32 inputs, all in %. Raises ``DataUnavailable`` offline."""
    trained = train_model(experiments.convmaxout_config(P, **overrides), progress=progress)
    x, y = cifar_test_set(n_test)
    model = trained.model
    pa = predict_proba(model, perturb("fgsm", model, x, y, experiments.CIFAR_EPS, clip=None, batch_size=500))
    rub = rubbish_eval(predict_proba(model, gaussian_rubbish(n_rubbish, (3, 32, 32))))
    return {"clean_err": 100 * error_rate(predict_proba(model, x), y), "adv_err": 100 * error_rate(pa, y),
            "adv_conf": 100 * confidence_on_mistakes(pa, y), "rubbish_err": 100 * rub["error"],
            "rubbish_conf": 100 * rub["conf"]}


def try_or_reason(fn: Callable[[], dict]) -> tuple[Optional[dict], Optional[str]]:
    """``(fn(), None)``, or ``(None, reason)`` when the data set cannot be had here."""
    try:
        return fn(), None
    except D.DataUnavailable as e:
        return None, str(e)
