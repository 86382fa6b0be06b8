"""Finite-size optimal convex M-estimation: the smoothed-MAP loss and regularizer, minimised on instances.

Instances as in :mod:`replica.simulators.m_estimation` (reused). At the theory's smoothing
parameters (q, qd) the optimal objective is, up to a positive factor,

    sum_mu L(y_mu - x_mu . s) + sum_i R(s_i),   L = h_q[P_eps]/q,   R = h_qd[P_s0]/qd,

with h_v[P](u) = max_x [-v ln p_v(x) - (x - u)^2/2] (p_v = P * N(0, v); the negative of v times
the Moreau envelope of ln p_v with step v). The maximiser is x*(u) = eta^{-1}(u) with
eta(x) = x + v (ln p_v)'(x), the posterior mean (Tweedie), so h_v'(u) = x*(u) - u and
h_v(u) = -v ln p_v(x*) - (x* - u)^2/2. eta is increasing (log-concavity), inverted by bisection.
The objective is smooth and convex; it is minimised by L-BFGS and the gradient norm certifies it.
"""
from __future__ import annotations

import math

import numpy as np
import scipy.special as sc
from scipy.optimize import minimize

from .m_estimation import instance, one_blas_thread


def logpdf_and_score(law: str, scale: float, v: float, x):
    """ln p_v(x) and (ln p_v)'(x) for p_v = law(scale) * N(0, v) (numpy, vectorised)."""
    x = np.asarray(x, dtype=float)
    if law == "gaussian":
        w = scale**2 + v
        return -x * x / (2 * w) - 0.5 * math.log(2 * math.pi * w), -x / w
    if law == "laplace":
        b, r = scale, math.sqrt(v)
        a1 = -x / b + sc.log_ndtr(x / r - r / b)          # ln H(r/b - x/r) = log_ndtr(x/r - r/b)
        a2 = x / b + sc.log_ndtr(-x / r - r / b)
        lse = np.logaddexp(a1, a2)
        w1 = np.exp(a1 - lse)                                # posterior weight of e > 0
        # d a1/dx = -1/b + mills(x/r - r/b)/r, d a2/dx = 1/b - mills(-x/r - r/b)/r, mills(t) = phi/Phi
        m1 = np.exp(-0.5 * (x / r - r / b)**2 - sc.log_ndtr(x / r - r / b)) / math.sqrt(2 * math.pi)
        m2 = np.exp(-0.5 * (-x / r - r / b)**2 - sc.log_ndtr(-x / r - r / b)) / math.sqrt(2 * math.pi)
        d1 = -1 / b + m1 / r
        d2 = 1 / b - m2 / r
        return -math.log(2 * b) + v / (2 * b * b) + lse, w1 * d1 + (1 - w1) * d2
    raise ValueError(law)


class SmoothedPenalty:
    """h_v[P]/v as a function of u: value and derivative (see the module docstring)."""

    def __init__(self, law, scale, v):
        self.law, self.scale, self.v = law, float(scale), float(v)

    def eta(self, x):
        return x + self.v * logpdf_and_score(self.law, self.scale, self.v, x)[1]

    def argmax(self, u):
        u = np.asarray(u, dtype=float)
        if self.law == "gaussian":            # eta is linear: x s^2/(s^2 + v)
            return u * (self.scale**2 + self.v) / self.scale**2
        # eta(x) - x is bounded (|E[e|x] - x| ...): bracket the root around u, then bisect
        width = 10 * (self.scale + math.sqrt(self.v)) + 1.0
        lo, hi = u - width, u + width
        while np.any(self.eta(lo) > u):
            lo = np.where(self.eta(lo) > u, lo - width, lo)
        while np.any(self.eta(hi) < u):
            hi = np.where(self.eta(hi) < u, hi + width, hi)
        for _ in range(80):
            mid = (lo + hi) / 2
            up = self.eta(mid) > u
            hi, lo = np.where(up, mid, hi), np.where(up, lo, mid)
        return (lo + hi) / 2

    def value_and_grad(self, u):
        x = self.argmax(u)
        lp, _ = logpdf_and_score(self.law, self.scale, self.v, x)
        val = (-self.v * lp - (x - u)**2 / 2) / self.v
        return val, (x - u) / self.v


def estimate(X, y, loss: SmoothedPenalty, reg: SmoothedPenalty | None, tol=1e-10):
    """Minimise sum L(y - X s) + sum R(s) by L-BFGS; returns (s, relative gradient norm)."""
    p = X.shape[1]

    def f(s):
        r = y - X @ s
        lv, lg = loss.value_and_grad(r)
        val, grad = float(np.sum(lv)), -(X.T @ lg)
        if reg is not None:
            rv, rg = reg.value_and_grad(s)
            val += float(np.sum(rv))
            grad = grad + rg
        return val, grad

    s0 = np.linalg.lstsq(X, y, rcond=None)[0] if reg is None else np.zeros(p)
    res = minimize(f, s0, jac=True, method="L-BFGS-B",
                   options={"maxiter": 20000, "maxcor": 30, "gtol": tol, "ftol": 1e-16})
    g = f(res.x)[1]
    return res.x, float(np.linalg.norm(g) / math.sqrt(p))


def trial(params: dict, p: int, rng, q: float, qd: float) -> dict:
    """One instance of the optimal estimator at the theory's smoothing parameters (q, qd)."""
    full = {"alpha": params["alpha"], "noise": params["noise"], "noise_scale": params["noise_scale"],
            "prior": "gaussian" if params["prior"] == "flat" else params["prior"],
            "prior_scale": params["prior_scale"], "sparsity": 1.0, "student_nu": 3.0}
    with one_blas_thread():
        X, y, s0 = instance(full, p, rng)
        loss = SmoothedPenalty(params["noise"], params["noise_scale"], q)
        reg = None if params["prior"] == "flat" else SmoothedPenalty(params["prior"], params["prior_scale"], qd)
        s, gnorm = estimate(X, y, loss, reg)
    if gnorm > 1e-6:
        raise ValueError(f"L-BFGS did not converge at P={p}: gradient norm {gnorm:.2g}")
    return {"mse": float(np.mean((s - s0)**2))}
