"""Result types: one for a solved point, one for a sweep (with JSON and CSV export)."""
from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import dataclass, field

import mpmath
import numpy as np


def number(x, dps: int | None = None):
    """A JSON-ready number: float, or a decimal string carrying every digit when ``dps > 15``."""
    if x is None:
        return None
    if isinstance(x, (bool, np.bool_)):
        return bool(x)
    if isinstance(x, str):
        return x
    if dps is not None and dps > 15:
        with mpmath.workdps(dps + 5):
            v = x if isinstance(x, mpmath.mpf) else mpmath.mpf(x)
            if not mpmath.isfinite(v):
                return str(v)
            return mpmath.nstr(v, dps, min_fixed=-6, max_fixed=7)
    x = float(x)
    return x if math.isfinite(x) else str(x)


@dataclass
class PointResult:
    """The solution at one parameter point.

    ``order_parameters`` and ``observables`` map names to values;
    ``stability`` is ``{"name", "eigenvalue", "stable"}`` or None; ``converged``
    is False (with ``message``) if the solver did not reach ``residual <= tol``.
    """

    model: str
    params: dict
    order_parameters: dict
    observables: dict
    free_energy: object
    converged: bool
    residual: float
    iterations: int
    stability: dict | None = None
    message: str = ""
    dps: int | None = None

    def to_dict(self) -> dict:
        d = self.dps
        out = {
            "model": self.model,
            "params": {k: (number(v, d) if isinstance(v, (int, float)) or hasattr(v, "_mpf_") else v)
                       for k, v in self.params.items()},
            "order_parameters": {k: number(v, d) for k, v in self.order_parameters.items()},
            "observables": {k: number(v, d) for k, v in self.observables.items()},
            "free_energy": number(self.free_energy, d),
            "converged": bool(self.converged),
            "residual": number(self.residual, d),
            "iterations": int(self.iterations),
        }
        if self.stability is not None:
            out["stability"] = {"name": self.stability["name"],
                                "eigenvalue": number(self.stability["eigenvalue"], d),
                                "stable": bool(self.stability["stable"])}
        if self.message:
            out["message"] = self.message
        if d is not None:
            out["dps"] = d
        return out

    def to_json(self, **kw) -> str:
        return json.dumps(self.to_dict(), **kw)

    def __getitem__(self, name):
        if name in self.observables:
            return self.observables[name]
        return self.order_parameters[name]


@dataclass
class SweepResult:
    """Solutions along one swept parameter, each a :class:`PointResult` (none dropped)."""

    model: str
    sweep: str
    values: list
    points: list = field(default_factory=list)

    def array(self, name: str) -> np.ndarray:
        """Values of an observable, order parameter, ``free_energy`` or ``residual`` along the sweep."""
        out = []
        for p in self.points:
            if name == "free_energy":
                out.append(p.free_energy)
            elif name in ("residual", "converged", "iterations"):
                out.append(getattr(p, name))
            elif name in p.observables:
                out.append(p.observables[name])
            elif name in p.order_parameters:
                out.append(p.order_parameters[name])
            else:
                out.append(float("nan"))
        return np.array([float(x) if x is not None else float("nan") for x in out])

    @property
    def converged(self) -> np.ndarray:
        return np.array([p.converged for p in self.points])

    def to_dict(self) -> dict:
        return {"model": self.model, "sweep": self.sweep,
                "points": [p.to_dict() for p in self.points]}

    def to_json(self, **kw) -> str:
        return json.dumps(self.to_dict(), **kw)

    def to_csv(self) -> str:
        names = []
        for p in self.points:
            for k in list(p.order_parameters) + list(p.observables):
                if k not in names:
                    names.append(k)
        buf = io.StringIO()
        w = csv.writer(buf)
        extra = [] if "free_energy" in names else ["free_energy"]
        w.writerow([self.sweep] + names + extra + ["converged", "residual", "iterations"])
        for v, p in zip(self.values, self.points):
            d = p.to_dict()
            row = [number(v, p.dps)]
            for k in names:
                row.append(d["observables"].get(k, d["order_parameters"].get(k)))
            row += ([d["free_energy"]] if extra else []) + [d["converged"], d["residual"], d["iterations"]]
            w.writerow(row)
        return buf.getvalue()
