"""Benchmark: teacher-student simulator throughput at N = 200 (instances per second).

Run from the repository root::

    python benchmarks/bench_teacher_student_sim.py             # table (~20-40 s)
    python benchmarks/bench_teacher_student_sim.py --json      # the same numbers as JSON
    python benchmarks/bench_teacher_student_sim.py --adaptive  # gibbs with the default run lengths (minutes)
    python benchmarks/bench_teacher_student_sim.py --alpha 2 --instances 4

What is timed (all in one process, one after the other; the machines are shared and noisy,
so the ratios are the meaningful numbers):

* ``gibbs``, replica batched: ``replica.simulators.teacher_student.trials("gibbs", N, alpha,
  rngs)`` on ``--instances`` instances advanced together.  Protocol: by default a fixed
  length per instance, ``--burn-in`` + ``--sweeps`` sweeps of 4 chains (50 + 250); with
  ``--adaptive`` the default, autocorrelation-driven lengths (burn-in >= 5 tau_R,
  production >= 20 tau_R), whose mean length is then reported -- at N = 200, alpha = 1
  that is ~2700 sweeps (tau_R ~ 55), i.e. minutes for a few instances.
* ``gibbs``, replica single instance: ``trial("gibbs", ...)``, one instance at a time.
  Timed on two short fixed-length runs (10 and 30 sweeps) of one instance, which give
  the set-up cost (drawing, max-margin start) and the cost of a sweep; converted to the
  protocol's sweeps per instance.
* ``gibbs``, baseline: the straightforward single-instance loop -- the same coordinate
  Gibbs algorithm (fields ``h = Z w`` kept up to date, O(P) a move) written as a Python loop
  over chains and coordinates, each move drawing its truncated normal with
  ``scipy.stats.truncnorm.rvs``.  Timed on ``--baseline-sweeps`` sweeps of one chain and
  converted the same way (4 chains x sweeps per instance + the same set-up cost).
* ``hebb`` and ``max-margin``: a loop of ``trial`` (no baseline: these are one matrix
  product and one certified NNLS solve).

The ratio column is baseline time / replica time per instance; the ratios do not depend
on the protocol's length (all three gibbs implementations cost set-up + length x sweep).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time

import numpy as np
import scipy
from scipy import stats

from replica.simulation import trial_rng
from replica.simulators import teacher_student as ts

N = 200
SEED = 2024


# ---------------------------------------------------------------------------
# baseline: per-coordinate Python loop with scipy.stats.truncnorm.rvs
# ---------------------------------------------------------------------------
def baseline_sweeps(z, w, rng, sweeps):
    """Coordinate Gibbs sweeps of one chain for N(0, I) truncated to {Z w >= 0} (in place)."""
    h = z @ w
    n = w.size
    for _ in range(sweeps):
        for i in range(n):
            col = z[:, i]
            pos, neg = col > 0, col < 0
            lower = np.max(-h[pos] / col[pos]) if pos.any() else -np.inf     # step bounds
            upper = np.min(-h[neg] / col[neg]) if neg.any() else np.inf
            a, b = w[i] + min(lower, 0.0), w[i] + max(upper, 0.0)
            new = stats.truncnorm.rvs(a, b, random_state=rng)
            h += (new - w[i]) * col
            w[i] = new
        h = z @ w                                       # no drift
    return w


def time_baseline(alpha, sweeps):
    rng = trial_rng(SEED, N, 10_000)
    inst = ts.draw_instance(N, alpha, rng)
    z = inst.y[:, None] * inst.xi
    kappa, w = ts._pc.max_margin_solution(inst.xi, inst.y)
    baseline_sweeps(z, w.copy(), rng, 1)                # warm-up (imports, caches)
    t0 = time.perf_counter()
    w = baseline_sweeps(z, w, rng, sweeps)
    dt = (time.perf_counter() - t0) / sweeps
    if not np.min(z @ w) >= 0:
        raise RuntimeError("baseline sampler left the version space")
    return dt


# ---------------------------------------------------------------------------
def time_single(alpha):
    """(set-up seconds, seconds per sweep of 4 chains) of trial('gibbs') for one instance."""
    times = {}
    for sweeps in (10, 30):
        rng = trial_rng(SEED, N, 20_000 + sweeps)
        t0 = time.perf_counter()
        ts.trial("gibbs", N, alpha, rng, burn_in=0, sweeps=sweeps, tau_ratio=0)
        times[sweeps] = time.perf_counter() - t0
    per_sweep = (times[30] - times[10]) / 20
    return max(times[10] - 10 * per_sweep, 0.0), per_sweep


def time_batched(alpha, instances, options):
    rngs = [trial_rng(SEED, N, k) for k in range(instances)]
    t0 = time.perf_counter()
    res = ts.trials("gibbs", N, alpha, rngs, **options)
    dt = time.perf_counter() - t0
    return dt, res


def time_loop(rule, alpha, count):
    t0 = time.perf_counter()
    res = [ts.trial(rule, N, alpha, trial_rng(SEED, N, k)) for k in range(count)]
    return (time.perf_counter() - t0) / count, res


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true", help="print JSON instead of a table")
    ap.add_argument("--alpha", type=float, default=1.0, help="load alpha = P/N (default 1)")
    ap.add_argument("--instances", type=int, default=8, help="instances of the batched gibbs run (default 8)")
    ap.add_argument("--burn-in", type=int, default=50, help="fixed protocol: burn-in sweeps (default 50)")
    ap.add_argument("--sweeps", type=int, default=250, help="fixed protocol: production sweeps (default 250)")
    ap.add_argument("--adaptive", action="store_true",
                    help="gibbs with the default adaptive run lengths instead of the fixed protocol (slow)")
    ap.add_argument("--baseline-sweeps", type=int, default=2, help="sweeps timed for the baseline (default 2)")
    args = ap.parse_args(argv)
    if min(args.instances, args.baseline_sweeps, args.sweeps) < 1 or args.burn_in < 0 or not args.alpha > 0:
        ap.error("--instances, --baseline-sweeps, --sweeps must be >= 1, --burn-in >= 0, --alpha > 0")

    chains = ts._MCMC_DEFAULTS["gibbs"]["chains"]
    options = {} if args.adaptive else dict(burn_in=args.burn_in, sweeps=args.sweeps, tau_ratio=0)
    protocol = ("default adaptive lengths" if args.adaptive
                else f"fixed: {args.burn_in} burn-in + {args.sweeps} production sweeps")
    t_batch, res = time_batched(args.alpha, args.instances, options)
    sweeps_per_instance = float(np.mean([r["burn_in"] + r["sweeps"] for r in res]))
    setup, per_sweep = time_single(args.alpha)
    base_chain_sweep = time_baseline(args.alpha, args.baseline_sweeps)
    hebb_s, hebb_res = time_loop("hebb", args.alpha, 200)
    mm_s, mm_res = time_loop("max-margin", args.alpha, 20)

    batched_per_instance = t_batch / args.instances
    single_per_instance = setup + sweeps_per_instance * per_sweep
    baseline_per_instance = setup + sweeps_per_instance * chains * base_chain_sweep
    report = {
        "date": time.strftime("%Y-%m-%d"), "machine": platform.machine(), "cpus": os.cpu_count(),
        "load_average": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
        "python": platform.python_version(), "numpy": np.__version__, "scipy": scipy.__version__,
        "n": N, "alpha": args.alpha, "p": int(round(args.alpha * N)), "chains": chains,
        "gibbs": {
            "instances": args.instances, "protocol": protocol,
            "batched_s_per_instance": batched_per_instance,
            "batched_instances_per_s": 1.0 / batched_per_instance,
            "single_s_per_instance": single_per_instance,
            "single_instances_per_s": 1.0 / single_per_instance,
            "single_setup_s": setup, "single_s_per_sweep": per_sweep,
            "baseline_s_per_instance": baseline_per_instance,
            "baseline_instances_per_s": 1.0 / baseline_per_instance,
            "baseline_s_per_chain_sweep": base_chain_sweep,
            "ratio_baseline_over_batched": baseline_per_instance / batched_per_instance,
            "ratio_baseline_over_single": baseline_per_instance / single_per_instance,
            "ratio_single_over_batched": single_per_instance / batched_per_instance,
            "mean_sweeps_per_instance": sweeps_per_instance,
            "mean_tau_R": float(np.mean([r["tau_R"] for r in res])),
            "tau_R": [r["tau_R"] for r in res],
            "mean_R": float(np.mean([r["R"] for r in res])),
        },
        "hebb": {"instances_per_s": 1.0 / hebb_s, "mean_R": float(np.mean([r["R"] for r in hebb_res]))},
        "max-margin": {"instances_per_s": 1.0 / mm_s, "mean_R": float(np.mean([r["R"] for r in mm_res])),
                       "mean_kappa": float(np.mean([r["kappa"] for r in mm_res]))},
    }
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    g = report["gibbs"]
    print(f"teacher-student simulator throughput, N = {N}, alpha = {args.alpha:g} (P = {report['p']}), "
          f"python {report['python']}, numpy {report['numpy']}, scipy {report['scipy']}, {report['cpus']} cpus, "
          f"load average {report['load_average']:.1f}, {report['date']}")
    print(f"gibbs: {args.instances} instances, protocol {protocol}: mean {g['mean_sweeps_per_instance']:.0f} sweeps "
          f"(burn-in + production) x {chains} chains per instance; mean tau_R = {g['mean_tau_R']:.1f} sweeps"
          f"{'' if args.adaptive else ' (estimated on the short fixed runs: biased low)'}; mean R = {g['mean_R']:.4f}")
    head = f"{'rule / implementation':<42} {'s/instance':>11} {'instances/s':>12} {'baseline/this':>14}"
    print(head)
    print("-" * len(head))
    rows = [
        ("gibbs  replica trials() (batched)", batched_per_instance, g["ratio_baseline_over_batched"]),
        ("gibbs  replica trial() (one instance)", single_per_instance, g["ratio_baseline_over_single"]),
        ("gibbs  baseline (Python loop + truncnorm.rvs)", baseline_per_instance, 1.0),
        ("hebb   replica trial()", hebb_s, None),
        ("max-margin replica trial()", mm_s, None),
    ]
    for name, sec, ratio in rows:
        r = f"{ratio:13.1f}x" if ratio is not None else f"{'-':>14}"
        print(f"{name:<42} {sec:11.4g} {1.0 / sec:12.4g} {r}")
    print(f"per sweep of {chains} chains: batched {t_batch / args.instances / sweeps_per_instance * 1e3:.1f} ms "
          f"an instance (set-up included), single instance {per_sweep * 1e3:.1f} ms (+ {setup:.3f} s set-up), "
          f"baseline {chains * base_chain_sweep:.3f} s ({args.baseline_sweeps} sweep(s) of one chain timed)")
    print(f"batched / single instance speed-up: {g['ratio_single_over_batched']:.1f}x; "
          f"hebb mean R = {report['hebb']['mean_R']:.4f}, max-margin mean R = {report['max-margin']['mean_R']:.4f}, "
          f"kappa = {report['max-margin']['mean_kappa']:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
