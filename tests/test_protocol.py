import json
import os
import subprocess
import sys
import tarfile
import time

import pandas as pd
import pytest
import torch

from helpers import experiments, paths, population, protocol


def _run(tmp_path, **kw):
    lines = []
    out = protocol.run("smoke", out_dir=tmp_path / "results", device=torch.device("cpu"), progress=False,
                       log=lines.append, **kw)
    return out, lines


def test_a_group_writes_its_claims_and_a_rerun_skips_it(tmp_path):
    out, _ = _run(tmp_path, groups=["base240"])
    assert out["base240"].startswith("done")
    blob = json.loads((tmp_path / "results" / "base240.json").read_text())
    assert blob["complete"] and blob["profile"] == "smoke" and blob["precision"] == ["bf16"]
    ids = {c["id"] for c in blob["claims"]}
    assert ids == {"s6.maxout240_clean_err", "s4.maxout_adv_err", "s4.maxout_adv_conf"}
    assert all(0 <= c["value"] <= 100 for c in blob["claims"])
    assert set(blob["nets"]) == {"baseline s0"} and blob["nets"]["baseline s0"]["history"]
    again, lines = _run(tmp_path, groups=["base240"])
    assert again["base240"] == "done before" and "skipped" in lines[0]


def test_the_two_adversarial_groups_are_the_nets_of_one_group_before_the_split():
    from helpers.profiles import get_profile

    P = get_profile("paper")
    split = {**protocol.GROUPS["adv240"].configs(P), **protocol.GROUPS["adv240clip"].configs(P)}
    assert split == protocol._maxouts("fgsm", label="adversarial")(P)  # same configs, same cache keys
    assert split["adversarial s0"] == experiments.maxout(P, "fgsm", 0)
    assert split["adversarial clipped s0"] == experiments.maxout(P, "fgsm", 0, clip=True)


def test_the_clipped_twins_complete_the_adversarial_groups_claims(tmp_path):
    out, _ = _run(tmp_path, groups=["adv240clip"])  # its claims need the printed nets' scores
    assert out["adv240clip"].startswith("not started: its claims need group adv240's")
    with pytest.raises(FileNotFoundError, match="adv240.json.*make paper GROUP=adv240"):
        protocol._scored_with(protocol.GROUPS["adv240clip"], tmp_path / "results", "smoke", ["bf16"])
    _run(tmp_path, groups=["adv240"])
    printed = json.loads((tmp_path / "results" / "adv240.json").read_text())
    assert set(printed["nets"]) == {"adversarial s0"}
    err = {c["id"]: c for c in printed["claims"]}["s6.advtrained_adv_err"]
    assert err["value"] == printed["nets"]["adversarial s0"]["scores"]["adv_err"] and "clipped" not in err
    out, _ = _run(tmp_path, groups=["adv240clip"])
    assert out["adv240clip"].startswith("done")
    twins = json.loads((tmp_path / "results" / "adv240clip.json").read_text())
    assert set(twins["nets"]) == {"adversarial clipped s0"}
    err = {c["id"]: c for c in twins["claims"]}["s6.advtrained_adv_err"]
    assert err["value"] == printed["nets"]["adversarial s0"]["scores"]["adv_err"]
    assert err["clipped"]["value"] == twins["nets"]["adversarial clipped s0"]["scores"]["adv_err_clipped"]
    from helpers.results import Results

    here = Results("03-maxout", "default", tmp_path)
    here.record("s6.advtrained_adv_err", 25.0)
    row = protocol.beside(here.claims, protocol.load_groups(tmp_path / "results")).loc["s6.advtrained_adv_err"]
    assert row["paper protocol"] == err["value"] and row["protocol, clipped"] == err["clipped"]["value"]
    with pytest.raises(ValueError, match="adv240.json holds nets trained in \\['bf16'\\].*fp32"):
        protocol._scored_with(protocol.GROUPS["adv240clip"], tmp_path / "results", "smoke", ["fp32"])
    # adv240 rewritten (another run of it): the twins' claims are stale and are scored again
    assert protocol.is_complete(tmp_path / "results", "adv240clip", "smoke")
    path = tmp_path / "results" / "adv240.json"
    path.write_text(path.read_text() + "\n")
    assert not protocol.is_complete(tmp_path / "results", "adv240clip", "smoke")
    again, _ = _run(tmp_path, groups=["adv240clip"])
    assert again["adv240clip"].startswith("done")


def test_budget_skips_a_group_that_does_not_fit_and_unknown_groups_are_named(tmp_path):
    out, _ = _run(tmp_path, groups=["adv240"], budget=1e-6)
    assert out["adv240"].startswith("skipped: estimated")
    assert not (tmp_path / "results" / "adv240.json").exists()
    with pytest.raises(ValueError, match="unknown group.*'adv999'"):
        _run(tmp_path, groups=["adv999"])


def test_stop_after_stops_the_running_group_and_the_next_run_goes_on_from_it(tmp_path):
    out, _ = _run(tmp_path, groups=["base240", "adv240"], stop_after=1e-6)
    assert out["base240"].startswith("stopped") and out["adv240"] == "not started: out of time"
    assert list((paths.CACHE_DIR / "populations").glob("*.pt"))  # the running phase, saved
    again, _ = _run(tmp_path, groups=["base240"])
    assert again["base240"].startswith("done")
    history = json.loads((tmp_path / "results" / "base240.json").read_text())["nets"]["baseline s0"]["history"]
    assert [r["epoch"] for r in history] == [1, 2]
    assert not list((paths.CACHE_DIR / "populations").glob("*.pt"))


def test_a_population_past_its_deadline_stops_with_out_of_time():
    from helpers.training import TrainConfig

    cfg = TrainConfig(model="maxout", model_args={"units": 8, "pieces": 2}, n_train=200, epochs=3)
    with pytest.raises(population.OutOfTime, match="still training after epoch 1"):
        population.train_population([cfg], progress=False, cache=False, deadline=time.monotonic() - 1)


def test_the_first_phase_a_continuation_started_from_is_scored_beside_it():
    from helpers.training import TrainConfig

    cfg = TrainConfig(model="maxout", model_args={"units": 8, "pieces": 2}, n_train=300, epochs=3, patience=1,
                      retrain="continue", seed=3)
    (t,) = population.train_population([cfg], progress=False)
    first = protocol._first_phase(t, torch.device("cpu"))
    assert first is not None and first.config == cfg.replace(retrain="none") and first.cached
    assert not torch.equal(first.model.state_dict()["classifier.weight"], t.model.state_dict()["classifier.weight"])
    assert protocol._first_phase(first, torch.device("cpu")) is None  # a net without a second phase


def test_the_gpu_script_dry_runs_on_the_cpu(tmp_path):
    """scripts/gpu_paper.sh at the smoke profile on the CPU: what comes back is one archive of
    the groups' results, the population benchmark and the seed-0 weights, and the log."""
    env = {**os.environ, "OUT": str(tmp_path / "out"), "PROFILE": "smoke", "DEVICE": "cpu", "PRECISION": "fp32",
           "BENCH_SIZES": "16x2", "BUDGET": "600", "RESULTS": str(tmp_path / "results"),
           "PYTHON": sys.executable, "REPRO_CACHE": str(tmp_path / "cache")}
    env.pop("REPRO_PROFILE", None)
    done = subprocess.run(["bash", str(paths.ROOT / "scripts" / "gpu_paper.sh")], env=env, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    back = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert back == ["log.txt", "paper-results.tar.gz"]
    with tarfile.open(tmp_path / "out" / "paper-results.tar.gz") as tar:
        names = set(tar.getnames())
    assert {"./base240.json", "./adv240.json", "./bench-population.json"} <= names
    assert sum(n.startswith("./weights/") and n.endswith(".pt") for n in names) == 3
    log = (tmp_path / "out" / "log.txt").read_text()
    assert "base240: done" in log and "large: nothing to train at this profile" in log
    assert "CUDA graphs agree with eager steps: True" in log  # trivially on a CPU: both runs eager


def test_claims_beside_the_protocols_and_its_curves(tmp_path):
    from helpers.results import Results

    here = Results("03-maxout", "default", tmp_path)
    here.record("s6.maxout240_clean_err", [1.3, 1.32])
    here.record("s4.maxout_adv_err", 84.0)
    (tmp_path / "paper").mkdir()
    out, _ = _run(tmp_path / "paper", groups=["base240"])
    groups = protocol.load_groups(tmp_path / "paper" / "results")
    assert list(groups) == ["base240"]
    table = protocol.beside(here.claims, groups)
    row = table.loc["s6.maxout240_clean_err"]
    assert row["this profile"] == pytest.approx(1.31) and row["n"] == 2 and row["protocol n"] == 1
    assert row["paper protocol"] == pytest.approx(groups["base240"]["nets"]["baseline s0"]["scores"]["clean_err"])
    fig = protocol.plot_curves(groups["base240"])
    assert len(fig.axes) == 2


def test_a_group_runs_a_few_seeds_at_a_time_and_is_written_from_its_nets_records(tmp_path, monkeypatch):
    from helpers import profiles

    smoke = profiles.get_profile

    def two_seeds(name=None):
        P = smoke(name)
        P.maxout.seeds = [0, 1]
        return P

    monkeypatch.setattr(profiles, "get_profile", two_seeds)
    trained = []
    train_many = experiments.train_many
    monkeypatch.setattr(experiments, "train_many",
                        lambda configs, **kw: trained.extend(c.seed for c in configs) or train_many(configs, **kw))
    results = tmp_path / "results"
    out, _ = _run(tmp_path, groups=["base240"], seeds=[1])
    assert out["base240"].startswith("partial: 1 of 2 nets recorded") and out["base240"].endswith("baseline s0")
    assert trained == [1] and not (results / "base240.json").exists()
    record = json.loads((results / "base240" / "baseline-s1.json").read_text())
    assert record["precision"] == "bf16" and record["history"] and 0 <= record["scores"]["clean_err"] <= 100
    again, _ = _run(tmp_path, groups=["base240"], seeds=[1])
    assert again["base240"].startswith("nothing to train for seeds [1]") and trained == [1]
    out, _ = _run(tmp_path, groups=["base240"], seeds=[0])  # the last seed: the group file, from both records
    assert out["base240"].startswith("done") and trained == [1, 0]
    blob = json.loads((results / "base240.json").read_text())
    assert blob["nets"]["baseline s1"]["scores"] == record["scores"]
    clean = {c["id"]: c for c in blob["claims"]}["s6.maxout240_clean_err"]
    assert clean["n_seeds"] == 2 and clean["value"] == pytest.approx(
        (record["scores"]["clean_err"] + blob["nets"]["baseline s0"]["scores"]["clean_err"]) / 2)
    # a record of another config (the recipe changed since) is not used: that net trains again
    record["key"] = "0" * 16
    (results / "base240" / "baseline-s1.json").write_text(json.dumps(record))
    (results / "base240.json").unlink()
    out, _ = _run(tmp_path, groups=["base240"])
    assert out["base240"].startswith("done") and trained == [1, 0, 1]
    out, _ = _run(tmp_path, groups=["ensemble"], seeds=[0])  # its claims read the nets: it runs whole
    assert out["ensemble"].startswith("not started: its claims read its nets themselves")


def test_the_paper_schedule_curves_name_each_phase():
    from helpers import paper_schedule

    run = {"nets": {"baseline, continued": {"history": [{"epoch": 1, "valid_error": 0.1},
                                                         {"epoch": 1, "phase": "retrain", "match_objective": 0.2}]}}}
    assert list(paper_schedule.curves(run).phase) == [paper_schedule.PHASES[None], paper_schedule.PHASES["retrain"]]


def test_the_nets_so_far_are_the_complete_groups_and_the_current_records_of_the_others(tmp_path, monkeypatch):
    from helpers import profiles

    P = profiles.get_profile("paper", environment=False)
    adv = protocol.GROUPS["adv240"].configs(P)
    history = [{"epoch": 1}, {"epoch": 2}, {"epoch": 1, "phase": "retrain"}]

    def record(clean, key=None):
        return {"key": key, "device": "cpu", "train_seconds": 7200.0, "best_epoch": 2, "history": history,
                "scores": {"clean_err": clean, "adv_err": 15.0, "adv_conf": 80.0},
                "first_phase_scores": {"clean_err": clean + 0.1}}

    out = tmp_path / "paper"
    (out / "adv240").mkdir(parents=True)
    (out / "base240.json").write_text(json.dumps({"complete": True, "profile": "paper",
                                                  "nets": {"baseline s0": record(1.1)}}))
    for net, clean, key in (("adversarial s0", 0.9, adv["adversarial s0"].key()),
                            ("adversarial s1", 1.0, adv["adversarial s1"].key()),
                            ("adversarial s2", 0.5, "0" * 16)):  # another recipe's: left out
        (out / "adv240" / f"{net.replace(' ', '-')}.json").write_text(json.dumps(record(clean, key)))
    monkeypatch.setenv("REPRO_PROFILE", "smoke")  # a notebook run at smoke still reads the paper profile's records
    frame = protocol.nets_so_far(("base240", "adv240"), out)
    assert list(frame.net) == ["baseline s0", "adversarial s0", "adversarial s1"]
    assert list(frame.seed) == [0, 0, 1] and list(frame.clean) == [1.1, 0.9, 1.0]
    assert list(frame["clean, early-stopped"]) == pytest.approx([1.2, 1.0, 1.1])
    assert set(frame.epochs) == {2} and set(frame["epochs on 60k"]) == {1} and set(frame.hours) == {2.0}
    pairs = protocol.by_seed(frame)  # seed 1 has no baseline here: only seed 0 pairs
    assert list(pairs.index) == [0] and pairs["adv240 - base240"].tolist() == pytest.approx([-0.2])
    assert protocol.gap_summary(pairs) == "adv240 - base240, seed by seed: -0.20 point, lower in 1 of 1 seeds"
    # two seeds, gaps -0.2 and -0.4: sd 0.1414, 95% CI 12.706 * sd / sqrt(2) = 1.27
    two = pd.DataFrame({"base240": [1.1, 1.2], "adv240": [0.9, 0.8], "adv240 - base240": [-0.2, -0.4]})
    assert protocol.gap_summary(two) == ("adv240 - base240, seed by seed: -0.30 ± 0.14 point (95% CI ± 1.27), "
                                         "lower in 2 of 2 seeds")
    fig = protocol.plot_seeds(frame, {"base240": 0.94, "adv240": 0.84})
    assert len(fig.axes[0].get_legend().get_texts()) == 2
    with pytest.raises(ValueError, match="unknown profile 'papr'"):
        profiles.get_profile("papr", environment=False)
