"""The expansion-perceptron model (Steinberg, Advani & Sompolinsky, arXiv:2008.08653, PRE 2021):
derived theory against independent limits, the paper's claims, the slack-variable link, Monte Carlo.

Independent references here are written out by hand with scipy quad (not from the package's
derivation): the teacher-student max-margin student with a noisy teacher and its capacity
(Gardner 1988; Engel & Van den Broeck, "Statistical Mechanics of Learning" 2001, sec. 4.2 and 5),
Hebb's rule (Engel & Van den Broeck eq. (2.35)), the isotropic (1 + c) N-dimensional network.

Run: python -m pytest -q tests/test_expansion_perceptron.py   (about a minute on 2 shared cores)
Full-size Monte Carlo (not run here, minutes):
    replica compare expansion-perceptron --set alpha=2 --set expansion=1 --set noise=0.5 \
        --n 100,200,400 --trials 200 --seed 1
    replica compare expansion-perceptron --set alpha=3 --set expansion=3 --set sparsity=0.2 \
        --set noise=0.5 --n 100,200,400 --trials 200 --seed 2
"""
import math
import os
import subprocess
import sys

import numpy as np
import pytest
import sympy
from scipy import integrate, optimize, special

from replica.errors import ParameterError
from replica.latex import derivation_latex, standalone_document
from replica.models.expansion_perceptron import ExpandedLearning, ExpansionPerceptron
from replica.models.teacher_student import TeacherStudent
from replica.simulation import compare, trial_rng
from replica.simulators import expansion_perceptron as sim
from replica.simulators import perceptron as pc
from replica.solver import solve

sys.path.insert(0, os.path.dirname(__file__))
import test_contract as contract  # noqa: E402  (the battery's checks, run on an unregistered instance)

QUAD = dict(epsabs=1e-13, epsrel=1e-12, limit=200)
MODEL = ExpansionPerceptron()


def theory(**params):
    return solve(MODEL, MODEL.resolve(params)).observables


# -- independent references (scipy quad, written out by hand) ----------------------------
def _I(R, k, noise):
    """I(R, k) = E[(k - y h)_+^2], h ~ N(0,1) the student's field, y the noisy teacher's label:
    P(y = -1 | h = t) = H(R t / sqrt(1 + noise^2 - R^2)), so I = 2 int_{-k}^oo Dt H(R t/s)(k + t)^2."""
    s = math.sqrt(1 + noise**2 - R * R)
    return 2 * integrate.quad(lambda t: special.ndtr(-R * t / s) * (k + t)**2 * math.exp(-t * t / 2)
                              / math.sqrt(2 * math.pi), -k, np.inf, **QUAD)[0]


def _max_margin(alpha, noise):
    """Max-margin student: 1 - R^2 = alpha I(R, k), stationary in R (largest k). Returns (R, k)."""
    def eqs(v):
        R, k = v
        d = 1e-6
        dI = (_I(R + d, k, noise) - _I(R - d, k, noise)) / (2 * d)
        return [1 - R * R - alpha * _I(R, k, noise), -2 * R - alpha * dI]
    sol = optimize.root(eqs, [0.7, 0.3], method="hybr", tol=1e-13)
    assert max(abs(e) for e in eqs(sol.x)) < 1e-9, sol
    return sol.x


def _capacity(noise):
    """Separability threshold of a noisy teacher's labels: alpha_c = max_R (1 - R^2)/I(R, 0)."""
    res = optimize.minimize_scalar(lambda R: -(1 - R * R) / _I(R, 0.0, noise), bounds=(0.01, 0.99),
                                   method="bounded", options={"xatol": 1e-10})
    return -res.fun


def _hebb_eps(alpha, noise):
    m = 2 / math.sqrt(2 * math.pi * (1 + noise**2))
    return math.acos(m * math.sqrt(alpha) / math.sqrt(1 + alpha * m * m)) / math.pi


# -- limits ---------------------------------------------------------------------------------
@pytest.mark.parametrize("params", [{"expansion": 0.0}, {"sparsity": 1.0, "expansion": 2.0}])
def test_without_expansion_it_is_the_teacher_student_max_margin_student(params):
    """expansion = 0, or silent units (f = 1): the package's teacher-student model and a hand quad."""
    ours = theory(alpha=2.0, noise=0.5, **params)
    ts = TeacherStudent()
    ref = solve(ts, ts.resolve({"alpha": 2.0, "noise": 0.5, "rule": "max-margin"})).observables
    assert ours["eps_g"] == pytest.approx(ref["eps_g"], abs=1e-10)
    assert ours["kappa"] == pytest.approx(ref["kappa"], abs=1e-10)
    R, k = _max_margin(2.0, 0.5)
    assert ours["R_pruned"] == pytest.approx(R, abs=1e-7)
    assert ours["kappa"] == pytest.approx(k, abs=1e-7)
    assert ours["eps_g_full"] == ours["eps_g"] and ours["Q_w"] == 1


class _Isotropic(ExpandedLearning):
    """Test-only: expanded units of unit variance (s^2 = 1), so the network is isotropic in (1 + c) N
    dimensions. Isotropy gives, independently of the replica calculation: the expanded student is the
    teacher-student max-margin student at alpha/(1 + c) (overlap r, margin kappa), its part orthogonal
    to the teacher is uniform, so Q_w = r^2 + (1 - r^2)/(1 + c) and the pruned overlap is r/sqrt(Q_w)."""

    def unit_variance(self):
        return sympy.Integer(1)

    def variant(self, params):
        return self


@pytest.mark.parametrize("alpha,c", [(2.0, 1.0), (3.0, 2.0)])
def test_isotropic_expansion_is_teacher_student_at_alpha_over_one_plus_c(alpha, c):
    m = _Isotropic()
    out = solve(m, m.resolve({"alpha": alpha, "expansion": c, "noise": 0.5})).observables
    r, k = _max_margin(alpha / (1 + c), 0.5)
    Qw = r * r + (1 - r * r) / (1 + c)
    assert out["eps_g_full"] == pytest.approx(math.acos(r) / math.pi, abs=1e-7)
    assert out["kappa"] == pytest.approx(k, abs=1e-7)
    assert out["Q_w"] == pytest.approx(Qw, abs=1e-7)
    assert out["R_pruned"] == pytest.approx(r / math.sqrt(Qw), abs=1e-7)


def test_capacity_is_one_plus_c_times_the_unexpanded_one_and_independent_of_sparsity():
    """Separability is scale-free in each block, so alpha_c = (1 + c) alpha_c(no expansion) for f in (0, 1);
    alpha_c(no expansion) against the hand quad. The paper's claim: expansion increases capacity."""
    a0 = _capacity(0.5)
    assert theory(task="capacity", expansion=0.0, noise=0.5)["alpha_c"] == pytest.approx(a0, rel=1e-8)
    for c, f in ((1.0, 0.5), (1.0, 0.1), (4.0, 0.3), (16.0, 0.01)):
        assert theory(task="capacity", expansion=c, sparsity=f, noise=0.5)["alpha_c"] == pytest.approx(
            (1 + c) * a0, rel=1e-8)


def test_capacity_by_monte_carlo():
    """Below the capacity almost every instance is separable by the expanded network, above it almost none
    (N = 60, 20 instances each; at +-30 % of alpha_c the finite-N transition width ~N^-1/2 is far)."""
    ac = theory(task="capacity", expansion=1.0, noise=0.5)["alpha_c"]
    def separable(alpha, seed):
        n = 60
        rng = np.random.default_rng(seed)
        from replica.simulators.teacher_student import draw_instance
        inst = draw_instance(n, alpha, rng, 0.5, 0.0)
        eta, _, _ = sim.expanded_units(inst.xi, n, 0.5, "stochastic", rng)
        return pc.is_separable(np.hstack([inst.xi, eta]), inst.y)
    below = sum(separable(0.7 * ac, s) for s in range(20))
    above = sum(separable(1.3 * ac, 100 + s) for s in range(20))
    assert below >= 17 and above <= 3, (below, above)


# -- the paper's claims -------------------------------------------------------------------
@pytest.mark.parametrize("c,f", [(0.5, 0.5), (1.0, 0.5), (3.0, 0.2)])
def test_pruned_after_learning_beats_the_unexpanded_student_with_a_noisy_teacher(c, f):
    for alpha in (1.0, 3.0):
        plain = theory(alpha=alpha, expansion=0.0, noise=0.5)["eps_g"]
        assert theory(alpha=alpha, expansion=c, sparsity=f, noise=0.5)["eps_g"] < plain - 1e-3


def test_eps_g_falls_with_expansion_then_reaches_hebb():
    """Stochastic units: eps_g falls as the expansion grows (here over c in [0, 8] at alpha = 2,
    noise = 1). In this model it does not fall forever: the slack becomes free as c -> oo and the pruned
    student tends to Hebb's rule (closed form, independent), which is worse than the best expansion."""
    eps = [theory(alpha=2.0, expansion=c, noise=1.0)["eps_g"] for c in (0.0, 0.5, 1.0, 2.0, 4.0, 8.0)]
    assert all(b < a for a, b in zip(eps, eps[1:])), eps
    hebb = _hebb_eps(2.0, 1.0)
    far = [theory(alpha=2.0, expansion=c, noise=1.0)["eps_g"] for c in (256.0, 1024.0)]
    assert abs(far[1] - hebb) < abs(far[0] - hebb) < 2e-3
    assert abs(far[1] - hebb) < 5e-4


@pytest.mark.parametrize("alpha,noise,cost", [(2.0, 1.0, 1.0), (3.0, 0.5, 0.25)])
def test_eps_g_keeps_falling_as_the_expansion_grows_at_fixed_slack_cost(alpha, noise, cost):
    """The paper's claim for stochastic units (arXiv:2008.08653, abstract: "the generalization error of
    the stochastic expanded student network continues to drop as the size of the network increases"),
    in the form that holds at every expansion here: with the slack cost 1/(c f (1 - f)) held fixed (the
    coding level f lowered as c grows), eps_g falls strictly with c, towards the L2-slack SVM (more units
    make eta eta^T/M closer to s^2 I, the exact L2 slack). So the best eps_g over the coding level also
    keeps falling with c (any (c, f) is matched by a larger c at a smaller f, which does better), while at
    a fixed f it has a minimum (test above)."""
    eps = []
    for c in (4.0, 16.0, 64.0):
        f = (1 - math.sqrt(1 - 4 * cost / c)) / 2            # c f (1 - f) = cost
        eps.append(theory(alpha=alpha, expansion=c, sparsity=f, noise=noise)["eps_g"])
    assert eps[0] > eps[1] > eps[2], eps
    assert eps[0] - eps[1] > 1e-3


def test_noiseless_teacher_gains_nothing_from_slack():
    """Without noise the max-margin student is already good; the expanded-then-pruned one is worse
    (slack lets it ignore informative examples): the benefit is specific to noisy teachers."""
    assert theory(alpha=3.0, expansion=1.0, noise=0.0)["eps_g"] > theory(alpha=3.0, expansion=0.0, noise=0.0)["eps_g"]


# -- slack variables -------------------------------------------------------------------------
def test_expanded_hard_margin_svm_is_a_soft_margin_svm_with_slack():
    """Finite size, exact: the hard-margin SVM of (x, eta) (NNLS) has the input weights of the soft-margin
    SVM min |w|^2 + N s^T (eta eta^T)^{-1} s (its dual, L-BFGS-B), and |v|^2 is the slack cost."""
    rng = np.random.default_rng(5)
    n, p, m = 30, 60, 90
    from replica.simulators.teacher_student import draw_instance
    inst = draw_instance(n, p / n, rng, 0.5, 0.0)
    eta, _, _ = sim.expanded_units(inst.xi, m, 0.3, "stochastic", rng)
    z = np.hstack([inst.xi, eta])
    kappa, u = pc.max_margin_solution(z, inst.y)
    W = u / np.linalg.norm(u) * math.sqrt(n) / kappa    # min-norm solution: margin 1 in y W.z/sqrt(N)
    assert np.min(inst.y * (z @ W)) / math.sqrt(n) == pytest.approx(1.0, abs=1e-8)
    w_soft, s = sim.slack_svm(inst.xi, inst.y, eta)
    assert np.max(np.abs(w_soft - W[:n])) < 1e-5 * np.max(np.abs(W[:n]))
    cost = n * s @ np.linalg.solve(eta @ eta.T, s)
    assert cost == pytest.approx(W[n:] @ W[n:], rel=1e-5)


def test_large_expansion_is_the_l2_slack_svm_with_cost_one_over_c_s2():
    """eta eta^T/N -> c s^2 I as M/P -> oo: the expanded student approaches the L2-slack SVM with slack cost
    1/(c s^2), itself the hard-margin SVM on (x, sqrt(c s^2 N) I_P) (both solved by the certified NNLS)."""
    rng = np.random.default_rng(7)
    n, p, f = 40, 40, 0.5
    from replica.simulators.teacher_student import draw_instance
    inst = draw_instance(n, p / n, rng, 0.5, 0.0)

    def inputs_weights(extra):
        _, u = pc.max_margin_solution(np.hstack([inst.xi, extra]), inst.y)
        return u[:n]

    gaps = []
    for c in (1.0, 10.0, 100.0):
        eta, _, _ = sim.expanded_units(inst.xi, int(c * n), f, "stochastic", rng)
        w_exp = inputs_weights(eta)
        w_l2 = inputs_weights(math.sqrt(c * f * (1 - f) * n) * np.eye(p))
        gaps.append(1 - w_exp @ w_l2 / (np.linalg.norm(w_exp) * np.linalg.norm(w_l2)))
    # the operator-norm deviation of eta eta^T/(c s^2 N) from I is ~2 sqrt(P/M) (Marchenko-Pastur): slow
    assert gaps[2] < gaps[1] < gaps[0] and gaps[2] < gaps[0] / 3, gaps


# -- bad input -----------------------------------------------------------------------------
@pytest.mark.parametrize("name,value,allowed", [("alpha", 0.0, "(0, inf)"), ("alpha", -1.0, "(0, inf)"),
                                                ("expansion", -0.5, "[0, inf)"), ("sparsity", 0.0, "(0, 1]"),
                                                ("sparsity", 1.5, "(0, 1]"), ("noise", -0.1, "[0, inf)")])
def test_bad_parameters_name_value_and_range(name, value, allowed):
    with pytest.raises(ParameterError) as err:
        MODEL.resolve({name: value})
    text = str(err.value)
    assert name in text and f"{value:g}" in text and allowed in text
    args = dict(alpha=1.0, expansion=1.0, sparsity=0.5, noise=0.5)
    args[name] = value
    with pytest.raises(ParameterError, match=name):
        sim.trial(20, args["alpha"], args["expansion"], args["sparsity"], args["noise"], np.random.default_rng(0))


def test_alpha_beyond_the_capacity_is_a_parameter_error():
    ac = theory(task="capacity", expansion=1.0, noise=0.5)["alpha_c"]
    with pytest.raises(ParameterError, match=r"'alpha'=9 is out of range; allowed \(0, 8.27"):
        MODEL.resolve({"alpha": 9.0, "expansion": 1.0, "noise": 0.5})
    assert ac == pytest.approx(8.2749, abs=1e-4)


# -- the contract battery, on the unregistered instance ---------------------------------------
POINTS = [({"alpha": 2.0, "expansion": 1.0, "noise": 0.5}, [0.7, 0.5, 1.0, 0.6, 0.5]),
          ({"alpha": 3.0, "expansion": 3.0, "sparsity": 0.2, "noise": 0.5}, [0.75, 0.6, 2.0, 0.45, 0.4]),
          ({"alpha": 2.0, "expansion": 0.0, "noise": 0.5}, [0.7, 0.3, 2.0]),
          ({"task": "capacity", "expansion": 1.0, "noise": 0.5}, [0.6, 0.6, 0.5]),
          ({"task": "capacity", "expansion": 0.0, "noise": 0.5}, [0.6]),
          ({"units": "sparse", "alpha": 2.0, "expansion": 1.0}, [])]


@pytest.mark.parametrize("params,x", POINTS)
def test_contract_checks(params, x):
    for check in (contract.test_equations_are_the_scaled_gradient_of_the_free_energy,
                  contract.test_solver_equations_equal_the_derived_ones,
                  contract.test_jacobian_is_the_derivative_of_the_equations,
                  contract.test_numpy_and_mpmath_backends_agree):
        check(ExpansionPerceptron(), dict(params), x)


def test_known_values_and_interface():
    contract.test_known_values_are_reproduced(MODEL)
    described = MODEL.describe()
    assert described["name"] == "expansion-perceptron" and described["parameters"] and described["observables"]
    assert set(MODEL.simulated_observables) <= {o["name"] for o in described["observables"]}
    assert all(p.meaning and p.domain_text for p in MODEL.parameters)


@pytest.mark.latex
@pytest.mark.parametrize("params", [POINTS[0][0], POINTS[2][0], POINTS[3][0], POINTS[4][0]])
def test_latex_export_compiles(params, tmp_path, pdflatex):
    """As the contract's check (one case a variant with a saddle point)."""
    model = MODEL.variant(MODEL.resolve(params))
    tex = tmp_path / "expansion.tex"
    tex.write_text(standalone_document(derivation_latex(model, MODEL.resolve(params)), "expansion-perceptron"))
    proc = subprocess.run([pdflatex, "-interaction=nonstopmode", "-halt-on-error", tex.name], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert os.path.getsize(tmp_path / "expansion.pdf") > 1000


# -- Monte Carlo -------------------------------------------------------------------------------
@pytest.mark.parametrize("params,seed", [({"alpha": 2.0, "expansion": 1.0, "noise": 0.5}, 1),
                                         ({"alpha": 3.0, "expansion": 3.0, "sparsity": 0.2, "noise": 0.5}, 2)])
def test_theory_agrees_with_simulation(params, seed):
    """compare at N = 40, 80, 160 with 60 trials (1/N extrapolation, |z| <= 3 for every observable);
    full sizes: the commands in the module docstring."""
    c = compare(MODEL, MODEL.resolve(params), [40, 80, 160], 60, seed=seed)
    assert c.agrees, str(c)


def test_sparse_expansion_simulation_pruned_beats_unexpanded():
    """The input-driven sparse expansion (simulated only): pruned-after-learning eps_g below the unexpanded
    max-margin student's at the same alpha (N = 100, 30 instances, difference > 3 standard errors)."""
    n, alpha, noise = 100, 2.0, 0.5
    rows = [sim.trial(n, alpha, 2.0, 0.1, noise, trial_rng(3, n, k), units="sparse") for k in range(30)]
    plain = [sim.trial(n, alpha, 0.0, 0.5, noise, trial_rng(3, n, k)) for k in range(30)]
    d = np.array([r["eps_g"] for r in rows]) - np.array([r["eps_g"] for r in plain])   # same instances
    assert d.mean() + 3 * d.std(ddof=1) / math.sqrt(d.size) < 0, d.mean()
