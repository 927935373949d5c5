"""Closed forms for linear models under a max-norm attack (sections 4 and 5 of the paper).

For binary logistic regression P(y=1|x) = sigmoid(w.x + b), with y in {-1, +1}, the loss
softplus(-y (w.x + b)) has input gradient -y sigmoid(...) w, so the FGSM perturbation is
eta = -eps y sign(w) for *every* example: FGSM is the exact worst case in the eps box, and
training on it is softplus(-y (w.x + b) + eps ||w||_1) (``helpers.training``'s
``worst_case_linear``). This module holds those closed forms so that the notebook can check
the attack against them, plus the paper's printed formula, which puts y on the penalty too.

Labels follow ``helpers.data.two_class``: 0 (the digit 3) -> y = -1, 1 (the digit 7) -> y = +1.
"""
from __future__ import annotations

import math
from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn

from .attacks import Clip, fgsm, input_gradient
from .models import LogisticRegression, mode
from .training import linear_weights, worst_case_linear_scores

def signed(y: torch.Tensor) -> torch.Tensor:
    """Labels {0, 1} -> {-1., +1.} (the paper's convention for logistic regression)."""
    if y.numel() and not bool(((y == 0) | (y == 1)).all()):
        raise ValueError("binary labels must be 0 or 1")
    return 2.0 * y.float() - 1.0


def _check_logreg(model: nn.Module) -> LogisticRegression:
    # the closed forms hold for the binary model only; softmax needs the per-logit bound
    if not isinstance(model, LogisticRegression):
        raise TypeError(f"closed forms need a LogisticRegression, got {type(model).__name__}")
    return model


@torch.no_grad()
def worst_case_perturbation(model: nn.Module, y: torch.Tensor, eps: float,
                            shape: Optional[tuple] = None) -> torch.Tensor:
    """eta = -eps y sign(w) for each example: N x ``shape`` (default: flat, N x n_inputs)."""
    w = _check_logreg(model).w.detach()
    s = signed(y).to(w.device).view(-1, 1)
    eta = -eps * s * w.sign().view(1, -1)
    return eta.view(len(y), *(shape or (w.numel(),)))


@torch.no_grad()
def worst_case_examples(model: nn.Module, x: torch.Tensor, y: torch.Tensor, eps: float,
                        clip: Clip = None) -> torch.Tensor:
    """x + eta, optionally clipped. With clipping this is still the exact worst case inside
    the box intersected with [0, 1]^n: the loss is separable and monotone in each pixel."""
    adv = x + worst_case_perturbation(model, y, eps, tuple(x.shape[1:])).to(x.device)
    return adv if clip is None else adv.clamp(*clip)


@torch.no_grad()
def worst_case_loss(model: nn.Module, x: torch.Tensor, y: torch.Tensor, eps: float) -> torch.Tensor:
    """Per-example softplus(-y (w.x + b) + eps ||w||_1): the loss at the worst case."""
    m = _check_logreg(model)
    return F.softplus(-signed(y) * m.logit(x) + eps * m.w.abs().sum())


@torch.no_grad()
def printed_loss(model: nn.Module, x: torch.Tensor, y: torch.Tensor, eps: float) -> torch.Tensor:
    """The paper's printed objective softplus(y (eps ||w||_1 - w.x - b)).

    It equals ``worst_case_loss`` for y = +1 but, for y = -1, *subtracts* eps ||w||_1:
    the 'perturbation' then helps the classifier, so it is not a worst case."""
    m = _check_logreg(model)
    return F.softplus(signed(y) * (eps * m.w.abs().sum() - m.logit(x)))


def fgsm_exactness(model: nn.Module, x: torch.Tensor, y: torch.Tensor, eps: float, clip: Clip = None,
                   batch_size: int = 1000) -> dict[str, float]:
    """How often FGSM (autograd, float32) gives exactly the closed-form worst case.

    ``exact``: fraction of examples whose FGSM image equals x - eps y sign(w) (clipped
    alike) pixel for pixel. ``saturated``: fraction whose input gradient is exactly zero,
    which happens in float32 once a correct prediction is so confident that 1 - p rounds to
    0 (margin above ~17 for the positive class): there FGSM leaves the image untouched.
    """
    _check_logreg(model)
    exact = saturated = 0
    for i in range(0, len(x), batch_size):
        xb, yb = x[i:i + batch_size], y[i:i + batch_size]
        got = fgsm(model, xb, yb, eps, clip)
        want = worst_case_examples(model, xb, yb, eps, clip)
        exact += int((got == want).flatten(1).all(1).sum())
        saturated += int((input_gradient(model, xb, yb) == 0).flatten(1).all(1).sum())
    n = max(1, len(x))
    return {"exact": exact / n, "saturated": saturated / n, "n": len(x)}


def l1_norm(model: nn.Module) -> float:
    """||W||_1 of the first linear layer: what eps multiplies in the closed form."""
    return linear_weights(model).detach().abs().sum().item()


@torch.no_grad()
def bound_error(model: nn.Module, x: torch.Tensor, y: torch.Tensor, eps: float, batch_size: int = 2000) -> float:
    """Error that the per-logit worst case claims (each logit moved by eps ||w_k||_1 on its
    own). Exact for logistic regression, an over-estimate for softmax regression, where no
    single perturbation lines up with every class's weights at once."""
    wrong = 0
    with mode(model, training=False):
        for i in range(0, len(x), batch_size):
            xb, yb = x[i:i + batch_size], y[i:i + batch_size]
            wrong += int((worst_case_linear_scores(model, model(xb), yb, eps).argmax(1) != yb).sum())
    return wrong / max(1, len(x))


def direction(base_error: float, new_error: float, n: int, z: float = 2.0) -> str:
    """'benefit' if ``new_error`` is lower than ``base_error`` by more than ``z`` standard
    errors of the difference of two binomial rates on ``n`` examples, 'harm' if higher by as
    much, else 'no benefit'. A deliberately simple test: the claim is about a direction."""
    if n < 1:
        raise ValueError("n must be >= 1")
    for e in (base_error, new_error):
        if not 0 <= e <= 1:
            raise ValueError(f"error rates are fractions in [0, 1], got {e}")
    se = math.sqrt((base_error * (1 - base_error) + new_error * (1 - new_error)) / n)
    margin = z * max(se, 1.0 / n)
    if base_error - new_error > margin:
        return "benefit"
    if new_error - base_error > margin:
        return "harm"
    return "no benefit"
