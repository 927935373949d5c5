"""The paper's Figure 1 (the panda) on a real photograph with torchvision's ImageNet GoogLeNet.

The paper: one FGSM step of eps = .007 turns GoogLeNet's 57.7% "panda" into a 99.3%
"gibbon". Here:

- the photograph is one that ships inside an installed package (scikit-image's
  ``data.chelsea()``, a cat, by default), so nothing has to be downloaded;
- it is resized (shorter side 256) and centre-cropped to 224 x 224, as torchvision's weights
  expect, and kept as pixels in [0, 1]; the ImageNet normalisation lives *inside* the model
  (``Normalized``), so that FGSM perturbs pixels and eps is measured in pixel units;
- eps = .007 in [0, 1] pixel units is 1.8 steps of an 8-bit image (1/255 = .0039). The paper
  says its .007 "corresponds to the magnitude of the smallest bit of an 8 bit image encoding
  after GoogLeNet's conversion to real numbers": if that conversion maps 0..255 onto [-1, 1]
  (one bit = 2/255 = .0078), the paper's step is about one 8-bit level, i.e. .0039 in our
  units. We use .007 in [0, 1] units (the number as printed) and also report one 8-bit level.
- the weights come from torchvision (``GoogLeNet_Weights.IMAGENET1K_V1``) through torch
  hub's cache; where they are neither cached nor downloadable, ``load_googlenet`` raises
  ``helpers.data.DataUnavailable`` with a message that says what to do.
"""
from __future__ import annotations

import contextlib
import io
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence

import torch
from torch import nn

from .attacks import PRIMARY, PROTOCOLS, input_gradient
from . import paths
from .data import DataUnavailable, plain_reason
from .metrics import predict_proba
from .models import device_of

EPS = 0.007  # the paper's ImageNet eps, used here in [0, 1] pixel units
PIXEL_LEVEL = 1 / 255  # one step of an 8-bit image in [0, 1] units: EPS = 1.8 levels
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
RESIZE, CROP = 256, 224  # torchvision's evaluation transform for these weights
PHOTOS = ("chelsea", "coffee", "astronaut", "rocket")  # colour photographs inside scikit-image


def _weights():
    from torchvision.models import GoogLeNet_Weights

    return GoogLeNet_Weights.IMAGENET1K_V1


def categories() -> list[str]:
    """The 1000 ImageNet class names, from torchvision's weight metadata (no download)."""
    return list(_weights().meta["categories"])


def weights_path() -> Path:
    """Where torch hub keeps (or would keep) the GoogLeNet weights file."""
    return Path(torch.hub.get_dir()) / "checkpoints" / Path(_weights().url).name


class Normalized(nn.Module):
    """Pixels in [0, 1] -> ImageNet normalisation -> ``net``. With the normalisation inside
    the model, FGSM (``helpers.attacks``) perturbs and clips *pixels*, and eps is in pixel units."""

    output = "softmax"

    def __init__(self, net: nn.Module, mean: Sequence[float] = IMAGENET_MEAN, std: Sequence[float] = IMAGENET_STD):
        super().__init__()
        self.net = net
        self.register_buffer("mean", torch.tensor(mean).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(std).view(1, 3, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net((x - self.mean) / self.std)


def load_googlenet(download: bool = True, timeout: float = 30.0) -> Normalized:
    """torchvision's ImageNet GoogLeNet (Inception v1) in eval mode, taking pixels in [0, 1].

    Uses torch hub's cache; tries the download where ``download`` is true. Raises
    ``DataUnavailable`` where the weights cannot be had (no internet, no cached file).
    """
    w = _weights()
    path = weights_path()
    if not path.exists() and not download:
        raise DataUnavailable(
            f"torchvision's ImageNet GoogLeNet weights are not in torch hub's cache ({paths.shown(path)}) and "
            f"downloading was not allowed: copy {path.name} (from {w.url}) there, or allow the download.")
    from torchvision.models import googlenet

    old_timeout = socket.getdefaulttimeout()
    socket.setdefaulttimeout(timeout)  # a blocked network must not hang the notebook
    try:
        # torch hub prints "Downloading ..." even when it then fails: keep the notebook's
        # output to the one line the caller prints
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            net = googlenet(weights=w, progress=False)
    except Exception as e:  # noqa: BLE001 - any network or file error means "not here"
        raise DataUnavailable(
            f"torchvision's ImageNet GoogLeNet weights are unavailable here ({plain_reason(e)}): they need "
            f"the internet to download {w.url}, or the file {path.name} in {paths.shown(path.parent)}.") from e
    finally:
        socket.setdefaulttimeout(old_timeout)
    return Normalized(net).eval()


def sample_photo(name: str = "chelsea") -> torch.Tensor:
    """A colour photograph shipped inside scikit-image, as a 3 x H x W float tensor in [0, 1]."""
    try:
        import skimage.data
    except ImportError as e:
        raise DataUnavailable("scikit-image is not installed (pip install scikit-image): it ships the "
                              "sample photographs used for the ImageNet demonstration") from e
    if name not in PHOTOS:
        raise ValueError(f"unknown photograph {name!r}; choose from {PHOTOS}")
    img = torch.from_numpy(getattr(skimage.data, name)().copy())
    if img.dim() == 2:
        img = img.unsqueeze(-1).expand(-1, -1, 3)
    return img[..., :3].permute(2, 0, 1).float().div(255.0)


def preprocess(img: torch.Tensor, resize: int = RESIZE, crop: int = CROP) -> torch.Tensor:
    """3 x H x W in [0, 1] -> 1 x 3 x crop x crop in [0, 1]: shorter side to ``resize``, centre
    crop (torchvision's evaluation transform, without the normalisation: see ``Normalized``)."""
    from torchvision.transforms.v2 import functional as TF

    if img.dim() != 3 or img.shape[0] != 3:
        raise ValueError(f"expected a 3 x H x W image, got shape {tuple(img.shape)}")
    out = TF.center_crop(TF.resize(img, [resize], antialias=True), [crop, crop])
    return out.clamp(0, 1).unsqueeze(0)


def quantize_8bit(x: torch.Tensor) -> torch.Tensor:
    """Round pixels in [0, 1] to the 256 levels of an 8-bit image (what saving a PNG does)."""
    return (x.clamp(0, 1) * 255).round() / 255


@dataclass
class Prediction:
    index: int
    name: str
    confidence: float  # probability of the predicted class

    def caption(self) -> str:
        return f'"{self.name}"\n{100 * self.confidence:.1f}% confidence'


def predict(model: nn.Module, x: torch.Tensor, names: Optional[Sequence[str]] = None,
            proba: Optional[torch.Tensor] = None) -> Prediction:
    """Top-1 class of a single image ``x`` (1 x C x H x W), or of its probabilities ``proba``."""
    p = (predict_proba(model, x) if proba is None else proba)[0]
    conf, k = p.max(0)
    name = names[int(k)] if names is not None else str(int(k))
    return Prediction(int(k), name, float(conf))


@dataclass
class FGSMDemo:
    """Everything Figure 1 shows: the image, sign of the gradient, the adversarial image and
    what the model makes of each; ``clean_class_after`` is the confidence the model still
    gives the clean prediction after the attack."""

    x: torch.Tensor
    sign: torch.Tensor
    x_adv: torch.Tensor
    eps: float
    label: int
    clean: Prediction
    noise: Prediction  # the sign image itself, shown as a picture ((sign + 1) / 2)
    adversarial: Prediction
    clean_class_after: float


def fgsm_demo(model: nn.Module, x: torch.Tensor, eps: float = EPS, label: Optional[int] = None,
              names: Optional[Sequence[str]] = None, clip: bool = PROTOCOLS[PRIMARY] is not None) -> FGSMDemo:
    """One FGSM step on one image, as printed unless ``clip`` (``attacks.PROTOCOLS``). ``label``
    defaults to the model's own clean prediction (the photograph has no ImageNet label; the
    paper's panda was labelled and predicted "panda")."""
    if x.dim() != 4 or x.shape[0] != 1:
        raise ValueError(f"expected one image 1 x C x H x W, got shape {tuple(x.shape)}")
    clean = predict(model, x, names)
    label = clean.index if label is None else int(label)
    dev = device_of(model)
    sign = input_gradient(model, x.to(dev), torch.tensor([label], device=dev)).sign().to(x.device)
    # the same arithmetic as helpers.attacks.fgsm; the sign is kept for the middle panel
    x_adv = x.detach() + eps * sign
    x_adv = x_adv.clamp(0, 1) if clip else x_adv
    p_adv = predict_proba(model, x_adv)
    adversarial = predict(model, x_adv, names, proba=p_adv)
    noise = predict(model, (sign + 1) / 2, names)
    after = float(p_adv[0, label])
    return FGSMDemo(x.detach(), sign, x_adv, float(eps), label, clean, noise, adversarial, after)


def _as_image(t: torch.Tensor):
    t = t.detach().cpu()
    t = t[0] if t.dim() == 4 else t
    return t[0].numpy() if t.shape[0] == 1 else t.permute(1, 2, 0).numpy()


def figure1(x: torch.Tensor, sign: torch.Tensor, x_adv: torch.Tensor, captions: Sequence[str], eps: float,
            size: float = 3.0, suptitle: Optional[str] = None):
    """The paper's Figure 1 layout: x  + eps x  sign(grad_x J)  =  x + eps sign(grad_x J), each
    panel captioned (class and confidence). Works for 1-channel digits and colour photographs."""
    import matplotlib.pyplot as plt

    if len(captions) != 3:
        raise ValueError("figure1 needs three captions: clean, sign, adversarial")
    fig = plt.figure(figsize=(3 * size + 2.2, size * 1.45))
    gs = fig.add_gridspec(1, 5, width_ratios=[1, 0.45, 1, 0.2, 1], wspace=0.05)
    panels = [(_as_image(x), "$x$"), (_as_image((sign + 1) / 2), r"sign$(\nabla_x J(\theta, x, y))$"),
              (_as_image(x_adv), r"$x + \epsilon\,$sign$(\nabla_x J(\theta, x, y))$")]
    for col, (im, label), cap in zip((0, 2, 4), panels, captions):
        ax = fig.add_subplot(gs[0, col])
        ax.imshow(im, cmap="gray" if im.ndim == 2 else None, vmin=0, vmax=1, interpolation="nearest")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.grid(False)
        ax.set_title(label, fontsize="medium")
        ax.set_xlabel(cap, fontsize="medium")
    eps_text = f"{eps:g}".lstrip("0") if eps < 1 else f"{eps:g}"
    for col, text in ((1, f"+ {eps_text} ×"), (3, "=")):
        ax = fig.add_subplot(gs[0, col])
        ax.axis("off")
        ax.text(0.5, 0.5, text, ha="center", va="center", fontsize="x-large")
    if suptitle:
        fig.suptitle(suptitle, y=0.98)
    return fig


def demo_figure(d: FGSMDemo, suptitle: Optional[str] = None):
    """``figure1`` for an ``FGSMDemo``."""
    return figure1(d.x, d.sign, d.x_adv, [d.clean.caption(), d.noise.caption(), d.adversarial.caption()],
                   d.eps, suptitle=suptitle)
