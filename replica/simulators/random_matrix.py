"""Finite-size sample covariances: white noise (Marchenko-Pastur) and one planted spike (BBP).

Model
-----
``X`` is ``P x N`` with independent Gaussian entries, ``P = gamma N`` (``gamma N`` must
be an integer: rounding would add an erratic ``O(1/N)`` bias that no power
series in ``1/N`` extrapolates away), and ``C = X X^T / N``. White noise: the
entries are ``N(0, 1)``. Spiked: the population covariance is
``I + beta u u^T`` with ``u = e_1`` (the law of ``C`` up to a rotation does not
depend on ``u``, so nothing is lost), i.e. the first row of ``X`` is
multiplied by ``sqrt(1 + beta)``. Eigenvalues come from the smaller of the two
Gram matrices ``X X^T/N`` (P x P) and ``X^T X/N`` (N x N); when ``P > N`` the
remaining ``P - N`` eigenvalues are exactly 0.

Estimators and their finite-size corrections (the powers of the N -> oo fits)
---------------------------------------------------------------------------
* Density at ``x``: a Gaussian kernel estimate
  ``rho_h(x) = (1/P) sum_i phi_h(lambda_i - x)`` with bandwidth
  ``h = d / sqrt(N)``, ``d`` the distance from ``x`` to the nearest edge of
  the limiting support (and to the atom at 0 when ``gamma > 1``). A fixed
  bandwidth would converge to the smoothed density, not to ``rho(x)``; with
  ``h^2 ~ 1/N`` the smoothing bias is ``h^2 rho''/2 + h^4 rho''''/8 + ... ``,
  a series in ``1/N``, and so is the finite-N correction of the mean density in
  the bulk (its O(1/N) oscillating part, of wavelength ``1/(N rho)``, is
  damped by ``exp(-2 (pi N rho h)^2)``, negligible because ``N h >> 1``).
  Hence ``E rho_h(x) = rho(x) + c_1/N + c_2/N^2 + ...``: powers (1, 2). The
  kernel sits ``sqrt(N)`` bandwidths away from the nearest edge, so the edge
  (where the expansion breaks down) does not contribute (weight ``exp(-N/2)``;
  use N >= 50). Measured at gamma = 0.5, x = 1: the smoothing bias alone is
  0.137/N to three digits from N = 50 to 800. The variance of a mesoscopic linear statistic is O(1), so the estimate's
  standard deviation is ``O(1/(P h)) = O(N^(-1/2))``.
* Moments ``(1/P) tr C^k``: ``E`` is a polynomial in ``1/N`` at fixed ``gamma``
  (Wick's theorem); the exact values for k = 2, 3 are :func:`wishart_moment_exact`.
* Top eigenvalue: below the BBP threshold it converges to the upper edge with
  Tracy-Widom fluctuations on the scale ``N^(-2/3)`` (Johnstone, Ann. Statist.
  29, 295 (2001); Baik, Ben Arous & Peche, Ann. Probab. 33, 1643 (2005)); the
  Tracy-Widom law has a nonzero mean (about -1.21 for real matrices), so the
  MEAN's leading correction is also ``N^(-2/3)``, followed by ``N^(-1)`` (the
  centring ``(sqrt(N - 1/2) + sqrt(P - 1/2))^2/N`` differs from the edge by
  O(1/N)). Above the threshold the outlier fluctuates on ``N^(-1/2)``
  (Gaussian; Paul, Statist. Sinica 17, 1617 (2007)) and its mean, a smooth
  function of O(1/N) fluctuations, has an ``N^(-1)`` correction. One model has
  one set of powers, so the spiked model fits (2/3, 1), valid on both sides.
* Squared overlap of the top eigenvector with the spike: above the threshold a
  smooth function of the outlier's O(N^(-1/2)) fluctuations, mean correction
  O(1/N); below it the top eigenvector is delocalised, overlap O(1/N).

Goodness of fit of the histogram: :func:`histogram_gof` bins the eigenvalues
of every trial at MP quantiles, extrapolates the mean bin fractions to
N -> oo exactly as above, and computes a chi-square with the covariance of the
extrapolated fractions estimated from the trial-to-trial scatter (trials are
independent; the eigenvalues within one matrix are not, which is why the
covariance comes from the trials and not from a multinomial formula).

All randomness comes from the ``numpy.random.Generator`` passed in.
"""
from __future__ import annotations

import math

import numpy as np
from scipy import optimize, stats

__all__ = ["dimension", "sample_data", "eigenvalues", "mp_density", "mp_cdf", "mp_support",
           "kernel_density", "bandwidth", "top_eigenpair", "wishart_moment_exact",
           "marchenko_pastur_trial", "spiked_trial", "histogram_gof", "bbp_threshold",
           "bbp_top_eigenvalue", "bbp_overlap2"]


# ---------------------------------------------------------------------------
# sampling and eigen-decomposition
# ---------------------------------------------------------------------------
def dimension(gamma: float, n: int) -> int:
    """P = gamma N; a ValueError unless gamma N is an integer >= 1 (to 1e-9)."""
    if not (isinstance(gamma, (int, float)) and math.isfinite(gamma) and gamma > 0):
        raise ValueError(f"gamma must be a finite number > 0, got {gamma!r}")
    p = gamma * n
    k = round(p)
    if abs(p - k) > 1e-9 * max(1.0, p) or k < 1:
        raise ValueError(f"P = gamma*N = {p:g} is not a positive integer (gamma={gamma:g}, N={n}); choose N so "
                         "that gamma*N is an integer (rounding P would bias the N -> oo extrapolation)")
    return int(k)


def sample_data(p: int, n: int, rng, beta: float = 0.0) -> np.ndarray:
    """X (p x n), i.i.d. N(0, 1), first row scaled by sqrt(1 + beta) (population covariance I + beta e1 e1^T)."""
    X = rng.standard_normal((p, n))
    if beta:
        X[0] *= math.sqrt(1.0 + beta)
    return X


def eigenvalues(X: np.ndarray) -> np.ndarray:
    """All P eigenvalues of C = X X^T / N, ascending (P - N exact zeros first when P > N)."""
    p, n = X.shape
    if p <= n:
        return np.linalg.eigvalsh(X @ X.T / n)
    nonzero = np.linalg.eigvalsh(X.T @ X / n)
    return np.concatenate([np.zeros(p - n), nonzero])


def top_eigenpair(X: np.ndarray):
    """(largest eigenvalue of C = X X^T/N, its unit eigenvector)."""
    p, n = X.shape
    if p <= n:
        w, v = np.linalg.eigh(X @ X.T / n)
        return float(w[-1]), v[:, -1]
    w, v = np.linalg.eigh(X.T @ X / n)
    vec = X @ v[:, -1]
    return float(w[-1]), vec / np.linalg.norm(vec)


# ---------------------------------------------------------------------------
# the Marchenko-Pastur law, written out (literature, for the estimators and the GOF)
# ---------------------------------------------------------------------------
def mp_support(gamma: float):
    s = math.sqrt(gamma)
    return (1 - s) ** 2, (1 + s) ** 2


def mp_density(x, gamma: float):
    """sqrt((b - x)(x - a))/(2 pi gamma x) on [a, b], 0 elsewhere (continuous part)."""
    a, b = mp_support(gamma)
    x = np.asarray(x, dtype=float)
    inside = (x > a) & (x < b)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = np.sqrt(np.clip((b - x) * (x - a), 0, None)) / (2 * math.pi * gamma * x)
    return np.where(inside, r, 0.0)


def mp_cdf(t, gamma: float) -> float:
    """Mass of the continuous part of the MP law below t (the atom at 0 excluded), in closed form.

    With lambda = c - r cos(theta) (c = 1 + gamma, r = 2 sqrt(gamma) the centre and half-width of
    [a, b]) the mass up to theta is (2/pi) [sin(theta)/(2 sqrt(gamma)) + (1 + gamma) theta/(4 gamma)
    - |1 - gamma|/(2 gamma) arctan(sqrt(b/a) tan(theta/2))] (elementary integration of
    r^2 sin^2(theta)/(2 pi gamma lambda); tested against quadrature); 1 or 1/gamma at t >= b."""
    a, b = mp_support(gamma)
    if t <= a:
        return 0.0
    if t >= b:
        return min(1.0, 1.0 / gamma)
    c, r = 1 + gamma, 2 * math.sqrt(gamma)
    th = math.acos((c - t) / r)
    arc = 0.0 if a == 0 else abs(1 - gamma) / (2 * gamma) * math.atan(math.sqrt(b / a) * math.tan(th / 2))
    return (2 / math.pi) * (math.sin(th) / r + c * th / (4 * gamma) - arc)


def mp_quantiles(gamma: float, k: int) -> np.ndarray:
    """Inner edges of k bins of equal probability under the continuous part (normalised)."""
    a, b = mp_support(gamma)
    mass = mp_cdf(b, gamma)
    return np.array([optimize.brentq(lambda t: mp_cdf(t, gamma) / mass - j / k, a, b, xtol=1e-14)
                     for j in range(1, k)])


# ---------------------------------------------------------------------------
# estimators
# ---------------------------------------------------------------------------
def bandwidth(x: float, gamma: float, n: int) -> float:
    """h = d/sqrt(N), d the distance from x to the nearest singular point of the limit law."""
    a, b = mp_support(gamma)
    singular = [a, b] + ([0.0] if gamma >= 1 else [])
    d = min(abs(x - s) for s in singular)
    if d <= 0:
        raise ValueError(f"x={x:g} is an edge of the Marchenko-Pastur support [{a:g}, {b:g}]: the density "
                         "is not smooth there and the kernel estimate has no 1/N expansion; choose x "
                         "strictly inside or outside the bulk")
    return d / math.sqrt(n)


def kernel_density(eigs: np.ndarray, x: float, h: float, p: int | None = None) -> float:
    """(1/P) sum_i phi((lambda_i - x)/h)/h with phi the standard normal density."""
    p = len(eigs) if p is None else p
    u = (np.asarray(eigs) - x) / h
    return float(np.sum(np.exp(-0.5 * u * u)) / (p * h * math.sqrt(2 * math.pi)))


def wishart_moment_exact(p: int, n: int, k: int) -> float:
    """E (1/P) tr (X X^T/N)^k for X (P x N) with i.i.d. N(0, 1) entries, exactly (k = 1, 2, 3).

    From E tr W = PN, E tr W^2 = PN(N + P + 1), E tr W^3 = PN(N^2 + P^2 + 3NP + 3N + 3P + 4)
    for the real Wishart matrix W = X X^T (e.g. G. Letac and H. Massam, "All invariant moments
    of the Wishart distribution", Scand. J. Statist. 31, 295 (2004)); checked against Monte
    Carlo in tests/test_random_matrix.py."""
    if k == 1:
        tr = p * n
    elif k == 2:
        tr = p * n * (n + p + 1)
    elif k == 3:
        tr = p * n * (n * n + p * p + 3 * n * p + 3 * n + 3 * p + 4)
    else:
        raise ValueError(f"exact Wishart moments implemented for k = 1, 2, 3, not {k}")
    return tr / (p * float(n) ** k)


def marchenko_pastur_trial(gamma: float, x, n: int, rng) -> dict:
    """One white sample covariance: kernel density at x (if given) and moments 2, 3."""
    p = dimension(gamma, n)
    eigs = eigenvalues(sample_data(p, n, rng))
    out = {"moment2": float(np.mean(eigs ** 2)), "moment3": float(np.mean(eigs ** 3))}
    if x is not None:
        out["density"] = kernel_density(eigs, float(x), bandwidth(float(x), gamma, n))
    return out


# ---------------------------------------------------------------------------
# one spike
# ---------------------------------------------------------------------------
def bbp_threshold(gamma: float) -> float:
    """beta_c = sqrt(gamma) (Baik, Ben Arous & Peche 2005; Baik & Silverstein 2006)."""
    return math.sqrt(gamma)


def bbp_top_eigenvalue(gamma: float, beta: float) -> float:
    """(1 + beta)(1 + gamma/beta) above beta_c, (1 + sqrt(gamma))^2 below (Baik & Silverstein 2006)."""
    if beta <= math.sqrt(gamma):
        return (1 + math.sqrt(gamma)) ** 2
    return (1 + beta) * (1 + gamma / beta)


def bbp_overlap2(gamma: float, beta: float) -> float:
    """(1 - gamma/beta^2)/(1 + gamma/beta) above beta_c, 0 below (Paul 2007, Theorem 4)."""
    if beta <= math.sqrt(gamma):
        return 0.0
    return (1 - gamma / beta**2) / (1 + gamma / beta)


def spiked_trial(gamma: float, beta: float, n: int, rng) -> dict:
    """One spiked sample covariance: its top eigenvalue and squared overlap <e1, v_top>^2."""
    if not (math.isfinite(beta) and beta >= 0):
        raise ValueError(f"beta must be a finite number >= 0, got {beta!r}")
    p = dimension(gamma, n)
    lam, v = top_eigenpair(sample_data(p, n, rng, beta))
    return {"top_eigenvalue": lam, "overlap2": float(v[0] ** 2)}


# ---------------------------------------------------------------------------
# goodness of fit of the histogram
# ---------------------------------------------------------------------------
def extrapolation_weights(ns, powers=(1, 2)) -> np.ndarray:
    """c with sum_i c_i y(N_i) = the intercept of the least-squares fit y = a + sum_p b_p N^-p."""
    ns = np.asarray(ns, dtype=float)
    powers = tuple(powers)[: max(len(ns) - 1, 0)]
    X = np.column_stack([np.ones_like(ns)] + [ns ** -q for q in powers])
    return np.linalg.pinv(X)[0]


def histogram_gof(gamma: float, ns, trials: int, seed: int, bins: int = 8, powers=(1, 2),
                  law_gamma: float | None = None) -> dict:
    """Chi-square of the N -> oo extrapolated histogram against the MP law.

    Every trial's nonzero eigenvalues are binned at the ``bins``-quantiles of the
    (continuous part of the) MP law with ratio ``law_gamma`` (default ``gamma``;
    another value tests the statistic's power); per N the mean bin fractions and
    their covariance over trials; the fractions are extrapolated to N -> oo with
    the fixed linear weights of a least-squares fit in ``powers`` of 1/N, and
    ``chi2 = d^T Cov^-1 d`` over the first ``bins - 1`` bins (the last is fixed by
    the others). Under the hypothesis chi2 is approximately chi-square with
    ``bins - 1`` degrees of freedom (the covariance is estimated from ``trials``
    samples per N: use trials >> bins). Returns chi2, dof, p_value, and per-bin
    expected and extrapolated fractions, and per-N chi2 without extrapolation
    (which grows with trials: the finite-N histogram is biased by O(1/N)).
    """
    from replica.simulation import trial_rng
    law = gamma if law_gamma is None else law_gamma
    edges = np.concatenate([[-np.inf], mp_quantiles(law, bins), [np.inf]])
    expected = np.full(bins, 1.0 / bins)
    means, covs, per_n = [], [], {}
    for n in ns:
        p = dimension(gamma, n)
        keep = min(p, n)
        rows = []
        for t in range(trials):
            eigs = eigenvalues(sample_data(p, n, trial_rng(seed, n, t)))[p - keep:]
            rows.append(np.histogram(eigs, bins=edges)[0] / keep)
        Y = np.array(rows)[:, :-1]
        m, S = Y.mean(axis=0), np.cov(Y, rowvar=False) / trials
        means.append(m)
        covs.append(S)
        d = m - expected[:-1]
        per_n[int(n)] = float(d @ np.linalg.solve(S, d))
    c = extrapolation_weights(ns, powers)
    y_inf = sum(ci * m for ci, m in zip(c, means))
    cov_inf = sum(ci * ci * S for ci, S in zip(c, covs))
    d = y_inf - expected[:-1]
    chi2 = float(d @ np.linalg.solve(cov_inf, d))
    dof = bins - 1
    return {"chi2": chi2, "dof": dof, "p_value": float(stats.chi2.sf(chi2, dof)),
            "expected": expected.tolist(), "extrapolated": np.append(y_inf, 1 - y_inf.sum()).tolist(),
            "chi2_per_n": per_n, "bin_edges": edges[1:-1].tolist()}
