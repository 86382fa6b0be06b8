"""Finite-size simulation of the expanded, max-margin-trained and pruned perceptron.

Model (:mod:`replica.models.expansion_perceptron`): a teacher ``T`` (``|T|^2 = N``), ``P = round(alpha N)``
inputs ``x_mu ~ N(0, I_N)`` and noisy labels ``y_mu = sign(T.x_mu/sqrt(N) + noise eta_mu)``, drawn by
:func:`replica.simulators.teacher_student.draw_instance` (same order of draws). Then
``M = round(expansion N)`` expanded units with binary activities ``a_mu,j`` of coding level ``f``,
seen centred, ``a - f``:

* ``units="stochastic"``: ``a_mu,j ~ Bernoulli(f)`` independently of everything (``P x M`` uniforms);
* ``units="sparse"``: ``a_mu,j = Theta(g_j.x_mu/sqrt(N) - theta)``, ``g_j ~ N(0, I_N)`` (an ``M x N``
  Gaussian matrix), ``theta = H^{-1}(f)`` so that a unit is active with probability ``f``.

Learning is the hard-margin SVM of the expanded inputs ``z_mu = (x_mu, a_mu - f)``, i.e. the
max-margin direction, by :func:`replica.simulators.perceptron.max_margin_solution` (certified NNLS;
the same solver as the teacher-student simulator), normalised to ``|w|^2 + |v|^2 = N``.
Observables of one instance:

* ``kappa = min_mu y_mu (w.x_mu + v.(a_mu - f))/sqrt(N)``;
* ``Q_w = |w|^2/N`` (the squared norm kept by pruning);
* ``eps_g = arccos(w.T/(|w||T|))/pi``: the pruned student's exact error against the noiseless rule
  on a fresh Gaussian input (Sheppard's formula: no test set needed);
* ``eps_g_full``: the unpruned network's error on a fresh input with fresh units. Stochastic units:
  the field ``w.x + v.(a - f)`` is, to O(1/M) (central limit theorem over the units; the fourth
  cumulant of ``v.(a - f)`` is ``O(sum v_j^4/|v|^4)``), Gaussian with variance
  ``|w|^2 + f(1 - f)|v|^2`` and covariance ``w.T/sqrt(N)`` with the teacher's field, so
  ``eps_g_full = arccos(w.T/(sqrt(N) sqrt(|w|^2 + f(1-f)|v|^2)))/pi``; the O(1/N) correction is removed
  by the 1/N extrapolation of ``replica compare``. Sparse units: estimated on ``test`` fresh inputs
  (default ``4 P``; Monte Carlo noise is part of the trial-to-trial spread).

A non-separable training set (noise, alpha beyond the capacity) raises
:class:`~replica.errors.SimulationError` (confirmed by the separability LP).
"""
from __future__ import annotations

import math

import numpy as np
from scipy.special import ndtri

from ..errors import ParameterError, SimulationError
from . import perceptron as _pc
from .teacher_student import draw_instance

UNITS = ("stochastic", "sparse")


def _check(alpha, expansion, sparsity, noise, units):
    for name, value, ok, allowed in (
            ("alpha", alpha, lambda x: x > 0, "a finite real number > 0"),
            ("expansion", expansion, lambda x: x >= 0, "a finite real number >= 0"),
            ("sparsity", sparsity, lambda x: 0 < x <= 1, "a real number in (0, 1]"),
            ("noise", noise, lambda x: x >= 0, "a finite real number >= 0")):
        try:
            x = float(value)
        except (TypeError, ValueError):
            raise ParameterError(f"{name}={value!r} is out of range; allowed: {allowed}") from None
        if isinstance(value, bool) or not math.isfinite(x) or not ok(x):
            raise ParameterError(f"{name}={value!r} is out of range; allowed: {allowed}")
    if units not in UNITS:
        raise ParameterError(f"units={units!r} is unknown; allowed: one of {', '.join(map(repr, UNITS))}")


def expanded_units(xi, m, sparsity, units, rng):
    """Centred activities ``a - f`` (``P x m``) of the expanded units for inputs ``xi`` (``P x N``)."""
    p, n = xi.shape
    f = float(sparsity)
    if units == "stochastic":
        a = (rng.random((p, m)) < f).astype(float)
    else:
        g = rng.standard_normal((m, n))
        theta = -ndtri(f) if f < 1 else -math.inf          # P(g.x/sqrt(N) > theta) = f
        a = (xi @ g.T / math.sqrt(n) > theta).astype(float)
        return a - f, g, theta
    return a - f, None, None


def trial(n: int, alpha: float, expansion: float, sparsity: float, noise: float, rng: np.random.Generator,
          units: str = "stochastic", test: int | None = None) -> dict:
    """One instance: ``eps_g`` (pruned), ``eps_g_full`` (unpruned), ``kappa``, ``Q_w``, ``R_pruned``."""
    _check(alpha, expansion, sparsity, noise, units)
    inst = draw_instance(n, alpha, rng, noise, 0.0)
    m = int(round(float(expansion) * n))
    f = float(sparsity)
    eta, g, theta = expanded_units(inst.xi, m, f, units, rng)
    z = np.hstack([inst.xi, eta])
    try:
        kappa_dir, u = _pc.max_margin_solution(z, inst.y)
    except RuntimeError as exc:
        kappa_dir, u, failure = -math.inf, None, exc
    else:
        failure = None
    if not kappa_dir > 0:
        where = f"N={n}, M={m}, P={inst.p}, noise={noise}"
        if _pc.is_separable(z, inst.y):
            raise SimulationError(f"expansion-perceptron: the max-margin solver failed on a separable instance "
                                  f"({where}): {failure or 'no positive margin'}")
        raise SimulationError(f"expansion-perceptron: the training set is not separable by the expanded network "
                              f"({where}; confirmed by the LP): use a smaller alpha, more expansion or less noise")
    W = u / np.linalg.norm(u) * math.sqrt(n)                 # |w|^2 + |v|^2 = N
    w, v = W[:n], W[n:]
    kappa = float(np.min(inst.y * (z @ W)) / math.sqrt(n))
    that = inst.teacher / math.sqrt(n)
    R = float(w @ that) / math.sqrt(n)                        # w.T/N
    Qw = float(w @ w) / n
    Rp = float(np.clip(R / math.sqrt(Qw), -1, 1))
    out = {"eps_g": math.acos(Rp) / math.pi, "R_pruned": Rp, "kappa": kappa, "Q_w": Qw}
    if units == "stochastic":
        Rf = R / math.sqrt(Qw + f * (1 - f) * float(v @ v) / n)
        out["eps_g_full"] = math.acos(float(np.clip(Rf, -1, 1))) / math.pi
    else:
        k = 4 * inst.p if test is None else int(test)
        xt = rng.standard_normal((k, n))
        at = (xt @ g.T / math.sqrt(n) > theta).astype(float) - f if m else np.zeros((k, 0))
        h = xt @ w + at @ v
        out["eps_g_full"] = float(np.mean(np.sign(h) != np.sign(xt @ inst.teacher)))
    return out


def slack_svm(xi, y, eta):
    """The soft-margin SVM equivalent to the hard-margin SVM on ``(xi, eta)`` (``eta``: ``P x M``,
    ``M >= P``, full row rank): ``min |w|^2 + N s^T (eta eta^T)^{-1} s`` subject to
    ``y_mu (w.xi_mu/sqrt(N) + s_mu) >= 1``, solved through its dual (a bounded QP on the support
    multipliers, scipy L-BFGS-B). Returns ``(w, s)``: ``w`` the SVM's input weights, ``s`` the slacks.

    Derivation (module :mod:`replica.models.expansion_perceptron`, *Slack variables*): the cheapest
    ``v`` with ``eta v/sqrt(N) = s`` is ``v = sqrt(N) eta^T (eta eta^T)^{-1} s``, of squared norm
    ``N s^T (eta eta^T)^{-1} s``. The dual of the soft-margin problem: with ``K = (eta eta^T)/N``,
    maximise ``sum_mu a_mu - (1/4) a^T (Y (X X^T/N + K) Y) a`` over ``a >= 0``; then
    ``w = (1/2) sum_mu a_mu y_mu xi_mu/sqrt(N)`` and ``s = (1/2) K Y a``.
    """
    from scipy.optimize import minimize
    p, n = xi.shape
    K = eta @ eta.T / n
    G = (y[:, None] * y[None, :]) * (xi @ xi.T / n + K)

    def fun(a):
        ga = G @ a
        return 0.25 * a @ ga - a.sum(), 0.5 * ga - 1.0

    res = minimize(fun, np.ones(p), jac=True, method="L-BFGS-B", bounds=[(0, None)] * p,
                   options={"maxiter": 20000, "ftol": 1e-15, "gtol": 1e-12})
    a = res.x
    w = 0.5 * (a * y) @ xi / math.sqrt(n)
    s = 0.5 * K @ (y * a)
    return w, s
