"""Our numbers beside the paper's: each notebook records claims and writes one JSON file.

``results/<notebook>.json`` = ``{"notebook", "profile", "claims": [{"id", "value", "paper",
"seed_report", "unit", "n_seeds", "std", "ci95", "status", "note"}]}``
(``ci95``: half-width of the 95% confidence interval of the mean over seeds). A claim measured
on FGSM examples also has ``"protocol"`` (the primary's name, ``attacks.PRIMARY``) and
``"clipped": {"value", "std", "ci95", "n_seeds"}``, its value under the other protocol. Claim
ids and the paper's values come from ``paper_claims.csv`` (a copy of the project's claim list,
with three columns of ours: the direction of comparison the paper argues for a claim, the claim
or constant it compares with, and the argument, which the summary's verdicts apply).
"""
from __future__ import annotations

import csv
import functools
import json
import math
import statistics
from pathlib import Path
from typing import Iterable, Optional

from . import paths
from .attacks import PRIMARY

CLAIMS_CSV = Path(__file__).with_name("paper_claims.csv")


@functools.lru_cache(maxsize=None)
def paper_claims() -> dict[str, dict]:
    """Every claim of the paper and the seed report, by id."""
    with open(CLAIMS_CSV, newline="") as f:
        return {row["id"]: row for row in csv.DictReader(f)}


def paper_value(claim_id: str) -> float:
    """The paper's number for ``claim_id`` (what notebooks draw or print beside ours)."""
    claims = paper_claims()
    if claim_id not in claims:
        raise KeyError(f"unknown claim id {claim_id!r}; see {CLAIMS_CSV.name}")
    return float(claims[claim_id]["paper_value"])


def _number(text: str):
    try:
        return float(text)
    except (TypeError, ValueError):
        return text or None


# Student's t, 97.5% quantile, by degrees of freedom (1-30); beyond 30 the normal's 1.96
_T975 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145, 2.131,
         2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042)


def ci95(std: Optional[float], n: int) -> Optional[float]:
    """Half-width of the 95% confidence interval of a mean of ``n`` values (t-distribution);
    None for fewer than two values."""
    if std is None or n < 2:
        return None
    return (_T975[n - 2] if n - 1 <= len(_T975) else 1.96) * std / math.sqrt(n)


def mean_std(values: Iterable[float]) -> tuple[float, Optional[float], int]:
    """Mean, sample standard deviation (None for one value) and count."""
    v = [float(x) for x in values]
    if not v:
        raise ValueError("no values")
    return statistics.fmean(v), (statistics.stdev(v) if len(v) > 1 else None), len(v)


class Results:
    """Collects one notebook's claims; ``save()`` writes them atomically."""

    def __init__(self, notebook: str, profile: str, out_dir: Path):
        self.notebook, self.profile, self.out_dir = notebook, profile, Path(out_dir)
        self.claims: list[dict] = []

    @property
    def path(self) -> Path:
        return self.out_dir / f"{self.notebook}.json"

    def record(self, claim_id: str, value, n_seeds: int = 1, std: Optional[float] = None,
               note: str = "", status: str = "measured", clipped=None) -> dict:
        """Record our value for ``claim_id`` (a number in the claim's unit, a list of values
        from several seeds, or a word for 'direction' claims). For a claim on FGSM examples,
        ``value`` is the primary protocol's (as printed) and ``clipped`` the same measurement
        clipped to [0, 1] (a number or a list, like ``value``)."""
        claims = paper_claims()
        if claim_id not in claims:
            raise KeyError(f"unknown claim id {claim_id!r}; see {CLAIMS_CSV.name}")
        if isinstance(value, (list, tuple)):
            value, std, n_seeds = mean_std(value)
        if isinstance(value, float) and math.isnan(value):
            value, status = None, "missing"
        row = claims[claim_id]
        entry = {"id": claim_id, "value": value, "paper": _number(row["paper_value"]),
                 "seed_report": _number(row["seed_report_value"]), "unit": row["metric"],
                 "what": row["what"], "n_seeds": n_seeds, "std": std, "ci95": ci95(std, n_seeds), "status": status,
                 "note": note}
        if clipped is not None:
            other_std, other_n = None, 1
            if isinstance(clipped, (list, tuple)):
                clipped, other_std, other_n = mean_std(clipped)
            if isinstance(clipped, float) and math.isnan(clipped):
                clipped = None
            entry["protocol"] = PRIMARY
            entry["clipped"] = {"value": clipped, "std": other_std, "ci95": ci95(other_std, other_n),
                                "n_seeds": other_n}
        self.claims = [c for c in self.claims if c["id"] != claim_id] + [entry]
        return entry

    def unavailable(self, claim_id: str, reason: str) -> dict:
        """Record that a claim cannot be measured here (data or weights missing), and why."""
        return self.record(claim_id, None, n_seeds=0, note=reason, status="unavailable")

    def table(self):
        """The claims as a pandas DataFrame: ours beside the paper's."""
        import pandas as pd

        cols = ["id", "what", "unit", "paper", "seed_report", "value", "std", "ci95", "n_seeds", "clipped",
                "status", "note"]
        rows = [{**c, "clipped": (c.get("clipped") or {}).get("value")} for c in self.claims]
        # "ours": the primary protocol's value (as printed) for claims on FGSM examples
        df = pd.DataFrame(rows, columns=cols).rename(columns={"value": "ours", "clipped": "ours (clipped)"})
        return df.set_index("id")

    def save(self) -> Path:
        blob = {"notebook": self.notebook, "profile": self.profile, "claims": self.claims}
        paths.atomic_write_bytes(self.path, (json.dumps(blob, indent=1) + "\n").encode())
        return self.path


def load_results(path: Path) -> dict:
    """Read one results file; a file that does not parse is an error that names it."""
    try:
        blob = json.loads(Path(path).read_text())
        if not isinstance(blob, dict) or not isinstance(blob.get("claims"), list):
            raise ValueError("expected an object with a 'claims' list")
        return blob
    except (OSError, ValueError) as e:
        raise ValueError(f"results file {path} could not be read: {e}") from e
