import math

import torch

from helpers.attacks import PRIMARY, PROTOCOLS, fgsm
from helpers.metrics import agreement, confidence_on_mistakes, eps_sweep, error_rate, evaluate, robustness
from helpers.models import MaxoutMLP


def test_confidence_is_averaged_over_mistakes_only():
    # two right with confidence .9, two wrong with confidence .6 and .8
    proba = torch.tensor([[0.9, 0.1], [0.1, 0.9], [0.6, 0.4], [0.2, 0.8]])
    y = torch.tensor([0, 1, 1, 0])
    assert error_rate(proba, y) == 0.5
    assert math.isclose(confidence_on_mistakes(proba, y), 0.7, rel_tol=1e-6)


def test_confidence_is_nan_without_mistakes():
    proba = torch.tensor([[0.9, 0.1]])
    assert math.isnan(confidence_on_mistakes(proba, torch.tensor([0])))


def test_agreement_within_mask():
    a, b = torch.tensor([1, 2, 3, 4]), torch.tensor([1, 0, 3, 0])
    assert agreement(a, b) == 0.5
    assert agreement(a, b, torch.tensor([True, True, False, False])) == 0.5
    assert agreement(a, b, torch.tensor([True, False, True, False])) == 1.0


def test_eps_sweep_matches_fgsm_at_each_eps_under_both_protocols():
    g = torch.Generator().manual_seed(0)
    x, y = torch.rand(50, 1, 28, 28, generator=g), torch.randint(0, 10, (50,), generator=g)
    model = MaxoutMLP(units=8, pieces=2, init_range=0.5)
    rows = eps_sweep(model, x, y, [0.0, 0.1, 0.3])
    assert [(r["protocol"], r["eps"]) for r in rows] == [(p, e) for p in PROTOCOLS for e in (0.0, 0.1, 0.3)]
    for r in rows:
        want = evaluate(model, fgsm(model, x, y, r["eps"], PROTOCOLS[r["protocol"]]), y)
        assert r["error"] == want["error"] and r["conf_mean"] == want["conf_mean"]


def test_robustness_reports_both_protocols_and_each_matches_fgsm():
    g = torch.Generator().manual_seed(1)
    x, y = torch.rand(60, 1, 28, 28, generator=g), torch.randint(0, 10, (60,), generator=g)
    model = MaxoutMLP(units=8, pieces=2, init_range=0.5)
    r = robustness(model, x, y, 0.3)
    assert set(r) == {"clean_err", "clean_conf", "adv_err", "adv_conf", "adv_err_clipped", "adv_conf_clipped"}
    for clip, err, conf in ((None, "adv_err", "adv_conf"), ((0.0, 1.0), "adv_err_clipped", "adv_conf_clipped")):
        want = evaluate(model, fgsm(model, x, y, 0.3, clip), y)
        assert math.isclose(r[err], 100 * want["error"], rel_tol=1e-6)
        assert math.isclose(r[conf], 100 * want["conf_wrong"], rel_tol=1e-6)
    assert r["adv_conf_clipped"] != r["adv_conf"]  # the clip mattered here
    assert PRIMARY == "as printed" and PROTOCOLS[PRIMARY] is None  # adv_err is the formula as printed
