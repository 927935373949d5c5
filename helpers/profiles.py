"""The three run sizes, defined once: ``smoke`` (tests, CI), ``default`` (a laptop CPU),
``paper`` (the paper's settings, for a GPU). Every size that matters lives here.

A notebook's papermill parameter ``profile`` picks one; the environment variable
``REPRO_PROFILE`` overrides it (that is how ``make test`` runs the notebooks at ``smoke``).
"""
from __future__ import annotations

import copy
import os
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from . import paths

EPS_GRID = [0.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5]

_DEFAULT: dict[str, Any] = {
    "description": "laptop CPU: 240-unit nets, short schedules, full MNIST test set",
    "n_test": None,  # None = all 10,000 test images
    "eps_grid": EPS_GRID,
    # one epoch of Adam annealed linearly to 0: 99.0% test accuracy in ~3.5 min on 2 cores
    # (three epochs at a constant 1e-3 gave 97.4%: the last steps need a small rate)
    "googlenet": {"n_train": None, "epochs": 1, "batch_size": 128, "lr": 2e-3, "lr_schedule": "linear",
                  "size": 28, "n_valid": 5000, "n_eval": 1000},
    "linear": {"epochs": 20, "n_train": None, "eps_train": [0.0, 0.05, 0.1, 0.25, 0.5],
               "l1": [1e-3, 1e-2, 3e-2, 1e-1], "softmax_epochs": 20,
               "maxout_l1": [0.0025, 1e-5], "maxout_l1_epochs": 3},
    # 20 epochs of a short run's schedule (the paper: hundreds with the recipe's): momentum .9
    # and the rate annealed linearly to 0, because the recipe's lr .1 and momentum .5 -> .7 are
    # made for hundreds of epochs and leave a net still learning after twenty. The recipe's
    # init, dropout (inputs kept with p .8, not rescaled), max-norm and batch are kept. The
    # epoch count is fixed here, so there is nothing to early-stop on: the reported nets train
    # on all 60,000 examples, as the paper's final nets do, and notebook 03 draws its validation
    # curves from extra seed-0 runs on the first 50,000. Training in bfloat16 (weights, updates
    # and every evaluation stay fp32) was 1.4-1.8x faster than fp32 on the AMD Zen 5 machine
    # (about the same on the Intel Xeon with AMX; make bench) and gave the same nets as fp32
    # within seed noise (notebook 03).
    "maxout": {"units": 240, "pieces": 5, "epochs": 20, "adv_epochs": 20, "augment_epochs": 10,
               "lr": 0.05, "momentum": [0.9, 0.9, 1], "lr_schedule": "linear", "precision": "bf16",
               "patience": None, "retrain": "none", "train_split": "train_full",
               "seeds": [0, 1], "noise_seeds": [0], "n_train": None,
               "large_units": None, "large_seeds": [], "pgd_steps": 20},
    # notebook 04's budget (~8 min on 2 cores with notebook 03's nets cached) sets epochs,
    # ensemble and ensemble_epochs at this profile
    "capacity": {"units": [5, 20, 80, 240], "depths": [1, 2, 3], "epochs": 2, "ensemble": 4,
                 "ensemble_epochs": 2, "ensemble_units": 240, "rbf_epochs": 10, "n_rubbish": 10_000,
                 "n_fig4": 200, "cifar_epochs": 10},
}

_PAPER = copy.deepcopy(_DEFAULT)
_PAPER.update(
    description="the paper's protocol: the recipe, 240 and 1600 units, patience 100, then the recipe's continuation "
                "on 60k, 5 seeds (make paper; a GPU for the 1600-unit nets)",
    googlenet={"n_train": None, "epochs": 10, "batch_size": 128, "lr": 2e-3, "lr_schedule": "linear", "size": 28,
               "n_valid": None, "n_eval": None},
)
_PAPER["linear"].update(epochs=100, softmax_epochs=100, maxout_l1=[0.0025, 1e-4, 1e-5], maxout_l1_epochs=30)
# epochs=1000 is ours, not the recipe's (which stops on patience alone): it bounds a net that
# keeps setting new bests
_PAPER["maxout"].update(lr=0.1, momentum=[0.5, 0.7, 250], lr_schedule="recipe", precision="fp32",  # the recipe's
                        epochs=1000, adv_epochs=1000, augment_epochs=1000, patience=100, retrain="continue",
                        train_split="train",
                        seeds=[0, 1, 2, 3, 4], noise_seeds=[0, 1], large_units=1600, large_seeds=[0, 1, 2, 3, 4],
                        pgd_steps=40)
_PAPER["capacity"].update(units=[5, 20, 80, 240, 1600], epochs=100, ensemble=12, ensemble_epochs=200,
                          rbf_epochs=100, cifar_epochs=100)

_SMOKE = copy.deepcopy(_DEFAULT)
_SMOKE.update(
    description="seconds: tiny subsets and nets, only to check that everything runs",
    n_test=500,
    eps_grid=[0.0, 0.1, 0.25, 0.5],
    googlenet={"n_train": 256, "epochs": 1, "batch_size": 64, "lr": 2e-3, "lr_schedule": "linear", "size": 28,
               "n_valid": 200, "n_eval": 100},
)
_SMOKE["linear"].update(epochs=2, n_train=2000, eps_train=[0.0, 0.25], l1=[1e-2], softmax_epochs=2,
                        maxout_l1_epochs=1)
_SMOKE["maxout"].update(units=16, epochs=2, adv_epochs=2, augment_epochs=1, seeds=[0], n_train=1000, pgd_steps=3)
_SMOKE["capacity"].update(units=[4, 16], depths=[1, 2], epochs=1, ensemble=2, ensemble_epochs=1,
                          ensemble_units=16, rbf_epochs=1, n_rubbish=500, n_fig4=20, cifar_epochs=1)

PROFILES: dict[str, dict] = {"smoke": _SMOKE, "default": _DEFAULT, "paper": _PAPER}


def _namespace(d: Any) -> Any:
    if isinstance(d, dict):
        return SimpleNamespace(**{k: _namespace(v) for k, v in d.items()})
    return d


def resolve_name(name: str | None = None) -> str:
    """``REPRO_PROFILE`` if set, else ``name``, else ``default``; unknown names are an error."""
    name = os.environ.get("REPRO_PROFILE") or name or "default"
    if name not in PROFILES:
        raise ValueError(f"unknown profile {name!r}; choose one of {sorted(PROFILES)} "
                         "(papermill -p profile NAME, or REPRO_PROFILE=NAME)")
    return name


def get_profile(name: str | None = None, environment: bool = True) -> SimpleNamespace:
    """The profile as attributes (``P.maxout.units``), with ``P.name`` set. ``environment=False``
    takes ``name`` as it is, whatever ``REPRO_PROFILE`` says (to read what another profile ran:
    ``results/paper`` is the paper profile's in any notebook run)."""
    name = resolve_name(name) if environment else name
    if name not in PROFILES:
        raise ValueError(f"unknown profile {name!r}; choose one of {sorted(PROFILES)}")
    return _namespace({"name": name, **copy.deepcopy(PROFILES[name])})


def output_dirs(profile: str) -> tuple[Path, Path]:
    """(figures, results) folders: the committed ones for ``default``, a ``paper`` subfolder
    for ``paper``, and a scratch folder for ``smoke`` so that it never overwrites them."""
    if profile == "smoke":
        return paths.SCRATCH_DIR / "figures", paths.SCRATCH_DIR / "results"
    if profile == "paper":
        return paths.ROOT / "figures" / "paper", paths.ROOT / "results" / "paper"
    return paths.ROOT / "figures", paths.ROOT / "results"


def results_md(profile: str) -> Path:
    """Where RESULTS.md goes: the repository root for ``default``, beside the results files
    otherwise (a smoke run never overwrites a committed file)."""
    return paths.ROOT / "RESULTS.md" if profile == "default" else output_dirs(profile)[1] / "RESULTS.md"
