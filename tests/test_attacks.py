import pytest
import torch

from helpers.attacks import along, fgsm, fgsm_direction, input_gradient, perturb, pgd, pgd_split, random_sign_noise, uniform_noise
from helpers.models import LogisticRegression, MaxoutMLP, SoftmaxRegression


def test_fgsm_is_the_closed_form_on_logistic_regression(digits):
    x, _ = digits
    y = torch.randint(0, 2, (len(x),))
    model = LogisticRegression()
    eps = 0.1
    x_adv = fgsm(model, x, y, eps, clip=None)
    y_pm = (2 * y - 1).float()  # {-1, +1}
    expected = -eps * y_pm[:, None] * model.w.detach().sign()[None, :]
    torch.testing.assert_close((x_adv - x).flatten(1), expected)


def test_fgsm_moves_every_pixel_by_exactly_eps_without_clipping(digits):
    x, y = digits
    x_adv = fgsm(MaxoutMLP(units=16), x, y, 0.25, clip=None)
    d = (x_adv - x).abs()
    assert torch.allclose(d.amax(), torch.tensor(0.25))
    assert (d > 0.25 - 1e-6).float().mean() > 0.99  # sign(0) = 0 only where the gradient vanishes


def test_fgsm_eps_zero_is_identity(digits):
    x, y = digits
    assert torch.equal(fgsm(SoftmaxRegression(), x, y, 0.0), x)


def test_fgsm_restores_mode_and_leaves_parameter_grads_untouched(digits):
    x, y = digits
    model = MaxoutMLP(units=16)
    model.train()
    fgsm(model, x, y, 0.1)
    assert model.training
    assert all(p.grad is None for p in model.parameters())
    model.eval()
    fgsm(model, x, y, 0.1)
    assert not model.training


def test_fgsm_gradient_is_computed_in_eval_mode(digits):
    """Dropout must be off: two calls in train mode give the same perturbation."""
    x, y = digits
    model = MaxoutMLP(units=16).train()
    assert torch.equal(fgsm(model, x, y, 0.1), fgsm(model, x, y, 0.1))


def test_fgsm_respects_clipping(digits):
    x, y = digits
    x_adv = fgsm(SoftmaxRegression(), x, y, 0.5, clip=(0.0, 1.0))
    assert x_adv.min() >= 0 and x_adv.max() <= 1
    assert (x_adv - x).abs().max() <= 0.5 + 1e-6


def test_negative_eps_is_rejected(digits):
    x, y = digits
    with pytest.raises(ValueError, match="eps"):
        fgsm(SoftmaxRegression(), x, y, -0.1)
    with pytest.raises(ValueError, match="eps"):
        random_sign_noise(x, -1.0)


def test_noise_baselines_have_the_same_budget(digits):
    x, _ = digits
    s = random_sign_noise(x, 0.2, clip=None) - x
    assert torch.allclose(s.abs(), torch.full_like(s, 0.2))
    u = uniform_noise(x, 0.2, clip=None) - x
    assert u.abs().max() <= 0.2 and u.abs().mean() < 0.15  # spread out, not on the corners


def test_fgsm_hurts_more_than_noise_of_the_same_size(digits):
    x, y = digits
    model = SoftmaxRegression()
    loss = lambda z: torch.nn.functional.cross_entropy(model(z), y).item()  # noqa: E731
    assert loss(fgsm(model, x, y, 0.1, clip=None)) > loss(random_sign_noise(x, 0.1, clip=None))


def test_pgd_stays_in_the_box_and_beats_fgsm_on_loss(digits):
    x, y = digits
    model = MaxoutMLP(units=16, dropout_input=0, dropout_hidden=0, init_range=0.1)
    adv = pgd(model, x, y, 0.1, steps=10)
    assert (adv - x).abs().max() <= 0.1 + 1e-6 and adv.min() >= 0 and adv.max() <= 1
    ce = lambda z: torch.nn.functional.cross_entropy(model(z), y).item()  # noqa: E731
    assert ce(adv) >= ce(fgsm(model, x, y, 0.1)) - 1e-4


def test_pgd_split_is_pgd_in_batches_and_repeatable(digits):
    x, y = digits
    model = MaxoutMLP(units=16, dropout_input=0, dropout_hidden=0, init_range=0.1)
    whole = pgd_split(model, x, y, 0.1, steps=3, seed=5, batch_size=len(x))
    torch.testing.assert_close(whole, pgd(model, x, y, 0.1, steps=3, generator=torch.Generator().manual_seed(5)))
    batched = pgd_split(model, x, y, 0.1, steps=3, seed=5, batch_size=7)
    assert torch.equal(batched, pgd_split(model, x, y, 0.1, steps=3, seed=5, batch_size=7))
    assert not torch.equal(batched, pgd_split(model, x, y, 0.1, steps=3, seed=6, batch_size=7))
    assert batched.shape == x.shape and (batched - x).abs().max() <= 0.1 + 1e-6


def test_perturb_batches_and_rejects_unknown_kind(digits):
    x, y = digits
    model = SoftmaxRegression()
    torch.testing.assert_close(perturb("fgsm", model, x, y, 0.1, batch_size=7), fgsm(model, x, y, 0.1))
    with pytest.raises(ValueError, match="unknown perturbation"):
        perturb("nope", model, x, y, 0.1)


def test_fgsm_direction_gives_fgsm_at_every_eps(digits):
    x, y = digits
    model = MaxoutMLP(units=8, pieces=2)
    d = fgsm_direction(model, x, y, batch_size=10)
    assert torch.equal(d, input_gradient(model, x, y).sign())
    for eps in (0.1, 0.25):
        assert torch.equal((x + eps * d).clamp(0, 1), fgsm(model, x, y, eps, (0.0, 1.0)))
        assert torch.equal(x + eps * d, fgsm(model, x, y, eps))  # the primary protocol: as printed
        assert torch.equal(along(x, d, eps, (0.0, 1.0)), fgsm(model, x, y, eps, (0.0, 1.0)))
        assert torch.equal(along(x, d, eps), fgsm(model, x, y, eps))
