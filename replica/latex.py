"""LaTeX and plain-text rendering of a model's derivation, and standalone documents that compile.

The field's notation: ``\\int Dz`` for Gaussian averages, ``H(x)`` for the
Gaussian tail, ``\\ln 2\\cosh``. Printing never simplifies (fast).
"""
from __future__ import annotations

import sympy
from sympy.printing.latex import LatexPrinter

from .model import Model
from .symbolic import collect_averages


class ReplicaLatexPrinter(LatexPrinter):
    """SymPy's LaTeX printer with the package's functions printed in the field's notation."""

    def __init__(self, settings=None):
        super().__init__(dict({"mul_symbol": None, "fold_short_frac": False}, **(settings or {})))


def latex(expr) -> str:
    return ReplicaLatexPrinter().doprint(expr)


def derivation_sections(model: Model, params: dict | None = None) -> list:
    """(title, [(lhs, rhs-expression, note)]) sections describing the derivation."""
    deriv = model.derivation(params)
    F = deriv.free_energy
    label = model.free_energy_name + (f" ({model.ansatz})" if model.ansatz else "")
    sections = [("Free energy", [(_fe_symbol(model), F, label)])]
    eqs = []
    stable = model.stable_equations(deriv.choices)
    for i, (o, g, e) in enumerate(zip(model.order_parameters, deriv.gradient, deriv.derived_equations)):
        eqs.append((r"\frac{\partial %s}{\partial %s}" % (_fe_symbol(model), latex(o.symbol)),
                    collect_averages(g), "derived by differentiation"))
        eqs.append(("0", e, "saddle-point equation (scaled, after Gaussian integration by parts)"))
        if stable is not None:
            eqs.append(("0", stable[i], "the same equation as the solver evaluates it (regrouped for "
                                        "floating point; equality is tested)"))
    if eqs:
        sections.append(("Saddle-point equations", eqs))
    obs = [(_name(k), v, "") for k, v in deriv.observables.items()
           if not (len(model.order_parameters) and v == model.order_parameters[0].symbol)]
    if obs:
        sections.append(("Observables", obs))
    if deriv.limits:
        rows = []
        for k, v in deriv.limits.items():
            rows.extend(deriv.limit_steps[k])
            rows.append((_name(k), v, "derived with asymptotic rules"))
        sections.append(("Limits", rows))
    if deriv.stability is not None:
        st = deriv.stability
        sections.append(("Stability", [(_name(st.name), st.expression,
                                        ("the " + model.ansatz + " solution" if model.ansatz else "the solution")
                                        + f" is stable where positive ({st.source})" if st.source else
                                        ("the " + model.ansatz + " solution" if model.ansatz else "the solution")
                                        + " is stable where positive")]))
    return sections


def _name(name: str) -> str:
    """LaTeX for an observable's name: a symbol (``alpha_c``) or upright text (``ground_state_energy``)."""
    if name.count("_") <= 1 and len(name.split("_")[0]) <= 6:
        return latex(sympy.Symbol(name))
    return r"\mathrm{%s}" % name.replace("_", r"\_")


def _fe_symbol(model):
    return "s" if "entropy" in model.free_energy_name else "f"


def derivation_latex(model: Model, params: dict | None = None) -> str:
    """The derivation as LaTeX (a fragment: sections of ``align*`` environments)."""
    out = [r"\section*{%s}" % _escape(model.title or model.name)]
    for title, rows in derivation_sections(model, params):
        out.append(r"\subsection*{%s}" % title)
        for lhs, rhs, note in rows:
            if note:
                out.append(r"\noindent %s" % _escape(note))
            out.append(r"\begin{dmath*}" + "\n" + f"{lhs} = {latex(rhs)}" + "\n" + r"\end{dmath*}")
    return "\n".join(out) + "\n"


def derivation_text(model: Model, params: dict | None = None) -> str:
    lines = [f"{model.name}: {model.title}"]
    for title, rows in derivation_sections(model, params):
        lines.append("")
        lines.append(f"{title}:")
        for lhs, rhs, note in rows:
            lhs_text = _plain(lhs)
            lines.append(f"  {lhs_text} = {sympy.sstr(rhs)}" + (f"    [{note}]" if note else ""))
    return "\n".join(lines) + "\n"


def _plain(lhs: str) -> str:
    for a, b in (("\\frac{\\partial ", "d"), ("}{\\partial ", "/d"), ("\\mathrm{", ""), ("\\_", "_"),
                 ("\\lim_{", "lim["), (" \\to ", " -> "), ("} ", "] "),
                 ("_{", "_"), ("}", ""), ("\\", "")):
        lhs = lhs.replace(a, b)
    return lhs


def _escape(text: str) -> str:
    for a, b in (("\\", r"\textbackslash{}"), ("_", r"\_"), ("%", r"\%"), ("&", r"\&"), ("#", r"\#"),
                 ("^", r"\^{}"), ("->", r"$\to$")):
        text = text.replace(a, b)
    return text


def standalone_document(body: str, title: str = "replica derivation") -> str:
    """A complete LaTeX document (article, amsmath, breqn for long equations)."""
    return "\n".join([
        r"\documentclass[11pt]{article}",
        r"\usepackage[margin=2cm]{geometry}",
        r"\usepackage{amsmath,amssymb}",
        r"\usepackage{breqn}",
        r"\title{%s}" % _escape(title),
        r"\date{}",
        r"\begin{document}",
        r"\maketitle",
        r"\noindent Notation: $\int Dz\,[\cdot] = \int \frac{dz}{\sqrt{2\pi}} e^{-z^2/2}[\cdot]$, "
        r"$H(x) = \int_x^\infty Dz$.",
        body,
        r"\end{document}",
        "",
    ])
