"""The trained models of the report, as configurations built from a profile.

Notebooks ask for a model by what it is (``maxout(P, "fgsm", seed=1)``) and get the same
``TrainConfig`` wherever they ask, so notebook 04 reuses notebook 03's nets from the cache.
"""
from __future__ import annotations

from types import SimpleNamespace
from typing import Optional

from .attacks import EPS, PRIMARY, PROTOCOLS  # noqa: F401  (EPS: the notebooks' experiments.EPS)
from .training import TrainConfig, Trained, train_model

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
