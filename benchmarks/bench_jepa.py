"""Benchmark: the derived per-feature ODE for 1000 features vs training the deep linear network.

Run from the repository root::

    python benchmarks/bench_jepa.py                 # table (~30-60 s on a shared 2-core machine)
    python benchmarks/bench_jepa.py --json          # the same numbers as JSON
    python benchmarks/bench_jepa.py --full          # also train the width-1000 network for every step

The problem: JEPA (``--objective``), encoder depth ``--depth`` (2), ``--features`` (1000)
features with covariances lam ~ U(0.5, 2) and regression coefficients rho ~ U(1, 3) (seeded),
initial projection eps = 0.1, learning rate 0.02, ``t`` = 450 steps (gradient-flow time 9, where
most features are in their transition). Wanted: every feature's projection after t steps.

What is timed (one process; the machine is shared, so the ratios are what matters):

* ``ode batch``: one ``solve_ivp`` (LSODA, diagonal Jacobian) of all features at once,
  ``ModeFlow.trajectory_batch`` of the derived flow (rtol 1e-11);
* ``ode loop``: ``trajectory_float`` feature by feature (the path ``replica`` uses for one
  point's float start), timed on 100 features and scaled to all;
* ``train``: full-batch gradient descent of the actual network (``features x features`` layer
  matrices, population covariances, the simulator's ``train``) -- timed on ``--train-steps``
  steps (each step costs the same: O(features^3) matrix products) and scaled to the t steps of
  the protocol; with ``--full`` trained for all t steps and timed as such.

Accuracy (not timed): the ODE against gradient descent of a width-100 network on the first 100
features (trained for all t steps): the difference is the O(lr) discretisation error of gradient
descent, reported as max |w_ode - w_gd| / w_ode at lr and at lr/4 (4x the steps): it shrinks (measured 5.6x).

Time to the same accuracy (``--accuracy`` A, default 1e-3 relative on every feature): the ODE batch
at its default rtol (1e-11, far below A: its time is an upper bound for accuracy A); gradient
descent needs a learning rate small enough that its O(lr) error is below A: lr_A = (lr/4) A / err(lr/4)
(the error measured at lr/4 above, first order in lr), i.e. tau/lr_A steps, timed as the per-step
cost of the width-``features`` network times that number of steps. The width-100 network is then
trained at lr_A for every step and its error reported (it must be <= A: checked, exit status 1 if not).
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

from replica.models.jepa_vs_mae import jepa_mae_flow
from replica.simulators.deep_linear import train

SEED = 7


def problem(features, seed=SEED):
    rng = np.random.default_rng(seed)
    return rng.uniform(0.5, 2.0, features), rng.uniform(1.0, 3.0, features)


def train_network(objective, depth, lam, rho, eps, lr, steps):
    Sxx, Syx = np.diag(lam / rho), np.diag(lam)
    return np.diag(train(objective, depth, eps, lr, steps, Sxx, Syx))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--objective", default="jepa", choices=("jepa", "mae"))
    ap.add_argument("--depth", type=int, default=2)
    ap.add_argument("--features", type=int, default=1000)
    ap.add_argument("--eps", type=float, default=0.1)
    ap.add_argument("--lr", type=float, default=0.02)
    ap.add_argument("--steps", type=int, default=450)
    ap.add_argument("--train-steps", type=int, default=10)
    ap.add_argument("--full", action="store_true")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--accuracy", type=float, default=1e-3)
    args = ap.parse_args(argv)

    flow = jepa_mae_flow(args.objective, args.depth)
    lam, rho = problem(args.features)
    tau = args.lr * args.steps
    flow.trajectory_batch(tau, args.eps, lam[:4], rho[:4])          # warm-up (compilation)

    t0 = time.perf_counter()
    w_ode = flow.trajectory_batch(tau, args.eps, lam, rho)
    t_batch = time.perf_counter() - t0

    k = min(100, args.features)
    t0 = time.perf_counter()
    w_loop = np.array([flow.trajectory_float(tau, args.eps, a, b) for a, b in zip(lam[:k], rho[:k])])
    t_loop = (time.perf_counter() - t0) * args.features / k

    t0 = time.perf_counter()
    train_network(args.objective, args.depth, lam, rho, args.eps, args.lr, args.train_steps)
    t_train = (time.perf_counter() - t0) * args.steps / args.train_steps
    t_full = None
    if args.full:
        t0 = time.perf_counter()
        w_full = train_network(args.objective, args.depth, lam, rho, args.eps, args.lr, args.steps)
        t_full = time.perf_counter() - t0

    # accuracy: the ODE vs gradient descent of a width-k network on the first k features
    w_gd = train_network(args.objective, args.depth, lam[:k], rho[:k], args.eps, args.lr, args.steps)
    w_gd4 = train_network(args.objective, args.depth, lam[:k], rho[:k], args.eps, args.lr / 4, 4 * args.steps)
    err4 = float(np.max(np.abs(w_ode[:k] - w_gd4) / w_ode[:k]))
    lr_acc = (args.lr / 4) * args.accuracy / err4
    steps_acc = int(np.ceil(tau / lr_acc))
    lr_acc = tau / steps_acc
    per_step = (t_full / args.steps) if t_full is not None else t_train / args.steps
    t_train_acc = per_step * steps_acc
    w_acc = train_network(args.objective, args.depth, lam[:k], rho[:k], args.eps, lr_acc, steps_acc)
    err_acc = float(np.max(np.abs(w_ode[:k] - w_acc) / w_ode[:k]))
    out = {
        "accuracy": args.accuracy, "lr_at_accuracy": lr_acc, "steps_at_accuracy": steps_acc,
        "train_at_accuracy_s": t_train_acc, "max_rel_ode_vs_gd_at_accuracy": err_acc,
        "ratio_at_accuracy": t_train_acc / t_batch,
        "python": platform.python_version(), "numpy": np.__version__, "scipy": scipy.__version__,
        "cpus": os.cpu_count(), "objective": args.objective, "depth": args.depth, "features": args.features,
        "lr": args.lr, "steps": args.steps, "tau": tau,
        "ode_batch_s": t_batch, "ode_loop_s": t_loop, "train_s": t_full if t_full is not None else t_train,
        "train_measured_steps": args.steps if t_full is not None else args.train_steps,
        "ratio_train_over_ode_batch": (t_full if t_full is not None else t_train) / t_batch,
        "ratio_train_over_ode_loop": (t_full if t_full is not None else t_train) / t_loop,
        "max_rel_batch_vs_loop": float(np.max(np.abs(w_ode[:k] - w_loop) / w_loop)),
        "max_rel_ode_vs_gd": float(np.max(np.abs(w_ode[:k] - w_gd) / w_ode[:k])),
        "max_rel_ode_vs_gd_lr_over_4": float(np.max(np.abs(w_ode[:k] - w_gd4) / w_ode[:k])),
    }
    if t_full is not None:
        out["max_rel_ode_vs_gd_full"] = float(np.max(np.abs(w_ode - w_full) / w_ode))
    status = 0 if err_acc <= args.accuracy else 1
    if args.json:
        print(json.dumps(out, indent=2))
        return status
    print(f"jepa-vs-mae benchmark: {args.objective}, depth {args.depth}, {args.features} features, "
          f"lr {args.lr}, {args.steps} steps (tau = {tau:g}); python {out['python']}, numpy {out['numpy']}, "
          f"scipy {out['scipy']}, {out['cpus']} cpus")
    print(f"  ode batch (one solve_ivp, LSODA)    {t_batch:9.3f} s")
    print(f"  ode loop (solve_ivp per feature)    {t_loop:9.3f} s   (timed on {k} features, scaled)")
    how = "all steps" if t_full is not None else f"timed on {args.train_steps} steps, scaled to {args.steps}"
    print(f"  train the network (GD, width {args.features})  {out['train_s']:9.3f} s   ({how})")
    print(f"  ratio train / ode batch             {out['ratio_train_over_ode_batch']:9.1f}x")
    print(f"  ratio train / ode loop              {out['ratio_train_over_ode_loop']:9.1f}x")
    print(f"  max rel |batch - loop|              {out['max_rel_batch_vs_loop']:9.1e}")
    print(f"  max rel |ode - GD| (first {k}, lr {args.lr})  {out['max_rel_ode_vs_gd']:9.1e}   "
          "(GD's O(lr) discretisation error)")
    print(f"  max rel |ode - GD| (first {k}, lr {args.lr / 4:g})  {out['max_rel_ode_vs_gd_lr_over_4']:9.1e}   "
          "(lr/4, 4x the steps: O(lr), it shrinks)")
    print(f"  time to accuracy {args.accuracy:g}: GD needs lr {lr_acc:.3g} ({steps_acc} steps), "
          f"{t_train_acc:.1f} s for the width-{args.features} network; achieved (width {k}) {err_acc:.1e}")
    print(f"  ratio at equal accuracy (train / ode batch)  {out['ratio_at_accuracy']:9.1f}x")
    if status:
        print(f"MISS: gradient descent at lr {lr_acc:.3g} has error {err_acc:.1e} > {args.accuracy:g}")
    return status


if __name__ == "__main__":
    sys.exit(main())
