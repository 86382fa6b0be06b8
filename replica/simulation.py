"""The simulation layer: seeded trials, Monte Carlo estimates, finite-size extrapolation, comparison.

* Every trial's random generator is spawned from one user seed and the
  trial's index (``SeedSequence(seed, spawn_key=(n, trial))``), so a result
  does not depend on how many workers ran the trials or in which order.
* :class:`Estimate`: mean, standard error and count; prints ``mean ± stderr``.
* :func:`extrapolate`: weighted least squares of the per-N means in powers of
  1/N (the model declares which, ``finite_size_powers``); the intercept and
  its standard error from the fit's covariance, inflated by the reduced
  chi-square when that exceeds one (a fit worse than its error bars does
  not get to claim them).
* :func:`compare`: theory vs simulation with a z-score and an ``agrees``
  verdict at ``|z| <= 3``.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass, field

import numpy as np

from .errors import ParameterError, ReplicaError, SimulationError
from .model import Model
from .results import number

Z_AGREE = 3.0
#: numerical resolution of a simulated value (float rounding in exact enumeration, LP tolerances):
#: combined in quadrature with the statistical error so that exact agreement is not a "disagreement"
NUMERIC_FLOOR = 1e-9


@dataclass(frozen=True)
class Estimate:
    """A Monte Carlo estimate: mean ± standard error of the mean over ``n`` samples."""

    mean: float
    stderr: float
    n: int

    @classmethod
    def from_samples(cls, samples) -> "Estimate":
        x = np.asarray(samples, dtype=float)
        if x.size == 0 or not np.all(np.isfinite(x)):
            raise SimulationError(f"non-finite or empty samples: {x[:5]}")
        se = float(np.std(x, ddof=1) / math.sqrt(x.size)) if x.size > 1 else float("inf")
        return cls(float(np.mean(x)), se, int(x.size))

    def __str__(self) -> str:
        return f"{self.mean:.6g} ± {self.stderr:.2g}"

    def to_dict(self) -> dict:
        return {"mean": number(self.mean), "stderr": number(self.stderr), "n": self.n}


def trial_rng(seed: int, n: int, trial: int) -> np.random.Generator:
    """The generator of trial ``trial`` at size ``n``: independent of workers and order."""
    return np.random.default_rng(np.random.SeedSequence(entropy=int(seed), spawn_key=(int(n), int(trial))))


def _run_trial(args):
    model, params, n, seed, trial = args
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    return model.simulate_trial(params, n, trial_rng(seed, n, trial))


def check_simulation_args(n: int, trials: int, seed: int):
    if not isinstance(n, (int, np.integer)) or n < 2:
        raise ParameterError(f"n={n} is out of range; allowed: an integer >= 2")
    if not isinstance(trials, (int, np.integer)) or trials < 1:
        raise ParameterError(f"trials={trials} is out of range; allowed: an integer >= 1")
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ParameterError(f"seed={seed} is out of range; allowed: an integer >= 0")


def simulate(model: Model, params: dict, n: int, trials: int, seed: int = 0, workers: int = 1,
             scheduler=None, cache=None, progress: bool = False) -> dict:
    """Run ``trials`` independent instances at size ``n``; each observable as an :class:`Estimate`.

    ``workers`` (local processes), ``scheduler`` (a Dask scheduler address or client) and ``cache``
    (a folder of finished trials) change how the trials run, never their results
    (:mod:`replica.execution`); ``progress`` draws a progress bar on stderr."""
    from .execution import Progress, TrialCache, run_trials, trial_key
    check_simulation_args(n, trials, seed)
    model = model.variant(params)
    if not model.simulated_observables:
        raise SimulationError(f"model {model.name!r} has no simulator")
    store = TrialCache(cache) if cache is not None else None
    key = trial_key(model.name, params, n, seed)
    done = store.load(key) if store is not None else {}
    todo = [k for k in range(trials) if k not in done]
    bar = Progress(len(todo), f"{model.name} N={n}", progress)
    try:
        rows = run_trials(_run_trial, [(model, params, n, seed, k) for k in todo], workers, scheduler, bar)
    except ReplicaError:
        raise
    except ValueError as exc:           # a simulator's own input check
        raise SimulationError(f"{model.name} simulation at N={n}: {exc}") from exc
    finally:
        bar.close()
    done.update(zip(todo, rows))
    if store is not None and todo:
        store.save(key, done)
    rows = [done[k] for k in range(trials)]
    return {k: Estimate.from_samples([r[k] for r in rows]) for k in model.simulated_for(params)}


@dataclass
class Extrapolation:
    value: float
    stderr: float
    powers: tuple
    chi2_dof: float | None


def extrapolate(ns, means, stderrs, powers=(1,)) -> Extrapolation:
    """Weighted least-squares fit ``mean(N) = a + sum_p b_p N^-p``; returns ``a`` and its error."""
    ns = np.asarray(ns, dtype=float)
    y = np.asarray(means, dtype=float)
    s = np.asarray(stderrs, dtype=float)
    if ns.size == 1:
        return Extrapolation(float(y[0]), float(s[0]), (), None)
    powers = tuple(p for p in powers)[: max(ns.size - 1, 0)]
    X = np.column_stack([np.ones_like(ns)] + [ns**-p for p in powers])
    s = np.where(s > 0, s, np.min(s[s > 0]) if np.any(s > 0) else 1.0)
    W = 1.0 / s**2
    A = X.T @ (W[:, None] * X)
    cov = np.linalg.inv(A)
    beta = cov @ (X.T @ (W * y))
    dof = ns.size - X.shape[1]
    chi2 = float(np.sum(W * (y - X @ beta) ** 2))
    chi2_dof = chi2 / dof if dof > 0 else None
    scale = max(1.0, chi2_dof) if chi2_dof is not None else 1.0
    return Extrapolation(float(beta[0]), float(math.sqrt(cov[0, 0] * scale)), powers, chi2_dof)


@dataclass
class ObservableComparison:
    name: str
    theory: float
    per_n: list
    extrapolated: float
    extrapolated_stderr: float
    z: float
    agrees: bool
    finite_n_reference: dict = field(default_factory=dict)
    chi2_dof: float | None = None

    def to_dict(self) -> dict:
        out = {
            "theory": number(self.theory),
            "per_n": [{"n": n, "mean": number(e.mean), "stderr": number(e.stderr)} for n, e in self.per_n],
            "extrapolated": number(self.extrapolated),
            "extrapolated_stderr": number(self.extrapolated_stderr),
            "z": number(self.z),
            "agrees": bool(self.agrees),
        }
        if self.finite_n_reference:
            out["finite_n_reference"] = {str(k): number(v) for k, v in self.finite_n_reference.items()}
        if self.chi2_dof is not None:
            out["fit_chi2_per_dof"] = number(self.chi2_dof)
        return out


@dataclass
class Comparison:
    model: str
    params: dict
    ns: list
    trials: int
    seed: int
    observables: dict
    notes: list = field(default_factory=list)

    @property
    def agrees(self) -> bool:
        return all(o.agrees for o in self.observables.values())

    def to_dict(self) -> dict:
        return {"model": self.model, "params": self.params, "n": self.ns, "trials": self.trials,
                "seed": self.seed, "agrees": self.agrees,
                "observables": {k: v.to_dict() for k, v in self.observables.items()},
                "notes": self.notes}

    def rows(self) -> list:
        """One dict a (observable, N) and one a extrapolation: the comparison as a flat table."""
        out = []
        for name, o in self.observables.items():
            for n, e in o.per_n:
                out.append({"observable": name, "n": n, "mean": e.mean, "stderr": e.stderr, "theory": o.theory,
                            "z": None, "agrees": None})
            out.append({"observable": name, "n": "inf", "mean": o.extrapolated, "stderr": o.extrapolated_stderr,
                        "theory": o.theory, "z": o.z, "agrees": o.agrees})
        return out

    def to_csv(self) -> str:
        import csv
        import io
        buf = io.StringIO()
        w = csv.DictWriter(buf, ["observable", "n", "mean", "stderr", "theory", "z", "agrees"])
        w.writeheader()
        for r in self.rows():
            w.writerow({k: (repr(v) if isinstance(v, float) else v) for k, v in r.items()})
        return buf.getvalue()

    def to_dataframe(self):
        """The rows of :meth:`rows` as a pandas DataFrame (pandas is optional)."""
        from .results import _pandas
        return _pandas().DataFrame(self.rows())

    def _repr_html_(self) -> str:
        import html
        p = ", ".join(f"{k}={html.escape(str(v))}" for k, v in self.params.items() if v is not None)
        body = []
        for r in self.rows():
            verdict = "" if r["agrees"] is None else ("agrees" if r["agrees"] else "<b>DISAGREES</b>")
            z = "" if r["z"] is None else f"{r['z']:+.2f}"
            body.append(f"<tr><td>{r['observable']}</td><td>{r['n']}</td><td>{r['mean']:.6g} ± {r['stderr']:.2g}"
                        f"</td><td>{r['theory']:.6g}</td><td>{z}</td><td>{verdict}</td></tr>")
        return (f"<p><b>{html.escape(self.model)}</b> at {p}: {self.trials} trials a size, seed {self.seed}</p>"
                "<table><tr><th>observable</th><th>N</th><th>simulation</th><th>theory</th><th>z</th><th></th></tr>"
                + "".join(body) + "</table>")

    def __str__(self) -> str:
        lines = [f"{self.model}: theory vs simulation ({self.trials} trials a size, seed {self.seed})"]
        for name, o in self.observables.items():
            lines.append(f"  {name}: theory {o.theory:.12g}")
            lines += [f"    N={n:<6} {e}" for n, e in o.per_n]
            lines.append(f"    N->inf  {o.extrapolated:.6g} ± {o.extrapolated_stderr:.2g}   z = {o.z:+.2f}   "
                         + ("agrees" if o.agrees else "DISAGREES"))
        return "\n".join(lines)

    def plot(self, path: str):
        """Write :meth:`figure` to ``path`` (PNG or PDF by the suffix)."""
        import matplotlib.pyplot as plt
        fig = self.figure()
        fig.savefig(path, dpi=150)
        plt.close(fig)

    def figure(self):
        """Theory (line) and simulation (error bars) against 1/N, with the extrapolation: a matplotlib Figure."""
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        k = len(self.observables)
        fig, axes = plt.subplots(1, k, figsize=(4.5 * k, 3.6), squeeze=False)
        for ax, (name, oc) in zip(axes[0], self.observables.items()):
            inv = np.array([1.0 / n for n, _ in oc.per_n])
            ax.errorbar(inv, [e.mean for _, e in oc.per_n], yerr=[e.stderr for _, e in oc.per_n],
                        fmt="o", capsize=3, label="simulation")
            ax.errorbar([0.0], [oc.extrapolated], yerr=[oc.extrapolated_stderr], fmt="s", capsize=3,
                        color="C2", label="N→∞ extrapolation")
            ax.axhline(oc.theory, color="C3", label="theory")
            if oc.finite_n_reference:
                ns = sorted(oc.finite_n_reference)
                ax.plot([1.0 / n for n in ns], [oc.finite_n_reference[n] for n in ns], "x", color="k",
                        label="exact finite N")
            ax.set_xlabel("$1/N$")
            ax.set_ylabel(math_label(name))
            ax.set_title(f"{self.model}: {math_label(name)} ($z = {oc.z:.2f}$)")
            ax.legend(fontsize=8)
        fig.tight_layout()
        return fig


def plot_simulation(model_name: str, n: int, estimates: dict, theory: dict, path: str):
    """One simulation: each observable's mean ± standard error at N, with the N -> infinity theory as a line."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    k = len(estimates)
    fig, axes = plt.subplots(1, k, figsize=(3.6 * k, 3.4), squeeze=False)
    for ax, (name, e) in zip(axes[0], estimates.items()):
        ax.errorbar([1.0 / n], [e.mean], yerr=[e.stderr], fmt="o", capsize=3, label=f"simulation, N = {n}")
        if name in theory and theory[name] is not None and math.isfinite(float(theory[name])):
            ax.axhline(float(theory[name]), color="C3", label="theory (N → ∞)")
        ax.set_xlim(0, 2.0 / n)
        ax.set_xlabel("$1/N$")
        ax.set_ylabel(math_label(name))
        ax.legend(fontsize=8)
    fig.suptitle(f"{model_name}: {e.n} trials")
    fig.tight_layout()
    fig.savefig(path, dpi=150)
    plt.close(fig)


def math_label(name: str) -> str:
    """An observable's name in the field's notation for a plot (``alpha_c`` -> ``$\\alpha_{c}$``,
    ``eps_g`` -> ``$\\varepsilon_{g}$``); names that are words stay as they are."""
    import sympy
    from sympy.printing.latex import latex
    head, _, sub = name.partition("_")
    head = {"eps": "varepsilon"}.get(head, head)
    if "_" in sub or not head.isalpha() or not (len(head) <= 2 or latex(sympy.Symbol(head)).startswith("\\")):
        return name
    return "$" + latex(sympy.Symbol(head + ("_" + sub if sub else ""))) + "$"


def compare(model: Model, params: dict, ns, trials: int, seed: int = 0, workers: int = 1,
            theory: dict | None = None, scheduler=None, cache=None, progress: bool = False) -> Comparison:
    """Theory vs finite-size simulation, extrapolated to N -> infinity."""
    from .solver import solve

    ns = sorted(int(n) for n in ns)
    if len(set(ns)) != len(ns):
        raise ParameterError(f"n={ns}: sizes must be distinct")
    for n in ns:
        check_simulation_args(n, trials, seed)
    if trials < 2:
        raise ParameterError(f"trials={trials} is out of range for a comparison; allowed: an integer >= 2 "
                             "(a standard error needs two trials)")
    model = model.variant(params)
    if theory is None:
        theory = solve(model, params).observables
    notes = []
    per_n = {n: simulate(model, params, n, trials, seed, workers, scheduler, cache, progress) for n in ns}
    out = {}
    for name in model.simulated_for(params):
        if name not in theory:
            raise SimulationError(f"observable {name!r} has no theory value at these parameters")
        ests = [(n, per_n[n][name]) for n in ns]
        ex = extrapolate(ns, [e.mean for _, e in ests], [e.stderr for _, e in ests], model.finite_size_powers)
        th = float(theory[name])
        err = math.hypot(ex.stderr, NUMERIC_FLOOR * (1 + abs(th)))
        z = (ex.value - th) / err
        refs = {n: model.simulation_reference(params, n).get(name) for n in ns}
        refs = {n: v for n, v in refs.items() if v is not None}
        out[name] = ObservableComparison(name, th, ests, ex.value, ex.stderr, float(z), bool(abs(z) <= Z_AGREE),
                                         refs, ex.chi2_dof)
    return Comparison(model.name, dict(params), ns, trials, seed, out, notes)
