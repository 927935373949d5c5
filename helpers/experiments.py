"""The trained models of the report, as configurations built from a profile.

Notebooks ask for a model by what it is (``maxout(P, "fgsm", seed=1)``) and get the same
``TrainConfig`` wherever they ask, so notebook 04 reuses notebook 03's nets from the cache.
"""
from __future__ import annotations

import dataclasses
from types import SimpleNamespace
from typing import Optional

from .attacks import EPS, PRIMARY, PROTOCOLS  # noqa: F401  (EPS: the notebooks' experiments.EPS)
from .training import TrainConfig, Trained, train_model

CIFAR_EPS = 0.1  # section 4: eps on preprocessed CIFAR-10

ALPHA = 0.5  # the paper's weight of the clean term


def maxout(P: SimpleNamespace, objective: str = "clean", seed: int = 0, units: Optional[int] = None,
           **overrides) -> TrainConfig:
    """The recipe's maxout MLP (units x 5 pieces, two layers, dropout .2/.5, max-norm, SGD; the
    profile sets the schedule). ``objective``: ``clean`` (baseline), ``fgsm`` (the paper's
    adversarial objective; early-stops on adversarial validation error), ``sign`` / ``uniform``
    (noise). The perturbed inputs of the objective follow the primary attack protocol
    (``attacks.PRIMARY``: as printed, not clipped) unless ``clip=True`` asks for the other."""
    m = P.maxout
    args = {"units": units or m.units, "pieces": m.pieces}
    args.update(overrides.pop("model_args", {}))
    fields = dict(
        model="maxout", model_args=args, n_train=m.n_train, objective=objective, alpha=ALPHA, eps=EPS,
        epochs=m.adv_epochs if objective == "fgsm" else m.epochs, patience=m.patience,
        lr=m.lr, momentum=tuple(m.momentum), lr_schedule=m.lr_schedule, precision=m.precision,
        stop_on="adversarial" if objective == "fgsm" else "clean", retrain=m.retrain,
        train_split=m.train_split, seed=seed,
    )
    if objective != "clean":  # a clean net perturbs nothing: its configuration (and cache key) has no protocol
        fields["clip"] = PROTOCOLS[PRIMARY] is not None
    fields.update(overrides)  # e.g. epochs= for notebook 04's short capacity and ensemble nets
    return TrainConfig(**fields)


def softmax(P: SimpleNamespace, objective: str = "clean", seed: int = 0, **overrides) -> TrainConfig:
    """Shallow softmax regression on the ten digits."""
    lin = P.linear
    return TrainConfig(model="softmax", n_train=lin.n_train, objective=objective, alpha=ALPHA, eps=EPS,
                       epochs=lin.softmax_epochs, lr=0.05, lr_decay=1.0, momentum=(0.9, 0.9, 1),
                       seed=seed, **overrides)


def logreg37(P: SimpleNamespace, objective: str = "clean", eps: float = EPS, l1: float = 0.0, seed: int = 0,
             **overrides) -> TrainConfig:
    """Binary logistic regression, 3 (label 0) vs 7 (label 1). The paper's adversarial
    version trains on the worst case alone (``alpha = 0``), in closed form."""
    lin = P.linear
    return TrainConfig(model="logreg", data="mnist3v7", n_train=lin.n_train, objective=objective,
                       alpha=0.0 if objective == "worst_case_linear" else ALPHA, eps=eps, l1=l1,
                       epochs=lin.epochs, lr=0.05, lr_decay=1.0, momentum=(0.9, 0.9, 1), clip=False,
                       seed=seed, **overrides)


def rbf(P: SimpleNamespace, seed: int = 0, **overrides) -> TrainConfig:
    """The shallow RBF network of section 7 (centres start at the class means)."""
    return TrainConfig(model="rbf", n_train=P.maxout.n_train, epochs=P.capacity.rbf_epochs, optimizer="adam",
                       lr=0.01, eps=EPS, seed=seed, **overrides)


def googlenet(P: SimpleNamespace, seed: int = 0, **overrides) -> TrainConfig:
    """torchvision's GoogLeNet architecture trained from scratch on MNIST."""
    g = P.googlenet
    return TrainConfig(model="googlenet", model_args={"size": g.size}, n_train=g.n_train, epochs=g.epochs,
                       batch_size=g.batch_size, optimizer="adam", lr=g.lr, lr_schedule=g.lr_schedule, eps=EPS,
                       seed=seed, n_valid=getattr(g, "n_valid", None), **overrides)


# --- section 5's linear models

SWEEP_LR = 1e-3  # Adam step for the section-5 sweep (see logreg37_sweep)


def logreg37_sweep(P: SimpleNamespace, eps: float = 0.0, l1: float = 0.0) -> TrainConfig:
    """The 3-vs-7 logistic regression of the section-5 sweep: adversarial (closed form) when
    ``eps > 0``, else clean with L1 weight decay ``l1``.

    Why Adam instead of the canonical SGD (lr .05, momentum .9): both penalties push every
    weight by a constant amount (eps or l1 times sign w), which with that step makes the
    weights rattle around zero from epoch to epoch; Adam's small steps let them settle.
    Adversarial models keep the epoch with the best *adversarial* validation error (at their
    own eps), as the paper does for its adversarially trained nets.
    """
    if eps < 0 or l1 < 0:
        raise ValueError("eps and l1 must be >= 0")
    if eps > 0:
        cfg = logreg37(P, "worst_case_linear", eps=eps, l1=l1)
        return cfg.replace(optimizer="adam", lr=SWEEP_LR, stop_on="adversarial")
    return logreg37(P, "clean", l1=l1).replace(optimizer="adam", lr=SWEEP_LR)


def softmax_l1_like(P: SimpleNamespace, eps: float) -> TrainConfig:
    """Softmax regression trained on alpha J(x) + (1 - alpha) J(per-logit worst case), the
    multiclass 'L1-like' penalty of section 5 (alpha .5, the paper's weight)."""
    return softmax(P, "worst_case_linear").replace(eps=eps)


def softmax_mix(P: SimpleNamespace, eps: float) -> TrainConfig:
    """Softmax regression retrained on the training split plus its FGSM examples (eps,
    clipped) crafted once on the plain softmax model: a fixed 1:1 mix of clean and
    adversarial examples, the seed report's second approach."""
    source = dataclasses.asdict(softmax(P, "clean"))
    return softmax(P, "clean").replace(eps=eps, augment_from=source)


# --- notebook 04's short-schedule maxout nets, and section 4's CIFAR-10 net

# The recipe's +-.005 initialisation makes every net crawl for its first epochs (a 20-unit net
# is still at ~60% validation error after two epochs; deep narrow nets longer). The capacity
# sweep and the ensemble get short schedules at the laptop profile, so they start from
# +-.05 instead: a 240-unit net then reaches ~4% validation error after one epoch. Both keep
# the 50,000-example split whatever the profile's maxout split (notebook 04's budget).
FAST_INIT = 0.05


def capacity_config(P: SimpleNamespace, units: int, depth: int, seed: int = 0) -> TrainConfig:
    """A clean maxout net of ``depth`` maxout layers of ``units`` units (5 pieces), trained
    for ``P.capacity.epochs``. No hidden dropout: dropout .5 on a handful of units cripples
    the narrow nets in a short schedule, and this sweep asks what *capacity* buys, not
    what dropout does (inputs keep the recipe's .2)."""
    if units < 1 or depth < 1:
        raise ValueError("units and depth must be >= 1")
    args = {"layers": depth, "init_range": FAST_INIT, "dropout_hidden": 0.0}
    return maxout(P, "clean", seed=seed, units=units, epochs=P.capacity.epochs, model_args=args,
                              monitor_adv=False, train_split="train")


def ensemble_config(P: SimpleNamespace, seed: int) -> TrainConfig:
    """Ensemble member ``seed``: the recipe's maxout net (dropout included) with
    ``P.capacity.ensemble_units`` units, ``P.capacity.ensemble_epochs`` epochs, ``FAST_INIT``."""
    c = P.capacity
    return maxout(P, "clean", seed=seed, units=c.ensemble_units, epochs=c.ensemble_epochs,
                              model_args={"init_range": FAST_INIT}, monitor_adv=False, train_split="train")


def convmaxout_config(P: SimpleNamespace, seed: int = 0, **overrides) -> TrainConfig:
    """Section 4's convolutional maxout net on (standardised) CIFAR-10."""
    args = dict(model="convmaxout", data="cifar10", epochs=P.capacity.cifar_epochs, optimizer="adam",
                lr=1e-3, batch_size=128, eps=CIFAR_EPS, clip=False, seed=seed)
    args.update(overrides)
    return TrainConfig(**args)


def _say(t: Trained, how: str) -> None:
    c = t.config
    print(f"{c.model} {c.objective} seed {c.seed}: {how} ({len(t.history)} epochs, {t.seconds:.0f} s to train)")


def train(config: TrainConfig, progress: bool = True) -> Trained:
    """Train (or load from the cache) and say which, with the time it took."""
    t = train_model(config, progress=progress)
    _say(t, "loaded from cache" if t.cached else "trained")
    return t


def train_many(configs: list[TrainConfig], progress: bool = True, deadline: Optional[float] = None) -> list[Trained]:
    """Train (or load) several nets: maxout nets of one architecture and schedule as populations
    (``population.train_population``: one batched step for all members), the rest one by one.
    Nets without a second term (clean) and with one (adversarial, noise) train in separate
    populations, so that the clean members do not pay for a second pass they do not use."""
    from . import population

    out: dict[int, Trained] = {}
    groups: dict[tuple, list[int]] = {}
    for i, c in enumerate(configs):
        if c.model == "maxout":
            try:
                population.check_population([c])
            except ValueError:
                continue
            arch = population.architecture_key(c)
            groups.setdefault((arch, c.n_train, c.n_valid, c.train_split, c.batch_size, c.precision,
                               c.objective == "clean"), []).append(i)
    for members in groups.values():
        for i, t in zip(members, population.train_population([configs[i] for i in members], progress=progress,
                                                                  deadline=deadline)):
            out[i] = t
            _say(t, "loaded from cache" if t.cached else f"trained in a population of {len(members)}")
    return [out[i] if i in out else train(c, progress) for i, c in enumerate(configs)]
