"""The docs site builds with MkDocs in strict mode (any warning fails), with a generated page per
model holding its derived equations, the CLI reference from the parser and the API reference."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from replica.registry import MODELS

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp("site")
    proc = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-d", str(out)], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return out


def test_every_model_has_a_page_with_its_equations(site):
    from replica.latex import latex
    from replica.registry import get_model
    for name in MODELS:
        page = (site / "models" / name / "index.html").read_text()
        model = get_model(name)
        variant = model.variant(model.resolve({}))
        F = variant.derivation(model.resolve({})).free_energy
        assert page.count('class="arithmatex"') >= 1, name
        # the free energy's LaTeX appears (HTML-escaped) on the page
        assert latex(F).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")[:60] in page, name
        for p in model.parameters:
            assert f"<code>{p.name}</code>" in page, (name, p.name)


def test_cli_reference_lists_every_command(site):
    page = (site / "cli" / "index.html").read_text()
    for cmd in ("models", "derive", "solve", "simulate", "compare", "verify", "documents"):
        assert re.search(rf"replica {cmd}", page), cmd
    assert "--workers" in page and "--scheduler" in page and "--cache" in page


def test_api_reference_is_generated_from_docstrings(site):
    page = (site / "api" / "index.html").read_text()
    assert "replica.api.compare" in page and "replica.execution" in page
    assert "Theory vs simulation" in page            # a docstring's words


def test_tutorial_and_guide_pages_exist(site):
    for page in ("tutorial", "adding_a_model", "models"):
        assert (site / page / "index.html").stat().st_size > 2000
