"""`make paper`: the paper's protocol, group by group (``helpers.protocol``).

    .venv/bin/python scripts/paper.py [--group base240 adv240 ...] [--seeds 0 1] [--budget SECONDS] [--stop-after SECONDS]
                                      [--profile paper] [--device cuda] [--precision tf32] [--out DIR]

Each finished group writes ``results/paper/<group>.json`` at once; a rerun skips finished
groups, so the command can be stopped and started again, and groups can be shared between
machines (``--group``). A group stopped by ``--budget`` or ``--stop-after`` keeps a checkpoint of
its running phase (``.cache/populations``), and the next run on this machine goes on from it.
Each net, once trained and scored, writes its record (``results/paper/<group>/<net>.json``): with
``--seeds``, a group too long for one session or one machine runs a few seeds at a time. The groups, in
priority order: base240, adv240, large, adv240clip, noise240, ensemble, capacity.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

from helpers import protocol
from helpers.training import PRECISIONS


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--group", nargs="+", choices=list(protocol.GROUPS), metavar="GROUP",
                    help=f"groups to run (default: all, in order: {' '.join(protocol.GROUPS)})")
    ap.add_argument("--budget", type=float, help="seconds: skip a group whose estimate does not fit, "
                                                 "abandon one that runs past it")
    ap.add_argument("--stop-after", type=float, metavar="SECONDS",
                    help="stop after this long, keeping a checkpoint: the next run goes on from it (a CPU session)")
    ap.add_argument("--seeds", type=int, nargs="+", metavar="SEED",
                    help="train only these seeds' nets of each group (the group file is written once every "
                         "net has its record: a group of hours, a few seeds per session or per machine)")
    ap.add_argument("--profile", default="paper", help="profile (smoke for a dry run)")
    ap.add_argument("--device", help="cpu or cuda (default: cuda where there is one)")
    ap.add_argument("--precision", choices=PRECISIONS, help="override the profile's maxout training precision")
    ap.add_argument("--out", type=Path, help="results folder (default: the profile's, results/paper)")
    ap.add_argument("--quiet", action="store_true", help="no progress bars")
    args = ap.parse_args(argv)
    for flag, value in (("--budget", args.budget), ("--stop-after", args.stop_after)):
        if value is not None and value <= 0:
            ap.error(f"{flag} must be a positive number of seconds, got {value}")
    device = torch.device(args.device) if args.device else None
    if device is not None and device.type == "cuda" and not torch.cuda.is_available():
        ap.error("--device cuda: no CUDA device is visible here (run without --device to use the CPU)")
    outcome = protocol.run(args.profile, args.group, args.budget, args.out, device, not args.quiet, args.precision,
                           stop_after=args.stop_after, seeds=args.seeds)
    for name, what in outcome.items():
        print(f"{name:>9}: {what}")
    return 0 if all(not w.startswith("stopped") for w in outcome.values()) else 3


if __name__ == "__main__":
    sys.exit(main())
