import json
import math

import pytest

from helpers.results import Results, load_results, paper_claims


def test_paper_values_are_attached(tmp_path):
    r = Results("03-maxout", "default", tmp_path)
    e = r.record("s4.maxout_adv_err", 90.1)
    assert e["paper"] == 89.4 and e["unit"] == "error %"
    e = r.record("s6.maxout240_clean_err", [1.2, 1.4])
    assert math.isclose(e["value"], 1.3) and e["n_seeds"] == 2 and math.isclose(e["std"], 0.1414, rel_tol=1e-3)


def test_unknown_claim_is_rejected(tmp_path):
    with pytest.raises(KeyError, match="unknown claim id"):
        Results("x", "default", tmp_path).record("s99.nothing", 1.0)


def test_save_and_load(tmp_path):
    r = Results("04-capacity-transfer", "default", tmp_path)
    r.unavailable("s4.convmaxout_cifar_adv_err", "CIFAR-10 cannot be downloaded here")
    r.record("s7.rbf_adv_err", float("nan"))
    blob = load_results(r.save())
    assert blob["profile"] == "default"
    statuses = {c["id"]: c["status"] for c in blob["claims"]}
    assert statuses == {"s4.convmaxout_cifar_adv_err": "unavailable", "s7.rbf_adv_err": "missing"}
    assert [p.name for p in tmp_path.iterdir()] == ["04-capacity-transfer.json"]  # no temp files left


def test_unparseable_results_name_the_file(tmp_path):
    bad = tmp_path / "01-existence.json"
    bad.write_text("{not json")
    with pytest.raises(ValueError, match="01-existence.json"):
        load_results(bad)
    bad.write_text(json.dumps({"claims": 3}))
    with pytest.raises(ValueError, match="claims"):
        load_results(bad)


def test_claim_list_is_complete():
    claims = paper_claims()
    assert len(claims) >= 50 and claims["fig2.logreg37_clean_err"]["paper_value"] == "1.6"


def test_ci95_is_the_t_interval_of_the_mean():
    from helpers.results import ci95

    assert ci95(None, 1) is None and ci95(1.0, 1) is None
    assert ci95(2.0, 2) == pytest.approx(12.706 * 2.0 / 2 ** 0.5)
    assert ci95(1.0, 5) == pytest.approx(2.776 / 5 ** 0.5)
    assert ci95(1.0, 100) == pytest.approx(1.96 / 10)


def test_a_claim_on_fgsm_examples_keeps_both_protocols(tmp_path):
    r = Results("03-maxout", "default", tmp_path)
    e = r.record("s6.advtrained_adv_err", [30.0, 32.0], clipped=[20.0, 22.0, 24.0])
    assert e["protocol"] == "as printed" and math.isclose(e["value"], 31.0)
    assert math.isclose(e["clipped"]["value"], 22.0) and e["clipped"]["n_seeds"] == 3
    assert math.isclose(e["clipped"]["std"], 2.0) and e["clipped"]["ci95"] > e["clipped"]["std"]
    assert "clipped" not in r.record("s6.maxout240_clean_err", 1.2)  # not on FGSM examples: one value
    table = r.table()
    assert table.loc["s6.advtrained_adv_err", "ours"] == 31.0 and table.loc["s6.advtrained_adv_err", "ours (clipped)"] == 22.0
