"""Bayes-optimal sparse regression: a 200-point MMSE curve by replica against the state-evolution
fixed-point loop a peer tool runs (scipy quad for the scalar MMSE), on the same points, in one run.

    python benchmarks/bench_bayes_optimal.py          # table; exit status 1 if a target is missed
    python benchmarks/bench_bayes_optimal.py --json

Curve: Bernoulli-Gauss prior rho = 0.2, noise Delta = 0.01, 200 loads alpha in [0.1, 3] (one
branch at every load: no first-order region at this noise). replica:
``replica.sweep("bayes-optimal", {"rho": 0.2, "Delta": 0.01}, "alpha", alphas)`` (warm: after one
call that derives and compiles). Baseline: for each alpha, iterate E <- mmse(alpha / (Delta + E))
from E = rho until |dE| < 1e-14 (the AMP state evolution), with mmse computed by
``scipy.integrate.quad`` from its definition (posterior variance of the scalar channel).
Timing: warm (after one call that derives and compiles), repeats interleaved (replica, baseline,
replica, ...), best of ``--repeats`` (3) for each side; the machine is shared, so only the ratio
within one run means something.
Targets: ratio >= 100x, every point converged with residual < 1e-12, |E_replica - E_baseline| < 1e-8
relative (6 digits and more).
"""
from __future__ import annotations

import argparse
import json
import math
import platform
import sys
import time

import numpy as np
from scipy.integrate import quad

RHO, DELTA = 0.2, 0.01


def mmse(gamma, rho=RHO):
    s = math.sqrt(1 + gamma)

    def var(u, scale):
        llr = math.log(rho / (1 - rho)) - 0.5 * math.log1p(gamma) + gamma * u * u / (2 * (1 + gamma))
        pi = 0.5 * (1 + math.tanh(llr / 2))
        return pi / (1 + gamma) + pi * (1 - pi) * gamma * u * u / (1 + gamma) ** 2

    def f0(z):
        return math.exp(-z * z / 2) / math.sqrt(2 * math.pi) * var(z, 1.0)

    def f1(z):
        return math.exp(-z * z / 2) / math.sqrt(2 * math.pi) * var(s * z, s)

    opts = dict(epsabs=1e-15, epsrel=1e-12, limit=200)
    a = 2 * quad(f0, 0, np.inf, **opts)[0]
    b = 2 * quad(f1, 0, np.inf, **opts)[0]
    return (1 - rho) * a + rho * b


def baseline(alphas):
    out = []
    for a in alphas:
        E = RHO
        for _ in range(10000):
            E_new = mmse(a / (DELTA + E))
            if abs(E_new - E) < 1e-14:
                E = E_new
                break
            E = E_new
        out.append(E)
    return np.array(out)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--points", type=int, default=200)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args(argv)
    import replica
    alphas = list(np.linspace(0.1, 3.0, args.points))
    t0 = time.perf_counter()
    replica.sweep("bayes-optimal", {"rho": RHO, "Delta": DELTA}, "alpha", alphas)
    cold = time.perf_counter() - t0
    times_r, times_b = [], []
    for _ in range(args.repeats):                     # interleaved repeats, best of each side
        t0 = time.perf_counter()
        sweep = replica.sweep("bayes-optimal", {"rho": RHO, "Delta": DELTA}, "alpha", alphas)
        times_r.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        E_base = baseline(alphas)
        times_b.append(time.perf_counter() - t0)
    t_replica, t_base = min(times_r), min(times_b)
    E = sweep.array("mse")
    rel = float(np.max(np.abs(E - E_base) / E_base))
    resid = float(np.max(sweep.array("residual")))
    ok_conv = bool(sweep.converged.all())
    ratio = t_base / t_replica
    misses = []
    if ratio < 100:
        misses.append(f"speed-up {ratio:.1f}x < 100x")
    if not ok_conv or resid >= 1e-12:
        misses.append(f"residual {resid:.1e} (all converged: {ok_conv})")
    if rel >= 1e-8:
        misses.append(f"max relative |dE| {rel:.1e} >= 1e-8")
    report = {"points": args.points, "repeats": args.repeats, "replica_s": t_replica, "replica_cold_s": cold,
              "baseline_s": t_base, "replica_all_s": times_r, "baseline_all_s": times_b,
              "ratio": ratio, "max_residual": resid, "max_rel_diff": rel, "misses": misses,
              "python": platform.python_version(), "numpy": np.__version__}
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(f"bayes-optimal MMSE curve, {args.points} loads, rho={RHO}, Delta={DELTA}, best of {args.repeats} "
              f"(python {platform.python_version()}, numpy {np.__version__}, {time.strftime('%Y-%m-%d')})")
        print(f"replica (warm)  {t_replica:8.3f} s   (cold, with derivation and compilation: {cold:.1f} s)")
        print(f"state evolution {t_base:8.3f} s   (fixed-point loop, scipy quad)")
        print(f"ratio {ratio:.1f}x; max residual {resid:.1e}; max relative |E - E_SE| {rel:.1e}")
        print("PASS" if not misses else "MISS: " + "; ".join(misses))
    return 0 if not misses else 1


if __name__ == "__main__":
    raise SystemExit(main())
