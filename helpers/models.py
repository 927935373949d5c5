"""The paper's models, each a ``nn.Module`` that maps a batch of images to class scores.

Every model returns *scores* of shape ``(N, K)``; its class attribute ``output`` says how
scores become probabilities (``probabilities``) and which loss trains it (``loss``):

- ``"softmax"``: scores are logits, trained by cross-entropy;
- ``"sigmoid"``: independent sigmoid per class (Appendix A), one-vs-rest cross-entropy;
- ``"rbf"``:     scores are ``log p_k`` of an unnormalised RBF unit (section 7).
"""
from __future__ import annotations

import contextlib
import math
from typing import Iterator

import torch
import torch.nn.functional as F
from torch import nn

# The maxout recipe (pylearn2 mnist_pi.yaml): uniform(+-0.005) init, max column norm 1.9365.
INIT_RANGE = 0.005
MAX_COL_NORM = 1.9365


def device_of(model: nn.Module) -> torch.device:
    """Where ``model``'s parameters live (inputs go there, results come back to the caller's)."""
    return next(model.parameters()).device


@contextlib.contextmanager
def mode(model: nn.Module, training: bool = False) -> Iterator[nn.Module]:
    """``model`` in training or eval mode for the block; its own mode is restored after."""
    was_training = model.training
    model.train(training)
    try:
        yield model
    finally:
        model.train(was_training)


class Classifier(nn.Module):
    """Base class: ``output`` picks the probability map and the training loss."""

    output = "softmax"

    def loss(self, scores: torch.Tensor, y: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
        return class_loss(self.output, scores, y, reduction)

    def probabilities(self, scores: torch.Tensor) -> torch.Tensor:
        return class_probabilities(self.output, scores)

    def apply_constraints(self) -> None:
        """Called after every optimiser step (max-norm); nothing by default."""


def class_loss(output: str, scores: torch.Tensor, y: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    if output == "softmax":
        return F.cross_entropy(scores, y, reduction=reduction)
    target = F.one_hot(y, scores.shape[1]).to(scores.dtype)
    if output == "sigmoid":
        per = F.binary_cross_entropy_with_logits(scores, target, reduction="none").sum(1)
    elif output == "rbf":
        # p_k = exp(s_k) with s_k <= 0: -log p_y - sum_{k != y} log(1 - p_k), computed stably
        log_not = torch.log(-torch.expm1(scores.clamp(max=-1e-6)))
        per = -(target * scores + (1 - target) * log_not).sum(1)
    else:
        raise ValueError(f"unknown output {output!r}")
    return per.mean() if reduction == "mean" else per.sum() if reduction == "sum" else per


def class_probabilities(output: str, scores: torch.Tensor) -> torch.Tensor:
    if output == "softmax":
        return scores.softmax(1)
    if output == "sigmoid":
        return scores.sigmoid()
    if output == "rbf":
        return scores.exp()
    raise ValueError(f"unknown output {output!r}")


def probabilities(model: nn.Module, scores: torch.Tensor) -> torch.Tensor:
    """Per-class probabilities of ``scores`` as ``model`` defines them (softmax for plain nets)."""
    return class_probabilities(getattr(model, "output", "softmax"), scores)


def model_loss(model: nn.Module, scores: torch.Tensor, y: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    """The training loss of ``model`` (cross-entropy for any plain ``nn.Module``)."""
    return class_loss(getattr(model, "output", "softmax"), scores, y, reduction)


def _max_norm_(weight: torch.Tensor, max_norm: float | None) -> None:
    # norm of each unit's incoming weight vector = row norm of Linear.weight
    # in place, as torch.renorm scales (rows over the limit by max_norm / (norm + 1e-7)), but
    # without its copy: on a 1600-unit net this runs after every step on 19M weights
    if max_norm is not None:
        with torch.no_grad():
            norm = torch.linalg.vector_norm(weight, dim=1, keepdim=True)
            weight.mul_(torch.where(norm > max_norm, max_norm / (norm + 1e-7), 1.0))


class SoftmaxRegression(Classifier):
    """Shallow softmax regression on flattened pixels."""

    def __init__(self, in_features: int = 784, classes: int = 10):
        super().__init__()
        self.linear = nn.Linear(in_features, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x.flatten(1))


class LogisticRegression(Classifier):
    """Binary logistic regression P(y=1|x) = sigmoid(w.x + b).

    Returns the two scores ``[0, w.x + b]`` so that softmax over them is exactly the
    sigmoid and cross-entropy is exactly softplus(-y (w.x + b)) with y in {-1, +1}: the
    model plugs into the same attacks, loops and metrics as every other classifier.
    """

    def __init__(self, in_features: int = 784):
        super().__init__()
        self.linear = nn.Linear(in_features, 1)

    @property
    def w(self) -> torch.Tensor:
        return self.linear.weight[0]

    def logit(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x.flatten(1))[:, 0]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = self.logit(x)
        return torch.stack([torch.zeros_like(z), z], 1)


class Dropout(nn.Module):
    """Dropout that drops with probability ``p`` and multiplies the kept values by ``scale``
    in training (1 / (1 - p) when ``None``: inverted dropout); identity in evaluation.

    pylearn2's Dropout cost computes ``state * mask * scale`` with a scale of its own per layer,
    which is why it is explicit here. The mask thresholds ``rand`` (the same distribution as
    ``nn.Dropout``, about 3x faster on CPU, where ``bernoulli_`` is slow).
    """

    def __init__(self, p: float, scale: float | None = None):
        super().__init__()
        if not 0 <= p < 1:
            raise ValueError(f"dropout probability must lie in [0, 1), got {p}")
        self.p = p
        self.scale = 1.0 / (1.0 - p) if scale is None else float(scale)
        if self.scale <= 0:
            raise ValueError(f"dropout scale must be > 0, got {scale}")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0:
            return x
        return x * ((torch.rand_like(x) >= self.p).to(x.dtype) * self.scale)


class Maxout(nn.Module):
    """Maxout layer: ``units`` outputs, each the max over ``pieces`` affine pieces.

    One matmul computes every piece; the max is a reshape and a reduction.
    """

    def __init__(self, in_features: int, units: int, pieces: int, max_norm: float | None = MAX_COL_NORM,
                 init_range: float = INIT_RANGE):
        super().__init__()
        self.units, self.pieces, self.max_norm = units, pieces, max_norm
        self.linear = nn.Linear(in_features, units * pieces)
        nn.init.uniform_(self.linear.weight, -init_range, init_range)
        nn.init.zeros_(self.linear.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x).view(x.shape[0], self.units, self.pieces).amax(2)

    def apply_constraints(self) -> None:
        _max_norm_(self.linear.weight, self.max_norm)


class MaxoutMLP(Classifier):
    """The permutation-invariant maxout network of the recipe: maxout layers -> softmax.

    Dropout keeps inputs with p = 0.8 and hidden units with p = 0.5 (``dropout_*`` are
    drop probabilities). As in the recipe (``input_scales: {h0: 1.}``; the hidden layers take
    the Dropout cost's default scale 2), kept inputs are *not* rescaled: the first layer trains
    on ``mask * x`` (mean .8 x) and is tested on ``x``. ``input_scale=None`` rescales them by
    1 / .8 (inverted dropout). ``output="sigmoid"`` swaps softmax for independent sigmoids.
    """

    def __init__(self, units: int = 240, pieces: int = 5, layers: int = 2, classes: int = 10,
                 in_features: int = 784, dropout_input: float = 0.2, dropout_hidden: float = 0.5,
                 max_norm: float | None = MAX_COL_NORM, init_range: float = INIT_RANGE,
                 output: str = "softmax", input_scale: float | None = 1.0):
        super().__init__()
        if output not in ("softmax", "sigmoid"):
            raise ValueError(f"output must be 'softmax' or 'sigmoid', not {output!r}")
        self.output = output
        self.max_norm = max_norm
        mods: list[nn.Module] = [Dropout(dropout_input, input_scale)]
        width = in_features
        for _ in range(layers):
            mods += [Maxout(width, units, pieces, max_norm, init_range), Dropout(dropout_hidden)]
            width = units
        self.features = nn.Sequential(*mods)
        self.classifier = nn.Linear(width, classes)
        nn.init.uniform_(self.classifier.weight, -init_range, init_range)
        nn.init.zeros_(self.classifier.bias)

    @property
    def first_layer(self) -> Maxout:
        return self.features[1]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x.flatten(1)))

    def apply_constraints(self) -> None:
        for m in self.features:
            if isinstance(m, Maxout):
                m.apply_constraints()
        _max_norm_(self.classifier.weight, self.max_norm)


class RBFNetwork(Classifier):
    """Shallow RBF network (section 7): p(y=k|x) = exp(-sum_i beta_ki (x_i - mu_ki)^2).

    ``beta`` is kept positive through a softplus, so the quadratic form is negative
    definite (diagonal). The confidence is the *unnormalised* p_k, which is why it can be
    near zero far from the data: the model says "I don't know" instead of guessing.
    """

    output = "rbf"

    def __init__(self, in_features: int = 784, classes: int = 10, init_beta: float = 0.01):
        super().__init__()
        self.mu = nn.Parameter(torch.full((classes, in_features), 0.5))
        self.raw_beta = nn.Parameter(torch.full((classes, in_features), math.log(math.expm1(init_beta))))

    def init_centres(self, x: torch.Tensor, y: torch.Tensor) -> "RBFNetwork":
        """Start each centre at its class mean (faster, better-conditioned training)."""
        x = x.flatten(1)
        with torch.no_grad():
            for k in range(self.mu.shape[0]):
                self.mu[k] = x[y == k].mean(0)
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.flatten(1)
        beta = F.softplus(self.raw_beta)
        # sum_i beta_ki (x_i - mu_ki)^2 expanded into matmuls: x^2.beta - 2 x.(beta mu) + mu^2.beta
        d = (x * x) @ beta.T - 2 * x @ (beta * self.mu).T + (beta * self.mu * self.mu).sum(1)
        return -d.clamp(min=0)


class GoogLeNetMNIST(Classifier):
    """torchvision's GoogLeNet (Inception v1) architecture, trained from scratch on digits.

    The 1 x 28 x 28 digit is replicated to three channels (and resized to ``size`` if that
    differs from 28); at 28 x 28 the five stride-2 stages end on a 1 x 1 map, which the
    network's adaptive pooling accepts (the paper's network sees 224 x 224 photographs).
    No auxiliary heads: they only help very deep ImageNet training.
    """

    def __init__(self, classes: int = 10, size: int = 28, channels_last: bool = True):
        super().__init__()
        from torchvision.models import GoogLeNet

        self.size = size
        self.net = GoogLeNet(num_classes=classes, aux_logits=False, transform_input=False, init_weights=True)
        # channels-last: about the same training speed on a CPU, evaluation ~1.5x faster (make bench)
        self.memory_format = torch.channels_last if channels_last else torch.contiguous_format
        self.net.to(memory_format=self.memory_format)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-1] != self.size:
            x = F.interpolate(x, size=self.size, mode="bilinear", align_corners=False)
        return self.net(x.expand(-1, 3, -1, -1).contiguous(memory_format=self.memory_format))


class ConvMaxout(Classifier):
    """A small convolutional maxout net for 3 x 32 x 32 CIFAR-10 images (section 4)."""

    def __init__(self, classes: int = 10, channels: tuple[int, int, int] = (96, 192, 192), pieces: int = 2,
                 dropout: float = 0.5):
        super().__init__()
        self.pieces = pieces
        layers: list[nn.Module] = []
        c_in = 3
        for c in channels:
            layers += [nn.Conv2d(c_in, c * pieces, 5, padding=2), _ChannelMaxout(pieces), nn.MaxPool2d(2),
                       nn.Dropout(dropout)]
            c_in = c
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Linear(c_in * 4 * 4, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x).flatten(1))


class _ChannelMaxout(nn.Module):
    def __init__(self, pieces: int):
        super().__init__()
        self.pieces = pieces

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        return x.view(n, c // self.pieces, self.pieces, h, w).amax(2)


def apply_constraints(model: nn.Module) -> None:
    """Apply a model's weight constraints (max-norm) if it has any."""
    fn = getattr(model, "apply_constraints", None)
    if fn is not None:
        fn()
