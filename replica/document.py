"""Derivation documents: a model's derivation as a standalone LaTeX document, compiled to PDF.

``replica derive MODEL --document -o MODEL.pdf`` (or ``.tex``) and ``replica documents -o DIR``
build, for a model:

1. its definition and the replica computation in words, from the model's derivation source
   ``derivations/<name>.tex`` (prose only: every displayed equation comes from the package);
2. its parameters, order parameters and observables, from the model's own metadata;
3. the free energy, the derived saddle-point equations, the limits and the stability condition:
   exactly the LaTeX of ``replica derive MODEL --latex`` (the same symbolic objects);
4. a table of the numbers the package computes, next to the literature values they are tested
   against (the model's references);
5. a theory-vs-simulation figure: the model's first quick comparison.

:func:`compile_pdf` runs ``pdflatex`` twice and fails on a LaTeX error, an undefined reference or
an undefined citation (:class:`DocumentError`, with the log's first error lines).
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from .errors import ReplicaError
from .latex import _escape, derivation_latex, latex
from .model import Model
from .verify import _label, verify

#: where the derivation sources live (the repository's ``derivations/`` folder)
DERIVATIONS = Path(__file__).resolve().parent.parent / "derivations"


class DocumentError(ReplicaError):
    """A derivation document could not be built or compiled."""


def derivation_source(model: Model) -> str | None:
    """The prose of ``derivations/<name>.tex``, or None when the model has none."""
    path = DERIVATIONS / f"{model.name}.tex"
    return path.read_text() if path.is_file() else None


def _metadata_tables(model: Model) -> str:
    rows = []
    for p in model.parameters:
        sym = f"${latex(p.symbol)}$" if getattr(p, "symbol", None) is not None and p.kind != "categorical" \
            else r"\texttt{%s}" % _escape(p.name)
        default = "unset" if p.default is None else _escape(str(p.default))
        rows.append(f"{sym} & {_escape(p.meaning)} & {_escape(p.domain_text)} & {default} \\\\")
    out = [r"\subsection*{Parameters}",
           r"\begin{longtable}{llp{0.25\textwidth}l}",
           r"symbol & meaning & domain & default \\ \hline", *rows, r"\end{longtable}"]
    if model.order_parameters:
        out += [r"\subsection*{Order parameters (%s ansatz)}" % _escape(model.ansatz or "saddle point"),
                r"\begin{longtable}{lp{0.55\textwidth}l}", r"symbol & meaning & domain \\ \hline"]
        out += [f"${latex(o.symbol)}$ & {_escape(o.meaning)} & ${_escape(str(o.domain))}$ \\\\"
                for o in model.order_parameters]
        out.append(r"\end{longtable}")
    out += [r"\subsection*{Observables}", r"\begin{longtable}{lp{0.7\textwidth}}", r"name & meaning \\ \hline"]
    out += [r"\texttt{%s} & %s \\" % (_escape(o.name), _escape(o.meaning)) for o in model.observables]
    out.append(r"\end{longtable}")
    return "\n".join(out)


def numbers_table(model: Model) -> str:
    """The model's reference values next to what the package computes (the rows of ``replica verify``)."""
    rows = verify([model], compares=False)
    if not rows:
        return r"\noindent This model has no literature references yet."
    out = [r"\begin{longtable}{lllp{0.42\textwidth}}",
           r"check & computed & reference & source \\ \hline"]
    for ref, row in zip(model.references, rows):
        computed = row["detail"].split(" vs ")[0] if " vs " in row["detail"] else "error"
        out.append(r"\texttt{%s} & %s & %.15g & %s \\" % (
            _escape(row["check"]), _escape(computed), ref.value,
            _escape(ref.source) + ("" if row["pass"] else r" \textbf{(FAILS)}")))
    out.append(r"\end{longtable}")
    return "\n".join(out)


def figure(model: Model, directory: Path) -> str:
    """The model's first quick comparison, drawn to ``directory/<name>-compare.pdf``; LaTeX that includes it."""
    from .simulation import compare
    if not model.quick_compares:
        return r"\noindent This model has no simulation comparison yet."
    spec = model.quick_compares[0]
    params = model.resolve(spec["params"])
    comp = compare(model, params, spec["n"], spec["trials"], spec["seed"])
    name = f"{model.name}-compare.pdf"
    comp.plot(str(directory / name))
    verdicts = "; ".join(f"{k}: theory {o.theory:.6g}, extrapolation {o.extrapolated:.6g} $\\pm$ "
                         f"{o.extrapolated_stderr:.2g} ($z = {o.z:+.2f}$)" for k, o in comp.observables.items())
    return "\n".join([
        r"\begin{figure}[h]", r"\centering",
        r"\includegraphics[width=\textwidth]{%s}" % name,
        r"\caption{Theory (line) against finite-size simulation (points, one standard error) at %s; "
        r"%d instances a size, seed %d, extrapolated to $N \to \infty$ in powers %s of $1/N$. %s.}"
        % (_escape(_label(spec["params"])), spec["trials"], spec["seed"],
           ", ".join(str(p) for p in model.finite_size_powers), verdicts),
        r"\label{fig:compare}", r"\end{figure}",
        r"\noindent Figure~\ref{fig:compare} compares the theory with a simulation of the same model."])


def document_latex(model: Model, params: dict | None = None, directory: Path | None = None,
                   with_figure: bool = True) -> str:
    """The whole document. ``directory`` receives the figure (required when ``with_figure``)."""
    params = params if params is not None else model.resolve({})
    variant = model.variant(params)
    prose = derivation_source(model)
    body = [r"\begin{abstract}", _escape(model.description), r"\end{abstract}",
            r"\section{The model and its replica computation}",
            prose if prose is not None else
            r"\noindent No derivation source (\texttt{derivations/%s.tex}) is available." % _escape(model.name),
            r"\section{Parameters, order parameters and observables}", _metadata_tables(variant),
            r"\section{Derivation}",
            r"\noindent Generated from the package's symbolic objects at %s; identical to the output of "
            r"\texttt{replica derive %s --latex}." % (_escape(_label({k: v for k, v in params.items()
                                                                       if v is not None})) or "the defaults",
                                                       _escape(model.name)),
            _demote(derivation_latex(variant, params)),
            r"\section{Numbers}", numbers_table(model)]
    if with_figure:
        if directory is None:
            raise DocumentError("a figure needs a directory to be written to")
        body += [r"\section{Theory against simulation}", figure(model, Path(directory))]
    return "\n".join([
        r"\documentclass[11pt]{article}",
        r"\usepackage[margin=2cm]{geometry}",
        r"\usepackage{amsmath,amssymb}",
        r"\usepackage{breqn}",
        r"\usepackage{graphicx}",
        r"\usepackage{longtable}",
        r"\title{%s}" % _escape(f"replica: {model.title}"),
        r"\date{}",
        r"\begin{document}",
        r"\maketitle",
        r"\noindent Notation: $\int Dz\,[\cdot] = \int \frac{dz}{\sqrt{2\pi}} e^{-z^2/2}[\cdot]$, "
        r"$H(x) = \int_x^\infty Dz$.",
        *body,
        r"\end{document}",
        "",
    ])


def _demote(fragment: str) -> str:
    """The ``--latex`` fragment's model title (a section) is already the document's title."""
    return re.sub(r"^\\section\*\{[^\n]*\}\n", "", fragment, count=1)


def compile_pdf(tex: str, pdf_path: str | os.PathLike, assets: Path | None = None) -> Path:
    """Compile ``tex`` with pdflatex (twice, for references) into ``pdf_path``."""
    exe = shutil.which("pdflatex")
    if exe is None:
        raise DocumentError("pdflatex is not installed (Debian/Ubuntu: apt-get install texlive-latex-base "
                            "texlive-latex-recommended); write a .tex file instead")
    pdf_path = Path(pdf_path)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        if assets is not None:
            for f in Path(assets).iterdir():
                if f.is_file():
                    shutil.copy(f, tmp / f.name)
        (tmp / "doc.tex").write_text(tex)
        for _ in range(2):
            proc = subprocess.run([exe, "-interaction=nonstopmode", "-halt-on-error", "doc.tex"], cwd=tmp,
                                  capture_output=True, text=True, timeout=300)
            if proc.returncode != 0:
                errors = [ln for ln in proc.stdout.splitlines() if ln.startswith("!")][:3]
                raise DocumentError(f"pdflatex failed on the document for {pdf_path.name}: "
                                    + ("; ".join(errors) or proc.stdout[-500:]))
        log = (tmp / "doc.log").read_text(errors="replace")
        undefined = re.findall(r"LaTeX Warning: (?:Reference|Citation) `[^']*' .*undefined", log)
        if undefined:
            raise DocumentError(f"undefined references in the document for {pdf_path.name}: {undefined[:3]}")
        pdf_path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(tmp / "doc.pdf", pdf_path)
    return pdf_path


def write_document(model: Model, output: str | os.PathLike, params: dict | None = None,
                   with_figure: bool = True) -> Path:
    """Write ``output`` (``.tex``: the source and its figure beside it; ``.pdf``: compiled)."""
    output = Path(output)
    if output.suffix not in (".tex", ".pdf"):
        raise DocumentError(f"output={str(output)!r}: a document is written as .tex or .pdf")
    if output.suffix == ".tex":
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(document_latex(model, params, output.parent, with_figure))
        return output
    with tempfile.TemporaryDirectory() as assets:
        tex = document_latex(model, params, Path(assets), with_figure)
        return compile_pdf(tex, output, Path(assets))
