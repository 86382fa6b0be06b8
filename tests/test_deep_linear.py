"""deep-linear: Saxe-McClelland-Ganguli gradient flow of one singular mode, derived with SymPy.

Checked against what is independent of the derivation: Saxe et al.'s closed form (depth 2), the
exponential relaxation (depth 1), a hand-written per-mode ODE, scaling laws of the critical time,
the stiff solver against the exact quadrature identity, and training of actual networks on finite
samples (Monte Carlo, with the tolerance from the fit's standard error plus the exactly computed
discretisation error of the finite learning rate).

Also the contract battery of tests/test_contract.py, run on the unregistered class (the registry
dict is patched for the duration of a test only).
"""
from __future__ import annotations

import math
import os
import pickle
import sys

import mpmath
import numpy as np
import pytest
import sympy

import replica.registry as registry
from replica.errors import ParameterError
from replica.models.deep_linear import A, DeepLinear, S, deep_linear_variant, saxe_flow
from replica.simulation import compare
from replica.simulators.deep_linear import train_population
from replica.solver import solve

sys.path.insert(0, os.path.dirname(__file__))
import test_contract as contract  # noqa: E402  (the official battery, called with this model patched in)

POINTS = [({"depth": 1, "u0": 0.1}, [0.7]), ({"depth": 2, "s": 2.0}, [0.9]), ({"depth": 3, "s": 0.5}, [1.3]),
          ({"depth": 5, "s": 1.5, "u0": 0.001}, [0.6])]


def saxe(s, u0, tau):
    """Saxe et al. (2014), eq. (6), with tau = lr * t (their t/tau)."""
    e = math.exp(2 * s * tau)
    return s * e / (e - 1 + s / u0)


def run_solve(params):
    m = DeepLinear()
    return solve(m, m.resolve(params))


# ---------------------------------------------------------------------------------------------
# the contract battery (tests/test_contract.py) on this model
# ---------------------------------------------------------------------------------------------
@pytest.fixture
def registered(monkeypatch):
    monkeypatch.setitem(registry.MODELS, DeepLinear.name, DeepLinear)
    return DeepLinear.name


BATTERY = ["test_equations_are_the_scaled_gradient_of_the_free_energy", "test_solver_equations_equal_the_derived_ones",
           "test_jacobian_is_the_derivative_of_the_equations", "test_numpy_and_mpmath_backends_agree"]


@pytest.mark.parametrize("check", BATTERY)
@pytest.mark.parametrize("params,x", POINTS, ids=[str(p) for p, _ in POINTS])
def test_contract_battery(registered, check, params, x):
    getattr(contract, check)(registered, params, x)


def test_contract_known_values_and_interface(registered):
    contract.test_known_values_are_reproduced(registered)
    contract.test_model_declares_its_interface(registered)


@pytest.mark.latex
@pytest.mark.parametrize("params", [{"depth": 2}, {"depth": 3}])
def test_contract_latex_export_compiles(registered, params, tmp_path, pdflatex):
    contract.test_latex_export_compiles(registered, params, tmp_path, pdflatex)


# ---------------------------------------------------------------------------------------------
# the derivation
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("depth", [1, 2, 3, 4])
def test_derived_flow_is_the_hand_written_per_mode_ode(depth):
    # balanced layers a: da/dtau = a^(D-1) (s - a^D) (Saxe et al. 2014, eq. (4) reduced)
    flow = saxe_flow(depth)
    assert sympy.expand(flow.rate - A**(depth - 1) * (S - A**depth)) == 0
    assert sympy.simplify(flow.fixed_point - S) == 0
    # the free energy is the objective on the balanced manifold (minus its value at 0)
    layers = flow.trained
    objective = flow.objective.subs({w: A for w in layers}) - flow.objective.subs({w: 0 for w in layers})
    assert sympy.expand(flow.potential - objective) == 0


def test_explicit_solutions_are_saxes():
    expr, p0 = saxe_flow(2).explicit_solution
    tau, s, u0 = sympy.Symbol("tau", nonnegative=True), 1.7, 0.003
    val = float(expr.subs({sympy.Symbol("tau", nonnegative=True): 2.5, S: s, p0: u0}))
    assert val == pytest.approx(saxe(s, u0, 2.5), rel=1e-14)
    assert saxe_flow(3).explicit_solution is None          # no explicit solution beyond depth 2


@pytest.mark.parametrize("s,u0,t", [(2.0, 0.01, 100.0), (0.5, 0.001, 900.0), (3.0, 0.2, 3.0)])
def test_depth_two_strength_and_critical_time_match_saxe(s, u0, t):
    lr = 0.01
    r = run_solve({"s": s, "depth": 2, "u0": u0, "lr": lr, "t": t, "fraction": 0.7})
    assert r.observables["strength"] == pytest.approx(saxe(s, u0, lr * t), rel=1e-13)
    uf = 0.7 * s
    t_star = math.log(uf * (s - u0) / (u0 * (s - uf))) / (2 * s * lr)
    assert r.observables["critical_time"] == pytest.approx(t_star, rel=1e-12)
    assert r.observables["u_final"] == pytest.approx(s, rel=1e-13)


def test_depth_one_is_an_exponential_relaxation():
    r = run_solve({"s": 1.3, "depth": 1, "u0": 0.2, "lr": 0.1, "t": 7.0})
    assert r.observables["strength"] == pytest.approx(1.3 + (0.2 - 1.3) * math.exp(-0.7), rel=1e-14)


@pytest.mark.parametrize("depth", [2, 3, 5])
def test_stiff_solver_and_mpmath_newton_agree_with_the_exact_quadrature(depth):
    flow = saxe_flow(depth)
    s, u0 = 1.2, 1e-3
    # a time in the middle of the transition, from the exact quadrature identity tau = int da/g
    a0, a_half = u0 ** (1 / depth), (0.5 * s) ** (1 / depth)
    tau_half = flow.time_between_float(a0, a_half, [s])
    assert flow.trajectory_float(tau_half, u0, s) == pytest.approx(0.5 * s, rel=1e-7)    # LSODA, rtol 1e-11
    with mpmath.workdps(30):
        p = flow.trajectory_mp(mpmath.mpf(tau_half), mpmath.mpf(u0), [mpmath.mpf(s)])
        back = flow.time_between_mp(mpmath.root(mpmath.mpf(u0), depth), mpmath.root(p, depth), [mpmath.mpf(s)])
        assert abs(back - tau_half) < mpmath.mpf(10) ** -25
    if depth == 2:
        with mpmath.workdps(30):
            exact = mpmath.mpf(s) * mpmath.exp(2 * s * mpmath.mpf(tau_half))
            exact /= mpmath.exp(2 * s * mpmath.mpf(tau_half)) - 1 + mpmath.mpf(s) / mpmath.mpf(u0)
            got = flow.trajectory_mp(mpmath.mpf(tau_half), mpmath.mpf(u0), [mpmath.mpf(s)])
            assert abs(got - exact) < mpmath.mpf(10) ** -25


def test_sigmoidal_trajectory_at_depth_three():
    flow = saxe_flow(3)
    taus = np.linspace(0, 14, 71)
    u = np.array([flow.trajectory_float(t, 0.01, 1.0) for t in taus])
    assert np.all(np.diff(u) > 0) and 0.99 < u[-1] < 1.0
    slope = np.diff(u)
    k = int(np.argmax(slope))
    assert 0 < k < len(slope) - 1                 # one inflection inside: a sigmoid, not a relaxation
    assert np.all(np.diff(slope[:k]) > 0) and np.all(np.diff(slope[k + 1:]) < 0)


@pytest.mark.parametrize("depth", [2, 3, 4])
def test_learning_time_scales_as_a_power_of_s(depth):
    # P = s q: dq/dtau = D s^(2 - 2/D) q^(2 - 2/D)(1 - q) -> t* ~ s^-(2 - 2/D) at fixed u0/s (1/s at D = 2)
    times = [run_solve({"s": s, "depth": depth, "u0": 0.01 * s, "lr": 0.05})
             .observables["critical_time"] for s in (0.5, 1.0, 3.0)]
    expo = 2 - 2 / depth
    for s, ts in zip((0.5, 1.0, 3.0), times):
        assert ts * s**expo == pytest.approx(times[1], rel=1e-10)


# ---------------------------------------------------------------------------------------------
# bad input
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("given,text", [
    ({"depth": 0}, "'depth'=0 is out of range; allowed [1, 12] (integer)"),
    ({"depth": "13"}, "'depth'=13 is out of range; allowed [1, 12] (integer)"),
    ({"depth": "2.5"}, "'depth': '2.5' is not an integer"),
    ({"lr": 0.0}, "'lr'=0 is out of range; allowed (0, inf)"),
    ({"lr": "-0.1"}, "'lr'=-0.1 is out of range; allowed (0, inf)"),
    ({"s": -1.0}, "'s'=-1 is out of range; allowed (0, inf)"),
    ({"u0": -0.01}, "'u0'=-0.01 is out of range; allowed (0, inf)"),
    ({"u0": 0.9}, "'u0'=0.9 is out of range; allowed (0, fraction * s) = (0, 0.5)"),
    ({"t": -1}, "'t'=-1 is out of range; allowed [0, inf)"),
])
def test_bad_input_names_parameter_value_and_range(given, text):
    with pytest.raises(ParameterError) as err:
        DeepLinear().resolve(given)
    assert text in str(err.value)


def test_a_sweep_over_depth_is_refused_not_silently_wrong():
    from replica.solver import sweep
    with pytest.raises(ParameterError, match="'depth'=2 cannot vary"):
        sweep(DeepLinear(), {}, "depth", [1, 2, 3])


def test_variants_pickle_for_worker_processes():
    m = deep_linear_variant(3)()
    back = pickle.loads(pickle.dumps(m))
    assert type(back) is type(m) and back.depth == 3


# ---------------------------------------------------------------------------------------------
# simulation: actual networks trained on finite samples
# ---------------------------------------------------------------------------------------------
SIM = {"s": 1.0, "depth": 3, "u0": 0.05, "lr": 0.02, "t": 75.0}     # mid-transition (t* = 90 steps)


def test_gradient_descent_converges_to_the_flow_as_lr_shrinks():
    params = DeepLinear().resolve(SIM)
    flow = saxe_flow(3)
    ode = flow.trajectory_float(SIM["lr"] * SIM["t"], SIM["u0"], SIM["s"])
    errs = []
    for k in (1, 2, 4):
        p = dict(params, lr=SIM["lr"] / k, t=SIM["t"] * k)
        errs.append(train_population("regression", p) - ode)
    # first order in lr: halving lr halves the error
    assert errs[0] / errs[1] == pytest.approx(2, rel=0.1) and errs[1] / errs[2] == pytest.approx(2, rel=0.1)


@pytest.mark.slow
def test_trained_networks_agree_with_the_flow_and_the_error_shrinks_with_n():
    m = DeepLinear()
    params = m.resolve(SIM)
    comp = compare(m, params, [200, 400, 800], trials=30, seed=3)
    oc = comp.observables["strength"]
    # systematic error of the finite learning rate, computed exactly (population gradient descent)
    lr_bias = train_population("regression", params) - oc.theory
    assert abs(oc.extrapolated - oc.theory) <= 3 * oc.extrapolated_stderr + abs(lr_bias)
    dev = [abs(e.mean - oc.theory) for _, e in oc.per_n]
    assert dev[-1] < dev[0]
