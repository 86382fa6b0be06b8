"""The optimally tuned LASSO (lasso, tune=yes: lam_opt, mse_opt) against a plain state-evolution
minimisation over the threshold, the noiseless Donoho-Tanner dichotomy, and the closed-form
equations the solver uses against the derived (quadrature) ones.

Independent reference (scipy, closed forms written out here): the LASSO's state evolution
(D. Donoho, A. Maleki and A. Montanari, PNAS 106, 18914 (2009); M. Bayati and A. Montanari, IEEE
Trans. Inf. Theory 58, 1997 (2012), eqs. (1.6)-(1.9)), A_{mu i} ~ N(0, 1/N): for a threshold theta
(in units of tau), tau*(theta)^2 is the fixed point of tau^2 = sigma^2 + R(tau, theta)/delta with
R(tau, theta) = E[(eta(X0 + tau Z; theta tau) - X0)^2], the mse is delta (tau*^2 - sigma^2) and the
penalty is the calibration lam = theta tau* (1 - omega/delta), omega = P(eta != 0) (BM eq. (1.9),
one-to-one for lam > 0, BM Prop. 1.4). So min over lam of the mse = min over theta of tau*(theta),
and at the optimum dtau*/dtheta = 0, i.e. (differentiating the fixed point) dR/dtheta = 0 at fixed
tau: the threshold is the scalar denoiser's optimal one at the fixed-point noise level (DMM 2009).
The test solves that stationarity condition by brentq (outer) with tau*(theta) by brentq (inner).

Closed forms (X0 = 0 with probability 1 - rho, else N(0, 1); G(k) = (1 + k^2) H(k) - k phi(k) =
E(z - k)_+^2, G'(k) = 2 (k H(k) - phi(k))): R = (1 - rho) 2 tau^2 G(theta) + rho (2 s^2 G(k) - 4 H(k) + 1),
s^2 = 1 + tau^2, k = theta tau/s; omega = (1 - rho) 2 H(theta) + rho 2 H(k);
dR/dtheta = (1 - rho) 2 tau^2 G'(theta) + rho (2 s^2 G'(k) + 4 phi(k)) tau/s.
"""
import math

import numpy as np
import pytest
from scipy import optimize, special, stats

import replica
from replica.errors import ParameterError
from replica.models.lasso import Lasso
from replica.numeric import compile_numpy
from replica.symbolic import GaussianAverage, gaussian_average_closed_form

MODEL = Lasso()
H, phi = stats.norm.sf, stats.norm.pdf


def G(k):
    return (1 + k * k) * H(k) - k * phi(k)


def dG(k):
    return 2 * (k * H(k) - phi(k))


def risk(tau, theta, rho):
    """(R, omega). The signal part without cancellation at small tau (the noiseless fixed point
    tau -> 0): with Y ~ N(0, s^2), E[X0|Y] = Y/s^2, Var(X0|Y) = tau^2/s^2 = a, t = theta tau = k s,
    R_1 = a + 2 [int_0^t (y/s^2)^2 + int_t^oo (a y - t)^2] phi_s(y) dy
        = a + (1/s^2) P(3/2, k^2/2) + 2 s^2 [a^2 (k phi(k) + H(k)) - 2 a k phi(k) + k^2 H(k)],
    P the regularized lower incomplete gamma function (int_0^k u^2 phi = P(3/2, k^2/2)/2)."""
    s2 = 1 + tau * tau
    s = math.sqrt(s2)
    k, a = theta * tau / s, tau * tau / s2
    signal = a + special.gammainc(1.5, k * k / 2) / s2 + 2 * s2 * (a * a * (k * phi(k) + H(k)) - 2 * a * k * phi(k)
                                                                 + k * k * H(k))
    return ((1 - rho) * 2 * tau * tau * G(theta) + rho * signal, (1 - rho) * 2 * H(theta) + rho * 2 * H(k))


def test_reference_risk_equals_the_textbook_form():
    # the form of tests/test_lasso.py (E eta^2 - 2 E[eta y]/s^2 + 1, exact but cancelling at small tau)
    for tau, theta, rho in ((0.3, 1.2, 0.1), (1.5, 0.4, 0.5), (0.05, 2.0, 0.2)):
        s = math.sqrt(1 + tau * tau)
        k = theta * tau / s
        old = (1 - rho) * 2 * tau * tau * G(theta) + rho * (2 * s * s * G(k) - 4 * H(k) + 1)
        assert risk(tau, theta, rho)[0] == pytest.approx(old, rel=1e-10)


def drisk_dtheta(tau, theta, rho):
    s = math.sqrt(1 + tau * tau)
    k = theta * tau / s
    return (1 - rho) * 2 * tau * tau * dG(theta) + rho * (2 * s * s * dG(k) + 4 * phi(k)) * tau / s


def tau_star(delta, rho, sigma, theta):
    """The largest fixed point of tau^2 = sigma^2 + R/delta (0 if the only one is tau = 0)."""
    gap = lambda t2: (sigma**2 + risk(math.sqrt(t2), theta, rho)[0] / delta) / t2 - 1   # noqa: E731
    lo, hi = 1e-300, 1e6
    if gap(hi) > 0:
        return math.inf
    if gap(lo) <= 0:
        return 0.0
    return math.sqrt(optimize.brentq(gap, lo, hi, xtol=1e-300, rtol=1e-15, maxiter=1000))


def tuned_state_evolution(delta, rho, sigma):
    """(lam_opt, mse_opt) by the stationarity of the state-evolution fixed point in theta."""
    def stationarity(theta):
        return drisk_dtheta(tau_star(delta, rho, sigma, theta), theta, rho)

    grid = np.linspace(0.3, 4.0, 75)
    taus = np.array([tau_star(delta, rho, sigma, t) for t in grid])
    grid, taus = grid[np.isfinite(taus)], taus[np.isfinite(taus)]      # thresholds with a fixed point
    j = int(np.argmin(taus))
    assert 0 < j < len(grid) - 1 and taus[j] > 0
    theta = optimize.brentq(stationarity, grid[j - 1], grid[j + 1], xtol=1e-15, rtol=1e-15)
    tau = tau_star(delta, rho, sigma, theta)
    omega = risk(tau, theta, rho)[1]
    return theta * tau * (1 - omega / delta), delta * (tau * tau - sigma**2)


def test_reference_stationarity_is_the_derivative():
    # the hand derivative used by the reference, against a central difference of the closed form
    for tau, theta, rho in ((0.3, 1.2, 0.1), (1.5, 0.4, 0.5)):
        h = 1e-6
        fd = (risk(tau, theta + h, rho)[0] - risk(tau, theta - h, rho)[0]) / (2 * h)
        assert drisk_dtheta(tau, theta, rho) == pytest.approx(fd, rel=1e-7)


@pytest.mark.parametrize("delta,rho,sigma", [(0.5, 0.1, 0.1), (2.0, 0.3, 0.5), (0.2, 0.05, 0.01),
                                             (0.8, 0.5, 1.0)])
def test_equals_state_evolution_minimised_over_the_threshold(delta, rho, sigma):
    r = replica.solve("lasso", {"delta": delta, "rho": rho, "sigma": sigma, "tune": "yes"})
    lam_ref, mse_ref = tuned_state_evolution(delta, rho, sigma)
    assert r.observables["mse_opt"] == pytest.approx(mse_ref, rel=1e-10)
    assert r.observables["lam_opt"] == pytest.approx(lam_ref, rel=1e-8)
    # and the model at lam_opt has that mse; nearby penalties do worse
    at = replica.solve("lasso", {"delta": delta, "rho": rho, "sigma": sigma, "lam": r.observables["lam_opt"]})
    assert at.observables["mse"] == pytest.approx(r.observables["mse_opt"], rel=1e-12)
    for f in (0.9, 1.1):
        lam = f * r.observables["lam_opt"]
        other = replica.solve("lasso", {"delta": delta, "rho": rho, "sigma": sigma, "lam": lam})
        assert other.observables["mse"] > r.observables["mse_opt"]


def test_noiseless_below_the_donoho_tanner_curve_recovers_exactly():
    # delta = 0.5: rho_DT = 0.3848 in k/N (Donoho and Tanner, Phil. Trans. R. Soc. A 367, 4273 (2009),
    # Table/figure of the weak threshold; tests/test_l1_recovery.py), i.e. k/P = 0.1924. rho = 0.15 < 0.19:
    r = replica.solve("lasso", {"delta": 0.5, "rho": 0.15, "sigma": 0.0, "tune": "yes"})
    assert r.observables["lam_opt"] == 0.0 and r.observables["mse_opt"] == 0.0
    # the solved mse indeed goes to 0 with lam (about linearly in lam^2: exact recovery in the limit)
    mse = [replica.solve("lasso", {"delta": 0.5, "rho": 0.15, "sigma": 0.0, "lam": lam}).observables["mse"]
           for lam in (1e-1, 1e-2, 1e-3)]
    assert mse[0] > mse[1] > mse[2] and mse[2] < 1e-3 * mse[0]
    # the reference agrees: tau = 0 is the state-evolution fixed point at a threshold near the optimum
    assert tau_star(0.5, 0.15, 0.0, 1.2) == 0.0
    # delta >= 1 without noise: least squares is exact
    r = replica.solve("lasso", {"delta": 1.5, "rho": 0.5, "sigma": 0.0, "tune": "yes"})
    assert r.observables["mse_opt"] == 0.0


def test_noiseless_above_the_donoho_tanner_curve_has_positive_error():
    # rho = 0.25 > 0.1924 at delta = 0.5: no threshold gives tau = 0; the tuned LASSO keeps an error
    r = replica.solve("lasso", {"delta": 0.5, "rho": 0.25, "sigma": 0.0, "tune": "yes"})
    lam_ref, mse_ref = tuned_state_evolution(0.5, 0.25, 0.0)
    assert r.observables["mse_opt"] > 0.02
    assert r.observables["mse_opt"] == pytest.approx(mse_ref, rel=1e-10)
    assert r.observables["lam_opt"] == pytest.approx(lam_ref, rel=1e-8)


def test_tune_no_adds_nothing_and_bad_tune_is_refused():
    r = replica.solve("lasso", {"delta": 0.5, "rho": 0.1, "sigma": 0.1, "lam": 0.1})
    assert "lam_opt" not in r.observables and "mse_opt" not in r.observables
    with pytest.raises(ParameterError, match="tune"):
        MODEL.resolve({"tune": "maybe"})


# -- the closed-form equations the solver uses ----------------------------------------------
def test_closed_free_energy_is_the_derived_average():
    """The hand-written closed form equals (a) the free energy with its averages done symbolically
    by the package's gaussian_average_closed_form and (b) the quadrature of the derived averages."""
    import sympy
    from replica.proximal import RampSq
    d = MODEL.derivation(MODEL.resolve({}))
    F = d.free_energy
    ops = [o.symbol for o in MODEL.order_parameters]
    pos = {o: sympy.Symbol(o.name, positive=True) for o in ops}

    def closed(avg):
        integrand = avg.integrand.replace(lambda e: isinstance(e, RampSq),
                                          lambda e: e.args[0]**2 * sympy.Heaviside(e.args[0]))
        out = gaussian_average_closed_form(GaussianAverage(sympy.expand(integrand), avg.variable))
        assert not out.has(GaussianAverage)
        return out

    symbolic = F.xreplace(pos).replace(lambda e: isinstance(e, GaussianAverage), closed).xreplace(
        {v: k for k, v in pos.items()})
    f_hand, f_sym, f_quad = (compile_numpy(e, d.args) for e in (MODEL.closed_free_energy(), symbolic, F))
    rng = np.random.default_rng(3)
    for _ in range(40):
        x = [10**rng.uniform(-4, 0), 10**rng.uniform(-2, 1), 10**rng.uniform(-4, 0), 10**rng.uniform(-1, 0.5)]
        p = [10**rng.uniform(-1, 0.5), rng.uniform(0.02, 1), 10**rng.uniform(-2, 0), rng.uniform(0, 0.5)]
        a, b, c = float(f_hand(*x, *p)), float(f_sym(*x, *p)), float(f_quad(*x, *p))
        assert a == pytest.approx(b, rel=1e-11, abs=1e-13) and a == pytest.approx(c, rel=1e-11, abs=1e-13)


def test_closed_form_equations_equal_the_derived_ones_over_a_wide_range():
    # the contract battery checks two points; here 300 random ones, thresholds from 1e-3 to ~300 widths
    d = MODEL.derivation(MODEL.resolve({}))
    derived = compile_numpy(d.derived_equations, d.args)
    rng = np.random.default_rng(0)
    for _ in range(300):
        x = [10**rng.uniform(-6, 0.5), 10**rng.uniform(-3, 1), 10**rng.uniform(-6, 1), 10**rng.uniform(-2, 1.5)]
        p = [10**rng.uniform(-1.5, 0.7), rng.uniform(0.01, 1), 10**rng.uniform(-4, 0.5), rng.uniform(0, 1)]
        used, ref = np.array(d.numpy_residual(*x, *p)), np.array(derived(*x, *p))
        assert np.all(np.abs(used - ref) <= 1e-12 * np.abs(ref) + 1e-13), (x, p, used, ref)
