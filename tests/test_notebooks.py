"""The example notebooks (jupytext percent scripts in docs/notebooks) run to the end: each asserts
its own claims (Cover's capacity, the ordering of learning rules, theory-vs-simulation agreement)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "docs" / "notebooks").glob("*.py"))


def test_there_are_at_least_three_notebooks():
    assert len(NOTEBOOKS) >= 3
    for nb in NOTEBOOKS:
        text = nb.read_text()
        assert "format_name" in text or "formats: py:percent" in text, nb
        assert text.count("# %%") >= 3, nb


@pytest.mark.slow
@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs(notebook, tmp_path):
    env = dict(os.environ, REPLICA_FAST="1", MPLBACKEND="Agg",
               PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run([sys.executable, str(notebook)], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    assert list(tmp_path.glob("*.png")), "each notebook draws at least one figure"
