import torch

from helpers import models as M


def test_maxout_is_the_max_over_pieces():
    layer = M.Maxout(6, units=3, pieces=4)
    x = torch.randn(5, 6)
    pieces = (x @ layer.linear.weight.T + layer.linear.bias).view(5, 3, 4)
    torch.testing.assert_close(layer(x), pieces.max(2).values)


def test_maxout_init_and_max_norm():
    net = M.MaxoutMLP(units=8, pieces=3)
    assert net.first_layer.linear.weight.abs().max() <= M.INIT_RANGE
    with torch.no_grad():
        net.first_layer.linear.weight.mul_(1e4)
    net.apply_constraints()
    norms = net.first_layer.linear.weight.norm(dim=1)
    assert norms.max() <= M.MAX_COL_NORM + 1e-4


def test_max_norm_is_renorm_in_place_and_leaves_short_rows_alone():
    torch.manual_seed(0)
    w = torch.randn(20, 30) * torch.cat([torch.full((10, 1), 0.01), torch.full((10, 1), 10.0)])
    before, ptr = w.clone(), w.data_ptr()
    M._max_norm_(w, M.MAX_COL_NORM)
    assert w.data_ptr() == ptr and torch.equal(w[:10], before[:10])
    torch.testing.assert_close(w, torch.renorm(before, 2, 0, M.MAX_COL_NORM))
    assert (w[10:].norm(dim=1) - M.MAX_COL_NORM).abs().max() < 1e-5


def test_logistic_regression_softmax_is_the_sigmoid(digits):
    x, _ = digits
    model = M.LogisticRegression()
    p = model.probabilities(model(x))[:, 1]
    torch.testing.assert_close(p, torch.sigmoid(model.logit(x)))


def test_rbf_is_the_unnormalised_gaussian(digits):
    x, y = digits
    net = M.RBFNetwork(init_beta=0.02).init_centres(x, y)
    beta = torch.nn.functional.softplus(net.raw_beta)
    direct = torch.exp(-((x.flatten(1)[:, None, :] - net.mu[None]) ** 2 * beta[None]).sum(2))
    p = net.probabilities(net(x))
    torch.testing.assert_close(p, direct, atol=1e-5, rtol=1e-4)
    assert p.max() <= 1
    far = net.probabilities(net(torch.randn(10, 1, 28, 28) * 5))
    assert far.max() < 1e-3  # far from every centre the RBF net is unsure


def test_dropout_keeps_the_mean_and_is_off_in_eval():
    d = M.Dropout(0.5)
    x = torch.ones(200_000)
    assert abs(d(x).mean().item() - 1) < 0.01 and set(d(x).unique().tolist()) == {0.0, 2.0}
    assert torch.equal(d.eval()(x), x)
    unscaled = M.Dropout(0.2, scale=1.0)
    assert abs(unscaled(x).mean().item() - 0.8) < 0.01 and set(unscaled(x).unique().tolist()) == {0.0, 1.0}


def _first_layer_input(net, x):
    seen = []
    handle = net.first_layer.register_forward_pre_hook(lambda m, args: seen.append(args[0]))
    net(x)
    handle.remove()
    return seen[0]


def test_maxout_mlp_drops_inputs_without_rescaling_as_the_recipe():
    """pylearn2's mnist_pi: input kept with p .8, scale 1 (train-mode mean .8 x, eval x);
    hidden units kept with p .5 and scaled by 2 (the expectation kept)."""
    net = M.MaxoutMLP(units=8, pieces=2)
    x = torch.full((400, 784), 0.5)
    inp = _first_layer_input(net.train(), x)
    assert abs(inp.mean().item() - 0.8 * 0.5) < 0.005 and set(inp.unique().tolist()) == {0.0, 0.5}
    assert torch.equal(_first_layer_input(net.eval(), x), x)
    hidden = [m for m in net.features if isinstance(m, M.Dropout)][1:]
    assert len(hidden) == 2 and all(d.p == 0.5 and d.scale == 2.0 for d in hidden)
    inverted = M.MaxoutMLP(units=8, pieces=2, input_scale=None).train()
    assert abs(_first_layer_input(inverted, x).mean().item() - 0.5) < 0.005


def test_googlenet_adapter_takes_digits():
    net = M.GoogLeNetMNIST().eval()
    assert net(torch.rand(2, 1, 28, 28)).shape == (2, 10)


def test_convmaxout_trains_on_synthetic_cifar():
    net = M.ConvMaxout(channels=(8, 8, 8), dropout=0.0)
    x, y = torch.randn(16, 3, 32, 32), torch.randint(0, 10, (16,))
    opt = torch.optim.SGD(net.parameters(), lr=0.05)
    losses = []
    for _ in range(15):
        loss = net.loss(net(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]


def test_mode_sets_a_mode_for_the_block_and_restores_the_models_own_even_on_error():
    net = torch.nn.Dropout()
    for own in (True, False):
        net.train(own)
        try:
            with M.mode(net, training=not own):
                assert net.training is (not own)
                raise RuntimeError("inside the block")
        except RuntimeError:
            pass
        assert net.training is own


def test_device_of_is_where_the_parameters_are():
    assert M.device_of(torch.nn.Linear(2, 2)) == torch.device("cpu")
