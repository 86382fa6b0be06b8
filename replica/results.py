"""Result types: one for a solved point, one for a sweep (with JSON and CSV export)."""
from __future__ import annotations

import csv
import html
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
    if isinstance(x, mpmath.mpf) and mpmath.isfinite(x) and x != 0 and (math.isinf(float(x)) or float(x) == 0):
        return mpmath.nstr(x, dps or 15)          # beyond the double range (--dps results): keep the value
    x = float(x)
    return x if math.isfinite(x) else str(x)


def _show(v, dps=None) -> str:
    x = number(v, dps) if not isinstance(v, (bool, np.bool_)) else bool(v)
    return f"{x:.12g}" if isinstance(x, float) else str(x)


def _pandas():
    try:
        import pandas
    except ImportError as exc:
        from .errors import ReplicaError
        raise ReplicaError("to_dataframe needs pandas (pip install pandas); to_csv and to_json need nothing") \
            from exc
    return pandas


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

    def rows(self) -> list:
        """``(kind, name, value)`` rows: order parameters, observables, free energy, solver status."""
        out = [("order parameter", k, v) for k, v in self.order_parameters.items()]
        out += [("observable", k, v) for k, v in self.observables.items() if k not in self.order_parameters]
        if self.free_energy is not None and "free_energy" not in self.observables:
            out.append(("free energy", "free_energy", self.free_energy))
        if self.stability is not None:
            out.append(("stability", self.stability["name"], self.stability["eigenvalue"]))
        out += [("solver", "converged", self.converged), ("solver", "residual", self.residual),
                ("solver", "iterations", self.iterations)]
        return out

    def __str__(self) -> str:
        p = ", ".join(f"{k}={v}" for k, v in self.params.items() if v is not None)
        width = max(len(name) for _, name, _ in self.rows())
        return "\n".join([f"{self.model} at {p}"] + [f"  {name:<{width}}  {_show(v, self.dps)}"
                                                       for _, name, v in self.rows()])

    def _repr_html_(self) -> str:
        p = ", ".join(f"{k}={html.escape(str(v))}" for k, v in self.params.items() if v is not None)
        body = "".join(f"<tr><td>{kind}</td><td><code>{html.escape(name)}</code></td>"
                       f"<td>{html.escape(_show(v, self.dps))}</td></tr>" for kind, name, v in self.rows())
        return (f"<p><b>{html.escape(self.model)}</b> at {p}</p><table><tr><th></th><th>name</th>"
                f"<th>value</th></tr>{body}</table>")

    def to_dataframe(self):
        """A one-row pandas DataFrame (parameters, order parameters, observables, solver status);
        pandas is optional: installing it is the user's choice."""
        pd = _pandas()
        d = self.to_dict()
        row = dict(d["params"])
        row.update(d["order_parameters"])
        row.update(d["observables"])
        row.update({"free_energy": d["free_energy"], "converged": d["converged"], "residual": d["residual"],
                    "iterations": d["iterations"]})
        return pd.DataFrame([row])


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

    def names(self) -> list:
        """Order parameters and observables present at some point of the sweep, in order."""
        names = []
        for p in self.points:
            for k in list(p.order_parameters) + list(p.observables):
                if k not in names:
                    names.append(k)
        return names

    def plot(self, path: str, observables=None):
        """Write :meth:`figure` to ``path`` (PNG or PDF by the suffix)."""
        import matplotlib.pyplot as plt
        fig = self.figure(observables)
        fig.savefig(path, dpi=150)
        plt.close(fig)

    def figure(self, observables=None):
        """Each observable (default: those that vary along the sweep) against the swept parameter;
        points that did not converge are drawn as red crosses, never dropped: a matplotlib Figure."""
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        from .simulation import math_label
        x = np.array([float(v) for v in self.values])
        if observables is None:
            observables = [k for k in self.names() if np.nanmax(self.array(k)) > np.nanmin(self.array(k))] \
                if len(x) > 1 else self.names()
        unknown = [k for k in observables if k not in self.names()]
        if unknown:
            from .errors import ParameterError
            raise ParameterError(f"cannot plot {unknown}: the sweep has {self.names()}")
        if not observables:
            from .errors import ParameterError
            raise ParameterError("nothing to plot: no observable varies along the sweep")
        k = len(observables)
        cols = min(k, 3)
        rows = (k + cols - 1) // cols
        fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.3 * rows), squeeze=False)
        ok = self.converged
        for ax, name in zip(axes.flat, observables):
            y = self.array(name)
            ax.plot(x[ok], y[ok], "-", color="C0", label="saddle point")
            if not ok.all():
                ax.plot(x[~ok], y[~ok], "x", color="C3", label="not converged")
                ax.legend(fontsize=8)
            ax.set_xlabel(math_label(self.sweep))
            ax.set_ylabel(math_label(name))
        for ax in list(axes.flat)[k:]:
            ax.set_visible(False)
        fig.suptitle(self.model)
        fig.tight_layout()
        return fig

    def to_dataframe(self):
        """One row a point, columns as in :meth:`to_csv` (pandas is optional)."""
        pd = _pandas()
        return pd.read_csv(io.StringIO(self.to_csv()))

    def _repr_html_(self) -> str:
        table = list(csv.reader(io.StringIO(self.to_csv())))
        head = "".join(f"<th>{html.escape(c)}</th>" for c in table[0])
        body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in table[1:])
        bad = int((~self.converged).sum()) if self.points else 0
        note = f"<p>{bad} point(s) did not converge (converged=False)</p>" if bad else ""
        return (f"<p><b>{html.escape(self.model)}</b>: sweep of {html.escape(self.sweep)}, {len(self.points)} "
                f"points</p>{note}<table><tr>{head}</tr>{body}</table>")

    def __str__(self) -> str:
        return self.to_csv().replace(",", "\t")

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
