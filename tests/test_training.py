import pytest
import torch
import torch.nn.functional as F

from helpers import models as M
from helpers import training as T
from helpers.training import (TrainConfig, adversarial_loss, build_model, cache_path, continuation_start, datasets,
                              match_reached, schedule, train_model, train_step, worst_case_linear_scores)

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
    rates = [schedule(lin, s, 1, 10)[0] for s in range(11)]
    assert rates[0] == 0.05 and rates[5] == pytest.approx(0.025) and rates[10] == 0.0
    assert all(a > b for a, b in zip(rates, rates[1:]))
    rec = TrainConfig(lr=0.1, lr_decay=2.0, lr_min=0.02)
    assert schedule(rec, 1, 1, 10)[0] == 0.05 and schedule(rec, 3, 1, 10)[0] == 0.02
    assert schedule(rec.replace(optimizer="adam"), 5, 1, 10)[0] == 0.1  # Adam keeps its rate
    # the schedule is part of the cache key
    assert lin.key() != lin.replace(lr_schedule="recipe").key()


def test_recipe_schedule_reaches_the_continuation_constants_at_epoch_243():
    """mnist_pi_continued.yaml starts at lr 0.0615082606673 and momentum 0.694376766682: the
    recipe's rate after 243 epochs of 500 steps and the momentum epoch 243 used."""
    cfg = TrainConfig()  # the recipe's lr .1, decay 1.000004, momentum .5 -> .7 at epoch 250
    history = [{"steps": 500 * e, "total_steps": 500_000, "momentum": schedule(cfg, 0, e, 1)[1]}
               for e in range(1, 301)]
    lr, momentum = continuation_start(cfg, history, 243)
    # pylearn2 kept both in float32 shared variables: they agree to ~1e-6, while one epoch
    # earlier or later moves the rate by 0.2% and the momentum by 0.1%
    assert lr == pytest.approx(0.0615082606673, rel=2e-6) and momentum == pytest.approx(0.694376766682, rel=2e-6)
    assert schedule(cfg, 0, 1, 1)[1] == 0.5 and schedule(cfg, 0, 250, 1)[1] == pytest.approx(0.7)
    assert schedule(cfg, 0, 400, 1)[1] == pytest.approx(0.7)


def test_stopping_rule_matches_the_target_level():
    history, target = [3.0, 2.5, 2.1, 2.0, 1.7], 2.0
    stops = [match_reached(v, target) for v in history]
    assert stops.index(True) == 3  # stops on the epoch that reaches the target, not before, not after
    assert not match_reached(2.0000001, 2.0) and match_reached(1.99, 2.0)


def test_early_stopping_and_retrain():
    cfg = TrainConfig(**{**TINY, "epochs": 6}, patience=1, retrain="restart", lr=0.0)  # lr 0: never improves
    t = train_model(cfg, cache=False, progress=False)
    first = [r for r in t.history if "phase" not in r]
    retrain = [r for r in t.history if r.get("phase") == "retrain"]
    assert len(first) == 2 and len(retrain) == t.history[0]["best_epoch"] == 1


def test_continuation_starts_from_the_best_net_with_its_rate_momentum_and_zero_velocity(monkeypatch):
    cfg = TrainConfig(**{**TINY, "epochs": 4}, patience=2, retrain="continue", lr=0.05, lr_decay=1.01,
                      momentum=(0.5, 0.7, 3))
    first = train_model(cfg.replace(retrain="none"), progress=False)  # cached: the continuation reuses it
    best = first.history[-1]["best_epoch"]
    seen = {}

    def spy(model, opt, *args, **kwargs):
        if not seen:
            seen["weights"] = _weights(model).clone()
            seen["group"] = dict(opt.param_groups[0])
            seen["velocity"] = [opt.state[p].get("momentum_buffer") for p in opt.param_groups[0]["params"]]
        return real(model, opt, *args, **kwargs)

    real = T.train_step
    monkeypatch.setattr(T, "train_step", spy)
    t = train_model(cfg, progress=False)  # the first phase comes from the cache: the spy sees the second
    assert len(t.history) > len(first.history)
    assert torch.equal(seen["weights"], _weights(first.model))
    assert seen["group"]["lr"] == pytest.approx(0.05 / 1.01 ** first.history[best - 1]["steps"])
    assert seen["group"]["momentum"] == pytest.approx(0.5 + 0.2 * min(1, (best - 1) / 2))
    assert all(v is None for v in seen["velocity"])  # a fresh optimiser: zero velocity
    more = [r for r in t.history if r.get("phase") == "retrain"]
    assert more and all("match_objective" in r for r in more)
    # it ran until the objective on the last 10,000 matched, or to the epoch cap
    ends = [match_reached(r["match_objective"], r["target_objective"]) for r in more]
    assert not any(ends[:-1]) and (ends[-1] or len(more) == cfg.epochs)


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
    with pytest.raises(ValueError, match="retrain"):
        TrainConfig(train_split="train_full", retrain="restart")
    with pytest.raises(ValueError, match="retrain must be one of"):
        TrainConfig(retrain="yes")


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
    fgsm_loss = adversarial_loss(model, x, y, "fgsm", alpha=0.0, eps=eps, clip=None)
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
    assert l16 == pytest.approx(l32, rel=1e-2)  # (at init the loss is ~log 10 in both)
    assert not torch.equal(w16, w32)
    torch.testing.assert_close(w16, w32, atol=1e-3, rtol=0)
    assert cfg.key() != cfg.replace(precision="bf16").key()


def test_bf16_on_a_cpu_without_bf16_instructions_warns(monkeypatch):
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: False, raising=False)
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: False, raising=False)
    with pytest.warns(UserWarning, match="no bfloat16 instructions"):
        train_model(TrainConfig(**{**TINY, "epochs": 1}, precision="bf16"), cache=False, progress=False,
                    device=torch.device("cpu"))


def test_a_damaged_cache_file_is_retrained_with_a_warning_that_names_it():
    cfg = TrainConfig(**TINY, seed=7)
    first = train_model(cfg, progress=False)
    path = cache_path(cfg)
    path.write_bytes(b"not a checkpoint")
    with pytest.warns(UserWarning, match=path.name):
        again = train_model(cfg, progress=False)
    assert not again.cached and torch.equal(_weights(again.model), _weights(first.model))
    assert train_model(cfg, progress=False).cached  # the file was replaced by a good one


def test_the_configs_clip_bit_is_the_attacks_box():
    from helpers.attacks import PROTOCOLS
    assert TrainConfig(clip=True).box == PROTOCOLS["clipped"] == (0.0, 1.0)
    assert TrainConfig(clip=False).box is None is PROTOCOLS["as printed"]
