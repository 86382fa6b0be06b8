"""``replica verify``: each model's known values, and a theory-vs-simulation comparison."""
from __future__ import annotations

import time

from .errors import ReplicaError
from .simulation import compare
from .solver import solve


def _label(params: dict) -> str:
    """``k=v, ...`` with numbers in ``g`` format and categorical values (strings) as given."""
    return ", ".join(f"{k}={v:g}" if isinstance(v, (int, float)) else f"{k}={v}" for k, v in params.items())


def verify(models, quick: bool = False, compares: bool = True) -> list:
    """Rows ``{"model", "check", "pass", "detail"}``: one per reference value and per comparison."""
    rows = []
    for model in models:
        for ref in model.references:
            params = model.resolve(ref.params)
            label = _label(ref.params)
            try:
                value = float(solve(model, params).observables[ref.observable])
                err = abs(value - ref.value)
                rows.append({"model": model.name, "check": f"{ref.observable}({label})", "pass": err <= ref.tol,
                             "detail": f"{value:.15g} vs {ref.value:.15g} (|diff| {err:.1e} <= {ref.tol:.0e}; "
                                       f"{ref.source})"})
            except ReplicaError as exc:
                rows.append({"model": model.name, "check": f"{ref.observable}({label})", "pass": False,
                             "detail": str(exc)})
        for spec in (model.quick_compares if quick else model.verify_compares) if compares else ():
            params = model.resolve(spec["params"])
            label = _label(spec["params"])
            t0 = time.perf_counter()
            try:
                comp = compare(model, params, spec["n"], spec["trials"], spec["seed"])
            except ReplicaError as exc:
                rows.append({"model": model.name, "check": f"compare({label})", "pass": False, "detail": str(exc)})
                continue
            for name, o in comp.observables.items():
                rows.append({"model": model.name, "check": f"compare {name}({label})", "pass": o.agrees,
                             "detail": f"theory {o.theory:.6g}, N->inf {o.extrapolated:.6g} ± "
                                       f"{o.extrapolated_stderr:.2g}, z={o.z:+.2f} (N={spec['n']}, "
                                       f"{spec['trials']} trials, {time.perf_counter() - t0:.1f} s)"})
    return rows
