import pytest
import torch
import torch.nn.functional as F

from helpers import experiments as E
from helpers import linear_models as L
from helpers import models as M
from helpers.attacks import fgsm, random_sign_noise
from helpers.metrics import model_error


def _logreg(scale: float = 0.05, bias: float = 0.0) -> M.LogisticRegression:
    m = M.LogisticRegression()
    with torch.no_grad():
        m.linear.weight.normal_(0, scale)
        m.linear.bias.fill_(bias)
    return m.eval()


@pytest.fixture
def binary():
    g = torch.Generator().manual_seed(1)
    return torch.rand(40, 1, 28, 28, generator=g), torch.randint(0, 2, (40,), generator=g)


def test_signed_labels_and_bad_labels():
    assert L.signed(torch.tensor([0, 1, 1])).tolist() == [-1.0, 1.0, 1.0]
    with pytest.raises(ValueError):
        L.signed(torch.tensor([0, 2]))


def test_fgsm_is_minus_eps_y_sign_w(binary):
    x, y = binary
    m = _logreg()
    for clip in (None, (0.0, 1.0)):
        got = fgsm(m, x, y, 0.25, clip)
        assert torch.equal(got, L.worst_case_examples(m, x, y, 0.25, clip))
        assert L.fgsm_exactness(m, x, y, 0.25, clip) == {"exact": 1.0, "saturated": 0.0, "n": 40}
    eta = L.worst_case_perturbation(m, y, 0.25, (1, 28, 28))
    # a 7 (y=+1) is pushed against w, a 3 (y=-1) along it
    assert torch.equal(eta[y == 1][0].flatten(), -0.25 * m.w.detach().sign())
    assert torch.equal(eta[y == 0][0].flatten(), 0.25 * m.w.detach().sign())


def test_closed_form_loss_is_the_loss_at_the_worst_case(binary):
    x, y = binary
    m = _logreg()
    at_adv = F.cross_entropy(m(L.worst_case_examples(m, x, y, 0.1)), y, reduction="none")
    torch.testing.assert_close(L.worst_case_loss(m, x, y, 0.1), at_adv.detach())
    # and no other perturbation in the box does worse (random corners of the box)
    for seed in range(5):
        noisy = random_sign_noise(x, 0.1, None, torch.Generator().manual_seed(seed))
        other = F.cross_entropy(m(noisy), y, reduction="none").detach()
        assert (other <= L.worst_case_loss(m, x, y, 0.1) + 1e-5).all()


def test_printed_formula_differs_only_for_the_negative_class(binary):
    x, y = binary
    m = _logreg()
    printed, worst = L.printed_loss(m, x, y, 0.2), L.worst_case_loss(m, x, y, 0.2)
    torch.testing.assert_close(printed[y == 1], worst[y == 1])
    clean = F.softplus(-L.signed(y) * m.logit(x)).detach()
    # for the 3s the printed 'adversarial' loss is *below* the clean loss: it helps them
    assert (printed[y == 0] < clean[y == 0]).all() and (worst[y == 0] > clean[y == 0]).all()


def test_saturation_makes_fgsm_a_no_op():
    """A 7 predicted with margin ~30: in float32 1 - p rounds to 0, the gradient vanishes."""
    m = _logreg(scale=1e-4, bias=30.0)
    x, y = torch.rand(4, 1, 28, 28), torch.ones(4, dtype=torch.long)
    r = L.fgsm_exactness(m, x, y, 0.25)
    assert r["saturated"] == 1.0 and r["exact"] == 0.0
    assert torch.equal(fgsm(m, x, y, 0.25, None), x)


def test_closed_forms_refuse_softmax():
    with pytest.raises(TypeError):
        L.worst_case_loss(M.SoftmaxRegression(), torch.rand(2, 1, 28, 28), torch.tensor([0, 1]), 0.1)


def test_l1_norm_and_error(binary):
    x, y = binary
    m = _logreg()
    assert L.l1_norm(m) == pytest.approx(m.w.abs().sum().item())
    assert model_error(m, x, y) == pytest.approx(((m.logit(x) > 0).long() != y).float().mean().item())


@pytest.mark.parametrize("base,new,word", [(0.90, 0.90, "no benefit"), (0.90, 0.80, "benefit"),
                                           (0.10, 0.20, "harm"), (0.900, 0.895, "no benefit")])
def test_direction(base, new, word):
    assert L.direction(base, new, 10_000) == word


def test_direction_rejects_percentages():
    with pytest.raises(ValueError):
        L.direction(90.0, 80.0, 100)


def test_bound_error_is_exact_for_logreg_and_pessimistic_for_softmax(binary, digits):
    x, y = binary
    m = _logreg()
    assert L.bound_error(m, x, y, 0.1) == pytest.approx(model_error(m, L.worst_case_examples(m, x, y, 0.1), y))
    s = M.SoftmaxRegression().eval()
    xd, yd = digits
    assert L.bound_error(s, xd, yd, 0.1) >= model_error(s, fgsm(s, xd, yd, 0.1, None), yd)


def test_sweep_configs():
    from helpers.profiles import get_profile

    P = get_profile("smoke")
    adv, l1 = E.logreg37_sweep(P, eps=0.25), E.logreg37_sweep(P, l1=1e-2)
    assert adv.objective == "worst_case_linear" and adv.alpha == 0 and adv.stop_on == "adversarial"
    assert l1.objective == "clean" and l1.l1 == 1e-2 and l1.stop_on == "clean"
    assert adv.key() != E.logreg37_sweep(P, eps=0.1).key()
    with pytest.raises(ValueError):
        E.logreg37_sweep(P, eps=-1)
    mix = E.softmax_mix(P, 0.3)
    assert mix.augment_from["objective"] == "clean" and mix.augment_from["augment_from"] is None and mix.eps == 0.3
    assert E.softmax_l1_like(P, 0.3).objective == "worst_case_linear"
