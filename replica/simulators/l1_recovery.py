"""Finite-size noiseless l1 recovery: random instances solved as linear programs (HiGHS).

One instance at size P (the simulator's ``n`` is the number of unknowns P): N = round(delta P)
measurements, k = round(rho N) nonzeros (Donoho-Tanner: rho = k/N) on a uniformly random support,
A with i.i.d. N(0, 1/N) entries (the scale does not matter for exact recovery), y = A x0.
Nonzeros: N(0, 1) for ``signal=signed``, |N(0, 1)| for ``signal=nonnegative`` (the transition does
not depend on their amplitudes: Donoho-Tanner, it is a property of the sign pattern and support).

Solvers (``scipy.optimize.linprog``, method "highs"):

* signed: min sum(u + v) s.t. A (u - v) = y, u, v >= 0, x_hat = u - v (basis pursuit);
* non-negative: min sum(x) s.t. A x = y, x >= 0.

Success: |x_hat - x0|_2 <= TOL |x0|_2 (exact recovery up to the LP's floating-point tolerances;
a failed recovery is a different vertex, off by O(1)).
"""
from __future__ import annotations

import numpy as np

#: relative l2 error below which the recovery is exact (HiGHS feasibility tolerance ~1e-7)
TOL = 1e-4


def instance(params: dict, p: int, rng):
    """(A, y, x0) for one trial."""
    delta = float(params["delta"])
    if params.get("rho") is None:
        raise ValueError("the simulation needs the sparsity rho = k/N (set rho)")
    n = max(1, int(round(delta * p)))
    k = int(round(float(params["rho"]) * n))
    A = rng.standard_normal((n, p)) / np.sqrt(n)
    x0 = np.zeros(p)
    support = rng.choice(p, size=k, replace=False)
    amp = rng.standard_normal(k)
    x0[support] = np.abs(amp) if params.get("signal", "signed") == "nonnegative" else amp
    return A, A @ x0, x0


def recover(A, y, signal: str = "signed"):
    """The l1 (or non-negative) minimiser of the LP; raises ValueError if HiGHS fails."""
    from scipy.optimize import linprog
    n, p = A.shape
    if signal == "nonnegative":
        res = linprog(np.ones(p), A_eq=A, b_eq=y, bounds=[(0, None)] * p, method="highs")
        if res.status != 0:
            raise ValueError(f"LP failed: {res.message}")
        return res.x
    res = linprog(np.ones(2 * p), A_eq=np.hstack([A, -A]), b_eq=y, bounds=[(0, None)] * (2 * p), method="highs")
    if res.status != 0:
        raise ValueError(f"LP failed: {res.message}")
    return res.x[:p] - res.x[p:]


def relative_error(params: dict, p: int, rng) -> float:
    A, y, x0 = instance(params, p, rng)
    x = recover(A, y, params.get("signal", "signed"))
    norm = np.linalg.norm(x0)
    return float(np.linalg.norm(x - x0) / norm) if norm > 0 else float(np.linalg.norm(x))


def trial(params: dict, p: int, rng) -> dict:
    """One instance: success = 1.0 if the LP recovers x0 exactly (relative error <= TOL), else 0.0."""
    return {"success": 1.0 if relative_error(params, p, rng) <= TOL else 0.0}
