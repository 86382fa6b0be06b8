"""Our intrinsic-dimension estimators against a peer library, scikit-dimension (``skdim``).

skdim is an independent implementation: it finds neighbours with scikit-learn
(``NearestNeighbors``, or sorted ``pairwise_distances_chunked`` rows when there are more than 25
features) where we use scipy's ``cKDTree``, and it has its own estimator code. On the same data
the numbers agree to rounding once the conventions are matched:

* TwoNN. ``skdim.id.TwoNN(discard_fraction=0, method="mle")`` is the unbiased Pareto-shape
  estimate ``(N - 1)/sum ln mu``; ours is the plain maximum-likelihood ``N/sum ln mu``, so
  ``ours = skdim * N/(N - 1)`` exactly. skdim's DEFAULT (``discard_fraction=0.1``,
  ``method="linear"``) is Facco et al.'s regression of ``-ln(1 - F_emp)`` on ``ln mu`` after
  discarding the largest 10% of ratios: a different estimator with the same n -> oo limit; it is
  compared only statistically (``test_twonn_default_linear_fit_same_limit``). With
  ``method="mle"`` and ``discard_fraction > 0`` skdim treats the discarded ratios as censored:
  the censored-exponential MLE, written out independently here.
* Levina-Bickel. ``skdim.id.MLE().fit(X, n_neighbors=k, comb="mle")`` forms per-point
  ``(k - 1)/sum_{j<=k} ln(T_k/T_j)`` and combines them by the harmonic mean, which is exactly our
  pooled (MacKay-Ghahramani) ``levina_bickel(X, k)``; ``comb="mean"`` is the original average of
  per-point estimates, our ``levina_bickel_pointwise``; ``unbiased=True`` replaces ``k - 1`` by
  ``k - 2`` in every per-point estimate.
* Participation ratio. ``skdim.id.lPCA(ver="participation_ratio")`` takes
  ``(sum lambda)^2/sum lambda^2`` of the PCA spectrum: our ``participation_ratio``.

Tolerance: relative 1e-9 (floating-point summation order and distance computation differ).
"""
from __future__ import annotations

import numpy as np
import pytest

skdim = pytest.importorskip("skdim")

from replica.simulators import intrinsic_dimension as sim  # noqa: E402

RTOL = 1e-9

# skdim computes side quantities (the linear-fit ordinate -ln(1 - F) at F = 1, eigenvalue gaps over zero
# eigenvalues) that divide by zero; they do not enter the estimates compared here
pytestmark = [pytest.mark.filterwarnings("ignore:divide by zero encountered:RuntimeWarning"),
              pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")]

# (manifold, d, D, noise, n): D = 5 uses skdim's NearestNeighbors path, D = 30 its pairwise-distance path
CLOUDS = [("sphere", 3, 5, 0.0, 800), ("gaussian", 4, 30, 0.0, 600), ("swiss-roll", 2, 3, 0.1, 700),
          ("gaussian", 2, 40, 0.05, 500)]


def cloud(manifold, d, D, noise, n, seed=0):
    return sim.sample_manifold(manifold, d, D, noise, n, np.random.default_rng(seed))


@pytest.mark.parametrize("spec", CLOUDS, ids=lambda s: f"{s[0]}-d{s[1]}-D{s[2]}")
def test_twonn_matches_skdim_unbiased_mle(spec):
    X = cloud(*spec)
    n = X.shape[0]
    theirs = skdim.id.TwoNN(discard_fraction=0.0, method="mle").fit(X).dimension_
    ours = sim.twonn(X)
    assert ours == pytest.approx(theirs * n / (n - 1), rel=RTOL)


def test_twonn_censored_mle_matches_independent_formula():
    """skdim's censored variant against the censored-exponential MLE written out here: the k
    smallest of N ln mu (rate d) observed, the rest known to exceed the k-th; unbiased form
    (k - 1)/(sum_{i<=k} ln mu_(i) + (N - k) ln mu_(k)), with ln mu from our own neighbour search."""
    X = cloud("sphere", 2, 4, 0.0, 1000, seed=3)
    T = sim.neighbour_distances(X, 2)
    logmu = np.sort(np.log(T[:, 1] / T[:, 0]))
    N = len(logmu)
    k = int(N * 0.9)
    mine = (k - 1) / (logmu[:k].sum() + (N - k) * logmu[k - 1])
    theirs = skdim.id.TwoNN(discard_fraction=0.1, method="mle").fit(X).dimension_
    assert theirs == pytest.approx(mine, rel=RTOL)
    # and the censored estimate estimates the same d (sphere d = 2) as ours, within sampling error
    assert abs(mine - sim.twonn(X)) < 0.15


def test_twonn_default_linear_fit_same_limit():
    """skdim's default (Facco's linear fit, 10% discarded) is a different estimator of the same d:
    on the uniform 2-sphere (n = 4000, where both are within a few % of 2) the two agree to 5%."""
    X = cloud("sphere", 2, 3, 0.0, 4000, seed=5)
    theirs = skdim.id.TwoNN().fit(X).dimension_
    ours = sim.twonn(X)
    assert abs(ours - 2) < 0.1 and abs(theirs - 2) < 0.1
    assert theirs == pytest.approx(ours, rel=0.05)


@pytest.mark.parametrize("k", [2, 5, 10, 20])
@pytest.mark.parametrize("spec", CLOUDS[:3], ids=lambda s: f"{s[0]}-d{s[1]}-D{s[2]}")
def test_levina_bickel_matches_skdim(spec, k):
    X = cloud(*spec, seed=1)
    theirs = skdim.id.MLE().fit(X, n_neighbors=k, comb="mle").dimension_
    assert sim.levina_bickel(X, k) == pytest.approx(theirs, rel=RTOL)
    if k > 2:                       # the per-point average: infinite mean for k = 2
        theirs_mean = skdim.id.MLE().fit(X, n_neighbors=k, comb="mean").dimension_
        assert sim.levina_bickel_pointwise(X, k) == pytest.approx(theirs_mean, rel=RTOL)
        theirs_unb = skdim.id.MLE(unbiased=True).fit(X, n_neighbors=k, comb="mean").dimension_
        assert sim.levina_bickel_pointwise(X, k) * (k - 2) / (k - 1) == pytest.approx(theirs_unb, rel=RTOL)


def test_levina_bickel_k2_is_twonn_in_skdim_too():
    """At k = 2 the pooled Levina-Bickel IS the TwoNN likelihood estimate (N/sum ln mu), in both libraries."""
    X = cloud("sphere", 3, 5, 0.0, 800, seed=2)
    n = X.shape[0]
    lb = skdim.id.MLE().fit(X, n_neighbors=2, comb="mle").dimension_
    tw = skdim.id.TwoNN(discard_fraction=0.0, method="mle").fit(X).dimension_
    assert lb == pytest.approx(tw * n / (n - 1), rel=RTOL)


@pytest.mark.parametrize("spec", CLOUDS, ids=lambda s: f"{s[0]}-d{s[1]}-D{s[2]}")
def test_participation_ratio_matches_skdim_lpca(spec):
    X = cloud(*spec, seed=4)
    theirs = skdim.id.lPCA(ver="participation_ratio").fit(X).dimension_
    assert sim.participation_ratio(X) == pytest.approx(theirs, rel=RTOL)
