import math

import pytest
import torch

from helpers import cifar
from helpers import ensembles
from helpers import local_linearity
from helpers import rubbish
from helpers import transfer
from helpers import data as D
from helpers import models as M, profiles
from helpers import experiments as E
from helpers.attacks import fgsm, fgsm_direction
from helpers.metrics import error_rate, predict_proba


def _maxout(seed: int, units: int = 8) -> M.MaxoutMLP:
    torch.manual_seed(seed)
    # a larger init than the recipe's so that untrained nets have non-trivial gradients
    return M.MaxoutMLP(units=units, pieces=2, init_range=0.1).eval()


# ----------------------------------------------------------------- ensembles
def test_ensemble_of_one_is_the_member(digits):
    x, _ = digits
    m = _maxout(0)
    ens = ensembles.Ensemble([m]).eval()
    torch.testing.assert_close(predict_proba(ens, x), predict_proba(m, x))


def test_ensemble_averages_probabilities(digits):
    x, _ = digits
    a, b = _maxout(0), _maxout(1)
    p = predict_proba(ensembles.Ensemble([a, b]), x)
    torch.testing.assert_close(p, (predict_proba(a, x) + predict_proba(b, x)) / 2)
    torch.testing.assert_close(p.sum(1), torch.ones(len(x)))


def test_ensemble_is_attackable_by_fgsm(digits):
    x, y = digits
    ens = ensembles.Ensemble([_maxout(0), _maxout(1)]).eval()  # eval: no dropout in the loss below
    x_adv = fgsm(ens, x, y, 0.1, clip=None)
    delta = (x_adv - x).abs()
    assert torch.allclose(delta[delta > 0], torch.tensor(0.1))
    assert (delta > 0).float().mean() > 0.5  # the gradient is not zero almost everywhere
    # the loss of the ensemble goes up along its own sign-gradient (a first-order step)
    loss = lambda z: ens.loss(ens(z), y).item()  # noqa: E731
    assert loss(fgsm(ens, x, y, 1e-3, clip=None)) > loss(x)


def test_ensemble_rejects_bad_members():
    with pytest.raises(ValueError):
        ensembles.Ensemble([])
    with pytest.raises(ValueError, match="softmax"):
        ensembles.Ensemble([M.MaxoutMLP(units=4, pieces=2, output="sigmoid")])


def test_ensemble_attack_shapes(digits):
    x, y = digits
    out = ensembles.ensemble_attack([_maxout(0), _maxout(1), _maxout(2)], x, y, eps=0.25)
    assert len(out["one"]) == len(out["member_self"]) == len(out["member_clean"]) == 3
    for v in [out["all"], out["clean"], *out["one"], *out["member_self"]]:
        assert 0 <= v <= 1


# ----------------------------------------------------------------- transfer and agreement
def test_same_wrong_class_closed_form():
    y = torch.tensor([0, 0, 0, 0, 0])
    ref = torch.tensor([1, 2, 3, 0, 4])      # wrong on 4 examples
    other = torch.tensor([1, 0, 5, 0, 4])    # same wrong class on 2 of them, right on 1
    assert transfer.same_wrong_class(ref, other, y) == pytest.approx(2 / 4)
    # of the 3 where both are wrong, 2 agree
    assert transfer.same_wrong_class(ref, other, y, both_wrong=True) == pytest.approx(2 / 3)
    assert math.isnan(transfer.same_wrong_class(y, other, y))  # reference never wrong


def test_transfer_diagonal_is_white_box_error(digits):
    x, y = digits
    models = {"a": _maxout(0), "b": _maxout(1), "soft": M.SoftmaxRegression().eval()}
    preds = transfer.transfer_predictions(models, x, y, eps=0.25)
    df = transfer.error_matrix(preds, y)
    assert list(df.index) == list(df.columns) == ["a", "b", "soft"]
    for name, m in models.items():
        white = 100 * error_rate(predict_proba(m, fgsm(m, x, y, 0.25)), y)
        assert df.loc[name, name] == pytest.approx(white)
    assert ((df >= 0) & (df <= 100)).all().all()
    only = transfer.transfer_predictions(models, x, y, sources=["a"])
    assert list(only) == ["a"] and torch.equal(only["a"]["b"], preds["a"]["b"])
    # the directions given instead of crafted: the same examples, the same labels
    given = transfer.transfer_predictions(models, x, y, eps=0.25,
                                          directions={n: fgsm_direction(m, x, y) for n, m in models.items()})
    assert all(torch.equal(given[s][t], preds[s][t]) for s in models for t in models)


# ----------------------------------------------------------------- rubbish
def test_gaussian_rubbish_is_seeded_standard_normal():
    r = rubbish.gaussian_rubbish(2000, (1, 28, 28), seed=3)
    assert r.shape == (2000, 1, 28, 28)
    assert torch.equal(r, rubbish.gaussian_rubbish(2000, (1, 28, 28), seed=3))
    assert abs(r.mean().item()) < 0.01 and abs(r.std().item() - 1) < 0.01
    with pytest.raises(ValueError):
        rubbish.gaussian_rubbish(0)


def test_rubbish_eval_closed_form():
    proba = torch.tensor([[0.9, 0.1, 0.0],   # fooled, class 0, conf .9
                          [0.2, 0.7, 0.1],   # fooled, class 1, conf .7
                          [0.4, 0.3, 0.3],   # not fooled
                          [0.5, 0.5, 0.0]])  # exactly .5 is not "> .5"
    r = rubbish.rubbish_eval(proba)
    assert r["error"] == 0.5 and r["n_fooled"] == 2
    assert r["conf"] == pytest.approx(0.8)
    assert r["classes"] == pytest.approx([0.5, 0.5, 0.0])


def test_rubbish_eval_unnormalised_and_none_fooled():
    # RBF-like: tiny unnormalised probabilities far from every centre
    r = rubbish.rubbish_eval(torch.full((5, 10), 1e-6))
    assert r["error"] == 0 and math.isnan(r["conf"]) and sum(r["classes"]) == 0
    # sigmoid-like: two classes above .5 at once still count the example once
    r = rubbish.rubbish_eval(torch.tensor([[0.8, 0.9]]))
    assert r["error"] == 1 and r["conf"] == pytest.approx(0.9) and r["classes"] == [0.0, 1.0]


def test_rbf_is_not_fooled_by_far_rubbish():
    rbf = M.RBFNetwork(init_beta=0.1)
    assert rubbish.rubbish_eval(predict_proba(rbf, rubbish.gaussian_rubbish(50)))["error"] == 0


# ----------------------------------------------------------------- figure 4
def test_linear_fit_r2_closed_forms():
    t = torch.linspace(-3, 3, 61)
    curves = torch.stack([2 * t + 1, t ** 2, torch.full_like(t, 4.0), -t.abs() + 0.3 * t])
    r2 = local_linearity.linear_fit_r2(t, curves)
    assert r2[0].item() == pytest.approx(1.0)
    assert r2[1].item() == pytest.approx(0.0, abs=1e-9)  # a symmetric parabola has no linear part
    assert math.isnan(r2[2].item())
    assert 0 < r2[3].item() < 1
    with pytest.raises(ValueError):
        local_linearity.linear_fit_r2(t[:2], curves[:, :2])


def test_logit_sweep_of_a_linear_model_is_exactly_linear(digits):
    x, y = digits
    torch.manual_seed(0)
    soft = M.SoftmaxRegression().eval()
    eps = torch.linspace(-15, 15, 31).tolist()
    curves = local_linearity.logit_sweep(soft, x[:5], fgsm_direction(soft, x[:5], y[:5]), eps)
    assert curves.shape == (5, 31, 10)
    torch.testing.assert_close(curves[:, 15], soft(x[:5]).detach())  # eps = 0 is the clean input
    r2 = local_linearity.sweep_r2(soft, x[:5], y[:5], eps)
    assert torch.allclose(r2, torch.ones_like(r2), atol=1e-6)
    # a maxout net is piecewise linear: R^2 can be below 1 but never above
    r2m = local_linearity.sweep_r2(_maxout(0), x[:5], y[:5], eps)
    assert (r2m[~r2m.isnan()] <= 1 + 1e-9).all()


# ----------------------------------------------------------------- capacity
def test_capacity_and_ensemble_configs():
    P = profiles.get_profile("smoke")
    c = P.capacity
    one = E.capacity_config(P, 7, 1)
    assert one.model_args == {"units": 7, "pieces": P.maxout.pieces, "layers": 1,
                              "init_range": E.FAST_INIT, "dropout_hidden": 0.0}
    assert one.objective == "clean" and one.epochs == c.epochs
    assert E.capacity_config(P, 7, 1, seed=1).key() != one.key()
    with pytest.raises(ValueError):
        E.capacity_config(P, 0, 1)
    members = [E.ensemble_config(P, s) for s in range(3)]
    assert len({m.key() for m in members}) == 3  # different seeds, different nets
    assert all(m.epochs == c.ensemble_epochs and m.model_args["units"] == c.ensemble_units for m in members)
    # the built nets have the depth and width asked for
    from helpers.training import build_model
    net = build_model(E.capacity_config(P, 7, 3))
    assert sum(isinstance(m, M.Maxout) for m in net.modules()) == 3 and net.first_layer.units == 7


# ----------------------------------------------------------------- CIFAR-10 path on synthetic data
@pytest.fixture
def fake_cifar(monkeypatch):
    g = torch.Generator().manual_seed(0)
    sets = {"train": (torch.rand(300, 3, 32, 32, generator=g), torch.randint(0, 10, (300,), generator=g)),
            "test": (torch.rand(60, 3, 32, 32, generator=g), torch.randint(0, 10, (60,), generator=g))}
    monkeypatch.setattr(D, "cifar10", lambda split, *a, **k: sets[split])
    return sets


def test_convmaxout_trains_and_attacks_on_synthetic_cifar(fake_cifar):
    P = profiles.get_profile("smoke")
    small = {"model_args": {"channels": (4, 4, 4)}, "batch_size": 50}
    out = cifar.cifar_experiment(P, n_rubbish=40, progress=False, **small)
    assert set(out) == {"clean_err", "adv_err", "adv_conf", "rubbish_err", "rubbish_conf"}
    for k in ("clean_err", "adv_err", "rubbish_err"):
        assert 0 <= out[k] <= 100
    # the model and its attack: standardised inputs, unclipped, moved by exactly eps
    cfg = E.convmaxout_config(P, **small)
    assert cfg.data == "cifar10" and cfg.eps == E.CIFAR_EPS and cfg.clip is False
    model = E.train(cfg, progress=False).model  # cached by the experiment above
    x, y = cifar.cifar_test_set()
    assert x.shape == (60, 3, 32, 32)
    x_adv = fgsm(model, x, y, E.CIFAR_EPS, clip=None)
    assert torch.allclose((x_adv - x).abs().amax(), torch.tensor(E.CIFAR_EPS))
    assert model(x).shape == (60, 10)


def test_cifar_unavailable_gives_a_reason(monkeypatch):
    def offline(*a, **k):
        raise D.DataUnavailable("CIFAR-10 is unavailable here (URLError)")

    monkeypatch.setattr(D, "cifar10", offline)
    out, reason = cifar.try_or_reason(lambda: cifar.cifar_experiment(profiles.get_profile("smoke"), progress=False))
    assert out is None and "unavailable" in reason
