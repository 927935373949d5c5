import pytest
import torch
from torch import nn

from helpers import models as M
from helpers import population as PP
from helpers.metrics import model_error
from helpers.data import mnist
from helpers.training import TrainConfig, adversarial_loss, cache_path, train_model

TINY = dict(model="maxout", model_args={"units": 8, "pieces": 2}, n_train=300, epochs=2, eps=0.25)


def _weights(model):
    return torch.cat([p.detach().flatten() for p in model.parameters()])


def _train(configs, **kw):
    return PP.train_population(configs, progress=False, cache=False, **kw)


def test_members_are_independent_of_each_others_seed_and_objective():
    base = [TrainConfig(**TINY, objective=o, seed=s) for o, s in (("clean", 0), ("fgsm", 1), ("sign", 2))]
    ref = [_weights(t.model) for t in _train(base)]
    for changed in (base[1].replace(seed=11), base[1].replace(objective="uniform"), base[1].replace(objective="clean")):
        out = [_weights(t.model) for t in _train([base[0], changed, base[2]])]
        assert torch.equal(out[0], ref[0]) and torch.equal(out[2], ref[2])
        assert not torch.equal(out[1], ref[1])  # the changed member did change


class _FixedMasks(nn.Module):
    """Dropout replaced by given masks, taken in the order the forward passes use them."""

    def __init__(self, queue: list):
        super().__init__()
        self.queue = queue

    def forward(self, x):
        return x * self.queue.pop(0)


@pytest.mark.parametrize("objectives", [("clean",) * 3, ("fgsm",) * 3, ("sign",) * 3, ("uniform",) * 3,
                                        ("clean", "fgsm", "uniform")])
def test_population_gradients_equal_the_one_net_gradients(objectives):
    # the hand-written backward against autograd on the one-net objective (training.adversarial_loss,
    # plus the L1 penalty on one member), member by member, with the masks and noise the step draws
    configs = [TrainConfig(**TINY, objective=o, seed=s, clip=bool(s % 2), l1=1e-3 * (s == 1))
               for s, o in enumerate(objectives)]
    pop = PP._Population([PP.Job(c, "train", 1) for c in configs], torch.device("cpu"))
    with torch.no_grad():  # weights away from the init, so that every piece and unit matters
        for p in pop.params:
            p.normal_(0, 0.1)
    K, B = 3, 16
    g = torch.Generator().manual_seed(0)
    x, y = torch.rand(K, B, 784, generator=g), torch.randint(0, 10, (K, B), generator=g)
    gens = pop.mask_gen + pop.noise_gen
    states = [gen.get_state() for gen in gens]

    def again():  # the step draws the same masks and noise again
        for gen, state in zip(gens, states):
            gen.set_state(state)

    masks = pop.masks(B)
    others = pop.masks(B, second=True) if pop.second else []
    again()
    losses, grads = pop.losses_and_grads(x, y, "fp32")
    again()
    assert torch.equal(pop.losses_and_grads(x, y, "fp32", grads=False)[0], losses)  # the objective alone
    for k, c in enumerate(configs):
        net = M.MaxoutMLP(units=8, pieces=2)
        net.load_state_dict(PP.member_state(pop.params, k, net))
        queue = [m[k] for m in masks] + [m[k] for m in others]
        for i, mod in enumerate(net.features):
            if isinstance(mod, M.Dropout):
                net.features[i] = _FixedMasks(queue)
        net.train()
        noise = torch.Generator()
        noise.set_state(states[K + k])
        loss = adversarial_loss(net, x[k], y[k], c.objective, c.alpha, c.eps, c.box, noise)
        if c.objective == "clean":
            queue.clear()  # the population draws second-pass masks for its other members
        assert not queue  # every mask was used, in order
        one = torch.autograd.grad(loss + c.l1 * net.first_layer.linear.weight.abs().sum(), list(net.parameters()))
        torch.testing.assert_close(loss, losses[k])
        for i, ref in enumerate(one):
            torch.testing.assert_close(grads[i][k], ref, rtol=1e-4, atol=1e-6)


def test_early_stopping_per_member_returns_its_best_weights_while_others_go_on(monkeypatch):
    # scripted validation errors: the first member's best is epoch 2, the second keeps improving
    script = {3: [0.5, 0.4, 0.45, 0.46, 0.47, 0.48], 4: [0.5, 0.4, 0.3, 0.2, 0.1, 0.05]}
    epoch = {}

    def evaluate(self, x, y, adversarial, batch=2000):
        seeds = [self.jobs[i].config.seed for i in self.alive]
        e = epoch[id(self)] = epoch.get(id(self), 0) + 1
        return torch.tensor([script[s][e - 1] for s in seeds]), None

    monkeypatch.setattr(PP._Population, "evaluate", evaluate)
    stopper = TrainConfig(**{**TINY, "epochs": 6}, seed=3, monitor_adv=False)
    runner = TrainConfig(**{**TINY, "epochs": 6}, seed=4, monitor_adv=False)
    two_epochs = _train([stopper.replace(epochs=2), runner])[0]
    stopped, ran = _train([stopper.replace(patience=2), runner])
    assert stopped.history[-1]["best_epoch"] == 2 and len(stopped.history) == 4  # best + patience
    assert len(ran.history) == 6 and ran.history[-1]["best_epoch"] == 6
    assert torch.equal(_weights(stopped.model), _weights(two_epochs.model))  # epoch 2's weights, not epoch 4's
    assert stopped.history[3]["train_loss"] != stopped.history[1]["train_loss"]  # it did train on after epoch 2


def test_max_norm_is_per_member():
    # the recipe's init gives first-layer rows of norm ~.08: a limit of .05 binds from the first step
    configs = [TrainConfig(**{**TINY, "model_args": {"units": 8, "pieces": 2, "max_norm": m}}) for m in (0.05, 5.0)]
    tight, loose = _train(configs)
    norms = [t.model.first_layer.linear.weight.norm(dim=1) for t in (tight, loose)]
    assert norms[0].max() <= 0.05 + 1e-6 and norms[1].max() > 0.06


def test_a_population_of_one_lands_where_train_model_does_and_shares_its_cache():
    cfg = TrainConfig(**{**TINY, "n_train": 2000, "epochs": 3, "model_args": {"units": 32, "pieces": 2}})
    ref = train_model(cfg, cache=False, progress=False)
    (pop,) = PP.train_population([cfg], progress=False)
    xv, yv = mnist("valid")
    assert abs(model_error(pop.model, xv, yv) - model_error(ref.model, xv, yv)) < 0.03
    assert [r["epoch"] for r in pop.history] == [r["epoch"] for r in ref.history]
    again = train_model(cfg, progress=False)  # the one-net entry point finds the population's net
    assert again.cached and torch.equal(_weights(again.model), _weights(pop.model)) and cache_path(cfg).exists()


def test_second_phases_restart_and_continue_share_one_first_phase():
    base = TrainConfig(**{**TINY, "epochs": 3}, patience=1)
    restart, cont = PP.train_population([base.replace(retrain="restart"), base.replace(retrain="continue")],
                                        progress=False)
    first = [r for r in restart.history if "phase" not in r]
    assert first == [r for r in cont.history if "phase" not in r]
    best = first[-1]["best_epoch"]
    assert len([r for r in restart.history if r.get("phase") == "retrain"]) == best
    more = [r for r in cont.history if r.get("phase") == "retrain"]
    assert more and all(r["target_objective"] == more[0]["target_objective"] for r in more)
    assert more[-1]["momentum"] == first[best - 1]["momentum"]  # held at the best epoch's


def _no_seconds(history):
    return [{k: v for k, v in r.items() if k != "seconds"} for r in history]


def test_a_stopped_phase_goes_on_from_its_checkpoint_bit_for_bit():
    # one member ends at epoch 2, the other trains on to 4: stopped after epochs 1 and 2, then resumed
    configs = [TrainConfig(**{**TINY, "epochs": 2}, seed=0), TrainConfig(**{**TINY, "epochs": 4}, seed=1)]
    straight = _train(configs)
    for _ in range(2):
        with pytest.raises(PP.OutOfTime, match="goes on"):
            _train(configs, deadline=0.0, checkpoint=True)
    (saved,) = (PP.paths.CACHE_DIR / "populations").glob("*.pt")
    resumed = _train(configs, checkpoint=True)
    for a, b in zip(straight, resumed):
        assert torch.equal(_weights(a.model), _weights(b.model))
        assert _no_seconds(a.history) == _no_seconds(b.history)
    assert not saved.exists()  # a finished phase leaves no checkpoint


def test_a_damaged_checkpoint_is_reported_and_the_phase_starts_again():
    configs = [TrainConfig(**TINY, seed=0)]
    path = PP.checkpoint_path(PP._phase_one_jobs(configs))
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not a checkpoint")
    with pytest.warns(UserWarning, match="does not load"):
        (again,) = _train(configs, checkpoint=True)
    assert torch.equal(_weights(again.model), _weights(_train(configs)[0].model))


def test_what_a_population_cannot_train_is_rejected_with_the_reason():
    a = TrainConfig(**TINY)
    with pytest.raises(ValueError, match="architecture"):
        PP.check_population([a, a.replace(model_args={"units": 16, "pieces": 2})])
    with pytest.raises(ValueError, match="batch_size"):
        PP.check_population([a, a.replace(batch_size=50)])
    with pytest.raises(ValueError, match="train_model"):
        PP.check_population([TrainConfig(model="softmax")])
    with pytest.raises(ValueError, match="at least one"):
        PP.check_population([])


def test_flushing_tiny_velocities_leaves_the_weights_as_they_were(monkeypatch):
    # denormal velocities slow a CPU step about 2x; zeroing those below TINY must not change a weight
    configs = [TrainConfig(**TINY, seed=s) for s in range(2)]
    x, y = mnist("train")
    idx = torch.randint(0, 300, (2, 20), generator=torch.Generator().manual_seed(0))
    out = []
    for every in (10**9, 1):
        monkeypatch.setattr(PP.training, "FLUSH_EVERY", every)
        pop = PP._Population([PP.Job(c, "train", 1) for c in configs], torch.device("cpu"))
        pop.velocity[0].view(-1)[::7] = 1e-40  # denormal, as momentum leaves them
        for _ in range(5):
            pop.train_step(x.flatten(1)[idx], y[idx], torch.full((2,), 0.5), "fp32")
        out.append(([p.detach().clone() for p in pop.params], pop.velocity[0].clone()))
    assert all(torch.equal(a, b) for a, b in zip(out[0][0], out[1][0]))
    tiny = torch.finfo(torch.float32).tiny
    assert bool(((out[0][1].abs() < tiny) & (out[0][1] != 0)).any())  # without the flush they stay
    assert not bool(((out[1][1].abs() < PP.training.TINY) & (out[1][1] != 0)).any())


def test_the_one_net_loop_flushes_tiny_velocities_without_changing_its_weights(monkeypatch):
    from helpers import training

    cfg = TrainConfig(**{**TINY, "epochs": 1})
    out = []
    for every in (10**9, 1):
        monkeypatch.setattr(training, "FLUSH_EVERY", every)
        out.append(_weights(train_model(cfg, cache=False, progress=False).model))
    assert torch.equal(out[0], out[1])


def test_the_stepper_without_graphs_is_the_plain_step_bit_for_bit():
    # the GPU's graph path as a CPU runs it: fixed buffers, the gather inside the step, a short
    # last batch (eager) and a member leaving (new buffers) must not change a weight
    configs = [TrainConfig(**TINY, objective=o, seed=s) for o, s in (("clean", 0), ("fgsm", 1), ("uniform", 2))]
    x, y = mnist("train")
    x, y = x.flatten(1)[:300], y[:300]
    g = torch.Generator().manual_seed(0)
    batches = [torch.randint(0, 300, (3, 20), generator=g) for _ in range(4)] + [torch.randint(0, 300, (3, 7), generator=g)]
    runs = []
    for stepper in (False, True):
        pop = PP._Population([PP.Job(c, "train", 1) for c in configs], torch.device("cpu"))
        step = PP.Stepper(pop, x, y, "fp32", graphs=True)  # no graphs on a CPU: the same code, eagerly
        losses = []
        for i, idx in enumerate(batches):
            if i == 3:
                pop.keep([0, 2])
            idx, momentum = idx[pop.alive], torch.full((len(pop.alive),), 0.5)
            losses.append(step(idx, momentum) if stepper else pop.train_step(x[idx], y[idx], momentum, "fp32"))
        runs.append(([p.detach().clone() for p in pop.params], losses, pop.steps_taken))
        assert step.graph is None and not step.graphs
    (w0, l0, n0), (w1, l1, n1) = runs
    assert n0 == n1 == len(batches)
    assert all(torch.equal(a, b) for a, b in zip(w0, w1)) and all(torch.equal(a, b) for a, b in zip(l0, l1))


def test_graphs_agree_compares_the_weights_of_the_two_runs(monkeypatch):
    configs = [TrainConfig(**TINY, objective=o, seed=s) for s, o in enumerate(("fgsm", "uniform"))]
    assert PP.graphs_agree(configs, torch.device("cpu"))  # on a CPU both runs are eager: the same weights
    call = PP.Stepper.__call__

    def skips_a_step_when_asked_for_graphs(self, idx, momentum):  # a graph that lost a step
        self.calls = getattr(self, "calls", 0) + 1
        if self.asked and self.calls == 2:
            return torch.zeros(len(self.pop.alive))
        return call(self, idx, momentum)

    init = PP.Stepper.__init__

    def remember(self, pop, x, y, precision, graphs=False):
        init(self, pop, x, y, precision, graphs)
        self.asked = graphs

    monkeypatch.setattr(PP.Stepper, "__init__", remember)
    monkeypatch.setattr(PP.Stepper, "__call__", skips_a_step_when_asked_for_graphs)
    assert not PP.graphs_agree(configs, torch.device("cpu"))
