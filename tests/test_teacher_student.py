"""Teacher-student perceptron learning: the composed engine against independent values.

Independent references are computed here with scipy (quad + brentq) from equations written
out by hand from the literature, not from the package's derivation.
"""
import math

import numpy as np
import pytest
import sympy
from scipy import integrate, optimize, special

import replica
from replica.errors import ConvergenceError, ParameterError
from replica.models.gardner import Gardner
from replica.models.teacher_student import TeacherStudent
from replica.symbolic import GaussianAverage, LnH

QUAD = dict(epsabs=1e-14, epsrel=1e-13, limit=200)


def _gibbs_R(alpha):
    """Zero-temperature Gibbs learning of a noiseless teacher (Engel & Van den Broeck,
    "Statistical Mechanics of Learning" 2001, eq. (2.42)):
    R / sqrt(1 - R) = (alpha/pi) int Dt exp(-R t^2/2) / H(-sqrt(R) t),
    with exp(-R t^2/2)/H(-sqrt(R) t) = sqrt(2 pi) g(-sqrt(R) t), g = phi/H (no overflow)."""
    def f(R):
        g = lambda t: math.sqrt(2 / math.pi) / special.erfcx(-math.sqrt(R) * t / math.sqrt(2))
        avg = integrate.quad(lambda t: math.sqrt(2 * math.pi) * g(t) * math.exp(-t * t / 2) / math.sqrt(2 * math.pi),
                             -np.inf, np.inf, **QUAD)[0]
        return R / math.sqrt(1 - R) - alpha / math.pi * avg
    return optimize.brentq(f, 1e-9, 1 - 1e-12, xtol=1e-15, rtol=1e-15)


def _max_margin(alpha):
    """Maximal-stability perceptron learning a noiseless teacher, written out by hand (Gardner 1988
    for the volume; Engel & Van den Broeck 2001, sec. 4.2): with
    I(R, k) = int_{-k}^oo Dt 2 H(R t / sqrt(1 - R^2)) (k + t)^2 / 2,
    the volume vanishes where (1 - R^2)/2 = alpha I(R, k), and the margin is maximal where
    also -R = alpha dI/dR, dH(R t/s)/dR = -phi(R t/s) t / s^3 (s = sqrt(1 - R^2))."""
    def I(R, k):
        s = math.sqrt(1 - R * R)
        return integrate.quad(lambda t: special.ndtr(-R * t / s) * (k + t)**2 * math.exp(-t * t / 2)
                              / math.sqrt(2 * math.pi), -k, np.inf, **QUAD)[0]

    def dI(R, k):
        s = math.sqrt(1 - R * R)
        return integrate.quad(lambda t: -math.exp(-(R * t / s)**2 / 2) / math.sqrt(2 * math.pi) * t / s**3
                              * (k + t)**2 * math.exp(-t * t / 2) / math.sqrt(2 * math.pi), -k, np.inf, **QUAD)[0]

    def eqs(v):
        R, k = v
        return [(1 - R * R) / 2 - alpha * I(R, k), -R - alpha * dI(R, k)]

    sol = optimize.root(eqs, [0.95, 0.2] if alpha > 2 else [0.6, 0.8], method="hybr", tol=1e-14)
    # "no further improvement" at tol 1e-14 is machine precision: judge by the residual
    assert max(abs(e) for e in eqs(sol.x)) < 1e-13, sol
    return sol.x


def _solve(**params):
    return replica.solve("teacher-student", params)


# -- the engine -----------------------------------------------------------------
def test_gardner_is_a_composition_of_the_engine_identical_to_the_foundation():
    model = Gardner()
    q, kappa, alpha = model.order_parameters[0].symbol, model.parameters[0].symbol, model.parameters[1].symbol
    t = sympy.Symbol("t", real=True)
    # the foundation's free entropy, Gardner 1988 eq. (30), as written before the engine existed
    foundation = (sympy.log(1 - q) / 2 + q / (2 * (1 - q))
                  + alpha * GaussianAverage(LnH((kappa + sympy.sqrt(q) * t) / sympy.sqrt(1 - q)), t))
    composed = model.free_energy({})
    assert sympy.simplify(composed - foundation) == 0
    d = model.derivation({})
    F = replica.numeric.compile_numpy(foundation, d.args)
    for qv, k, a in [(0.3, 0.0, 1.0), (0.9, 0.5, 0.5), (0.999, -1.0, 5.0)]:
        assert float(d.numpy_free_energy(qv, k, a)) == float(F(qv, k, a))


# -- Gibbs, Bayes, Hebb, max-margin against independent values ------------------
@pytest.mark.parametrize("alpha", [0.5, 2.0, 5.0, 20.0])
def test_gibbs_noiseless_matches_the_textbook_equation(alpha):
    R = _gibbs_R(alpha)
    r = _solve(alpha=alpha, rule="gibbs")
    assert float(r.observables["R"]) == pytest.approx(R, abs=1e-11)
    assert float(r.observables["q"]) == pytest.approx(R, abs=1e-11)          # Nishimori: q = R
    assert float(r.observables["eps_g"]) == pytest.approx(math.acos(R) / math.pi, abs=1e-11)


@pytest.mark.parametrize("alpha", [0.5, 2.0, 5.0])
def test_noisy_gibbs_reduces_to_the_noiseless_one_as_the_noise_vanishes(alpha):
    # the general (q, R) saddle point with a tiny output noise: continuity to the Nishimori line
    clean = _solve(alpha=alpha, rule="gibbs")
    noisy = _solve(alpha=alpha, rule="gibbs", noise=1e-6)
    assert float(noisy.observables["R"]) == pytest.approx(float(clean.observables["R"]), abs=1e-5)
    assert float(noisy.observables["q"]) == pytest.approx(float(clean.observables["q"]), abs=1e-5)


@pytest.mark.parametrize("alpha", [1.0, 5.0])
def test_bayes_centre_of_mass_is_the_square_root_of_gibbs(alpha):
    # Opper & Haussler (1991); Engel & Van den Broeck 2001, sec. 3.6: R_Bayes = sqrt(R_Gibbs)
    R = _gibbs_R(alpha)
    assert float(_solve(alpha=alpha, rule="bayes").observables["R"]) == pytest.approx(math.sqrt(R), abs=1e-11)


@pytest.mark.parametrize("alpha,noise,flip", [(1.0, 0.0, 0.0), (3.0, 0.5, 0.0), (2.0, 0.0, 0.2),
                                              (10.0, 1.0, 0.1)])
def test_hebb_closed_form(alpha, noise, flip):
    # w = sum_mu y_mu xi_mu: R = m sqrt(alpha)/sqrt(1 + alpha m^2), m = E[y v]
    # = (1 - 2 flip) sqrt(2/pi)/sqrt(1 + noise^2) (Engel & Van den Broeck 2001, sec. 2.3 and ch. 5)
    m = (1 - 2 * flip) * math.sqrt(2 / math.pi) / math.sqrt(1 + noise**2)
    R = m * math.sqrt(alpha) / math.sqrt(1 + alpha * m * m)
    obs = _solve(alpha=alpha, rule="hebb", noise=noise, flip=flip).observables
    assert float(obs["R"]) == pytest.approx(R, abs=1e-14)
    labels = flip + (1 - 2 * flip) * math.acos(R / math.sqrt(1 + noise**2)) / math.pi
    assert float(obs["eps_g_labels"]) == pytest.approx(labels, abs=1e-14)


@pytest.mark.parametrize("alpha", [0.5, 1.0, 3.0])
def test_max_margin_matches_the_hand_written_equations(alpha):
    R, kappa = _max_margin(alpha)
    obs = _solve(alpha=alpha, rule="max-margin").observables
    assert float(obs["R"]) == pytest.approx(R, abs=1e-10)
    assert float(obs["kappa"]) == pytest.approx(kappa, abs=1e-10)


@pytest.mark.parametrize("rule,coefficient,tol", [
    # Engel & Van den Broeck 2001: Gibbs eps ~ 0.625/alpha (eq. (2.46)), Bayes ~ 0.442/alpha
    # (eq. (3.32)), maximal stability ~ 0.500/alpha (sec. 4.2); the literature gives three digits
    ("gibbs", 0.625, 1e-3), ("bayes", 0.442, 1e-3), ("max-margin", 0.500, 1e-3)])
def test_large_alpha_learning_curves(rule, coefficient, tol):
    alpha = 300.0
    eps = float(_solve(alpha=alpha, rule=rule).observables["eps_g"])
    assert alpha * eps == pytest.approx(coefficient, abs=tol)


@pytest.mark.parametrize("alpha", [1e3, 1e4])
def test_max_margin_converges_far_into_the_large_alpha_tail(alpha):
    """alpha = 1e3 used to end 6e-12 short of the tolerance after a two-minute fallback search (lambda
    grows like alpha; the R and kappa equations are now divided by 1 + lambda). The tail follows the
    maximal-stability asymptote eps ~ 0.500/alpha (Engel & Van den Broeck 2001, sec. 4.2)."""
    r = _solve(alpha=alpha, rule="max-margin")
    assert r.converged and r.residual < 1e-12
    assert alpha * float(r.observables["eps_g"]) == pytest.approx(0.500, abs=1e-3)


@pytest.mark.parametrize("rule,coefficient", [("gibbs", 0.625), ("bayes", 0.442)])
@pytest.mark.parametrize("alpha", [1e3, 1e4, 1e5])
def test_gibbs_and_bayes_converge_far_into_the_large_alpha_tail(rule, coefficient, alpha):
    """Found by fuzzing: from alpha = 1e3 on, one ulp of q near 1 left a residual above 1e-12 (the
    Nishimori equation is now scaled by 2 (1 - q)^2). The tails follow Engel & Van den Broeck's
    asymptotes (eqs. (2.46), (3.32): 0.625/alpha and 0.442/alpha, three digits)."""
    r = _solve(alpha=alpha, rule=rule)
    assert r.converged and r.residual < 1e-12
    assert alpha * float(r.observables["eps_g"]) == pytest.approx(coefficient, abs=1e-3)


def test_rules_are_ordered_as_in_the_literature():
    # Engel & Van den Broeck 2001, ch. 2-4 (the learning curves of the rules): Bayes is optimal, maximal stability comes
    # close, Gibbs is worse; Hebb beats Gibbs at small alpha but decays only like 1/sqrt(alpha)
    eps = {alpha: {rule: float(_solve(alpha=alpha, rule=rule).observables["eps_g"])
                   for rule in ("gibbs", "bayes", "hebb", "max-margin")} for alpha in (2.0, 10.0)}
    for alpha in (2.0, 10.0):
        assert eps[alpha]["bayes"] < eps[alpha]["max-margin"] < eps[alpha]["gibbs"]
    assert eps[2.0]["hebb"] < eps[2.0]["gibbs"]
    assert eps[10.0]["hebb"] > eps[10.0]["gibbs"]


def test_noisy_labels_empty_version_space_beyond_capacity():
    # flip = 0.1: the max-margin kappa reaches 0 near alpha = 2.9, where version space vanishes;
    # below it Gibbs converges, above it the solver reports non-convergence (q -> 1), never a number
    assert _solve(alpha=2.0, rule="gibbs", flip=0.1).converged
    kappa = float(_solve(alpha=2.8, rule="max-margin", flip=0.1).observables["kappa"])
    assert 0 < kappa < 0.05
    with pytest.raises(ConvergenceError):
        _solve(alpha=3.5, rule="gibbs", flip=0.1)


# -- bad input ------------------------------------------------------------------
@pytest.mark.parametrize("params,needle", [
    ({"alpha": 0.0}, "'alpha'"), ({"alpha": -1.0}, "'alpha'"), ({"flip": 0.5}, "'flip'"),
    ({"flip": -0.1}, "'flip'"), ({"noise": -1.0}, "'noise'"), ({"rule": "svm"}, "'rule'")])
def test_bad_input_is_named(params, needle):
    with pytest.raises(ParameterError, match=needle):
        TeacherStudent().resolve(params)


# -- theory vs simulation -----------------------------------------------------------
@pytest.mark.parametrize("rule", ["hebb", "max-margin"])
@pytest.mark.parametrize("alpha", [0.5, 2.0, 5.0])
def test_compare_fast_rules(rule, alpha):
    c = replica.compare("teacher-student", {"alpha": alpha, "rule": rule}, [50, 100, 200], 40, seed=1)
    for name, o in c.observables.items():
        assert o.agrees, (name, o.theory, o.extrapolated, o.extrapolated_stderr, o.z)


@pytest.mark.slow
@pytest.mark.parametrize("rule,alpha", [("gibbs", 1.0), ("bayes", 2.0)])
def test_compare_sampled_rules(rule, alpha):
    # version-space sampling (hit-and-run with run lengths set by the measured autocorrelation
    # time); CI size. The full check, three alphas a rule, is the documented command
    # `replica compare teacher-student --set rule=gibbs --set alpha=A --n 50,100,200 --trials 40 --seed 1`
    c = replica.compare("teacher-student", {"alpha": alpha, "rule": rule}, [20, 40, 80], 16, seed=3)
    for name, o in c.observables.items():
        assert o.agrees, (name, o.theory, o.extrapolated, o.extrapolated_stderr, o.z)
