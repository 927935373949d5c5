"""Section 4's convolutional maxout net on CIFAR-10, which needs the data set
(``DataUnavailable`` where it cannot be downloaded): its FGSM error and its rubbish inputs."""
from __future__ import annotations

from types import SimpleNamespace
from typing import Callable, Optional

import torch

from . import data as D
from . import experiments
from .attacks import perturb
from .metrics import confidence_on_mistakes, error_rate, predict_proba
from .rubbish import gaussian_rubbish, rubbish_eval
from .training import train_model


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
