"""intrinsic-dimension: participation ratio, TwoNN, Levina-Bickel on manifolds of known dimension.

Independent values, written out here and never taken from the package:

* PR of a population covariance from its eigenvalues (numpy ``eigvalsh`` of the explicit matrix);
  the swiss roll's covariance by scipy quadrature;
* pure noise, m samples, gamma = D/m: PR -> D/(1 + gamma) (Marchenko-Pastur moments m1 = 1,
  m2 = 1 + gamma; Bai & Silverstein 2010, Lemma 3.1); the exact real-Wishart second moment
  E tr S^2 = (1 + 1/m) tr Sigma^2 + (tr Sigma)^2/m (S = X^T X/m, X of m Gaussian rows), whose
  ratio of expectations is D/(1 + (D + 1)/m) for pure noise: the MP form is its leading order in
  1/D; the difference, D/m relative to D, is the documented O(1/m) correction;
* TwoNN: mu = r2/r1 is Pareto with exponent d (Facco et al., Sci. Rep. 7, 12140 (2017));
  Levina & Bickel (NIPS 2004): ln(T_k/T_j), j < k, exponential of rate d; the average of per-point
  inverses then has the limit d (k - 1)/(k - 2) (E[1/Gamma(k - 1, d)] = d/(k - 2)).
"""
from __future__ import annotations

import math
import subprocess

import mpmath
import numpy as np
import pytest
import sympy
from scipy import integrate

import replica
from replica.errors import ParameterError, SimulationError
from replica.latex import derivation_latex, standalone_document
from replica.models.intrinsic_dimension import (IntrinsicDimension, NeighbourDimension,
                                                NoisyNeighbourDimension)
from replica.numeric import compile_numpy
from replica.simulation import trial_rng
from replica.simulators import intrinsic_dimension as sim
from replica.solver import solve

MODEL = IntrinsicDimension()

# contract points (as in tests/test_contract.py): (params, order parameters)
POINTS = [
    ({"estimator": "pr", "manifold": "gaussian", "d": 3, "D": 10, "noise": 0.3, "samples": 200}, []),
    ({"estimator": "pr", "manifold": "swiss-roll", "d": 2, "D": 3}, []),
    ({"estimator": "twonn", "manifold": "sphere", "d": 2, "D": 3}, [1.5]),
    ({"estimator": "mle", "manifold": "gaussian", "d": 3, "D": 10, "noise": 0.1}, [4.0]),
    ({"estimator": "pr", "manifold": "torus", "d": 2, "D": 5, "noise": 0.2}, []),
    ({"estimator": "mle", "manifold": "torus", "d": 2, "D": 6}, [1.5]),
]


def _values(model, params, x):
    return list(x) + [params[p.name] if params[p.name] is not None else float("nan") for p in model.real_parameters]


def _resolved(params):
    p = MODEL.resolve(params)
    return MODEL.variant(p), p


# ---------------------------------------------------------------------------
# the contract battery, on the class directly (not registered)
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("params,x", POINTS)
def test_contract_gradient_jacobian_backends(params, x):
    model, params = _resolved(params)
    d = model.derivation(params)
    vals = _values(model, params, x)
    if x:
        F = compile_numpy(d.free_energy, d.args)
        scales = compile_numpy(model.equation_scales(d.choices), d.args)(*vals)
        eqs = d.numpy_residual(*vals)
        G, J = d.numpy_system(*vals)
        for i in range(len(x)):
            up, dn = list(x), list(x)
            up[i] += 1e-5
            dn[i] -= 1e-5
            fd = (F(*_values(model, params, up)) - F(*_values(model, params, dn))) / 2e-5
            assert eqs[i] == pytest.approx(scales[i] * fd, rel=1e-7, abs=1e-8)
            gu = d.numpy_residual(*_values(model, params, [v + 1e-6 * (j == i) for j, v in enumerate(x)]))
            gd = d.numpy_residual(*_values(model, params, [v - 1e-6 * (j == i) for j, v in enumerate(x)]))
            assert J[0][i] == pytest.approx((gu[0] - gd[0]) / 2e-6, rel=1e-6, abs=1e-7)
        fast = d.numpy_outputs(*vals) + d.numpy_residual(*vals)
        with mpmath.workdps(30):
            ref = d.mpmath_outputs(*vals) + d.mpmath_residual(*vals)
        for a, b in zip(fast, ref):
            assert float(a) == pytest.approx(float(b), rel=1e-11, abs=1e-12)
    # the closed forms: numpy and mpmath agree
    names, fn = d.numpy_limits
    _, mfn = d.mpmath_limits
    rp = [params[p.name] for p in model.real_parameters]
    with mpmath.workdps(30):
        for a, b in zip(fn(*rp), mfn(*[mpmath.mpf(v) for v in rp])):
            assert float(a) == pytest.approx(float(b), rel=1e-12)


def test_variants():
    assert type(_resolved({"estimator": "pr"})[0]) is IntrinsicDimension
    assert type(_resolved({"estimator": "twonn"})[0]) is NeighbourDimension
    assert type(_resolved({"estimator": "mle", "noise": 0.1})[0]) is NoisyNeighbourDimension
    assert _resolved({"estimator": "mle", "d": 2})[0].finite_size_powers == (1, 2)
    assert _resolved({"estimator": "mle", "d": 4})[0].finite_size_powers == (0.5, 1)


def test_known_values_and_interface():
    for ref in MODEL.references:
        value = solve(MODEL, MODEL.resolve(ref.params)).observables[ref.observable]
        assert abs(value - ref.value) <= ref.tol, (ref, value)
        assert ref.source
    described = MODEL.describe()
    assert described["name"] == "intrinsic-dimension" and described["parameters"] and described["observables"]
    assert set(MODEL.simulated_observables) <= {o["name"] for o in described["observables"]}
    assert all(p.meaning and p.domain_text for p in MODEL.parameters)


@pytest.mark.latex
def test_latex_compiles(tmp_path, pdflatex):
    from replica.document import document_latex
    for params, _ in POINTS[:3]:          # one point a variant class (PR, clean neighbours) + the noisy one
        model, p = _resolved(params)
        body = derivation_latex(model, p)
        assert r"\begin{dmath*}" in body
        tex = tmp_path / "id.tex"
        tex.write_text(standalone_document(body, "intrinsic-dimension"))
        proc = subprocess.run([pdflatex, "-interaction=nonstopmode", "-halt-on-error", tex.name], cwd=tmp_path,
                              capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stdout[-3000:]
    # the document (prose from derivations/intrinsic-dimension.tex, no displayed equation in the prose)
    doc = document_latex(MODEL, with_figure=False)
    assert "Marchenko" in doc and "TwoNN" in doc
    (tmp_path / "doc.tex").write_text(doc)
    proc = subprocess.run([pdflatex, "-interaction=nonstopmode", "-halt-on-error", "doc.tex"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout[-3000:]


# ---------------------------------------------------------------------------
# closed forms against independent computations
# ---------------------------------------------------------------------------
def _pr(eigs):
    eigs = np.asarray(eigs, float)
    return eigs.sum() ** 2 / (eigs**2).sum()


@pytest.mark.parametrize("manifold,d,D,noise", [("gaussian", 3, 10, 0.0), ("gaussian", 4, 7, 0.7),
                                                ("sphere", 2, 3, 0.0), ("sphere", 3, 8, 0.25)])
def test_population_pr_from_explicit_eigenvalues(manifold, d, D, noise):
    cov = np.zeros((D, D))
    if manifold == "gaussian":
        cov[:d, :d] = np.eye(d)
    else:
        cov[:d + 1, :d + 1] = np.eye(d + 1) / (d + 1)
    cov += noise**2 * np.eye(D)
    r = solve(MODEL, MODEL.resolve({"estimator": "pr", "manifold": manifold, "d": d, "D": D, "noise": noise}))
    assert r.observables["estimate"] == pytest.approx(_pr(np.linalg.eigvalsh(cov)), rel=1e-13)


def test_swiss_roll_pr_by_quadrature_and_sampling():
    lo, hi = 1.5 * math.pi, 4.5 * math.pi

    def E(f):
        return integrate.quad(f, lo, hi, limit=200)[0] / (hi - lo)

    mx, mz = E(lambda t: t * math.cos(t)), E(lambda t: t * math.sin(t))
    cxx = E(lambda t: (t * math.cos(t)) ** 2) - mx**2
    czz = E(lambda t: (t * math.sin(t)) ** 2) - mz**2
    cxz = E(lambda t: t * t * math.cos(t) * math.sin(t)) - mx * mz
    cov = np.array([[cxx, 0, cxz], [0, 21.0**2 / 12, 0], [cxz, 0, czz]])
    noise = 0.5
    for s in (0.0, noise):
        value = solve(MODEL, MODEL.resolve({"estimator": "pr", "manifold": "swiss-roll", "d": 2, "D": 4,
                                            "noise": s})).observables["estimate"]
        full = np.zeros((4, 4))
        full[:3, :3] = cov
        assert value == pytest.approx(_pr(np.linalg.eigvalsh(full + s**2 * np.eye(4))), rel=1e-9)
    # one big sample: the sample covariance is within its O(n^-1/2) error of the population one
    X = sim.sample_manifold("swiss-roll", 2, 3, 0.0, 200_000, np.random.default_rng(5))
    assert sim.participation_ratio(X) == pytest.approx(_pr(np.linalg.eigvalsh(cov)), rel=5e-3)


def test_finite_sample_pr_is_derived_from_the_mp_moments():
    m = MODEL.resolve({"estimator": "pr", "d": 5, "D": 5})
    d = MODEL.derivation(m)
    s = {p.name: p.symbol for p in MODEL.real_parameters}
    pr_fin = d.limits["pr_finite"]
    pure = sympy.simplify(pr_fin.subs({s["d"]: s["D"], s["noise"]: 0}) - s["D"] / (1 + s["D"] / s["samples"]))
    assert pure == 0
    # in general 1/PR_m = 1/PR_oo + 1/m (the second free cumulant of the white Wishart part is gamma)
    general = sympy.simplify(1 / pr_fin - 1 / d.limits["pr_population"] - 1 / s["samples"])
    assert general == 0


def test_pr_of_pure_noise_at_finite_n_matches_marchenko_pastur():
    """PR of white noise, D = 50, n = 500 points (m = 499 degrees of freedom of the centred covariance)."""
    D, n, trials = 50, 500, 200
    v = np.array([sim.participation_ratio(sim.sample_manifold("gaussian", D, D, 0.0, n, trial_rng(1, n, i)))
                  for i in range(trials)])
    mean, se = v.mean(), v.std(ddof=1) / math.sqrt(trials)
    m = n - 1
    mp = D / (1 + D / m)
    assert MODEL.simulation_reference(MODEL.resolve({"estimator": "pr", "d": D, "D": D}), n)["estimate"] == \
        pytest.approx(mp, rel=1e-13)
    wishart = D / (1 + (D + 1) / m)            # ratio of the exact Wishart expectations
    # the mean of the ratio differs from the ratio of means by O(1/(m D)) relative (delta method);
    # allowed: 10 PR/(m D) = 0.018 here
    assert abs(mean - wishart) <= 3 * se + 10 * wishart / (m * D)
    # the MP form: within Monte Carlo error plus its documented O(1/m) correction mp - wishart (0.08 here)
    assert abs(mean - mp) <= 3 * se + (mp - wishart)
    assert abs(mean - mp) > 3 * se          # ... which is resolved: the correction is real
    # and far from the population value D: finite samples make noise look lower-dimensional
    assert D - mean > 100 * se


def test_pr_finite_with_noise_matches_simulation():
    params = MODEL.resolve({"estimator": "pr", "d": 3, "D": 20, "noise": 0.4, "samples": 299})
    theory = solve(MODEL, params).observables["pr_finite"]
    pop = solve(MODEL, params).observables["pr_population"]
    v = np.array([sim.participation_ratio(sim.sample_manifold("gaussian", 3, 20, 0.4, 300, trial_rng(2, 300, i)))
                  for i in range(100)])
    mean, se = v.mean(), v.std(ddof=1) / 10
    # leading order in 1/D (see the docstring): allow its O(1/m) relative correction PR/m
    assert abs(mean - theory) <= 3 * se + theory / 299
    assert abs(mean - pop) > abs(mean - theory)


# ---------------------------------------------------------------------------
# the neighbour estimators
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("estimator", ["twonn", "mle"])
@pytest.mark.parametrize("manifold,d,D", [("gaussian", 2, 5), ("gaussian", 4, 8), ("sphere", 2, 3),
                                          ("sphere", 4, 6), ("gaussian", 2, 50), ("sphere", 3, 60)])
def test_neighbour_estimators_recover_d(estimator, manifold, d, D):
    """n = 2000, 8 clouds. Tolerance: 3 standard errors plus the documented bias bound d n^(-2/d)
    (density gradient and curvature within a neighbourhood; measured coefficients <= 0.35)."""
    n, trials = 2000, 8
    v = np.array([sim.estimate(estimator, sim.sample_manifold(manifold, d, D, 0.0, n, trial_rng(3, n, i)), 10)
                  for i in range(trials)])
    mean, se = v.mean(), v.std(ddof=1) / math.sqrt(trials)
    theory = solve(MODEL, MODEL.resolve({"estimator": estimator, "manifold": manifold, "d": d, "D": D})
                   ).observables["estimate"]
    assert theory == pytest.approx(d, abs=1e-10)
    assert abs(mean - d) <= 3 * se + d * n ** (-2 / d)


@pytest.mark.parametrize("estimator", ["twonn", "mle"])
@pytest.mark.parametrize("n", [2000, 8000])
def test_neighbour_estimators_on_the_swiss_roll(estimator, n):
    """The swiss roll has a boundary: points near its edges see neighbours on one side only, a
    downward bias that decays slowly with n (documented in replica/models/intrinsic_dimension.py:
    pooled MLE, k = 10, measured -0.040, -0.026, -0.018 at n = 1000, 4000, 16000, within
    0.25 n^(-1/4)). Tolerance: 3 standard errors over 8 clouds plus that bound."""
    trials = 8
    v = np.array([sim.estimate(estimator, sim.sample_manifold("swiss-roll", 2, 3, 0.0, n, trial_rng(9, n, i)), 10)
                  for i in range(trials)])
    mean, se = v.mean(), v.std(ddof=1) / math.sqrt(trials)
    assert abs(mean - 2) <= 3 * se + 0.25 * n ** -0.25, (mean, se)


def test_participation_ratio_needs_two_distinct_points():
    with pytest.raises(ValueError, match="participation ratio needs at least 2 points; got n=1"):
        sim.participation_ratio(np.ones((1, 3)))
    with pytest.raises(ValueError, match="all points are equal"):
        sim.participation_ratio(np.ones((5, 3)))
    for k, n in ((2, 2), (10, 10)):          # TwoNN needs 3 points, MLE k + 1
        X = np.random.default_rng(0).standard_normal((n, 3))
        with pytest.raises(ValueError, match=f"k={k} neighbours need more than k points; got n={n}"):
            sim.estimate("twonn" if k == 2 else "mle", X, k)


def test_mle_at_k2_is_twonn_and_the_pointwise_bias():
    X = sim.sample_manifold("sphere", 2, 3, 0.0, 2000, np.random.default_rng(7))
    assert sim.levina_bickel(X, 2) == pytest.approx(sim.twonn(X), rel=1e-13)
    # the original per-point average tends to d (k - 1)/(k - 2) at fixed k (not d): k = 5 -> 8/3
    v = [sim.levina_bickel_pointwise(sim.sample_manifold("sphere", 2, 3, 0.0, 2000, trial_rng(4, 2000, i)), 5)
         for i in range(8)]
    mean, se = np.mean(v), np.std(v, ddof=1) / math.sqrt(8)
    # plus the finite-n bias, O(n^(-2/d)) = O(1/n) on the 2-sphere: allowed 20/n = 0.01
    assert abs(mean - 2 * 4 / 3) <= 3 * se + 20 / 2000
    assert mean - 2 > 0.5


def test_twonn_log_ratio_is_exponential_with_rate_d():
    """Facco et al.: ln mu ~ Exp(d). A flat torus (uniform, no boundary, no curvature) isolates the law."""
    rng = np.random.default_rng(11)
    d, n = 3, 20000
    X = rng.uniform(0, 1, (n, d))
    from scipy.spatial import cKDTree
    dist, _ = cKDTree(X, boxsize=1.0).query(X, k=3)
    y = np.log(dist[:, 2] / dist[:, 1])
    assert np.mean(y) == pytest.approx(1 / d, rel=4 / math.sqrt(n))        # sd of Exp = mean
    from scipy import stats
    assert stats.kstest(y, "expon", args=(0, 1 / d)).pvalue > 1e-3


def test_noise_pushes_the_neighbour_estimate_towards_D():
    """With noise the n -> oo limit is D (theory); at finite n the estimate lies between d and D and grows
    with n as the neighbours probe smaller scales."""
    theory = solve(MODEL, MODEL.resolve({"estimator": "twonn", "manifold": "sphere", "d": 2, "D": 6,
                                         "noise": 0.05})).observables["estimate"]
    assert theory == pytest.approx(6.0)
    means = []
    for n in (200, 3000):
        v = [sim.twonn(sim.sample_manifold("sphere", 2, 6, 0.05, n, trial_rng(5, n, i))) for i in range(6)]
        means.append(np.mean(v))
    assert 2.3 < means[0] < means[1] < 6


def test_compare_extrapolates_to_the_theory():
    spec = MODEL.quick_compares[0]
    comp = replica.compare(MODEL, MODEL.resolve(spec["params"]), spec["n"], spec["trials"], spec["seed"])
    assert comp.agrees, str(comp)
    spec = MODEL.quick_compares[1]            # PR of white noise: -> D, with the MP finite-n references
    comp = replica.compare(MODEL, MODEL.resolve(spec["params"]), spec["n"], 20, spec["seed"])
    assert comp.agrees, str(comp)
    o = comp.observables["estimate"]
    assert set(o.finite_n_reference) == set(spec["n"])
    for n, e in o.per_n:
        # MP at m = n - 1, within 4 se plus its O(1/m) correction
        assert abs(e.mean - o.finite_n_reference[n]) <= 4 * e.stderr + 10 / n


# ---------------------------------------------------------------------------
# bad input
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("params,name,value,allowed", [
    ({"d": 0}, "d", "0", "[1, inf)"),
    ({"d": 5, "D": 3}, "D", "3", ">= 5"),
    ({"manifold": "sphere", "d": 3, "D": 3}, "D", "3", ">= 4"),
    ({"manifold": "swiss-roll", "d": 3, "D": 5}, "d", "3", "allowed: 2"),
    ({"noise": -0.1}, "noise", "-0.1", "[0, inf)"),
    ({"k": 1}, "k", "1", "[2, inf)"),
    ({"samples": 0}, "samples", "0", "(0, inf)"),
])
def test_bad_input_names_parameter_value_and_range(params, name, value, allowed):
    with pytest.raises(ParameterError) as exc:
        MODEL.resolve(params)
    msg = str(exc.value)
    assert f"'{name}'={value}" in msg and allowed in msg, msg


def test_bad_simulation_input():
    with pytest.raises(SimulationError, match="k=10"):
        replica.simulate(MODEL, MODEL.resolve({"estimator": "mle", "k": 10}), 8, 2)
    with pytest.raises(ParameterError, match="estimator"):
        MODEL.resolve({"estimator": "pca"})
    # a noise sweep may not cross 0 (the limit jumps from d to D)
    model, p = _resolved({"estimator": "twonn", "noise": 0.0})
    with pytest.raises(ParameterError, match="noise"):
        model.starting_points(dict(p, noise=0.1))


# ---------------------------------------------------------------------------
# the flat torus T^d, embedded in R^(2d) by (cos, sin) pairs and randomly rotated into R^D
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("d,D,noise", [(1, 2, 0.0), (2, 7, 0.3), (3, 6, 0.0)])
def test_torus_population_pr_from_explicit_eigenvalues(d, D, noise):
    # each unit circle with a uniform angle: var cos = var sin = 1/2, cov = 0 (written out here)
    eigs = np.concatenate([np.full(2 * d, 0.5), np.zeros(D - 2 * d)]) + noise**2
    r = solve(MODEL, MODEL.resolve({"estimator": "pr", "manifold": "torus", "d": d, "D": D, "noise": noise}))
    assert r.observables["estimate"] == pytest.approx(_pr(eigs), rel=1e-13)
    if noise == 0:
        assert r.observables["estimate"] == pytest.approx(2 * d, rel=1e-13)


def test_torus_is_a_rotated_product_of_circles():
    rng = np.random.default_rng(21)
    d, D, n = 2, 6, 50_000
    X = sim.sample_manifold("torus", d, D, 0.0, n, rng)
    # every point is at distance sqrt(d) from the origin (d unit circles)
    assert np.allclose(np.sum(X**2, axis=1), d, rtol=1e-12)
    # randomly rotated: the cloud is not confined to the first 2d coordinates ...
    assert np.min(np.abs(X[:, 2 * d:]).max(axis=0)) > 0.1
    # ... but spans exactly 2d directions, with the population covariance I_(2d)/2 in them:
    # sample eigenvalues within their O(n^-1/2) error (sd of a sample variance of cos: sqrt(1/8 / n))
    ev = np.sort(np.linalg.eigvalsh(np.cov(X.T)))[::-1]
    assert np.all(ev[2 * d:] < 1e-12)
    assert np.all(np.abs(ev[:2 * d] - 0.5) < 6 * math.sqrt(0.125 / n) + 4 * 0.5 / math.sqrt(n))
    # the rotation is orthogonal, and pairwise distances are those of the unrotated torus
    Q = sim.random_rotation(D, np.random.default_rng(3))
    assert np.allclose(Q @ Q.T, np.eye(D), atol=1e-13)
    theta = np.random.default_rng(4).uniform(0, 2 * math.pi, (5, d))
    flat = np.zeros((5, D))
    flat[:, 0:2 * d:2], flat[:, 1:2 * d:2] = np.cos(theta), np.sin(theta)
    chord2 = sum(2 - 2 * np.cos(theta[:, None, i] - theta[None, :, i]) for i in range(d))
    rot = flat @ Q.T
    assert np.allclose(np.sum((rot[:, None] - rot[None]) ** 2, axis=-1), chord2, atol=1e-12)


def test_torus_pr_sampling_matches_the_population_value():
    """PR of 100 000 torus points: the sample PR is within a few times its O(PR^2/n) bias and
    O(n^-1/2) error of the population 2d (the flat torus is not Gaussian: no MP formula)."""
    X = sim.sample_manifold("torus", 3, 9, 0.0, 100_000, np.random.default_rng(8))
    assert sim.participation_ratio(X) == pytest.approx(6.0, rel=5e-3)


@pytest.mark.parametrize("estimator", ["twonn", "mle"])
@pytest.mark.parametrize("d,D", [(1, 3), (2, 5), (3, 8)])
def test_neighbour_estimators_recover_the_torus_dimension(estimator, d, D):
    """n = 2000, 8 clouds. The flat torus has uniform density and no boundary, but unit circles: the
    O(r^2) curvature bias of the sphere's bound d n^(-2/d), with r the neighbourhood radius ~ (V/n)^(1/d),
    scaled by (vol T^d / vol S^d)^(2/d) (1, 3.14, 5.4 for d = 1, 2, 3; measured mle bias at d = 3:
    +0.068, +0.039, +0.008 at n = 1000, 4000, 16000)."""
    n, trials = 2000, 8
    v = np.array([sim.estimate(estimator, sim.sample_manifold("torus", d, D, 0.0, n, trial_rng(13, n, i)), 10)
                  for i in range(trials)])
    mean, se = v.mean(), v.std(ddof=1) / math.sqrt(trials)
    theory = solve(MODEL, MODEL.resolve({"estimator": estimator, "manifold": "torus", "d": d, "D": D})
                   ).observables["estimate"]
    assert theory == pytest.approx(d, abs=1e-10)
    vol_torus = (2 * math.pi) ** d
    vol_sphere = 2 * math.pi ** ((d + 1) / 2) / math.gamma((d + 1) / 2)
    assert abs(mean - d) <= 3 * se + d * n ** (-2 / d) * (vol_torus / vol_sphere) ** (2 / d), (mean, se)


def test_compare_on_the_torus_extrapolates_to_d():
    spec = MODEL.verify_compares[-1]
    assert spec["params"]["manifold"] == "torus"
    comp = replica.compare(MODEL, MODEL.resolve(spec["params"]), spec["n"], spec["trials"], spec["seed"])
    assert comp.agrees, str(comp)


def test_torus_needs_two_d_ambient_dimensions():
    with pytest.raises(ParameterError) as exc:
        MODEL.resolve({"manifold": "torus", "d": 3, "D": 5})
    assert "'D'=5" in str(exc.value) and ">= 6" in str(exc.value)
