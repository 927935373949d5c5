#!/usr/bin/env bash
# The paper's protocol on a GPU machine, as one command (PyTorch only: no papermill, no
# jupytext, no network). Prepare here with `make gpu-pack` (MNIST's raw files, gzipped, into
# .carry/), then on the device, with `.carry` carried:
#     OUT=/path/that/comes/back bash scripts/gpu_paper.sh
# It runs the groups of helpers.protocol in priority order (or PAPER_GROUPS="large adv240clip ...")
# within BUDGET seconds, then packs
# results/paper, figures/paper, the seed-0 240-unit weights and the population benchmark into
# $OUT/paper-results.tar.gz (with the log beside it). Unpack here with `make gpu-unpack`.
# A dry run on a CPU at the smoke profile is part of `make test` (tests/test_protocol.py):
#     OUT=/tmp/x PROFILE=smoke DEVICE=cpu PRECISION=fp32 BENCH_SIZES=16x2 bash scripts/gpu_paper.sh
set -euo pipefail
: "${OUT:?set OUT to the folder whose files come back}"
PROFILE=${PROFILE:-paper}
DEVICE=${DEVICE:-cuda}
PRECISION=${PRECISION:-tf32}
BUDGET=${BUDGET:-450}
RESULTS=${RESULTS:-build/gpu/$PROFILE}
PY=${PYTHON:-python3}
cd "$(dirname "$0")/.."
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1
mkdir -p "$OUT" "$RESULTS"
if [ -d .carry/mnist ]; then
  mkdir -p data/MNIST/raw
  for f in .carry/mnist/*.gz; do gunzip -c "$f" > "data/MNIST/raw/$(basename "$f" .gz)"; done
fi
{
  echo "== $(date -u +%FT%TZ) profile $PROFILE, device $DEVICE, precision $PRECISION, budget $BUDGET s"
  $PY -c "import torch; print('torch', torch.__version__, torch.cuda.get_device_name() if torch.cuda.is_available() else 'no GPU')"
  $PY bench/run.py --population-only --device "$DEVICE" --out "$RESULTS/bench-population.json" \
      ${BENCH_SIZES:+--sizes $BENCH_SIZES --steps 2} || echo "bench failed"
  # CUDA graphs have never run here before a GPU session: train eagerly unless a few replayed
  # steps leave the weights that eager steps leave
  $PY -c "
import sys, torch
from helpers.population import graphs_agree
from helpers.training import TrainConfig
members = [TrainConfig(model='maxout', model_args={'units': 240}, objective=o, clip=c, precision='$PRECISION', seed=s)
           for s, (o, c) in enumerate([('fgsm', False), ('fgsm', True), ('clean', False), ('uniform', False)])]
ok = graphs_agree(members, torch.device('$DEVICE'))
print('CUDA graphs agree with eager steps:', ok)
sys.exit(0 if ok else 1)" || { echo "training eagerly (REPRO_CUDA_GRAPHS=0)"; export REPRO_CUDA_GRAPHS=0; }
  $PY scripts/paper.py --profile "$PROFILE" --device "$DEVICE" --precision "$PRECISION" --budget "$BUDGET" \
      --out "$RESULTS" --quiet ${PAPER_GROUPS:+--group $PAPER_GROUPS} || echo "paper.py exited with $?"
  $PY - "$PROFILE" "$RESULTS/weights" "$PRECISION" <<'PY'
import sys, shutil
from pathlib import Path
from helpers import experiments, profiles
from helpers.training import cache_path
P = profiles.get_profile(sys.argv[1]); P.maxout.precision = sys.argv[3]
out = Path(sys.argv[2]); out.mkdir(parents=True, exist_ok=True)
for objective, extra in (("clean", {}), ("fgsm", {}), ("fgsm", {"clip": True})):  # the seed-0 nets of Fig. 3
    path = cache_path(experiments.maxout(P, objective, P.maxout.seeds[0], **extra))
    if path.exists():
        shutil.copy(path, out / path.name); print("kept", path.name)
PY
} 2>&1 | tee "$OUT/log.txt"
tar -czf "$OUT/paper-results.tar.gz" -C "$RESULTS" .
ls -la "$OUT"
