"""amp: the soft-threshold MSE derived by SymPy against 30-digit mpmath quadrature of the definition,
the state-evolution fixed point (mpmath, the Gaussian-prior closed form, bayes-optimal's AMP branch),
the iterates at finite t, the existence threshold theta_min, the stability, AMP on instances against
state evolution, and bad input."""
from __future__ import annotations

import math

import mpmath as mp
import numpy as np
import pytest

import replica
from replica.errors import ConvergenceError, ParameterError
from replica.models.amp import Amp, soft_mse_parts, theta_min
from replica.models.bayes_optimal import BayesOptimal
from replica.simulation import compare
from replica.simulators.amp import amp_instance

MODEL = Amp()


# -- independent references ----------------------------------------------------------------
def _soft(y, c):
    return mp.sign(y) * max(abs(y) - c, 0)


def mse_direct(tau, theta, rho):
    """E (eta(X + tau Z; theta tau) - X)^2, X Bernoulli-Gauss, by mpmath quadrature at the caller's
    precision: the X = 0 part in y = tau Z; the Gaussian part through Y = X + tau Z ~ N(0, 1 + tau^2)
    and E[X | Y] = Y/(1 + tau^2), so E (eta(Y) - X)^2 = E eta(Y)^2 - 2 E[eta(Y) Y]/(1 + tau^2) + 1
    (a route independent of the model's rotation and closed form)."""
    tau, theta, rho = mp.mpf(tau), mp.mpf(theta), mp.mpf(rho)
    c, s = theta * tau, mp.sqrt(1 + tau**2)
    pts = [-mp.inf, -c, c, mp.inf]
    zero = mp.quad(lambda y: _soft(y, c) ** 2 * mp.npdf(y, 0, tau), pts)
    e2 = mp.quad(lambda y: _soft(y, c) ** 2 * mp.npdf(y, 0, s), pts)
    ey = mp.quad(lambda y: _soft(y, c) * y * mp.npdf(y, 0, s), pts)
    return (1 - rho) * zero + rho * (e2 - 2 * ey / s**2 + 1)


def se_fixed_point_direct(alpha, rho, Delta, theta):
    """The soft-threshold state evolution of Donoho, Maleki and Montanari (PNAS 2009) in their
    normalisation, tau^2 = sigma^2 + mse(tau)/delta with delta = alpha and sigma^2 = Delta/alpha,
    solved by mpmath.findroot at 30 digits; returns the MSE alpha tau^2 - Delta."""
    with mp.workdps(30):
        a, r, d, th = (mp.mpf(x) for x in (alpha, rho, Delta, theta))
        tau2 = mp.findroot(lambda t2: t2 - d / a - mse_direct(mp.sqrt(t2), th, r) / a, (d + r) / a)
        return a * tau2 - d


# -- the scalar problem ------------------------------------------------------------------------
@pytest.mark.parametrize("tau,theta", [(0.7, 1.3), (0.05, 2.0), (3.0, 0.4), (0.3, 4.0)])
def test_soft_threshold_mse_derived_by_sympy_matches_the_definition(tau, theta):
    from replica.numeric import compile_mpmath
    import sympy
    t, th = sympy.symbols("tau theta", positive=True)
    zero, gauss = soft_mse_parts()
    with mp.workdps(30):
        f0, fg = (compile_mpmath(e, [t, th]) for e in (zero, gauss))
        # rho = 0 isolates the zero part, rho = 1 the Gaussian part
        assert float(abs(f0(mp.mpf(tau), mp.mpf(theta)) - mse_direct(tau, theta, 0))) < 1e-25
        assert float(abs(fg(mp.mpf(tau), mp.mpf(theta)) - mse_direct(tau, theta, 1))) < 1e-25


def test_soft_threshold_mse_limits():
    # theta -> 0: no thresholding, mse = tau^2; theta -> oo: everything killed, mse = E s0^2 = rho
    f = MODEL.se_map(MODEL.resolve({"alpha": 4.0, "rho": 0.3, "Delta": 0.2, "theta": 1e-9}))
    E = 0.5
    assert float(f(E)) == pytest.approx((0.2 + E) / 4.0, rel=1e-8)
    f = MODEL.se_map(MODEL.resolve({"alpha": 4.0, "rho": 0.3, "Delta": 0.2, "theta": 30.0}))
    assert float(f(E)) == pytest.approx(0.3, rel=1e-12)


# -- the fixed point ----------------------------------------------------------------------------
@pytest.mark.parametrize("params", [{"alpha": 0.5, "rho": 0.1, "Delta": 0.01, "theta": 1.5},
                                    {"alpha": 2.0, "rho": 1.0, "Delta": 0.5, "theta": 1.0},
                                    {"alpha": 0.3, "rho": 0.05, "Delta": 1e-4, "theta": 1.8}])
def test_soft_fixed_point_against_mpmath_state_evolution(params):
    E = replica.solve(MODEL, dict(params, denoiser="soft")).observables["mse"]
    ref = se_fixed_point_direct(params["alpha"], params["rho"], params["Delta"], params["theta"])
    assert E == pytest.approx(float(ref), rel=1e-11)


@pytest.mark.parametrize("alpha,Delta", [(2.0, 0.5), (0.5, 0.1), (1.0, 1e-3)])
def test_bayes_gaussian_prior_closed_form(alpha, Delta):
    # rho = 1: mse(tau) = tau^2/(1 + tau^2), so E^2 + (alpha + Delta - 1) E - Delta = 0
    r = replica.solve(MODEL, {"denoiser": "bayes", "alpha": alpha, "rho": 1.0, "Delta": Delta}).observables
    b = alpha + Delta - 1
    E = (-b + math.sqrt(b * b + 4 * Delta)) / 2
    assert r["mse"] == pytest.approx(E, rel=1e-11)
    assert r["tau"] == pytest.approx(math.sqrt((Delta + E) / alpha), rel=1e-12)


@pytest.mark.parametrize("alpha", [0.12, 0.18, 0.25, 0.6])
def test_bayes_fixed_point_is_the_branch_amp_reaches(alpha):
    # bayes-optimal's mse_amp: the largest stationary point of its replica potential (three coexist at
    # 0.12 and 0.18, where the MMSE is another branch at 0.18)
    p = {"alpha": alpha, "rho": 0.1, "Delta": 1e-8 if alpha < 0.5 else 1e-3}
    ref = replica.solve(BayesOptimal(), p).observables["mse_amp"]
    assert replica.solve(MODEL, dict(p, denoiser="bayes")).observables["mse"] == pytest.approx(ref, rel=1e-9)


def test_bayes_sweep_across_the_hard_phase_follows_amp():
    # in the three-branch region (alpha = 0.12, 0.18 at rho = 0.1, Delta = 1e-8) the lowest potential is
    # not the branch AMP reaches: a sweep starts every point from AMP's own fixed point (the model's
    # per-point starting points) and reports AMP's branch, the same as one point at a time
    alphas = [0.12, 0.18, 0.25, 0.4]
    s = replica.sweep(MODEL, {"denoiser": "bayes", "rho": 0.1, "Delta": 1e-8}, "alpha", alphas)
    assert all(p.converged for p in s.points)
    for a, point in zip(alphas, s.points):
        single = replica.solve(MODEL, {"denoiser": "bayes", "rho": 0.1, "Delta": 1e-8, "alpha": a})
        assert point.observables["mse"] == pytest.approx(single.observables["mse"], rel=1e-9)
    # and it is AMP's branch, above the MMSE there
    mmse = replica.solve(BayesOptimal(), {"rho": 0.1, "Delta": 1e-8, "alpha": 0.18}).observables["mse"]
    assert s.points[1].observables["mse"] > 10 * mmse


def test_soft_sweep_matches_single_points():
    s = replica.sweep(MODEL, {"rho": 0.1, "Delta": 0.01, "theta": 1.5}, "alpha", [0.4, 0.5, 0.8])
    for a, v in zip([0.4, 0.5, 0.8], s.array("mse")):
        assert v == pytest.approx(replica.solve(MODEL, {"rho": 0.1, "Delta": 0.01, "theta": 1.5,
                                                        "alpha": a}).observables["mse"], rel=1e-10)


def test_iterates_at_finite_t_against_mpmath_state_evolution():
    p = {"alpha": 0.5, "rho": 0.1, "Delta": 0.01, "theta": 1.5}
    with mp.workdps(20):
        E = mp.mpf("0.1")
        ref = [E]
        for _ in range(4):
            E = mse_direct(mp.sqrt((mp.mpf("0.01") + E) / mp.mpf("0.5")), 1.5, mp.mpf("0.1"))
            ref.append(E)
    for t in range(5):
        got = replica.solve(MODEL, dict(p, t=t)).observables["mse_t"]
        assert got == pytest.approx(float(ref[t]), rel=1e-12)
    # and the iterates approach the fixed point
    r = replica.solve(MODEL, dict(p, t=400)).observables
    assert r["mse_t"] == pytest.approx(r["mse"], rel=1e-10)


def test_stability_is_one_minus_the_slope_of_the_map():
    for given in ({"alpha": 0.5, "rho": 0.1, "Delta": 0.01, "theta": 1.5},
                  {"denoiser": "bayes", "alpha": 0.6, "rho": 0.1, "Delta": 1e-3}):
        params = MODEL.resolve(given)
        r = replica.solve(MODEL, params)
        E, f = r.observables["mse"], MODEL.se_map(params)
        h = 1e-5 * E
        slope = (float(f(E + h)) - float(f(E - h))) / (2 * h)
        assert r.stability["eigenvalue"] == pytest.approx(1 - slope, rel=1e-6)
        assert 0 < r.stability["eigenvalue"] < 1


def test_theta_min_is_the_existence_threshold():
    # Bayati & Montanari (IEEE TIT 58, 1997 (2012)): a fixed point exists iff theta > theta_min(alpha),
    # (1 + theta^2) Phi(-theta) - theta phi(theta) = alpha/2; just above it tau is large, below it refused
    alpha = 0.5
    tmin = theta_min(alpha)
    with mp.workdps(30):
        m = (1 + mp.mpf(tmin) ** 2) * mp.ncdf(-tmin) - tmin * mp.npdf(tmin)
    assert float(m) == pytest.approx(alpha / 2, rel=1e-13)
    near = replica.solve(MODEL, {"alpha": alpha, "theta": tmin * 1.01}).observables["tau"]
    far = replica.solve(MODEL, {"alpha": alpha, "theta": tmin * 1.5}).observables["tau"]
    assert near > 5 * far
    with pytest.raises(ParameterError, match="theta"):
        MODEL.resolve({"alpha": alpha, "theta": tmin * 0.99})
    assert theta_min(1.0) == 0.0
    MODEL.resolve({"alpha": 1.5, "theta": 1e-3})          # alpha >= 1: every threshold has a fixed point


# -- simulation -------------------------------------------------------------------------------
def test_amp_instance_is_reproducible_and_starts_from_no_information():
    a = amp_instance(300, 0.5, 0.1, 0.01, np.random.default_rng(7), t=0)
    b = amp_instance(300, 0.5, 0.1, 0.01, np.random.default_rng(7), t=0)
    assert a == b and a["converged"]
    rng = np.random.default_rng(7)
    s0 = rng.standard_normal(300) * (rng.random(300) < 0.1)       # the same draws as the instance
    assert a["mse_t"] == pytest.approx(float(np.mean(s0**2)), rel=1e-14)


def test_quick_compare_agrees():
    spec = MODEL.quick_compares[0]
    c = replica.compare(MODEL, MODEL.resolve(spec["params"]), spec["n"], spec["trials"], spec["seed"])
    for name, o in c.observables.items():
        assert o.agrees, (name, o.theory, o.extrapolated, o.extrapolated_stderr, o.z)
        assert o.extrapolated_stderr < 0.25 * o.theory, name           # the check has power


@pytest.mark.slow
@pytest.mark.parametrize("params", [{"denoiser": "bayes", "alpha": 0.6, "rho": 0.1, "Delta": 1e-3, "t": 5},
                                    {"denoiser": "soft", "alpha": 2.0, "rho": 1.0, "Delta": 0.5, "theta": 1.0,
                                     "t": 2}])
def test_amp_on_instances_agrees_with_state_evolution(params):
    c = replica.compare(MODEL, MODEL.resolve(params), [250, 500, 1000], trials=20, seed=3)
    for name, o in c.observables.items():
        assert o.agrees, (name, o.theory, o.extrapolated, o.extrapolated_stderr, o.z)


def test_simulation_detects_a_wrong_theory():
    # power: the same data against a state evolution one iteration off disagree
    spec = MODEL.quick_compares[0]
    params = MODEL.resolve(spec["params"])
    wrong = MODEL.iterate(params, params["t"] - 1)
    theory = dict(replica.solve(MODEL, params).observables, mse_t=wrong)
    c = compare(MODEL, params, spec["n"], spec["trials"], spec["seed"], theory=theory)
    assert not c.observables["mse_t"].agrees


# -- bad input ----------------------------------------------------------------------------------
@pytest.mark.parametrize("params,needle", [({"alpha": 0.0}, "alpha"), ({"alpha": -1.0}, "alpha"),
                                           ({"rho": 0.0}, "rho"), ({"rho": 1.5}, "rho"),
                                           ({"Delta": -0.1}, "Delta"), ({"theta": 0.0}, "theta"),
                                           ({"theta": -1.0}, "theta"), ({"t": -1}, "'t'"),
                                           ({"denoiser": "hard"}, "denoiser")])
def test_bad_input_is_one_line_naming_the_parameter(params, needle):
    with pytest.raises(ParameterError, match=needle) as info:
        MODEL.resolve(params)
    assert "\n" not in str(info.value)
