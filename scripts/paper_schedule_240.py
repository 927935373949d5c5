"""The paper's protocol for the 240-unit maxout nets, one seed, on a CPU.

The `paper` profile trains notebook 03's nets with the pylearn2 recipe (`mnist_pi.yaml`): lr .1
divided by 1.000004 a step, momentum .5 -> .7, input dropout unscaled, patience 100 on the first
50,000 images (on adversarial validation error for the adversarial net), then a second phase on
all 60,000. This script trains the 240-unit baseline and adversarial nets of one seed and scores
each phase: the early-stopped net (``first phase``), the recipe's continuation
(`mnist_pi_continued.yaml`, ``continued``) and a fresh net retrained for the chosen number of
epochs (``restarted``, as the adversarial paper words its own step). Both second phases start
from the same cached first phase. Results go to
``results/paper-schedule-240/seed<N>-<precision>.json``, rewritten after every net, so that a
run cut short keeps what finished; notebook 03 shows them.

    .venv/bin/python scripts/paper_schedule_240.py [--seed 0] [--precision fp32] [--nets baseline ...]

Nets are cached like every other (``.cache/models``): a second run only scores them.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import time

import torch

from helpers import data, experiments, metrics, paths, profiles
from helpers.machine import cpu_name
from helpers.attacks import pgd_split

OUT_DIR = paths.ROOT / "results" / "paper-schedule-240"
HISTORY_KEYS = ("epoch", "phase", "valid_error", "valid_adv_error", "train_loss", "match_objective",
                "target_objective", "seconds")
# name: (objective, second phase), in the order they train
NETS = {"baseline": ("clean", "none"), "baseline, continued": ("clean", "continue"),
        "baseline, restarted": ("clean", "restart"), "adversarial": ("fgsm", "none"),
        "adversarial, continued": ("fgsm", "continue"), "adversarial, restarted": ("fgsm", "restart")}


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--precision", choices=("bf16", "fp32"), default="fp32",
                    help="training precision (the recipe's is fp32; bf16 is 1.4-1.5x faster on a CPU)")
    ap.add_argument("--nets", nargs="+", choices=list(NETS), default=list(NETS), metavar="NET",
                    help=f"which nets, in this order (default: all of {list(NETS)})")
    args = ap.parse_args(argv)
    P = profiles.get_profile("paper")
    x_test, y_test = data.mnist("test")
    x_valid, y_valid = data.mnist("valid")  # the second phase on 60,000 also trains on these
    path = OUT_DIR / f"seed{args.seed}-{args.precision}.json"
    blob = json.loads(path.read_text()) if path.exists() else {"nets": {}}
    blob.update({"what": "the paper profile's 240-unit maxout nets (the pylearn2 recipe), one seed, on a CPU",
                 "seed": args.seed, "precision": args.precision, "eps": experiments.EPS,
                 "pgd_steps": P.maxout.pgd_steps,
                 "attack": "FGSM as printed and clipped to [0, 1] (each net's scores: adv_err as printed beside "
                           "adv_err_clipped, or, in nets scored before, adv_err clipped beside adv_err_unclipped); "
                           "PGD clipped"})
    machine = f"{cpu_name()}, {torch.get_num_threads()} threads, torch {torch.__version__}"
    for net in blob["nets"].values():  # nets of a file written before machines were kept per net
        net.setdefault("machine", blob.get("machine"))
    for name in args.nets:
        objective, retrain = NETS[name]
        config = experiments.maxout(P, objective, args.seed, precision=args.precision, retrain=retrain)
        t0 = time.perf_counter()
        trained = experiments.train(config)
        r = metrics.robustness(trained.model, x_test, y_test, experiments.EPS)
        x_pgd = pgd_split(trained.model, x_test, y_test, experiments.EPS, steps=P.maxout.pgd_steps)
        r["pgd_err"] = 100 * metrics.evaluate(trained.model, x_pgd, y_test)["error"]
        r_valid = metrics.robustness(trained.model, x_valid, y_valid, experiments.EPS)
        second = [row for row in trained.history if row.get("phase") == "retrain"]
        blob["nets"][name] = {
            "config": dataclasses.asdict(config), "retrain": retrain, "scores": r, "scores_valid": r_valid,
            "train_seconds": trained.seconds, "best_epoch": trained.history[-1]["best_epoch"],
            "second_phase_epochs": len(second), "machine": machine, "history": [{k: row[k] for k in HISTORY_KEYS if k in row}
                                                           for row in trained.history]}
        print(f"{name}: clean {r['clean_err']:.2f}%, FGSM {r['adv_err']:.1f}% as printed ({r['adv_err_clipped']:.1f}% clipped), "
              f"PGD-{P.maxout.pgd_steps} {r['pgd_err']:.1f}%; best epoch {blob['nets'][name]['best_epoch']}, "
              f"second phase {len(second)} epochs; {trained.seconds / 60:.0f} min to train "
              f"({time.perf_counter() - t0:.0f} s this call)", flush=True)
        blob["written"] = time.strftime("%Y-%m-%d")
        blob["machine"] = "; ".join(dict.fromkeys(net["machine"] for net in blob["nets"].values()))
        paths.atomic_write_bytes(path, (json.dumps(blob, indent=1, default=list) + "\n").encode())
    print(f"wrote {paths.shown(path)}")
    return blob


if __name__ == "__main__":
    main()
