"""SK Monte Carlo throughput: spin-flip attempts per second of replica's parallel tempering
against a plain Python-loop single-spin Metropolis on the same couplings, measured in one run.

    python benchmarks/bench_sk_mc.py            # table; exit status 1 if the target is missed
    python benchmarks/bench_sk_mc.py --json

Both sides do Metropolis attempts at temperature T on the SK model with couplings of variance
1/N (``replica.simulators.sk.sample_couplings``). The baseline keeps the local fields up to date
(the textbook O(N) update per accepted flip) in pure Python; replica's parallel tempering updates
every chain of the temperature ladder and every replica set at once (numpy over chains), plus
replica exchange, and reports thermal averages with error bars and convergence checks.
Throughput = attempts / wall time (burn-in included on both sides). Target: replica faster than the
loop (no speed target is set by the issue; the ratio is what is reported).
As a correctness check, the two energies per spin at T agree within their errors.
"""
from __future__ import annotations

import argparse
import json
import math
import platform
import sys
import time

import numpy as np

TARGET = 1.0


def python_metropolis(J, T, h, rng, sweeps):
    """Single-spin Metropolis with local fields, in plain Python loops (the baseline)."""
    n = J.shape[0]
    Jl = J.tolist()
    s = [1 if x else -1 for x in (rng.random(n) < 0.5)]
    field = [sum(Jl[i][j] * s[j] for j in range(n)) + h for i in range(n)]
    beta = 1.0 / T
    energies = []
    rand = rng.random
    for sweep in range(sweeps):
        u = rand(n).tolist()
        for i in range(n):
            dE = 2.0 * s[i] * field[i]
            if dE <= 0 or u[i] < math.exp(-beta * dE):
                s[i] = -s[i]
                d = 2 * s[i]
                row = Jl[i]
                for j in range(n):
                    field[j] += d * row[j]
                field[i] -= d * row[i]
        if sweep >= sweeps // 3:
            e = -0.5 * sum(s[i] * (field[i] - h) for i in range(n)) / n - h * sum(s) / n
            energies.append(e)
    return float(np.mean(energies)), float(np.std(energies) / math.sqrt(len(energies)) * 3)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=64)
    ap.add_argument("--T", type=float, default=0.8)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)

    from replica.simulators.sk import parallel_tempering, sample_couplings
    rng = np.random.default_rng(1)
    J = sample_couplings(args.n, rng)
    np.fill_diagonal(J, 0.0)

    sweeps, burn = 600, 200
    t0 = time.perf_counter()
    pt = parallel_tempering(J, args.T, 0.0, np.random.default_rng(2), sweeps=sweeps, burn_in=burn)
    t_replica = time.perf_counter() - t0
    chains = len(pt["temperatures"]) * 2                 # two replica sets (the default)
    attempts_replica = (sweeps + burn) * chains * args.n

    base_sweeps = 150
    t0 = time.perf_counter()
    e_base, e_err = python_metropolis(J, args.T, 0.0, np.random.default_rng(3), base_sweeps)
    t_base = time.perf_counter() - t0
    attempts_base = base_sweeps * args.n

    rate_r, rate_b = attempts_replica / t_replica, attempts_base / t_base
    ratio = rate_r / rate_b
    # a single Metropolis chain at T < 1 need not equilibrate in 150 sweeps: the energies are
    # compared loosely (a sanity check that both simulate the same model), not as a test
    agree = abs(pt["energy"] - e_base) < 0.05
    report = {"n": args.n, "T": args.T, "replica_flips_per_s": rate_r, "baseline_flips_per_s": rate_b,
              "ratio": ratio, "target": TARGET, "energy_replica": pt["energy"],
              "energy_replica_stderr": pt["stderr"]["energy"], "energy_baseline": e_base,
              "swap_rates": pt["swap_rates"], "converged": pt["converged"],
              "python": platform.python_version(), "numpy": np.__version__}
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(f"SK Metropolis throughput, N={args.n}, T={args.T} (python {platform.python_version()}, "
              f"numpy {np.__version__})")
        print(f"replica parallel tempering : {rate_r:12.0f} attempts/s  ({chains} chains, {t_replica:.2f} s)")
        print(f"python-loop Metropolis     : {rate_b:12.0f} attempts/s  ({t_base:.2f} s)")
        print(f"ratio {ratio:.1f}x (target >= {TARGET:g}x); energy per spin {pt['energy']:.4f} ± "
              f"{pt['stderr']['energy']:.4f} vs {e_base:.4f} (single chain); PT converged: {pt['converged']}, "
              f"swap rates {min(pt['swap_rates']):.2f}-{max(pt['swap_rates']):.2f}")
    ok = ratio >= TARGET and agree
    if not ok:
        print("TARGET MISSED" if ratio < TARGET else "ENERGY MISMATCH", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
