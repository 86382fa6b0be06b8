"""The diffusion model: derived score/denoiser/velocity, exact sampler moments, orders, simulation.

Every number is checked against something computed another way: the hand-written denoisers of the
simulator, SymPy's own Product/Sum, scipy quadrature of KL and W2, Monte Carlo with z-scores."""
import math
import subprocess

import mpmath
import numpy as np
import pytest
import sympy
from scipy import integrate, stats

import replica
from replica.errors import ParameterError
from replica.latex import derivation_latex, standalone_document
from replica.models import diffusion as dm
from replica.models.diffusion import Diffusion
from replica.simulators import diffusion as sim

MODEL = Diffusion()


def solve(**given):
    return replica.solve(MODEL, MODEL.resolve(given)).observables


# -- input checks -------------------------------------------------------------------------------
@pytest.mark.parametrize("name,value,allowed", [("steps", 0, "[1, 20000]"), ("dim", 0, "[1, 100000]"),
                                                ("sigma0", 0.0, "(0, inf)"), ("sigma0", -1.0, "(0, inf)"),
                                                ("sigma_q", 0.0, "(0, inf)")])
def test_bad_input_names_parameter_value_and_range(name, value, allowed):
    with pytest.raises(ParameterError) as exc:
        MODEL.resolve({name: value})
    msg = str(exc.value)
    assert repr(name) in msg and f"{value:g}" in msg and allowed in msg


def test_bad_categorical_choice():
    with pytest.raises(ParameterError, match="sampler.*ddim, ddpm, flow"):
        MODEL.resolve({"sampler": "euler"})


# -- the derivation -------------------------------------------------------------------------------
T, X, MU, S0, SQ = dm.T, dm.X, dm.MU, dm.S0, dm.SQ


def test_derived_score_and_denoiser_equal_the_hand_written_ones():
    V = S0**2 + SQ**2 * T
    g = dm.derive("ve", "gaussian")
    assert sympy.simplify(g["score"] - (MU - X) / V) == 0
    assert sympy.simplify(g["denoiser"] - (MU + S0**2 * (X - MU) / V)) == 0
    mix = dm.derive("ve", "mixture")
    hand = (-X + MU * sympy.tanh(MU * X / V)) / V
    diff = sympy.lambdify([X, T, MU, S0, SQ], mix["score"] - hand)
    for x, t in ((0.3, 0.2), (-1.7, 0.8), (2.5, 0.05), (0.0, 1.0)):
        assert abs(diff(x, t, 0.9, 0.4, 1.7)) < 1e-12
    # Tweedie: beta^2 score = alpha D - x, for both forward processes and both data sets
    for process in ("ve", "fm"):
        alpha, beta = dm.forward(process)
        for data in ("gaussian", "mixture"):
            d = dm.derive(process, data)
            f = sympy.lambdify([X, T, MU, S0, SQ], beta**2 * d["score"] - (alpha * d["denoiser"] - X))
            for x, t in ((0.3, 0.2), (-1.7, 0.8), (2.5, 0.05)):
                assert abs(f(x, t, 0.9, 0.4, 1.7)) < 1e-12


@pytest.mark.parametrize("data", ["gaussian", "mixture"])
@pytest.mark.parametrize("process", ["ve", "fm"])
def test_derived_denoiser_matches_the_simulator(process, data):
    d = dm.derive(process, data)
    f = sympy.lambdify([X, T, MU, S0, SQ], d["denoiser"])
    params = {"mu": 0.8, "sigma0": 0.6, "sigma_q": 1.5, "data": data}
    for t in (1.0, 0.7, 0.1):
        xs = np.array([[-2.0], [0.3], [1.9]])
        hand = sim.denoiser(params, xs, t, process)[:, 0]
        assert np.allclose(f(xs[:, 0], t, 0.8, 0.6, 1.5), hand, rtol=1e-13, atol=1e-14)
    if process == "fm":           # the velocity E[x0 - x1 | x] = (D - x)/t
        v = sympy.lambdify([X, T, MU, S0, SQ], d["velocity"])
        assert v(0.4, 0.3, 0.8, 0.6, 1.5) == pytest.approx((f(0.4, 0.3, 0.8, 0.6, 1.5) - 0.4) / 0.3, rel=1e-13)


@pytest.mark.parametrize("data", ["gaussian", "mixture"])
@pytest.mark.parametrize("process", ["ve", "fm"])
def test_probability_flow_ode_transports_the_marginals(process, data):
    # continuity equation d_t p + d_x (p v) = 0 for the derived marginal and drift
    d = dm.derive(process, data)
    p, v = d["marginal"], d["pf_ode"]
    residual = sympy.lambdify([X, T, MU, S0, SQ], sympy.diff(p, T) + sympy.diff(p * v, X))
    scale = sympy.lambdify([X, T, MU, S0, SQ], sympy.diff(p, T))
    for x, t in ((0.2, 0.3), (-1.1, 0.75), (1.6, 0.5)):
        assert abs(residual(x, t, 0.7, 0.5, 1.3)) < 1e-12 * (1 + abs(scale(x, t, 0.7, 0.5, 1.3)))


def test_forward_marginal_is_a_density_with_the_right_variance():
    for process in ("ve", "fm"):
        alpha, beta = dm.forward(process)
        p = sympy.lambdify([X, T, MU, S0, SQ], dm.derive(process, "gaussian")["marginal"])
        t = 0.4
        mass = integrate.quad(lambda x: p(x, t, 0.5, 0.7, 1.2), -30, 30)[0]
        mean = integrate.quad(lambda x: x * p(x, t, 0.5, 0.7, 1.2), -30, 30)[0]
        var = integrate.quad(lambda x: (x - mean)**2 * p(x, t, 0.5, 0.7, 1.2), -30, 30)[0]
        a, b = float(alpha.subs({T: t})), float(beta.subs({T: t, SQ: 1.2}))
        assert mass == pytest.approx(1, abs=1e-10)
        assert mean == pytest.approx(a * 0.5, abs=1e-10)
        assert var == pytest.approx(a * a * 0.49 + b * b, rel=1e-9)


# -- the exact moments ---------------------------------------------------------------------------
@pytest.mark.parametrize("sampler", ["ddim", "ddpm", "flow"])
@pytest.mark.parametrize("init", ["marginal", "noise"])
def test_product_formulas_equal_the_recursion(sampler, init):
    mean_f, var_f = dm.moment_formulas(sampler, init)
    vals = {dm.NS: 5, MU: sympy.Rational(7, 10), S0: sympy.Rational(1, 2), SQ: 2}
    m, v = (complex(sympy.N(f.subs(vals).doit(), 30)) for f in (mean_f, var_f))
    assert abs(m.imag) < 1e-20 and abs(v.imag) < 1e-20      # SymPy factors the products over C
    m, v = m.real, v.real
    rm, rv = dm.gaussian_moments(sampler, init, 0.7, 0.5, 2.0, 5)
    assert m == pytest.approx(rm, rel=1e-13) and v == pytest.approx(rv, rel=1e-13)
    with mpmath.workdps(30):
        mm, mv = dm.gaussian_moments(sampler, init, 0.7, 0.5, 2.0, 5, mp=True)
    assert float(mm) == pytest.approx(rm, rel=1e-13) and float(mv) == pytest.approx(rv, rel=1e-13)


def test_references_and_solve_on_an_instance():
    for ref in MODEL.references:
        assert solve(**ref.params)[ref.observable] == pytest.approx(ref.value, abs=ref.tol)


def test_kl_and_w2_against_quadrature():
    obs = solve(sampler="ddpm", steps=7, dim=3, mu=0.4, sigma0=0.8, sigma_q=1.5)
    m, v = obs["mean"], obs["variance"]
    gen, data = stats.norm(m, math.sqrt(v)), stats.norm(0.4, 0.8)
    kl1 = integrate.quad(lambda x: gen.pdf(x) * (gen.logpdf(x) - data.logpdf(x)), -20, 20)[0]
    w2sq = integrate.quad(lambda u: (gen.ppf(u) - data.ppf(u))**2, 0, 1)[0]
    assert obs["kl"] == pytest.approx(3 * kl1, rel=1e-8)
    assert obs["w2"] == pytest.approx(math.sqrt(3 * w2sq), rel=1e-7)


@pytest.mark.parametrize("sampler,init", [("ddim", "marginal"), ("ddpm", "noise"), ("flow", "marginal")])
def test_exact_moments_against_monte_carlo(sampler, init):
    params = MODEL.resolve({"sampler": sampler, "init": init, "steps": 6, "dim": 1, "mu": 0.6})
    n = 400_000
    x = sim.run_sampler(params, sim.start_samples(params, n, np.random.default_rng(5)), np.random.default_rng(6))
    obs = replica.solve(MODEL, params).observables
    m, v = obs["mean"], obs["variance"]
    assert abs(np.mean(x) - m) < 4 * math.sqrt(v / n)
    assert abs(np.var(x, ddof=1) - v) < 4 * v * math.sqrt(2 / (n - 1))


# -- discretisation error ------------------------------------------------------------------------
def _w2(sampler, n):
    m, v = dm.gaussian_moments(sampler, "marginal", 1.0, 0.5, 2.0, n)
    return math.hypot(m - 1.0, math.sqrt(v) - 0.5)


def test_flow_and_ddpm_are_first_order():
    for sampler in ("flow", "ddpm"):
        ns = np.array([400, 800, 1600, 3200])
        e = np.array([_w2(sampler, n) for n in ns])
        slope = np.polyfit(np.log(ns), np.log(e), 1)[0]
        assert slope == pytest.approx(-1.0, abs=0.03), sampler


def test_ddim_error_is_first_order_up_to_a_logarithm():
    # DDIM is Euler in sigma = sigma_q sqrt(t); uniform steps in t make the steps in sigma
    # ~ 1/sqrt(k N), whose squares sum to ~ ln(N)/N: W2 = (a ln N + b)/N
    ns = np.array([100, 200, 400, 800, 1600, 3200])
    e = np.array([_w2("ddim", n) for n in ns])
    slope = np.polyfit(np.log(ns), np.log(e), 1)[0]
    assert -1.0 < slope < -0.75
    coef, res, *_ = np.linalg.lstsq(np.column_stack([np.log(ns), np.ones_like(ns, dtype=float)]), e * ns,
                                    rcond=None)
    fit = (coef[0] * np.log(ns) + coef[1]) / ns
    assert np.max(np.abs(fit / e - 1)) < 0.02
    assert coef[0] > 0
    # the reported local order is log2(W2(N)/W2(2N))
    obs = solve(sampler="ddim", steps=200, dim=1)
    assert obs["error_order"] == pytest.approx(math.log2(_w2("ddim", 200) / _w2("ddim", 400)), rel=1e-9)


# -- mixture --------------------------------------------------------------------------------------
def test_mixture_data_statistic_against_quadrature():
    obs = solve(data="mixture", mu=0.7, sigma0=0.6, dim=3)
    M = 0.7 * math.sqrt(3)
    pdf = lambda y: 0.5 * (stats.norm.pdf(y, M, 0.6) + stats.norm.pdf(y, -M, 0.6))    # noqa: E731
    assert obs["abs_projection_data"] == pytest.approx(integrate.quad(lambda y: abs(y) * pdf(y), -20, 20,
                                                                      points=[0])[0], rel=1e-10)


@pytest.mark.parametrize("sampler", ["ddim", "ddpm", "flow"])
def test_mixture_theory_against_monte_carlo(sampler):
    params = MODEL.resolve({"data": "mixture", "sampler": sampler, "steps": 8, "dim": 2})
    theory = replica.solve(MODEL, params).observables["abs_projection"]
    x = sim.run_sampler(params, sim.start_samples(params, 200_000, np.random.default_rng(3)),
                        np.random.default_rng(4))
    y = np.abs(x.sum(axis=1)) / math.sqrt(2)
    assert abs(y.mean() - theory) < 4 * y.std() / math.sqrt(y.size)


def test_mixture_converges_to_the_data_as_steps_grow():
    data = solve(data="mixture", sampler="flow")["abs_projection_data"]
    e = [abs(solve(data="mixture", sampler="flow", steps=n)["abs_projection"] - data) for n in (50, 100, 200)]
    assert e[0] > e[1] > e[2] and e[2] < 2e-2
    assert math.log2(e[1] / e[2]) == pytest.approx(1.0, abs=0.1)


# -- speciation (Biroli, Bonnaire, de Bortoli & Mezard 2024) -------------------------------------
def _clone_agreement_by_quadrature(mu, s0, dim, tc):
    """Hand-written: y_t = a y0 + sqrt(1 - a^2) z; P(y0 > 0 | y_t) from the two Gaussian posteriors."""
    M, a = mu * math.sqrt(dim), math.exp(-tc)
    V = a * a * s0 * s0 + 1 - a * a
    post_var = s0 * s0 * (1 - a * a) / V

    def q(y):
        w = 1 / (1 + math.exp(-2 * a * M * y / V))
        mp_, mm = (s0 * s0 * a * y + (1 - a * a) * M) / V, (s0 * s0 * a * y - (1 - a * a) * M) / V
        sd = math.sqrt(post_var)
        return w * stats.norm.cdf(mp_ / sd) + (1 - w) * stats.norm.cdf(mm / sd)

    f = lambda y: (q(y)**2 + (1 - q(y))**2) * stats.norm.pdf(y, a * M, math.sqrt(V))    # noqa: E731
    return integrate.quad(f, a * M - 14 * math.sqrt(V), a * M + 14 * math.sqrt(V), points=[0.0], limit=200)[0]


@pytest.mark.parametrize("tc", [0.2, 0.6, 1.5])
def test_clone_agreement_against_quadrature_and_trajectories(tc):
    params = MODEL.resolve({"data": "mixture", "t_clone": tc, "dim": 3, "mu": 0.6, "sigma0": 0.7})
    theory = replica.solve(MODEL, params).observables["clone_agreement"]
    assert theory == pytest.approx(_clone_agreement_by_quadrature(0.6, 0.7, 3, tc), rel=1e-8)
    n = 100_000
    for steps in (1, 10):      # the exact reverse kernel: the endpoint's law does not depend on the steps
        f = sim.clone_trial(params, n, np.random.default_rng(11 + steps), steps=steps)
        assert abs(f - theory) < 4 * math.sqrt(theory * (1 - theory) / n)


def test_speciation_time_collapses_the_clone_curves():
    # the crossover from 1 (committed) to 1/2 (undecided) sits at t_S = (1/2) ln(sigma0^2 + d mu^2)
    # for every dimension: phi(t_S + delta) is the same function of delta as d grows
    rows = []
    for d in (1000, 10000):
        ts = solve(data="mixture", dim=d, sigma0=1.0)["speciation_time"]
        assert ts == pytest.approx(0.5 * math.log(1 + d), rel=1e-14)
        rows.append([solve(data="mixture", dim=d, sigma0=1.0, t_clone=ts + delta)["clone_agreement"]
                     for delta in (-1.0, 0.0, 1.0)])
    assert np.allclose(rows[0], rows[1], atol=1e-3)
    assert rows[1][0] > 0.99 and 0.6 < rows[1][1] < 0.9 and rows[1][2] < 0.6


# -- the contract on the instance (the model is not registered here) ------------------------------
@pytest.mark.parametrize("given", [{}, {"data": "mixture", "sampler": "ddpm"}])
def test_contract_outputs_agree_between_backends(given):
    params = MODEL.resolve(given)
    model = MODEL.variant(params)
    d = model.derivation(params)
    vals = [params[p.name] for p in model.real_parameters]
    assert [float(v) for v in d.numpy_outputs(*vals)] == [float(v) for v in d.mpmath_outputs(*vals)]
    names, fn = d.mpmath_limits
    with mpmath.workdps(30):
        out = dict(zip(names, fn(*[mpmath.mpf(v) for v in vals])))
    res = replica.solve(MODEL, params).observables
    for k in names:
        assert float(out[k]) == pytest.approx(res[k], rel=1e-12)


@pytest.mark.latex
@pytest.mark.parametrize("given", [{}, {"data": "mixture", "sampler": "flow"}])
def test_latex_export_compiles(given, tmp_path, pdflatex):
    params = MODEL.resolve(given)
    model = MODEL.variant(params)
    tex = tmp_path / "diffusion.tex"
    tex.write_text(standalone_document(derivation_latex(model, params), "diffusion"))
    proc = subprocess.run([pdflatex, "-interaction=nonstopmode", "-halt-on-error", tex.name], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout[-3000:]


def test_compare_ddim_agrees_and_is_reproducible():
    params = MODEL.resolve({"sampler": "ddim", "steps": 20})
    c = replica.compare(MODEL, params, [1000, 2000, 4000], trials=10, seed=1)
    assert c.agrees, str(c)
    a = replica.simulate(MODEL, params, 500, 3, seed=7)["variance"]
    b = replica.simulate(MODEL, params, 500, 3, seed=7)["variance"]
    assert (a.mean, a.stderr) == (b.mean, b.stderr)
