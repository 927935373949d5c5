"""Many maxout nets of one architecture trained in lockstep, one batched step for all.

Each weight carries a leading member dimension ``K`` and every layer is one batched matmul
(``baddbmm``), so K nets cost about what one net K times wider costs, without the per-op
overhead of K separate loops. Every member keeps what makes it a run of its own: its seed
(initialisation, dropout masks, minibatch order, noise; each from its own generators, so one
member's settings never change another's weights), its objective (clean, fgsm, sign,
uniform; alpha, eps, clip), its learning-rate and momentum schedule, max-norm, L1, early
stopping with its own patience and best weights, and its second phase on 60,000 (restart or
the recipe's continuation). A member that has stopped leaves the population: the tensors
shrink and it costs nothing more.

``train_population`` returns the same ``Trained`` as ``training.train_model`` and saves it
under the same cache key, so notebooks and the cache do not care how a net was trained;
``train_model`` stays the one-net reference.

The maths of a step are those of ``training.train_step`` (same objective, same SGD momentum
form, max-norm after the step), with the backward pass written out (``objective``; a test holds
it to autograd's gradients of the one-net objective). The GPU path keeps the data on the device,
does not synchronise with the host inside an epoch (the rate is computed on the device from a
step counter, the losses are summed there) and replays the whole step from a CUDA graph
(``Stepper``).
"""
from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import os
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from . import data as D
from . import models as M
from . import paths
from . import training
from .attacks import PROTOCOLS
from .training import (Start, TrainConfig, Trained, build_model, cache_path, continuation_start, default_device,
                       flush_tiny, load_cached, match_reached, matmul_precision, save_trained, schedule,
                       seed_everything)

KINDS = {"clean": 0, "fgsm": 1, "sign": 2, "uniform": 3}


class OutOfTime(RuntimeError):
    """A population passed its deadline (``time.monotonic()``) and was abandoned (its
    checkpoint, where it keeps one, lets the next call go on from there)."""


# a running phase saves its state this often (wall seconds), so that a run of hours survives
# a stop: the next call with the same jobs goes on from the last save, bit for bit
CHECKPOINT_SECONDS = 600.0
# on a GPU the step is replayed from a CUDA graph (``Stepper``); REPRO_CUDA_GRAPHS=0 runs it eagerly
CUDA_GRAPHS = os.environ.get("REPRO_CUDA_GRAPHS", "1") != "0"
# model_args that may differ between members (they do not change the shapes of the step)
PER_MEMBER_ARGS = ("max_norm", "init_range")


def _arch(config: TrainConfig) -> dict:
    """The architecture a population shares: MaxoutMLP's arguments with their defaults."""
    return _arch_of(json.dumps(config.model_args, sort_keys=True))


@functools.lru_cache(maxsize=None)
def _arch_of(model_args: str) -> dict:
    # built once per set of arguments: a 1600-unit net has 19M weights to initialise
    net = M.MaxoutMLP(**json.loads(model_args))
    first = net.first_layer
    layers = sum(isinstance(m, M.Maxout) for m in net.features)
    drops = [m for m in net.features if isinstance(m, M.Dropout)]
    return {"units": first.units, "pieces": first.pieces, "layers": layers, "in_features": first.linear.in_features,
            "classes": net.classifier.out_features, "output": net.output,
            "dropout": tuple((d.p, d.scale) for d in drops)}


def architecture_key(config: TrainConfig) -> str:
    """What members must share to train together, as a string (``_arch``)."""
    return repr(sorted(_arch(config).items()))


def check_population(configs: list[TrainConfig]) -> None:
    """Reject what one population cannot train together, saying why."""
    if not configs:
        raise ValueError("train_population needs at least one TrainConfig")
    shared = ("data", "n_train", "n_valid", "train_split", "batch_size", "precision", "optimizer")
    first = configs[0]
    for c in configs:
        if c.model != "maxout" or c.data != "mnist":
            raise ValueError(f"train_population trains maxout nets on MNIST, not {c.model!r} on {c.data!r}: "
                             "use training.train_model")
        if c.objective not in KINDS:
            raise ValueError(f"objective {c.objective!r} is not trained in populations; choose from {list(KINDS)}")
        if c.augment_from is not None or c.optimizer != "sgd":
            raise ValueError("augment_from and optimizer='adam' are trained one net at a time: use training.train_model")
        for name in shared:
            if getattr(c, name) != getattr(first, name):
                raise ValueError(f"the members of a population must share {name!r} "
                                 f"({getattr(first, name)!r} vs {getattr(c, name)!r})")
    arch = _arch(first)
    if arch["output"] != "softmax":
        raise ValueError("train_population trains softmax maxout nets; use training.train_model for output="
                         f"{arch['output']!r}")
    for c in configs[1:]:
        if _arch(c) != arch:
            raise ValueError(f"the members of a population must share one architecture: {_arch(c)} vs {arch}")


# --- the batched net --------------------------------------------------------------------------

def stack_weights(nets: list[M.MaxoutMLP]) -> list[torch.Tensor]:
    """[W, b] per layer with a leading member dimension; W is (K, out, in) as Linear.weight, so
    that max-norm reduces over contiguous rows (10x faster than over columns on a CPU)."""
    linears = [[m.linear for m in net.features if isinstance(m, M.Maxout)] + [net.classifier] for net in nets]
    out = []
    for layer in range(len(linears[0])):
        out.append(torch.stack([lin[layer].weight.detach() for lin in linears]).contiguous())
        out.append(torch.stack([lin[layer].bias.detach() for lin in linears]).contiguous())
    return out


def member_state(params: list[torch.Tensor], k: int, template: M.MaxoutMLP) -> dict:
    """Member ``k``'s weights as a MaxoutMLP state dict."""
    names = [n for n, _ in template.named_parameters()]
    state = {}
    for i, name in enumerate(names):
        state[name] = params[i][k].detach().clone().cpu()
    return state


def forward(params: list[torch.Tensor], x: torch.Tensor, pieces: int) -> torch.Tensor:
    """Scores (K, B, classes) of x (K, B, in) in evaluation (no dropout)."""
    return _forward_saved(params, x, pieces)[0]


def member_losses(scores: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Each member's mean cross-entropy over its batch: (K,)."""
    return F.cross_entropy(scores.flatten(0, 1).float(), y.flatten(), reduction="none").view(y.shape).mean(1)


@dataclass
class Hyper:
    """Per-member objective settings as (K,) tensors."""

    kind: torch.Tensor  # KINDS codes
    alpha: torch.Tensor  # weight of the clean term, 1 where there is no second term
    eps: torch.Tensor
    clip: torch.Tensor  # bool

    def select(self, keep: torch.Tensor) -> "Hyper":
        return Hyper(*(getattr(self, f.name)[keep] for f in dataclasses.fields(self)))


def _forward_saved(params: list[torch.Tensor], x: torch.Tensor, pieces: int,
                   masks: Optional[list[torch.Tensor]] = None):
    """Scores (K, B, classes), and what the backward pass needs: each linear layer's input
    (dropped out) and each maxout layer's winning piece. ``masks``: one scaled dropout mask per
    dropout layer (input, then after each maxout layer), or None in evaluation."""
    a = x if masks is None else x * masks[0].to(x.dtype)
    inputs, winners = [a], []
    for layer in range(len(params) // 2 - 1):
        z = torch.baddbmm(params[2 * layer + 1].unsqueeze(1), a, params[2 * layer].transpose(1, 2))
        a, i = z.unflatten(-1, (-1, pieces)).max(-1)
        winners.append(i)
        if masks is not None:
            a = a * masks[layer + 1].to(a.dtype)
        inputs.append(a)
    return torch.baddbmm(params[-1].unsqueeze(1), a, params[-2].transpose(1, 2)), inputs, winners


def _backward(params: list[torch.Tensor], pieces: int, masks: list[torch.Tensor], winners: list[torch.Tensor],
              delta: torch.Tensor, to_input: bool):
    """Gradients of sum(delta * scores) with respect to each linear layer's output (first layer
    first) and, where ``to_input``, to the input x."""
    outs = [delta]
    d = torch.bmm(delta, params[-2])
    n = len(params) // 2 - 1
    for layer in reversed(range(n)):
        d = d * masks[layer + 1].to(d.dtype)
        i = winners[layer]
        dz = torch.zeros(*i.shape, pieces, dtype=d.dtype, device=d.device)
        dz = dz.scatter_(-1, i.unsqueeze(-1), d.unsqueeze(-1)).flatten(-2)
        outs.insert(0, dz)
        if layer > 0 or to_input:
            d = torch.bmm(dz, params[2 * layer])
    return outs, (d * masks[0].to(d.dtype) if to_input else None)


def _ce(scores: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Each member's mean cross-entropy (K,) and its gradient per example, unscaled: softmax - onehot."""
    logp = torch.log_softmax(scores.float(), -1)
    nll = -logp.gather(-1, y.unsqueeze(-1)).squeeze(-1)
    p = logp.exp_()
    p.scatter_add_(-1, y.unsqueeze(-1), torch.full_like(nll, -1.0).unsqueeze(-1))
    return nll.mean(1), p.to(scores.dtype)


def objective(params: list[torch.Tensor], x: torch.Tensor, y: torch.Tensor, hyper: Hyper, pieces: int,
              masks: list[torch.Tensor], masks_other: list[torch.Tensor], noise: Optional[torch.Tensor],
              fgsm: Optional[bool] = None, second: Optional[bool] = None,
              grads: bool = True) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """Each member's alpha J(x) + (1 - alpha) J(x~) (K,), as ``training.adversarial_loss`` in train
    mode, and the gradients of their sum with respect to ``params`` (fp32; [] unless ``grads``).
    x~ = x + eps sign(grad_x J) (fgsm, the gradient from the same forward pass and mask),
    x + eps s (sign: ``noise`` is s) or x + eps u (uniform: ``noise`` is u in [-1, 1]), clipped
    to [0, 1] where the member clips. ``fgsm`` (any member attacks) and ``second`` (any member
    has a second term) are read off ``hyper`` unless given (the trainer gives them, to stay off
    the host inside an epoch).

    The backward pass is written out rather than left to autograd: the clean pass's backward
    gives FGSM's input gradient and the weight gradients at once, and the clean and second
    passes share one weight-gradient matmul over 2B rows, a shape a CPU runs nearer its peak
    (the step ran 1.2-1.4x faster than autograd's on a 2-core CPU)."""
    fgsm = bool((hyper.kind == KINDS["fgsm"]).any()) if fgsm is None else fgsm
    second = bool((hyper.alpha != 1).any()) if second is None else second
    K, B = y.shape
    scores, inputs, winners = _forward_saved(params, x, pieces, masks)
    clean, delta = _ce(scores, y)
    if not (grads or second):
        return clean, []
    dz, g = _backward(params, pieces, masks, winners, delta, fgsm and second) if grads or fgsm else ([], None)
    alpha = hyper.alpha.to(x.dtype)
    s_c = (alpha / B).view(-1, 1, 1)  # each clean row's weight in the objective
    if not second:
        rows, weights, loss = [a * s_c for a in inputs], s_c.expand(K, 1, B), clean
    else:
        direction = torch.zeros_like(x) if noise is None else noise.to(x.dtype)
        if fgsm:
            direction = torch.where((hyper.kind == KINDS["fgsm"]).view(-1, 1, 1), g.sign(), direction)
        x_other = x + hyper.eps.view(-1, 1, 1).to(x.dtype) * direction
        x_other = torch.where(hyper.clip.view(-1, 1, 1), x_other.clamp(*PROTOCOLS["clipped"]), x_other).to(x.dtype)
        scores_o, inputs_o, winners_o = _forward_saved(params, x_other, pieces, masks_other)
        other, delta_o = _ce(scores_o, y)
        loss = hyper.alpha * clean + (1 - hyper.alpha) * other
        if not grads:
            return loss, []
        dz_o, _ = _backward(params, pieces, masks_other, winners_o, delta_o, False)
        s_o = ((1 - alpha) / B).view(-1, 1, 1)
        rows = [torch.cat([a * s_c, b * s_o], 1) for a, b in zip(inputs, inputs_o)]
        dz = [torch.cat([a, b], 1) for a, b in zip(dz, dz_o)]
        weights = torch.cat([s_c.expand(K, 1, B), s_o.expand(K, 1, B)], 2)
    out = []
    for d, a in zip(dz, rows):
        out.append(torch.bmm(d.transpose(1, 2), a).float())
        out.append(torch.bmm(weights, d).squeeze(1).float())
    return loss, out


# --- one phase of training ---------------------------------------------------------------------

@dataclass
class Job:
    """One member's run in one phase: a fresh net (``start`` None) or a continuation."""

    config: TrainConfig
    split: str  # "train" (validation on the last 10,000) or "train_full"
    epochs: int  # at most
    start: Optional[Start] = None
    match_target: Optional[float] = None  # continuation: stop when the objective on valid falls to it


def _index(split: str, n: Optional[int], seed: int) -> torch.Tensor:
    """The examples of ``split`` a member trains on: ``data.subset``'s choice, as indices."""
    total = len(D.mnist(split)[1])
    if n is None or n >= total:
        return torch.arange(total)
    return torch.randperm(total, generator=torch.Generator().manual_seed(seed))[:n]


class _Population:
    """The state of a running phase: stacked weights, velocities, generators, schedules."""

    def __init__(self, jobs: list[Job], device: torch.device):
        self.jobs, self.device = jobs, device
        c0 = jobs[0].config
        arch = _arch(c0)
        self.pieces, self.classes = arch["pieces"], arch["classes"]
        self.dropout = arch["dropout"]
        self.widths = [arch["in_features"]] + [arch["units"]] * arch["layers"]
        nets = []
        for job in jobs:
            seed_everything(job.config.seed)  # the same initialisation as train_model's
            net = build_model(job.config)
            if job.start is not None:
                net.load_state_dict(job.start.state)
            nets.append(net)
        self.template = nets[0]
        self.params = [p.to(device) for p in stack_weights(nets)]
        self.velocity = [torch.zeros_like(p) for p in self.params]
        cfgs = [j.config for j in jobs]
        f64 = dict(dtype=torch.float64, device=device)
        self.max_norm = torch.tensor([c.model_args.get("max_norm", M.MAX_COL_NORM) or float("inf") for c in cfgs],
                                     device=device)
        self.l1 = torch.tensor([c.l1 for c in cfgs], device=device)
        kinds = torch.tensor([KINDS[c.objective] for c in cfgs], device=device)
        plain = torch.tensor([c.objective == "clean" or c.alpha == 1 or (c.objective == "fgsm" and c.eps == 0)
                              for c in cfgs], device=device)
        self.hyper = Hyper(kinds, torch.where(plain, 1.0, torch.tensor([c.alpha for c in cfgs], device=device)),
                           torch.tensor([c.eps for c in cfgs], device=device),
                           torch.tensor([c.clip for c in cfgs], device=device))
        # the rate, on the device from a step counter: recipe decay or linear annealing
        self.lr_base = torch.tensor([j.start.lr if j.start else j.config.lr for j in jobs], **f64)
        self.lr_decay = torch.tensor([c.lr_decay for c in cfgs], **f64)
        self.lr_min = torch.tensor([c.lr_min if c.lr_decay != 1 else 0.0 for c in cfgs], **f64)
        self.linear = torch.tensor([c.lr_schedule == "linear" and j.start is None for c, j in zip(cfgs, jobs)],
                                   device=device)
        self.split = jobs[0].split
        self.n_examples = len(_index(self.split, c0.n_train, c0.seed))
        self.steps_per_epoch = -(-self.n_examples // c0.batch_size)
        self.total_steps = torch.tensor([j.epochs * self.steps_per_epoch for j in jobs], **f64)
        self.step = torch.zeros((), **f64)
        self.examples = torch.stack([_index(self.split, c.n_train, c.seed) for c in cfgs]).to(device)
        self.order = [torch.Generator().manual_seed(c.seed) for c in cfgs]
        self.mask_gen = [torch.Generator(device=device).manual_seed(c.seed + 2) for c in cfgs]
        self.noise_gen = [torch.Generator(device=device).manual_seed(c.seed + 1) for c in cfgs]
        self.alive = list(range(len(jobs)))  # positions in ``jobs`` of the members still training
        self.steps_taken = 0  # on the host: when to flush tiny velocities
        self.version = 0
        self._host_flags()

    def _host_flags(self) -> None:
        # what decides the shape of the step, known on the host so that a step never asks the device
        self.kinds = self.hyper.kind.tolist()
        self.fgsm = KINDS["fgsm"] in self.kinds
        self.needs_second = (self.hyper.alpha != 1).tolist()
        self.second = any(self.needs_second)
        self.second_keep = self.hyper.alpha != 1  # on the device: a step indexes nothing from the host
        self.has_l1 = bool((self.l1 > 0).any())
        self.version += 1  # the shapes or tensors of the step changed: a captured graph is stale

    # what the members still training need, as lists indexed by position in the population
    def _gens(self, gens: list) -> list:
        return [gens[i] for i in self.alive]

    def lr(self) -> torch.Tensor:
        decayed = torch.maximum(self.lr_min, self.lr_base * self.lr_decay.pow(-self.step))
        annealed = self.lr_base * (1 - self.step / self.total_steps).clamp(min=0)
        return torch.where(self.linear, annealed, decayed).float()

    def masks(self, batch: int, second: bool = False, dtype: torch.dtype = torch.float32) -> list[torch.Tensor]:
        """One scaled mask per dropout layer, each member's drawn from its own generator. For the
        ``second`` pass only the members with a second term draw (the others' masks are unused
        and left at zero), so that no member's draws depend on another's objective.

        Each 63-bit draw (``random_`` on int64) gives three 16-bit uniforms, about 2.5x faster than
        ``rand`` on a CPU: a unit is kept when its uniform is at least p (p quantised to 1/65536)."""
        width = sum(self.widths)
        n = batch * width
        draws = -(-n // 3)
        u = torch.full((len(self.alive), draws, 3), -2 ** 15, dtype=torch.int16, device=self.device)
        bits = torch.empty(draws, dtype=torch.int64, device=self.device)
        for k, g in enumerate(self._gens(self.mask_gen)):
            if not second or self.needs_second[k]:
                # the low three 16-bit words of each draw (the top one lacks its sign bit)
                u[k] = bits.random_(generator=g).view(torch.int16).view(draws, 4)[:, :3]
        u = u.view(len(self.alive), -1)[:, :n].view(len(self.alive), batch, width)
        out, at = [], 0
        zero = torch.zeros((), dtype=dtype, device=self.device)
        for n, (p, scale) in zip(self.widths, self.dropout):
            threshold = round(p * 2 ** 16) - 2 ** 15
            out.append(torch.where(u[..., at:at + n] >= threshold, torch.full_like(zero, scale), zero))
            at += n
        if second and not all(self.needs_second):  # the others' (unused) masks drop everything
            out = [m * self.second_keep.view(-1, 1, 1).to(m.dtype) for m in out]
        return out

    def noise(self, shape: torch.Size) -> Optional[torch.Tensor]:
        """sign / uniform members' noise in units of eps (each from its own generator); None if none."""
        if not any(k in (KINDS["sign"], KINDS["uniform"]) for k in self.kinds):
            return None
        out = torch.zeros(shape, device=self.device)
        for k, (kind, g) in enumerate(zip(self.kinds, self._gens(self.noise_gen))):
            if kind == KINDS["sign"]:
                out[k] = torch.randint(0, 2, shape[1:], generator=g, device=self.device).float() * 2 - 1
            elif kind == KINDS["uniform"]:
                out[k] = torch.rand(shape[1:], generator=g, device=self.device) * 2 - 1
        return out

    def losses_and_grads(self, x: torch.Tensor, y: torch.Tensor, precision: str,
                         grads: bool = True) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Each member's objective on its batch in training mode (fresh masks and noise) and, where
        ``grads``, the gradients of their sum (with the L1 penalty) with respect to the weights."""
        dtype = torch.bfloat16 if precision == "bf16" else torch.float32
        masks = self.masks(x.shape[1], dtype=dtype)
        masks_other = self.masks(x.shape[1], second=True, dtype=dtype) if self.second else []
        params = self.params
        if precision == "bf16":  # matmuls in bf16 from the fp32 weights, each cast once per step
            params, x = [p.to(dtype) for p in params], x.to(dtype)
        losses, out = objective(params, x, y, self.hyper, self.pieces, masks, masks_other,
                                self.noise(x.shape) if self.second else None, self.fgsm, self.second, grads)
        if grads and self.has_l1:
            out[0] = out[0] + self.l1.view(-1, 1, 1) * self.params[0].sign()
        return losses, out

    def train_step(self, x: torch.Tensor, y: torch.Tensor, momentum: torch.Tensor, precision: str) -> torch.Tensor:
        """One SGD step for every member; returns their objectives (K,) without a host sync."""
        losses = self.update(x, y, momentum, precision)
        self.after_step()
        return losses

    def after_step(self) -> None:
        """The host's part of a step (kept out of a CUDA graph): now and then, flush tiny velocities."""
        self.steps_taken += 1
        if self.steps_taken % training.FLUSH_EVERY == 0:
            with torch.no_grad():
                flush_tiny(self.velocity)

    def update(self, x: torch.Tensor, y: torch.Tensor, momentum: torch.Tensor, precision: str) -> torch.Tensor:
        """The device's part of a step: no host sync and no host data, so that it can be captured."""
        losses, grads = self.losses_and_grads(x, y, precision)
        lr = self.lr()
        with torch.no_grad():
            for p, v, g in zip(self.params, self.velocity, grads):
                shape = (-1,) + (1,) * (p.dim() - 1)
                # torch.optim.SGD's form: v = mu v + g, p -= lr v
                torch.addcmul(g, v, momentum.view(shape), out=v)
                p.addcmul_(v, lr.view(shape), value=-1)
            for w in self.params[0::2]:  # max-norm of each unit-piece's incoming weights, after the step
                norm = torch.linalg.vector_norm(w, dim=2, keepdim=True)
                limit = self.max_norm.view(-1, 1, 1)
                w.mul_(torch.where(norm > limit, limit / (norm + 1e-7), 1.0))
        self.step += 1
        return losses

    def evaluate(self, x: torch.Tensor, y: torch.Tensor, adversarial: bool,
                 batch: int = 2000) -> tuple[torch.Tensor, Optional[torch.Tensor]]:
        """Clean and (clipped or not, as each member trains) FGSM error rates (K,), eval mode."""
        wrong = torch.zeros(len(self.alive), device=self.device)
        wrong_adv = torch.zeros_like(wrong)
        params = self.params
        for i in range(0, len(x), batch):
            xb = x[i:i + batch].flatten(1).expand(len(self.alive), -1, -1)
            yb = y[i:i + batch].expand(len(self.alive), -1)
            if adversarial:
                xg = xb.clone().requires_grad_(True)
                with torch.enable_grad():
                    scores = forward(params, xg, self.pieces)
                    (g,) = torch.autograd.grad(member_losses(scores, yb).sum(), xg)
                wrong += (scores.detach().argmax(-1) != yb).sum(1)
                xa = xb + self.hyper.eps.view(-1, 1, 1) * g.sign()
                xa = torch.where(self.hyper.clip.view(-1, 1, 1), xa.clamp(*PROTOCOLS["clipped"]), xa)
                with torch.no_grad():
                    wrong_adv += (forward(params, xa, self.pieces).argmax(-1) != yb).sum(1)
            else:
                with torch.no_grad():
                    wrong += (forward(params, xb, self.pieces).argmax(-1) != yb).sum(1)
        return wrong / len(x), (wrong_adv / len(x) if adversarial else None)

    def dropout_objective(self, x: torch.Tensor, y: torch.Tensor, precision: str, batch: int = 1000) -> torch.Tensor:
        """Each member's training objective on (x, y) in training mode, no step (K,)."""
        total = torch.zeros(len(self.alive), device=self.device)
        for i in range(0, len(x), batch):
            xb = x[i:i + batch].flatten(1).expand(len(self.alive), -1, -1)
            yb = y[i:i + batch].expand(len(self.alive), -1)
            losses, _ = self.losses_and_grads(xb, yb, precision, grads=False)
            total += losses * yb.shape[1]
        return total / len(x)

    def keep(self, keep: list[int]) -> None:
        """Drop the members not at the positions ``keep`` (of the alive list)."""
        idx = torch.tensor(keep, device=self.device)
        self.params = [p[idx] for p in self.params]
        self.velocity = [v[idx] for v in self.velocity]
        for name in ("max_norm", "l1", "lr_base", "lr_decay", "lr_min", "linear", "total_steps", "examples"):
            setattr(self, name, getattr(self, name)[idx])
        self.hyper = self.hyper.select(idx)
        self.alive = [self.alive[i] for i in keep]
        self._host_flags()


class Stepper:
    """``pop``'s training step on the rows ``idx`` (K, B) of the data (x, y), replayed from a CUDA
    graph where ``graphs``, otherwise run eagerly, by the same code: the rows and the momentum
    are copied into fixed buffers that the step reads, and the step gathers the batch itself.

    A graph is captured after ``WARMUP`` eager steps (on a side stream, as CUDA graphs ask) and
    again whenever the population changes (a member leaves); a batch of another size (the last
    of an epoch) runs eagerly. The generators the step draws from are registered with the graph,
    so replay i draws what eager step i would. If capture fails, a warning says why and training goes on
    eagerly: a rare GPU session should lose speed, not its run."""

    WARMUP = 2

    def __init__(self, pop: "_Population", x: torch.Tensor, y: torch.Tensor, precision: str, graphs: bool = False):
        self.pop, self.x, self.y, self.precision = pop, x, y, precision
        self.graphs = graphs and pop.device.type == "cuda"
        self.stream = torch.cuda.Stream(pop.device) if self.graphs else None
        self.graph: Optional[torch.cuda.CUDAGraph] = None
        self.version = None  # pop.version the buffers (and graph) were made for
        self.warm = 0  # eager steps since then

    def _buffers(self, idx: torch.Tensor, momentum: torch.Tensor) -> None:
        self.graph, self.out, self.version, self.warm = None, None, self.pop.version, 0
        self.idx, self.momentum = torch.zeros_like(idx), torch.zeros_like(momentum)

    def _generators(self) -> list[torch.Generator]:
        """The generators the step draws from: every member's masks, the noise of sign / uniform members."""
        pop = self.pop
        noisy = [g for g, kind in zip(pop._gens(pop.noise_gen), pop.kinds)
                 if pop.second and kind in (KINDS["sign"], KINDS["uniform"])]
        return pop._gens(pop.mask_gen) + noisy

    def _run(self) -> torch.Tensor:
        return self.pop.update(self.x[self.idx], self.y[self.idx], self.momentum, self.precision)

    def _capture(self) -> None:
        pop, graph = self.pop, torch.cuda.CUDAGraph()
        entry = torch.cuda.current_stream(pop.device)
        try:
            for g in self._generators():
                graph.register_generator_state(g)
            with torch.cuda.graph(graph, stream=self.stream):
                self.out = self._run()
            self.graph = graph
        except Exception as e:  # anything the capture meets that it cannot record
            warnings.warn(f"CUDA graph capture of the population step failed ({type(e).__name__}: {e}); "
                          "training goes on eagerly", stacklevel=2)
            self.graphs = False
            torch.cuda.set_stream(entry)  # a capture_end that raised left the capture stream current
            torch.cuda.synchronize(pop.device)
            # a capture_end that raised can leave the generators marked as capturing, and their
            # next eager draw fails: give each a fresh state at the same seed and offset
            index = pop.device.index if pop.device.index is not None else torch.cuda.current_device()
            for g in self._generators() + [torch.cuda.default_generators[index]]:
                g.graphsafe_set_state(g.clone_state())

    def __call__(self, idx: torch.Tensor, momentum: torch.Tensor) -> torch.Tensor:
        """One step of every member; their objectives (K,), on the device."""
        if self.version != self.pop.version:
            self._buffers(idx, momentum)
        if idx.shape != self.idx.shape:  # a short last batch
            out = self.pop.update(self.x[idx], self.y[idx], momentum, self.precision)
        else:
            self.idx.copy_(idx)
            self.momentum.copy_(momentum)
            if self.graphs and self.graph is None and self.warm >= self.WARMUP:
                self._capture()
            if self.graph is not None:
                self.graph.replay()
                out = self.out.clone()  # the next replay overwrites self.out
            elif self.graphs:  # warm-up, on a side stream
                self.stream.wait_stream(torch.cuda.current_stream(self.pop.device))
                with torch.cuda.stream(self.stream):
                    out = self._run()
                torch.cuda.current_stream(self.pop.device).wait_stream(self.stream)
                self.warm += 1
            else:
                out = self._run()
        self.pop.after_step()
        return out


def step_seconds(configs: list[TrainConfig], device: torch.device, steps: int = 3,
                 graphs: Optional[bool] = None) -> float:
    """Seconds of one training step of ``configs`` as one population, on random data (after
    warm-up steps, in the configs' precision; on a GPU replayed from a CUDA graph unless
    ``graphs`` is False): the unit of ``make bench`` and of time estimates."""
    pop = _Population([Job(c, "train", 1) for c in configs], device)
    K, B, precision = len(configs), configs[0].batch_size, configs[0].precision
    x, y = torch.rand(K * B, pop.widths[0], device=device), torch.randint(0, pop.classes, (K * B,), device=device)
    idx = torch.arange(K * B, device=device).view(K, B)
    momentum = torch.full((K,), 0.5, device=device)
    step = Stepper(pop, x, y, precision, CUDA_GRAPHS if graphs is None else graphs)
    with matmul_precision(precision):
        for _ in range(Stepper.WARMUP + 1 if step.graphs else 1):
            step(idx, momentum)
        if graphs and step.graph is None:
            raise RuntimeError("the population step was not captured in a CUDA graph (see the warning above)")
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        t = time.perf_counter()
        for _ in range(steps):
            step(idx, momentum)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
    return (time.perf_counter() - t) / steps


def graphs_agree(configs: list[TrainConfig], device: torch.device, steps: int = 4) -> bool:
    """Whether steps replayed from a CUDA graph leave the weights that eager steps leave, from
    the same start, data and draws (the GPU script asks this before it trains, and trains
    eagerly if not). True where there is nothing to compare (a CPU, or a capture that failed
    and fell back to eager steps)."""
    K, B, arch = len(configs), configs[0].batch_size, _arch(configs[0])
    g = torch.Generator().manual_seed(0)
    x = torch.rand(K * B, arch["in_features"], generator=g).to(device)
    y = torch.randint(0, arch["classes"], (K * B,), generator=g).to(device)
    idx = torch.randperm(K * B, generator=g).view(K, B).to(device)
    momentum = torch.full((K,), 0.5, device=device)
    weights = []
    with matmul_precision(configs[0].precision):
        for graphs in (False, True):
            pop = _Population([Job(c, "train", 1) for c in configs], device)
            step = Stepper(pop, x, y, configs[0].precision, graphs)
            for _ in range(Stepper.WARMUP + steps):
                step(idx, momentum)
            weights.append(pop.params)
    return all(torch.allclose(a, b, rtol=1e-4, atol=1e-6) for a, b in zip(*weights))


def checkpoint_path(jobs: list[Job]) -> Path:
    """Where a phase of ``jobs`` keeps its checkpoint: named by what decides its course."""
    what = [[j.config.key(), j.split, j.epochs, None if j.start is None else [j.start.lr, j.start.momentum]]
            for j in jobs]
    digest = hashlib.sha256(json.dumps(what).encode()).hexdigest()[:20]
    return paths.CACHE_DIR / "populations" / f"phase-{digest}.pt"


def _save_checkpoint(path: Path, pop: "_Population", book: dict) -> None:
    state = {"params": [p.detach().cpu() for p in pop.params], "velocity": [v.cpu() for v in pop.velocity],
             "step": pop.step.cpu(), "alive": pop.alive,
             "generators": [[g.get_state() for g in gens] for gens in (pop.order, pop.mask_gen, pop.noise_gen)],
             **book}
    tmp = paths.atomic_path(path)
    try:
        torch.save(state, tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _load_checkpoint(path: Path, pop: "_Population") -> Optional[dict]:
    """The bookkeeping saved with ``path`` after restoring ``pop`` from it, or None (a damaged
    file is reported and ignored: the phase starts again)."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        pop.keep(state["alive"])
        pop.params = [p.to(pop.device) for p in state["params"]]
        pop.velocity = [v.to(pop.device) for v in state["velocity"]]
        pop.step = state["step"].to(pop.device)
        for gens, saved in zip((pop.order, pop.mask_gen, pop.noise_gen), state["generators"]):
            for g, s in zip(gens, saved):
                g.set_state(s)
    except Exception as e:  # truncated or from other code: start the phase again rather than stop
        warnings.warn(f"the checkpoint {paths.shown(path)} does not load ({type(e).__name__}: {e}); "
                      "starting the phase again", stacklevel=3)
        return None
    return {k: state[k] for k in ("epoch", "best", "best_epoch", "best_state", "seconds", "results", "histories")}


def run_phase(jobs: list[Job], device: torch.device, progress: bool = True, desc: str = "population",
              deadline: Optional[float] = None, checkpoint: bool = False,
              graphs: Optional[bool] = None) -> list[tuple[dict, list, int, float]]:
    """Train ``jobs`` (one split, one architecture) in lockstep; for each: (state dict of its
    best or last weights, history rows as ``train_model`` writes them, best epoch, seconds).
    Raises ``OutOfTime`` at the end of an epoch past ``deadline``. With ``checkpoint`` the
    phase saves itself every ``CHECKPOINT_SECONDS`` and when it runs out of time, and a later
    call with the same jobs goes on from the save as if it had never stopped."""
    with matmul_precision(jobs[0].config.precision):
        return _run_phase(jobs, device, progress, desc, deadline, checkpoint_path(jobs) if checkpoint else None,
                          CUDA_GRAPHS if graphs is None else graphs)


def _run_phase(jobs: list[Job], device: torch.device, progress: bool, desc: str, deadline: Optional[float],
               checkpoint: Optional[Path], graphs: bool) -> list[tuple[dict, list, int, float]]:
    pop = _Population(jobs, device)
    c0 = jobs[0].config
    validate = pop.split == "train"
    x, y = D.mnist(pop.split)
    x, y = x.flatten(1).to(device), y.to(device)
    if validate or any(j.match_target is not None for j in jobs):
        # the last 10,000 (a subset of it where n_valid is set: the first member's, for all)
        xv, yv = (t.to(device) for t in D.subset(*D.mnist("valid"), c0.n_valid, seed=c0.seed))
    K = len(jobs)
    # everything but the population's tensors and generators that a checkpoint must restore
    book = {"epoch": 0, "histories": [[] for _ in range(K)], "best": [float("inf")] * K, "best_epoch": [0] * K,
            "best_state": [None] * K, "seconds": [0.0] * K, "results": [None] * K}
    if checkpoint is not None and checkpoint.exists():
        book = _load_checkpoint(checkpoint, pop) or book
    step = Stepper(pop, x, y, c0.precision, graphs)
    histories, best, best_epoch = book["histories"], book["best"], book["best_epoch"]
    best_state, seconds, results = book["best_state"], book["seconds"], book["results"]
    B = c0.batch_size
    monitor = validate and c0.eps > 0
    last_save = time.monotonic()
    epochs = max(j.epochs for j in jobs)
    bar = tqdm(range(book["epoch"] + 1, epochs + 1), desc=desc, disable=not progress, leave=False,
               initial=book["epoch"], total=epochs)
    for epoch in bar:
        t0 = time.perf_counter()
        momentum = torch.tensor([jobs[i].start.momentum if jobs[i].start else schedule(jobs[i].config, 0, epoch, 1)[1]
                                 for i in pop.alive], device=device)
        perm = torch.stack([torch.randperm(pop.n_examples, generator=pop.order[i]) for i in pop.alive]).to(device)
        batches = pop.examples.gather(1, perm)
        losses = []
        for s in range(pop.steps_per_epoch):
            idx = batches[:, s * B:(s + 1) * B]
            losses.append(step(idx, momentum) * idx.shape[1])
        losses = torch.stack(losses, 1).cpu()  # (K, steps): the epoch's one sync
        sizes = torch.tensor([batches[:, s * B:(s + 1) * B].shape[1] for s in range(pop.steps_per_epoch)])
        per_step = losses / sizes
        clean = adv = None
        if validate:
            clean, adv = pop.evaluate(xv, yv, adversarial=monitor)
            clean = clean.tolist()
            adv = adv.tolist() if adv is not None else None
        matched = None
        if any(jobs[i].match_target is not None for i in pop.alive):
            matched = pop.dropout_objective(xv, yv, c0.precision).tolist()
        share = (time.perf_counter() - t0) / len(pop.alive)  # a member's share of the epoch
        keep = []
        for k, i in enumerate(pop.alive):
            job = jobs[i]
            curve = per_step[k].tolist()
            blocks = [curve[j:j + 50] for j in range(0, len(curve), 50)]
            row = {"epoch": epoch, "train_loss": float(losses[k].sum() / pop.n_examples), "seconds": share,
                   "loss_curve": [sum(b) / len(b) for b in blocks], "steps": int(pop.step.item()),
                   "total_steps": int(pop.total_steps[k].item()), "momentum": float(momentum[k])}
            seconds[i] += share
            done = epoch >= job.epochs
            if validate:
                row["valid_error"] = clean[k]
                if monitor and job.config.monitor_adv:
                    row["valid_adv_error"] = adv[k]
                score = adv[k] if job.config.stop_on == "adversarial" else clean[k]
                if score < best[i]:
                    best[i], best_epoch[i] = score, epoch
                    best_state[i] = member_state(pop.params, k, pop.template)
                if job.config.patience is not None and epoch - best_epoch[i] >= job.config.patience:
                    done = True
            if job.match_target is not None:
                row["match_objective"], row["target_objective"] = matched[k], job.match_target
                done = done or match_reached(matched[k], job.match_target)
            histories[i].append(row)
            if done:
                state = best_state[i] if best_state[i] is not None else member_state(pop.params, k, pop.template)
                results[i] = (state, histories[i], best_epoch[i] if best_state[i] is not None else epoch, seconds[i])
            else:
                keep.append(k)
        bar.set_postfix(training=len(keep))
        if not keep:
            break
        if len(keep) < len(pop.alive):
            pop.keep(keep)
        late = deadline is not None and time.monotonic() > deadline
        if checkpoint is not None and (late or time.monotonic() - last_save > CHECKPOINT_SECONDS):
            book["epoch"] = epoch
            _save_checkpoint(checkpoint, pop, book)
            last_save = time.monotonic()
        if late:
            raise OutOfTime(f"{len(keep)} of {K} nets still training after epoch {epoch}"
                            + ("; the next run goes on from there" if checkpoint is not None else ""))
    if checkpoint is not None:
        checkpoint.unlink(missing_ok=True)
    return results


# --- the public entry point --------------------------------------------------------------------

def _phase_one_jobs(configs: list[TrainConfig]) -> list[Job]:
    return [Job(c, c.train_split, c.epochs) for c in configs]


def _trained(config: TrainConfig, state: dict, history: list, seconds: float, device: torch.device) -> Trained:
    model = build_model(config)
    model.load_state_dict(state)
    model.to(device).eval()
    return Trained(model, history, config, seconds, cached=False)


def train_population(configs: list[TrainConfig], progress: bool = True, cache: bool = True,
                     device: Optional[torch.device] = None, deadline: Optional[float] = None,
                     checkpoint: Optional[bool] = None) -> list[Trained]:
    """Train ``configs`` (maxout nets of one architecture on MNIST) together; the result for
    each is what ``train_model(config)`` returns, loaded from or saved to the same cache file.

    Members that share a first phase (a restart and a continuation of the same run) train it
    once. Groups with different training splits run one after the other. A member's
    ``seconds`` is its share of the population's wall time. Past ``deadline``
    (``time.monotonic()``) it raises ``OutOfTime``; what finished before is in the cache.
    ``checkpoint`` (default: as ``cache``) saves a running phase now and then under
    ``.cache/populations``, so that a stopped call, run again, goes on where it stopped.
    """
    check_population(configs)
    device = device or default_device()
    checkpoint = cache if checkpoint is None else checkpoint
    out: list[Optional[Trained]] = [None] * len(configs)
    for i, c in enumerate(configs):
        if cache and cache_path(c).exists():
            out[i] = load_cached(c, cache_path(c), device)
    todo = [i for i, t in enumerate(out) if t is None]
    # first phases (deduplicated by cache key)
    firsts: dict[str, Trained] = {}
    pending: dict[str, TrainConfig] = {}
    for i in todo:
        first = configs[i].replace(retrain="none")
        key = first.key()
        if key in firsts or key in pending:
            continue
        loaded = load_cached(first, cache_path(first), device) if cache and cache_path(first).exists() else None
        if loaded is not None:
            firsts[key] = loaded
        else:
            pending[key] = first
    for split in ("train", "train_full"):
        group = [c for c in pending.values() if c.train_split == split]
        if not group:
            continue
        desc = f"{len(group)} maxout nets ({split})"
        for c, (state, history, best, secs) in zip(group, run_phase(_phase_one_jobs(group), device, progress, desc,
                                                                         deadline, checkpoint)):
            for r in history:
                r["best_epoch"] = best
            t = _trained(c, state, history, secs, device)
            if cache:
                save_trained(t)
            firsts[c.key()] = t
    # second phases on all 60,000
    jobs, where = [], []
    for i in todo:
        c = configs[i]
        first = firsts[c.replace(retrain="none").key()]
        if c.retrain == "none":
            out[i] = first
            continue
        best = first.history[-1]["best_epoch"]
        if c.retrain == "restart":
            jobs.append(Job(c, "train_full", best))
        else:
            start = Start(first.model.state_dict(), *continuation_start(c, first.history, best))
            pop = _Population([Job(c, "train", 1, start)], device)
            xt, yt = D.subset(*D.mnist("train"), c.n_train, seed=c.seed)
            target = float(pop.dropout_objective(xt.to(device), yt.to(device), c.precision)[0])
            jobs.append(Job(c, "train_full", c.epochs, start, target))
        where.append(i)
    if jobs:
        for i, (state, history, _, secs) in zip(where, run_phase(jobs, device, progress,
                                                                   f"{len(jobs)} maxout nets (60k)", deadline,
                                                                   checkpoint)):
            first = firsts[configs[i].replace(retrain="none").key()]
            best = first.history[-1]["best_epoch"]
            full = [dict(r) for r in first.history] + [{**r, "phase": "retrain"} for r in history]
            for r in full:
                r["best_epoch"] = best
            t = _trained(configs[i], state, full, first.seconds + secs, device)
            if cache:
                save_trained(t)
            out[i] = t
    return out  # type: ignore[return-value]
