"""Optimal convex M-estimation (Advani & Ganguli, PRX 2016 / NeurIPS 2016).

Independent checks:
* Gaussian prior and noise: the closed form (root of a quadratic), equal to ridge (MAP), to the
  bayes-optimal model's MMSE (rho = 1) and to the least-squares error for a flat prior;
* Laplace noise or prior: the fixed point of the model (q, qd) satisfies qd = 1/(alpha J(q)) and
  q = mmse(qd) with the Fisher information and the scalar MMSE computed here by numerical
  convolution with scipy's quad (no closed form, no entropies, no package code);
* MAP/ML is worse than the optimal estimator, and needs more data for the same error;
* non-log-concave laws are refused with a one-line ParameterError.
"""
import math
import subprocess

import numpy as np
import pytest
from scipy.integrate import quad

import replica
from replica.errors import ParameterError
from replica.latex import derivation_latex, standalone_document
from replica.models.bayes_optimal import BayesOptimal
from replica.models.optimal_m_estimation import OptimalMEstimation

MODEL = OptimalMEstimation()


# ---------------------------------------------------------------------------
# independent references: numerical convolution (scipy quad)
# ---------------------------------------------------------------------------
def _phi(u, v):
    return math.exp(-u * u / (2 * v)) / math.sqrt(2 * math.pi * v)


def _conv(h, x, v):
    """int h(e) phi_v(x - e) de, by quad on pieces split at 0 and around the Gaussian's peak."""
    r = 12 * math.sqrt(v)
    cuts = sorted({0.0, x - r, x, x + r})
    opts = dict(epsabs=0, epsrel=1e-13, limit=400)

    def f(e):
        return h(e) * _phi(x - e, v)
    total = quad(f, -np.inf, cuts[0], **opts)[0] + quad(f, cuts[-1], np.inf, **opts)[0]
    for a, b in zip(cuts[:-1], cuts[1:]):
        total += quad(f, a, b, **opts)[0]
    return total


def _laplace(b):
    return lambda e: math.exp(-abs(e) / b) / (2 * b)


def fisher_laplace_plus_gauss(b, v):
    """Fisher information of Laplace(b) + N(0, v): int p'^2/p with p, p' by convolution."""
    lap = _laplace(b)

    def integrand(x):
        p = _conv(lap, x, v)
        dp = _conv(lambda e: lap(e) * (e - x) / v, x, v)
        return dp * dp / p
    return 2 * quad(integrand, 0, 40 * b + 12 * math.sqrt(v), epsabs=0, epsrel=1e-11, limit=200)[0]


def mmse_laplace_prior(b, t):
    """E (s0 - E[s0|x])^2 for s0 ~ Laplace(b), x = s0 + sqrt(t) z, by convolution."""
    lap = _laplace(b)

    def integrand(x):
        p = _conv(lap, x, t)
        m = _conv(lambda s: s * lap(s), x, t)
        return m * m / p
    return 2 * b * b - 2 * quad(integrand, 0, 40 * b + 12 * math.sqrt(t), epsabs=0, epsrel=1e-11, limit=200)[0]


def gauss_gauss_mse(alpha, sigma, sigma0):
    """Root of q^2 + (alpha s0^2 + s^2 - s0^2) q - s0^2 s^2 = 0."""
    b = alpha * sigma0**2 + sigma**2 - sigma0**2
    return (-b + math.sqrt(b * b + 4 * sigma0**2 * sigma**2)) / 2


_cache = {}


def solved(**params):
    key = tuple(sorted(params.items()))
    if key not in _cache:
        _cache[key] = replica.solve(MODEL, params)
    return _cache[key].observables


# ---------------------------------------------------------------------------
@pytest.mark.parametrize("alpha,sigma,sigma0", [(2.0, 0.5, 1.0), (0.5, 0.3, 1.0), (1.2, 1.0, 2.0)])
def test_gaussian_closed_form_equals_ridge_and_mmse(alpha, sigma, sigma0):
    obs = solved(alpha=alpha, noise_scale=sigma, prior_scale=sigma0)
    q = gauss_gauss_mse(alpha, sigma, sigma0)
    assert obs["mse"] == pytest.approx(q, rel=1e-11)
    assert obs["lambda_loss"] == pytest.approx(q, rel=1e-11)
    assert obs["lambda_reg"] == pytest.approx((sigma**2 + q) / alpha, rel=1e-11)
    # MAP (ridge with lambda = sigma^2/sigma0^2) is the posterior mean here: same error
    assert obs["mse_map"] == pytest.approx(q, rel=1e-9)
    assert obs["mse_bayes"] == pytest.approx(q, rel=1e-11) and obs["stationary_points"] == 1
    if sigma0 == 1.0:       # the bayes-optimal model (replica potential of a Bernoulli-Gauss prior, rho = 1)
        bo = replica.solve(BayesOptimal(), {"alpha": alpha, "rho": 1.0, "Delta": sigma**2}).observables
        assert obs["mse"] == pytest.approx(bo["mse"], rel=1e-10)


def test_flat_prior_gaussian_noise_is_least_squares():
    obs = solved(alpha=3.0, prior="flat", noise_scale=1.0)
    assert obs["mse"] == pytest.approx(0.5, rel=1e-12)
    assert obs["lambda_reg"] == pytest.approx(0.5, rel=1e-12)
    assert obs["mse_map"] == pytest.approx(0.5, rel=1e-10)
    assert "mse_bayes" not in obs and "stationary_points" not in obs       # no prior: not defined


def test_laplace_noise_unregularized_against_numerical_convolution():
    """Optimal unregularized M-estimation: q = 1/(alpha J(Laplace + N(0, q))); ML is LAD."""
    alpha, b = 2.0, 0.5
    obs = solved(alpha=alpha, prior="flat", noise="laplace", noise_scale=b)
    q = obs["mse"]
    assert 1 / (alpha * fisher_laplace_plus_gauss(b, q)) == pytest.approx(q, rel=1e-9)
    # the Cramer-Rao-like ordering: Gaussian noise of the same variance is harder, LAD (ML) is worse
    assert q < 2 * b**2 / (alpha - 1)
    assert obs["mse_map"] > 1.2 * q


def test_laplace_prior_gaussian_noise_reaches_the_mmse():
    """NeurIPS 2016: log-concave prior and noise -> the optimal M-estimator's MSE is the MMSE."""
    alpha, sigma, b0 = 2.0, 0.5, 1.0
    obs = solved(alpha=alpha, prior="laplace", noise_scale=sigma, prior_scale=b0)
    q, qd = obs["mse"], obs["lambda_reg"]
    assert qd == pytest.approx((sigma**2 + q) / alpha, rel=1e-11)        # J of a Gaussian: 1/(sigma^2 + q)
    assert mmse_laplace_prior(b0, qd) == pytest.approx(q, rel=1e-9)      # Bayes state evolution
    assert obs["stationary_points"] == 1 and obs["mse_bayes"] == pytest.approx(q, rel=1e-10)
    # the LASSO at lambda = sigma^2/b0 (MAP) is worse
    assert obs["mse_map"] > q * 1.02
    # and below the Gaussian prior of the same variance (Gaussian is the hardest prior)
    assert q < gauss_gauss_mse(alpha, sigma, math.sqrt(2) * b0)


def test_non_log_concave_laws_are_refused():
    with pytest.raises(ParameterError, match="Bernoulli-Gauss prior is not log-concave") as err:
        replica.solve(MODEL, {"prior": "bernoulli-gauss"})
    assert "\n" not in str(err.value)
    with pytest.raises(ParameterError, match="Student-t noise is not log-concave"):
        replica.solve(MODEL, {"noise": "student-t"})
    with pytest.raises(ParameterError, match="alpha"):
        replica.solve(MODEL, {"prior": "flat", "alpha": 0.8})


def test_derivation_equations_and_latex(tmp_path):
    import shutil
    params = MODEL.resolve({"alpha": 2.0})
    d = MODEL.derivation(params)
    # the derived, scaled equations: alpha J qd - 1 and q - mmse(qd) (Gaussian: J = 1/(s^2 + q))
    q, qd, a, s, s0 = 0.3, 0.4, 2.0, 0.5, 1.0
    r = d.numpy_residual(q, qd, a, s, s0)
    assert float(r[0]) == pytest.approx(a * qd / (s**2 + q) - 1, rel=1e-12)
    assert float(r[1]) == pytest.approx(q - s0**2 * qd / (s0**2 + qd), rel=1e-12)
    exe = shutil.which("pdflatex")
    if exe is None:
        pytest.fail("pdflatex is not installed")
    tex = tmp_path / "ome.tex"
    tex.write_text(standalone_document(derivation_latex(MODEL, params), MODEL.name))
    proc = subprocess.run([exe, "-interaction=nonstopmode", "-halt-on-error", tex.name], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout[-2000:]


def test_simulation_of_the_optimal_convex_problem_agrees():
    """The smoothed-MAP objective at the theory's (q, qd), minimised by L-BFGS on instances (P = 200)."""
    params = {"alpha": 2.0, "prior": "laplace", "noise_scale": 0.5, "prior_scale": 1.0}
    q = solved(**params)["mse"]
    est = replica.simulate(MODEL, params, n=200, trials=10, seed=3)["mse"]
    # statistical error plus an allowance of 5% for the O(1/P) finite-size correction
    assert abs(est.mean - q) <= 3 * est.stderr + 0.05 * q, (est, q)


def _fixed_point(model, params):
    """(q, qd) of the derived equations by scipy's root finder from the model's starting point."""
    from scipy.optimize import fsolve
    p = model.resolve(params)
    d = model.derivation(p)
    rest = [float(p[k.name]) for k in model.real_parameters]
    x, _, ok, msg = fsolve(lambda x: [float(v) for v in d.numpy_residual(*x, *rest)],
                           model.starting_points(p)[0], xtol=1e-13, full_output=True)
    assert ok == 1, msg
    return x


@pytest.mark.slow
def test_headline_optimal_needs_about_20_percent_less_data_than_map():
    """Advani & Ganguli (PRX 2016, abstract): optimal M-estimation can need "as much as 20%" less data
    than MAP for the same error. The paper's exact setting of that number was not established here;
    in this model, Laplace prior (b0 = 1) and Laplace noise (b = 0.5) at alpha = 1, MAP (LAD + LASSO,
    lambda = b/b0) needs alpha' with 1 - alpha/alpha' between 18% and 19.5% (18.8% by brentq). Other
    points computed: 14% at alpha = 2, 32% at alpha = 0.5 (same laws); 7% for Gaussian noise and a
    Laplace prior at alpha = 1; 8.5% and 10.5% for unregularized Laplace noise (ML = LAD) at
    alpha = 1.5 and 2."""
    params = {"alpha": 1.0, "noise": "laplace", "prior": "laplace", "noise_scale": 0.5}
    q, qd = _fixed_point(MODEL, params)
    # the fixed point is the Bayes state evolution: q = mmse(qd) by convolution (the noise side,
    # qd = 1/(alpha J(q)), is checked by convolution in the unregularized Laplace-noise test)
    assert mmse_laplace_prior(1.0, qd) == pytest.approx(q, rel=1e-8)
    mse_map = lambda a: MODEL.mse_map(MODEL.resolve({**params, "alpha": a}))
    assert mse_map(1 / (1 - 0.18)) > q       # MAP with 18% more... still worse
    assert mse_map(1 / (1 - 0.195)) < q      # ... with 19.5% less data for the optimal one, MAP is better
