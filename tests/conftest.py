import pytest
import torch

from helpers import paths


@pytest.fixture(autouse=True)
def _isolate(tmp_path, monkeypatch):
    """Every test gets its own model cache and figure folder; nothing touches the repo's."""
    monkeypatch.setattr(paths, "CACHE_DIR", tmp_path / "cache")
    monkeypatch.delenv("REPRO_PROFILE", raising=False)
    torch.manual_seed(0)


@pytest.fixture
def digits():
    """A small random 'MNIST-like' batch: 1 x 28 x 28 in [0, 1], labels 0..9."""
    g = torch.Generator().manual_seed(0)
    return torch.rand(64, 1, 28, 28, generator=g), torch.randint(0, 10, (64,), generator=g)
