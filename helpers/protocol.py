"""The paper's protocol as groups of nets, each trained as populations and scored on its own.

``make paper`` (``scripts/paper.py``) runs the groups in ``GROUPS``' order, the priority: the
240-unit baseline and adversarial nets (section 6's headline claims, five seeds), the
1600-unit nets, the 240-unit adversarial nets' twins trained under the clipped attack
protocol, the noise controls, the twelve-net ensemble, the capacity sweep. Each finished
group writes ``<out>/<group>.json`` at once (claims in the results schema, every net's scores
and those of the early-stopped net its continuation started from, validation curves, device,
precision, the run's wall time and each net's training time; notebooks 03 and 04 draw the
curves); a rerun skips the groups whose file says they are complete. ``budget`` stops
cleanly before a group whose estimate does not fit (a GPU call: what does not finish there
does not come back), and a group that runs past the deadline is abandoned rather than cut the
others off.
``stop_after`` only sets the deadline (a CPU session: a group of hours runs a session at a
time). Either way the nets that finished stay in the model cache and the running phase in
its checkpoint, so the next run on this machine goes on where this one stopped. Any group can
run alone, and any of its seeds (``seeds``), so that several machines can share them with no
scheduler of ours: each net, once trained and scored, writes its record
``<out>/<group>/<net>.json`` (what the group file holds of it), and the group file is written
from the records once every net of the group has one. Records are results, small and
committed; a machine whose caches do not outlive a session (ours) finishes a group of many
hours a few seeds at a time.
"""
from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Callable, Optional

import torch

from . import data, ensembles, experiments, metrics, paths, population
from .attacks import PRIMARY, PROTOCOLS
from .machine import device_name
from .results import Results, ci95, mean_std
from .training import TrainConfig, Trained, cache_path, default_device, load_cached

if TYPE_CHECKING:
    import pandas as pd

EPS = experiments.EPS


@dataclass
class Group:
    """Nets to train together and the claims they decide."""

    description: str
    configs: Callable[[SimpleNamespace], dict[str, TrainConfig]]  # name -> config
    claims: Callable[[dict[str, Trained], dict[str, dict], Results], None]  # (nets, scores, results)
    scored_with: Optional[str] = None  # a group whose nets' scores its claims read too (written first)
    needs_models: bool = False  # its claims read the nets themselves: all train (or load) in one run


CLIPPED = " clipped"  # the name suffix of a net trained under the clipped attack protocol


def _maxouts(objective: str, seeds_attr: str = "seeds", units: Optional[int] = None, label: str = "",
             clipped: tuple[bool, ...] = (False, True)):
    """One net per seed; for objectives that perturb their inputs, one per value of ``clipped``
    (``False``: the attack as printed, ``<label> sN``; ``True``: clipped, ``<label> clipped sN``)."""
    def build(P: SimpleNamespace) -> dict[str, TrainConfig]:
        out = {}
        for s in getattr(P.maxout, seeds_attr):
            for clip in (clipped if objective != "clean" else (False,)):
                name = f"{label or objective}{CLIPPED if clip else ''} s{s}"
                # clip= only where it differs from experiments.maxout's own choice: cache keys stay put
                out[name] = experiments.maxout(P, objective, s, units=units, **({"clip": True} if clip else {}))
        return out
    return build


def _seeds(scores: dict[str, dict], prefix: str, key: str) -> list[float]:
    return [s[key] for name, s in scores.items() if name.startswith(prefix + " s")]


def _both(scores: dict[str, dict], prefix: str, key: str, trained: bool) -> dict:
    """``value`` (as printed) and ``clipped`` of a claim: with ``trained``, the clipped value
    comes from the nets trained under the clipped protocol (``<prefix> clipped sN``)."""
    other = prefix + CLIPPED if trained else prefix
    clipped_key = key if key.startswith("clean") else key + "_clipped"
    return {"value": _seeds(scores, prefix, key), "clipped": _seeds(scores, other, clipped_key) or None}


def _section6(prefix: str, clean_id: str, err_id: str, conf_id: str, trained: bool) -> Callable:
    def claims(nets: dict, scores: dict, R: Results) -> None:
        if trained:  # the clean error of a net trained on FGSM examples depends on the protocol too
            R.record(clean_id, **_both(scores, prefix, "clean_err", trained))
        else:
            R.record(clean_id, _seeds(scores, prefix, "clean_err"))
        R.record(err_id, **_both(scores, prefix, "adv_err", trained))
        R.record(conf_id, **_both(scores, prefix, "adv_conf", trained))
    return claims


def _noise_claims(nets: dict, scores: dict, R: Results) -> None:
    for kind in ("sign", "uniform"):
        R.record(f"s6.noise_{kind}_adv_err", **_both(scores, kind, "adv_err", trained=True))
        R.record(f"s6.noise_{kind}_adv_conf", **_both(scores, kind, "adv_conf", trained=True))


def _large(P: SimpleNamespace) -> dict[str, TrainConfig]:
    """The wide nets (``P.maxout.large_units``; the configs carry the width, the names do not)."""
    units, seeds = P.maxout.large_units, P.maxout.large_seeds
    if not units or not seeds:
        return {}
    out = _maxouts("fgsm", "large_seeds", units, "large adversarial")(P)
    out[f"large baseline s{seeds[0]}"] = experiments.maxout(P, "clean", seeds[0], units=units)
    return out


def _large_claims(nets: dict, scores: dict, R: Results) -> None:
    R.record("s6.maxout1600_adv_clean_err", **_both(scores, "large adversarial", "clean_err", trained=True))
    R.record("s6.maxout1600_clean_err", _seeds(scores, "large baseline", "clean_err"))


def _ensemble(P: SimpleNamespace) -> dict[str, TrainConfig]:
    return {f"member s{s}": experiments.ensemble_config(P, s) for s in range(P.capacity.ensemble)}


def _ensemble_claims(nets: dict, scores: dict, R: Results) -> None:
    x, y = data.mnist("test")
    ens = {name: ensembles.ensemble_attack([t.model for t in nets.values()], x, y, EPS, clip)
           for name, clip in PROTOCOLS.items()}
    R.record("s9.ensemble_attack_all", 100 * ens[PRIMARY]["all"], clipped=100 * ens["clipped"]["all"],
             note=f"{len(nets)} members")
    R.record("s9.ensemble_attack_one", [100 * v for v in ens[PRIMARY]["one"]],
             clipped=[100 * v for v in ens["clipped"]["one"]], note=f"{len(nets)} members")


def _capacity(P: SimpleNamespace) -> dict[str, TrainConfig]:
    return {f"{u} units x {d} layers": experiments.capacity_config(P, u, d)
            for u in P.capacity.units for d in P.capacity.depths}


_ADV240 = _section6("adversarial", "s6.maxout240_adv_clean_err", "s6.advtrained_adv_err", "s6.advtrained_adv_conf",
                    trained=True)
GROUPS: dict[str, Group] = {
    "base240": Group("240-unit baseline, every seed", _maxouts("clean", label="baseline"),
                     _section6("baseline", "s6.maxout240_clean_err", "s4.maxout_adv_err", "s4.maxout_adv_conf",
                               trained=False)),
    "adv240": Group("240-unit adversarially trained net (FGSM as printed), every seed",
                    _maxouts("fgsm", label="adversarial", clipped=(False,)), _ADV240),
    "large": Group("1600-unit adversarial nets (under each attack protocol) and one baseline", _large, _large_claims),
    # the clipped protocol's twins of adv240: the clipped column of its claims, after the paper's own nets
    "adv240clip": Group("240-unit adversarially trained net under the clipped protocol, every seed",
                        _maxouts("fgsm", label="adversarial", clipped=(True,)), _ADV240, scored_with="adv240"),
    "noise240": Group("240-unit nets trained on random-sign and uniform noise",
                      lambda P: {**_maxouts("sign", "noise_seeds")(P), **_maxouts("uniform", "noise_seeds")(P)},
                      _noise_claims),
    "ensemble": Group("the ensemble of section 9", _ensemble, _ensemble_claims, needs_models=True),
    "capacity": Group("the capacity sweep (widths x depths)", _capacity, lambda nets, scores, R: None),
}
HISTORY_KEYS = ("epoch", "phase", "valid_error", "valid_adv_error", "train_loss", "match_objective",
                "target_objective")


def estimate_seconds(configs: list[TrainConfig], device: torch.device, probe_steps: int = 3) -> float:
    """A rough time for a group: a few timed steps of each population, times the steps the
    protocol is expected to take (the recipe's run: ~350 epochs to stop, ~250 more on 60,000)."""
    total = 0.0
    groups: dict[str, list[TrainConfig]] = {}
    for c in configs:
        groups.setdefault(population.architecture_key(c) + str(c.objective == "clean"), []).append(c)
    for members in groups.values():
        step = population.step_seconds(members, device, probe_steps)
        B = members[0].batch_size
        c = members[0]
        epochs = min(max(m.epochs for m in members), 350 if c.patience else max(m.epochs for m in members))
        if c.retrain != "none":
            epochs += 250
        n = c.n_train or 50_000
        total += step * epochs * -(-n // B)
    return total


def run_group(name: str, P: SimpleNamespace, out_dir: Path, device: torch.device, progress: bool = True,
              deadline: Optional[float] = None, seeds: Optional[list[int]] = None) -> Optional[dict]:
    """Train (or load) one group's nets (those of ``seeds``, default all) that have no record
    yet, score each on the test set and write its record; once every net of the group has
    one, write the group's file and return it (else None)."""
    group = GROUPS[name]
    t0 = time.perf_counter()
    configs = group.configs(P)
    records, todo = _outstanding(name, configs, out_dir, seeds)
    trained = dict(zip(todo, experiments.train_many(list(todo.values()), progress=progress, deadline=deadline)))
    x, y = data.mnist("test")
    for n, t in trained.items():
        first = _first_phase(t, device)
        records[n] = {"key": t.config.key(), "device": device_name(device), "precision": t.config.precision,
                      "torch": torch.__version__, "written": time.strftime("%Y-%m-%d %H:%M"),
                      "scores": metrics.robustness(t.model, x, y, EPS),
                      **({"first_phase_scores": metrics.robustness(first.model, x, y, EPS)} if first else {}),
                      "train_seconds": t.seconds, "cached": t.cached,
                      "best_epoch": t.history[-1].get("best_epoch"), "retrain": t.config.retrain,
                      "history": [{k: r[k] for k in HISTORY_KEYS if k in r} for r in t.history]}
        if not group.needs_models:
            paths.atomic_write_bytes(_record_path(out_dir, name, n), (json.dumps(records[n], indent=1) + "\n").encode())
    if set(records) != set(configs):
        return None
    R = Results(name, P.name, out_dir)
    precision = sorted({c.precision for c in configs.values()})
    other = _scored_with(group, out_dir, P.name, precision)
    scores = {n: r["scores"] for n, r in records.items()}
    group.claims(trained, {**(other or {}).get("scores", {}), **scores}, R)
    blob = {"group": name, "description": group.description, "profile": P.name, "complete": True,
            "device": "; ".join(sorted({r["device"] for r in records.values()})), "precision": precision,
            "seconds": time.perf_counter() - t0, "torch": torch.__version__,
            "written": time.strftime("%Y-%m-%d %H:%M"), "claims": R.claims,
            **({"scored_with": {k: other[k] for k in ("group", "sha256", "device")}} if other else {}),
            "nets": {n: {k: v for k, v in records[n].items() if k not in ("key", "precision", "torch", "written")}
                     for n in configs}}
    paths.atomic_write_bytes(out_dir / f"{name}.json", (json.dumps(blob, indent=1) + "\n").encode())
    return blob


def _outstanding(name: str, configs: dict[str, TrainConfig], out_dir: Path,
                 seeds: Optional[list[int]]) -> tuple[dict[str, dict], dict[str, TrainConfig]]:
    """The records ``name``'s nets already have, and the nets (of ``seeds``, default all) still
    to train. A group whose claims read its nets themselves keeps no records: all of it trains."""
    records = {} if GROUPS[name].needs_models else _records(out_dir, name, configs)
    return records, {n: c for n, c in configs.items() if n not in records and (seeds is None or c.seed in seeds)}


def _record_path(out_dir: Path, group: str, net: str) -> Path:
    return Path(out_dir) / group / f"{net.replace(' ', '-')}.json"


def _records(out_dir: Path, group: str, configs: dict[str, TrainConfig]) -> dict[str, dict]:
    """The records of ``group``'s nets already trained and scored (by this machine or another)
    for the configs they have now; a record of another config (the recipe or the profile
    changed since) or one that does not read is left out, and its net trained again."""
    out = {}
    for n, c in configs.items():
        path = _record_path(out_dir, group, n)
        try:
            record = json.loads(path.read_text())
        except FileNotFoundError:
            continue
        except ValueError:
            print(f"{paths.shown(path)} does not read as JSON: {n} is trained again")
            continue
        if record.get("key") == c.key():
            out[n] = record
    return out


def _first_phase(t: Trained, device: torch.device) -> Optional[Trained]:
    """The early-stopped net on the first 50,000 that ``t``'s second phase started from, where
    ``t`` had one and the model cache still holds it."""
    if t.config.retrain == "none":
        return None
    config = t.config.replace(retrain="none")
    path = cache_path(config)
    return load_cached(config, path, device) if path.exists() else None


def _scored_with(group: Group, out_dir: Path, profile: str, precision: list[str]) -> Optional[dict]:
    """The file of the group whose scores ``group``'s claims read (None if it reads none): its
    name, SHA-256 (a later rewrite of that file makes this group's claims stale:
    ``is_complete``), device and its nets' scores. Its nets must share this group's precision."""
    name = group.scored_with
    if name is None:
        return None
    path = out_dir / f"{name}.json"
    if not is_complete(out_dir, name, profile):
        raise FileNotFoundError(f"{paths.shown(path)}: the claims of this group are recorded beside group "
                                f"{name}'s nets; run `make paper GROUP={name}` first (the nets trained here "
                                "stay in the cache)")
    raw = path.read_bytes()
    blob = json.loads(raw)
    if blob.get("precision") != precision:
        raise ValueError(f"{paths.shown(path)} holds nets trained in {blob.get('precision')}, this group's are in "
                         f"{precision}: their claims would mix precisions; run both groups at one precision")
    return {"group": name, "sha256": hashlib.sha256(raw).hexdigest(), "device": blob.get("device"),
            "scores": {n: net["scores"] for n, net in blob["nets"].items()}}


def is_complete(out_dir: Path, name: str, profile: str) -> bool:
    """Whether ``<out_dir>/<name>.json`` is a finished run of ``profile`` whose claims are
    current (the file its claims read, if any, is still the one they read)."""
    path = out_dir / f"{name}.json"
    if not path.exists():
        return False
    try:
        blob = json.loads(path.read_text())
    except ValueError:
        return False  # a damaged file: run the group again
    other = blob.get("scored_with")
    if other:
        source = out_dir / f"{other['group']}.json"
        if not source.exists() or hashlib.sha256(source.read_bytes()).hexdigest() != other["sha256"]:
            return False  # scored beside another version of that file: score again (the nets are cached)
    return bool(blob.get("complete")) and blob.get("profile") == profile


def run(profile: str = "paper", groups: Optional[list[str]] = None, budget: Optional[float] = None,
        out_dir: Optional[Path] = None, device: Optional[torch.device] = None, progress: bool = True,
        precision: Optional[str] = None, log: Callable[[str], None] = print,
        stop_after: Optional[float] = None, seeds: Optional[list[int]] = None) -> dict[str, str]:
    """Run ``groups`` (default: all, in priority order), or only the nets of ``seeds`` in each;
    returns each group's outcome.
    ``precision`` overrides the profile's maxout training precision (``tf32`` on a GPU).
    ``budget`` (seconds) skips the groups whose estimate does not fit and stops one that runs
    over; ``stop_after`` (seconds) only stops, to be resumed by the next run."""
    from .profiles import get_profile, output_dirs

    unknown = sorted(set(groups or []) - set(GROUPS))
    if unknown:
        raise ValueError(f"unknown group(s) {unknown}; choose from {list(GROUPS)}")
    P = get_profile(profile)
    if precision is not None:
        P.maxout.precision = precision
    device = device or default_device()
    out_dir = Path(out_dir) if out_dir is not None else output_dirs(P.name)[1]
    out_dir.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    limits = [t for t in (budget, stop_after) if t is not None]
    deadline = time.monotonic() + min(limits) if limits else None
    outcome: dict[str, str] = {}
    stopped = False
    for name in groups or list(GROUPS):
        if stopped:
            outcome[name] = "not started: out of time"
            continue
        if is_complete(out_dir, name, P.name):
            outcome[name] = "done before"
            log(f"[{name}] complete in {paths.shown(out_dir)}: skipped")
            continue
        group = GROUPS[name]
        every = group.configs(P)
        if not every:
            outcome[name] = "nothing to train at this profile"
            continue
        if seeds is not None and group.needs_models:
            outcome[name] = "not started: its claims read its nets themselves, it runs whole (without seeds)"
            log(f"[{name}] {outcome[name]}")
            continue
        recorded, todo = _outstanding(name, every, out_dir, seeds)
        configs = list(todo.values())
        if not configs and len(recorded) < len(every):
            outcome[name] = f"nothing to train for seeds {seeds}: every such net has its record"
            log(f"[{name}] {outcome[name]}")
            continue
        first = group.scored_with
        if first and not is_complete(out_dir, first, P.name):
            outcome[name] = f"not started: its claims need group {first}'s (make paper GROUP={first})"
            log(f"[{name}] {outcome[name]}")
            continue
        if budget is not None:
            left = budget - (time.perf_counter() - start)
            estimate = estimate_seconds(configs, device)
            if estimate > left:
                outcome[name] = f"skipped: estimated {estimate:.0f} s, {left:.0f} s left"
                log(f"[{name}] {outcome[name]}")
                continue
        log(f"[{name}] {group.description}: {len(configs)} of its {len(every)} nets to train on {device_name(device)}")
        try:
            blob = run_group(name, P, out_dir, device, progress, deadline, seeds)
        except population.OutOfTime as e:
            outcome[name] = f"stopped: {e}"
            log(f"[{name}] {outcome[name]}")
            stopped = True
            continue
        if blob is None:
            left = sorted(set(every) - set(_records(out_dir, name, every)))
            outcome[name] = (f"partial: {len(every) - len(left)} of {len(every)} nets recorded in "
                             f"{paths.shown(out_dir / name)}; still to train: {', '.join(left)}")
            log(f"[{name}] {outcome[name]}")
            continue
        outcome[name] = f"done in {blob['seconds']:.0f} s"
        log(f"[{name}] {outcome[name]}: " + "; ".join(
            f"{c['id']} {c['value']:.3g}" for c in blob["claims"] if isinstance(c["value"], (int, float))))
    return outcome


def load_groups(out_dir: Path = paths.ROOT / "results" / "paper") -> dict[str, dict]:
    """The group files ``make paper`` has written, by group, in priority order."""
    out = {}
    for name in GROUPS:
        path = Path(out_dir) / f"{name}.json"
        if path.is_file():
            out[name] = json.loads(path.read_text())
    return out


def beside(claims: list[dict], groups: dict[str, dict]):
    """This profile's claims (a notebook's ``results.claims``) with the paper protocol's value
    of each claim beside them, where ``groups`` has it: a DataFrame. Values are FGSM as
    printed; the ``clipped`` columns hold the clipped protocol's, for claims on FGSM examples."""
    import pandas as pd

    protocol: dict[str, tuple[dict, dict]] = {}
    for blob in groups.values():  # a claim in two groups' files: the one with its clipped value (verdicts._rows)
        for c in blob["claims"]:
            if c["id"] not in protocol or (c.get("clipped") and not protocol[c["id"]][0].get("clipped")):
                protocol[c["id"]] = (c, blob)
    rows = []
    for c in claims:
        p, blob = protocol.get(c["id"], ({}, {}))
        rows.append({"id": c["id"], "paper": c["paper"], "this profile": c["value"], "sd": c["std"],
                     "n": c["n_seeds"], "clipped": (c.get("clipped") or {}).get("value"),
                     "paper protocol": p.get("value"), "protocol sd": p.get("std"),
                     "protocol 95% CI ±": p.get("ci95"), "protocol n": p.get("n_seeds"),
                     "protocol, clipped": (p.get("clipped") or {}).get("value"),
                     "protocol run on": _devices(blob)})
    return pd.DataFrame(rows).set_index("id")


def _devices(blob: dict) -> Optional[str]:
    """Where a group's claims were measured: with the device of the group they read, if another."""
    mine, other = blob.get("device"), (blob.get("scored_with") or {}).get("device")
    return mine if other in (None, mine) else f"{other} (as printed), {mine} (clipped)"


def plot_curves(blob: dict, title: str = ""):
    """Validation error (clean and FGSM) per epoch of every net of a group's first phase, each
    net's best epoch (the one the continuation starts from) marked."""
    import matplotlib.pyplot as plt
    import pandas as pd

    rows = [{"net": name, **r} for name, net in blob["nets"].items() for r in net["history"] if "phase" not in r]
    frame = pd.DataFrame(rows)
    best = {name: net.get("best_epoch") for name, net in blob["nets"].items()}
    fig, axes = plt.subplots(1, 2, figsize=(12, 3.6))
    panels = ((axes[0], "valid_error", "clean"),
              (axes[1], "valid_adv_error", "FGSM eps=.25, each net's protocol"))
    for ax, column, label in panels:
        if column in frame:
            for name, mine in frame.groupby("net", sort=False):
                line, = ax.plot(mine.epoch, 100 * mine[column], lw=1, label=name)
                at = mine[mine.epoch == best[name]]
                ax.plot(at.epoch, 100 * at[column], "o", color=line.get_color(), ms=5)
        ax.set(xlabel="epoch", ylabel="error %", title=f"validation error, {label}")
    if "valid_error" in frame:  # the first epochs' tens of percent would flatten the tenths where nets differ
        low = 100 * frame.valid_error.min()
        axes[0].set_ylim(0.9 * low, 2.5 * low)
    if axes[0].lines:
        axes[0].legend(fontsize="x-small")
    fig.suptitle(title or f"{blob['group']}: {blob['description']} ({blob['device']})", y=1.02)
    return fig


def nets_so_far(groups: tuple[str, ...], out_dir: Path = paths.ROOT / "results" / "paper") -> "pd.DataFrame":
    """One row a net of ``groups`` that the protocol has trained and scored so far (errors and
    confidence in percent): from the group's file where the group is complete, else from the
    records of the nets done so far (on a CPU whose caches do not outlive a session, a group of
    many hours lands a seed or two at a time). A record of another configuration than the
    paper profile's (the recipe changed since) is left out, as ``make paper`` leaves it."""
    import pandas as pd

    from .profiles import get_profile

    P = get_profile("paper", environment=False)
    rows = []
    for name in groups:
        configs = GROUPS[name].configs(P)
        if is_complete(Path(out_dir), name, "paper"):  # a net's device: its group's, in files older than records
            blob = json.loads((Path(out_dir) / f"{name}.json").read_text())
            nets = {n: {"device": blob.get("device"), **r} for n, r in blob["nets"].items()}
        else:
            nets = _records(Path(out_dir), name, configs)
        for net, r in nets.items():
            first, final = r.get("first_phase_scores") or {}, r["scores"]
            rows.append({"group": name, "net": net, "seed": configs[net].seed if net in configs else None,
                         "clean, early-stopped": first.get("clean_err"), "clean": final["clean_err"],
                         "FGSM": final["adv_err"], "FGSM confidence": final["adv_conf"],
                         "FGSM clipped": final.get("adv_err_clipped"), "best epoch": r.get("best_epoch"),
                         "epochs": sum("phase" not in h for h in r["history"]),
                         "epochs on 60k": sum("phase" in h for h in r["history"]),
                         "hours": r["train_seconds"] / 3600, "scored on": r["device"]})
    columns = ["group", "net", "seed", "clean, early-stopped", "clean", "FGSM", "FGSM confidence", "FGSM clipped",
               "best epoch", "epochs", "epochs on 60k", "hours", "scored on"]
    return pd.DataFrame(rows, columns=columns)


def by_seed(nets: "pd.DataFrame", base: str = "base240", other: str = "adv240") -> "pd.DataFrame":
    """Clean test error of ``other``'s net beside ``base``'s net of the same seed (the same
    initialisation and minibatch order), and their difference, for the seeds both groups have
    (``nets_so_far``'s rows)."""
    pairs = nets.pivot_table(index="seed", columns="group", values="clean")
    pairs = pairs.reindex(columns=[base, other]).dropna()
    pairs[f"{other} - {base}"] = pairs[other] - pairs[base]
    return pairs


def gap_summary(pairs: "pd.DataFrame") -> str:
    """One line on ``by_seed``'s difference column (the second group minus the first, seed by
    seed): its mean ± sd, the 95% interval of the mean, and in how many seeds it is negative."""
    gap = pairs.iloc[:, -1]
    m, sd, n = mean_std(gap)
    spread = f" ± {sd:.2f} point (95% CI ± {ci95(sd, n):.2f})" if sd is not None else " point"
    return f"{gap.name}, seed by seed: {m:+.2f}{spread}, lower in {int((gap < 0).sum())} of {n} seeds"


def plot_seeds(nets: "pd.DataFrame", paper: dict[str, float], title: str = ""):
    """Each net's clean test error by seed (``nets_so_far``), a colour a group: filled, the
    final net; hollow, the early-stopped net it continued from; dashed, the paper's value of
    the group's claim (``paper``: group -> value)."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 3.6))
    offsets = {g: 0.08 * (i - (nets.group.nunique() - 1) / 2) for i, g in enumerate(nets.group.unique())}
    for group, mine in nets.groupby("group", sort=False):
        x = mine.seed + offsets[group]
        dots = ax.plot(x, mine.clean, "o", label=f"{group} (n={len(mine)})")[0]
        ax.plot(x, mine["clean, early-stopped"], "o", mfc="none", color=dots.get_color())
        if group in paper:
            ax.axhline(paper[group], ls="--", lw=1, color=dots.get_color())
    ax.set(xlabel="seed", ylabel="clean test error %", xticks=sorted(nets.seed.unique()),
           title=title or "the paper's protocol, net by net (hollow: early-stopped; dashed: the paper)")
    # Outside the axes: inside, it hides whichever seed's dots lie under it.
    ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1))
    return fig


def show_beside(claims: list[dict], wanted: tuple[str, ...]) -> None:
    """In a notebook: its claims beside the paper protocol's (``beside``) and the curves of the
    ``wanted`` groups that ``make paper`` has written (saved with ``save_fig``)."""
    import matplotlib.pyplot as plt
    from IPython.display import display

    from .plotting import save_fig

    groups = {g: b for g, b in load_groups().items() if g in wanted}
    display(beside(claims, groups).round(3))
    for name, blob in groups.items():
        save_fig(f"paper-protocol-{name}-curves", plot_curves(blob))
        plt.show()
    if not groups:
        print("results/paper holds none of this notebook's groups yet: `make paper` runs them.")
