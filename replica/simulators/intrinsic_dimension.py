"""Point clouds on manifolds of known dimension, and three estimators of their dimension.

Manifolds (``n`` points in ``D`` ambient dimensions, optional isotropic Gaussian noise of standard
deviation ``noise`` added to all ``D`` coordinates)
-----------------------------------------------------------------------------------------
* ``gaussian``: a ``d``-dimensional linear subspace, isotropic standard Gaussian coordinates in it
  (population covariance ``diag(1,...,1, 0,...,0)`` with ``d`` ones; ``d = D`` and no noise is
  pure white noise).
* ``sphere``: the unit ``d``-sphere in the first ``d + 1`` coordinates, uniform (a normalised
  Gaussian vector); needs ``D >= d + 1``; population covariance ``I_{d+1}/(d+1)``.
* ``swiss-roll``: the scikit-learn convention, ``t ~ U(3 pi/2, 9 pi/2)``, ``h ~ U(0, 21)``,
  point ``(t cos t, h, t sin t)`` in the first three coordinates; ``d = 2``, ``D >= 3``.
* ``torus``: the flat torus ``T^d``, angles ``theta_i ~ U(0, 2 pi)`` independent, embedded in
  ``R^(2d)`` as ``(cos theta_1, sin theta_1, ..., cos theta_d, sin theta_d)`` (a product of unit
  circles: intrinsically flat, uniform density, no boundary), then rotated into ``R^D`` by a random
  orthogonal matrix (Haar, from the QR decomposition of a Gaussian matrix with the signs of the
  diagonal of R fixed, drawn from the same generator); needs ``D >= 2d``; population covariance
  ``Q diag(I_(2d)/2, 0) Q^T``.

The estimators, functions and distances, are invariant under rotations and translations of the
ambient space, so placing the manifold in the first coordinates loses no generality (the torus is
rotated anyway, which the tests use to check that invariance).

Estimators
----------
* :func:`participation_ratio`: ``(tr C)^2 / tr C^2`` of the centred sample covariance
  ``C = Xc^T Xc / (n - 1)`` (Recanatesi et al. 2019), from traces (no eigendecomposition).
* :func:`twonn`: Facco, d'Errico, Rodriguez & Laio (Sci. Rep. 7, 12140, 2017): ``mu = r2/r1``,
  the ratio of each point's second to first nearest-neighbour distance, is Pareto-distributed,
  ``P(mu) = d mu^(-d-1)`` on ``mu >= 1``, where the density is locally constant; here its
  maximum-likelihood estimate ``d = n / sum_i ln mu_i`` (the published fit is a regression of
  ``-ln(1 - F(mu))`` on ``ln mu``: the same limit, a different finite-n bias).
* :func:`levina_bickel`: Levina & Bickel (NIPS 2004) with the pooled average of MacKay &
  Ghahramani (2005): ``d = [sum_i sum_{j<k} ln(T_k(x_i)/T_j(x_i)) / (n (k - 1))]^(-1)``, ``T_j``
  the distance to the ``j``-th neighbour. At ``k = 2`` it IS the TwoNN estimate above (tested).
  :func:`levina_bickel_pointwise` is the original average of the per-point inverses, whose
  ``n -> oo`` limit at fixed ``k`` is ``d (k - 1)/(k - 2)`` (the per-point sum is Gamma(k-1, d)
  distributed; ``E[1/Gamma]`` gives the factor), infinite for ``k = 2``.

All randomness comes from the ``numpy.random.Generator`` passed in.
"""
from __future__ import annotations

import math

import numpy as np
from scipy.spatial import cKDTree

__all__ = ["MANIFOLDS", "ESTIMATORS", "sample_manifold", "participation_ratio", "neighbour_distances",
           "twonn", "levina_bickel", "levina_bickel_pointwise", "estimate", "random_rotation", "SWISS_T",
           "SWISS_H"]

MANIFOLDS = ("gaussian", "sphere", "swiss-roll", "torus")
ESTIMATORS = ("pr", "twonn", "mle")
#: swiss roll (scikit-learn's make_swiss_roll): t ~ U(SWISS_T), height ~ U(0, SWISS_H)
SWISS_T = (1.5 * math.pi, 4.5 * math.pi)
SWISS_H = 21.0


def check_geometry(manifold: str, d: int, D: int, noise: float) -> None:
    """ValueError unless (manifold, d, D, noise) describe a valid point cloud."""
    if manifold not in MANIFOLDS:
        raise ValueError(f"manifold={manifold!r}; allowed: one of {', '.join(MANIFOLDS)}")
    if int(d) != d or d < 1:
        raise ValueError(f"d={d} is out of range; allowed: an integer >= 1")
    if int(D) != D or D < 1:
        raise ValueError(f"D={D} is out of range; allowed: an integer >= 1")
    need = {"gaussian": d, "sphere": d + 1, "swiss-roll": 3, "torus": 2 * d}[manifold]
    if D < need:
        raise ValueError(f"D={D} is out of range for the {manifold} with d={d}; allowed: an integer >= {need}")
    if manifold == "swiss-roll" and d != 2:
        raise ValueError(f"d={d} is out of range for the swiss-roll; allowed: 2")
    if not (math.isfinite(noise) and noise >= 0):
        raise ValueError(f"noise={noise} is out of range; allowed: [0, inf)")


def sample_manifold(manifold: str, d: int, D: int, noise: float, n: int, rng) -> np.ndarray:
    """``n`` points (rows) in ``D`` dimensions on the manifold, plus noise."""
    check_geometry(manifold, d, D, noise)
    d, D, n = int(d), int(D), int(n)
    X = np.zeros((n, D))
    if manifold == "gaussian":
        X[:, :d] = rng.standard_normal((n, d))
    elif manifold == "sphere":
        z = rng.standard_normal((n, d + 1))
        X[:, :d + 1] = z / np.linalg.norm(z, axis=1, keepdims=True)
    elif manifold == "torus":
        theta = rng.uniform(0.0, 2 * math.pi, (n, d))
        X[:, 0:2 * d:2] = np.cos(theta)
        X[:, 1:2 * d:2] = np.sin(theta)
        X = X @ random_rotation(D, rng).T
    else:
        t = rng.uniform(SWISS_T[0], SWISS_T[1], n)
        X[:, 0] = t * np.cos(t)
        X[:, 1] = rng.uniform(0.0, SWISS_H, n)
        X[:, 2] = t * np.sin(t)
    if noise > 0:
        X += noise * rng.standard_normal((n, D))
    return X


def random_rotation(D: int, rng) -> np.ndarray:
    """A Haar-distributed D x D orthogonal matrix: Q of a Gaussian matrix's QR, columns times sign(diag R)."""
    Q, R = np.linalg.qr(rng.standard_normal((D, D)))
    return Q * np.where(np.diag(R) < 0, -1.0, 1.0)


def participation_ratio(X: np.ndarray) -> float:
    """(tr C)^2 / tr C^2 of the centred sample covariance of the rows of X."""
    n = X.shape[0]
    if n < 2:
        raise ValueError(f"the participation ratio needs at least 2 points; got n={n}")
    Xc = X - X.mean(axis=0)
    n, D = Xc.shape
    # the smaller Gram matrix has the same nonzero spectrum
    G = Xc.T @ Xc if D <= n else Xc @ Xc.T
    tr = float(np.trace(G))
    tr2 = float(np.sum(G * G))
    if tr2 == 0:
        raise ValueError(f"the participation ratio is undefined: all points are equal (n={n})")
    return tr * tr / tr2


def neighbour_distances(X: np.ndarray, k: int) -> np.ndarray:
    """(n, k) distances of each point to its k nearest other points (ascending)."""
    n = X.shape[0]
    if k >= n:
        raise ValueError(f"k={k} neighbours need more than k points; got n={n}")
    dist, _ = cKDTree(X).query(X, k=k + 1)
    T = dist[:, 1:]
    if np.any(T[:, 0] <= 0):
        raise ValueError("duplicate points (a zero nearest-neighbour distance): the estimators need distinct points")
    return T


def twonn(X: np.ndarray) -> float:
    """Maximum-likelihood TwoNN: n / sum ln(r2/r1)."""
    T = neighbour_distances(X, 2)
    return T.shape[0] / float(np.sum(np.log(T[:, 1] / T[:, 0])))


def levina_bickel(X: np.ndarray, k: int) -> float:
    """Levina-Bickel with the pooled (MacKay-Ghahramani) average over points."""
    k = int(k)
    if k < 2:
        raise ValueError(f"k={k} is out of range; allowed: an integer >= 2")
    T = neighbour_distances(X, k)
    logs = np.log(T[:, -1:] / T[:, :-1])            # ln(T_k/T_j), j = 1..k-1
    return logs.size / float(np.sum(logs))


def levina_bickel_pointwise(X: np.ndarray, k: int) -> float:
    """The original Levina-Bickel average of per-point estimates, normalised by k - 1."""
    k = int(k)
    if k < 2:
        raise ValueError(f"k={k} is out of range; allowed: an integer >= 2")
    T = neighbour_distances(X, k)
    logs = np.log(T[:, -1:] / T[:, :-1])
    return float(np.mean((k - 1) / np.sum(logs, axis=1)))


def estimate(estimator: str, X: np.ndarray, k: int = 10) -> float:
    if estimator == "pr":
        return participation_ratio(X)
    if estimator == "twonn":
        return twonn(X)
    if estimator == "mle":
        return levina_bickel(X, k)
    raise ValueError(f"estimator={estimator!r}; allowed: one of {', '.join(ESTIMATORS)}")


def trial(params: dict, n: int, rng) -> dict:
    """One point cloud of ``n`` points and the chosen estimator on it: {"estimate": value}."""
    X = sample_manifold(params["manifold"], params["d"], params["D"], float(params["noise"]), n, rng)
    return {"estimate": estimate(params["estimator"], X, params.get("k") or 10)}
