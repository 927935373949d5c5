"""Section 9: an ensemble of nets, attacked as a whole or through one member."""
from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from .attacks import EPS, PRIMARY, PROTOCOLS, Clip, perturb
from .metrics import error_rate, predict_proba
from .models import Classifier


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
