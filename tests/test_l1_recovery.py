"""The l1-recovery model (Donoho-Tanner transition) against independent computations and simulation.

Independent checks of rho_c(delta) (convention: rho = k/N, delta = N/P, so k/P = rho delta):

* the formula of Donoho, Maleki and Montanari (PNAS 106, 18914 (2009), eq. (4)), typed in as
  printed and maximised on a grid with scipy.special (no SymPy, no saddle-point solver);
* the conic-geometry form of the same curve (Amelunxen, Lotz, McCoy and Tropp, "Living on the edge",
  Inf. Inference 3, 224 (2014), sec. 4 and Prop. 4.5): the l1 transition is where the statistical
  dimension of the descent cone, inf_tau [eps (1 + tau^2) + (1 - eps) c int_tau^oo (u - tau)^2 phi(u) du],
  equals delta; integrals by scipy quad, the infimum by minimize_scalar, the root by brentq;
* the noiseless LASSO / AMP state evolution of a Bernoulli-Gauss signal (Gaussian amplitudes, not the
  least favourable ones), iterated at finite tau with Gaussian integrals written out by hand: below
  the transition tau -> 0 (exact recovery), above it every threshold has a positive fixed point;
* literature: Donoho-Tanner's published statements (non-negative: rho_W(1/2) ~ 0.558; small-delta
  asymptotics rho_W(delta) ~ 1/(2 log(1/delta)); rho_W -> 1 as delta -> 1);
* simulation: basis pursuit solved as a linear program (HiGHS) on random instances.
"""
import math
import subprocess

import mpmath
import numpy as np
import pytest
from scipy import integrate, optimize, special, stats

from replica.errors import ParameterError
from replica.latex import derivation_latex, standalone_document
from replica.models.l1_recovery import L1Recovery
from replica.numeric import compile_numpy
from replica.simulation import compare, simulate
from replica.solver import solve, sweep

MODEL = L1Recovery()


def rho_c(delta, signal="signed"):
    return solve(MODEL, MODEL.resolve({"delta": delta, "signal": signal})).observables["rho_c"]


# ---------------------------------------------------------------------------------------------
# independent formulas
# ---------------------------------------------------------------------------------------------
def dmm_rho(delta, signal="signed"):
    """max_z of DMM 2009 eq. (4) (signed) / its one-sided analogue, on a grid refined twice."""
    c = 2 if signal == "signed" else 1

    def f(z):
        m = (1 + z**2) * special.ndtr(-z) - z * np.exp(-z**2 / 2) / np.sqrt(2 * np.pi)
        return (1 - (c / delta) * m) / (1 + z**2 - c * m)

    z = np.linspace(1e-6, 8, 80001)
    for _ in range(3):
        k = int(np.argmax(f(z)))
        h = z[1] - z[0]
        z = np.linspace(max(z[k] - 2 * h, 1e-9), z[k] + 2 * h, 20001)
    return float(np.max(f(z)))


def almt_rho(delta, signal="signed"):
    """Amelunxen-Lotz-McCoy-Tropp: eps solving D(eps) = delta, D the normalised statistical dimension."""
    c = 2 if signal == "signed" else 1

    def tail(tau):
        return integrate.quad(lambda u: (u - tau)**2 * stats.norm.pdf(u), tau, np.inf, epsabs=1e-14, epsrel=1e-13)[0]

    def D(eps):
        res = optimize.minimize_scalar(lambda t: eps * (1 + t * t) + (1 - eps) * c * tail(t), bounds=(0, 12),
                                       method="bounded", options={"xatol": 1e-12})
        return res.fun

    eps = optimize.brentq(lambda e: D(e) - delta, 1e-9, delta * (1 - 1e-12), xtol=1e-15)
    return eps / delta


def se_tau2(delta, eps, theta, iters=4000):
    """Noiseless AMP state evolution of a Bernoulli(eps)-Gauss signal, soft threshold theta tau:
    tau^2 <- E[(eta(X + tau Z; theta tau) - X)^2]/delta from tau^2 = 1 (Gaussian integrals by hand)."""
    def soft_moments(sd, t):
        a = t / sd
        H, phi = special.ndtr(-a), math.exp(-a * a / 2) / math.sqrt(2 * math.pi)
        return 2 * ((sd * sd + t * t) * H - t * sd * phi), 2 * sd * sd * H     # E eta^2, E eta y

    t2 = 1.0
    for _ in range(iters):
        tau = math.sqrt(t2)
        e0, _ = soft_moments(tau, theta * tau)
        var = 1 + t2
        e1, ey1 = soft_moments(math.sqrt(var), theta * tau)
        new = ((1 - eps) * e0 + eps * (e1 - 2 * ey1 / var + 1)) / delta
        if new < 1e-30:
            return 0.0
        if not new < 1e100:             # no fixed point at all: tau diverges
            return math.inf
        t2 = new
    return t2


# ---------------------------------------------------------------------------------------------
# the theory
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("signal", ["signed", "nonnegative"])
@pytest.mark.parametrize("delta", [0.05, 0.1, 0.25, 0.5, 0.75, 0.9])
def test_rho_c_equals_the_dmm_formula(delta, signal):
    assert rho_c(delta, signal) == pytest.approx(dmm_rho(delta, signal), abs=1e-9)


@pytest.mark.parametrize("signal", ["signed", "nonnegative"])
@pytest.mark.parametrize("delta", [0.1, 0.5, 0.9])
def test_rho_c_equals_the_statistical_dimension_transition(delta, signal):
    assert rho_c(delta, signal) == pytest.approx(almt_rho(delta, signal), abs=1e-8)


@pytest.mark.parametrize("delta", [0.25, 0.5, 0.75])
def test_state_evolution_recovers_below_and_fails_above(delta):
    res = solve(MODEL, MODEL.resolve({"delta": delta}))
    eps_c, z_c = res.observables["eps_c"], res.observables["z_c"]
    assert eps_c == pytest.approx(delta * res.observables["rho_c"], rel=1e-14)
    # below: the minimax threshold drives tau to zero (geometrically, rate M/delta < 1)
    assert se_tau2(delta, 0.95 * eps_c, z_c) < 1e-12
    # above: no threshold does
    for theta in np.linspace(0.05, 4.0, 40):
        assert se_tau2(delta, 1.05 * eps_c, theta, iters=600) > 1e-6


@pytest.mark.parametrize("signal", ["signed", "nonnegative"])
def test_the_maximiser_is_the_minimax_threshold(signal):
    # z_c maximises rho(z; delta) and also minimises M(eps_c, z) (the least-favourable MSE), with value delta
    delta = 0.4
    res = solve(MODEL, MODEL.resolve({"delta": delta, "signal": signal}))
    eps, M = MODEL.least_favorable_mse({"signal": signal})
    z = MODEL.order_parameters[0].symbol
    fM = compile_numpy(M, [z, eps])
    zz = np.linspace(0.01, 5, 200001)
    vals = fM(zz, res.observables["eps_c"])
    assert float(np.min(vals)) == pytest.approx(delta, abs=1e-9)
    assert zz[int(np.argmin(vals))] == pytest.approx(res.observables["z_c"], abs=1e-4)
    assert res.stability["stable"]


def test_literature_values():
    # D. L. Donoho and J. Tanner, "Sparse nonnegative solution of underdetermined linear equations by
    # linear programming", PNAS 102, 9446 (2005): for n x 2n systems (delta = 1/2) LP finds nonnegative
    # solutions with fewer nonzeros than "roughly half the number of equations" -- the weak threshold of the
    # simplex rho_W(1/2) = 0.558 (their preprint; also Donoho-Tanner, PNAS 102, 9452 (2005), Fig. 1)
    assert rho_c(0.5, "nonnegative") == pytest.approx(0.558, abs=1e-3)
    assert rho_c(0.5, "nonnegative") > 0.5
    # Donoho and Tanner, J. Amer. Math. Soc. 22, 1 (2009), Thm 1.2-1.3: rho_W(delta) ~ 1/(2 log(1/delta))
    # as delta -> 0 for both the cross-polytope and the simplex; corrections O(log log / log)
    for signal in ("signed", "nonnegative"):
        ratios = [rho_c(d, signal) * 2 * math.log(1 / d) for d in (1e-6, 1e-12, 1e-20, 1e-40)]
        assert all(r > 1 for r in ratios), ratios
        assert ratios[0] > ratios[1] > ratios[2] > ratios[3], ratios
        assert ratios[3] < 1.03, ratios
    # delta -> 1: every sparsity is recovered (rho_W(1) = 1), approached continuously
    assert rho_c(1.0) == 1.0 and rho_c(1.0, "nonnegative") == 1.0
    assert 0.95 < rho_c(0.999) < 1.0
    # the non-negative transition lies above the signed one (the simplex is more neighbourly; DT 2009)
    for d in (0.1, 0.5, 0.9):
        assert rho_c(d, "nonnegative") > rho_c(d, "signed")


def test_high_precision_and_sweep():
    res = solve(MODEL, MODEL.resolve({"delta": 0.5}), dps=30)
    with mpmath.workdps(40):
        c = 2

        def f(z):
            m = (1 + z**2) * mpmath.ncdf(-z) - z * mpmath.npdf(z)
            return (1 - (c / mpmath.mpf("0.5")) * m) / (1 + z**2 - c * m)

        zstar = mpmath.findroot(lambda z: mpmath.diff(f, z), 0.88)
        assert abs(res.observables["rho_c"] - f(zstar)) < mpmath.mpf(10)**-25
    out = sweep(MODEL, MODEL.resolve({}), "delta", [0.2, 0.4, 0.6, 0.8])
    assert all(p.converged for p in out.points)
    vals = [p.observables["rho_c"] for p in out.points]
    assert vals == sorted(vals)
    for d, v in zip([0.2, 0.4, 0.6, 0.8], vals):
        assert v == pytest.approx(dmm_rho(d), abs=1e-9)


def test_verdict_and_margin():
    rc = rho_c(0.5)
    lo = solve(MODEL, MODEL.resolve({"delta": 0.5, "rho": 0.3})).observables
    hi = solve(MODEL, MODEL.resolve({"delta": 0.5, "rho": 0.45})).observables
    assert lo["success"] == 1.0 and lo["margin"] == pytest.approx(rc - 0.3, abs=1e-12)
    assert hi["success"] == 0.0 and hi["margin"] == pytest.approx(rc - 0.45, abs=1e-12)
    full = solve(MODEL, MODEL.resolve({"delta": 1, "rho": 1})).observables
    assert full["success"] == 1 and full["margin"] == 0 and full["rho_c"] == 1
    assert "success" not in solve(MODEL, MODEL.resolve({"delta": 0.5})).observables


@pytest.mark.parametrize("name,value", [("delta", 0.0), ("delta", 1.5), ("delta", -0.2), ("rho", 0.0),
                                        ("rho", 1.01), ("rho", float("nan")), ("delta", "abc")])
def test_bad_input_names_parameter_value_and_range(name, value):
    with pytest.raises(ParameterError) as err:
        MODEL.resolve({name: value})
    msg = str(err.value)
    assert repr(name) in msg
    if isinstance(value, float) and math.isfinite(value):
        assert f"{value:g}" in msg and "(0, 1]" in msg


def test_bad_signal_and_unknown_parameter():
    with pytest.raises(ParameterError, match="signed, nonnegative"):
        MODEL.resolve({"signal": "complex"})
    with pytest.raises(ParameterError, match="delta, rho, signal"):
        MODEL.resolve({"alpha": 0.5})


# ---------------------------------------------------------------------------------------------
# the contract battery, on the unregistered class (the checks of tests/test_contract.py)
# ---------------------------------------------------------------------------------------------
POINTS = [({"delta": 0.5}, [0.9]), ({"delta": 0.25, "signal": "nonnegative"}, [0.6]),
          ({"delta": 0.75, "rho": 0.3}, [1.7]), ({"delta": 0.1}, [2.5]), ({"delta": 1.0}, []),
          ({"delta": 1.0, "rho": 0.5, "signal": "nonnegative"}, [])]


def _values(model, params, x):
    return list(x) + [params[p.name] if params[p.name] is not None else float("nan") for p in model.real_parameters]


@pytest.mark.parametrize("params,x", POINTS)
def test_contract_equations_jacobian_backends(params, x):
    params = MODEL.resolve(params)
    model = MODEL.variant(params)
    # delta = 1 has no saddle point (rho_c = 1 is a limit); every delta < 1 solves for the threshold
    assert bool(model.order_parameters) == (params["delta"] < 1)
    d = model.derivation(params)
    F = compile_numpy(d.free_energy, d.args)
    scales = compile_numpy(model.equation_scales(d.choices), d.args)
    vals = _values(model, params, x)
    eqs = d.numpy_residual(*vals)
    sc = scales(*vals)
    derived = compile_numpy(d.derived_equations, d.args)(*vals)
    G, J = d.numpy_system(*vals)
    for i in range(len(x)):
        step = 1e-5
        up, dn = list(x), list(x)
        up[i] += step
        dn[i] -= step
        fd = (F(*_values(model, params, up)) - F(*_values(model, params, dn))) / (2 * step)
        assert eqs[i] == pytest.approx(sc[i] * fd, rel=1e-7, abs=1e-8)
        assert eqs[i] == pytest.approx(derived[i], rel=1e-12, abs=1e-13)
        for j in range(len(x)):
            h = 1e-6
            u, v = list(x), list(x)
            u[j] += h
            v[j] -= h
            fdj = (d.numpy_residual(*_values(model, params, u))[i] - d.numpy_residual(*_values(model, params, v))[i])
            assert J[i][j] == pytest.approx(fdj / (2 * h), rel=1e-6, abs=1e-7)
    fast = d.numpy_outputs(*vals) + d.numpy_residual(*vals)
    with mpmath.workdps(30):
        ref = d.mpmath_outputs(*vals) + d.mpmath_residual(*vals)
    for a, b in zip(fast, ref):
        assert float(a) == pytest.approx(float(b), rel=1e-11, abs=1e-12)


def test_contract_references_and_interface():
    assert MODEL.references
    for ref in MODEL.references:
        value = solve(MODEL, MODEL.resolve(ref.params)).observables[ref.observable]
        assert abs(value - ref.value) <= ref.tol, (ref, value)
        assert ref.source
    described = MODEL.describe()
    assert described["name"] == "l1-recovery" and described["parameters"] and described["observables"]
    assert set(MODEL.simulated_observables) <= {o["name"] for o in described["observables"]}
    for p in MODEL.parameters:
        assert p.meaning and p.domain_text


@pytest.mark.latex
@pytest.mark.parametrize("params", [{"delta": 0.5}, {"delta": 1.0}, {"delta": 1.0, "rho": 0.5}],
                         ids=["saddle", "complete", "complete-verdict"])
def test_contract_latex_export_compiles(params, tmp_path, pdflatex):
    params = MODEL.resolve(params)
    model = MODEL.variant(params)
    tex = tmp_path / "l1.tex"
    tex.write_text(standalone_document(derivation_latex(model, params), "l1-recovery"))
    proc = subprocess.run([pdflatex, "-interaction=nonstopmode", "-halt-on-error", tex.name], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert (tmp_path / "l1.pdf").stat().st_size > 1000


# ---------------------------------------------------------------------------------------------
# simulation
# ---------------------------------------------------------------------------------------------
def test_simulator_exact_recovery_and_determinism():
    from replica.simulators.l1_recovery import instance, recover
    rng = np.random.default_rng(3)
    for signal in ("signed", "nonnegative"):
        A, y, x0 = instance({"delta": 0.5, "rho": 0.1, "signal": signal}, 120, rng)
        assert A.shape == (60, 120) and np.count_nonzero(x0) == 6
        assert (x0 >= 0).all() or signal == "signed"
        x = recover(A, y, signal)
        assert np.linalg.norm(x - x0) <= 1e-6 * np.linalg.norm(x0)
    p = MODEL.resolve({"delta": 0.5, "rho": 0.3})
    a = simulate(MODEL, p, 100, 6, seed=5)["success"]
    b = simulate(MODEL, p, 100, 6, seed=5)["success"]
    assert a == b
    with pytest.raises(Exception, match="rho"):
        simulate(MODEL, MODEL.resolve({"delta": 0.5}), 100, 2, seed=1)


def test_compare_agrees_far_from_the_transition():
    for params in ({"delta": 0.5, "rho": 0.2}, {"delta": 0.5, "rho": 0.65, "signal": "nonnegative"}):
        out = compare(MODEL, MODEL.resolve(params), [100, 200], trials=10, seed=2)
        assert out.agrees, str(out)


def _logistic_fit(rhos, k, n):
    """Maximum-likelihood fit of p(rho) = 1/(1 + exp((rho - r50)/w)): (r50, w, standard error of r50)."""
    rhos, k = np.asarray(rhos, float), np.asarray(k, float)

    def nll(th):
        p = np.clip(special.expit(-(rhos - th[0]) / math.exp(th[1])), 1e-12, 1 - 1e-12)
        return -np.sum(k * np.log(p) + (n - k) * np.log(1 - p))

    th = optimize.minimize(nll, [float(np.mean(rhos)), math.log(0.02)], method="Nelder-Mead",
                           options={"xatol": 1e-9, "fatol": 1e-12, "maxiter": 4000}).x
    h = 1e-4
    Hm = np.zeros((2, 2))
    for i in range(2):
        for j in range(2):
            ei, ej = np.eye(2)[i] * h, np.eye(2)[j] * h
            Hm[i, j] = (nll(th + ei + ej) - nll(th + ei - ej) - nll(th - ei + ej) + nll(th - ei - ej)) / (4 * h * h)
    return th[0], math.exp(th[1]), math.sqrt(np.linalg.inv(Hm)[0, 0])


TRANSITION_CASES = [(0.25, "signed"), (0.5, "signed"), (0.75, "signed"), (0.5, "nonnegative")]


@pytest.mark.slow
@pytest.mark.parametrize("delta,signal", TRANSITION_CASES)
def test_success_probability_crosses_one_half_at_rho_c(delta, signal):
    """P = 200 unknowns, N = delta P, 30 LPs at each of 7 sparsities around rho_c.

    Finite-size statistics (measured at P = 200 with 40 trials on 9 points: the logistic width w is
    0.024-0.029 and the 50% point lies 0.005 above rho_c at delta = 0.25, 0.5, 0.75): the finite-N
    success curve is a step smeared over a width w = O(N^-1/2) (Donoho & Tanner, Phil. Trans. R.
    Soc. A 367, 4273 (2009), sec. 4, finite-N transition zones), and its 50% point may sit off rho_c
    by a finite-size shift of at most that width. So: |r50 - rho_c| <= w + 3 se(r50), with w itself
    required to be small (< 0.06) so that the check is not vacuous; and at rho_c -/+ 0.1 (about 4 widths
    away) the success rate must be >= 0.85 / <= 0.15 (binomial: p ~ 0.98 / 0.02 there, so 30 trials
    violate either bound with probability < 1e-3; the seed is fixed)."""
    rc = rho_c(delta, signal)
    offsets = np.array([-0.1, -0.05, -0.025, 0.0, 0.025, 0.05, 0.1])
    trials = 30
    k = []
    for off in offsets:
        est = simulate(MODEL, MODEL.resolve({"delta": delta, "rho": rc + off, "signal": signal}), 200, trials,
                       seed=11)["success"]
        k.append(round(est.mean * trials))
    assert k[0] >= 0.85 * trials and k[-1] <= 0.15 * trials, k
    r50, w, se = _logistic_fit(rc + offsets, k, trials)
    assert w < 0.06, (w, k)
    assert abs(r50 - rc) <= w + 3 * se, (r50, rc, w, se, k)
