"""The report's rendering: the verdicts of ``helpers.verdicts`` as RESULTS.md, Markdown tables
for notebook 05-summary and the README, and a figure of ours against the paper."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

from . import paths
from .attacks import PRIMARY
from .verdicts import (ATTACK_PROTOCOL_NOTE, BEYOND, GALLERY, PROTOCOL_DIR, SMALL, SUMMARY_NOTEBOOK, VERDICT_RULE,
                       Row, Summary, fmt, number, protocol_rows, reference_number, tolerance)


# --------------------------------------------------------------------------------------------
# Markdown


def _cell(x) -> str:
    return str(x).replace("|", "\\|").replace("\n", " ")


def ours_text(row: Row) -> str:
    """'1.32 ± 0.08 (n=2, 95% CI ± 0.72)', '89.0 (n=1)', 'no benefit', or '—' (± the sd over seeds)."""
    if row.value is None or row.status in ("unavailable", "missing", "not run"):
        return "—"
    if number(row.value) is None:
        return str(row.value)
    spread = f" ± {fmt(row.std)}" if number(row.std) is not None else ""
    ci = f", 95% CI ± {fmt(row.ci95)}" if number(row.ci95) is not None else ""
    return f"{fmt(row.value)}{spread} (n={row.n_seeds}{ci})"


def _table(header: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(_cell(c) for c in r) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def _protocol_cell(row: Optional[Row]) -> str:
    """Our value under the paper's own protocol and its verdict, or '—' where it has not run."""
    if row is None or row.verdict in ("missing", "unavailable here"):
        return "—"
    text = f"{ours_text(row)}: **{row.verdict}**"
    if row.clipped is not None and row.clipped.verdict not in ("missing", "unavailable here"):
        text += f"; clipped {ours_text(row.clipped)}: **{row.clipped.verdict}**"
    return text


def _clipped_cell(row: Row) -> str:
    """The claim under the clipped protocol and its verdict; '' for a claim not on FGSM examples."""
    if row.clipped is None:
        return ""
    return f"{ours_text(row.clipped)}: **{row.clipped.verdict}**"


def claims_table(rows: list[Row], protocol: Optional[dict[str, Row]] = None) -> str:
    """The full table: one row per claim id. *ours* is the primary attack protocol (FGSM as
    printed); *clipped* the same claim with FGSM clipped to [0, 1], where it involves FGSM.
    With ``protocol`` (rows judged from ``results/paper``), a column for the paper's protocol."""
    header = ["claim", "ref", "what", "unit", "paper", "seed report", f"ours ({PRIMARY})", "profile", "verdict",
              "reason", "ours (clipped): verdict"]
    body = [[f"`{r.id}`", r.ref, r.what, r.unit, r.paper or "—", r.seed_report or "—", ours_text(r),
             r.profile or "—", f"**{r.verdict}**", r.reason, _clipped_cell(r)] for r in rows]
    if protocol is not None:
        header.append("paper protocol")
        for line, r in zip(body, rows):
            line.append(_protocol_cell(protocol.get(r.id)))
    return _table(header, body)


def protocol_changes(rows: list[Row]) -> list[Row]:
    """The claims whose verdict under the clipped protocol differs from the primary's."""
    return [r for r in rows if r.clipped is not None and r.clipped.verdict != r.verdict]


def changes_table(rows: list[Row]) -> str:
    """The claims whose verdict changes with the attack protocol, both values beside the paper's."""
    changed = protocol_changes(rows)
    if not changed:
        return "No claim's verdict changes with the attack protocol.\n"
    return _table(["claim", "what", "paper", f"ours ({PRIMARY})", "verdict", "ours (clipped)", "verdict (clipped)"],
                  [[f"`{r.id}`", r.what, r.paper or "—", ours_text(r), f"**{r.verdict}**",
                    ours_text(r.clipped), f"**{r.clipped.verdict}**"] for r in changed])


HEADLINE: tuple[tuple[str, str], ...] = (
    ("s6.maxout240_clean_err", "maxout 240, clean error"),
    ("s6.maxout240_adv_clean_err", "maxout 240 + adversarial training, clean error"),
    ("s4.maxout_adv_err", "maxout, FGSM error (eps .25)"),
    ("s6.advtrained_adv_err", "maxout + adversarial training, FGSM error"),
    ("s6.transfer_base_to_adv", "transfer: base-net examples on the adv-trained net"),
    ("s6.transfer_adv_to_base", "transfer: adv-trained-net examples on the base net"),
    ("s7.rbf_adv_err", "RBF network, FGSM error"),
    ("s7.rbf_adv_conf", "RBF network, confidence on its FGSM mistakes"),
    ("appA.rubbish_maxout_softmax_err", "rubbish: Gaussian noise given a class with p > .5 (maxout + softmax)"),
    ("appA.rubbish_rbf_err", "rubbish: Gaussian noise given a class with p > .5 (RBF)"),
)


def headline_table(rows: list[Row], protocol: Optional[dict[str, Row]] = None) -> str:
    """The short table for the README: the paper's main MNIST numbers (in %); with
    ``protocol``, our numbers under the paper's own protocol beside them."""
    by = {r.id: r for r in rows}
    header = ["", "paper", f"ours ({PRIMARY})", "verdict", "ours (clipped)"] + (
        ["paper protocol"] if protocol is not None else [])
    return _table(header, [[what, by[cid].paper or "—", ours_text(by[cid]), by[cid].verdict,
                            ours_text(by[cid].clipped) + f" ({by[cid].clipped.verdict})" if by[cid].clipped else "—"]
                           + ([_protocol_cell(protocol.get(cid))] if protocol is not None else [])
                           for cid, what in HEADLINE if cid in by])


def counts_line(s: Summary) -> str:
    return ", ".join(f"{n} {v}" for v, n in s.counts().items()) + f" (of {len(s.rows)} claims)"


def coverage_table(s: Summary) -> str:
    """Which notebooks wrote a results file, at which profile, with how many claims."""
    notebooks = sorted({r.notebook for r in s.rows if r.notebook} | set(s.files))
    out = []
    for nb in notebooks:
        blob = s.files.get(nb)
        mine = [r for r in s.rows if r.notebook == nb]
        out.append([nb, f"`{Path(blob['_path']).name}`" if blob else "— (did not run)",
                    blob.get("profile", "") if blob else "—",
                    sum(r.verdict in ("reproduced", "direction reproduced") for r in mine),
                    sum(r.verdict == "missing" for r in mine), len(mine)])
    return _table(["notebook", "results file", "profile", "reproduced (incl. direction)", "missing", "claims"], out)


def _rel(path: Path, start: Path) -> str:
    return Path(os.path.relpath(Path(path).resolve(), Path(start).resolve())).as_posix()


def gallery_markdown(s: Summary, md_dir: Path, width: int = 320) -> str:
    """The figure gallery with image links relative to ``md_dir`` (where the markdown lives)."""
    def imgs(files: list[Path]) -> str:
        return " ".join(f'<a href="{_rel(p, md_dir)}"><img src="{_rel(p, md_dir)}" width="{width}" '
                        f'alt="{p.parent.name}/{p.stem}"></a>' for p in files)

    parts = ["| paper | what it shows | our figure files |", "|---|---|---|"]
    for f in GALLERY:
        files = s.gallery.get(f.key, [])
        names = "<br>".join(f"[`{p.parent.name}/{p.name}`]({_rel(p, md_dir)})" for p in files) or "— (none yet)"
        parts.append(f"| {f.key} | {_cell(f.title)} | {names} |")
    out = "\n".join(parts) + "\n"
    for f in GALLERY:
        if s.gallery.get(f.key):
            out += f"\n### {f.key}: {f.title}\n\n{imgs(s.gallery[f.key])}\n"
    beyond = s.gallery.get(BEYOND, [])
    out += "\n### Beyond the paper\n\n"
    if not beyond:
        out += "None yet.\n"
    for nb in sorted({p.parent.name for p in beyond}):
        mine = [p for p in beyond if p.parent.name == nb]
        out += f"\n**{nb}**: " + ", ".join(f"[`{p.name}`]({_rel(p, md_dir)})" for p in mine) + "\n\n" + imgs(mine) + "\n"
    return out


def results_markdown(s: Summary, md_path: Path) -> str:
    """The whole RESULTS.md (figure links relative to ``md_path``'s folder)."""
    md_dir = Path(md_path).parent
    src = _rel(s.results_dir, md_dir)
    text = [
        "# Results: which of the paper's claims hold\n",
        f"Written by `notebooks/05-summary` (profile `{s.profile or '?'}`) from `{src}/*.json`; "
        "regenerate with `make report`. The executed notebooks are rendered to HTML in "
        "`build/html/index.html`.\n",
        f"**Verdicts:** {counts_line(s)}.\n",
    ]
    text += [f"> Warning: {w}\n" for w in s.warnings]
    protocol = protocol_rows() if s.profile == "default" else None
    text += [VERDICT_RULE, "## Headline\n", headline_table(s.rows, protocol)]
    scatter = s.figures_dir / SUMMARY_NOTEBOOK / "ours-vs-paper.png"
    if scatter.is_file():
        text.append(f"![every numeric claim, ours against the paper]({_rel(scatter, md_dir)})\n")
    if protocol is not None:
        text.append("The *paper protocol* column holds our numbers under the paper's own protocol "
                    "(`make paper`: the recipe, patience 100, five seeds, 1600-unit nets) from "
                    f"`{_rel(PROTOCOL_DIR, md_dir)}/*.json`, judged by the same rule; '—' where it has not run.\n")
    text += ["## The attack protocol\n", ATTACK_PROTOCOL_NOTE, "Claims whose verdict changes with it:\n",
             changes_table(s.rows)]
    text += ["## Every claim\n", claims_table(s.rows, protocol),
             "## Notebooks\n", coverage_table(s),
             "## Figures\n", gallery_markdown(s, md_dir)]
    return "\n".join(text)


def write_results_md(s: Summary, md_path: Path) -> Path:
    """Write RESULTS.md atomically; returns its path."""
    md_path = Path(md_path)
    paths.atomic_write_bytes(md_path, results_markdown(s, md_path).encode())
    return md_path


# --------------------------------------------------------------------------------------------
# A figure: ours against the paper for every numeric claim


def numeric_points(rows: list[Row]) -> list[tuple[float, float, str, str]]:
    """(reference, ours, claim id, verdict) of every judged numeric claim."""
    out = []
    for r in rows:
        ref = reference_number(r)
        if r.verdict in ("reproduced", "direction reproduced", "not reproduced") and ref is not None \
                and number(r.value) is not None:
            out.append((ref, float(r.value), r.id, r.verdict))
    return out


def plot_ours_vs_paper(rows: list[Row]):
    """Our value against the reference value (%) for every judged numeric claim, coloured by
    verdict, with the identity line and the tolerance band; the right panel zooms on the
    references below 5 % (the clean errors). Returns the figure."""
    import matplotlib.pyplot as plt
    import numpy as np

    colors = {"reproduced": "tab:green", "direction reproduced": "tab:orange", "not reproduced": "tab:red"}
    pts = numeric_points(rows)
    clipped = numeric_points([r.clipped for r in rows if r.clipped is not None])
    fig, axes = plt.subplots(1, 2, figsize=(12, 5.5), gridspec_kw={"width_ratios": [3, 2]})
    for ax, (lo, hi), top in ((axes[0], (0, 100), 100.0), (axes[1], (0, SMALL), 2 * SMALL)):
        grid = np.linspace(lo, hi, 801)
        tol = np.array([tolerance(g) for g in grid])
        ax.fill_between(grid, grid - tol, grid + tol, color="0.85", label="tolerance", step="mid")
        ax.plot([lo, hi], [lo, hi], color="0.4", lw=1, label="ours = paper")
        for verdict, color in colors.items():
            mine = [p for p in pts if p[3] == verdict and lo <= p[0] <= hi]
            inside = [p for p in mine if p[1] <= top]
            if inside:
                ax.scatter([p[0] for p in inside], [p[1] for p in inside], color=color, s=30, zorder=3,
                           label=f"{verdict} ({len(mine)})")
            if len(inside) < len(mine):  # off the top of the zoom: a triangle on its edge
                ax.scatter([p[0] for p in mine if p[1] > top], [top] * (len(mine) - len(inside)), color=color,
                           marker="^", s=40, zorder=3, clip_on=False)
            other = [p for p in clipped if p[3] == verdict and lo <= p[0] <= hi and p[1] <= top]
            if other:  # the same claims under the clipped protocol: hollow
                ax.scatter([p[0] for p in other], [p[1] for p in other], facecolors="none", edgecolors=color,
                           s=30, zorder=2, label=f"{verdict}, clipped (hollow)")
        labelled = [(x, min(y, top), cid) for x, y, cid, verdict in pts
                    if lo <= x <= hi and (verdict != "reproduced" or hi == SMALL)]
        for (x, y, cid), (dx, dy) in zip(labelled, label_offsets([(x / (hi - lo), y / top) for x, y, _ in labelled])):
            ax.annotate(cid.split(".", 1)[-1], (x, y), fontsize=7, xytext=(3 + dx, 3 + dy), textcoords="offset points",
                        arrowprops={"arrowstyle": "-", "lw": 0.4, "color": "0.5"} if dy else None)
        pad = 0.02 * (hi - lo)
        ax.set(xlim=(lo - pad, hi + pad), ylim=(-0.02 * top, top * 1.02),
               xlabel="reference (paper, else seed report), %", ylabel="ours, %")
    axes[0].set_title("Every numeric claim: ours against the paper")
    axes[1].set_title(f"Zoom: references below {SMALL:g} % (▲ = ours above {2 * SMALL:g} %)")
    handles, labels = axes[0].get_legend_handles_labels()
    for h, l in zip(*axes[1].get_legend_handles_labels()):
        if l.split(" (")[0] not in [x.split(" (")[0] for x in labels]:
            handles.append(h)
            labels.append(l.split(" (")[0])
    judged = [r for r in rows if r.verdict in ("reproduced", "direction reproduced", "not reproduced")]
    fig.tight_layout(rect=(0, 0.1, 1, 1))
    fig.legend(handles, labels, loc="lower center", bbox_to_anchor=(0.5, 0.03), ncol=len(labels), frameon=False)
    fig.text(0.5, 0.005, f"{len(pts)} of the {len(judged)} judged claims are plotted (filled: FGSM as printed; "
             f"hollow: the {len(clipped)} FGSM claims clipped to [0, 1]); the other "
             f"{len(judged) - len(pts)} are words or thresholds (\"no benefit\", \">5\"), judged in RESULTS.md "
             "but without a point here. Counts in the legend are of plotted claims.",
             ha="center", va="bottom", fontsize=8, color="0.3")
    return fig


def label_offsets(points: list[tuple[float, float]], min_dx: float = 0.12, min_dy: float = 0.035,
                  step: float = 9.0) -> list[tuple[float, float]]:
    """Offsets (points) that keep labels of nearby points from printing over each other.
    ``points`` are in axes fractions; a label is moved up, ``step`` points at a time, while it
    would sit within (min_dx, min_dy) of a label already placed."""
    placed: list[tuple[float, float]] = []
    out = []
    for x, y in points:
        lift = 0
        while any(abs(x - px) < min_dx and abs(y + lift * min_dy - py) < min_dy for px, py in placed):
            lift += 1
        placed.append((x, y + lift * min_dy))
        out.append((0.0, lift * step))
    return out
