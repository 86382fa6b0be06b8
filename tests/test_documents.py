"""Derivation documents: every model's document compiles with pdflatex (no error, no undefined
reference), and its equations are exactly those of ``replica derive MODEL --latex``."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from replica.document import (DERIVATIONS, DocumentError, compile_pdf, derivation_source, document_latex,
                              write_document)
from replica.registry import MODELS, get_model

from cli_helpers import run  # noqa: E402  (tests/ is on sys.path under pytest)

pytestmark = pytest.mark.latex

DMATH = re.compile(r"\\begin\{dmath\*\}\n(.*?)\n\\end\{dmath\*\}", re.S)


def test_every_model_has_a_derivation_source():
    missing = [name for name in MODELS if not (DERIVATIONS / f"{name}.tex").is_file()]
    assert not missing, f"no derivations/<model>.tex for {missing}"
    for name in MODELS:
        prose = derivation_source(get_model(name))
        # prose only: the displayed equations come from the package's symbolic objects
        assert prose and not re.search(r"\\begin\{(equation|align|dmath|eqnarray)", prose), name
        assert r"\[" not in prose and "$$" not in prose, name


@pytest.mark.parametrize("name", sorted(MODELS))
def test_document_equations_are_those_of_derive_latex(name, capsys):
    rc, fragment, err = run(capsys, "derive", name, "--latex")
    assert rc == 0, err
    tex = document_latex(get_model(name), with_figure=False)
    equations = DMATH.findall(fragment)
    assert equations, name
    assert DMATH.findall(tex) == equations


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """Every model's document, with its simulation figure, compiled once."""
    out = tmp_path_factory.mktemp("documents")
    rc, stdout, stderr = run_cli("documents", "-o", str(out))
    assert rc == 0, stderr
    return out, stdout


def run_cli(*argv):
    import contextlib
    import io

    from replica.cli import main
    buf_out, buf_err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(buf_out), contextlib.redirect_stderr(buf_err):
        rc = main(list(argv))
    return rc, buf_out.getvalue(), buf_err.getvalue()


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(MODELS))
def test_every_document_compiles_with_its_figure(built, name, pdflatex):
    out, stdout = built
    pdf = out / f"{name}.pdf"
    assert f"wrote {pdf}" in stdout
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF") and len(data) > 20_000     # text, tables and an embedded figure


def test_tex_output_writes_the_figure_beside_it(tmp_path, pdflatex):
    tex = write_document(get_model("marchenko-pastur"), tmp_path / "mp.tex")
    source = tex.read_text()
    assert r"\includegraphics[width=\textwidth]{marchenko-pastur-compare.pdf}" in source
    assert (tmp_path / "marchenko-pastur-compare.pdf").stat().st_size > 1000
    assert r"\ref{fig:compare}" in source and r"\label{fig:compare}" in source


def test_an_undefined_reference_fails_the_build(tmp_path, pdflatex):
    tex = "\\documentclass{article}\\begin{document}See \\ref{nowhere}.\\end{document}\n"
    with pytest.raises(DocumentError, match="undefined references"):
        compile_pdf(tex, tmp_path / "x.pdf")


def test_a_latex_error_fails_the_build(tmp_path, pdflatex):
    tex = "\\documentclass{article}\\begin{document}\\undefinedmacro\\end{document}\n"
    with pytest.raises(DocumentError, match="pdflatex failed"):
        compile_pdf(tex, tmp_path / "x.pdf")


def test_derive_document_cli(tmp_path, capsys, pdflatex):
    out = tmp_path / "gardner.pdf"
    rc, stdout, stderr = run(capsys, "derive", "gardner", "--document", "--no-figure", "-o", str(out))
    assert rc == 0 and out.read_bytes().startswith(b"%PDF"), stderr
    rc, stdout, stderr = run(capsys, "derive", "gardner", "--document")
    assert rc == 2 and "needs -o" in stderr and "Traceback" not in stderr
    rc, stdout, stderr = run(capsys, "derive", "gardner", "--document", "-o", str(tmp_path / "g.docx"))
    assert rc == 2 and "g.docx" in stderr and ".tex or .pdf" in stderr


def test_the_numbers_table_holds_the_references():
    model = get_model("gardner")
    tex = document_latex(model, with_figure=False)
    for ref in model.references:
        assert f"{ref.value:.15g}" in tex
    assert "FAILS" not in tex
