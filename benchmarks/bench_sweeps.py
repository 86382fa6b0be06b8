"""Benchmark: 200-point saddle-point curves, ``replica.sweep`` vs a brentq + quad loop.

Run from the repository root::

    python benchmarks/bench_sweeps.py            # table; exit status 1 if a target is missed
    python benchmarks/bench_sweeps.py --json     # the same numbers as JSON
    python benchmarks/bench_sweeps.py --repeats 5 --no-h0

Benchmarks (each timed in the same run as its baseline, repeats interleaved,
best of ``--repeats``; machines are shared and noisy, so ratios are reported):

* ``gardner``: q(alpha) at kappa = 0, 200 loads alpha in [0.05, 1.95].
  Baseline: for each alpha, ``scipy.optimize.brentq`` over q in
  (1e-12, 1 - 1e-12) on the saddle-point equation derived by hand (below),
  the Gaussian average by ``scipy.integrate.quad`` over (-inf, inf).
* ``sk h=0.5``: Edwards-Anderson q(T) of the replica-symmetric SK model,
  200 temperatures T in [0.2, 2.0] at h = 0.5. Baseline: brentq on
  q - int Dz tanh^2((sqrt(q) z + h)/T) = 0, bracket (0, 1), quad.
* ``sk h=0`` (skip with ``--no-h0``): the same at h = 0. There q = 0 solves
  the equation at every T, and for T >= 1 it is the only root in [0, 1]
  (tanh(x)^2 < x^2 gives q - int Dz tanh^2 > q (1 - 1/T^2) >= 0 for q > 0),
  so the baseline returns 0 there and brackets (1e-8, 1) for T < 1.

Targets, per benchmark: replica at least ``TARGET_RATIO`` (100) times faster
than the baseline (warm: the sweep is timed after one warm-up call, because
the first call derives the equations with SymPy and compiles them, cached per
process), replica's max residual below ``TARGET_RESIDUAL`` (1e-12), and the
two curves agreeing within ``TARGET_AGREEMENT`` (1e-10) in max |q difference|.
The cold (first-call) time is measured in a fresh Python process per model and
reported, not targeted.

The Gardner baseline, derived by hand from the replica-symmetric free entropy

    s(q) = 1/2 ln(1-q) + q/(2(1-q)) + alpha int Dt ln H(u),  u = (kappa + sqrt(q) t)/sqrt(1-q):

    d/dq [1/2 ln(1-q) + q/(2(1-q))] = -1/(2(1-q)) + 1/(2(1-q)^2) = q/(2(1-q)^2)
    du/dq = t/(2 sqrt(q) sqrt(1-q)) + (kappa + sqrt(q) t)/(2 (1-q)^(3/2))
          = (kappa + t/sqrt(q)) / (2 (1-q)^(3/2))                  (> 0 where kappa + t/sqrt(q) > 0)
    d/du ln H(u) = -phi(u)/H(u) = -g(u),  g(u) = sqrt(2/pi)/erfcx(u/sqrt 2)   (no overflow)

    ds/dq = q/(2(1-q)^2) - alpha int Dt g(u) (kappa + t/sqrt(q)) / (2 (1-q)^(3/2))

and, multiplied by 2(1-q)^2 > 0 (the scale replica's Gardner model uses too),

    F(q) = q - alpha sqrt(1-q) int Dt g(u) (kappa + t/sqrt(q)) = 0.

At q -> 0+, F -> -alpha g(kappa)^2 < 0 (Stein: int Dt g(kappa + sqrt(q) t) t / sqrt(q)
-> g'(kappa) = g(kappa)(g(kappa) - kappa)); at q -> 1-, F -> 1 - alpha/alpha_c > 0 below
capacity; so (1e-12, 1 - 1e-12) brackets the root. The script checks the hand derivative
against a central difference of s(q) before timing.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import platform
import subprocess
import sys
import time
import warnings

import numpy as np
from scipy import integrate, optimize, special

TARGET_RATIO = 100.0
TARGET_RESIDUAL = 1e-12
TARGET_AGREEMENT = 1e-10
N_POINTS = 200

# quad and brentq tolerances of the baselines: tight enough that the baseline curves
# agree with replica to ~1e-13 (quad's defaults, epsabs = epsrel = 1.49e-8, would be
# faster and less accurate: the comparison is at equal accuracy)
QUAD_OPTS = dict(epsabs=1e-14, epsrel=1e-12, limit=200)
BRENTQ_OPTS = dict(xtol=1e-15, rtol=4 * np.finfo(float).eps, maxiter=200)

SQRT2 = math.sqrt(2.0)
SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
erfcx = special.erfcx


# ---------------------------------------------------------------------------
# baselines (scalar loops)
# ---------------------------------------------------------------------------
def _quad(f):
    with warnings.catch_warnings():
        # quad warns "roundoff error is detected" when epsabs is below what it can reach
        warnings.simplefilter("ignore", integrate.IntegrationWarning)
        return integrate.quad(f, -math.inf, math.inf, **QUAD_OPTS)[0]


def gardner_entropy(q, alpha, kappa):
    """s(q) with quad (used only to check the hand derivative)."""
    s, r = math.sqrt(q), math.sqrt(1.0 - q)

    def f(t):
        return math.exp(-t * t / 2) * INV_SQRT_2PI * special.log_ndtr(-(kappa + s * t) / r)

    return 0.5 * math.log(1 - q) + q / (2 * (1 - q)) + alpha * _quad(f)


def gardner_dsdq(q, alpha, kappa):
    """ds/dq derived by hand (module docstring)."""
    s, r = math.sqrt(q), math.sqrt(1.0 - q)

    def f(t):
        u = (kappa + s * t) / r
        return math.exp(-t * t / 2) * INV_SQRT_2PI * SQRT_2_OVER_PI / erfcx(u / SQRT2) * (kappa + t / s)

    return q / (2 * (1 - q) ** 2) - alpha * _quad(f) / (2 * r ** 3)


def gardner_equation(q, alpha, kappa):
    """F(q) = 2 (1-q)^2 ds/dq = q - alpha sqrt(1-q) int Dt g(u) (kappa + t/sqrt q)."""
    s, r = math.sqrt(q), math.sqrt(1.0 - q)

    def f(t):
        u = (kappa + s * t) / r
        return math.exp(-t * t / 2) * INV_SQRT_2PI * SQRT_2_OVER_PI / erfcx(u / SQRT2) * (kappa + t / s)

    return q - alpha * r * _quad(f)


def gardner_baseline(alphas, kappa):
    return np.array([optimize.brentq(gardner_equation, 1e-12, 1 - 1e-12, args=(a, kappa), **BRENTQ_OPTS)
                     for a in alphas])


def sk_equation(q, T, h):
    """q - int Dz tanh^2((sqrt(q) z + h)/T) (replica's SK equation, scaled by 2T, is the same function)."""
    s = math.sqrt(q)

    def f(z):
        return math.exp(-z * z / 2) * INV_SQRT_2PI * math.tanh((s * z + h) / T) ** 2

    return q - _quad(f)


def sk_baseline(Ts, h):
    out = []
    for T in Ts:
        if h > 0:
            out.append(optimize.brentq(sk_equation, 0.0, 1.0, args=(T, h), **BRENTQ_OPTS))
        elif T >= 1.0 or sk_equation(1e-8, T, h) >= 0:
            out.append(0.0)                      # paramagnet: q = 0 is the only root in [0, 1]
        else:
            out.append(optimize.brentq(sk_equation, 1e-8, 1.0, args=(T, h), **BRENTQ_OPTS))
    return np.array(out)


def gibbs_equation(R, alpha):
    """Zero-temperature Gibbs learning (Engel & Van den Broeck 2001, eq. (2.42)):
    R/sqrt(1-R) - (alpha/pi) int Dt exp(-R t^2/2)/H(-sqrt(R) t), the ratio written as
    sqrt(2 pi) g(-sqrt(R) t) with g = phi/H = sqrt(2/pi)/erfcx(./sqrt 2) (no overflow)."""
    s = math.sqrt(R)

    def f(t):
        return math.exp(-t * t / 2) * INV_SQRT_2PI * math.sqrt(2 * math.pi) * SQRT_2_OVER_PI / erfcx(-s * t / SQRT2)

    return R / math.sqrt(1 - R) - alpha / math.pi * _quad(f)


def gibbs_baseline(alphas):
    return np.array([optimize.brentq(gibbs_equation, 1e-12, 1 - 1e-12, args=(a,), **BRENTQ_OPTS) for a in alphas])


# ---------------------------------------------------------------------------
# benchmark definitions
# ---------------------------------------------------------------------------
def _alphas():
    return np.linspace(0.05, 1.95, N_POINTS)


def _temperatures():
    return np.linspace(0.2, 2.0, N_POINTS)


def _loads():
    return np.linspace(0.1, 20.0, N_POINTS)


BENCHMARKS = {
    "gardner": dict(
        title="gardner q(alpha), kappa=0, alpha in [0.05, 1.95]",
        model="gardner", fixed={"kappa": 0.0}, swept="alpha", values=_alphas,
        baseline=lambda v: gardner_baseline(v, 0.0),
        equation=lambda q, a: gardner_equation(q, a, 0.0)),
    "sk_h0.5": dict(
        title="sk q(T), h=0.5, T in [0.2, 2.0]",
        model="sk", fixed={"h": 0.5}, swept="T", values=_temperatures,
        baseline=lambda v: sk_baseline(v, 0.5),
        equation=lambda q, T: sk_equation(q, T, 0.5)),
    "sk_h0": dict(
        title="sk q(T), h=0, T in [0.2, 2.0]",
        model="sk", fixed={"h": 0.0}, swept="T", values=_temperatures,
        baseline=lambda v: sk_baseline(v, 0.0),
        equation=lambda q, T: sk_equation(q, T, 0.0)),
    "teacher_student_gibbs": dict(
        title="teacher-student R(alpha), zero-temperature Gibbs, alpha in [0.1, 20]",
        model="teacher-student", fixed={"rule": "gibbs"}, swept="alpha", values=_loads,
        baseline=gibbs_baseline, equation=gibbs_equation),
}


def check_gardner_derivative():
    """Hand-derived ds/dq against a central difference of s(q) (relative error)."""
    worst = 0.0
    for q, alpha in ((0.2, 0.5), (0.6, 1.2), (0.9, 1.8)):
        h = 1e-5
        fd = (gardner_entropy(q + h, alpha, 0.0) - gardner_entropy(q - h, alpha, 0.0)) / (2 * h)
        exact = gardner_dsdq(q, alpha, 0.0)
        worst = max(worst, abs(fd - exact) / max(1.0, abs(exact)))
    return worst


# ---------------------------------------------------------------------------
# cold start: a fresh interpreter per model
# ---------------------------------------------------------------------------
def _cold_child(key):
    t0 = time.perf_counter()
    import replica
    t1 = time.perf_counter()
    b = BENCHMARKS[key]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        replica.sweep(b["model"], b["fixed"], b["swept"], b["values"]())
    t2 = time.perf_counter()
    print(json.dumps({"import_s": t1 - t0, "first_call_s": t2 - t1}))


def cold_start(key):
    out = subprocess.run([sys.executable, os.path.abspath(__file__), "--_cold", key],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------------------
def run(key, repeats, replica):
    b = BENCHMARKS[key]
    values = b["values"]()

    def replica_sweep():
        return replica.sweep(b["model"], b["fixed"], b["swept"], values)

    cold = cold_start(key)
    caught = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        replica_sweep()                                   # warm-up: derivation + compilation
    t_rep, t_base = [], []
    for _ in range(repeats):                              # interleaved: both see the same noise
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            res = replica_sweep()
        t_rep.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        q_base = b["baseline"](values)
        t_base.append(time.perf_counter() - t0)
    q_rep = res.array("q")
    residual = res.array("residual")
    diff = np.abs(q_rep - q_base)
    i = int(np.argmax(diff))
    independent = max(abs(b["equation"](q, v)) for q, v in zip(q_rep, values))
    ratio = min(t_base) / min(t_rep)
    out = {
        "name": key, "title": b["title"], "points": len(values),
        "replica_s": min(t_rep), "baseline_s": min(t_base), "ratio": ratio,
        "replica_runs_s": t_rep, "baseline_runs_s": t_base,
        "cold_import_s": cold["import_s"], "cold_first_call_s": cold["first_call_s"],
        "all_converged": bool(res.converged.all()),
        "max_residual": float(np.max(residual)),
        "max_abs_q_diff": float(diff[i]), "max_diff_at": {b["swept"]: float(values[i]),
                                                          "q_replica": float(q_rep[i]),
                                                          "q_baseline": float(q_base[i])},
        "independent_residual": float(independent),
        "warnings": sorted({f"{w.category.__name__}: {str(w.message).splitlines()[0]}" for w in caught}),
    }
    misses = []
    if ratio < TARGET_RATIO:
        misses.append(f"speed-up {ratio:.1f}x < {TARGET_RATIO:g}x")
    if not out["max_residual"] < TARGET_RESIDUAL or not out["all_converged"]:
        misses.append(f"max residual {out['max_residual']:.2g} (converged: {out['all_converged']}) "
                      f"not < {TARGET_RESIDUAL:g}")
    if not out["max_abs_q_diff"] < TARGET_AGREEMENT:
        misses.append(f"max |q diff| {out['max_abs_q_diff']:.2g} >= {TARGET_AGREEMENT:g}")
    out["misses"] = misses
    out["pass"] = not misses
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true", help="print JSON instead of a table")
    ap.add_argument("--repeats", type=int, default=3, help="timed repeats of each side (best is kept)")
    ap.add_argument("--no-h0", action="store_true", help="skip the SK h=0 curve")
    ap.add_argument("--_cold", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args._cold:
        _cold_child(args._cold)
        return 0
    if args.repeats < 1:
        ap.error("--repeats must be >= 1")

    import replica
    keys = ["gardner", "sk_h0.5"] + ([] if args.no_h0 else ["sk_h0"]) + ["teacher_student_gibbs"]
    deriv_err = check_gardner_derivative()
    rows = [run(k, args.repeats, replica) for k in keys]
    report = {
        "date": time.strftime("%Y-%m-%d"), "machine": platform.machine(), "cpus": os.cpu_count(),
        "python": platform.python_version(), "numpy": np.__version__,
        "scipy": __import__("scipy").__version__, "replica": replica.__version__,
        "repeats": args.repeats, "targets": {"ratio": TARGET_RATIO, "residual": TARGET_RESIDUAL,
                                             "agreement": TARGET_AGREEMENT},
        "gardner_hand_derivative_rel_error": deriv_err,
        "benchmarks": rows, "pass": all(r["pass"] for r in rows),
    }
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(f"replica {report['replica']} sweep benchmarks, {N_POINTS} points, best of {args.repeats} "
              f"(python {report['python']}, numpy {report['numpy']}, scipy {report['scipy']}, "
              f"{report['cpus']} cpus, {report['date']})")
        print(f"check: hand-derived Gardner ds/dq vs central difference of s(q): "
              f"rel. error {deriv_err:.1e}")
        head = (f"{'benchmark':<21} {'replica':>9} {'baseline':>9} {'ratio':>7} {'cold':>7} "
                f"{'max resid':>9} {'indep res':>9} {'max|dq|':>9}  result")
        print(head)
        print("-" * len(head))
        for r in rows:
            print(f"{r['name']:<21} {r['replica_s'] * 1e3:7.1f}ms {r['baseline_s']:8.3f}s "
                  f"{r['ratio']:6.1f}x {r['cold_first_call_s']:6.2f}s {r['max_residual']:9.1e} "
                  f"{r['independent_residual']:9.1e} {r['max_abs_q_diff']:9.1e}  "
                  f"{'PASS' if r['pass'] else 'MISS: ' + '; '.join(r['misses'])}")
        print("replica: warm sweep (after one warm-up call); cold: first call in a fresh process "
              "(SymPy derivation + compilation), import excluded "
              f"(import {min(r['cold_import_s'] for r in rows):.2f}-{max(r['cold_import_s'] for r in rows):.2f}s)")
        print("max resid: replica's own residual; indep res: |baseline equation| at replica's q "
              "(quad accuracy); max|dq|: replica vs baseline")
        for r in rows:
            for w in r["warnings"]:
                print(f"note: {r['name']}: replica.sweep emitted {w}")
        print(f"targets: ratio >= {TARGET_RATIO:g}x, max residual < {TARGET_RESIDUAL:g}, "
              f"max|dq| < {TARGET_AGREEMENT:g}")
        if report["pass"]:
            print("all targets met")
        else:
            missed = [r["name"] for r in rows if not r["pass"]]
            print(f"TARGET MISSED in {', '.join(missed)}: exit status 1")
    return 0 if report["pass"] else 1


if __name__ == "__main__":
    sys.exit(main())
