import pytest
import torch
import torch.nn.functional as F

from helpers import models as M
from helpers.training import (TrainConfig, adversarial_loss, build_model, cache_path, datasets, scheduled_lr,
                              train_model, train_step, worst_case_linear_scores)

TINY = dict(model="maxout", model_args={"units": 8, "pieces": 2}, n_train=300, epochs=2, eps=0.25)


def _weights(model):
    return torch.cat([p.detach().flatten() for p in model.parameters()])


def test_same_seed_same_weights():
    a = train_model(TrainConfig(**TINY, objective="fgsm"), cache=False, progress=False)
    b = train_model(TrainConfig(**TINY, objective="fgsm"), cache=False, progress=False)
    c = train_model(TrainConfig(**TINY, objective="fgsm", seed=1), cache=False, progress=False)
    assert torch.equal(_weights(a.model), _weights(b.model))
    assert not torch.equal(_weights(a.model), _weights(c.model))


def test_cache_roundtrip_and_key():
    cfg = TrainConfig(**TINY)
    first = train_model(cfg, progress=False)
    assert not first.cached and cache_path(cfg).exists()
    again = train_model(cfg, progress=False)
    assert again.cached and torch.equal(_weights(first.model), _weights(again.model))
    assert again.history == first.history
    assert cfg.key() != cfg.replace(seed=1).key() != cfg.replace(eps=0.1).key()


def test_history_tracks_clean_and_adversarial_validation():
    t = train_model(TrainConfig(**TINY, objective="fgsm", stop_on="adversarial"), cache=False, progress=False)
    assert len(t.history) == 2
    assert all(0 <= r["valid_error"] <= 1 and 0 <= r["valid_adv_error"] <= 1 for r in t.history)


def test_adversarial_monitor_is_optional_and_does_not_change_the_weights():
    on = train_model(TrainConfig(**TINY), cache=False, progress=False)
    off = train_model(TrainConfig(**TINY, monitor_adv=False), cache=False, progress=False)
    assert "valid_adv_error" in on.history[0] and "valid_adv_error" not in off.history[0]
    assert torch.equal(_weights(on.model), _weights(off.model))
    with pytest.raises(ValueError, match="monitor_adv"):
        TrainConfig(stop_on="adversarial", monitor_adv=False)


def test_history_has_a_loss_curve_in_blocks_of_50_steps():
    t = train_model(TrainConfig(**{**TINY, "batch_size": 2}), cache=False, progress=False)  # 150 steps an epoch
    for row in t.history:
        assert len(row["loss_curve"]) == 3
        assert sum(row["loss_curve"]) / 3 == pytest.approx(row["train_loss"], rel=1e-5)


def test_linear_schedule_anneals_to_zero_and_recipe_decays_geometrically():
    lin = TrainConfig(lr=0.05, lr_schedule="linear")
    rates = [scheduled_lr(lin, None, s, 10) for s in range(11)]
    assert rates[0] == 0.05 and rates[5] == pytest.approx(0.025) and rates[10] == 0.0
    assert all(a > b for a, b in zip(rates, rates[1:]))
    rec = TrainConfig(lr=0.1, lr_decay=2.0, lr_min=0.02)
    assert scheduled_lr(rec, 0.1, 1, 10) == 0.05 and scheduled_lr(rec, 0.03, 2, 10) == 0.02
    assert scheduled_lr(rec.replace(optimizer="adam"), 0.1, 1, 10) == 0.1  # Adam keeps its rate
    # the schedule is part of the cache key
    assert lin.key() != lin.replace(lr_schedule="recipe").key()


def test_early_stopping_and_retrain():
    cfg = TrainConfig(**{**TINY, "epochs": 6}, patience=1, retrain_full=True, lr=0.0)  # lr 0: never improves
    t = train_model(cfg, cache=False, progress=False)
    first = [r for r in t.history if "phase" not in r]
    retrain = [r for r in t.history if r.get("phase") == "retrain"]
    assert len(first) == 2 and len(retrain) == t.history[0]["best_epoch"] == 1


def test_train_full_trains_on_all_60k_and_holds_nothing_out():
    train, valid, _ = datasets(TrainConfig())
    full, none, _ = datasets(TrainConfig(train_split="train_full"))
    assert (len(train[0]), len(valid[0]), len(full[0])) == (50_000, 10_000, 60_000) and none is None
    assert torch.equal(full[0][:50_000], train[0]) and torch.equal(full[0][50_000:], valid[0])
    t = train_model(TrainConfig(**TINY, train_split="train_full"), cache=False, progress=False)
    assert len(t.history) == 2 and all("valid_error" not in r and r["best_epoch"] == 2 for r in t.history)
    assert TrainConfig().key() != TrainConfig(train_split="train_full").key()
    with pytest.raises(ValueError, match="train_split"):
        TrainConfig(train_split="test")
    with pytest.raises(ValueError, match="retrain_full"):
        TrainConfig(train_split="train_full", retrain_full=True)


def test_closed_form_adversarial_logistic_regression():
    """worst_case_linear on logistic regression is softplus(-y(w.x + b) + eps ||w||_1)."""
    model = M.LogisticRegression()
    with torch.no_grad():
        model.linear.weight.normal_(0, 0.05)  # small logits: no gradient underflows
    x, y = torch.rand(32, 1, 28, 28), torch.randint(0, 2, (32,))
    eps = 0.1
    loss = adversarial_loss(model, x, y, "worst_case_linear", alpha=0.0, eps=eps)
    y_pm = 2 * y.float() - 1
    closed = F.softplus(-y_pm * model.logit(x) + eps * model.w.abs().sum()).mean()
    torch.testing.assert_close(loss, closed)
    # and it equals training on the exact FGSM example (no clipping)
    fgsm_loss = adversarial_loss(model, x, y, "fgsm", alpha=0.0, eps=eps, clip=False)
    torch.testing.assert_close(loss, fgsm_loss)


def test_worst_case_softmax_is_an_upper_bound():
    model = M.SoftmaxRegression()
    x, y = torch.rand(16, 1, 28, 28), torch.randint(0, 10, (16,))
    s = model(x)
    worst = worst_case_linear_scores(model, s, y, 0.1)
    assert (F.cross_entropy(worst, y, reduction="none") >= F.cross_entropy(s, y, reduction="none")).all()


def test_alpha_one_is_the_clean_loss():
    model = M.SoftmaxRegression()
    x, y = torch.rand(8, 1, 28, 28), torch.randint(0, 10, (8,))
    torch.testing.assert_close(adversarial_loss(model, x, y, "fgsm", alpha=1.0), F.cross_entropy(model(x), y))


@pytest.mark.parametrize("bad", [dict(model="vgg"), dict(objective="pgd"), dict(alpha=2.0),
                                 dict(stop_on="train"), dict(eps=-1.0), dict(data="svhn"),
                                 dict(lr_schedule="cosine"), dict(optimizer="rmsprop"), dict(precision="fp16")])
def test_bad_config_is_rejected(bad):
    with pytest.raises(ValueError):
        TrainConfig(**bad)


def test_l1_shrinks_first_layer_weights():
    base = dict(model="softmax", n_train=500, epochs=3, lr=0.1)
    plain = train_model(TrainConfig(**base), cache=False, progress=False).model
    sparse = train_model(TrainConfig(**base, l1=1e-3), cache=False, progress=False).model
    assert sparse.linear.weight.abs().sum() < plain.linear.weight.abs().sum()


@pytest.mark.parametrize("objective", ["clean", "fgsm"])
def test_bf16_step_is_close_to_fp32_and_keeps_fp32_weights(objective):
    """bfloat16 autocast changes the arithmetic of a step (so it ran) but not its result beyond
    bf16's ~3 significant digits; the weights, their update and the cache key stay separate."""
    cfg = TrainConfig(**TINY, objective=objective)
    torch.manual_seed(0)
    x, y = torch.rand(100, 1, 28, 28), torch.randint(0, 10, (100,))
    out = {}
    for precision in ("fp32", "bf16"):
        c = cfg.replace(precision=precision)
        torch.manual_seed(1)  # same init and dropout masks for both
        model = build_model(c).train()
        params = list(model.parameters())
        loss = train_step(model, torch.optim.SGD(params, lr=1.0), x, y, c, params)
        out[precision] = (loss, _weights(model))
        assert all(p.dtype == torch.float32 for p in params)
    (l32, w32), (l16, w16) = out["fp32"], out["bf16"]
    assert l16 != l32 and l16 == pytest.approx(l32, rel=1e-2)
    assert not torch.equal(w16, w32)
    torch.testing.assert_close(w16, w32, atol=1e-3, rtol=0)
    assert cfg.key() != cfg.replace(precision="bf16").key()


def test_bf16_on_a_cpu_without_bf16_instructions_warns(monkeypatch):
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: False, raising=False)
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: False, raising=False)
    with pytest.warns(UserWarning, match="no bfloat16 instructions"):
        train_model(TrainConfig(**{**TINY, "epochs": 1}, precision="bf16"), cache=False, progress=False,
                    device=torch.device("cpu"))
