"""One seed of the paper's protocol at 240 units, on a CPU: the files
``scripts/paper_schedule_240.py`` writes (``results/paper-schedule-240/seed<N>-<precision>.json``)
read back as a table and as curves for notebook 03.

Each file holds nets by name: ``baseline`` / ``adversarial`` (the first phase: early stopping
on the first 50,000), and each with ``, continued`` (the recipe's continuation on 60,000) and
``, restarted`` (a fresh net retrained on 60,000 for the chosen number of epochs).
"""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from . import paths

DIR = paths.ROOT / "results" / "paper-schedule-240"
PHASES = {None: "first phase (50,000)", "retrain": "second phase (60,000)"}


def load(directory: Path = DIR) -> dict[str, dict]:
    """Every run file there, by file stem ('seed0-fp32'); the first files (``seed0.json``,
    inverted input dropout, restart on 60,000) are kept for comparison."""
    return {p.stem: json.loads(p.read_text()) for p in sorted(Path(directory).glob("seed*.json"))}


def fgsm_scores(scores: dict) -> dict[str, float]:
    """FGSM error and confidence (%) as printed and clipped, from a file of either layout: the
    first files stored ``adv_err`` clipped beside ``adv_err_unclipped``; later ones store
    ``metrics.robustness``'s ``adv_err`` (as printed) beside ``adv_err_clipped``."""
    if "adv_err_unclipped" in scores:
        return {"printed": scores["adv_err_unclipped"], "printed_conf": scores["adv_conf_unclipped"],
                "clipped": scores["adv_err"], "clipped_conf": scores["adv_conf"]}
    return {"printed": scores["adv_err"], "printed_conf": scores["adv_conf"],
            "clipped": scores["adv_err_clipped"], "clipped_conf": scores["adv_conf_clipped"]}


def table(runs: dict[str, dict]) -> pd.DataFrame:
    """One row per net and run: the test scores (%), the epoch chosen, the epochs of the
    second phase and the minutes it took (both phases)."""
    rows = []
    for stem, run in runs.items():
        for name, net in run["nets"].items():
            r, f = net["scores"], fgsm_scores(net["scores"])
            rows.append({"run": f"{stem} ({'recipe dropout' if '-' in stem else 'inverted input dropout'})",
                         "net": name, "best epoch": net["best_epoch"],
                         "second-phase epochs": net.get("second_phase_epochs"),
                         "clean error %": r["clean_err"], "FGSM error % (as printed)": f["printed"],
                         "conf. % (as printed)": f["printed_conf"], "FGSM error % (clipped)": f["clipped"],
                         "conf. % (clipped)": f["clipped_conf"],
                         f"PGD-{run['pgd_steps']} error %": r.get("pgd_err"),
                         "minutes": net["train_seconds"] / 60})
    return pd.DataFrame(rows).set_index(["run", "net"])


def curves(run: dict) -> pd.DataFrame:
    """Per-epoch rows of every net of a run, phase named."""
    return pd.DataFrame([{"net": name, **row, "phase": PHASES[row.get("phase")]}
                         for name, net in run["nets"].items() for row in net["history"]])


def plot(run: dict, title: str):
    """Validation error (clean and FGSM) of the first phases, with the chosen epochs dotted,
    and the continuation's monitored objective against the level it must reach."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    hist = curves(run)
    first = hist[hist.phase == PHASES[None]].drop_duplicates(["net", "epoch"])
    first = first[~first.net.str.contains(",")]  # the first phase, once per objective
    nets = list(dict.fromkeys(first.net))
    colors = dict(zip(nets, sns.color_palette()))
    fig, axes = plt.subplots(1, 3, figsize=(15, 3.8))
    for ax, column, label in ((axes[0], "valid_error", "clean"), (axes[1], "valid_adv_error", "FGSM eps=.25")):
        for name in nets:
            mine = first[first.net == name]
            ax.plot(mine.epoch, 100 * mine[column], lw=1, color=colors[name], label=name)
            ax.axvline(run["nets"][name]["best_epoch"], ls=":", lw=1.2, color=colors[name])
        ax.set(xlabel="epoch", ylabel="error %", title=f"validation error, {label}")
    axes[0].set_ylim(0, 4)
    axes[0].legend(fontsize="small")
    cont = hist[(hist.phase == PHASES["retrain"]) & hist.net.str.endswith("continued")]
    for name, mine in cont.groupby("net", sort=False):
        color = colors.get(name.split(",")[0], "0.3")
        axes[2].plot(mine.epoch, mine.match_objective, color=color, lw=1.2, label=f"{name}: last 10,000")
        axes[2].axhline(mine.target_objective.iloc[0], color=color, ls="--", lw=1,
                        label=f"{name.split(',')[0]}: first 50,000 at the best epoch")
    axes[2].set(xlabel="epoch of the continuation", ylabel="dropout-mode objective",
                title="continuation: stops when the line meets its target")
    if len(cont):
        axes[2].legend(fontsize="x-small")
    fig.suptitle(title, y=1.02)
    return fig
