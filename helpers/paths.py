"""Where things live. Everything is relative to the repository root, overridable by env."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("REPRO_DATA", ROOT / "data"))
CACHE_DIR = Path(os.environ.get("REPRO_CACHE", ROOT / ".cache"))
BUILD_DIR = ROOT / "build"
# smoke runs must never overwrite the committed figures and results
SCRATCH_DIR = BUILD_DIR / "smoke"


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and a rename: never half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_path(path: Path) -> Path:
    """A temporary sibling of ``path`` to write to before ``os.replace``-ing it into place."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=path.suffix)
    os.close(fd)
    return Path(tmp)


def shown(path: os.PathLike) -> str:
    """``path`` as a reader of the report should see it: relative to the project, or under
    ``~`` for the home folder, never the absolute folders of the machine that ran it."""
    path = Path(path).expanduser().resolve()
    for base, prefix in ((ROOT, ""), (Path.home().resolve(), "~/")):
        if path.is_relative_to(base):
            return prefix + str(path.relative_to(base))
    return path.name
