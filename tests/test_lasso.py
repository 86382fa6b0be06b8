"""The lasso model against Bayati-Montanari state evolution (solved here by scipy, independently of
the package), its own consistency relations, the contract battery, and simulations.

State evolution (M. Bayati and A. Montanari, IEEE Trans. Inf. Theory 58, 1997 (2012), eqs. (1.6)-(1.9)),
A with N(0, 1/N) entries: tau^2 = sigma^2 + E[(eta(X0 + tau Z; theta tau) - X0)^2]/delta, calibrated by
lam = theta tau (1 - E[eta'(X0 + tau Z; theta tau)]/delta); the LASSO mse is E[(eta - X0)^2] at the fixed point.
The Gaussian integrals of the soft threshold eta are written out by hand:
for y ~ N(0, s^2): E eta(y; t)^2 = 2[(s^2 + t^2) H(t/s) - t s phi(t/s)], E eta(y; t) y = 2 s^2 H(t/s),
P(|y| > t) = 2 H(t/s); for X0 ~ N(0, 1) and y = X0 + tau Z, E[(eta - X0)^2] = E eta^2 - 2 E[eta y]/(1 + tau^2) + 1.
"""
import math
import time

import numpy as np
import pytest
from scipy import optimize, stats

import test_contract as contract
from replica.errors import ParameterError
from replica.models.lasso import Lasso
from replica.simulation import compare
from replica.solver import solve

MODEL = Lasso()


def state_evolution(delta, rho, lam, sigma):
    """(mse, tau, theta) of the LASSO by Bayati-Montanari state evolution + calibration (scipy)."""
    def soft(sd, t):
        a = t / sd
        H, phi = stats.norm.sf(a), stats.norm.pdf(a)
        return 2 * ((sd * sd + t * t) * H - t * sd * phi), 2 * sd * sd * H, 2 * H

    def moments(tau, theta):
        t = theta * tau
        e0, _, p0 = soft(tau, t)                       # X0 = 0
        var = 1 + tau * tau                             # X0 ~ N(0, 1)
        e1, ey1, p1 = soft(math.sqrt(var), t)
        return (1 - rho) * e0 + rho * (e1 - 2 * ey1 / var + 1), (1 - rho) * p0 + rho * p1

    def tau_of(theta):
        """The fixed point of tau^2 -> sigma^2 + mse(tau, theta)/delta (concave map: one crossing)."""
        gap = lambda t2: sigma**2 + moments(math.sqrt(t2), theta)[0] / delta - t2      # noqa: E731
        lo, hi = sigma**2 + 1e-12, 1e4
        if gap(hi) > 0:
            return math.inf                    # theta below the minimal threshold: no fixed point
        if gap(lo) <= 0:
            return sigma                       # noiseless, high threshold: tau = 0 is the fixed point
        return math.sqrt(optimize.brentq(gap, lo, hi, xtol=1e-300, rtol=1e-15, maxiter=500))

    def calibration(theta):
        tau = tau_of(theta)
        return theta * tau * (1 - moments(tau, theta)[1] / delta) - lam if math.isfinite(tau) else -math.inf

    # the bracket: from theta = 8 down a grid to the first sign change (lam > 0 at the top)
    grid = np.arange(8.0, 0.05, -0.1)
    vals = [calibration(t) for t in grid[:2]]
    k = 1
    while vals[-1] > 0:
        k += 1
        vals.append(calibration(grid[k]))
    theta = optimize.brentq(calibration, grid[k], grid[k - 1], xtol=1e-14)
    tau = tau_of(theta)
    return moments(tau, theta)[0], tau, theta


CASES = [(0.5, 0.1, 0.1, 0.1), (0.7, 0.2, 0.3, 0.3), (2.0, 0.5, 0.5, 0.2), (0.3, 0.05, 0.02, 0.01)]


@pytest.mark.parametrize("delta,rho,lam,sigma", CASES)
def test_equals_bayati_montanari_state_evolution(delta, rho, lam, sigma):
    r = solve(MODEL, MODEL.resolve({"delta": delta, "rho": rho, "lam": lam, "sigma": sigma}))
    mse, tau, theta = state_evolution(delta, rho, lam, sigma)
    assert r.observables["mse"] == pytest.approx(mse, rel=1e-8)
    assert r.observables["tau"] == pytest.approx(tau, rel=1e-8)
    assert r.observables["theta"] == pytest.approx(theta, rel=1e-8)
    # the state-evolution fixed point, from two different order parameters (qhat, Vhat vs q)
    assert r.observables["tau"]**2 == pytest.approx(sigma**2 + r.observables["mse"] / delta, rel=1e-10)


def test_reference_value_is_the_state_evolution_value():
    ref = MODEL.references[0]
    mse, _, _ = state_evolution(**{k: ref.params[k] for k in ("delta", "rho", "lam", "sigma")})
    assert ref.value == pytest.approx(mse, abs=ref.tol / 10)


def test_small_penalty_limits():
    # delta > 1 and lam -> 0: least squares, x_hat - x0 = (A^T A)^{-1} A^T w with A^T A -> Wishart of mean I,
    # E tr (A^T A)^{-1}/P -> 1/(1 - 1/delta): mse = sigma^2 delta/(delta - 1) (+ O(lam))
    r = solve(MODEL, MODEL.resolve({"delta": 3.0, "rho": 0.5, "lam": 1e-7, "sigma": 0.5}))
    assert r.observables["mse"] == pytest.approx(0.25 * 3.0 / 2.0, rel=1e-5)


@pytest.mark.parametrize("params,match", [
    ({"delta": 0.0}, r"'delta'=0 is out of range; allowed \(0, inf\)"),
    ({"rho": 0.0}, r"'rho'=0 is out of range; allowed \(0, 1\]"),
    ({"lam": -1.0}, r"'lam'=-1 is out of range; allowed \(0, inf\)"),
    ({"sigma": -0.1}, r"'sigma'=-0.1 is out of range; allowed \[0, inf\)"),
])
def test_bad_input(params, match):
    with pytest.raises(ParameterError, match=match):
        MODEL.resolve(params)


# the contract battery of tests/test_contract.py on this (not yet registered) model
CONTRACT_POINTS = [({"delta": 0.5, "rho": 0.1, "lam": 0.1, "sigma": 0.1}, [0.02, 1.5, 0.05, 0.3]),
                   ({"delta": 2.0, "rho": 0.5, "lam": 0.5, "sigma": 0.2}, [0.1, 0.3, 0.2, 1.5])]


@pytest.fixture
def registered(monkeypatch):
    from replica import registry
    monkeypatch.setitem(registry.MODELS, Lasso.name, Lasso)
    return Lasso.name


@pytest.mark.parametrize("check", [contract.test_equations_are_the_scaled_gradient_of_the_free_energy,
                                   contract.test_solver_equations_equal_the_derived_ones,
                                   contract.test_jacobian_is_the_derivative_of_the_equations,
                                   contract.test_numpy_and_mpmath_backends_agree], ids=lambda f: f.__name__[5:])
@pytest.mark.parametrize("params,x", CONTRACT_POINTS)
def test_contract_battery(registered, check, params, x):
    check(registered, params, x)


def test_contract_known_values_and_interface(registered):
    contract.test_known_values_are_reproduced(registered)
    contract.test_model_declares_its_interface(registered)


@pytest.mark.latex
def test_contract_latex_export(registered, tmp_path, pdflatex):
    contract.test_latex_export_compiles(registered, CONTRACT_POINTS[0][0], tmp_path, pdflatex)


def test_compare_with_simulation():
    t0 = time.time()
    c = compare(MODEL, MODEL.resolve({"delta": 0.5, "rho": 0.1, "lam": 0.1, "sigma": 0.1}), [100, 200, 400],
                trials=40, seed=1)
    assert c.agrees, c.to_dict()
    # the sparse signal makes the per-instance mse fluctuate: ~10% error bars at these sizes
    assert c.observables["mse"].extrapolated_stderr < 0.12 * c.observables["mse"].theory, c.to_dict()
    assert time.time() - t0 < 60
