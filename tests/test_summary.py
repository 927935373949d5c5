import csv
import json
import matplotlib
import pytest

matplotlib.use("Agg")

from matplotlib.collections import PathCollection  # noqa: E402

from helpers import paths, profiles, summary, verdicts  # noqa: E402
from helpers.results import CLAIMS_CSV, Results, paper_claims  # noqa: E402


@pytest.fixture
def dirs(tmp_path):
    res, figs = tmp_path / "results", tmp_path / "figures"
    res.mkdir()
    figs.mkdir()
    return res, figs


def write(res, notebook, **claims):
    """A results file as a notebook writes it; value None = unavailable (reason in the note)."""
    r = Results(notebook, "default", res)
    for cid, value in claims.items():
        cid = cid.replace("__", ".")
        if isinstance(value, tuple) and value[0] == "unavailable":
            r.unavailable(cid, value[1])
        else:
            r.record(cid, value)
    return r.save()


def rows(res, figs):
    return verdicts.summarize(res, figs, "default").by_id()


def test_claim_list_parses_into_complete_rows():
    # a comma inside an unquoted field once shifted every column of a row
    with open(CLAIMS_CSV, newline="") as f:
        header, *body = list(csv.reader(f))
    assert all(len(r) == len(header) for r in body), [r[0] for r in body if len(r) != len(header)]
    assert paper_claims()["s6.noise_uniform_adv_err"]["paper_value"] == "90.4"
    assert all(row["metric"] in ("figure", "direction") or row["metric"].endswith("%")
               for row in paper_claims().values())


def test_every_direction_compares_with_a_claim_or_a_number():
    claims = paper_claims()
    assert verdicts.DIRECTIONS and all(rel in ("<", ">") and why for rel, _, why in verdicts.DIRECTIONS.values())
    for cid, (rel, other, why) in verdicts.DIRECTIONS.items():
        assert isinstance(other, float) or other in claims, (cid, other)
    # a claim without a direction has none of the three columns
    assert all(bool(r["direction"]) == bool(r["direction_vs"]) == bool(r["direction_why"]) for r in claims.values())


def test_tolerance_closed_forms():
    assert verdicts.tolerance(0.94) == pytest.approx(0.3)
    assert verdicts.tolerance(0.0) == pytest.approx(0.3)
    assert verdicts.tolerance(8.0) == pytest.approx(1.0)  # the 1-point floor
    assert verdicts.tolerance(17.9) == pytest.approx(1.79)
    assert verdicts.tolerance(89.4) == pytest.approx(8.94)


def test_within_and_outside_tolerance(dirs):
    res, figs = dirs
    write(res, "03-maxout", s4__maxout_adv_err=[90.0, 91.0], s6__maxout240_clean_err=1.2,
          s6__noise_sign_adv_conf=80.0)
    by = rows(res, figs)
    assert by["s4.maxout_adv_err"].verdict == "reproduced"
    # sd 0.71 over two seeds: the 95% interval of the mean is 12.706 x 0.71 / sqrt 2 wide each way
    assert summary.ours_text(by["s4.maxout_adv_err"]) == "90.5 ± 0.71 (n=2, 95% CI ± 6.35)"
    assert by["s6.maxout240_clean_err"].verdict == "reproduced"  # |1.2 - 0.94| <= 0.3
    assert by["s6.noise_sign_adv_conf"].verdict == "not reproduced"  # 17.3 points off, no direction
    assert "tolerance ±9.73" in by["s6.noise_sign_adv_conf"].reason

    write(res, "03-maxout", s6__maxout240_clean_err=1.3)
    assert rows(res, figs)["s6.maxout240_clean_err"].verdict == "not reproduced"


def test_direction_between_claims(dirs):
    res, figs = dirs
    write(res, "03-maxout", s4__maxout_adv_err=85.0, s6__advtrained_adv_err=30.0)
    r = rows(res, figs)["s6.advtrained_adv_err"]
    assert r.verdict == "direction reproduced" and "s4.maxout_adv_err" in r.reason

    write(res, "03-maxout", s4__maxout_adv_err=25.0, s6__advtrained_adv_err=30.0)
    r = rows(res, figs)["s6.advtrained_adv_err"]
    assert r.verdict == "not reproduced" and "direction fails" in r.reason

    write(res, "03-maxout", s6__advtrained_adv_err=30.0)  # nothing to compare with
    r = rows(res, figs)["s6.advtrained_adv_err"]
    assert r.verdict == "not reproduced" and "missing" in r.reason


def test_direction_against_a_constant(dirs):
    res, figs = dirs
    write(res, "02-linear", s4__softmax_adv_conf=60.0, s4__softmax_adv_err=40.0)
    by = rows(res, figs)
    assert by["s4.softmax_adv_conf"].verdict == "direction reproduced"  # 60 > 50: confident mistakes
    assert by["s4.softmax_adv_err"].verdict == "not reproduced"  # 40 is not > 50


def test_unavailable_and_missing(dirs):
    res, figs = dirs
    write(res, "04-capacity-transfer",
          s4__convmaxout_cifar_adv_err=("unavailable", "CIFAR-10 cannot be downloaded here"),
          s7__rbf_adv_err=float("nan"), s7__rbf_clean_conf=None)
    by = rows(res, figs)
    assert by["s4.convmaxout_cifar_adv_err"].verdict == "unavailable here"
    assert by["s4.convmaxout_cifar_adv_err"].reason == "CIFAR-10 cannot be downloaded here"
    assert by["s7.rbf_adv_err"].verdict == "missing"  # NaN recorded
    assert by["s7.rbf_clean_conf"].verdict == "missing"  # None recorded as "measured"
    assert by["s7.rbf_adv_conf"].verdict == "missing"  # not recorded by a notebook that ran
    assert "does not record" in by["s7.rbf_adv_conf"].reason
    assert by["s4.maxout_adv_err"].verdict == "missing"  # 03-maxout did not run
    assert "did not run" in by["s4.maxout_adv_err"].reason
    assert summary.ours_text(by["s7.rbf_adv_err"]) == "—"


def test_nothing_ran_means_nothing_reproduced(dirs):
    s = verdicts.summarize(*dirs, "smoke")
    assert {r.verdict for r in s.rows} == {"missing"}
    assert len(s.rows) == len(paper_claims())
    # and a folder that does not exist at all reads as empty, too
    assert {r.verdict for r in verdicts.summarize(dirs[0] / "nope", dirs[1] / "nope").rows} == {"missing"}


def test_a_value_without_measured_status_is_not_reproduced(dirs):
    res, figs = dirs
    path = write(res, "03-maxout", s4__maxout_adv_err=89.4)
    blob = json.loads(path.read_text())
    blob["claims"][0]["status"] = "not run"
    path.write_text(json.dumps(blob))
    assert rows(res, figs)["s4.maxout_adv_err"].verdict == "missing"


def test_corrupt_results_file_is_an_error_naming_it(dirs):
    res, figs = dirs
    write(res, "03-maxout", s4__maxout_adv_err=89.4)
    (res / "04-capacity-transfer.json").write_text("{ truncated")
    with pytest.raises(ValueError, match="04-capacity-transfer.json"):
        verdicts.summarize(res, figs)
    (res / "04-capacity-transfer.json").write_text(json.dumps({"claims": [{"value": 1}]}))
    with pytest.raises(ValueError, match="04-capacity-transfer.json"):
        verdicts.summarize(res, figs)


def test_threshold_word_and_seed_report_claims(dirs):
    res, figs = dirs
    write(res, "02-linear", s5__l1_0025_train_err=7.0, s5__l1_small_no_benefit="No benefit")
    write(res, "01-existence", seed__googlenet_mnist_val_acc=97.5, seed__googlenet_eps02_wrong_conf=99.0)
    by = rows(res, figs)
    assert by["s5.l1_0025_train_err"].verdict == "reproduced"
    assert by["s5.l1_small_no_benefit"].verdict == "reproduced"
    assert by["seed.googlenet_mnist_val_acc"].verdict == "reproduced"
    assert "seed report" in by["seed.googlenet_mnist_val_acc"].reason
    assert by["seed.googlenet_eps02_wrong_conf"].verdict == "reproduced"  # "~100"

    write(res, "02-linear", s5__l1_0025_train_err=3.0, s5__l1_small_no_benefit="benefit")
    by = rows(res, figs)
    assert by["s5.l1_0025_train_err"].verdict == "not reproduced"
    assert by["s5.l1_small_no_benefit"].verdict == "not reproduced"

    write(res, "02-linear", s5__l1_small_no_benefit=0.3)
    assert rows(res, figs)["s5.l1_small_no_benefit"].verdict == "not judged"


def png(figs, notebook, name):
    p = figs / notebook / f"{name}.png"
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(b"\x89PNG\r\n\x1a\n")
    return p


def test_gallery_maps_paper_figures_by_name(dirs):
    _, figs = dirs
    png(figs, "01-existence", "fgsm-panda")
    png(figs, "01-existence", "figure1-mnist")
    png(figs, "01-existence", "googlenet-mnist-training")
    png(figs, "01-existence", "fig10-not-one")
    png(figs, "02-linear", "fig2-logreg-3-vs-7")
    png(figs, "02-linear", "weights-l1")  # not Fig. 3: that is the maxout weights
    png(figs, "03-maxout", "fig3-first-layer-weights")
    png(figs, "04-capacity-transfer", "logits-along-fgsm")
    png(figs, "04-capacity-transfer", "rubbish-examples")
    png(figs, "04-capacity-transfer", "capacity-sweep")
    png(figs, "05-summary", "ours-vs-paper")  # the summary's own figure is not in the gallery
    g = verdicts.gallery(figs)
    names = {k: [f"{p.parent.name}/{p.stem}" for p in v] for k, v in g.items()}
    assert names["Fig. 1"] == ["01-existence/fgsm-panda", "01-existence/figure1-mnist"]
    assert names["Seed report"] == ["01-existence/googlenet-mnist-training"]
    assert names["Fig. 2"] == ["02-linear/fig2-logreg-3-vs-7"]
    assert names["Fig. 3"] == ["03-maxout/fig3-first-layer-weights"]
    assert names["Fig. 4"] == ["04-capacity-transfer/logits-along-fgsm"]
    assert names["App. A"] == ["04-capacity-transfer/rubbish-examples"]
    assert names[verdicts.BEYOND] == ["01-existence/fig10-not-one", "02-linear/weights-l1",
                                     "04-capacity-transfer/capacity-sweep"]


def test_figure_claims(dirs):
    res, figs = dirs
    assert rows(res, figs)["fig3.weights"].verdict == "missing"  # notebook did not run
    write(res, "03-maxout", s4__maxout_adv_err=89.4)
    assert rows(res, figs)["fig3.weights"].verdict == "missing"  # ran, but no figure file
    png(figs, "03-maxout", "fig3-weights")
    r = rows(res, figs)["fig3.weights"]
    assert r.verdict == "see figure" and "fig3-weights.png" in r.reason
    (res / "03-maxout.json").rename(res / "03-maxout-renamed.json")  # a notebook renamed later
    blob = json.loads((res / "03-maxout-renamed.json").read_text())
    (res / "03-maxout-renamed.json").write_text(json.dumps({**blob, "notebook": "03-maxout-renamed"}))
    assert rows(res, figs)["fig3.weights"].verdict == "see figure"
    assert rows(res, figs)["s4.maxout_adv_err"].verdict == "reproduced"


def test_markdown_tables_and_results_file(dirs, tmp_path):
    res, figs = dirs
    write(res, "03-maxout", s4__maxout_adv_err=90.0, s6__advtrained_adv_err=20.0)
    png(figs, "03-maxout", "fig3-weights")
    png(figs, "03-maxout", "training-curves")
    s = verdicts.summarize(res, figs, "default")
    table = summary.claims_table(s.rows)
    lines = [ln for ln in table.splitlines() if ln.startswith("| `")]
    assert len(lines) == len(paper_claims())
    row = next(ln for ln in lines if "`s4.maxout_adv_err`" in ln)
    assert "89.4" in row and "90.0 (n=1)" in row and "**reproduced**" in row
    assert "89.4 (quoted)" in row  # the seed report's text, as printed

    head = summary.headline_table(s.rows)
    assert head.count("\n") == len(summary.HEADLINE) + 2 and "maxout + adversarial training, FGSM error" in head

    md_path = tmp_path / "RESULTS.md"
    assert summary.write_results_md(s, md_path) == md_path
    text = md_path.read_text()
    # with the paper protocol's column where results/paper has files (the committed ones)
    assert verdicts.VERDICT_RULE in text and summary.claims_table(s.rows, verdicts.protocol_rows()) in text
    assert '<img src="figures/03-maxout/fig3-weights.png"' in text  # relative to RESULTS.md
    assert "figures/03-maxout/training-curves.png" in text.split("### Beyond the paper")[1]
    assert [p.name for p in tmp_path.glob(".RESULTS.md*")] == []  # no temp file left


def test_results_md_goes_where_the_profile_says():
    assert profiles.results_md("default") == paths.ROOT / "RESULTS.md"
    assert profiles.results_md("paper") == paths.ROOT / "results" / "paper" / "RESULTS.md"
    assert paths.SCRATCH_DIR in profiles.results_md("smoke").parents


def test_profile_mismatch_is_warned(dirs):
    res, figs = dirs
    Results("03-maxout", "smoke", res).save()
    assert any("smoke" in w for w in verdicts.summarize(res, figs, "default").warnings)
    assert verdicts.summarize(res, figs, "smoke").warnings == []


def test_plot_has_one_point_per_judged_number(dirs):
    res, figs = dirs
    write(res, "03-maxout", s4__maxout_adv_err=90.0, s6__advtrained_adv_err=30.0, s6__maxout240_clean_err=1.0)
    s = verdicts.summarize(res, figs)
    pts = summary.numeric_points(s.rows)
    assert sorted(p[2] for p in pts) == ["s4.maxout_adv_err", "s6.advtrained_adv_err", "s6.maxout240_clean_err"]
    fig = summary.plot_ours_vs_paper(s.rows)
    n = sum(len(c.get_offsets()) for ax in fig.axes for c in ax.collections if isinstance(c, PathCollection))
    assert n >= 4  # three on the full panel, the clean error again on the zoom


def test_plot_counts_what_it_leaves_out_and_labels_do_not_overlap(dirs):
    res, figs = dirs
    write(res, "02-linear", s5__l1_0025_train_err=7.0)  # a threshold claim (">5"): judged, not plotted
    write(res, "03-maxout", s4__maxout_adv_err=60.0, s6__advtrained_adv_err=30.0)
    s = verdicts.summarize(res, figs)
    fig = summary.plot_ours_vs_paper(s.rows)
    note = " ".join(t.get_text() for t in fig.texts)
    assert "2 of the 3 judged claims are plotted" in note and "the other 1 are words or thresholds" in note
    # three labels at nearly the same place are lifted apart, the first stays put
    offsets = summary.label_offsets([(0.5, 0.5), (0.52, 0.51), (0.51, 0.5), (0.9, 0.1)])
    assert offsets[0] == (0.0, 0.0) and offsets[3] == (0.0, 0.0)
    assert len({dy for _, dy in offsets[:3]}) == 3


def test_paper_protocol_column_beside_the_profile(dirs, tmp_path):
    res, figs = dirs
    write(res, "03-maxout", s4__maxout_adv_err=90.0, s6__maxout240_clean_err=1.3)
    protocol_dir = tmp_path / "paper"
    protocol_dir.mkdir()
    r = Results("base240", "paper", protocol_dir)
    r.record("s6.maxout240_clean_err", [0.95, 1.0, 0.9, 1.05, 0.92])
    r.save()
    s = verdicts.summarize(res, figs)
    protocol = verdicts.protocol_rows(protocol_dir)
    table = summary.claims_table(s.rows, protocol)
    assert "| paper protocol |" in table.splitlines()[0]
    line = next(l for l in table.splitlines() if "`s6.maxout240_clean_err`" in l)
    assert "0.96 ± 0.06 (n=5, 95% CI ± 0.08): **reproduced**" in line
    assert line.split("|")[9].strip() == "**not reproduced**"  # 1.3 at this profile
    assert next(l for l in table.splitlines() if "`s4.maxout_adv_err`" in l).rstrip(" |").endswith("—")
    assert verdicts.protocol_rows(tmp_path / "nothing") is None


def test_a_claim_in_several_files_is_read_from_its_notebook_else_where_it_is_complete(dirs):
    res, figs = dirs
    for name, clipped in (("adv240", None), ("adv240clip", 2.0)):  # the second completes the first
        r = Results(name, "paper", res)
        r.record("s6.advtrained_adv_err", 20.0, clipped=clipped)
        r.save()
    assert rows(res, figs)["s6.advtrained_adv_err"].clipped.value == 2.0
    r = Results("03-maxout", "default", res)  # its own notebook wins, clipped value or not
    r.record("s6.advtrained_adv_err", 30.0)
    r.save()
    row = rows(res, figs)["s6.advtrained_adv_err"]
    assert row.value == 30.0 and row.clipped is None


def test_each_protocol_is_judged_on_its_own_and_changes_are_listed(dirs):
    res, figs = dirs
    r = Results("03-maxout", "default", res)
    r.record("s4.maxout_adv_err", 89.0, clipped=60.0)  # paper 89.4: reproduced as printed only
    r.record("s6.advtrained_adv_err", 18.0, clipped=70.0)  # paper 17.9; clipped: 70 > the baseline's 60
    r.record("s6.maxout240_clean_err", 1.0)
    r.save()
    by = rows(res, figs)
    assert by["s4.maxout_adv_err"].verdict == "reproduced"
    assert by["s4.maxout_adv_err"].clipped.verdict == "direction reproduced"  # 60 > 50, from the rule
    # the clipped direction check compares clipped values (70 against the baseline's clipped 60)
    assert by["s6.advtrained_adv_err"].clipped.verdict == "not reproduced"
    assert "60.0" in by["s6.advtrained_adv_err"].clipped.reason
    assert by["s6.maxout240_clean_err"].clipped is None
    changed = [r.id for r in summary.protocol_changes(list(by.values()))]
    assert changed == ["s4.maxout_adv_err", "s6.advtrained_adv_err"]
    table = summary.changes_table(list(by.values()))
    assert "`s6.advtrained_adv_err`" in table and "s6.maxout240_clean_err" not in table
    assert "ours (clipped): verdict" in summary.claims_table(list(by.values()))


def test_every_figure_claim_is_held_by_one_gallery_figure_through_its_paper_ref():
    figure_claims = {cid: c["paper_ref"] for cid, c in paper_claims().items() if c["metric"] == "figure"}
    assert figure_claims  # Fig. 3 and Fig. 4
    for cid, ref in figure_claims.items():
        assert [f.key for f in verdicts.GALLERY if f.holds(ref)] == [ref.replace(".", ". ")], cid
    assert not any(f.holds("Sec.6") for f in verdicts.GALLERY)
