"""Approximate message passing (AMP) for the random linear model with a Bernoulli-Gauss prior.

Instance: ``s0`` of P components, i.i.d. ``(1 - rho) delta_0 + rho N(0, 1)``; ``F`` of N x P with
``N = round(alpha P)``, entries i.i.d. ``N(0, 1/P)``; ``y = F s0 + w``, ``w`` i.i.d. ``N(0, Delta)``.

AMP with the Bayes-optimal (posterior-mean) denoiser (D. L. Donoho, A. Maleki and A. Montanari,
PNAS 106, 18914 (2009); F. Krzakala, M. Mezard, F. Sausset, Y. Sun and L. Zdeborova, J. Stat.
Mech. (2012) P08009, in the form with scalar variances)::

    V     = mean(v)                                   (posterior variance of the estimate)
    omega = F a - g_prev V                            (Onsager-corrected output field)
    g     = (y - omega) / (Delta + V)
    Sigma2 = (Delta + V) / alpha_eff,   alpha_eff = sum_mu F_mu i^2 averaged over i
    R     = a + Sigma2 F^T g
    a, v  = posterior mean and variance of s0 from R = s0 + sqrt(Sigma2) z

Its state evolution is ``E_{t+1} = mmse(alpha / (Delta + E_t))`` (the replica model's stationarity
condition), so on large instances AMP's error tracks the largest-E fixed point of the replica
potential. Started from no information (``a = 0``, ``v = rho``).

:func:`amp_instance` (the simulator of :mod:`replica.models.amp`) runs AMP on the same instances in
the form of Donoho, Maleki and Montanari, with either the soft threshold at ``theta tau_t`` or the
posterior-mean denoiser above, ``tau_t`` estimated from the corrected residual, and reports the MSE
after a given number of iterations as well as at the fixed point.
"""
from __future__ import annotations

import numpy as np


def denoise_bernoulli_gauss(R, Sigma2, rho):
    """Posterior mean and variance of s0 ~ (1 - rho) delta_0 + rho N(0, 1) given R = s0 + sqrt(Sigma2) z."""
    R = np.asarray(R, dtype=float)
    if rho >= 1:
        return R / (1 + Sigma2), np.full_like(R, Sigma2 / (1 + Sigma2))
    # log-odds of a non-zero component: N(R; 0, 1 + Sigma2) rho vs N(R; 0, Sigma2) (1 - rho)
    llr = (np.log(rho / (1 - rho)) - 0.5 * np.log1p(1 / Sigma2)
           + R**2 / (2 * Sigma2 * (1 + Sigma2)))
    pi = 0.5 * (1 + np.tanh(llr / 2))               # 1/(1 + exp(-llr)) without overflow
    mean = R / (1 + Sigma2)
    var = Sigma2 / (1 + Sigma2)
    a = pi * mean
    v = pi * (var + mean**2) - a**2
    return a, v


def amp_bernoulli_gauss(p: int, alpha: float, rho: float, Delta: float, rng, iterations: int = 300,
                        tol: float = 1e-10) -> dict:
    """One instance: draw it from ``rng``, run AMP to a fixed point; returns ``mse`` (per component),
    ``iterations`` and the final ``V``."""
    n = max(1, int(round(alpha * p)))
    s0 = rng.standard_normal(p) * (rng.random(p) < rho)
    F = rng.standard_normal((n, p)) / np.sqrt(p)
    y = F @ s0 + np.sqrt(Delta) * rng.standard_normal(n)
    col = np.mean(np.sum(F * F, axis=0))            # sum_mu F_mu i^2, about alpha
    a = np.zeros(p)
    v = np.full(p, rho)
    g = np.zeros(n)
    V_prev = None
    for t in range(iterations):
        V = float(np.mean(v))                        # sum_i F_mu i^2 v_i with sum_i F_mu i^2 about 1
        omega = F @ a - g * V
        g = (y - omega) / (Delta + V)
        Sigma2 = (Delta + V) / col
        R = a + Sigma2 * (F.T @ g)
        a_new, v = denoise_bernoulli_gauss(R, Sigma2, rho)
        change = float(np.mean((a_new - a) ** 2))
        a = a_new
        if V_prev is not None and change < tol * max(rho, 1e-300) and abs(V - V_prev) < tol:
            break
        V_prev = V
    return {"mse": float(np.mean((a - s0) ** 2)), "iterations": t + 1, "V": float(np.mean(v))}


def soft_threshold(r, c):
    """eta(r; c) = sign(r) (|r| - c)_+ and its derivative 1{|r| > c}."""
    r = np.asarray(r, dtype=float)
    return np.sign(r) * np.maximum(np.abs(r) - c, 0.0), (np.abs(r) > c).astype(float)


def amp_instance(p: int, alpha: float, rho: float, Delta: float, rng, denoiser: str = "soft", theta: float = 1.5,
                 t: int = 10, max_iterations: int = 1000, tol: float = 1e-12) -> dict:
    """One instance (the module docstring's, drawn from ``rng``) and AMP in the form of Donoho, Maleki
    and Montanari (PNAS 2009) and Bayati and Montanari (IEEE TIT 2011), with ``A = F/sqrt(alpha)`` and
    ``y' = y/sqrt(alpha)`` (``alpha`` the realised N/P)::

        tau_t^2 = |z^t|^2 / N,   r^t = x^t + A^T z^t,   x^{t+1} = eta(r^t; tau_t),
        z^{t+1} = y' - A x^{t+1} + z^t <eta'(r^t; tau_t)> / alpha,

    from ``x^0 = 0``, ``z^0 = y'``; ``denoiser`` "soft" (soft threshold at ``theta tau_t``) or "bayes"
    (posterior mean given ``r = s0 + tau_t Z``, :func:`denoise_bernoulli_gauss`; its derivative is the
    posterior variance over ``tau_t^2``). Returns ``mse_t`` (|x^t - s0|^2/P after ``t`` iterations),
    ``mse`` and ``tau`` (|z|/sqrt(N)) at the fixed point (relative change of x and tau below ``tol``, at
    most ``max_iterations``; ``converged`` says whether the tolerance was met) and ``iterations``."""
    if denoiser not in ("soft", "bayes"):
        raise ValueError(f"denoiser={denoiser!r}: allowed soft, bayes")
    n = max(1, int(round(alpha * p)))
    s0 = rng.standard_normal(p) * (rng.random(p) < rho)
    F = rng.standard_normal((n, p)) / np.sqrt(p)
    y = F @ s0 + np.sqrt(Delta) * rng.standard_normal(n)
    a_eff = n / p
    A = F / np.sqrt(a_eff)
    yp = y / np.sqrt(a_eff)
    x = np.zeros(p)
    z = yp.copy()
    mse_t = float(np.mean(s0**2)) if t == 0 else None
    tau2 = float(z @ z) / n
    converged = False
    k = 0
    while k < max(int(t), max_iterations):
        r = x + A.T @ z
        if denoiser == "soft":
            x_new, slope = soft_threshold(r, theta * np.sqrt(tau2))
        else:
            x_new, v = denoise_bernoulli_gauss(r, tau2, rho)
            slope = v / tau2
        z = yp - A @ x_new + z * (float(np.mean(slope)) / a_eff)
        k += 1
        change = float(np.sum((x_new - x) ** 2)) / max(float(np.sum(x_new**2)), 1e-300)
        x = x_new
        tau2_new = float(z @ z) / n
        settled = change < tol**2 and abs(tau2_new - tau2) <= tol * tau2
        tau2 = tau2_new
        if k == t:
            mse_t = float(np.mean((x - s0) ** 2))
        if settled and k >= t:
            converged = True
            break
    return {"mse": float(np.mean((x - s0) ** 2)), "mse_t": mse_t, "tau": float(np.sqrt(tau2)),
            "iterations": k, "converged": converged}
