"""The report's verdicts: every claim of the paper beside our number, judged by one rule.

``summarize(results_dir, figures_dir)`` reads every ``results/*.json`` a notebook wrote, gives
each claim of ``paper_claims.csv`` one row with a verdict (the rule is ``VERDICT_RULE``, stated
once), and finds the figure files that regenerate the paper's figures (``GALLERY``).
``helpers.summary`` renders the rows (RESULTS.md, tables, a figure).

Rule 0 of the summary: a claim we have no number for is *missing*, never *reproduced*.
"""
from __future__ import annotations

import dataclasses
import fnmatch
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, Union

from . import paths, profiles
from .attacks import PRIMARY
from .results import load_results, paper_claims

Number = Union[int, float]

# --------------------------------------------------------------------------------------------
# The verdict rule. Kept in one place: the text below is what RESULTS.md and the notebook show,
# and `tolerance` / `DIRECTIONS` are what `judge` applies.

SMALL = 5.0  # below this (in %), the absolute tolerance applies
SMALL_TOL = 0.3  # points: ~3 binomial standard errors of a ~1 % error on 10,000 test images
MIN_TOL = 1.0  # points, above SMALL
REL_TOL = 0.10  # of the reference value, above SMALL

VERDICTS = ("reproduced", "direction reproduced", "not reproduced", "see figure",
            "unavailable here", "missing", "not judged")

VERDICT_RULE = f"""\
**Verdict rule.** Every number is in percent (error, accuracy, confidence, agreement, share).
The reference is the paper's value; for the few claims that only the seed report states, it is
the seed report's value. *Ours* is the mean over seeds (± sample standard deviation, n = seeds).

- **reproduced**: |ours − reference| ≤ tolerance, where the tolerance is
  max({MIN_TOL:g} point, {REL_TOL * 100:g} % of the reference) for references of {SMALL:g} % and above, and
  {SMALL_TOL:g} points below {SMALL:g} % (clean MNIST errors near 1 %: {REL_TOL * 100:g} % of the value would be
  smaller than the test-set noise, and {SMALL_TOL:g} points is about three binomial standard
  errors of a 1 % error measured on 10,000 test images). A threshold such as "> 5" is
  reproduced when ours lies on its side; a word claim ("no benefit") when ours says the same.
- **direction reproduced**: outside the tolerance, but on the side of the comparison the paper
  argues (for example: the adversarially trained net has a lower FGSM error than the baseline;
  each comparison is listed in the reason).
- **not reproduced**: outside the tolerance and the direction does not hold (or has no
  declared direction, or the claim it compares with is missing).
- **see figure**: the claim is a figure (Fig. 3 weights, Fig. 4 logits); the figure file is
  the evidence.
- **unavailable here**: the data or pretrained weights cannot be had on this machine
  (ImageNet GoogLeNet, CIFAR-10); the reason says which.
- **missing**: the notebook did not run, or recorded no value. Never counted as reproduced.
"""


def _directions() -> dict[str, tuple[str, Union[str, Number], str]]:
    """claim -> (relation, other claim id or a constant, the paper's argument), from the claim
    list's ``direction`` columns. Applied only when the number itself is outside the
    tolerance; both sides are *our* values."""
    out: dict[str, tuple[str, Union[str, Number], str]] = {}
    for cid, row in paper_claims().items():
        if row.get("direction"):
            other = row["direction_vs"]
            out[cid] = (row["direction"], other if other in paper_claims() else float(other), row["direction_why"])
    return out


DIRECTIONS = _directions()

ATTACK_PROTOCOL_NOTE = f"""\
Every claim measured on FGSM examples is recorded under two protocols and judged under each by
the rule above. *{PRIMARY}* (the primary): x + ε sign(∇ₓJ), not clipped, as the paper prints
it; it never mentions clipping, and its footnote 1 sizes ε = .25 against "a range of width 0.5"
around MNIST's essentially binary pixels. *Clipped*: the same step clipped to valid pixels
[0, 1]. Nets trained on FGSM (or noise) examples are trained under the protocol they are
scored with; clean nets are shared.
"""

# --------------------------------------------------------------------------------------------
# The gallery: each paper figure -> name patterns matched (fnmatch) against "<notebook>/<stem>"
# of figures/<notebook>/<stem>.png. Notebooks 01-04 name their own files, so this matches by
# pattern rather than by exact name; a file matching none is "beyond the paper". Which claims
# a figure holds is the claim list's ``paper_ref`` ("Fig.3" is the gallery's "Fig. 3").


@dataclass(frozen=True)
class PaperFigure:
    key: str
    title: str
    patterns: tuple[str, ...]  # fnmatch on "<notebook>/<stem>", lower case
    number: Optional[int] = None  # also matches stems like fig3-..., figure3..., fig-3, fig_3

    def holds(self, paper_ref: str) -> bool:
        """Whether a claim with this ``paper_ref`` is shown by this figure."""
        return paper_ref.replace(" ", "").lower() == self.key.replace(" ", "").lower()

    def matches(self, name: str) -> bool:
        stem = name.rsplit("/", 1)[-1]
        if self.number is not None and re.search(rf"(^|[-_])fig(ure)?[-_]?{self.number}($|[^0-9])", stem):
            return True
        return any(fnmatch.fnmatchcase(name, p) for p in self.patterns)


GALLERY: tuple[PaperFigure, ...] = (
    PaperFigure("Fig. 1", "FGSM on GoogLeNet: the panda becomes a gibbon (eps = .007)",
                ("*/*panda*", "*/*gibbon*"), 1),
    PaperFigure("Fig. 2", "Logistic regression on MNIST 3 vs 7: weights, sign of the weights, clean and adversarial inputs",
                ("*/*logreg*", "*/*logistic*"), 2),
    PaperFigure("Fig. 3", "First-layer maxout weights, without and with adversarial training", ("03-*/*weights*",), 3),
    PaperFigure("Fig. 4", "Logits of a maxout net along the FGSM direction, eps from -15 to 15", ("*/*logit*",), 4),
    PaperFigure("App. A", "Rubbish-class examples: Gaussian noise labelled with high confidence",
                ("*/appa*", "*/*rubbish*", "*/*fooling*")),
    PaperFigure("Seed report", "The seed report's GoogLeNet-on-MNIST figures: training, confidence, accuracy against eps",
                ("*/*googlenet*", "01-*/*accuracy*eps*", "01-*/*confidence*")),
)
BEYOND = "beyond the paper"
SUMMARY_NOTEBOOK = "05-summary"  # its own figures are not part of the gallery


def gallery(figures_dir: Path) -> dict[str, list[Path]]:
    """Paper figure key (and ``BEYOND``) -> the figure files found under ``figures_dir``."""
    out: dict[str, list[Path]] = {f.key: [] for f in GALLERY}
    out[BEYOND] = []
    figures_dir = Path(figures_dir)
    if not figures_dir.is_dir():
        return out
    for png in sorted(figures_dir.glob("[0-9][0-9]-*/*.png")):
        notebook = png.parent.name
        if notebook == SUMMARY_NOTEBOOK:
            continue
        name = f"{notebook}/{png.stem}".lower()
        key = next((f.key for f in GALLERY if f.matches(name)), BEYOND)
        out[key].append(png)
    return out


# --------------------------------------------------------------------------------------------
# Rows


@dataclass
class Row:
    """One claim: the paper's and the seed report's values as printed, ours, and the verdict."""
    id: str
    notebook: str
    ref: str
    what: str
    unit: str
    paper: str  # as printed in the claim list ("89.4", ">5", "no benefit", "")
    seed_report: str  # as printed ("1.35 (best 1.26)", "~100", "")
    value: Union[Number, str, None] = None
    std: Optional[float] = None
    ci95: Optional[float] = None
    n_seeds: int = 0
    status: str = "missing"
    note: str = ""
    profile: str = ""
    source: Optional[str] = None  # the results file the value came from
    verdict: str = "missing"
    reason: str = ""
    clipped: Optional["Row"] = None  # a claim on FGSM examples: the same row under the clipped protocol


@dataclass
class Summary:
    rows: list[Row]
    files: dict[str, dict]  # notebook -> parsed results file
    gallery: dict[str, list[Path]]
    results_dir: Path
    figures_dir: Path
    profile: str = ""
    warnings: list[str] = field(default_factory=list)

    def by_id(self) -> dict[str, Row]:
        return {r.id: r for r in self.rows}

    def counts(self) -> dict[str, int]:
        return {v: n for v in VERDICTS if (n := sum(r.verdict == v for r in self.rows))}


def load_all(results_dir: Path) -> dict[str, dict]:
    """Every ``<notebook>.json`` in ``results_dir``, by notebook name. A file that does not
    parse raises ``ValueError`` naming it (``load_results``): a broken file is never skipped."""
    out = {}
    for path in sorted(Path(results_dir).glob("*.json")):
        blob = load_results(path)
        for c in blob["claims"]:
            if not isinstance(c, dict) or "id" not in c:
                raise ValueError(f"results file {path} could not be read: a claim without an 'id': {c!r}")
        out[blob.get("notebook") or path.stem] = {**blob, "_path": str(path)}
    return out


def _rows(files: dict[str, dict]) -> list[Row]:
    claims = paper_claims()
    # a claim recorded by several files: the one its own notebook wrote wins, else the one with
    # a clipped value (``make paper``'s adv240 records the claims that adv240clip completes)
    found: dict[str, tuple[dict, dict]] = {}
    rank: dict[str, tuple[bool, bool]] = {}
    for notebook, blob in files.items():
        for c in blob["claims"]:
            mine = (notebook == claims.get(c["id"], {}).get("notebook"), bool(c.get("clipped")))
            if c["id"] not in found or mine > rank[c["id"]]:
                found[c["id"]], rank[c["id"]] = (c, blob), mine
    ids = list(claims) + sorted(set(found) - set(claims))
    rows = []
    for cid in ids:
        meta = claims.get(cid) or {}
        c, blob = found.get(cid, ({}, {}))
        row = Row(id=cid, notebook=meta.get("notebook") or blob.get("notebook", ""),
                  ref=meta.get("paper_ref", ""), what=meta.get("what") or c.get("what", ""),
                  unit=meta.get("metric") or c.get("unit", ""),
                  paper=meta.get("paper_value", _text(c.get("paper"))),
                  seed_report=meta.get("seed_report_value", _text(c.get("seed_report"))))
        if c:
            row.value, row.std, row.ci95 = c.get("value"), c.get("std"), c.get("ci95")
            row.n_seeds, row.status = int(c.get("n_seeds") or 0), c.get("status") or "measured"
            row.note, row.profile, row.source = c.get("note") or "", blob.get("profile", ""), blob["_path"]
            other = c.get("clipped")
            if isinstance(other, dict):
                row.clipped = dataclasses.replace(row, value=other.get("value"), std=other.get("std"),
                                                  ci95=other.get("ci95"), n_seeds=int(other.get("n_seeds") or 0),
                                                  note="clipped to [0, 1]")
        rows.append(row)
    return rows


def _text(x) -> str:
    return "" if x is None else str(x)


def number(x) -> Optional[float]:
    """A finite number, or None (bools, words, NaN and None are not numbers here)."""
    if isinstance(x, bool) or not isinstance(x, (int, float)) or not math.isfinite(x):
        return None
    return float(x)


_LEADING_NUMBER = re.compile(r"^\s*~?\s*(-?\d+(?:\.\d+)?)")
_THRESHOLD = re.compile(r"^\s*([<>]=?)\s*(-?\d+(?:\.\d+)?)\s*%?\s*$")


def reference(row: Row) -> tuple[Optional[str], str]:
    """(the text we compare against, which source it is: 'paper' or 'seed report')."""
    if row.paper.strip():
        return row.paper.strip(), "paper"
    if row.seed_report.strip():
        return row.seed_report.strip(), "seed report"
    return None, ""


def reference_number(row: Row) -> Optional[float]:
    """The reference as a number; None for a threshold (">5"), a word claim, or no reference."""
    text, _ = reference(row)
    m = _LEADING_NUMBER.match(text or "")
    return float(m.group(1)) if m and not _THRESHOLD.match(text) else None


def tolerance(ref: float) -> float:
    """Points of slack around a reference value in % (see ``VERDICT_RULE``)."""
    return SMALL_TOL if abs(ref) < SMALL else max(MIN_TOL, REL_TOL * abs(ref))


def _holds(a: float, rel: str, b: float) -> bool:
    return {"<": a < b, ">": a > b, "<=": a <= b, ">=": a >= b}[rel]


def fmt(x, digits: Optional[int] = None) -> str:
    """Numbers as a reader wants them: 2 decimals below 10, 1 above."""
    v = number(x)
    if v is None:
        return "" if x is None else str(x)
    if digits is None:
        digits = 2 if abs(v) < 10 else 1
    return f"{v:.{digits}f}"


def _norm_word(s: str) -> str:
    return re.sub(r"[\s_-]+", " ", str(s).strip().lower())


def judge(row: Row, ours: dict[str, Optional[float]], files: dict[str, dict],
          figures: dict[str, list[Path]]) -> tuple[str, str]:
    """The verdict for one row and its reason. ``ours`` maps claim id -> our number (for
    direction comparisons), ``files`` are the results files found, ``figures`` the gallery."""
    # notebook names may change; the "NN-" prefix identifies a notebook
    ran = any(nb == row.notebook or nb.split("-", 1)[0] == row.notebook.split("-", 1)[0] for nb in files)
    # 1. unavailable / missing first: nothing below may call a claim without a value reproduced
    if row.status == "unavailable":
        return "unavailable here", row.note or "data or weights not available here"
    if row.source is not None and row.status in ("missing", "not run"):
        return "missing", row.note or f"{row.notebook} recorded no value"
    if row.unit == "figure":
        if not ran:
            return "missing", f"notebook {row.notebook} did not run (no {row.notebook}.json)"
        keys = [f.key for f in GALLERY if f.holds(row.ref)]
        files_ = [p for k in keys for p in figures.get(k, [])]
        if not files_:
            return "missing", f"no figure file for {', '.join(keys) or row.id}"
        shown = ", ".join(f"{p.parent.name}/{p.name}" for p in files_)
        return "see figure", (row.note + "; " if row.note else "") + shown
    if row.source is None:
        if not ran:
            return "missing", f"notebook {row.notebook} did not run (no {row.notebook}.json)"
        return "missing", f"{row.notebook}.json does not record it"
    if row.value is None:
        return "missing", row.note or "no value recorded"
    ref_text, ref_src = reference(row)
    if ref_text is None:
        return "not judged", "neither the paper nor the seed report gives a value"
    against = "" if ref_src == "paper" else " (the seed report's value: the paper gives none)"
    value = number(row.value)

    # 2. threshold (">5") and word ("no benefit") claims
    m = _THRESHOLD.match(ref_text)
    if m:
        if value is None:
            return "not judged", f"ours is not a number: {row.value!r}"
        rel, bound = m.group(1), float(m.group(2))
        ok = _holds(value, rel, bound)
        return ("reproduced" if ok else "not reproduced"), f"{fmt(value)} {rel if ok else 'not ' + rel} {bound:g}{against}"
    m = _LEADING_NUMBER.match(ref_text)
    if not m:  # a word claim
        if isinstance(row.value, str):
            ok = _norm_word(row.value) == _norm_word(ref_text)
            return ("reproduced" if ok else "not reproduced"), f"ours: {row.value!r}, paper: {ref_text!r}{against}"
        return "not judged", f"a word claim ({ref_text!r}) but ours is {row.value!r}: see notebook {row.notebook}"
    if value is None:
        return "not judged", f"ours is not a number: {row.value!r}"

    # 3. numbers: within the tolerance?
    ref = float(m.group(1))
    tol, diff = tolerance(ref), value - ref
    gap = f"ours − {ref_src} = {diff:+.2f}, tolerance ±{tol:.2f}{against}"
    if abs(diff) <= tol:
        return "reproduced", gap
    # 4. outside: does the paper's direction hold?
    if row.id not in DIRECTIONS:
        return "not reproduced", gap + "; no direction declared"
    rel, other, why = DIRECTIONS[row.id]
    if isinstance(other, str):
        b = ours.get(other)
        if b is None:
            return "not reproduced", gap + f"; direction unknown ({other} missing)"
        rhs = f"{fmt(b)} ({other})"
    else:
        b, rhs = float(other), f"{other:g}"
    ok = _holds(value, rel, b)
    direction = f"{fmt(value)} {rel} {rhs}: {why}"
    return ("direction reproduced", gap + "; but " + direction) if ok else (
        "not reproduced", gap + "; direction fails: not " + direction)


def summarize(results_dir: Path, figures_dir: Path, profile: str = "") -> Summary:
    """Read every results file in ``results_dir`` and judge every claim."""
    files = load_all(results_dir)
    figs = gallery(figures_dir)
    rows = _rows(files)
    ours = {r.id: number(r.value) for r in rows if r.status not in ("unavailable", "missing", "not run")}
    # the clipped protocol's direction checks compare clipped values where a claim has one
    ours_clipped = {**ours, **{r.id: number(r.clipped.value) for r in rows if r.clipped is not None}}
    for r in rows:
        r.verdict, r.reason = judge(r, ours, files, figs)
        assert r.verdict in VERDICTS, r.verdict
        if r.clipped is not None:
            r.clipped.verdict, r.clipped.reason = judge(r.clipped, ours_clipped, files, figs)
    warnings = [f"{Path(b['_path']).name} was written at profile {b.get('profile')!r}, not {profile!r}"
                for b in files.values() if profile and b.get("profile") != profile]
    return Summary(rows, files, figs, Path(results_dir), Path(figures_dir), profile, warnings)


PROTOCOL_DIR = paths.ROOT / "results" / "paper"


def protocol_rows(results_dir: Path = PROTOCOL_DIR) -> Optional[dict[str, Row]]:
    """The claims judged from the paper protocol's results (``make paper``), by id; None where
    it has not run here."""
    if not any(Path(results_dir).glob("*.json")):
        return None
    return summarize(results_dir, paths.ROOT / "figures" / "paper", "paper").by_id()


def summarize_profile(profile: str) -> Summary:
    """``summarize`` on the results and figures folders of ``profile``."""
    fig_dir, res_dir = profiles.output_dirs(profile)
    return summarize(res_dir, fig_dir, profile)
