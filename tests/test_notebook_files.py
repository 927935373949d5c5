import json
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import paths

NOTEBOOKS = sorted((paths.ROOT / "notebooks").glob("[0-9][0-9]-*.ipynb"))


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_notebook_names_its_kernel(nb):
    kernelspec = json.loads(nb.read_text())["metadata"].get("kernelspec", {})
    assert kernelspec.get("name") == "python3" and kernelspec.get("language") == "python"
    assert "name: python3" in nb.with_suffix(".py").read_text().split("# %%")[0]  # kept through the pairing


def test_the_plain_papermill_call_runs_a_notebook(tmp_path):
    """`papermill in.ipynb out.ipynb -p profile smoke`, no -k: the notebook says its kernel."""
    papermill = Path(sys.executable).with_name("papermill")
    done = subprocess.run([str(papermill), "05-summary.ipynb", str(tmp_path / "out.ipynb"), "-p", "profile", "smoke",
                           "--no-progress-bar"], cwd=paths.ROOT / "notebooks", capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads((tmp_path / "out.ipynb").read_text())["metadata"]["papermill"]["parameters"] == {"profile": "smoke"}
