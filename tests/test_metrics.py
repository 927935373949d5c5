import math

import torch

from helpers.attacks import fgsm
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


def test_eps_sweep_matches_fgsm_at_each_eps():
    g = torch.Generator().manual_seed(0)
    x, y = torch.rand(50, 1, 28, 28, generator=g), torch.randint(0, 10, (50,), generator=g)
    model = MaxoutMLP(units=8, pieces=2, init_range=0.5)
    rows = eps_sweep(model, x, y, [0.0, 0.1, 0.3])
    assert [r["eps"] for r in rows] == [0.0, 0.1, 0.3]
    for r in rows:
        want = evaluate(model, fgsm(model, x, y, r["eps"]), y)
        assert r["error"] == want["error"] and r["conf_mean"] == want["conf_mean"]


def test_robustness_clipped_and_unclipped_match_fgsm():
    g = torch.Generator().manual_seed(1)
    x, y = torch.rand(60, 1, 28, 28, generator=g), torch.randint(0, 10, (60,), generator=g)
    model = MaxoutMLP(units=8, pieces=2, init_range=0.5)
    r = robustness(model, x, y, 0.3, unclipped=True)
    for clip, err, conf in (((0.0, 1.0), "adv_err", "adv_conf"), (None, "adv_err_unclipped", "adv_conf_unclipped")):
        want = evaluate(model, fgsm(model, x, y, 0.3, clip), y)
        assert math.isclose(r[err], 100 * want["error"], rel_tol=1e-6)
        assert math.isclose(r[conf], 100 * want["conf_wrong"], rel_tol=1e-6)
    assert r["adv_conf_unclipped"] != r["adv_conf"]  # the clip mattered here
    assert "adv_err_unclipped" not in robustness(model, x, y, 0.3)
    r_none = robustness(model, x, y, 0.3, clip=None, unclipped=True)  # nothing to clip: one pass serves both
    assert r_none["adv_err"] == r_none["adv_err_unclipped"] == r["adv_err_unclipped"]
