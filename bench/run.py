"""`make bench`: how close the training and attack loops run to this machine's limit.

Prints one table and writes bench/results.json:
- the fp32 and bf16 matmul rates (the ceilings every model step is measured against);
- maxout training throughput (clean and FGSM-adversarial, batch 100 as the recipe) and the
  achieved GFLOP/s as a fraction of that ceiling, in fp32 and under bfloat16 autocast (the
  ``default`` profile's precision; measured against the bf16 matmul rate);
- FGSM over the 10k test set: ours against the obvious loop (and torchattacks if installed);
- GoogLeNet on 28 x 28 digits (notebook 01's net): training and evaluation throughput in
  the default (NCHW) and channels-last memory formats, and with ``--compile`` under
  ``torch.compile`` (minutes of compilation on a CPU, so not by default);
- the wall time and peak memory of each notebook from the last `make report`, and the peak
  memory of this benchmark.
"""
from __future__ import annotations

import argparse
import json
import resource
import time
from pathlib import Path
from typing import Optional

import torch
import torch.nn.functional as F

from helpers import data, paths, population
from helpers.machine import device_name, matmul_gflops
from helpers.render import read_timings
from helpers.attacks import perturb
from helpers.models import GoogLeNetMNIST, MaxoutMLP
from helpers.training import TrainConfig, build_model, native_bf16, train_step

OUT = Path(__file__).with_name("results.json")


def timed(fn, repeat: int, warmup: int = 3) -> float:
    """Seconds per call, best of three rounds of ``repeat`` calls."""
    for _ in range(warmup):
        fn()
    best = float("inf")
    for _ in range(3):
        t = time.perf_counter()
        for _ in range(repeat):
            fn()
        best = min(best, (time.perf_counter() - t) / repeat)
    return best


def maxout_flops(units: int, pieces: int = 5, layers: int = 2) -> float:
    """Forward multiply-adds x 2 for one example (the max and dropout are not counted)."""
    widths = [784] + [units] * layers
    f = sum(widths[i] * units * pieces for i in range(layers)) + units * 10
    return 2.0 * f


def train_step_rate(units: int, objective: str, steps: int, precision: str = "fp32") -> tuple[float, float]:
    """(examples/s, GFLOP/s) of one training step at batch 100.

    FLOPs per example: clean = forward + backward (2 x forward); adversarial = two of those
    plus the input-gradient pass (1 x forward)."""
    torch.manual_seed(0)
    config = TrainConfig(model="maxout", model_args={"units": units}, objective=objective, precision=precision)
    model = build_model(config).train()
    params = list(model.parameters())
    opt = torch.optim.SGD(params, lr=0.01, momentum=0.5)
    x, y = torch.rand(100, 1, 28, 28), torch.randint(0, 10, (100,))
    s = timed(lambda: train_step(model, opt, x, y, config, params), steps)
    per_example = maxout_flops(units) * (3 if objective == "clean" else 7)
    return 100 / s, 100 * per_example / s / 1e9


def population_rate(units: int, objective: str, members: int, steps: int, precision: str = "fp32",
                    device: torch.device = torch.device("cpu"), graphs: bool = False) -> float:
    """Examples/s of all members together of one ``population`` training step at batch 100
    (the mean over ``steps`` steps after warm-up; on a GPU replayed from a CUDA graph or eager)."""
    configs = [TrainConfig(model="maxout", model_args={"units": units}, objective=objective, precision=precision,
                           seed=k) for k in range(members)]
    return members * 100 / population.step_seconds(configs, device, steps, graphs)


def population_rows(device: torch.device, ceilings: dict[str, float], steps: int,
                    sizes: Optional[list[tuple[int, int]]] = None) -> list[dict]:
    """The population trainer against the one-net loop (``sizes``: (units, members); by default
    on a CPU 240 x 5 and 1600 x 2, on a GPU 1600 x 6 and 240 x 26 members, fp32 / tf32 / bf16,
    each eager and replayed from a CUDA graph)."""
    if device.type == "cuda":
        sizes = sizes or [(1600, 6), (240, 26)]
        precisions = ("fp32", "tf32", "bf16")
    else:
        sizes = sizes or [(240, 5), (1600, 2)]
        precisions = ("fp32", "bf16") if native_bf16(device) else ("fp32",)  # emulated bf16 measures nothing
    rows = []
    for units, members in sizes:
        for precision in precisions:
            for graphs in ((False, True) if device.type == "cuda" else (False,)):
                n = steps if units <= 240 else max(3, steps // 6)
                try:
                    pop = population_rate(units, "fgsm", members, n, precision, device, graphs)
                except RuntimeError as e:  # a capture that failed: say so in the row, go on
                    print(f"population {units} x {members} {precision} graphs: {e}", flush=True)
                    rows.append({"device": device_name(device), "units": units, "precision": precision,
                                 "members": members, "graphs": graphs, "error": str(e)})
                    continue
                single = None
                if device.type == "cpu":
                    single, _ = train_step_rate(units, "fgsm", n, precision)
                gflops = pop * maxout_flops(units) * 7 / 1e9
                ceiling = ceilings.get("bf16" if precision == "bf16" else "fp32")
                row = {"device": device_name(device),
                       "units": units, "objective": "fgsm", "precision": precision, "members": members,
                       "graphs": graphs, "examples_per_s": round(pop), "step_ms": round(1000 * members * 100 / pop, 2),
                       "fraction_of_matmul": round(gflops / ceiling, 3) if ceiling else None,
                       "speedup_vs_single": round(pop / single, 2) if single else None}
                rows.append(row)
                print(f"population {units:>4} x {members:>2} fgsm {precision}{' graphs' if graphs else ''}: "
                      f"{pop:8.0f} ex/s, {row['step_ms']} ms a step"
                      + (f", {100 * gflops / ceiling:.0f}% of {precision} matmul" if ceiling else "")
                      + (f", {pop / single:.2f}x the one-net loop" if single else ""), flush=True)
    return rows


def reference_fgsm(model, x, y, eps):
    """The obvious FGSM loop: a DataLoader of 100, loss.backward(), x.grad.sign()."""
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=100)
    model.eval()
    out = []
    for xb, yb in loader:
        xb = xb.clone().requires_grad_(True)
        loss = F.cross_entropy(model(xb), yb)
        model.zero_grad()
        loss.backward()
        out.append((xb + eps * xb.grad.sign()).clamp(0, 1).detach())
    return torch.cat(out)


def fgsm_rates(units: int = 240) -> dict[str, float]:
    x, y = data.mnist("test")
    model = MaxoutMLP(units=units).eval()
    rates = {"ours": len(x) / timed(lambda: perturb("fgsm", model, x, y, 0.25), 2, 1),
             "reference loop": len(x) / timed(lambda: reference_fgsm(model, x, y, 0.25), 2, 1)}
    try:
        import torchattacks

        atk = torchattacks.FGSM(model, eps=0.25)
        rates["torchattacks"] = len(x) / timed(lambda: atk(x, y), 2, 1)
    except ImportError:
        pass
    return rates


def googlenet_rates(channels_last: bool, compile: bool = False, steps: int = 6) -> dict[str, float]:
    """Training (Adam, batch 128) and evaluation (batch 1000) examples/s of notebook 01's GoogLeNet."""
    torch.manual_seed(0)
    model = GoogLeNetMNIST(channels_last=channels_last)
    run = torch.compile(model) if compile else model
    opt = torch.optim.Adam(model.parameters(), 1e-3)
    x, y, xe = torch.rand(128, 1, 28, 28), torch.randint(0, 10, (128,)), torch.rand(1000, 1, 28, 28)

    def step():
        loss = F.cross_entropy(run(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    t0 = time.perf_counter()
    model.train()
    train = 128 / timed(step, steps, 2)
    model.eval()
    with torch.inference_mode():
        evaluate = 1000 / timed(lambda: run(xe), 2, 1)
    return {"train": train, "eval": evaluate, "seconds": time.perf_counter() - t0}


def notebook_times(profile: str = "default") -> dict[str, dict]:
    """{notebook: {"seconds", "peak_mb"}} from the last `make report` (peak where GNU time ran)."""
    timings = read_timings(paths.BUILD_DIR / "notebooks" / profile)
    return {nb: {"seconds": secs, "peak_mb": peak} for nb, (secs, peak) in timings.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=30, help="timed training steps per round")
    ap.add_argument("--large", type=int, default=1600, help="the large maxout width (0 to skip)")
    ap.add_argument("--compile", action="store_true", help="also time GoogLeNet under torch.compile (slow)")
    ap.add_argument("--population-only", action="store_true", help="only the population rows (the GPU script)")
    ap.add_argument("--device", default="cpu", help="device for the population rows")
    ap.add_argument("--out", type=Path, default=OUT, help="where the JSON goes")
    ap.add_argument("--sizes", help="population sizes as UNITSxMEMBERS,... (default: by device)")
    args = ap.parse_args()
    device = torch.device(args.device)
    sizes = [tuple(int(v) for v in size.split("x")) for size in args.sizes.split(",")] if args.sizes else None
    if args.population_only:
        ceilings = {}
        if device.type == "cpu":  # a CPU without bf16 instructions emulates them: minutes, and no ceiling
            ceilings = {"fp32": matmul_gflops(), **({"bf16": matmul_gflops(dtype=torch.bfloat16)}
                                                   if native_bf16(device) else {})}
        blob = {"population": population_rows(device, ceilings, args.steps, sizes), "torch": torch.__version__}
        paths.atomic_write_bytes(args.out, (json.dumps(blob, indent=1) + "\n").encode())
        print(f"wrote {paths.shown(args.out)}")
        return

    ceilings = {"fp32": matmul_gflops(), "bf16": matmul_gflops(dtype=torch.bfloat16)}
    for precision, ceiling in ceilings.items():
        print(f"{precision} matmul: {ceiling:.0f} GFLOP/s ({torch.get_num_threads()} threads)")
    rows = []
    for units in [240] + ([args.large] if args.large else []):
        for precision, ceiling in ceilings.items():
            for objective in ("clean", "fgsm"):
                steps = args.steps if units <= 240 else max(3, args.steps // 6)
                ex, gf = train_step_rate(units, objective, steps, precision)
                rows.append({"units": units, "objective": objective, "precision": precision,
                             "examples_per_s": round(ex), "gflops": round(gf, 1),
                             "fraction_of_matmul": round(gf / ceiling, 3), "epoch_s_50k": round(50_000 / ex, 1)})
                print(f"maxout {units:>4} x 5 {objective:>5} {precision}: {ex:8.0f} ex/s  {gf:6.1f} GFLOP/s "
                      f"({100 * gf / ceiling:.0f}% of {precision} matmul)  ~{50_000 / ex:.0f} s per 50k epoch")
    pop_rows = population_rows(device, ceilings, args.steps, sizes)
    fg = fgsm_rates()
    for k, v in fg.items():
        print(f"FGSM on 10k test ({k}): {v:,.0f} examples/s ({v / fg['reference loop']:.2f}x reference)")
    gnet = {"NCHW": googlenet_rates(False), "channels-last": googlenet_rates(True)}
    if args.compile:
        gnet["channels-last + torch.compile"] = googlenet_rates(True, compile=True)
    for k, v in gnet.items():
        print(f"GoogLeNet 28x28 ({k}): train {v['train']:.0f} ex/s, eval {v['eval']:.0f} ex/s "
              f"({v['seconds']:.0f} s to measure, compilation included)")
    times = notebook_times()
    for k, v in times.items():
        peak = f", peak memory {v['peak_mb']} MB" if v["peak_mb"] else ""
        print(f"notebook {k}: {v['seconds']} s{peak} (last make report)")
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory of this benchmark: {peak_mb:.0f} MB")
    blob = {"matmul_gflops": {k: round(v, 1) for k, v in ceilings.items()}, "training": rows, "population": pop_rows,
            "fgsm_examples_per_s": fg,
            "googlenet_examples_per_s": gnet, "notebooks": times, "peak_memory_mb": round(peak_mb), "threads": torch.get_num_threads(),
            "torch": torch.__version__}
    paths.atomic_write_bytes(args.out, (json.dumps(blob, indent=1) + "\n").encode())
    print(f"wrote {paths.shown(args.out)}")


if __name__ == "__main__":
    main()
