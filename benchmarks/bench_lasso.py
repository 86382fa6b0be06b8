"""LASSO: a 200-point mse curve by replica against the state-evolution fixed-point loop with quad,
on the same points, in one run.

    python benchmarks/bench_lasso.py              # table; exit status 1 if a target is missed
    python benchmarks/bench_lasso.py --json       # the same numbers (and every repeat) as JSON
    python benchmarks/bench_lasso.py --repeats 5  # best of 5 instead of 3

Curve: Bernoulli-Gauss signal rho = 0.1, noise sigma = 0.1, penalty lam = 0.3, 200 measurement
ratios delta in [0.25, 2] (the Bayati-Montanari normalisation of replica's ``lasso`` model:
A_{mu i} ~ N(0, 1/N)). replica: ``replica.sweep("lasso", {"rho": 0.1, "sigma": 0.1, "lam": 0.3},
"delta", deltas)``, warm (after one call that derives and compiles).

Baseline (what a hand-written state-evolution code does): for each delta, the AMP state evolution
of the LASSO with the calibrated threshold (M. Bayati and A. Montanari, IEEE Trans. Inf. Theory 58,
1997 (2012), eqs. (1.6)-(1.9); D. Donoho, A. Maleki and A. Montanari, PNAS 106, 18914 (2009)),

    tau^2 <- sigma^2 + E[(eta(X0 + tau Z; t) - X0)^2]/delta,    t <- lam + t P(eta != 0)/delta,

(t = theta tau the absolute threshold; its fixed point is lam = theta tau (1 - omega/delta), BM
eq. (1.9)), iterated from tau^2 = sigma^2 + rho/delta, t = lam until the relative change of both is
below 1e-13. Every Gaussian average is ``scipy.integrate.quad`` split at the kinks +-t of the
soft threshold (``epsabs=1e-15, epsrel=1e-12``): for X0 = 0, 2 int_{t/tau}^oo (tau z - t)^2 Dz; for
X0 ~ N(0, 1), Y = X0 + tau Z ~ N(0, s^2 = 1 + tau^2), E[X0 | Y] = Y/s^2 and Var(X0 | Y) = tau^2/s^2, so
E(eta(Y) - X0)^2 = tau^2/s^2 + 2 [int_0^t (y/s^2)^2 + int_t^oo (y - t - y/s^2)^2] phi_s(y) dy; and
P(eta != 0) = 2 int_t^oo phi_sd(y) dy for each component.

Reported: best warm times (repeats interleaved: replica, baseline, replica, ...), ratio, replica's
max residual, the independent residual (both state-evolution equations evaluated with quad at
replica's (tau, theta)), and the max relative difference of the two mse curves.
Targets: ratio >= 100x, every point converged with residual < 1e-12, relative |dmse| < 1e-8.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import platform
import time

import numpy as np
import scipy
from scipy.integrate import quad

RHO, SIGMA, LAM = 0.1, 0.1, 0.3
DELTAS = (0.25, 2.0)
TARGET_RATIO, TARGET_RESIDUAL, TARGET_AGREEMENT = 100.0, 1e-12, 1e-8
QUAD_OPTS = dict(epsabs=1e-15, epsrel=1e-12, limit=200)
INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


def _pdf(y, sd):
    return math.exp(-0.5 * (y / sd) ** 2) * INV_SQRT_2PI / sd


def moments(tau, t, rho=RHO):
    """(mse, omega) of eta(X0 + tau Z; t), X0 Bernoulli-Gauss, every average by quad."""
    null = 2 * quad(lambda y: (y - t) ** 2 * _pdf(y, tau), t, np.inf, **QUAD_OPTS)[0]
    p_null = 2 * quad(lambda y: _pdf(y, tau), t, np.inf, **QUAD_OPTS)[0]
    s2 = 1 + tau * tau
    s = math.sqrt(s2)
    inner = quad(lambda y: (y / s2) ** 2 * _pdf(y, s), 0, t, **QUAD_OPTS)[0]
    outer = quad(lambda y: (y - t - y / s2) ** 2 * _pdf(y, s), t, np.inf, **QUAD_OPTS)[0]
    signal = tau * tau / s2 + 2 * (inner + outer)
    p_signal = 2 * quad(lambda y: _pdf(y, s), t, np.inf, **QUAD_OPTS)[0]
    return (1 - rho) * null + rho * signal, (1 - rho) * p_null + rho * p_signal


def state_evolution(delta, lam=LAM, sigma=SIGMA, rho=RHO, tol=1e-13, maxiter=100000):
    tau2, t = sigma**2 + rho / delta, lam
    for it in range(maxiter):
        mse, omega = moments(math.sqrt(tau2), t, rho)
        new_tau2, new_t = sigma**2 + mse / delta, lam + t * omega / delta
        change = max(abs(new_tau2 - tau2) / tau2, abs(new_t - t) / t)
        tau2, t = new_tau2, new_t
        if change < tol:
            return (tau2 - sigma**2) * delta, it + 1
    raise RuntimeError(f"state evolution did not converge at delta={delta}")


def baseline(deltas):
    out = [state_evolution(d) for d in deltas]
    return np.array([m for m, _ in out]), [n for _, n in out]


def independent_residual(deltas, tau, theta):
    """max over the curve of the two state-evolution equations (quad) at replica's (tau, theta)."""
    worst = 0.0
    for d, ta, th in zip(deltas, tau, theta):
        mse, omega = moments(ta, th * ta)
        worst = max(worst, abs(SIGMA**2 + mse / d - ta * ta) / (ta * ta),
                    abs(th * ta * (1 - omega / d) - LAM) / LAM)
    return worst


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--points", type=int, default=200)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    import replica
    t_import = time.perf_counter() - t0
    deltas = list(np.linspace(*DELTAS, args.points))
    params = {"rho": RHO, "sigma": SIGMA, "lam": LAM}
    t0 = time.perf_counter()
    replica.sweep("lasso", params, "delta", deltas)            # warm-up: derivation and compilation
    cold = time.perf_counter() - t0
    times_r, times_b = [], []
    for _ in range(args.repeats):                              # interleaved repeats
        t0 = time.perf_counter()
        sweep = replica.sweep("lasso", params, "delta", deltas)
        times_r.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        mse_base, iterations = baseline(deltas)
        times_b.append(time.perf_counter() - t0)
    t_replica, t_base = min(times_r), min(times_b)
    mse = sweep.array("mse")
    rel = float(np.max(np.abs(mse - mse_base) / mse_base))
    resid = float(np.max(sweep.array("residual")))
    indep = independent_residual(deltas, sweep.array("tau"), sweep.array("theta"))
    ok_conv = bool(sweep.converged.all())
    ratio = t_base / t_replica
    misses = []
    if ratio < TARGET_RATIO:
        misses.append(f"speed-up {ratio:.1f}x < {TARGET_RATIO:.0f}x")
    if not ok_conv or resid >= TARGET_RESIDUAL:
        misses.append(f"residual {resid:.1e} (all converged: {ok_conv})")
    if rel >= TARGET_AGREEMENT:
        misses.append(f"max relative |dmse| {rel:.1e} >= {TARGET_AGREEMENT:g}")
    report = {"points": args.points, "repeats": args.repeats, "replica_s": t_replica, "baseline_s": t_base,
              "replica_all_s": times_r, "baseline_all_s": times_b, "replica_cold_s": cold,
              "import_s": t_import, "ratio": ratio, "max_residual": resid, "independent_residual": indep,
              "max_rel_diff": rel, "baseline_iterations": [min(iterations), max(iterations)], "misses": misses,
              "python": platform.python_version(), "numpy": np.__version__, "scipy": scipy.__version__,
              "cpus": os.cpu_count(), "date": time.strftime("%Y-%m-%d")}
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(f"lasso mse curve, {args.points} deltas in [{DELTAS[0]}, {DELTAS[1]}], rho={RHO}, sigma={SIGMA}, "
              f"lam={LAM}, best of {args.repeats} (python {report['python']}, numpy {report['numpy']}, "
              f"scipy {report['scipy']}, {report['cpus']} cpus, {report['date']})")
        print(f"replica (warm)   {t_replica:8.3f} s   (first call, with derivation and compilation: {cold:.2f} s; "
              f"import {t_import:.2f} s)")
        print(f"state evolution  {t_base:8.3f} s   (fixed-point loop with quad, {min(iterations)}-{max(iterations)} "
              "iterations a point)")
        print(f"ratio {ratio:.1f}x; max residual {resid:.1e}; independent residual {indep:.1e}; "
              f"max relative |mse - mse_SE| {rel:.1e}")
        print("PASS" if not misses else "MISS: " + "; ".join(misses))
    return 0 if not misses else 1


if __name__ == "__main__":
    raise SystemExit(main())
