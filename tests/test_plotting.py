import matplotlib.pyplot as plt
import pytest

from helpers import plotting


def test_save_fig_writes_a_png_by_name(tmp_path):
    plotting.set_figure_dir(tmp_path / "02-linear")
    fig = plt.figure()
    plt.plot([0, 1])
    path = plotting.save_fig("weights")
    plt.close(fig)
    assert path == tmp_path / "02-linear" / "weights.png"
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(p.name for p in path.parent.iterdir()) == ["weights.png"]


def test_save_fig_rejects_paths(tmp_path):
    plotting.set_figure_dir(tmp_path)
    with pytest.raises(ValueError):
        plotting.save_fig("a/b.png")
