"""The executed notebooks as HTML, with an index page, so a reader needs no Jupyter.

``python -m helpers.render build/notebooks/<profile> build/html`` converts every executed
``*.ipynb`` there (nbconvert, ``lab`` template; images are already embedded in the outputs)
and writes ``index.html``: a link per notebook with its title and run time, then the profile's
RESULTS.md rendered, its figure links rebased so they resolve from the HTML folder.
"""
from __future__ import annotations

import argparse
import html
import json
import os
import re
import shutil
from pathlib import Path
from typing import Optional

from . import paths, profiles


def notebook_title(nb) -> str:
    """The first markdown heading of a notebook ('01 · Title'), else ''."""
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return ""


def read_timings(exec_dir: Path) -> dict[str, tuple[int, Optional[int]]]:
    """notebook -> (seconds, peak memory in MB or None), from the ``timings.tsv`` that
    ``make report`` appends to (the latest line of a notebook wins)."""
    out: dict[str, tuple[int, Optional[int]]] = {}
    f = Path(exec_dir) / "timings.tsv"
    if f.is_file():
        for line in f.read_text().splitlines():
            cols = line.split("\t")
            if len(cols) >= 2 and cols[1].strip().isdigit():
                peak = int(cols[2]) // 1024 if len(cols) > 2 and cols[2].strip().isdigit() else None
                out[cols[0].strip()] = (int(cols[1]), peak)
    return out


_LINK = re.compile(r'(\b(?:src|href)=")([^"#:]+?)(")')


def rebase_links(text: str, from_dir: Path, to_dir: Path) -> str:
    """Rewrite relative src/href paths written for ``from_dir`` so they work from ``to_dir``
    (absolute URLs, anchors and ``data:`` URIs are left alone)."""
    def fix(m: re.Match) -> str:
        target = (Path(from_dir) / m.group(2)).resolve()
        return m.group(1) + Path(os.path.relpath(target, Path(to_dir).resolve())).as_posix() + m.group(3)

    return _LINK.sub(fix, text)


def markdown_to_html(text: str) -> str:
    from nbconvert.filters.markdown import markdown2html

    return markdown2html(text)


_STYLE = """
body { font-family: system-ui, sans-serif; max-width: 1200px; margin: 2em auto; padding: 0 1em; line-height: 1.45; }
table { border-collapse: collapse; font-size: 0.9em; margin: 1em 0; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.5em; vertical-align: top; text-align: left; }
th { background: #f3f3f3; }
code { background: #f6f6f6; padding: 0 0.2em; }
img { max-width: 100%; }
"""


def index_html(pages: list[tuple[str, str, Optional[int]]], profile: str, results_html: str = "") -> str:
    """The index page: ``pages`` are (file name, title, seconds or None)."""
    items = "\n".join(
        f'<li><a href="{html.escape(href)}">{html.escape(title or href)}</a>'
        + (f" <small>({secs} s)</small>" if secs is not None else "") + "</li>"
        for href, title, secs in pages)
    results = (f'<hr>\n<section id="results">\n{results_html}\n</section>' if results_html
               else "<p>No RESULTS.md for this profile yet: run <code>make report</code>.</p>")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>Explaining and Harnessing Adversarial Examples: a reproduction ({html.escape(profile)})</title>
<style>{_STYLE}</style></head>
<body>
<h1>Explaining and Harnessing Adversarial Examples: a reproduction</h1>
<p>Goodfellow, Shlens &amp; Szegedy, ICLR 2015. The executed notebooks of profile
<code>{html.escape(profile)}</code>, in reading order:</p>
<ol>
{items}
</ol>
{results}
</body></html>
"""


MATHJAX_CONFIG = "TeX-AMS-MML_HTMLorMML-full,Safe"  # what nbconvert's templates load from the CDN


def offline_mathjax(out_dir: Path) -> str:
    """Copy the MathJax that ``jupyter-server-mathjax`` ships into ``out_dir/mathjax`` and return
    its relative URL, so that equations render with no internet; nbconvert's CDN URL (with a
    warning) where that package is missing."""
    try:
        import jupyter_server_mathjax
    except ImportError:
        import warnings

        warnings.warn("jupyter-server-mathjax is not installed: the HTML loads MathJax from a CDN, so its "
                      "equations stay raw TeX offline (pip install jupyter-server-mathjax)", stacklevel=2)
        return f"https://cdnjs.cloudflare.com/ajax/libs/mathjax/2.7.7/MathJax.js?config={MATHJAX_CONFIG}"
    static = Path(jupyter_server_mathjax.__file__).parent / "static"
    shutil.copytree(static, Path(out_dir) / "mathjax", dirs_exist_ok=True)
    return f"mathjax/MathJax.js?config={MATHJAX_CONFIG}"


def render(exec_dir: Path, out_dir: Path, results_md: Optional[Path] = None,
           profile: Optional[str] = None) -> Path:
    """Convert every ``exec_dir/*.ipynb`` to ``out_dir/<name>.html`` and write
    ``out_dir/index.html``; returns the index path. ``profile`` defaults to ``exec_dir``'s
    name (``build/notebooks/<profile>``); ``results_md`` to that profile's RESULTS.md."""
    import nbformat
    from nbconvert import HTMLExporter

    exec_dir, out_dir = Path(exec_dir), Path(out_dir)
    notebooks = sorted(exec_dir.glob("*.ipynb"))
    if not notebooks:
        raise FileNotFoundError(f"no executed notebooks in {exec_dir}: run `make report` first")
    profile = profile or (exec_dir.name if exec_dir.name in profiles.PROFILES else "")
    if results_md is None and profile:
        results_md = profiles.results_md(profile)

    exporter = HTMLExporter(template_name="lab", mathjax_url=offline_mathjax(out_dir))
    timings = read_timings(exec_dir)
    pages = []
    for path in notebooks:
        try:
            nb = nbformat.read(path, as_version=4)
        except (OSError, ValueError, json.JSONDecodeError) as e:  # a half-written notebook
            raise ValueError(f"executed notebook {path} could not be read: {e}") from e
        body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": path.stem}})
        paths.atomic_write_bytes(out_dir / f"{path.stem}.html", body.encode())
        pages.append((f"{path.stem}.html", notebook_title(nb) or path.stem, timings.get(path.stem, (None,))[0]))

    results_html = ""
    if results_md is not None and Path(results_md).is_file():
        results_html = rebase_links(markdown_to_html(Path(results_md).read_text()), Path(results_md).parent, out_dir)
    index = out_dir / "index.html"
    paths.atomic_write_bytes(index, index_html(pages, profile or exec_dir.name, results_html).encode())
    return index


def main(argv: Optional[list[str]] = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("exec_dir", type=Path, help="folder of executed notebooks (build/notebooks/<profile>)")
    ap.add_argument("out_dir", type=Path, help="where the HTML goes (build/html)")
    ap.add_argument("--results-md", type=Path, default=None, help="RESULTS.md to show on the index page")
    args = ap.parse_args(argv)
    index = render(args.exec_dir, args.out_dir, args.results_md)
    print(f"HTML: {index}")


if __name__ == "__main__":
    main()
