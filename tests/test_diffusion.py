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
    with pytest.raises(ParameterError, match="sampler.*ddim, ddpm, flow, flow-midpoint"):
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
@pytest.mark.parametrize("sampler", ["ddim", "ddpm", "flow", "flow-midpoint"])
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


@pytest.mark.parametrize("sampler,init", [("ddim", "marginal"), ("ddpm", "noise"), ("flow", "marginal"),
                                          ("flow-midpoint", "marginal")])
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


def _midpoint_by_hand(mu, s0, sq, n):
    """Generated (mean, variance) of flow-midpoint on N(mu, s0^2) data, by hand: the linear flow's velocity
    is v(x, t) = p(t) x + q(t) with V = (1-t)^2 s0^2 + t^2 sq^2, p = ((1-t) s0^2/V - 1)/t,
    q = mu (1 - (1-t)^2 s0^2/V)/t (from D(x) = mu + (1-t) s0^2 (x - (1-t) mu)/V); the midpoint step
    x_m = x + (h/2) v(x, t), x' = x + h v(x_m, t - h/2) is x' = G x + c with G = 1 + h p_m (1 + (h/2) p),
    c = h p_m (h/2) q + h q_m; start N(0, sq^2); steps t = k/N, k = N..1, h = 1/N (v points from the noise
    to the data: t decreases)."""
    def pq(t):
        V = (1 - t)**2 * s0**2 + t * t * sq**2
        return ((1 - t) * s0**2 / V - 1) / t, mu * (1 - (1 - t)**2 * s0**2 / V) / t

    m, v, h = 0.0, sq * sq, 1.0 / n
    for k in range(n, 0, -1):
        (p, q), (pm, qm) = pq(k / n), pq(k / n - h / 2)
        G = 1 + h * pm * (1 + h / 2 * p)
        m, v = G * m + h * pm * (h / 2) * q + h * qm, G * G * v
    return m, v


@pytest.mark.parametrize("mu,s0,sq,n", [(1.0, 0.5, 2.0, 1), (0.6, 0.5, 2.0, 6), (-0.3, 1.7, 0.4, 13)])
def test_flow_midpoint_moments_equal_the_hand_recursion(mu, s0, sq, n):
    m, v = dm.gaussian_moments("flow-midpoint", "marginal", mu, s0, sq, n)
    hm, hv = _midpoint_by_hand(mu, s0, sq, n)
    assert m == pytest.approx(hm, rel=1e-12, abs=1e-14) and v == pytest.approx(hv, rel=1e-12)
    # ... and differs from Euler's (a test that would pass for a mislabelled Euler step proves nothing)
    assert abs(v - dm.gaussian_moments("flow", "marginal", mu, s0, sq, n)[1]) > 1e-3 * v


def test_flow_midpoint_is_higher_order_than_euler_on_gaussian_data():
    # midpoint is a second-order method; on Gaussian data its endpoint error is measured one order
    # better still, W2 ~ N^-3 (the N^-2 term of the global error vanishes for this linear velocity
    # field; the hand recursion above shows the same), while Euler's is N^-1 over the same N
    ns = np.array([8, 16, 32, 64, 128, 256])
    e_mid = np.array([_w2("flow-midpoint", n) for n in ns])
    e_euler = np.array([_w2("flow", n) for n in ns])
    slope_mid = np.polyfit(np.log(ns), np.log(e_mid), 1)[0]
    slope_euler = np.polyfit(np.log(ns), np.log(e_euler), 1)[0]
    assert slope_mid == pytest.approx(-3.0, abs=0.05)            # measured -2.98
    assert slope_euler == pytest.approx(-1.0, abs=0.05)          # measured -0.97
    assert np.all(e_mid < e_euler / 50)
    # the reported local order is log2(W2(N)/W2(2N))
    obs = solve(sampler="flow-midpoint", steps=64, dim=1)
    assert obs["error_order"] == pytest.approx(math.log2(_w2("flow-midpoint", 64) / _w2("flow-midpoint", 128)),
                                               rel=1e-9)
    assert obs["error_order"] == pytest.approx(3.0, abs=0.02)


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


@pytest.mark.parametrize("sampler", ["ddim", "ddpm", "flow", "flow-midpoint"])
def test_mixture_theory_against_monte_carlo(sampler):
    params = MODEL.resolve({"data": "mixture", "sampler": sampler, "steps": 8, "dim": 2})
    theory = replica.solve(MODEL, params).observables["abs_projection"]
    x = sim.run_sampler(params, sim.start_samples(params, 200_000, np.random.default_rng(3)),
                        np.random.default_rng(4))
    y = np.abs(x.sum(axis=1)) / math.sqrt(2)
    assert abs(y.mean() - theory) < 4 * y.std() / math.sqrt(y.size)


def test_mixture_flow_midpoint_is_second_order():
    # the mixture's velocity is nonlinear: the midpoint's error has its generic order 2 (Euler's 1)
    data = solve(data="mixture", dim=1, sampler="flow-midpoint")["abs_projection_data"]
    ns = np.array([16, 32, 64, 128, 256])
    e = np.array([abs(dm.mixture_abs_projection("flow-midpoint", "marginal", 1.0, 0.5, 2.0, 1, n) - data)
                  for n in ns])
    slope = np.polyfit(np.log(ns), np.log(e), 1)[0]
    assert slope == pytest.approx(-2.0, abs=0.05)                 # measured -2.00
    e_euler = abs(dm.mixture_abs_projection("flow", "marginal", 1.0, 0.5, 2.0, 1, 256) - data)
    assert e[-1] < e_euler / 100


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
@pytest.mark.parametrize("given", [{}, {"data": "mixture", "sampler": "ddpm"}, {"sampler": "flow-midpoint"},
                                   {"data": "mixture", "sampler": "flow-midpoint"}])
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
@pytest.mark.parametrize("given", [{}, {"data": "mixture", "sampler": "flow"}, {"sampler": "flow-midpoint"},
                                   {"data": "mixture", "sampler": "flow-midpoint"}])
def test_latex_export_compiles(given, tmp_path, pdflatex):
    params = MODEL.resolve(given)
    model = MODEL.variant(params)
    body = derivation_latex(model, params)
    # the exported derivation shows the exact denoiser and score, and the velocity for flow matching
    assert r"\mathbb{E}[x_0 \mid x_t = x] = " in body and r"\nabla \ln p_t(x) = " in body
    assert (r"v_t(x) = " in body) == (params["sampler"] in dm.FLOW_SAMPLERS)
    if params["sampler"] == "flow-midpoint":
        assert "x_m = " in body and "second order" in body
    tex = tmp_path / "diffusion.tex"
    tex.write_text(standalone_document(body, "diffusion"))
    proc = subprocess.run([pdflatex, "-interaction=nonstopmode", "-halt-on-error", tex.name], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout[-3000:]


def test_compare_ddpm_agrees_and_detects_a_wrong_step_count():
    params = MODEL.resolve({"sampler": "ddpm", "steps": 4})
    c = replica.compare(MODEL, params, [1000, 2000, 4000], trials=10, seed=4)
    assert c.agrees, str(c)
    # the theory of twice the steps is outside the simulation's error: the compare would fail
    o = c.observables["variance"]
    eight = solve(sampler="ddpm", steps=8)["variance"]
    assert abs(o.extrapolated - eight) > 4 * o.extrapolated_stderr


def test_compare_flow_midpoint_agrees_and_differs_from_euler():
    params = MODEL.resolve({"sampler": "flow-midpoint", "steps": 2, "sigma0": 0.3})
    c = replica.compare(MODEL, params, [1000, 2000, 4000], trials=10, seed=5)
    assert c.agrees, str(c)
    # Euler's theory with the same steps is outside the simulation's error
    o = c.observables["variance"]
    euler = solve(sampler="flow", steps=2, sigma0=0.3)["variance"]
    assert abs(o.extrapolated - euler) > 4 * o.extrapolated_stderr


def test_compare_ddim_agrees_and_is_reproducible():
    params = MODEL.resolve({"sampler": "ddim", "steps": 20})
    c = replica.compare(MODEL, params, [1000, 2000, 4000], trials=10, seed=1)
    assert c.agrees, str(c)
    a = replica.simulate(MODEL, params, 500, 3, seed=7)["variance"]
    b = replica.simulate(MODEL, params, 500, 3, seed=7)["variance"]
    assert (a.mean, a.stderr) == (b.mean, b.stderr)


# -- general data: N(m, Sigma) and sum_a w_a N(m_a, Sigma_a) -------------------------------------
COV = "2,0.5;0.5,1"
MIX3 = {"data": "mixture", "weights": "0.2,0.5,0.3", "means": "1,0;-1,1;0,-1.5",
        "covariances": "0.1;0.2,0.05;0.3,0.1,0.1,0.2"}


@pytest.mark.parametrize("given,name,fragment", [
    ({"covariance": "1,2;2,1"}, "covariance", "smallest eigenvalue -1"),
    ({"covariance": "1,0.5;0.4,1"}, "covariance", "not symmetric"),
    ({"covariance": "1,0;0,1;1,1"}, "covariance", "set dim=3"),
    ({"mean": "1,2,3"}, "mean", "does not match dim=2"),
    ({"data": "mixture", "weights": "0.3,0.6"}, "weights", "does not sum to one (sum 0.9)"),
    ({"data": "mixture", "weights": "1.2,-0.2"}, "weights", "weight <= 0"),
    ({"data": "mixture", "weights": "0.5,0.5", "means": "1,0;0,1;1,1"}, "weights", "number of components"),
    ({"data": "mixture", "weights": "0.2,0.3,0.5"}, "means", "set means"),
    ({"data": "mixture", "covariances": "1,2,3;1"}, "covariances", "row 1 has 3 numbers"),
    ({"data": "mixture", "covariances": "1,0,0,-1;1"}, "covariances", "component 1"),
    ({"data": "mixture", "mean": "1,1"}, "mean", "is for data=gaussian"),
    ({"covariance": "1,0;0,x"}, "covariance", "not a decimal number"),
])
def test_bad_general_data_is_a_one_line_error_naming_the_parameter(given, name, fragment):
    with pytest.raises(ParameterError) as exc:
        MODEL.resolve(given)
    msg = str(exc.value)
    assert repr(name) in msg and fragment in msg and "\n" not in msg, msg


def _matrix_moments(params):
    """Generated mean vector and covariance matrix, independently of the eigenbasis: the hand-written
    simulator step is affine for Gaussian data; read off x' = G x + h + c xi by evaluating it at the
    origin and the unit vectors (noise switched off by a zero-variance generator), then propagate
    m' = G m + h, C' = G C G^T + c^2 I."""
    d, n, sq = params["dim"], params["steps"], params["sigma_q"]
    comps = sim.components(params)
    w, mvec, S = comps
    if params["sampler"] in ("flow", "flow-midpoint") or params["init"] == "noise":
        m, C = np.zeros(d), sq * sq * np.eye(d)
    else:
        m, C = mvec[0].copy(), S[0] + sq * sq * np.eye(d)
    basis = np.vstack([np.zeros(d), np.eye(d)])
    v = lambda y, t: (sim.general_denoiser(comps, y, t, "fm", sq) - y) / t                   # noqa: E731
    for k in range(n, 0, -1):
        t, dt = k / n, 1 / n
        if params["sampler"] == "flow":
            f, c = basis + dt * v(basis, t), 0.0
        elif params["sampler"] == "flow-midpoint":
            f, c = basis + dt * v(basis + dt / 2 * v(basis, t), t - dt / 2), 0.0
        else:
            Dv = sim.general_denoiser(comps, basis, t, "ve", sq)
            mean = (dt / t) * Dv + (1 - dt / t) * basis
            if params["sampler"] == "ddpm":
                f, c = mean, sq * math.sqrt(dt)
            else:
                lam = math.sqrt(t) / (math.sqrt(t - dt) + math.sqrt(t))
                f, c = basis + lam * (mean - basis), 0.0
        h = f[0]
        G = (f[1:] - h).T
        m, C = G @ m + h, G @ C @ G.T + c * c * np.eye(d)
    return m, C


@pytest.mark.parametrize("sampler,init", [("ddim", "marginal"), ("ddpm", "noise"), ("flow", "marginal"),
                                          ("ddpm", "marginal"), ("flow-midpoint", "marginal")])
def test_general_gaussian_against_matrix_propagation(sampler, init):
    from scipy.linalg import sqrtm
    given = {"sampler": sampler, "init": init, "steps": 7, "dim": 3, "sigma_q": 1.5,
             "mean": "0.4,-1,2", "covariance": "2,0.5,0.1;0.5,1,-0.3;0.1,-0.3,0.7"}
    params = MODEL.resolve(given)
    obs = replica.solve(MODEL, params).observables
    m, C = _matrix_moments(params)
    mu = np.array([0.4, -1, 2])
    Sig = np.array([[2, 0.5, 0.1], [0.5, 1, -0.3], [0.1, -0.3, 0.7]])
    assert obs["mean"] == pytest.approx(m.mean(), rel=1e-12, abs=1e-13)
    assert obs["variance"] == pytest.approx(np.trace(C) / 3, rel=1e-12)
    Si = np.linalg.inv(Sig)
    kl = 0.5 * (np.trace(Si @ C) + (m - mu) @ Si @ (m - mu) - 3 + math.log(np.linalg.det(Sig) / np.linalg.det(C)))
    assert obs["kl"] == pytest.approx(kl, rel=1e-10)
    assert obs["mahalanobis"] == pytest.approx((np.trace(Si @ C) + (m - mu) @ Si @ (m - mu)) / 3, rel=1e-11)
    # W2 between Gaussians, the general (Bures) formula: the generated covariance commutes with Sigma
    rs = sqrtm(Sig)
    w2sq = np.sum((m - mu)**2) + np.trace(C + Sig - 2 * np.real(sqrtm(rs @ C @ rs)))
    assert obs["w2"] == pytest.approx(math.sqrt(w2sq), rel=1e-7)
    assert np.max(np.abs(C @ Sig - Sig @ C)) < 1e-12


def test_general_gaussian_defaults_and_one_step_reference():
    # unset arrays give the isotropic path's numbers: mean = mu 1, covariance = sigma0^2 I
    iso = solve(sampler="ddpm", steps=5, mu=0.3, sigma0=0.7)
    for given in ({"mean": "0.3,0.3"}, {"covariance": "0.49,0;0,0.49", "mu": 0.3}):
        gen = solve(sampler="ddpm", steps=5, sigma0=0.7, **given)
        for k in ("mean", "variance", "kl", "w2", "mahalanobis"):
            assert gen[k] == pytest.approx(iso[k], rel=1e-12), k
    # one DDIM step from the exact marginal is E[x0 | x1]: covariance Sigma (Sigma + sq^2)^-1 Sigma
    S = np.array([[2, 0.5], [0.5, 1]])
    one = S @ np.linalg.inv(S + 4 * np.eye(2)) @ S
    assert solve(sampler="ddim", steps=1, covariance=COV)["variance"] == pytest.approx(np.trace(one) / 2, rel=1e-13)


def test_general_gaussian_monte_carlo_and_order():
    params = MODEL.resolve({"sampler": "ddpm", "steps": 6, "covariance": COV, "mean": "0.5,-0.5"})
    obs = replica.solve(MODEL, params).observables
    n = 200_000
    x = sim.run_sampler(params, sim.start_samples(params, n, np.random.default_rng(8)), np.random.default_rng(9))
    est = sim.sample_trial(params, 2, np.random.default_rng(1))      # the trial's statistics, on 2 points
    assert set(est) == set(MODEL.simulated_for(params))
    assert abs(np.mean(x) - obs["mean"]) < 4 * np.std(x.mean(axis=1)) / math.sqrt(n)
    r = x - np.array([0.5, -0.5])
    q = np.sum(r * np.linalg.solve(np.array([[2, 0.5], [0.5, 1]]), r.T).T, axis=1) / 2
    assert abs(q.mean() - obs["mahalanobis"]) < 4 * q.std() / math.sqrt(n)
    # first order in 1/N, as in one dimension (each eigen-coordinate is the 1D recursion)
    e = [solve(sampler="flow", steps=s, covariance=COV)["w2"] for s in (400, 800, 1600)]
    assert math.log2(e[0] / e[1]) == pytest.approx(1.0, abs=0.03)


@pytest.mark.parametrize("process", ["ve", "fm"])
def test_general_mixture_derived_denoiser_matches_the_simulator(process):
    params = MODEL.resolve(MIX3)
    spec = dm.data_spec(params)
    den, kern = dm.general_numeric(spec, process)
    comps = sim.components(params)
    x = np.random.default_rng(2).normal(0, 1.5, (50, 2))
    for t in (0.95, 0.4, 0.05):
        assert np.allclose(den(x, t, 1.0, 0.5, 2.0), sim.general_denoiser(comps, x, t, process, 2.0),
                           rtol=1e-11, atol=1e-12)
    assert np.allclose(kern(x, 1.0, 0.5, 0.8), sim.kernel_embedding(comps, x, 0.8), rtol=1e-12)
    # Tweedie for the derived score: beta^2 grad ln p_t = alpha D - x
    g = dm.general_derivation(spec, process)
    alpha, beta = dm.forward(process)
    args = list(g["xs"]) + [T, MU, S0, SQ]
    f = sympy.lambdify(args, list(beta**2 * g["score"] - (alpha * g["denoiser"] - sympy.Matrix(g["xs"]))))
    for xv, t in (((0.3, -0.2), 0.3), ((1.7, 0.8), 0.8), ((-1.0, -1.0), 0.1)):
        assert max(abs(v) for v in f(*xv, t, 1.0, 0.5, 2.0)) < 1e-10
    # the velocity's Euler step is the linear step with the derived denoiser
    if process == "fm":
        a, b, c = dm.linear_step("flow")
        upd = dm.step_update("flow", "gaussian")
        D1 = dm.derive("fm", "gaussian")["denoiser"].subs(T, dm.TK)
        diff = sympy.lambdify([X, dm.K, dm.NS, MU, S0, SQ], upd - (a * X + b * D1))
        assert abs(diff(0.7, 3, 10, 0.4, 0.6, 1.3)) < 1e-13
        # the midpoint's two linear stages with the derived denoiser are its composed update
        D = dm.derive("fm", "gaussian")["denoiser"]
        (t1, a1, e1, b1), (t2, a2, e2, b2) = dm.linear_stages("flow-midpoint")
        assert (t1, e1, t2) == (0, 0, sympy.Rational(1, 2))
        xm = a1 * X + b1 * D.subs(T, dm.TK)
        staged = a2 * X + e2 * xm + b2 * D.subs(T, dm.TK - t2 / dm.NS).xreplace({X: xm})
        diff = sympy.lambdify([X, dm.K, dm.NS, MU, S0, SQ], dm.step_update("flow-midpoint", "gaussian") - staged)
        for k in (1, 3, 10):
            assert abs(diff(0.7, k, 10, 0.4, 0.6, 1.3)) < 1e-13


def test_general_mixture_data_moments_against_sampling():
    params = MODEL.resolve(dict(MIX3, kernel_width=0.8))
    obs = replica.solve(MODEL, params).observables
    comps = sim.components(params)
    w, m, S = comps
    mbar = w @ m
    second = sum(w[a] * (np.trace(S[a]) + m[a] @ m[a]) for a in range(3))
    assert obs["mean_data"] == pytest.approx(mbar.mean(), rel=1e-14)
    assert obs["variance_data"] == pytest.approx((second - mbar @ mbar) / 2, rel=1e-14)
    y = sim.data_samples(comps, 200_000, np.random.default_rng(4))
    k = sim.kernel_embedding(comps, y, 0.8)
    assert abs(k.mean() - obs["kernel_mean_data"]) < 4 * k.std() / math.sqrt(k.size)


@pytest.mark.parametrize("given", [dict(MIX3, sampler="flow", steps=12), dict(MIX3, sampler="flow-midpoint", steps=6),
                                   {"data": "mixture", "weights": "0.3,0.7", "sampler": "ddim", "steps": 8},
                                   {"data": "mixture", "weights": "0.3,0.7", "means": "1;-1", "covariances": "0.1;0.3",
                                    "dim": 1, "sampler": "ddpm", "steps": 8}])
def test_general_mixture_theory_against_monte_carlo(given):
    params = MODEL.resolve(given)
    obs = replica.solve(MODEL, params).observables
    n = 100_000
    x = sim.run_sampler(params, sim.start_samples(params, n, np.random.default_rng(3)), np.random.default_rng(4))
    k = sim.kernel_embedding(sim.components(params), x, 1.0)
    s = x.mean(axis=1)
    # quadrature error <= 1e-4 (measured: 3e-5 when the panels double, three narrow components)
    assert abs(s.mean() - obs["mean"]) < 4 * s.std() / math.sqrt(n) + 1e-4
    assert abs(k.mean() - obs["kernel_mean"]) < 4 * k.std() / math.sqrt(n) + 1e-4
    v = np.mean(np.var(x, axis=0, ddof=1))
    assert abs(v - obs["variance"]) < 4 * math.sqrt(np.mean(np.var((x - x.mean(0))**2, axis=0)) / n) + 1e-4


def test_general_mixture_quadrature_is_converged():
    params = MODEL.resolve(dict(MIX3, sampler="ddim", steps=10))
    spec = dm.data_spec(params)
    a = dm.general_statistics(spec, "ddim", "marginal", 1.0, 0.5, 2.0, 1.0, 10)
    b = dm.general_statistics(spec, "ddim", "marginal", 1.0, 0.5, 2.0, 1.0, 10, panels=64)
    for k in a:
        assert a[k] == pytest.approx(b[k], abs=1e-4)


def test_general_mixture_discretisation_error_is_first_order():
    base = {"data": "mixture", "weights": "0.3,0.7", "means": "1;-1", "covariances": "0.1;0.3", "dim": 1,
            "sampler": "flow"}
    data = solve(**base)["kernel_mean_data"]
    e = [abs(solve(**base, steps=s)["kernel_mean"] - data) for s in (40, 80, 160)]
    assert e[0] > e[1] > e[2]
    assert math.log2(e[1] / e[2]) == pytest.approx(1.0, abs=0.1)


def test_general_mixture_flow_midpoint_is_second_order():
    base = {"data": "mixture", "weights": "0.3,0.7", "means": "1;-1", "covariances": "0.1;0.3", "dim": 1,
            "sampler": "flow-midpoint"}
    data = solve(**base)["kernel_mean_data"]
    ns = np.array([10, 20, 40, 80, 160])
    e = np.array([abs(solve(**base, steps=s)["kernel_mean"] - data) for s in ns])
    slope = np.polyfit(np.log(ns), np.log(e), 1)[0]
    assert slope == pytest.approx(-2.0, abs=0.05)                 # measured -1.99


def test_compare_general_mixture_agrees_and_detects_a_coarse_sampler():
    params = MODEL.resolve(dict(MIX3, sampler="ddim", steps=3))
    c = replica.compare(MODEL, params, [1000, 2000, 4000], trials=10, seed=2)
    assert c.agrees, str(c)
    # the N -> oo value (the data) is far from what 3 steps generate: the compare would fail
    # if the theory were the data's kernel mean instead of the 3-step sampler's
    o = c.observables["kernel_mean"]
    data = replica.solve(MODEL, params).observables["kernel_mean_data"]
    assert abs(o.extrapolated - data) > 6 * o.extrapolated_stderr
    # ... and so would the theory of a sampler with twice the steps (a wrong step count)
    six = replica.solve(MODEL, MODEL.resolve(dict(MIX3, sampler="ddim", steps=6))).observables["kernel_mean"]
    assert abs(o.extrapolated - six) > 4 * o.extrapolated_stderr


def test_compare_general_gaussian_agrees():
    params = MODEL.resolve({"sampler": "flow", "steps": 10, "covariance": COV, "mean": "1,-1"})
    c = replica.compare(MODEL, params, [1000, 2000, 4000], trials=10, seed=3)
    assert c.agrees, str(c)
    assert set(c.observables) == {"mean", "variance", "mahalanobis"}


@pytest.mark.latex
@pytest.mark.parametrize("given", [{"covariance": COV, "sampler": "ddpm"}, dict(MIX3, sampler="flow"),
                                   {"covariance": COV, "sampler": "flow-midpoint"},
                                   dict(MIX3, sampler="flow-midpoint")])
def test_general_latex_export_compiles(given, tmp_path, pdflatex):
    params = MODEL.resolve(given)
    model = MODEL.variant(params)
    body = derivation_latex(model, params)
    assert r"\mathbb{E}[x_0 \mid x_t = x] = " in body and r"\nabla \ln p_t(x) = " in body
    assert (r"v_t(x) = " in body) == (params["sampler"] in dm.FLOW_SAMPLERS)
    if params["sampler"] == "flow-midpoint":
        assert "x_m = " in body and "second order" in body
    tex = tmp_path / "diffusion.tex"
    tex.write_text(standalone_document(body, "diffusion"))
    proc = subprocess.run([pdflatex, "-interaction=nonstopmode", "-halt-on-error", tex.name], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout[-3000:]


def test_general_mixture_theory_limits_are_one_line_errors():
    from replica.errors import ReplicaError
    with pytest.raises(ReplicaError, match="dim <= 2"):
        solve(data="mixture", weights="0.5,0.5", dim=3)
    with pytest.raises(ReplicaError, match="dim = 1"):
        solve(data="mixture", weights="0.5,0.5", sampler="ddpm")
