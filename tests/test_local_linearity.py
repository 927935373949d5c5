"""Section 3's linear argument: exact for linear models, closed forms and invariants."""
import pytest
import torch

from helpers import local_linearity as L
from helpers.metrics import eps_sweep
from helpers.models import SoftmaxRegression


@pytest.fixture
def linear(digits):
    torch.manual_seed(1)
    m = SoftmaxRegression().eval()
    with torch.no_grad():
        m.linear.weight.normal_(0, 0.05)
    return m


def test_margin_is_true_minus_runner_up():
    s = torch.tensor([[3.0, 1.0, 2.0], [0.0, 5.0, 1.0]])
    m, t = L.margin(s, torch.tensor([0, 2]))
    assert t.tolist() == [2, 1] and torch.allclose(m, torch.tensor([1.0, -4.0]))
    m, _ = L.margin(s, torch.tensor([0, 2]), other=torch.tensor([1, 0]))
    assert torch.allclose(m, torch.tensor([2.0, 1.0]))


def test_margin_gradient_of_a_linear_model_is_the_weight_difference(linear, digits):
    x, y = digits
    m, w, t = L.margin_gradient(linear, x, y, batch_size=10)
    W = linear.linear.weight.detach()
    assert torch.allclose(w.flatten(1), W[y] - W[t], atol=1e-6)
    assert (m < 0).eq(linear(x).argmax(1) != y).all()  # negative margin <=> mistake


@pytest.mark.parametrize("clip", [None, (0.0, 1.0)])
def test_first_order_is_exact_for_a_linear_model(linear, digits, clip):
    x, y = digits
    r = L.first_order(linear, x, y, [0.0, 0.05, 0.3], clip=clip)
    assert r["actual"].shape == (3, len(x))
    assert torch.allclose(r["actual"], r["predicted"], atol=1e-4)
    if clip is None:  # the change is exactly eps ||w||_1 against the margin
        assert torch.allclose(r["predicted"], -r["eps"][:, None] * r["l1"][None], atol=1e-4)
    assert r["error"][0] == (linear(x).argmax(1) != y).float().mean()
    assert r["error"][-1] >= r["error"][0]
    again = L.first_order(linear, x, y, [0.0, 0.05, 0.3], clip=clip, piece=L.margin_gradient(linear, x, y))
    assert torch.equal(again["actual"], r["actual"])


def test_nested_masks():
    masks = L.nested_masks((1, 4, 5), [0, 3, 10, 20], seed=0)
    assert masks.shape == (4, 1, 4, 5) and masks.flatten(1).sum(1).tolist() == [0, 3, 10, 20]
    assert (masks[1] <= masks[2]).all() and (masks[2] <= masks[3]).all()
    with pytest.raises(ValueError, match="k must lie"):
        L.nested_masks((2, 2), [5])


def test_change_grows_linearly_with_the_number_of_perturbed_coordinates(linear, digits):
    x, y = digits
    ks = [0, 196, 392, 784]
    r = L.dimension_sweep(linear, x, y, eps=0.1, ks=ks)
    assert torch.allclose(r["actual"], r["predicted"], atol=1e-4)  # linear: exact
    assert (r["actual"][0] == 0).all()
    assert (r["actual"].diff(dim=0) <= 1e-6).all()  # nested subsets: monotone
    full = -0.1 * r["mean_abs_w"] * 784
    assert torch.allclose(r["actual"][-1], full, atol=1e-4)  # eps * m * n at k = n
    # a random quarter of the coordinates carries about a quarter of the change
    ratio = (r["actual"][1] / r["actual"][-1]).mean()
    assert 0.15 < ratio < 0.35


def test_direction_sweep_matches_the_shared_attacks(linear, digits):
    x, y = digits
    grid = [0.0, 0.1, 0.3]
    rows, probas = L.direction_sweep(linear, x, y, grid)
    fg = [r for r in rows if r["kind"] == "fgsm"]
    ref = eps_sweep(linear, x, y, grid, kinds=("fgsm",))
    for a, b in zip(fg, ref):
        assert a["eps"] == b["eps"] and a["error"] == pytest.approx(b["error"])
    clean = [r["error"] for r in rows if r["eps"] == 0]
    assert len(set(clean)) == 1  # the same clean start for every kind
    assert probas[("sign", 0.3)].shape == (len(x), 10)
    assert all(abs(r["accuracy"] + r["error"] - 1) < 1e-9 for r in rows)
    with pytest.raises(ValueError, match="unknown direction"):
        L.direction_sweep(linear, x, y, grid, kinds=("gauss",))
