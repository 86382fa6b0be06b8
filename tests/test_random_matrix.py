"""Random-matrix models: Marchenko-Pastur (replica resolvent) and the spiked covariance (BBP).

Independent values are written out here from the literature, never taken from the package:

* MP law (V. A. Marchenko & L. A. Pastur, Math. USSR-Sb. 1, 457 (1967); Z. Bai & J. W. Silverstein,
  "Spectral Analysis of Large Dimensional Random Matrices", Springer 2010, sec. 3.1): for
  C = X X^T/N, X of size P x N with N(0,1) entries, gamma = P/N: edges (1 -+ sqrt(gamma))^2,
  density sqrt((b-x)(x-a))/(2 pi gamma x), atom 1 - 1/gamma at 0 when gamma > 1, moments
  E (1/P) tr C^k -> sum_{r<k} gamma^r/(r+1) C(k,r) C(k-1,r) (Narayana polynomials, Lemma 3.1).
* Spiked covariance, population covariance I + beta u u^T, ell = 1 + beta: BBP threshold
  beta_c = sqrt(gamma) (Baik, Ben Arous & Peche, Ann. Probab. 33, 1643 (2005)); top eigenvalue
  ell (1 + gamma/(ell - 1)) above it, (1 + sqrt(gamma))^2 below (Baik & Silverstein,
  J. Multivariate Anal. 97, 1382 (2006)); squared overlap (1 - gamma/(ell-1)^2)/(1 + gamma/(ell-1))
  above, 0 below (D. Paul, Statist. Sinica 17, 1617 (2007), Theorem 4).
* Real Wishart moments E tr W^2 = PN(N+P+1), E tr W^3 = PN(N^2+P^2+3NP+3N+3P+4) (checked
  here by Monte Carlo).
"""
from __future__ import annotations

import math
from pathlib import Path

import mpmath
import numpy as np
import pytest
import sympy
from scipy import integrate

import replica
from replica.errors import ParameterError, SimulationError
from replica.latex import derivation_latex, standalone_document
from replica.models.marchenko_pastur import MarchenkoPastur
from replica.models.spiked_covariance import SpikedCovariance
from replica.numeric import compile_numpy
from replica.simulation import trial_rng
from replica.simulators import random_matrix as rm
from replica.solver import solve as core_solve
from replica.solver import solve_batch

from cli_helpers import run  # noqa: E402  (tests/ is on sys.path under pytest)

ROOT = Path(__file__).resolve().parents[1]
MP = MarchenkoPastur()
SPIKED = SpikedCovariance()
MP_SPEC = f"{ROOT}/replica/models/marchenko_pastur.py:MarchenkoPastur"
SPIKED_SPEC = f"{ROOT}/replica/models/spiked_covariance.py:SpikedCovariance"


# ---------------------------------------------------------------------------
# literature formulas, written out independently of the package
# ---------------------------------------------------------------------------
def lit_edges(gamma):
    return (1 - math.sqrt(gamma)) ** 2, (1 + math.sqrt(gamma)) ** 2


def lit_density(x, gamma):
    a, b = lit_edges(gamma)
    return math.sqrt((b - x) * (x - a)) / (2 * math.pi * gamma * x) if a < x < b else 0.0


def lit_atom(gamma):
    return max(0.0, 1 - 1 / gamma)


def lit_moment(gamma, k):
    return sum(gamma**r / (r + 1) * math.comb(k, r) * math.comb(k - 1, r) for r in range(k))


def lit_top(gamma, beta):
    ell = 1 + beta
    return ell * (1 + gamma / (ell - 1)) if beta > math.sqrt(gamma) else (1 + math.sqrt(gamma)) ** 2


def lit_overlap2(gamma, beta):
    ell = 1 + beta
    return (1 - gamma / (ell - 1) ** 2) / (1 + gamma / (ell - 1)) if beta > math.sqrt(gamma) else 0.0


# ---------------------------------------------------------------------------
# the contract battery (as tests/test_contract.py runs it over registered models)
# ---------------------------------------------------------------------------
POINTS = {
    "marchenko-pastur": (MP, [({"gamma": 0.5, "x": 1.0}, [0.4, 1.2]), ({"gamma": 2.0, "x": 3.0}, [0.3, 0.2]),
                              ({"gamma": 0.25, "x": 4.0}, [0.3, 0.05])]),
    "spiked-covariance": (SPIKED, [({"gamma": 0.5, "beta": 2.0}, [0.3, 0.6]),
                                   ({"gamma": 0.5, "beta": 0.3}, [0.4, 0.1]),
                                   ({"gamma": 2.0, "beta": 4.0}, [0.6, 0.8])]),
}


def _cases():
    for name, (model, pts) in POINTS.items():
        for params, x in pts:
            yield pytest.param(model, params, x, id=f"{name}-{params}")


def _values(model, params, x):
    return list(x) + [params[p.name] for p in model.real_parameters]


@pytest.mark.parametrize("model,params,x", _cases())
def test_equations_are_the_scaled_gradient_of_the_free_energy(model, params, x):
    params = model.resolve(params)
    d = model.derivation(params)
    F = compile_numpy(d.free_energy, d.args)
    scales = compile_numpy(model.equation_scales(d.choices), d.args)(*_values(model, params, x))
    eqs = d.numpy_residual(*_values(model, params, x))
    for i in range(len(x)):
        up, dn = list(x), list(x)
        up[i] += 1e-5
        dn[i] -= 1e-5
        fd = (F(*_values(model, params, up)) - F(*_values(model, params, dn))) / 2e-5
        assert eqs[i] == pytest.approx(scales[i] * fd, rel=1e-7, abs=1e-8)


@pytest.mark.parametrize("model,params,x", _cases())
def test_jacobian_and_backends(model, params, x):
    params = model.resolve(params)
    d = model.derivation(params)
    vals = _values(model, params, x)
    derived = compile_numpy(d.derived_equations, d.args)(*vals)
    for a, b in zip(d.numpy_residual(*vals), derived):
        assert a == pytest.approx(b, rel=1e-12, abs=1e-13)
    G, J = d.numpy_system(*vals)
    for j in range(len(x)):
        up, dn = list(x), list(x)
        up[j] += 1e-6
        dn[j] -= 1e-6
        gu, gd = d.numpy_residual(*_values(model, params, up)), d.numpy_residual(*_values(model, params, dn))
        for i in range(len(x)):
            assert J[i][j] == pytest.approx((gu[i] - gd[i]) / 2e-6, rel=1e-6, abs=1e-7)
    fast = d.numpy_outputs(*vals) + d.numpy_residual(*vals)
    with mpmath.workdps(30):
        ref = d.mpmath_outputs(*vals) + d.mpmath_residual(*vals)
    for a, b in zip(fast, ref):
        assert float(a) == pytest.approx(float(b), rel=1e-11, abs=1e-12)


@pytest.mark.parametrize("model", [MP, SPIKED], ids=lambda m: m.name)
def test_known_values_and_interface(model):
    assert model.references
    for ref in model.references:
        value = core_solve(model, model.resolve(ref.params)).observables[ref.observable]
        assert abs(value - ref.value) <= ref.tol, (ref, value)
        assert ref.source
    described = model.describe()
    names = {o["name"] for o in described["observables"]}
    assert set(model.simulated_observables) <= names
    assert all(p.meaning and p.domain_text for p in model.parameters)


@pytest.mark.latex
@pytest.mark.parametrize("model", [MP, SPIKED], ids=lambda m: m.name)
def test_latex_export_compiles(model, tmp_path, pdflatex):
    import subprocess
    tex = tmp_path / "doc.tex"
    tex.write_text(standalone_document(derivation_latex(model), model.name))
    proc = subprocess.run([pdflatex, "-interaction=nonstopmode", "-halt-on-error", tex.name], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout[-3000:]


# ---------------------------------------------------------------------------
# Marchenko-Pastur: closed forms derived from the replica action
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("gamma", [0.1, 0.25, 0.5, 1.0, 2.0, 4.0])
def test_edges_atom_and_moments(gamma):
    obs = replica.solve(MP, {"gamma": gamma}).observables
    a, b = lit_edges(gamma)
    assert obs["edge_lower"] == pytest.approx(a, abs=1e-14)
    assert obs["edge_upper"] == pytest.approx(b, abs=1e-14)
    assert obs["atom_at_zero"] == pytest.approx(lit_atom(gamma), abs=1e-15)
    for k in range(1, 5):
        assert obs[f"moment{k}"] == pytest.approx(lit_moment(gamma, k), rel=1e-14), k


def test_moments_are_the_narayana_polynomials_identically():
    d = MP.derivation()
    gamma = MP.parameters[0].symbol
    for k in range(1, 5):
        narayana = sum(gamma**r * sympy.binomial(k, r) * sympy.binomial(k - 1, r) / (r + 1) for r in range(k))
        assert sympy.expand(d.limits[f"moment{k}"] - narayana) == 0, k


@pytest.mark.parametrize("gamma,x", [(0.25, 0.5), (0.25, 1.0), (0.25, 2.0), (0.5, 0.3), (0.5, 1.0), (0.5, 2.5),
                                     (1.0, 0.05), (1.0, 2.0), (1.0, 3.5), (2.0, 0.3), (2.0, 3.0), (4.0, 6.0)])
def test_density_equals_the_closed_form(gamma, x):
    r = replica.solve(MP, {"gamma": gamma, "x": x})
    assert r.converged and r.order_parameters["g_i"] > 0
    assert r.observables["density"] == pytest.approx(lit_density(x, gamma), rel=1e-12, abs=1e-13)
    # real part: -PV int rho(l)/(l - x) dl + atom/x, by QUADPACK's Cauchy weight (independent)
    a, b = lit_edges(gamma)
    pv = integrate.quad(lambda l: lit_density(l, gamma), a, b, weight="cauchy", wvar=x, epsabs=1e-13,
                        epsrel=1e-12, limit=400)[0]
    assert r.order_parameters["g_r"] == pytest.approx(-pv + lit_atom(gamma) / x, abs=1e-9)


@pytest.mark.parametrize("gamma", [0.5, 2.0])
def test_density_integrates_to_one_with_the_atom(gamma):
    # Gauss-Legendre in t with l = c - r cos t (integrand ~ sin^2 t: smooth), solved as one sweep
    a, b = lit_edges(gamma)
    c, r = (a + b) / 2, (b - a) / 2
    t, w = np.polynomial.legendre.leggauss(40)
    t = (t + 1) * math.pi / 2
    xs = c - r * np.cos(t)
    sw = replica.sweep(MP, {"gamma": gamma}, "x", xs)
    assert sw.converged.all()
    rho = sw.array("density")
    mass = float(np.sum(w * math.pi / 2 * rho * r * np.sin(t)))
    assert mass + lit_atom(gamma) == pytest.approx(1.0, abs=1e-12)
    assert float(np.sum(w * math.pi / 2 * rho * xs * r * np.sin(t))) == pytest.approx(1.0, abs=1e-12)  # moment1


@pytest.mark.parametrize("gamma,x", [(0.5, 0.02), (0.5, 4.0), (2.0, 0.05), (2.0, 9.0), (0.25, 10.0)])
def test_outside_the_bulk_density_is_exactly_zero_on_the_physical_branch(gamma, x):
    r = replica.solve(MP, {"gamma": gamma, "x": x})
    assert r.observables["density"] == 0.0 and r.order_parameters["g_i"] == 0.0
    # the Stieltjes transform int rho/(x - l) + atom/x, by quadrature (independent)
    a, b = lit_edges(gamma)
    stieltjes = integrate.quad(lambda l: lit_density(l, gamma) / (x - l), a, b, epsabs=1e-13, limit=200)[0]
    stieltjes += lit_atom(gamma) / x
    assert r.order_parameters["g_r"] == pytest.approx(stieltjes, rel=1e-10)
    # both real roots of the MP quadratic are saddle points; select = "max" picks the physical one
    d = MP.derivation()
    F = compile_numpy(d.free_energy, d.args)
    disc = (x + gamma - 1) ** 2 - 4 * gamma * x
    roots = [(x + gamma - 1 + s * math.sqrt(disc)) / (2 * gamma * x) for s in (1, -1)]
    other = [g for g in roots if abs(g - stieltjes) > 1e-8 * abs(stieltjes)]
    assert len(other) == 1
    eqs = d.numpy_residual(other[0], 0.0, gamma, x)
    assert max(abs(float(e)) for e in eqs) < 1e-10
    assert float(F(stieltjes, 0.0, gamma, x)) > float(F(other[0], 0.0, gamma, x))


def test_in_the_bulk_select_cannot_choose_and_the_domain_does():
    # Re S is harmonic: g and conj(g) both solve the equations with the same F; Im g >= 0 decides
    d = MP.derivation()
    r = replica.solve(MP, {"gamma": 0.5, "x": 1.0})
    gr, gi = r.order_parameters["g_r"], r.order_parameters["g_i"]
    F = compile_numpy(d.free_energy, d.args)
    assert max(abs(float(e)) for e in d.numpy_residual(gr, -gi, 0.5, 1.0)) < 1e-12
    assert float(F(gr, -gi, 0.5, 1.0)) == float(F(gr, gi, 0.5, 1.0))
    H = [[float(h) for h in row] for row in d.numpy_system(gr, gi, 0.5, 1.0)[1]]
    assert H[0][0] == pytest.approx(-H[1][1], rel=1e-12)       # trace-free Hessian: a saddle


@pytest.mark.parametrize("gamma,x", [(0.5, 1.0), (0.5, 4.0), (2.0, 3.0), (2.0, 0.05)])
def test_free_energy_is_the_log_potential(gamma, x):
    # Re S at the saddle = -(1/2) int rho(l) ln|x - l| dl - (atom/2) ln x
    r = replica.solve(MP, {"gamma": gamma, "x": x})
    a, b = lit_edges(gamma)
    f = lambda l: lit_density(l, gamma) * math.log(abs(x - l))  # noqa: E731
    pieces = [(a, b)] if not a < x < b else [(a, x), (x, b)]
    pot = sum(integrate.quad(f, lo, hi, epsabs=1e-13, limit=400)[0] for lo, hi in pieces)
    expected = -0.5 * pot - 0.5 * lit_atom(gamma) * math.log(x)
    assert r.free_energy == pytest.approx(expected, abs=1e-9)


def test_high_precision_density():
    r = replica.solve(MP, {"gamma": "0.5", "x": "1"}, dps=30)
    with mpmath.workdps(40):
        a, b = (1 - mpmath.sqrt(mpmath.mpf("0.5"))) ** 2, (1 + mpmath.sqrt(mpmath.mpf("0.5"))) ** 2
        exact = mpmath.sqrt((b - 1) * (1 - a)) / (2 * mpmath.pi * mpmath.mpf("0.5"))
        assert abs(r.observables["density"] - exact) < mpmath.mpf(10) ** -28


# ---------------------------------------------------------------------------
# spiked covariance: BBP from the zero-temperature replica free energy
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("gamma", [0.1, 0.5, 1.0, 2.0])
@pytest.mark.parametrize("ratio", [0.0, 0.3, 0.9, 1.1, 2.0, 5.0])
def test_bbp_top_eigenvalue_and_overlap(gamma, ratio):
    beta = ratio * math.sqrt(gamma)
    r = replica.solve(SPIKED, {"gamma": gamma, "beta": beta})
    assert r.observables["beta_c"] == pytest.approx(math.sqrt(gamma), rel=1e-15)
    assert r.observables["edge_upper"] == pytest.approx(lit_edges(gamma)[1], rel=1e-15)
    assert r.observables["top_eigenvalue"] == pytest.approx(lit_top(gamma, beta), rel=1e-12)
    assert r.observables["overlap2"] == pytest.approx(lit_overlap2(gamma, beta), abs=1e-12)
    assert r.stability["stable"]


def test_derived_bbp_formulas_are_the_literature_ones_identically():
    d = SPIKED.derivation()
    gamma, beta = (p.symbol for p in SPIKED.parameters)
    steps = {lhs: expr for lhs, expr, _ in d.limit_steps["beta_c"]}
    ell = 1 + beta
    assert sympy.simplify(steps["m^2"] - (1 - gamma / (ell - 1) ** 2) / (1 + gamma / (ell - 1))) == 0
    assert sympy.simplify(steps[r"\lambda_{\max}"] - ell * (1 + gamma / (ell - 1))) == 0
    assert sympy.simplify(d.limits["beta_c"] - sympy.sqrt(gamma)) == 0


def test_noise_branch_above_threshold_is_a_saddle_but_unstable():
    params = SPIKED.resolve({"gamma": 0.5, "beta": 2.0})
    noise = solve_batch(SPIKED, [params], starts=np.array([[0.5, 0.0]]))[0]
    assert noise["converged"] and noise["x"][1] == 0.0
    stab = noise["outputs"][-1]
    assert stab < 0                                             # unstable in m
    r = replica.solve(SPIKED, {"gamma": 0.5, "beta": 2.0})
    assert r.free_energy > noise["outputs"][0]                  # select = "max" picks the spike branch


# ---------------------------------------------------------------------------
# bad input: one-line errors naming the parameter
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("model,given,name", [
    (MP, {"gamma": 0.0}, "gamma"), (MP, {"gamma": -1.0}, "gamma"), (MP, {"gamma": 0.5, "x": -1.0}, "x"),
    (MP, {"gamma": 0.5, "x": 0.0}, "x"), (SPIKED, {"gamma": 0.0, "beta": 1.0}, "gamma"),
    (SPIKED, {"gamma": 0.5, "beta": -0.1}, "beta"),
])
def test_bad_input_is_a_parameter_error(model, given, name):
    with pytest.raises(ParameterError, match=f"'{name}'"):
        replica.solve(model, given)


@pytest.mark.parametrize("spec,setting,name", [(MP_SPEC, "gamma=0", "gamma"), (MP_SPEC, "gamma=-2", "gamma"),
                                               (SPIKED_SPEC, "beta=-1", "beta"), (SPIKED_SPEC, "gamma=-1", "gamma")])
def test_bad_input_on_the_command_line_is_one_line(capsys, spec, setting, name):
    rc, out, err = run(capsys, "solve", spec, "--set", setting)
    assert rc == 2 and "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("replica: error: ") and f"'{name}'" in lines[0], lines


def test_simulation_refuses_a_non_integer_dimension_and_an_edge():
    with pytest.raises(SimulationError, match="gamma\\*N"):
        replica.simulate(MP, {"gamma": 0.3, "x": 1.0}, n=15, trials=2, seed=0)
    with pytest.raises(SimulationError, match="edge"):
        replica.simulate(MP, {"gamma": 0.25, "x": 2.25}, n=20, trials=2, seed=0)


# ---------------------------------------------------------------------------
# simulations
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("p,n", [(3, 4), (5, 2)])
def test_exact_wishart_moments_against_monte_carlo(p, n):
    rng = np.random.default_rng(7)
    X = rng.standard_normal((100_000, p, n))
    C = X @ np.swapaxes(X, 1, 2) / n
    C2 = C @ C
    for k, samples in [(2, np.einsum("tii->t", C2) / p), (3, np.einsum("tij,tji->t", C2, C) / p)]:
        z = (samples.mean() - rm.wishart_moment_exact(p, n, k)) / (samples.std() / math.sqrt(samples.size))
        assert abs(z) < 4, (k, z)


def test_eigenvalues_and_top_pair_of_both_gram_matrices():
    X = rm.sample_data(6, 4, np.random.default_rng(1), beta=3.0)
    full = np.linalg.eigvalsh(X @ X.T / 4)
    assert np.allclose(rm.eigenvalues(X), full, atol=1e-12)
    lam, v = rm.top_eigenpair(X)
    assert lam == pytest.approx(full[-1], rel=1e-12)
    assert np.allclose(X @ (X.T @ v) / 4, lam * v, atol=1e-10)


def test_histogram_goodness_of_fit():
    # chi-square of the N -> oo extrapolated histogram (8 MP-quantile bins, covariance from the trials)
    ok = rm.histogram_gof(0.5, [50, 100, 200], trials=120, seed=3)
    assert ok["dof"] == 7 and ok["p_value"] > 1e-3, ok
    # the statistic has power: the same eigenvalues against the MP law with gamma = 0.6 are rejected
    wrong = rm.histogram_gof(0.5, [50, 100, 200], trials=120, seed=3, law_gamma=0.6)
    assert wrong["p_value"] < 1e-6, wrong


@pytest.mark.parametrize("gamma", [0.3, 1.0, 2.5])
def test_closed_form_cdf_used_for_the_bins(gamma):
    a, b = lit_edges(gamma)
    for f in (0.01, 0.3, 0.5, 0.9, 1.0):
        t = a + f * (b - a)
        ref = integrate.quad(lambda l: lit_density(l, gamma), a, t, epsabs=1e-13, limit=400)[0]
        assert rm.mp_cdf(t, gamma) == pytest.approx(ref, abs=1e-9)
    assert rm.mp_cdf(b, gamma) + lit_atom(gamma) == pytest.approx(1.0, abs=1e-15)


def test_without_a_spectral_point_only_the_moments_are_simulated():
    est = replica.simulate(MP, {"gamma": 0.5}, n=20, trials=3, seed=0)
    assert set(est) == {"moment2", "moment3"}


def test_density_estimate_outside_the_bulk_vanishes():
    out = rm.marchenko_pastur_trial(0.5, 4.5, 200, trial_rng(1, 200, 0))
    assert out["density"] < 1e-12


@pytest.mark.slow
def test_marchenko_pastur_agrees_with_simulation():
    comp = replica.compare(MP, {"gamma": 0.5, "x": 1.0}, [100, 200, 400], trials=50, seed=1)
    assert set(comp.observables) == {"density", "moment2", "moment3"}
    for name, o in comp.observables.items():
        assert o.agrees, (name, o.to_dict())
    for name in ("moment2", "moment3"):         # each N against the exact finite-N mean
        o = comp.observables[name]
        for n, e in o.per_n:
            assert abs(e.mean - o.finite_n_reference[n]) < 4 * e.stderr, (name, n)


@pytest.mark.slow
@pytest.mark.parametrize("beta,seed", [(2.0, 1), (0.3, 1)])
def test_spiked_covariance_agrees_with_simulation_above_and_below_threshold(beta, seed):
    comp = replica.compare(SPIKED, {"gamma": 0.5, "beta": beta}, [100, 200, 400], trials=50, seed=seed)
    for name, o in comp.observables.items():
        assert o.agrees, (name, o.to_dict())
    if beta < math.sqrt(0.5):
        # below threshold the top eigenvector is noise: its overlap decays with N
        means = [e.mean for _, e in comp.observables["overlap2"].per_n]
        assert means[-1] < means[0] and means[-1] < 0.05
