"""The ImageNet Figure 1 path, tested with a randomly initialised GoogLeNet (no weights needed)."""
import socket
import urllib.error

import matplotlib
import pytest
import torch

matplotlib.use("Agg")

from helpers import imagenet as I  # noqa: E402
from helpers.attacks import fgsm  # noqa: E402
from helpers.data import DataUnavailable  # noqa: E402


@pytest.fixture(scope="module")
def photo():
    return I.preprocess(I.sample_photo("chelsea"))


@pytest.fixture(scope="module")
def net():
    """An untrained GoogLeNet behind the same 224 x 224 pipeline: the path without the weights."""
    from torchvision.models import GoogLeNet

    torch.manual_seed(0)
    return I.Normalized(GoogLeNet(num_classes=1000, aux_logits=False, transform_input=True, init_weights=True)).eval()


@pytest.fixture(scope="module")
def demo(photo, net):
    return I.fgsm_demo(net, photo, eps=I.EPS, names=I.categories())


def test_photo_is_a_224_pixel_image_in_unit_range(photo):
    raw = I.sample_photo("coffee")
    assert raw.shape[0] == 3 and raw.dtype == torch.float32 and 0 <= raw.min() and raw.max() <= 1
    assert photo.shape == (1, 3, 224, 224)
    assert 0 <= photo.min() and photo.max() <= 1 and photo.std() > 0.05  # a picture, not a blank
    with pytest.raises(ValueError, match="unknown photograph"):
        I.sample_photo("panda")


def test_normalisation_inside_the_model_is_imagenets():
    from torchvision.transforms.v2 import functional as TF

    x = torch.rand(2, 3, 8, 8)
    got = I.Normalized(torch.nn.Identity())(x)
    assert torch.allclose(got, TF.normalize(x, list(I.IMAGENET_MEAN), list(I.IMAGENET_STD)), atol=1e-6)


def test_class_names_come_from_torchvision_without_download():
    names = I.categories()
    assert len(names) == 1000 and "giant panda" in names and "gibbon" in names


def test_fgsm_demo_on_random_googlenet(photo, net, demo):
    names, d = I.categories(), demo
    assert d.x_adv.shape == d.sign.shape == photo.shape
    assert (d.x_adv - photo).abs().max() <= I.EPS + 1e-6  # within the max-norm budget
    clipped = I.fgsm_demo(net, photo, eps=I.EPS, names=names, clip=True).x_adv
    assert 0 <= clipped.min() and clipped.max() <= 1 and torch.equal(clipped, d.x_adv.clamp(0, 1))
    assert set(d.sign.unique().tolist()) <= {-1.0, 0.0, 1.0} and (d.sign != 0).float().mean() > 0.9
    # the same example as the shared attack
    assert torch.allclose(d.x_adv, fgsm(net, photo, torch.tensor([d.label]), I.EPS), atol=1e-7)
    assert d.label == d.clean.index and d.clean.name == names[d.clean.index]
    for p in (d.clean, d.noise, d.adversarial):
        assert 0 <= p.index < 1000 and 0 < p.confidence <= 1 and p.name in names
    assert 0 <= d.clean_class_after <= 1
    # one FGSM step raises the loss of the attacked class (first order), or leaves it
    assert d.clean_class_after <= d.clean.confidence + 1e-4


def test_fgsm_demo_rejects_a_batch(net):
    with pytest.raises(ValueError, match="one image"):
        I.fgsm_demo(net, torch.rand(2, 3, 64, 64))


def test_three_panel_figure_is_drawn_and_saved(demo, tmp_path):
    d = demo
    fig = I.demo_figure(d, suptitle="random GoogLeNet")
    assert len([ax for ax in fig.axes if ax.images]) == 3  # x, sign, x + eps sign
    captions = [ax.get_xlabel() for ax in fig.axes if ax.images]
    assert captions[0].startswith(f'"{d.clean.name}"') and "% confidence" in captions[2]
    fig.savefig(tmp_path / "fig1.png")
    assert (tmp_path / "fig1.png").stat().st_size > 1000
    # the same layout works for one-channel digits
    digit = torch.rand(1, 1, 28, 28)
    fig = I.figure1(digit, torch.ones_like(digit), digit, ["a", "b", "c"], eps=0.25)
    assert len([ax for ax in fig.axes if ax.images]) == 3
    with pytest.raises(ValueError, match="three captions"):
        I.figure1(digit, digit, digit, ["a"], eps=0.25)


def test_quantize_8bit_lands_on_the_grid():
    x = torch.rand(1000)
    q = I.quantize_8bit(x)
    assert torch.allclose(q * 255, (q * 255).round(), atol=1e-4)
    assert (q - x).abs().max() <= 0.5 / 255 + 1e-7
    assert abs(I.EPS / I.PIXEL_LEVEL - 1.785) < 1e-3  # .007 is 1.8 8-bit steps


def test_missing_weights_without_download_raise_data_unavailable(tmp_path, monkeypatch):
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))
    with pytest.raises(DataUnavailable, match="not in torch hub's cache") as e:
        I.load_googlenet(download=False)
    assert "googlenet-" in str(e.value) and str(tmp_path) not in str(e.value)  # no machine's folders


def test_failed_download_raises_data_unavailable_and_restores_the_socket(tmp_path, monkeypatch):
    import torchvision.models

    def offline(**kwargs):
        raise urllib.error.URLError("[Errno -2] Name or service not known")

    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))
    monkeypatch.setattr(torchvision.models, "googlenet", offline)
    before = socket.getdefaulttimeout()
    with pytest.raises(DataUnavailable, match="need the internet") as e:
        I.load_googlenet(download=True, timeout=5)
    assert "(no network connection)" in str(e.value) and "download.pytorch.org" in str(e.value)
    assert "URLError" not in str(e.value) and "Errno" not in str(e.value)  # a sentence, not the exception
    assert socket.getdefaulttimeout() == before
