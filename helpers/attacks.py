"""The fast gradient sign method and the perturbations it is compared with.

All functions take a model that maps images to class scores (see ``helpers.models``) and
return *detached* perturbed batches. ``clip=(0, 1)`` keeps pixels valid, ``clip=None`` does not.

The report measures every FGSM claim under both ``PROTOCOLS``. Its primary is the formula as
the paper prints it, x + eps sign(grad_x J), unclipped: the paper never mentions clipping, and
its footnote 1 argues eps = .25 from MNIST's essentially binary pixels ("ink or no ink"), whose
readers can handle "perturbations within a range of width 0.5", a statement about the size of
the step around each pixel, not about keeping images in [0, 1]. Clipped to [0, 1] (valid
images) is shown beside it everywhere.
"""
from __future__ import annotations

from typing import Optional, Tuple

import torch
from torch import nn

from .models import device_of, mode, model_loss

Clip = Optional[Tuple[float, float]]

EPS = 0.25  # the paper's MNIST budget (pixels in [0, 1])
PRIMARY = "as printed"
PROTOCOLS: dict[str, Clip] = {"as printed": None, "clipped": (0.0, 1.0)}  # the primary first


def _check_eps(eps: float) -> None:
    if not eps >= 0:  # also rejects NaN
        raise ValueError(f"eps must be a non-negative number, got {eps!r}")


def _clip(x: torch.Tensor, clip: Clip) -> torch.Tensor:
    return x if clip is None else x.clamp(*clip)


def input_gradient(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """grad_x J(theta, x, y) in eval mode; the model's mode and parameter grads are left as found."""
    with mode(model, training=False):
        x = x.detach().requires_grad_(True)
        loss = model_loss(model, model(x), y, reduction="sum")
        # autograd.grad touches no parameter's .grad
        (grad,) = torch.autograd.grad(loss, x)
    return grad


def fgsm(model: nn.Module, x: torch.Tensor, y: torch.Tensor, eps: float,
         clip: Clip = PROTOCOLS[PRIMARY]) -> torch.Tensor:
    """x + eps * sign(grad_x J(theta, x, y)), the paper's fast gradient sign method."""
    _check_eps(eps)
    if eps == 0:
        return x.detach().clone()
    return _clip(x.detach() + eps * input_gradient(model, x, y).sign(), clip)


def fgsm_direction(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int = 1000) -> torch.Tensor:
    """sign(grad_x J) for a whole split, in batches, on ``x``'s device. It does not depend on
    eps, so one backward pass serves a whole eps grid: ``clip(x + eps * direction)`` is
    exactly ``fgsm(model, x, y, eps)``."""
    device = device_of(model)
    out = [input_gradient(model, x[i:i + batch_size].to(device), y[i:i + batch_size].to(device)).sign().to(x.device)
           for i in range(0, len(x), batch_size)]
    return torch.cat(out) if out else torch.zeros_like(x)


def random_sign_noise(x: torch.Tensor, eps: float, clip: Clip = PROTOCOLS[PRIMARY],
                      generator: torch.Generator | None = None) -> torch.Tensor:
    """x + eps * s with s uniform on {-1, +1}^n: the same max-norm budget as FGSM, no direction."""
    _check_eps(eps)
    s = torch.randint(0, 2, x.shape, generator=generator, device=x.device).to(x.dtype) * 2 - 1
    return _clip(x.detach() + eps * s, clip)


def uniform_noise(x: torch.Tensor, eps: float, clip: Clip = PROTOCOLS[PRIMARY],
                  generator: torch.Generator | None = None) -> torch.Tensor:
    """x + u with u ~ U(-eps, eps)^n."""
    _check_eps(eps)
    u = torch.rand(x.shape, generator=generator, device=x.device).to(x.dtype) * 2 - 1
    return _clip(x.detach() + eps * u, clip)


def pgd(model: nn.Module, x: torch.Tensor, y: torch.Tensor, eps: float, steps: int = 20,
        step_size: float | None = None, clip: Clip = (0.0, 1.0), random_start: bool = True,
        generator: torch.Generator | None = None) -> torch.Tensor:
    """Iterated FGSM projected onto the same eps max-norm box (Madry et al., 2018).

    Not in the paper: used to check how much of the robustness that FGSM training buys
    holds against a stronger attack inside the same budget.
    """
    _check_eps(eps)
    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    step_size = 2.5 * eps / steps if step_size is None else step_size
    x0 = x.detach()
    adv = uniform_noise(x0, eps, clip, generator) if random_start else x0.clone()
    for _ in range(steps):
        adv = adv + step_size * input_gradient(model, adv, y).sign()
        adv = _clip(torch.max(torch.min(adv, x0 + eps), x0 - eps), clip)
    return adv.detach()


def along(x: torch.Tensor, direction: torch.Tensor, eps: float, clip: Clip = PROTOCOLS[PRIMARY]) -> torch.Tensor:
    """``x + eps * direction`` within ``clip``: with ``fgsm_direction``'s direction, exactly
    ``fgsm`` at that eps, so one backward pass serves every eps and both protocols."""
    return _clip(x + eps * direction, clip)


def pgd_split(model: nn.Module, x: torch.Tensor, y: torch.Tensor, eps: float, steps: int = 20, seed: int = 0,
              batch_size: int = 1000) -> torch.Tensor:
    """``pgd`` over a whole split in batches, on ``x``'s device; the random starts come from
    one generator seeded with ``seed``, so a rerun gives the same examples."""
    device = device_of(model)
    gen = torch.Generator(device=device).manual_seed(seed)
    out = [pgd(model, x[i:i + batch_size].to(device), y[i:i + batch_size].to(device), eps, steps=steps,
               generator=gen).to(x.device) for i in range(0, len(x), batch_size)]
    return torch.cat(out) if out else x.clone()


PERTURBATIONS = {
    "fgsm": lambda model, x, y, eps, clip: fgsm(model, x, y, eps, clip),
    "sign": lambda model, x, y, eps, clip: random_sign_noise(x, eps, clip),
    "uniform": lambda model, x, y, eps, clip: uniform_noise(x, eps, clip),
}


def perturb(kind: str, model: nn.Module, x: torch.Tensor, y: torch.Tensor, eps: float,
            clip: Clip = PROTOCOLS[PRIMARY], batch_size: int = 1000) -> torch.Tensor:
    """Perturb a whole split in batches: ``kind`` is ``fgsm``, ``sign`` or ``uniform``."""
    if kind not in PERTURBATIONS:
        raise ValueError(f"unknown perturbation {kind!r}; choose from {sorted(PERTURBATIONS)}")
    fn = PERTURBATIONS[kind]
    device = device_of(model)
    out = [fn(model, x[i:i + batch_size].to(device), y[i:i + batch_size].to(device), eps, clip).cpu()
           for i in range(0, len(x), batch_size)]
    return torch.cat(out) if out else x.clone()
