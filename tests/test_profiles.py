import pytest

from helpers import profiles


def _keys(d, prefix=""):
    out = set()
    for k, v in d.items():
        out.add(prefix + k)
        if isinstance(v, dict):
            out |= _keys(v, prefix + k + ".")
    return out


def test_unknown_profile_is_rejected():
    with pytest.raises(ValueError, match="unknown profile 'fast'"):
        profiles.get_profile("fast")


def test_environment_overrides_the_parameter(monkeypatch):
    monkeypatch.setenv("REPRO_PROFILE", "smoke")
    assert profiles.get_profile("paper").name == "smoke"
    monkeypatch.setenv("REPRO_PROFILE", "bogus")
    with pytest.raises(ValueError):
        profiles.get_profile("default")


def test_every_profile_sets_the_same_sizes():
    keys = {name: _keys(p) for name, p in profiles.PROFILES.items()}
    assert keys["smoke"] == keys["default"] == keys["paper"]


def test_profiles_grow():
    s, d, p = (profiles.get_profile(n) for n in ("smoke", "default", "paper"))
    assert s.maxout.units < d.maxout.units <= p.maxout.units
    assert s.maxout.epochs <= d.maxout.epochs <= p.maxout.epochs
    assert p.maxout.large_units == 1600 and len(p.maxout.large_seeds) == 5 and p.capacity.ensemble == 12


def test_smoke_never_writes_to_the_committed_folders():
    fig, res = profiles.output_dirs("smoke")
    assert "build" in fig.parts and "build" in res.parts


@pytest.mark.parametrize("name", sorted(profiles.PROFILES))
def test_every_profile_builds_valid_maxout_configs(name):
    from helpers import experiments

    P = profiles.get_profile(name)
    for objective in ("clean", "fgsm", "sign", "uniform"):
        cfg = experiments.maxout(P, objective)  # TrainConfig rejects inconsistent settings
        assert cfg.train_split == P.maxout.train_split
    # the paper early-stops on the 50k split and retrains on 60k; default trains on 60k outright
    assert (P.maxout.train_split, P.maxout.retrain) == {"paper": ("train", "continue")}.get(name, ("train_full", "none"))


def test_nets_trained_on_perturbed_inputs_follow_the_primary_attack_protocol():
    from helpers import experiments
    from helpers.attacks import PRIMARY, PROTOCOLS

    P = profiles.get_profile("default")
    primary_clips = PROTOCOLS[PRIMARY] is not None
    for objective in ("fgsm", "sign", "uniform"):
        assert experiments.maxout(P, objective).clip is primary_clips
        assert experiments.maxout(P, objective, clip=True).clip is True  # the clipped protocol's twin
    # a clean net perturbs nothing: it keeps TrainConfig's default, so its cache key is the same whatever the primary
    assert experiments.maxout(P, "clean").key() == experiments.maxout(P, "clean", clip=True).key()
