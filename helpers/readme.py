"""The README's generated sections: rewritten by notebook 05 from the last `make report`, so
that the README's headline table and its time and memory cannot drift from the run.

A generated section sits between ``<!-- begin NAME (generated ...) -->`` and
``<!-- end NAME -->``; everything outside the markers is hand-written and left alone.
"""
from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Optional

from . import paths

README = paths.ROOT / "README.md"


def replace_section(text: str, name: str, body: str) -> str:
    """``text`` with section ``name``'s body replaced; an error naming it if the markers are missing."""
    pattern = re.compile(rf"(<!-- begin {re.escape(name)}\b[^>]*-->\n)(.*?)(<!-- end {re.escape(name)} -->)", re.S)
    if not pattern.search(text):
        raise ValueError(f"README has no generated section {name!r}: add '<!-- begin {name} (generated) -->' "
                         f"and '<!-- end {name} -->' where it belongs")
    return pattern.sub(lambda m: m.group(1) + body.rstrip("\n") + "\n" + m.group(3), text, count=1)


def time_section(timings: dict[str, tuple[int, Optional[int]]], cpu: str, threads: int,
                 gflops: dict[str, float], profile: str = "default") -> str:
    """The time and memory of the last report: per notebook seconds and peak memory (MB)."""
    if not timings:
        raise ValueError("no notebook timings to report: they come from `make report` "
                         "(build/notebooks/<profile>/timings.tsv)")
    total = sum(s for s, _ in timings.values())
    parts = ", ".join(f"{nb[:2]} {s // 60} min {s % 60:02d} s" if s >= 60 else f"{nb[:2]} {s} s"
                      for nb, (s, _) in timings.items())
    peaks = [mb for _, mb in timings.values() if mb]
    rates = ", ".join(f"{k} matmul {v:.0f} GFLOP/s" for k, v in gflops.items())
    return (f"The last `make report` at `{profile}` ({time.strftime('%Y-%m-%d')}) ran on {cpu} with {threads} "
            f"threads ({rates}; no GPU), with whatever the model cache held: {total / 60:.1f} minutes in all "
            f"({parts})." + (f" No notebook's kernel used more than {max(peaks) / 1024:.1f} GB." if peaks else ""))


def update(sections: dict[str, str], readme: Path = README) -> None:
    """Rewrite the named sections of the README (atomically)."""
    text = Path(readme).read_text()
    for name, body in sections.items():
        text = replace_section(text, name, body)
    paths.atomic_write_bytes(Path(readme), text.encode())
