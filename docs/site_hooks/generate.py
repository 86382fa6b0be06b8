"""MkDocs hook: pages generated from the package itself at build time (nothing hand-copied).

* ``models/index.md`` and one ``models/<name>.md`` a model: its metadata (parameters with domain
  and default, order parameters, observables), its derivation source's prose, the derived
  equations (the same LaTeX as ``replica derive MODEL --latex``, shown with MathJax) and its
  literature references;
* ``cli.md``: every subcommand's ``--help``, from the argument parser.
"""
from __future__ import annotations

import re

from mkdocs.structure.files import File

DMATH = re.compile(r"\\begin\{dmath\*\}\n(.*?)\n\\end\{dmath\*\}", re.S)


def _md_escape(text: str) -> str:
    return text.replace("|", r"\|").replace("*", r"\*").replace("_", r"\_")


def _prose(tex: str) -> str:
    """The derivation source's LaTeX prose as Markdown (its inline math stays for MathJax)."""
    tex = re.sub(r"\\subsection\*\{([^}]*)\}", r"### \1", tex)
    # typewriter text (commands, options) becomes code, kept verbatim: "--seed" is no en dash
    code = []

    def _code(match):
        code.append(match.group(1).replace("\\_", "_"))
        return f"\x00{len(code) - 1}\x00"

    tex = re.sub(r"\\texttt\{([^}]*)\}", _code, tex)
    for a, b in ((r"\'e", "é"), ("~", " "), ("--", "–"), ("\\,", " ")):
        tex = tex.replace(a, b)
    return re.sub("\x00(\\d+)\x00", lambda m: f"`{code[int(m.group(1))]}`", tex)


def model_page(name: str) -> str:
    from replica.document import derivation_source
    from replica.latex import derivation_sections, latex
    from replica.registry import get_model

    model = get_model(name)
    params = model.resolve({})
    variant = model.variant(params)
    out = [f"# `{name}`: {model.title}", "", model.description, ""]
    prose = derivation_source(model)
    if prose:
        out += [_prose(prose), ""]
    out += ["## Parameters", "", "| name | meaning | domain | default |", "|---|---|---|---|"]
    for p in model.parameters:
        out.append(f"| `{p.name}` | {_md_escape(p.meaning)} | {_md_escape(p.domain_text)} | "
                   f"{'unset' if p.default is None else p.default} |")
    if variant.order_parameters:
        out += ["", f"## Order parameters ({variant.ansatz or 'saddle point'})", "",
                "| symbol | meaning | domain |", "|---|---|---|"]
        out += [f"| ${latex(o.symbol)}$ | {_md_escape(o.meaning)} | {o.domain} |" for o in variant.order_parameters]
    out += ["", "## Observables", "", "| name | meaning |", "|---|---|"]
    out += [f"| `{o.name}` | {_md_escape(o.meaning)} |" for o in model.observables]
    out += ["", "## Derivation", "",
            f"Generated from the package's symbolic objects at the default parameters; the same as "
            f"`replica derive {name} --latex`.", ""]
    for title, rows in derivation_sections(variant, params):
        out += [f"### {title}", ""]
        for lhs, rhs, note in rows:
            if note:
                out += [_md_escape(note) + ":", ""]
            out += [r"\[", f"{lhs} = {latex(rhs)}", r"\]", ""]
    if model.references:
        out += ["## Tested values", "", "| observable | at | value | source |", "|---|---|---|---|"]
        for ref in model.references:
            at = ", ".join(f"{k}={v}" for k, v in ref.params.items())
            out.append(f"| `{ref.observable}` | {_md_escape(at)} | {ref.value:.15g} | {_md_escape(ref.source)} |")
    out += ["", "## Try it", "", "```bash", f"replica models", f"replica derive {name}",
            f"replica solve {name}", f"replica verify {name} --quick", "```", ""]
    return "\n".join(out)


def models_index() -> str:
    from replica.registry import MODELS, get_model
    out = ["# Models", "", "Every page below is generated from the model's own metadata and derived equations.", ""]
    for name in MODELS:
        out.append(f"- [`{name}`]({name}.md): {get_model(name).title}")
    return "\n".join(out) + "\n"


def cli_page() -> str:
    from replica.cli import build_parser
    parser = build_parser()
    out = ["# Command line", "", "Generated from the argument parser (`replica COMMAND --help`).", "",
           "```text", parser.format_help().rstrip(), "```", ""]
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    for name, sp in sub.choices.items():
        out += [f"## `replica {name}`", "", "```text", sp.format_help().rstrip(), "```", ""]
    return "\n".join(out)


def on_files(files, config):
    from replica.registry import MODELS
    pages = {"models/index.md": models_index(), "cli.md": cli_page()}
    pages.update({f"models/{name}.md": model_page(name) for name in MODELS})
    for uri, content in pages.items():
        files.append(File.generated(config, uri, content=content))
    return files
