"""The Python API: the same core the command line uses.

>>> import replica
>>> replica.solve("gardner", {"kappa": 0.5}).observables["alpha_c"]   # doctest: +SKIP
"""
from __future__ import annotations

from . import simulation, solver
from .model import Model
from .registry import MODELS, get_model


def model_names() -> list:
    return list(MODELS)


def _model(model) -> Model:
    return model if isinstance(model, Model) else get_model(model)


def solve(model, params: dict | None = None, dps: int | None = None):
    """Solve the saddle point at one parameter point; raises ConvergenceError on failure."""
    m = _model(model)
    given = dict(params or {})
    if dps:
        given = _exact_decimals(m, given, dps)
    return solver.solve(m, m.resolve(given), dps=dps)


def _exact_decimals(model, given, dps):
    """At ``dps`` digits, decimal strings are read exactly (``"1.99"`` is not the float 1.99)."""
    import mpmath

    from .params import parse_number
    out = {}
    for k, v in given.items():
        p = model.parameter(k)
        if isinstance(v, str) and p.kind == "real":
            parse_number(k, v)                      # validated by regular expression first
            with mpmath.workdps(dps + 10):
                v = mpmath.mpf(v.strip())
        out[k] = v
    return out


def sweep(model, params: dict | None, name: str, values, dps: int | None = None, progress: bool = False):
    """Solve along ``name`` over ``values``; non-converged points are flagged, never dropped."""
    m = _model(model)
    if m.parameter(name).kind == "array":
        from .errors import ParameterError
        raise ParameterError(f"parameter {name!r} is an array ({m.parameter(name).domain_text}): it cannot be "
                             "swept; sweep a real or integer parameter and set the array with --set")
    given = dict(params or {})
    given.pop(name, None)
    return solver.sweep(m, given, name, values, dps=dps, progress=progress)


def simulate(model, params: dict | None, n: int, trials: int, seed: int = 0, workers: int = 1,
             scheduler=None, cache=None, progress: bool = False):
    """Finite-size simulation; ``workers``/``scheduler``/``cache`` never change the result (see
    :mod:`replica.execution`)."""
    m = _model(model)
    p = m.resolve(params or {})   # idempotent on already-resolved parameters
    return simulation.simulate(m, p, n, trials, seed, workers, scheduler, cache, progress)


def compare(model, params: dict | None, ns, trials: int, seed: int = 0, workers: int = 1,
            scheduler=None, cache=None, progress: bool = False):
    """Theory vs simulation with the N -> infinity extrapolation (see :func:`simulate` for the options)."""
    m = _model(model)
    p = m.resolve(params or {})   # idempotent on already-resolved parameters
    return simulation.compare(m, p, ns, trials, seed, workers, scheduler=scheduler, cache=cache,
                              progress=progress)
