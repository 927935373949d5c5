"""One training loop for every model and objective, with early stopping and a model cache.

Objectives (``TrainConfig.objective``), each mixed with the clean loss by ``alpha``:

- ``clean``:   J(x)
- ``fgsm``:    alpha J(x) + (1 - alpha) J(x + eps sign(grad_x J)), the paper's adversarial
               objective, with the examples regenerated against the current model each step
- ``sign`` / ``uniform``: the same with random +-eps or U(-eps, eps) noise (section 6's controls)
- ``worst_case_linear``: for linear models, the closed-form worst case in the eps max-norm
               box: each logit moved by eps ||w_k||_1 against the label (section 5). For
               binary logistic regression this is exactly softplus(-y (w.x + b) + eps ||w||_1).

``l1`` adds ``l1 * ||W_1||_1`` on the first layer's weights (section 5's weight decay).
``augment_from`` names a trained model whose FGSM examples of the training split are added
to the training set (the seed report's "second approach").
"""
from __future__ import annotations

import contextlib
import copy
import dataclasses
import hashlib
import json
import os
import random
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import torch
from torch import nn
from tqdm.auto import tqdm

from . import data as D
from . import models as M
from . import paths
from .attacks import EPS, PROTOCOLS, Clip, perturb, random_sign_noise, uniform_noise
from .machine import keep_freed_memory
from .metrics import model_error

keep_freed_memory()  # every step frees and reallocates the same large buffers (see machine.py)

CACHE_VERSION = 2  # bump when the loop's maths changes, so stale models are not reused

MODELS = {
    "softmax": M.SoftmaxRegression,
    "logreg": M.LogisticRegression,
    "maxout": M.MaxoutMLP,
    "rbf": M.RBFNetwork,
    "googlenet": M.GoogLeNetMNIST,
    "convmaxout": M.ConvMaxout,
}
OBJECTIVES = ("clean", "fgsm", "sign", "uniform", "worst_case_linear")
RETRAIN_MODES = ("none", "restart", "continue")
# fp32; tf32: fp32 weights and data, matmuls on a GPU's TF32 tensor cores (on a CPU the same as
# fp32); bf16: matmuls in bfloat16 from fp32 weights
PRECISIONS = ("fp32", "tf32", "bf16")
DATASETS = ("mnist", "mnist3v7", "cifar10")


@dataclass
class TrainConfig:
    """Everything that determines a trained model; its hash is the cache key."""

    model: str = "maxout"
    model_args: dict = field(default_factory=dict)
    data: str = "mnist"
    n_train: Optional[int] = None  # subsample the training split (smoke runs)
    n_valid: Optional[int] = None  # subsample the validation split (smoke runs; None = all)
    train_split: str = "train"  # "train": 50k, validation on the other 10k; "train_full": all 60k, no validation
    objective: str = "clean"
    alpha: float = 0.5
    eps: float = EPS
    clip: bool = True  # keep perturbed training inputs in [0, 1]
    l1: float = 0.0
    augment_from: Optional[dict] = None  # a TrainConfig as a dict
    epochs: int = 10
    batch_size: int = 100
    optimizer: str = "sgd"
    lr: float = 0.1
    lr_decay: float = 1.000004  # lr divided by this after every step (the recipe)
    lr_min: float = 1e-6
    lr_schedule: str = "recipe"  # "recipe": divide by lr_decay each step; "linear": anneal to 0 over the run
    momentum: tuple = (0.5, 0.7, 250)  # start, end, epoch at which it reaches the end
    patience: Optional[int] = None  # early stopping: epochs without improvement
    stop_on: str = "clean"  # "clean" or "adversarial" validation error
    monitor_adv: bool = True  # also measure the FGSM validation error each epoch (curves; costs time)
    # after early stopping on the first 50,000, train on all 60,000: "none"; "restart" (a fresh
    # net for the best epoch count, as the adversarial paper words it); "continue" (the recipe's
    # mnist_pi_continued.yaml: from the best net, until the objective on the last 10,000 falls
    # to the level the first 50,000 had at the best epoch)
    retrain: str = "none"
    precision: str = "fp32"  # PRECISIONS; "bf16": training steps in bfloat16 (weights and evaluation stay fp32)
    seed: int = 0

    def __post_init__(self) -> None:
        if self.model not in MODELS:
            raise ValueError(f"unknown model {self.model!r}; choose from {sorted(MODELS)}")
        if self.objective not in OBJECTIVES:
            raise ValueError(f"unknown objective {self.objective!r}; choose from {OBJECTIVES}")
        if self.data not in DATASETS:
            raise ValueError(f"unknown data {self.data!r}; choose from {DATASETS}")
        if self.train_split not in ("train", "train_full"):
            raise ValueError(f"train_split must be 'train' or 'train_full', not {self.train_split!r}")
        if self.retrain not in RETRAIN_MODES:
            raise ValueError(f"retrain must be one of {RETRAIN_MODES}, not {self.retrain!r}")
        if self.train_split == "train_full" and self.retrain != "none":
            raise ValueError(f"retrain={self.retrain!r} needs train_split='train': with 'train_full' nothing is "
                             "held out to choose on")
        if self.stop_on not in ("clean", "adversarial"):
            raise ValueError(f"stop_on must be 'clean' or 'adversarial', not {self.stop_on!r}")
        if self.stop_on == "adversarial" and not self.monitor_adv:
            raise ValueError("stop_on='adversarial' needs monitor_adv=True")
        if self.lr_schedule not in ("recipe", "linear"):
            raise ValueError(f"lr_schedule must be 'recipe' or 'linear', not {self.lr_schedule!r}")
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, not {self.precision!r}")
        if self.optimizer not in ("sgd", "adam"):
            raise ValueError(f"optimizer must be 'sgd' or 'adam', not {self.optimizer!r}")
        if not 0 <= self.alpha <= 1:
            raise ValueError(f"alpha must lie in [0, 1], got {self.alpha}")
        if self.eps < 0 or self.l1 < 0 or self.epochs < 1:
            raise ValueError("eps and l1 must be >= 0 and epochs >= 1")
        self.momentum = tuple(self.momentum)

    def key(self) -> str:
        d = dataclasses.asdict(self)
        del d["monitor_adv"]  # monitoring never changes the weights
        blob = json.dumps({"v": CACHE_VERSION, **d}, sort_keys=True, default=list)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    @property
    def box(self) -> Clip:
        """``clip`` as the attacks' pixel box: [0, 1] (the clipped protocol) or none (as printed)."""
        return PROTOCOLS["clipped"] if self.clip else PROTOCOLS["as printed"]

    def replace(self, **changes: Any) -> "TrainConfig":
        return dataclasses.replace(self, **changes)


@dataclass
class Trained:
    model: nn.Module
    history: list
    config: TrainConfig
    seconds: float = 0.0
    cached: bool = False


def default_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def native_bf16(device: torch.device) -> bool:
    """Whether bfloat16 matmuls run natively here; a CPU without AVX512-BF16 or AMX emulates
    them, and ``precision="bf16"`` may then be slower than fp32."""
    if device.type != "cpu":
        return True
    return any(getattr(torch.cpu, f, lambda: True)() for f in ("_is_avx512_bf16_supported", "_is_amx_tile_supported"))


def seed_everything(seed: int) -> None:
    random.seed(seed)
    torch.manual_seed(seed)


def build_model(config: TrainConfig) -> nn.Module:
    return MODELS[config.model](**config.model_args)


def datasets(config: TrainConfig) -> tuple[tuple, Optional[tuple], tuple]:
    """(train, valid, train_full) tensors for ``config.data``; with ``train_split="train_full"``
    the training set is all of ``train_full`` and valid is None (nothing held out)."""
    if config.data == "cifar10":
        x, y = D.cifar10("train")
        x, _, _ = D.standardize(x)
        # last 5,000 of 50,000 for validation; a tenth of a small synthetic set in tests
        n_val = min(5000, len(x) // 10)
        train, valid, full = (x[:-n_val], y[:-n_val]), (x[-n_val:], y[-n_val:]), (x, y)
    else:
        split = (lambda s: D.two_class(*D.mnist(s))) if config.data == "mnist3v7" else D.mnist
        train, valid, full = split("train"), split("valid"), split("train_full")
    train = D.subset(*train, config.n_train, seed=config.seed)
    if valid is not None:
        valid = D.subset(*valid, config.n_valid, seed=config.seed)
    full = D.subset(*full, config.n_train, seed=config.seed)
    if config.train_split == "train_full":
        return full, None, full
    return train, valid, full


def linear_weights(model: nn.Module) -> torch.Tensor:
    """The first layer's weight matrix (rows = units): what L1 penalises and FGSM exploits."""
    for m in model.modules():
        if isinstance(m, nn.Linear):
            return m.weight
    raise TypeError(f"{type(model).__name__} has no nn.Linear layer")


def worst_case_linear_scores(model: nn.Module, scores: torch.Tensor, y: torch.Tensor, eps: float) -> torch.Tensor:
    """Scores under the worst eps max-norm perturbation of a linear model, each logit alone.

    Logit k moves by up to eps ||w_k||_1; the true class down and every other class up.
    Exact for two classes (LogisticRegression); an upper bound (pessimistic) for softmax.
    """
    if isinstance(model, M.LogisticRegression):
        shift = eps * model.w.abs().sum()
        sign = torch.where(y == 1, -1.0, 1.0).to(scores.dtype)
        return torch.stack([scores[:, 0], scores[:, 1] + sign * shift], 1)
    w = linear_weights(model)
    shift = eps * w.abs().sum(1)  # (K,)
    sign = 1.0 - 2.0 * torch.nn.functional.one_hot(y, scores.shape[1]).to(scores.dtype)
    return scores + sign * shift


def adversarial_loss(model: nn.Module, x: torch.Tensor, y: torch.Tensor, objective: str = "fgsm",
                     alpha: float = 0.5, eps: float = EPS, clip: Clip = PROTOCOLS["clipped"],
                     generator: Optional[torch.Generator] = None) -> torch.Tensor:
    """The training objective alpha J(x) + (1 - alpha) J(x~) in the model's current mode.

    For ``fgsm`` the gradient that builds x~ comes from the same forward pass (same
    dropout mask) as the clean term: it is the gradient of the cost being trained, and it
    saves a forward pass.
    """
    if objective == "fgsm" and eps > 0:
        x = x.detach().requires_grad_(True)
    scores = model(x)
    clean = M.model_loss(model, scores, y)
    if objective == "clean" or alpha == 1:
        return clean
    if objective == "fgsm":
        if eps == 0:
            return clean
        (g,) = torch.autograd.grad(clean * len(x), x, retain_graph=True)
        x_adv = x.detach() + eps * g.sign()
        x_adv = x_adv if clip is None else x_adv.clamp(*clip)
        other = M.model_loss(model, model(x_adv), y)
    elif objective == "sign":
        other = M.model_loss(model, model(random_sign_noise(x, eps, clip, generator)), y)
    elif objective == "uniform":
        other = M.model_loss(model, model(uniform_noise(x, eps, clip, generator)), y)
    elif objective == "worst_case_linear":
        other = M.model_loss(model, worst_case_linear_scores(model, scores, y, eps), y)
    else:
        raise ValueError(f"unknown objective {objective!r}")
    return alpha * clean + (1 - alpha) * other


def train_step(model: nn.Module, opt: torch.optim.Optimizer, x: torch.Tensor, y: torch.Tensor,
               config: TrainConfig, params: list, w1: Optional[torch.Tensor] = None,
               generator: Optional[torch.Generator] = None) -> float:
    """One optimiser step on ``config``'s objective (+ L1), then the max-norm constraint.

    One backward pass over the whole objective. (Differentiating the clean term once for both
    its weight and input gradients saves a backward pass but, measured, is no faster under
    bf16 autocast: the two terms' weight gradients are then cast and summed in fp32.)
    """
    with torch.autocast(x.device.type, dtype=torch.bfloat16, enabled=config.precision == "bf16"):
        loss = adversarial_loss(model, x, y, config.objective, config.alpha, config.eps, config.box, generator)
    if w1 is not None:
        loss = loss + config.l1 * w1.abs().sum()
    opt.zero_grad(set_to_none=True)
    # inputs=params: the FGSM input x is a leaf that needs no second gradient
    loss.backward(inputs=params)
    opt.step()
    M.apply_constraints(model)  # max-norm after every step, as the recipe
    return loss.item()


def schedule(config: TrainConfig, step: int, epoch: int, total_steps: int) -> tuple[float, float]:
    """(learning rate, momentum) of a step taken after ``step`` steps, in epoch ``epoch`` (from 1).

    Rate: ``recipe``, SGD's rate divided by ``lr_decay`` each step, floored at ``lr_min``
    (pylearn2's ExponentialDecay; Adam's stays put); ``linear``, ``config.lr`` annealed to 0
    at ``total_steps``. Momentum: from ``momentum[0]`` in epoch 1 to ``momentum[1]`` in epoch
    ``momentum[2]``, linearly (pylearn2's MomentumAdjustor).
    """
    m0, m1, saturate = config.momentum
    momentum = m0 + (m1 - m0) * min(1.0, (epoch - 1) / max(1, saturate - 1))
    if config.lr_schedule == "linear":
        return config.lr * max(0.0, 1 - step / total_steps), momentum
    if config.optimizer == "sgd" and config.lr_decay != 1:
        return max(config.lr_min, config.lr / config.lr_decay ** step), momentum
    return config.lr, momentum


@dataclass
class Start:
    """Where a continuation starts (the recipe's ``mnist_pi_continued.yaml``): the first run's
    best weights, the rate and momentum it had reached at its best epoch, a zero velocity."""

    state: dict
    lr: float
    momentum: float


def continuation_start(config: TrainConfig, history: list, best_epoch: int) -> tuple[float, float]:
    """(rate, momentum) of the best epoch: the rate after its last step, the momentum it used."""
    row = history[best_epoch - 1]
    return schedule(config, row["steps"], best_epoch, row["total_steps"])[0], row["momentum"]


def match_reached(objective: float, target: float) -> bool:
    """pylearn2's MatchChannel: stop once the monitored objective is no longer above the target."""
    return not objective > target


def dropout_objective(model: nn.Module, x: torch.Tensor, y: torch.Tensor, config: TrainConfig,
                      generator: Optional[torch.Generator] = None, batch_size: int = 1000) -> float:
    """``config``'s training objective (adversarial for ``fgsm``) on (x, y) in training mode,
    dropout on, no step: the ``objective`` channel pylearn2 monitors. Restores the model's mode."""
    total = 0.0
    with M.mode(model, training=True):
        for i in range(0, len(x), batch_size):
            xb, yb = x[i:i + batch_size], y[i:i + batch_size]
            with torch.autocast(xb.device.type, dtype=torch.bfloat16, enabled=config.precision == "bf16"):
                loss = adversarial_loss(model, xb, yb, config.objective, config.alpha, config.eps, config.box,
                                        generator)
            total += loss.item() * len(xb)
    return total / len(x)


def _fit(config: TrainConfig, train: tuple, valid: Optional[tuple], epochs: int, device: torch.device,
         desc: str, progress: bool, start: Optional[Start] = None,
         match: Optional[tuple] = None) -> tuple[nn.Module, list, int]:
    """Train for up to ``epochs``; returns (best model, history, best epoch).

    A fresh net, or with ``start`` the recipe's continuation: those weights, that rate still
    divided by ``lr_decay`` each step, that momentum held fixed, a new (zero) velocity.
    ``match = (x, y, target)`` stops once the dropout-mode objective on (x, y) falls to
    ``target`` (checked after each epoch, as pylearn2 monitors).
    """
    if config.precision == "bf16" and not native_bf16(device):
        warnings.warn("this CPU has no bfloat16 instructions: bf16 training may be slower than fp32 "
                      "(set the profile's maxout precision to 'fp32' in helpers/profiles.py)", stacklevel=2)
    with matmul_precision(config.precision):
        return _fit_steps(config, train, valid, epochs, device, desc, progress, start, match)


@contextlib.contextmanager
def matmul_precision(precision: str):
    """TF32 matmuls (``torch.set_float32_matmul_precision("high")``) while training a ``tf32``
    config; the previous setting is restored."""
    before = torch.get_float32_matmul_precision()
    torch.set_float32_matmul_precision("high" if precision == "tf32" else before)
    try:
        yield
    finally:
        torch.set_float32_matmul_precision(before)


# Momentum lets the velocity of a weight whose gradient is zero (MNIST's border pixels, dropped
# units) decay geometrically through the denormal range, and x86 CPUs handle denormals in
# microcode: a 240-unit population's step (helpers.population) ran about twice as slow with the
# velocities of a long run as with them zeroed, and torch.set_flush_denormal does not reach the
# worker threads. So every FLUSH_EVERY steps the velocities below TINY are set to zero: at
# momentum <= .7 an entry needs more than 50 steps to fall from TINY to the denormal range, and
# lr * TINY is far below the resolution of any weight, so the weights are the same as without
# the flush (tests).
FLUSH_EVERY = 16
TINY = 1e-30


def flush_tiny(tensors: list[torch.Tensor]) -> None:
    """Set the entries of ``tensors`` smaller than ``TINY`` in magnitude to zero, in place."""
    for t in tensors:
        t.masked_fill_(t.abs() < TINY, 0.0)


def _fit_steps(config: TrainConfig, train: tuple, valid: Optional[tuple], epochs: int, device: torch.device,
               desc: str, progress: bool, start: Optional[Start], match: Optional[tuple]) -> tuple[nn.Module, list, int]:
    seed_everything(config.seed)
    model = build_model(config)
    if start is not None:
        model.load_state_dict(start.state)
    elif isinstance(model, M.RBFNetwork):
        model.init_centres(*train)
    model.to(device)
    x, y = (t.to(device) for t in train)
    if valid is not None:
        xv, yv = (t.to(device) for t in valid)
    params = list(model.parameters())
    if config.optimizer == "sgd":
        opt = torch.optim.SGD(params, lr=config.lr, momentum=config.momentum[0])
    else:
        opt = torch.optim.Adam(params, lr=config.lr)
    gen = torch.Generator().manual_seed(config.seed)
    noise_gen = torch.Generator(device=device).manual_seed(config.seed + 1)
    w1 = linear_weights(model) if config.l1 > 0 else None
    monitor_adv = config.monitor_adv and valid is not None and config.eps > 0 and config.data != "cifar10"
    history: list = []
    best, best_epoch, best_state = float("inf"), 0, None
    steps_per_epoch = -(-len(x) // config.batch_size)
    total_steps, step = epochs * steps_per_epoch, 0
    bar = tqdm(range(1, epochs + 1), desc=desc, disable=not progress, leave=False)
    for epoch in bar:
        model.train()
        perm = torch.randperm(len(x), generator=gen).to(device)
        total, t0, curve = 0.0, time.perf_counter(), []
        for i in range(0, len(x), config.batch_size):
            if start is None:
                lr, momentum = schedule(config, step, epoch, total_steps)
            else:
                lr, momentum = max(config.lr_min, start.lr / config.lr_decay ** step), start.momentum
            for gr in opt.param_groups:
                gr["lr"] = lr
                if config.optimizer == "sgd":
                    gr["momentum"] = momentum
            idx = perm[i:i + config.batch_size]
            loss = train_step(model, opt, x[idx], y[idx], config, params, w1, noise_gen)
            step += 1
            if config.optimizer == "sgd" and step % FLUSH_EVERY == 0:
                flush_tiny([s["momentum_buffer"] for s in opt.state.values() if s.get("momentum_buffer") is not None])
            total += loss * len(idx)
            curve.append(loss)
        # the loss within the epoch, in blocks of 50 steps: a curve even for one-epoch runs
        blocks = [curve[i:i + 50] for i in range(0, len(curve), 50)]
        row = {"epoch": epoch, "train_loss": total / len(x), "seconds": time.perf_counter() - t0,
               "loss_curve": [sum(b) / len(b) for b in blocks], "steps": step, "total_steps": total_steps,
               "momentum": momentum}
        if valid is not None:
            row["valid_error"] = model_error(model, xv, yv)
            if monitor_adv:
                x_adv = perturb("fgsm", model, xv, yv, config.eps, config.box, batch_size=2000)
                row["valid_adv_error"] = model_error(model, x_adv, yv)
            score = row["valid_adv_error"] if config.stop_on == "adversarial" else row["valid_error"]
            if score < best:
                best, best_epoch, best_state = score, epoch, copy.deepcopy(model.state_dict())
            bar.set_postfix(valid=f"{row['valid_error']:.4f}", best=best_epoch)
        if match is not None:
            row["match_objective"] = dropout_objective(model, match[0].to(device), match[1].to(device), config,
                                                       noise_gen)
            row["target_objective"] = match[2]
            bar.set_postfix(objective=f"{row['match_objective']:.4f}", target=f"{match[2]:.4f}")
        history.append(row)
        if config.patience is not None and valid is not None and epoch - best_epoch >= config.patience:
            break
        if match is not None and match_reached(row["match_objective"], match[2]):
            break
    if best_state is not None:
        model.load_state_dict(best_state)
    else:
        best_epoch = len(history)
    return model, history, best_epoch


def _augmented(config: TrainConfig, train: tuple, progress: bool) -> tuple:
    """Training set plus FGSM examples of it crafted on the model ``augment_from`` names."""
    source = train_model(TrainConfig(**config.augment_from), progress=progress).model
    x, y = train
    x_adv = perturb("fgsm", source, x, y, config.eps, config.box)
    return torch.cat([x, x_adv]), torch.cat([y, y])


def cache_path(config: TrainConfig) -> os.PathLike:
    return paths.CACHE_DIR / "models" / f"{config.model}-{config.key()}.pt"


def load_cached(config: TrainConfig, path: Path, device: torch.device) -> Optional[Trained]:
    """The cached net, or None (with a warning naming the file) if the file does not load."""
    try:
        blob = torch.load(path, map_location=device, weights_only=True)
        model = build_model(config).to(device)
        model.load_state_dict(blob["state_dict"])
    except Exception as e:  # truncated, overwritten or foreign: train again rather than stop the report
        warnings.warn(f"the cached model {paths.shown(path)} does not load ({type(e).__name__}); "
                      "training it again and replacing the file", stacklevel=3)
        return None
    model.eval()
    return Trained(model, blob["history"], config, blob["seconds"], cached=True)


def _retrain(config: TrainConfig, first: Trained, device: torch.device, progress: bool) -> tuple[nn.Module, list]:
    """The second phase on all 60,000 after ``first``, the early-stopped run on the first 50,000."""
    train, valid, full = datasets(config)
    if config.augment_from is not None:
        full = _augmented(config, full, progress)
    best_epoch = first.history[-1]["best_epoch"]
    desc = f"{config.model} {config.objective} seed {config.seed}"
    if config.retrain == "restart":  # a fresh net for the chosen number of epochs
        model, more, _ = _fit(config, full, None, best_epoch, device, desc + " (restart on 60k)", progress)
        return model, more
    lr, momentum = continuation_start(config, first.history, best_epoch)
    state = copy.deepcopy(first.model.state_dict())
    # the level to match: the objective on the first 50,000, measured on the best weights
    target = dropout_objective(first.model, *(t.to(device) for t in train), config,
                               torch.Generator(device=device).manual_seed(config.seed + 2))
    model, more, _ = _fit(config, full, None, config.epochs, device, desc + " (continue on 60k)", progress,
                          start=Start(state, lr, momentum), match=(*valid, target))
    return model, more


def train_model(config: TrainConfig, cache: bool = True, progress: bool = True,
                device: Optional[torch.device] = None) -> Trained:
    """Train ``config`` (or load it from the cache, keyed by its full configuration).

    With ``retrain`` set, the first phase (early stopping on the first 50,000) is itself a
    cached net, so a restart and a continuation of the same run share it.
    """
    device = device or default_device()
    path = cache_path(config)
    if cache and path.exists():
        loaded = load_cached(config, path, device)
        if loaded is not None:
            return loaded
    t0 = time.perf_counter()
    if config.retrain != "none":
        first = train_model(config.replace(retrain="none"), cache, progress, device)
        model, more = _retrain(config, first, device, progress)
        best_epoch = first.history[-1]["best_epoch"]
        history = [dict(r) for r in first.history] + [{**r, "phase": "retrain"} for r in more]
        seconds = first.seconds + time.perf_counter() - t0
    else:
        train, valid, _ = datasets(config)
        if config.augment_from is not None:
            train = _augmented(config, train, progress)
        desc = f"{config.model} {config.objective} seed {config.seed}"
        model, history, best_epoch = _fit(config, train, valid, config.epochs, device, desc, progress)
        seconds = time.perf_counter() - t0
    for r in history:
        r["best_epoch"] = best_epoch
    model.eval()
    trained = Trained(model, history, config, seconds, cached=False)
    if cache:
        save_trained(trained)
    return trained


def save_trained(trained: Trained) -> None:
    """Write a trained net to its cache file, atomically (a temporary file, then a rename)."""
    path = cache_path(trained.config)
    tmp = paths.atomic_path(path)
    try:
        torch.save({"state_dict": trained.model.state_dict(), "history": trained.history, "seconds": trained.seconds,
                    "config": json.dumps(dataclasses.asdict(trained.config), default=list)}, tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)  # only left behind if saving failed
