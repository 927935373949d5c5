"""One figure style and one ``save_fig`` that names files predictably."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import matplotlib.pyplot as plt
import seaborn as sns

from . import paths

_FIG_DIR: Optional[Path] = None


def use_style() -> None:
    sns.set_theme(context="notebook", style="whitegrid", palette="colorblind")
    plt.rcParams.update({"figure.dpi": 100, "savefig.dpi": 120, "savefig.bbox": "tight",
                         "image.cmap": "gray", "axes.titlesize": "medium"})


def set_figure_dir(path: Path) -> None:
    global _FIG_DIR
    _FIG_DIR = Path(path)


def save_fig(name: str, fig: Optional[plt.Figure] = None) -> Path:
    """Write ``fig`` (default: the current figure) to ``<figures>/<notebook>/<name>.png``,
    atomically. ``helpers.notebook.setup`` chooses the folder."""
    if _FIG_DIR is None:
        raise RuntimeError("no figure folder set: call helpers.notebook.setup(...) first")
    if not name or "/" in name or name.endswith(".png"):
        raise ValueError(f"figure name should be a bare name like 'fgsm-panda', got {name!r}")
    fig = fig or plt.gcf()
    path = _FIG_DIR / f"{name}.png"
    tmp = paths.atomic_path(path)
    try:
        fig.savefig(tmp, format="png")
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def show_images(images, titles=None, ncols: int = 10, size: float = 1.2, cmap: str = "gray",
                vmin: Optional[float] = 0.0, vmax: Optional[float] = 1.0, axes=None):
    """A grid of 28 x 28 (or C x H x W) images with optional titles; returns the figure."""
    import numpy as np

    images = [np.asarray(im.detach().cpu() if hasattr(im, "detach") else im) for im in images]
    n = len(images)
    nrows = max(1, -(-n // ncols))
    if axes is None:
        fig, axes = plt.subplots(nrows, min(n, ncols), figsize=(size * min(n, ncols), size * nrows * 1.15),
                                 squeeze=False)
        axes = axes.ravel()
    fig = axes[0].figure
    for i, ax in enumerate(axes):
        ax.axis("off")
        if i >= n:
            continue
        im = images[i]
        if im.ndim == 3 and im.shape[0] in (1, 3):
            im = im[0] if im.shape[0] == 1 else im.transpose(1, 2, 0)
        ax.imshow(im, cmap=cmap, vmin=vmin, vmax=vmax)
        if titles is not None:
            ax.set_title(titles[i], fontsize="small")
    return fig
