"""The setup cell every notebook starts with."""
from __future__ import annotations

import torch

from . import paths, plotting, profiles
from .results import Results


def setup(notebook: str, profile: str | None = None, seed: int = 0):
    """Resolve the profile, fix the seed and style, point ``save_fig`` at this notebook's
    folder; returns ``(P, results)``: the profile's sizes and the claim recorder."""
    P = profiles.get_profile(profile)
    fig_root, results_dir = profiles.output_dirs(P.name)
    plotting.use_style()
    plotting.set_figure_dir(fig_root / notebook)
    torch.manual_seed(seed)
    device = "cuda" if torch.cuda.is_available() else f"cpu ({torch.get_num_threads()} threads)"
    print(f"{notebook}: profile '{P.name}' ({P.description}); device {device}; "
          f"figures -> {paths.shown(fig_root / notebook)}")
    return P, Results(notebook, P.name, results_dir)
