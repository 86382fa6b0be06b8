"""Finite-size simulations of the storage capacity of the spherical perceptron.

Model
-----
Weights ``w`` in ``R^N`` with ``|w|^2 = N``; ``P`` patterns ``xi_mu`` drawn
i.i.d. from the standard Gaussian ``N(0, I_N)`` (Gaussian patterns: they are in
general position with probability one, so Cover's counting formula applies
exactly) with labels ``y_mu = +-1`` drawn uniformly at random.  The instance is
*separable with margin* ``kappa`` if some ``w`` on the sphere satisfies

    y_mu (w . xi_mu) / sqrt(N) >= kappa        for every mu.

With ``u = w / sqrt(N)`` (a unit vector) the condition reads
``y_mu (u . xi_mu) >= kappa``; so the *optimal margin* is

    kappa*(xi, y) = max_{|u| = 1} min_mu  z_mu . u,      z_mu = y_mu xi_mu,

and the instance is separable with margin ``kappa >= 0`` iff
``kappa* >= kappa``.  In this normalisation the Gardner capacity is
``alpha_c(kappa) = 1 / ((1 + kappa^2) H(-kappa) + kappa phi(kappa))``
(``alpha_c(0) = 2``), see :func:`gardner_capacity`.

Solvers
-------
* ``kappa = 0``: the bounded max-margin linear programme of
  ``shared/NUMERICS.md`` solved with HiGHS (``scipy.optimize.linprog``),
  whose optimal ``w`` is checked directly (a positive margin of an explicit
  ``w`` is a certificate of separability).
* ``kappa > 0`` and :func:`max_margin`: the hard-margin SVM without bias,
  ``min |v|^2 s.t. z_mu . v >= 1``, solved through its dual, the minimum-norm
  point of the convex hull of the ``z_mu``, written as a non-negative least
  squares problem (Lawson--Hanson active set, exact in finitely many steps).
  The answer is certified by a duality gap computed from the solution.

Cover's formula (:func:`cover_probability`) gives the exact finite-``N``
probability of separability at ``kappa = 0`` and is the reference for the
simulations; the threshold ``P*`` it implies is ``1 +`` a negative-binomial
variable, whence the closed forms of :func:`cover_mean_threshold` and
:func:`cover_threshold_std`.

All randomness comes from the ``numpy.random.Generator`` passed in.
"""

from __future__ import annotations

import math
import numbers

import numpy as np
from scipy.optimize import linprog, nnls
from scipy.special import ndtr

__all__ = [
    "is_separable",
    "max_margin",
    "max_margin_solution",
    "separability_threshold",
    "gardner_capacity",
    "cover_probability",
    "cover_mean_threshold",
    "cover_threshold_std",
    "LP_MARGIN_TOL",
]

#: A ``kappa = 0`` LP instance is called separable iff the LP's optimal
#: ``w`` (box-bounded, ``|w_i| <= 1``) has ``min_mu y_mu (xi_mu . w) > LP_MARGIN_TOL``.
#:
#: Why this value.  The margin is recomputed from ``w`` in floating point, so
#: a positive value is a certificate of separability up to the rounding of the
#: dot products, at most ``~ N * eps * max|xi| ~ 1e-12`` for ``N <= 10^3``:
#: the tolerance is 1000 times that, so a non-separable instance (for which
#: HiGHS returns ``w = 0`` exactly, and any ``w`` has margin <= 0) is never
#: called separable.  Conversely a separable instance is missed only if its
#: optimal box margin ``t*`` is below ``~1e-9`` (or below HiGHS's feasibility
#: tolerance, 1e-7, which bounds how far the recomputed margin can fall below
#: ``t*``).  Measured over 5000 largest-separable prefixes (P = P* - 1, the
#: worst case) at N = 20 (2000), 50 (2000) and 100 (1000) the smallest ``t*``
#: was 1.4e-5 and 2-4 % were below 1e-3, i.e. a density of ``t*`` near 0 of
#: ~30, so the chance of a wrong call is ~3e-6 per boundary instance.  (No
#: disagreement with the certified NNLS max-margin solver was found in those
#: 10000 boundary decisions; non-separable instances gave ``t* = w = 0``.)
LP_MARGIN_TOL = 1e-9

# Duality gap accepted from the NNLS max-margin solver, relative to the largest
# |z_mu| (the scale of the problem); larger gaps raise RuntimeError.
_GAP_RTOL = 1e-8


# --------------------------------------------------------------------------
# input validation
# --------------------------------------------------------------------------
def _check_int(name: str, value, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _check_kappa(kappa) -> float:
    try:
        k = float(kappa)
    except (TypeError, ValueError):
        raise ValueError(f"kappa must be a finite real number >= 0, got {kappa!r}") from None
    if not math.isfinite(k) or k < 0:
        raise ValueError(
            f"kappa must be a finite real number >= 0, got {kappa!r} "
            "(kappa < 0 makes the problem non-convex and is not supported)"
        )
    return k


def _signed_patterns(xi, y) -> np.ndarray:
    """Validate ``xi`` (P x N) and ``y`` (P,) and return ``z = y[:, None] * xi``."""
    xi = np.asarray(xi, dtype=float)
    y = np.asarray(y)
    if xi.ndim != 2 or xi.shape[1] < 1:
        raise ValueError(f"xi must be a 2-d array of shape (P, N) with N >= 1, got shape {xi.shape}")
    if not np.all(np.isfinite(xi)):
        raise ValueError("xi must contain only finite values, got non-finite entries")
    if y.shape != (xi.shape[0],):
        raise ValueError(f"y must have shape (P,) = ({xi.shape[0]},), got shape {y.shape}")
    if y.size and not np.all((y == 1) | (y == -1)):
        raise ValueError(f"y must contain only labels +1 and -1, got values {np.unique(y)[:5]}")
    return y.astype(float)[:, None] * xi


# --------------------------------------------------------------------------
# separability and margins of one instance
# --------------------------------------------------------------------------
def _lp_separable(z: np.ndarray) -> bool:
    """Bounded max-margin LP: max t s.t. z_mu . w >= t, |w_i| <= 1, 0 <= t <= 1."""
    p, n = z.shape
    c = np.zeros(n + 1)
    c[-1] = -1.0  # minimise -t
    a_ub = np.hstack([-z, np.ones((p, 1))])  # t - z_mu . w <= 0
    bounds = [(-1.0, 1.0)] * n + [(0.0, 1.0)]
    res = linprog(c, A_ub=a_ub, b_ub=np.zeros(p), bounds=bounds, method="highs")
    if res.status != 0:
        raise RuntimeError(f"HiGHS max-margin LP failed (status {res.status}): {res.message}")
    w = res.x[:n]
    return bool(np.min(z @ w) > LP_MARGIN_TOL)


def max_margin_solution(xi, y) -> tuple[float, np.ndarray]:
    """Optimal L2 margin and a weight vector attaining it.

    Returns ``(kappa_star, w)`` with ``|w|^2 = N`` and
    ``min_mu y_mu (w . xi_mu) / sqrt(N) = kappa_star`` (to rounding).

    Method: by minimax duality, for a separable instance
    ``kappa* = max_{|u|=1} min_mu z_mu . u = min_{lambda in simplex} |Z^T lambda|``,
    the distance from the origin to the convex hull of ``z_mu = y_mu xi_mu``;
    the minimiser ``c = Z^T lambda`` gives ``u = c/|c|`` and the hard-margin
    SVM solution ``v = c/|c|^2`` (``min |v|^2`` s.t. ``z_mu . v >= 1``).
    The hull distance is found with the NNLS problem
    ``min_{a >= 0} |Z^T a|^2 + (1 - sum(a))^2``: writing ``a = s lambda`` and
    minimising over ``s`` gives ``d^2 / (1 + d^2)`` with
    ``d = |Z^T lambda|``, increasing in ``d``, so its minimiser is the hull's
    minimum-norm point.  ``min_mu z_mu . u`` (a lower bound on ``kappa*``)
    and ``|c|`` (an upper bound) certify the result; a gap above
    ``1e-8 max_mu |z_mu|`` raises ``RuntimeError`` (measured gaps: below
    ``3e-12 max_mu |z_mu|`` at N = 20-200 near capacity).

    Not separable (the origin is in the hull, ``kappa* <= 0``): returns
    ``(-inf, w)`` with ``w`` the zero vector.  ``P = 0``: ``(inf, w)`` with
    ``w`` an arbitrary vector with ``|w|^2 = N``.
    """
    z = _signed_patterns(xi, y)
    p, n = z.shape
    if p == 0:
        w = np.zeros(n)
        w[0] = math.sqrt(n)
        return math.inf, w
    a_mat = np.vstack([z.T, np.ones((1, p))])
    b = np.zeros(n + 1)
    b[-1] = 1.0
    try:
        a, _ = nnls(a_mat, b, maxiter=50 * (p + n))
    except RuntimeError as exc:  # iteration limit
        raise RuntimeError(f"NNLS max-margin solver failed: {exc}") from exc
    s = a.sum()
    if not s > 0:
        raise RuntimeError("NNLS max-margin solver returned the zero vector")
    c = z.T @ (a / s)
    upper = float(np.linalg.norm(c))  # |Z^T lambda| >= kappa* (weak duality)
    scale = float(np.max(np.linalg.norm(z, axis=1)))
    if upper > 0:
        u = c / upper
        lower = float(np.min(z @ u))  # margin actually attained by u
    else:
        lower = -math.inf
    if lower > 0:
        if upper - lower > _GAP_RTOL * scale:
            raise RuntimeError(
                f"NNLS max-margin solution not certified: margin bracket [{lower}, {upper}]"
            )
        return lower, math.sqrt(n) * u
    if upper > _GAP_RTOL * scale:
        raise RuntimeError(
            f"NNLS max-margin solver inconclusive: attained margin {lower} <= 0 "
            f"but hull distance {upper} > {_GAP_RTOL * scale}"
        )
    return -math.inf, np.zeros(n)


def max_margin(xi, y) -> float:
    """Optimal margin ``kappa* = max_{|w|^2=N} min_mu y_mu w.xi_mu / sqrt(N)``.

    ``xi`` has shape ``(P, N)``, ``y`` shape ``(P,)`` with entries +-1.
    Returns ``-inf`` if the instance is not linearly separable through the
    origin (the true, negative, optimum of that non-convex case is not
    computed) and ``+inf`` for ``P = 0``.  See :func:`max_margin_solution`
    for the method and the certificate.
    """
    return max_margin_solution(xi, y)[0]


def is_separable(xi, y, kappa: float = 0.0) -> bool:
    """Is there ``w`` with ``|w|^2 = N`` and ``y_mu w.xi_mu / sqrt(N) >= kappa``?

    ``kappa = 0``: bounded max-margin LP with HiGHS (``max t`` s.t.
    ``y_mu xi_mu . w >= t``, ``|w_i| <= 1``, ``0 <= t <= 1``); separable iff
    the optimal ``w`` has margin above :data:`LP_MARGIN_TOL` (see there for
    the choice).  Raises ``RuntimeError`` with HiGHS's message if the LP is
    not solved to optimality.

    ``kappa > 0``: ``max_margin(xi, y) >= kappa`` (hard-margin SVM).

    ``kappa < 0`` (non-convex) raises ``ValueError``.
    """
    kappa = _check_kappa(kappa)
    z = _signed_patterns(xi, y)
    if z.shape[0] == 0:
        return True
    if kappa == 0.0:
        return _lp_separable(z)
    return max_margin_solution(xi, y)[0] >= kappa


# --------------------------------------------------------------------------
# threshold of one random instance
# --------------------------------------------------------------------------
def gardner_capacity(kappa: float) -> float:
    """Gardner's capacity ``alpha_c(kappa) = 1/((1+k^2) H(-k) + k phi(k))``."""
    k = _check_kappa(kappa)
    phi = math.exp(-0.5 * k * k) / math.sqrt(2.0 * math.pi)
    return 1.0 / ((1.0 + k * k) * float(ndtr(k)) + k * phi)


def _initial_count(n: int, kappa: float) -> int:
    """Patterns drawn at first: capacity plus 6 standard deviations (at kappa = 0) plus 2."""
    return math.ceil(gardner_capacity(kappa) * n + 6.0 * math.sqrt(2.0 * n)) + 2


def _draw(rng: np.random.Generator, count: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    xi = rng.standard_normal((count, n))
    y = 2 * rng.integers(0, 2, size=count) - 1
    return xi, y


def separability_threshold(n: int, kappa: float, rng: np.random.Generator) -> int:
    """Threshold ``P*`` of one random instance: first non-separable prefix length.

    Draws a sequence of Gaussian patterns with random labels, ``xi_1, xi_2,
    ...`` in ``R^n``, and returns ``P* = 1 + max{P : the first P patterns are
    separable with margin kappa}``.  Separability of nested prefixes is
    monotone, so ``P*`` is found by bisection over the prefix length
    (``~log2(n)`` solver calls).

    Initially ``ceil(alpha_c n + 6 sqrt(2 n)) + 2`` patterns are drawn
    (``alpha_c`` = Gardner capacity; ``sqrt(2n)`` is the standard deviation of
    ``P*`` at ``kappa = 0``); if even all of them are separable, more are
    drawn (doubling the extension each time) -- the count is never capped.
    At ``kappa = 0`` prefixes of length ``<= n`` are taken as separable
    (probability one for Gaussian patterns), so ``P* >= n + 1``.

    Cost (CPU time, measured on a shared 2-core machine): at ``kappa = 0``
    (7-9 HiGHS LPs) 0.07 s at n = 50, 0.27 s at n = 100, 1.9 s at n = 200
    (the LP cost grows ~n^3); at ``kappa = 0.5`` (NNLS) 3 ms, 13 ms, 36 ms.
    """
    n = _check_int("n", n, 1)
    kappa = _check_kappa(kappa)
    if not isinstance(rng, np.random.Generator):
        raise ValueError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")

    def separable(p: int) -> bool:
        if kappa == 0.0:
            return _lp_separable(z[:p])
        return max_margin_solution(xi[:p], y[:p])[0] >= kappa

    count = _initial_count(n, kappa)
    xi, y = _draw(rng, count, n)
    z = y[:, None] * xi
    lo = n if kappa == 0.0 else 0  # largest prefix known to be separable
    lo = min(lo, count - 1)  # (only if the initial count is tiny)
    hi = count  # smallest prefix assumed (then checked) non-separable
    hi_checked = False
    extra = count
    while True:
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if separable(mid):
                lo = mid
            else:
                hi, hi_checked = mid, True
        if hi_checked or not separable(hi):
            return hi
        # Every drawn pattern is separable: draw more and search above.
        lo = hi
        more_xi, more_y = _draw(rng, extra, n)
        xi = np.vstack([xi, more_xi])
        y = np.concatenate([y, more_y])
        z = y[:, None] * xi
        hi = xi.shape[0]
        extra *= 2


# --------------------------------------------------------------------------
# Cover's exact finite-N results at kappa = 0
# --------------------------------------------------------------------------
def cover_probability(p: int, n: int) -> float:
    """Cover's probability that ``p`` random labelled points are separable in ``n`` dims.

    ``C(p, n) / 2^p`` with ``C(p, n) = 2 sum_{k=0}^{n-1} binom(p-1, k)``
    (points in general position, separation through the origin), i.e.
    ``P(Binomial(p-1, 1/2) <= n-1)``.  Computed with exact integers and a
    single correctly rounded division, so the result is the double nearest to
    the exact rational (``cover_probability(2n, n) == 0.5`` exactly, ``1.0``
    for ``p <= n``); ~10 ms at ``p = 10^4``.
    """
    p = _check_int("p", p, 0)
    n = _check_int("n", n, 1)
    if p <= n:
        return 1.0
    m = p - 1
    # Sum the shorter tail: sum_{k<n} binom(m, k) or 2^m - sum_{k>=n} binom(m, k).
    lower_tail = 2 * (n - 1) <= m
    terms = n if lower_tail else m - n + 1  # binom(m, k) for k < terms (by symmetry)
    total, c = 0, 1
    for k in range(terms):
        total += c
        c = c * (m - k) // (k + 1)
    if not lower_tail:
        total = (1 << m) - total
    return total / (1 << m)  # int / int: correctly rounded in Python


def cover_mean_threshold(n: int) -> float:
    """Exact ``E[P*/n]`` at ``kappa = 0`` implied by Cover's formula: ``2 + 1/n``.

    ``P(P* > p) = P(Binomial(p-1, 1/2) <= n-1) = P(T_n >= p)`` with ``T_n``
    the number of fair coin tosses needed for ``n`` heads, so
    ``P* = T_n + 1`` in distribution (a shifted negative binomial) and
    ``E[P*] = 2n + 1``.  (Checked against the series
    ``sum_{p>=0} cover_probability(p, n)`` in the tests.)
    """
    n = _check_int("n", n, 1)
    return 2.0 + 1.0 / n


def cover_threshold_std(n: int) -> float:
    """Standard deviation of ``P*/n`` at ``kappa = 0`` from Cover: ``sqrt(2/n)``.

    ``Var(P*) = Var(T_n) = n (1 - 1/2) / (1/2)^2 = 2n`` (negative binomial,
    see :func:`cover_mean_threshold`).
    """
    n = _check_int("n", n, 1)
    return math.sqrt(2.0 / n)
