"""Finite-size M-estimation: random instances and a convex solver with a KKT certificate.

Instance (the normalisation of :mod:`replica.models.m_estimation`): P unknowns s0 i.i.d. from
the prior, N = alpha P measurements (alpha P must be an integer), X with i.i.d. N(0, 1/P)
entries, y = X s0 + eps.

Solver: square loss with an l2 or no regularizer in closed form (a linear solve); every other
(loss, regularizer) pair by ADMM on the splitting r = y - X s, t = s of
min loss(r) + reg(t) (Boyd et al., "Distributed optimization and statistical learning via the
alternating direction method of multipliers", Found. Trends ML 3, 1 (2011), sec. 3), which needs
only the proximal maps of :mod:`replica.proximal` and one Cholesky factor of X^T X + I.
Convergence is certified by the KKT residual of the original problem: with
psi = c (v - r) in d loss(r) and omega = c (s - w - t) in d reg(t) exactly (from the prox steps),
optimality is X^T psi = omega with r = y - X s and t = s; :func:`kkt_residual` is the largest
violation of the three (relative to the size of the terms).
"""
from __future__ import annotations

import contextlib
import ctypes
import functools
import os

import numpy as np
import scipy.linalg as sla
import sympy

from .. import proximal

_X, _T = sympy.Symbol("x", real=True), sympy.Symbol("t", positive=True)


# ---------------------------------------------------------------------------
# one BLAS thread during a trial
# ---------------------------------------------------------------------------
_OPENBLAS_SYMBOLS = (("scipy_openblas_get_num_threads64_", "scipy_openblas_set_num_threads64_"),
                     ("scipy_openblas_get_num_threads", "scipy_openblas_set_num_threads"),
                     ("openblas_get_num_threads64_", "openblas_set_num_threads64_"),
                     ("openblas_get_num_threads", "openblas_set_num_threads"))


@functools.lru_cache(maxsize=None)
def _openblas_controls() -> tuple:
    """(get, set) thread-count functions of every OpenBLAS loaded in this process (numpy and scipy
    each bundle one); empty where none is found (another BLAS, or not Linux): then a no-op."""
    try:
        with open("/proc/self/maps") as fh:
            paths = sorted({line.split()[-1] for line in fh if "openblas" in line.lower() and "/" in line})
    except OSError:
        return ()
    out = []
    for path in paths:
        try:
            lib = ctypes.CDLL(path, mode=getattr(os, "RTLD_NOLOAD", 0) | ctypes.RTLD_LOCAL)
        except OSError:
            continue
        for get_name, set_name in _OPENBLAS_SYMBOLS:
            get, put = getattr(lib, get_name, None), getattr(lib, set_name, None)
            if get is not None and put is not None:
                get.restype, get.argtypes = ctypes.c_int, []
                put.restype, put.argtypes = None, [ctypes.c_int]
                out.append((get, put))
                break
    return tuple(out)


@contextlib.contextmanager
def one_blas_thread():
    """Run the block with OpenBLAS on one thread, then restore its thread counts.

    The matrices of a trial (P <= ~1000) are too small for threads to pay off, and on a shared
    2-core machine a two-thread OpenBLAS made a ridge comparison 10x slower (10.8 s against 0.9 s,
    measured). Worker processes of the simulation layer set OMP_NUM_THREADS only after numpy has
    read it, so the count is set here, through OpenBLAS's own API."""
    controls = _openblas_controls()
    saved = [get() for get, _ in controls]
    try:
        for _, put in controls:
            put(1)
        yield
    finally:
        for (_, put), n in zip(controls, saved):
            put(n)


def dimension(alpha: float, p: int) -> int:
    """N = alpha P; a ValueError unless alpha P is an integer (rounding would add an erratic bias)."""
    n = alpha * p
    k = round(n)
    if abs(n - k) > 1e-9 * max(1.0, n) or k < 1:
        raise ValueError(f"N = alpha*P = {n:g} is not a positive integer (alpha={alpha:g}, P={p}); "
                         "choose sizes P with alpha*P an integer")
    return k


def sample_law(law: str, size, scale: float, rng, nu: float = 3.0, sparsity: float = 1.0):
    """Draws from the noise/prior laws of the model (scale parameters as documented there)."""
    if law == "gaussian":
        return scale * rng.standard_normal(size)
    if law == "laplace":
        return rng.laplace(0.0, scale, size)
    if law == "logistic":
        return rng.logistic(0.0, scale, size)
    if law == "student-t":
        return scale * rng.standard_t(nu, size)
    if law == "bernoulli-gauss":
        return (rng.random(size) < sparsity) * scale * rng.standard_normal(size)
    raise ValueError(f"unknown law {law!r}")


def instance(params: dict, p: int, rng):
    """(X, y, s0) for one trial."""
    n = dimension(float(params["alpha"]), p)
    s0 = sample_law(params["prior"], p, params["prior_scale"], rng, sparsity=params["sparsity"])
    X = rng.standard_normal((n, p)) / np.sqrt(p)
    eps = sample_law(params["noise"], n, params["noise_scale"], rng, nu=params["student_nu"])
    return X, X @ s0 + eps, s0


_PENALTY_PARAMS = ("huber_delta", "quantile_tau", "lambda", "lambda2")


def penalties(params: dict):
    """The loss and regularizer (library penalties with numbers for their parameters)."""
    from ..models.m_estimation import _penalty
    values = {k: float(params[k]) for k in _PENALTY_PARAMS}
    return _penalty(params["loss"], values), _penalty(params["regularizer"], values)


@functools.lru_cache(maxsize=64)
def _compiled(name, expr_key):
    expr = expr_key
    return sympy.lambdify([_X, _T], expr, modules=[{"Heaviside": lambda x, h=0.5: np.heaviside(x, 0.5)}, "numpy"])


def numpy_prox(penalty):
    """prox_{t f}(x) as a vectorised numpy function of (x, t)."""
    fn = _compiled(penalty.name, penalty.prox(_X, _T))

    def prox(x, t):
        return np.broadcast_to(np.asarray(fn(x, t), dtype=float), np.shape(x)).copy()
    return prox


def numpy_value(penalty):
    fn = sympy.lambdify(proximal.U, penalty.expr, "numpy")
    return lambda u: np.broadcast_to(np.asarray(fn(u), dtype=float), np.shape(u))


def admm(X, y, loss, reg, c=1.0, tol=1e-10, maxiter=50000):
    """min_s loss(y - X s) + reg(s) by ADMM; returns (s, r, kkt residual, iterations)."""
    n, p = X.shape
    prox_l, prox_r = numpy_prox(loss), numpy_prox(reg)
    chol = sla.cho_factor(X.T @ X + np.eye(p))
    s = np.zeros(p)
    r = y.copy()
    t = np.zeros(p)
    u = np.zeros(n)
    w = np.zeros(p)
    kkt = np.inf
    for it in range(1, maxiter + 1):
        s = sla.cho_solve(chol, X.T @ (y - r - u) + t + w)
        Xs = X @ s
        v = y - Xs - u
        r = prox_l(v, 1.0 / c)
        m = s - w
        t = prox_r(m, 1.0 / c)
        u += r + Xs - y
        w += t - s
        if it % 20 == 0:
            kkt = kkt_residual(X, y, s, r, t, c * (v - r), c * (m - t))
            if kkt < tol:
                break
    return t, y - X @ t, kkt, it


def kkt_residual(X, y, s, r, t, psi, omega):
    """Largest relative violation of: X^T psi = omega, r = y - X s, t = s (psi in d loss(r),
    omega in d reg(t))."""
    scale = 1.0 + np.max(np.abs(X.T @ psi)) + np.max(np.abs(omega))
    stat = np.max(np.abs(X.T @ psi - omega)) / scale
    prim = np.max(np.abs(r - (y - X @ s))) / (1.0 + np.max(np.abs(y)))
    cons = np.max(np.abs(t - s)) / (1.0 + np.max(np.abs(s)))
    return max(stat, prim, cons)


def estimate(params: dict, X, y, loss=None, regularizer=None):
    """The M-estimator s_hat and its KKT residual (0 for the closed forms, the duality gap for LPs).
    ``loss``/``regularizer``: a user's own penalties in place of the named ones (solved by ADMM)."""
    if loss is not None or regularizer is not None:
        named_loss, named_reg = penalties(params)
        s, _, kkt, _ = admm(X, y, loss or named_loss, regularizer or named_reg)
        return s, kkt
    loss, reg = penalties(params)
    n, p = X.shape
    if params["loss"] == "square" and params["regularizer"] in ("l2", "zero"):
        lam = float(params["lambda"]) if params["regularizer"] == "l2" else 0.0
        s = sla.solve(X.T @ X + lam * np.eye(p), X.T @ y, assume_a="pos")
        return s, 0.0
    if params["loss"] in ("absolute", "quantile") and params["regularizer"] in ("zero", "l1"):
        return linear_program(params, X, y)
    s, _, kkt, _ = admm(X, y, loss, reg)
    return s, kkt


def linear_program(params, X, y):
    """Piecewise-linear loss and regularizer as an LP (HiGHS): min cp.r+ + cm.r- + lam (s+ + s-)
    s.t. X (s+ - s-) + r+ - r- = y. Returns (s, relative duality gap) -- the gap certifies optimality."""
    from scipy.optimize import linprog
    n, p = X.shape
    cp, cm = (1.0, 1.0) if params["loss"] == "absolute" else (params["quantile_tau"], 1 - params["quantile_tau"])
    lam = float(params["lambda"]) if params["regularizer"] == "l1" else 0.0
    cost = np.concatenate([np.full(p, lam), np.full(p, lam), np.full(n, cp), np.full(n, cm)])
    A = np.hstack([X, -X, np.eye(n), -np.eye(n)])
    bounds = [(0, None)] * (2 * p + 2 * n)
    if lam == 0:       # s free: one block
        cost = np.concatenate([np.zeros(p), np.full(n, cp), np.full(n, cm)])
        A = np.hstack([X, np.eye(n), -np.eye(n)])
        bounds = [(None, None)] * p + [(0, None)] * (2 * n)
    res = linprog(cost, A_eq=A, b_eq=y, bounds=bounds, method="highs")
    if res.status != 0:
        raise ValueError(f"LP failed: {res.message}")
    s = res.x[:p] - (res.x[p:2 * p] if lam > 0 else 0.0)
    gap = abs(res.fun - res.eqlin.marginals @ y) / (1.0 + abs(res.fun))
    return s, gap


def trial(params: dict, p: int, rng, loss=None, regularizer=None) -> dict:
    """One instance: mse per component and the training error (mean loss per measurement)."""
    with one_blas_thread():
        X, y, s0 = instance(params, p, rng)
        s, kkt = estimate(params, X, y, loss, regularizer)
    if kkt > 1e-6:
        raise ValueError(f"the convex solver did not converge at P={p}: KKT residual {kkt:.2g}")
    loss = loss or penalties(params)[0]
    return {"mse": float(np.mean((s - s0)**2)), "training_error": float(np.mean(numpy_value(loss)(y - X @ s)))}
