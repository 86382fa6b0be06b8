"""The ``replica`` command: a thin layer over the Python API.

User errors (unknown model or parameter, values out of range, a solver that
does not converge) print one line ``replica: error: ...`` and exit with
status 2; no traceback. Values typed by the user are parsed by regular
expressions and fixed name lists, never evaluated.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

import mpmath
import numpy as np

from . import api
from .errors import ReplicaError
from .params import _INTEGER, parse_assignment, parse_sweep


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        self.exit(2, f"replica: error: {message}\n")


def _int(name, lo):
    def parse(text):
        if not _INTEGER.match(text.strip()) or int(text) < lo:
            raise argparse.ArgumentTypeError(f"{name}={text!r} is out of range; allowed: an integer >= {lo}")
        return int(text)
    return parse


def _ns(text):
    parts = [p.strip() for p in text.split(",") if p.strip()]
    if not parts or not all(_INTEGER.match(p) for p in parts) or any(int(p) < 2 for p in parts):
        raise argparse.ArgumentTypeError(f"n={text!r} is out of range; allowed: integers >= 2, comma separated")
    return [int(p) for p in parts]


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="replica", description="Derive, solve and verify replica saddle-point equations.")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    m = sub.add_parser("models", help="list the models with their parameters and observables")
    m.add_argument("--json", action="store_true")

    def model_args(sp):
        sp.add_argument("model", help="model name (see `replica models`) or path/to/file.py:ClassName")
        sp.add_argument("--set", action="append", default=[], metavar="NAME=VALUE", help="set a parameter")

    d = sub.add_parser("derive", help="print the free energy and the derived saddle-point equations")
    model_args(d)
    d.add_argument("--latex", action="store_true", help="print LaTeX instead of plain text")
    d.add_argument("-o", "--output", metavar="FILE", help="write a standalone LaTeX document (FILE.tex); "
                   "with --document, the derivation document (FILE.tex, or FILE.pdf compiled with pdflatex)")
    d.add_argument("--document", action="store_true", help="the full derivation document: the model in words "
                   "(derivations/MODEL.tex), its derived equations, a table of numbers, a theory-vs-simulation figure")
    d.add_argument("--no-figure", action="store_true", help="with --document: leave out the simulation figure")

    s = sub.add_parser("solve", help="solve the saddle point (one point or a sweep)")
    model_args(s)
    s.add_argument("--sweep", metavar="NAME=START:STOP:NUM", help="solve a curve with warm starts")
    s.add_argument("--dps", type=_int("dps", 1), help="mpmath precision in decimal digits")
    s.add_argument("--json", action="store_true")
    s.add_argument("--csv", action="store_true", help="a sweep as CSV")
    s.add_argument("--plot", metavar="FILE.png|FILE.pdf", help="a sweep: draw the observables against the "
                   "swept parameter")
    s.add_argument("--plot-observables", metavar="NAME,NAME", help="with --plot: which observables (default: "
                   "those that vary)")

    def sim_args(sp, many):
        model_args(sp)
        if many:
            sp.add_argument("--n", type=_ns, required=True, metavar="N1,N2,...", help="system sizes")
        else:
            sp.add_argument("--n", type=_int("n", 2), required=True, help="system size")
        sp.add_argument("--trials", type=_int("trials", 1), required=True, help="instances a size")
        sp.add_argument("--seed", type=_int("seed", 0), default=0, help="master seed (default 0)")
        sp.add_argument("--workers", type=_int("workers", 1), default=1, help="processes (results do not depend on it)")
        sp.add_argument("--scheduler", metavar="ADDRESS", help="run the trials on a Dask cluster "
                        "(tcp://host:port; results do not depend on it)")
        sp.add_argument("--cache", metavar="DIR", help="keep finished trials in DIR and reuse them")
        sp.add_argument("--json", action="store_true")

    sm = sub.add_parser("simulate", help="finite-size Monte Carlo of the model")
    sim_args(sm, many=False)
    c = sub.add_parser("compare", help="theory vs simulation with N -> infinity extrapolation")
    sim_args(c, many=True)
    for sp in (sm, c):
        sp.add_argument("--plot", metavar="FILE.png|FILE.pdf", help="draw theory and simulation")

    v = sub.add_parser("verify", help="check known values and a quick theory-vs-simulation comparison")
    v.add_argument("models", nargs="*", help="models to verify (default: all)")
    v.add_argument("--quick", action="store_true", help="small sizes (well under a minute)")
    v.add_argument("--json", action="store_true")

    dc = sub.add_parser("documents", help="build every model's derivation document (PDF) into a folder")
    dc.add_argument("models", nargs="*", help="models (default: all)")
    dc.add_argument("-o", "--output", metavar="DIR", default="derivations/build", help="folder (default "
                    "derivations/build)")
    dc.add_argument("--tex", action="store_true", help="write the LaTeX sources instead of compiling")
    dc.add_argument("--no-figure", action="store_true", help="leave out the simulation figures")
    return p


def _given(assignments) -> dict:
    out = {}
    for a in assignments:
        name, value = parse_assignment(a)
        out[name] = value
    return out


def _fmt(x, dps=None) -> str:
    if x is None:
        return "-"
    if isinstance(x, mpmath.mpf):          # --dps results: every digit asked for; beyond the double range kept
        if mpmath.isfinite(x) and (dps or x != 0 and (abs(x) > 1e308 or abs(x) < 1e-307)):
            return mpmath.nstr(x, max(dps or 12, 12))
    if isinstance(x, bool):
        return str(x)
    if isinstance(x, str):
        return x
    if isinstance(x, tuple):                # an array parameter, in the --set syntax
        if x and isinstance(x[0], tuple):
            return ";".join(",".join(f"{float(e):.12g}" for e in row) for row in x)
        return ",".join(f"{float(e):.12g}" for e in x)
    try:
        return f"{float(x):.12g}"
    except (TypeError, ValueError):
        return str(x)


def cmd_models(args):
    models = [api.get_model(n).describe() for n in api.model_names()]
    if args.json:
        print(json.dumps(models, indent=2))
        return
    for m in models:
        print(f"{m['name']}: {m['title']}")
        print(f"  {m['description']}")
        print("  parameters:")
        for p in m["parameters"]:
            default = "unset" if p["default"] is None else p["default"]
            print(f"    {p['name']:<8} {p['meaning']}; domain {p['domain']}; default {default}")
        print("  observables:")
        for o in m["observables"]:
            print(f"    {o['name']:<12} {o['meaning']}")
        print()


def cmd_derive(args):
    model = api.get_model(args.model)
    params = model.resolve(_given(args.set))
    if args.document:
        if not args.output:
            raise ReplicaError("--document needs -o FILE.pdf or -o FILE.tex")
        from .document import write_document
        print(f"wrote {write_document(model, args.output, params, with_figure=not args.no_figure)}")
        return
    model = model.variant(params)
    from .latex import derivation_latex, derivation_text, standalone_document
    if args.output:
        with open(args.output, "w") as fh:
            fh.write(standalone_document(derivation_latex(model, params), f"replica: {model.title}"))
        print(f"wrote {args.output}")
        return
    print(derivation_latex(model, params) if args.latex else derivation_text(model, params), end="")


def _print_point(r, model=None):
    p = ", ".join(f"{k}={_fmt(v)}" for k, v in r.params.items() if v is not None)
    print(f"{r.model} at {p}")
    for k, v in r.order_parameters.items():
        print(f"  order parameter {k:<10} {_fmt(v, r.dps)}")
    for k, v in r.observables.items():
        print(f"  {k:<26} {_fmt(v, r.dps)}")
    if not r.observables and not r.order_parameters and model is not None:
        why = (model.variant(r.params).__doc__ or "").strip().splitlines()
        print(f"  no theory value at these parameters{': ' + why[0] if why else ''} (replica simulate works)")
    if r.free_energy is not None:
        print(f"  {'free energy (saddle)':<26} {_fmt(r.free_energy, r.dps)}")
    print(f"  {'converged':<26} {r.converged}  (residual {_fmt(r.residual)}, {r.iterations} iterations)")
    if r.stability:
        broken = f" (the {model.ansatz} solution is unstable)" if model is not None and model.ansatz else ""
        verdict = "stable" if r.stability["stable"] else "UNSTABLE" + broken
        print(f"  {'stability ' + r.stability['name']:<26} {_fmt(r.stability['eigenvalue'])}  {verdict}")


def cmd_solve(args):
    model = api.get_model(args.model)
    given = _given(args.set)
    if args.sweep:
        name, start, stop, num = parse_sweep(args.sweep)
        if args.dps:
            # exact decimal end points at high precision (the strings were validated by parse_sweep)
            import mpmath
            a, b, _ = parse_assignment(args.sweep)[1].split(":")
            with mpmath.workdps(args.dps + 10):
                values = list(mpmath.linspace(mpmath.mpf(a.strip()), mpmath.mpf(b.strip()), num)) \
                    if num > 1 else [mpmath.mpf(a.strip())]
        else:
            # grid points rounded to 15 digits: 0.9, not 0.8999999999999999
            values = [float(f"{v:.15g}") for v in np.linspace(start, stop, num)]
        result = api.sweep(model, given, name, values, dps=args.dps, progress=_progress(args))
        if args.plot:
            obs = [o.strip() for o in args.plot_observables.split(",")] if args.plot_observables else None
            result.plot(args.plot, obs)
        if args.json:
            print(result.to_json(indent=2))
        elif args.csv:
            print(result.to_csv(), end="")
        else:
            print(result.to_csv().replace(",", "\t"), end="")
        failed = [v for v, p in zip(result.values, result.points) if not p.converged]
        if failed:
            print(f"replica: warning: {len(failed)} sweep point(s) did not converge (flagged converged=false): "
                  f"{name}={', '.join(_fmt(v) for v in failed[:10])}", file=sys.stderr)
        return
    if args.plot:
        raise ReplicaError("--plot needs a sweep (--sweep NAME=START:STOP:NUM)")
    result = api.solve(model, given, dps=args.dps)
    if args.json:
        print(result.to_json(indent=2))
    else:
        _print_point(result, model)


def _progress(args) -> bool:
    """A progress bar in an interactive terminal only: never in a pipe, a file or with --json."""
    from .execution import interactive
    return interactive() and not args.json


def cmd_simulate(args):
    model = api.get_model(args.model)
    params = model.resolve(_given(args.set))
    t0 = time.perf_counter()
    est = api.simulate(model, params, args.n, args.trials, args.seed, workers=args.workers,
                       scheduler=args.scheduler, cache=args.cache, progress=_progress(args))
    if args.plot:
        from .simulation import plot_simulation
        try:
            theory = api.solve(model, params).observables
        except ReplicaError:
            theory = {}                      # no theory at these parameters: the simulation alone
        plot_simulation(model.name, args.n, est, theory, args.plot)
    if args.json:
        print(json.dumps({"model": model.name, "params": params, "n": args.n, "trials": args.trials,
                          "seed": args.seed, "observables": {k: e.to_dict() for k, e in est.items()}}, indent=2))
        return
    print(f"{model.name} simulation, N={args.n}, {args.trials} trials, seed {args.seed} "
          f"({time.perf_counter() - t0:.1f} s)")
    for k, e in est.items():
        print(f"  {k:<12} {e}")
    if args.plot:
        print(f"  plot written to {args.plot}")


def cmd_compare(args):
    model = api.get_model(args.model)
    params = model.resolve(_given(args.set))
    comp = api.compare(model, params, args.n, args.trials, args.seed, workers=args.workers,
                       scheduler=args.scheduler, cache=args.cache, progress=_progress(args))
    if args.plot:
        comp.plot(args.plot)
    if args.json:
        print(json.dumps(comp.to_dict(), indent=2))
        return
    _print_comparison(comp)
    if args.plot:
        print(f"  plot written to {args.plot}")


def _print_comparison(comp):
    p = ", ".join(f"{k}={_fmt(v)}" for k, v in comp.params.items() if v is not None)
    print(f"{comp.model} at {p}: theory vs simulation ({comp.trials} trials a size, seed {comp.seed})")
    for name, o in comp.observables.items():
        print(f"  {name}: theory {_fmt(o.theory)}")
        for n, e in o.per_n:
            ref = o.finite_n_reference.get(n)
            extra = f"   (exact at this N: {_fmt(ref)})" if ref is not None else ""
            print(f"    N={n:<6} {e}{extra}")
        verdict = "agrees" if o.agrees else "DISAGREES"
        print(f"    N->inf  {o.extrapolated:.6g} ± {o.extrapolated_stderr:.2g}   z = {o.z:+.2f}   {verdict}")


def cmd_documents(args):
    from pathlib import Path
    from .document import write_document
    names = args.models or api.model_names()
    models = [api.get_model(n) for n in names]
    for model in models:
        t0 = time.perf_counter()
        path = write_document(model, Path(args.output) / f"{model.name}.{'tex' if args.tex else 'pdf'}",
                              with_figure=not args.no_figure)
        print(f"wrote {path} ({time.perf_counter() - t0:.1f} s)")


def cmd_verify(args):
    from .verify import verify
    names = args.models or api.model_names()
    rows = verify([api.get_model(n) for n in names], quick=args.quick)
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        width = max(len(r["check"]) for r in rows)
        for r in rows:
            print(f"{'PASS' if r['pass'] else 'FAIL'}  {r['model']:<8} {r['check']:<{width}}  {r['detail']}")
        n_fail = sum(not r["pass"] for r in rows)
        print(f"{len(rows) - n_fail} passed, {n_fail} failed")
    if any(not r["pass"] for r in rows):
        raise SystemExit(1)


COMMANDS = {"models": cmd_models, "derive": cmd_derive, "solve": cmd_solve, "simulate": cmd_simulate,
            "compare": cmd_compare, "verify": cmd_verify, "documents": cmd_documents}


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        COMMANDS[args.command](args)
    except ReplicaError as exc:
        print(f"replica: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 0
    return 0


def run_script(main_function, argv=None) -> None:
    """Exit with ``main_function(argv)``'s status; a closed pipe (``... --json | head``) ends the
    script quietly instead of with a traceback (stdout is pointed at /dev/null so that the
    interpreter's final flush does not fail again)."""
    try:
        status = main_function(argv)
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        status = 0
    raise SystemExit(status)


if __name__ == "__main__":
    raise SystemExit(main())
