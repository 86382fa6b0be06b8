"""Gardner's spherical perceptron against closed forms, 40-digit mpmath references and Monte Carlo."""
import mpmath
import numpy as np
import pytest

import replica
from replica.simulators.perceptron import cover_mean_threshold


def closed_form_capacity(kappa, dps=50):
    # Gardner (1988) eq. (39): alpha_c = 1 / int_{-kappa}^oo Dt (t + kappa)^2, written out
    with mpmath.workdps(dps):
        k = mpmath.mpf(kappa)
        return 1 / ((1 + k**2) * mpmath.erfc(-k / mpmath.sqrt(2)) / 2 + k * mpmath.npdf(k))


@pytest.mark.parametrize("kappa", ["0", "0.5", "1", "2", "-0.5", "-2", "4"])
def test_capacity_float_matches_closed_form(kappa):
    got = replica.solve("gardner", {"kappa": kappa}).observables["alpha_c"]
    assert abs(got - float(closed_form_capacity(kappa))) <= 1e-12 * float(closed_form_capacity(kappa))


def test_capacity_at_zero_margin_is_two():
    assert replica.solve("gardner", {"kappa": 0}).observables["alpha_c"] == 2.0


@pytest.mark.parametrize("kappa", ["0.5", "1", "2"])
def test_capacity_40_digits(kappa):
    got = replica.solve("gardner", {"kappa": kappa}, dps=40).observables["alpha_c"]
    with mpmath.workdps(50):
        assert abs(got - closed_form_capacity(kappa)) < mpmath.mpf(10) ** -30


def test_capacity_is_derived_as_the_q_to_one_limit():
    m = replica.get_model("gardner")
    expr = m.derivation().limits["alpha_c"]
    from replica.symbolic import H
    assert expr.has(H) and not expr.has(replica.symbolic.GaussianAverage)


def test_saddle_matches_mpmath_reference(reference_values):
    for row in [r for r in reference_values["gardner"]["saddle"] if r.get("status", "ok") == "ok"]:
        params = {"kappa": row["kappa"], "alpha": row["alpha"]}
        r = replica.solve("gardner", params)
        q = float(row["q"])
        assert r.converged
        # float precision of the equation degrades like 1e-16/(1-q) near capacity
        assert abs(r.order_parameters["q"] - q) < 1e-12 / (1 - q)
        assert abs(r.free_energy - float(row["free_entropy"])) < 1e-12 / (1 - q)
        assert abs(r.stability["eigenvalue"] - float(row["replicon"])) < 1e-10 / (1 - q)


def test_saddle_30_digits(reference_values):
    # mpmath quadrature at 30+ digits costs seconds a point: one interior point here
    row = reference_values["gardner"]["saddle"][0]
    r = replica.solve("gardner", {"kappa": row["kappa"], "alpha": row["alpha"]}, dps=30)
    with mpmath.workdps(50):
        assert abs(r.order_parameters["q"] - mpmath.mpf(row["q"])) < mpmath.mpf(10) ** -28
        assert abs(r.free_energy - mpmath.mpf(row["free_entropy"])) < mpmath.mpf(10) ** -28


def test_near_capacity_with_mpmath(reference_values):
    row = reference_values["gardner"]["near_capacity"][0]          # q = 0.99
    r = replica.solve("gardner", {"kappa": row["kappa"], "alpha": row["alpha"]}, dps=20)
    with mpmath.workdps(40):
        assert abs(r.order_parameters["q"] - mpmath.mpf(row["q"])) < mpmath.mpf(10) ** -17


def test_sweep_is_monotone_and_converged():
    alphas = np.linspace(0.05, 1.95, 40)
    s = replica.sweep("gardner", {"kappa": 0.0}, "alpha", alphas)
    q = s.array("q")
    assert s.converged.all() and np.all(np.diff(q) > 0)
    assert s.array("residual").max() < 1e-12


def test_replicon_stability_pattern():
    # Gardner & Derrida 1988: RS stable below capacity for kappa >= 0, unstable near capacity for kappa < 0
    for kappa in [0.0, 0.5, 1.0]:
        ac = float(closed_form_capacity(kappa))
        for frac in [0.2, 0.6, 0.95]:
            assert replica.solve("gardner", {"kappa": kappa, "alpha": frac * ac}).stability["stable"]
    ac = float(closed_form_capacity(-1.0))
    assert not replica.solve("gardner", {"kappa": -1.0, "alpha": 0.97 * ac}).stability["stable"]


def test_above_capacity_is_an_error():
    with pytest.raises(replica.ParameterError, match="alpha"):
        replica.solve("gardner", {"kappa": 0.5, "alpha": 1.0})


@pytest.mark.slow
def test_theory_agrees_with_simulation():
    comp = replica.compare("gardner", {"kappa": 0.0}, [16, 32, 64], trials=80, seed=11)
    o = comp.observables["alpha_c"]
    assert o.agrees and abs(o.z) <= 3
    # finite-N means against Cover's exact E[P*]/N = 2 + 1/N, within 4 standard errors
    for n, est in o.per_n:
        assert abs(est.mean - cover_mean_threshold(n)) < 4 * est.stderr


def test_float_near_capacity(reference_values):
    # the stable form of the equation keeps float accuracy as q -> 1 (no O(1/(1-q)) cancellation)
    for row in reference_values["gardner"]["near_capacity"]:
        r = replica.solve("gardner", {"kappa": row["kappa"], "alpha": row["alpha"]})
        assert abs(r.order_parameters["q"] - float(row["q"])) < 1e-13
    # closer still (mpmath costs a minute there): the float solver still converges inside (0, 1)
    close = replica.solve("gardner", {"kappa": 0.0, "alpha": 1.999999})
    assert close.converged and 0 < 1 - close.order_parameters["q"] < 1e-6


def test_derive_shows_the_q_to_one_limit():
    # Gardner (1988): s ~ A/(1-q) with A = 1/2 - (alpha/2) int Dt (t + kappa)^2 Heaviside(t + kappa)
    import sympy
    from replica.symbolic import GaussianAverage
    m = replica.get_model("gardner")
    d = m.derivation()
    lhs, A, note = d.limit_steps["alpha_c"][0]
    kappa, alpha = m.parameters[0].symbol, m.parameters[1].symbol
    t = A.atoms(GaussianAverage).pop().variable
    expected = sympy.Rational(1, 2) - alpha / 2 * GaussianAverage((t + kappa) ** 2 * sympy.Heaviside(t + kappa), t)
    assert sympy.expand(A - expected) == 0
    from replica.latex import derivation_latex
    assert r"\lim_{\epsilon \to 0}" in derivation_latex(m)
