import re

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from helpers import render


def executed(path, title, text):
    """A tiny notebook as papermill leaves it: a heading, a code cell and its output."""
    nb = new_notebook(cells=[
        new_markdown_cell(f"# {title}\n\nSome prose."),
        new_code_cell("print('hi')", execution_count=1,
                      outputs=[new_output("stream", name="stdout", text=text)]),
    ])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)
    return path


@pytest.fixture
def exec_dir(tmp_path):
    d = tmp_path / "build" / "notebooks" / "smoke"
    d.mkdir(parents=True)
    executed(d / "01-first.ipynb", "01 · First chapter", "output-of-first\n")
    executed(d / "02-second.ipynb", "02 · Second chapter", "output-of-second\n")
    (d / "timings.tsv").write_text("01-first\t12\n01-first\t7\n02-second\t3\n")
    return d


def test_render_writes_each_notebook_and_an_index_linking_them(exec_dir, tmp_path):
    results = tmp_path / "RESULTS.md"
    results.write_text("# Results\n\n| claim | verdict |\n|---|---|\n| `s4.maxout_adv_err` | reproduced |\n\n"
                       '<img src="figures/03-maxout/fig3.png" width="100">\n')
    out = tmp_path / "build" / "html"
    index = render.render(exec_dir, out, results_md=results)
    assert index == out / "index.html"
    assert sorted(p.name for p in out.iterdir()) == ["01-first.html", "02-second.html", "index.html", "mathjax"]
    assert "output-of-first" in (out / "01-first.html").read_text()
    assert "output-of-second" in (out / "02-second.html").read_text()

    page = index.read_text()
    assert re.findall(r'<li><a href="([^"]+)"', page) == ["01-first.html", "02-second.html"]
    assert "01 · First chapter" in page and "(7 s)" in page and "(3 s)" in page  # latest timing wins
    assert "<table>" in page and "s4.maxout_adv_err" in page  # RESULTS.md rendered
    assert 'src="../../figures/03-maxout/fig3.png"' in page  # rebased from tmp_path to build/html
    assert "<code>smoke</code>" in page  # the profile, from the folder name


def test_render_without_results_md_says_so(exec_dir, tmp_path):
    index = render.render(exec_dir, tmp_path / "html", results_md=tmp_path / "nope.md")
    assert "No RESULTS.md" in index.read_text()


def test_render_needs_executed_notebooks(tmp_path):
    with pytest.raises(FileNotFoundError, match="make report"):
        render.render(tmp_path, tmp_path / "html")


def test_broken_notebook_is_named(exec_dir, tmp_path):
    (exec_dir / "03-broken.ipynb").write_text("{ half a notebook")
    with pytest.raises(ValueError, match="03-broken.ipynb"):
        render.render(exec_dir, tmp_path / "html", results_md=tmp_path / "nope.md")


def test_rebase_links_keeps_urls_and_anchors(tmp_path):
    html = ('<a href="https://arxiv.org/abs/1412.6572">p</a> <a href="#top">t</a> '
            '<img src="data:image/png;base64,AAAA"> <img src="figures/a.png">')
    out = render.rebase_links(html, tmp_path, tmp_path / "build" / "html")
    assert 'href="https://arxiv.org/abs/1412.6572"' in out and 'href="#top"' in out
    assert 'src="data:image/png;base64,AAAA"' in out
    assert 'src="../../figures/a.png"' in out


def test_cli(exec_dir, tmp_path, capsys):
    render.main([str(exec_dir), str(tmp_path / "html"), "--results-md", str(tmp_path / "nope.md")])
    assert "index.html" in capsys.readouterr().out
    assert (tmp_path / "html" / "02-second.html").is_file()


def test_equations_render_offline_from_a_local_mathjax(exec_dir, tmp_path):
    out = tmp_path / "html"
    render.render(exec_dir, out)
    page = (out / "01-first.html").read_text()
    assert 'src="mathjax/MathJax.js?config=TeX-AMS-MML_HTMLorMML-full,Safe"' in page
    assert not re.search(r"https?://[^\"']*mathjax", page, re.IGNORECASE)  # no MathJax from a CDN
    assert (out / "mathjax" / "MathJax.js").is_file()
    assert (out / "mathjax" / "config" / "TeX-AMS-MML_HTMLorMML-full.js").is_file()


def test_readme_sections_are_replaced_between_their_markers_only(tmp_path):
    from helpers import readme

    f = tmp_path / "README.md"
    f.write_text("# Title\n\nhand-written\n<!-- begin time (generated) -->\nold\n<!-- end time -->\nafter\n")
    readme.update({"time": readme.time_section({"01-a": (75, 2048), "02-b": (5, None)}, "Some CPU", 2,
                                               {"fp32": 200.4})}, f)
    text = f.read_text()
    assert text.startswith("# Title\n\nhand-written\n<!-- begin time (generated) -->\n") and text.endswith(
        "<!-- end time -->\nafter\n")
    assert "old" not in text and "Some CPU with 2 threads (fp32 matmul 200 GFLOP/s" in text
    assert "1.3 minutes in all (01 1 min 15 s, 02 5 s)" in text and "more than 2.0 GB" in text
    with pytest.raises(ValueError, match="no generated section 'headline'"):
        readme.update({"headline": "x"}, f)
    with pytest.raises(ValueError, match="no notebook timings"):
        readme.time_section({}, "Some CPU", 2, {"fp32": 200.4})


def test_timings_keep_the_latest_line_and_the_peak(tmp_path):
    (tmp_path / "timings.tsv").write_text("01-a\t12\t1024\n01-a\t7\t2048\n02-b\t3\n")
    assert render.read_timings(tmp_path) == {"01-a": (7, 2), "02-b": (3, None)}
