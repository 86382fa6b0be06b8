"""M-estimation (Advani & Ganguli 2016) against independent results.

References computed here without the package's derivation:

* least squares, X_{mu i} ~ N(0, 1/P): E |s_hat - s0|^2/P = sigma^2 tr (X^T X)^-1 / P
  -> sigma^2/(alpha - 1); training residual sigma^2 (1 - 1/alpha) per measurement (Gauss-Markov);
* ridge: mse = int dmu(a) [lam^2 v/(a + lam)^2 + sigma^2 a/(a + lam)^2] over the spectral law of
  X^T X = alpha C, C Marchenko-Pastur with ratio 1/alpha (Dobriban & Wager, Ann. Statist. 46, 247
  (2018), sec. 2; the integral written out and done with scipy quad);
* Huber regression without regularizer: El Karoui et al., PNAS 110, 14557 (2013), eq. (4):
  E[prox_c'(w)] = 1 - 1/alpha and q/alpha = E[(w - prox_c(w))^2], w = eps + sqrt(q) z, with the
  Huber prox written by hand;
* least absolute deviations under Laplace noise and Huber + ridge under Student-t noise (nested averages):
  the saddle point written by hand with truncated-Gaussian moments and a panel quadrature over the noise
  (checked against scipy quad), solved by brentq/fsolve;
* least squares / ridge under non-Gaussian noise or prior: only the variance matters (checks the
  inverse-CDF transforms of Laplace, logistic and Student-t laws);
* the contract battery of tests/test_contract.py, run on this (not yet registered) model through a
  monkeypatched registry; simulations (ridge; LAD under Laplace noise; Huber + ridge under Student-t
  noise) extrapolated in 1/P, with error bars of a few per cent asserted;
* noiseless LASSO: the Donoho-Tanner / Donoho-Maleki-Montanari phase transition
  rho(delta) = max_z [1 - (2/delta) k(z)] / [1 + z^2 - 2 k(z)], k = (1 + z^2) Phi(-z) - z phi(z)
  (Donoho, Maleki & Montanari, PNAS 106, 18914 (2009), eq. (2.3)).
"""
import math

import mpmath
import numpy as np
import pytest
import sympy
from scipy import integrate, optimize, stats

import test_contract as contract   # tests/ is on sys.path under pytest
from replica import proximal
from replica.errors import ParameterError
from replica.models.m_estimation import MEstimation, StudentTQuantile
from replica.numeric import compile_numpy
from replica.simulation import compare, trial_rng
from replica.simulators import m_estimation as sim
from replica.solver import solve

MODEL = MEstimation()

# interior points (params, [q, V, qhat, Vhat]); the first three are single Gaussian averages
POINTS = [({"alpha": 2.0, "loss": "huber", "regularizer": "l2", "huber_delta": 0.8}, [0.3, 0.5, 0.5, 1.3]),
          ({"alpha": 0.6, "loss": "square", "regularizer": "l1", "prior": "bernoulli-gauss", "sparsity": 0.2,
            "lambda": 0.3}, [0.1, 1.5, 0.05, 0.4]),
          ({"alpha": 3.0, "loss": "logcosh", "regularizer": "elastic-net"}, [0.2, 0.4, 0.3, 2.0])]
NESTED = [({"alpha": 2.0, "loss": "absolute", "regularizer": "zero", "noise": "laplace"}, [0.5, 0.6, 1.2, 1.5]),
          ({"alpha": 1.5, "loss": "quantile", "regularizer": "l2", "noise": "student-t", "prior": "laplace",
            "quantile_tau": 0.3}, [0.4, 0.7, 0.6, 1.1])]


def _resolved(params):
    p = MODEL.resolve(params)
    return p, MODEL.derivation(p)


def _values(p, x):
    return list(x) + [p[q.name] for q in MODEL.real_parameters]


def test_stationarity_is_the_proximal_fixed_point_written_by_hand():
    """At the solution: Vhat = alpha E[1 - p'] / V, qhat = alpha E[(x - p)^2]/V^2 (Huber loss),
    V = 1/(Vhat + lam), q = (c - 1)^2 v + c^2 qhat/Vhat^2 with c = Vhat/(Vhat + lam) (l2, Gaussian prior)."""
    params = {"alpha": 2.0, "loss": "huber", "regularizer": "l2", "huber_delta": 0.8, "lambda": 0.3,
              "noise_scale": 0.7, "prior_scale": 1.2}
    r = solve(MODEL, MODEL.resolve(params))
    q, V, qh, Vh = (r.order_parameters[k] for k in ("q", "V", "qhat", "Vhat"))
    a, d, lam, s, v = 2.0, 0.8, 0.3, 0.7, 1.2**2
    w = math.sqrt(s * s + q)
    c_edge = d * (1 + V)

    def avg(f):
        return integrate.quad(lambda z: f(w * z) * stats.norm.pdf(z), -12, 12, points=[-c_edge / w, c_edge / w],
                              epsabs=1e-14, epsrel=1e-13, limit=200)[0]

    def prox(x):
        return x / (1 + V) if abs(x) <= c_edge else x - V * d * math.copysign(1, x)

    dprox = lambda x: 1 / (1 + V) if abs(x) <= c_edge else 1.0      # noqa: E731
    assert Vh == pytest.approx(a * avg(lambda x: 1 - dprox(x)) / V, rel=1e-10)
    assert qh == pytest.approx(a * avg(lambda x: (x - prox(x))**2) / V**2, rel=1e-10)
    assert V == pytest.approx(1 / (Vh + lam), rel=1e-12)
    c = Vh / (Vh + lam)
    assert q == pytest.approx((c - 1)**2 * v + c * c * qh / Vh**2, rel=1e-12)
    # training error: the mean Huber loss at the proximal residuals
    huber = lambda u: u * u / 2 if abs(u) <= d else d * abs(u) - d * d / 2     # noqa: E731
    assert r.observables["training_error"] == pytest.approx(avg(lambda x: huber(prox(x))), rel=1e-10)


# ---------------------------------------------------------------------------
# closed forms and literature values
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("alpha,sigma", [(2.0, 1.0), (1.5, 0.3), (5.0, 2.0)])
def test_least_squares(alpha, sigma):
    r = solve(MODEL, MODEL.resolve({"alpha": alpha, "loss": "square", "regularizer": "zero",
                                    "noise_scale": sigma}))
    assert r.observables["mse"] == pytest.approx(sigma**2 / (alpha - 1), rel=1e-12)
    assert r.observables["training_error"] == pytest.approx(sigma**2 * (1 - 1 / alpha) / 2, rel=1e-12)


def ridge_mse(alpha, lam, sigma, v):
    gamma = 1 / alpha
    lo, hi = (1 - math.sqrt(gamma))**2, (1 + math.sqrt(gamma))**2

    def term(a):
        return (lam * lam * v + sigma * sigma * a) / (a + lam)**2

    dens = lambda x: math.sqrt((hi - x) * (x - lo)) / (2 * math.pi * gamma * x)    # noqa: E731
    bulk = integrate.quad(lambda x: dens(x) * term(alpha * x), lo, hi, epsabs=1e-14, epsrel=1e-13, limit=200)[0]
    atom = max(0.0, 1 - alpha) * term(0.0)        # X^T X has rank N < P when alpha < 1
    return bulk + atom


@pytest.mark.parametrize("alpha,lam,sigma,v", [(2.0, 0.5, 0.5, 1.0), (0.5, 0.1, 0.3, 2.0), (1.0, 1.0, 1.0, 1.0)])
def test_ridge_equals_the_marchenko_pastur_formula(alpha, lam, sigma, v):
    r = solve(MODEL, MODEL.resolve({"alpha": alpha, "loss": "square", "regularizer": "l2", "lambda": lam,
                                    "noise_scale": sigma, "prior_scale": math.sqrt(v)}))
    assert r.observables["mse"] == pytest.approx(ridge_mse(alpha, lam, sigma, v), rel=1e-9)


def test_huber_regression_solves_el_karoui_equations():
    alpha, d, s = 3.0, 1.0, 1.0
    r = solve(MODEL, MODEL.resolve({"alpha": alpha, "loss": "huber", "regularizer": "zero", "huber_delta": d,
                                    "noise_scale": s}))
    q, c = r.observables["mse"], r.observables["V"]
    w = math.sqrt(s * s + q)
    edge = d * (1 + c)
    avg = lambda f: integrate.quad(lambda z: f(w * z) * stats.norm.pdf(z), -12, 12,      # noqa: E731
                                   points=[-edge / w, edge / w], epsabs=1e-14, limit=200)[0]
    prox = lambda x: x / (1 + c) if abs(x) <= edge else x - c * d * math.copysign(1, x)     # noqa: E731
    assert avg(lambda x: 1 / (1 + c) if abs(x) <= edge else 1.0) == pytest.approx(1 - 1 / alpha, rel=1e-11)
    assert q / alpha == pytest.approx(avg(lambda x: (x - prox(x))**2), rel=1e-10)
    # Huber is more efficient than least squares under Gaussian noise only up to a small loss
    assert s * s / (alpha - 1) < q < 1.2 * s * s / (alpha - 1)


def donoho_tanner(delta):
    def ratio(z):
        k = (1 + z * z) * stats.norm.cdf(-z) - z * stats.norm.pdf(z)
        return (1 - 2 / delta * k) / (1 + z * z - 2 * k)
    res = optimize.minimize_scalar(lambda z: -ratio(z), bounds=(1e-3, 10), method="bounded",
                                   options={"xatol": 1e-10})
    return -res.fun


def test_noiseless_lasso_phase_transition_is_donoho_tanner():
    """Noiseless LASSO with lambda -> 0 (basis pursuit): below rho_DT(delta) the error vanishes like
    lambda^2 and V stays finite; above it the error stays finite and V diverges like 1/lambda."""
    delta = 0.5
    rc = donoho_tanner(delta)
    assert rc == pytest.approx(0.3848, abs=2e-3)       # Donoho & Tanner 2009, Fig. 1 (weak threshold)
    for factor, below in ((0.8, True), (1.2, False)):
        out = []
        for lam in (1e-2, 5e-3):
            r = solve(MODEL, MODEL.resolve({"alpha": delta, "loss": "square", "regularizer": "l1",
                                            "noise_scale": 0.0, "prior": "bernoulli-gauss",
                                            "sparsity": factor * rc * delta, "lambda": lam}))
            out.append((r.observables["mse"], r.observables["V"]))
        ratio_mse, ratio_V = out[1][0] / out[0][0], out[1][1] / out[0][1]
        if below:
            assert ratio_mse < 0.35 and ratio_V < 1.2
        else:
            assert ratio_mse > 0.8 and ratio_V > 1.7


def test_student_t_quantile_is_the_inverse_cdf():
    z = sympy.Symbol("z")
    f = compile_numpy(StudentTQuantile(z, 3), [z])
    for zz in (-4.0, -0.3, 0.0, 1.2, 6.0):
        assert stats.t.cdf(float(f(zz)), 3) == pytest.approx(stats.norm.cdf(zz), rel=1e-10)
    with mpmath.workdps(30):
        from replica.numeric import compile_mpmath
        t = compile_mpmath(StudentTQuantile(z, 3), [z])(mpmath.mpf("1.2"))
        assert float(t) == pytest.approx(float(f(1.2)), rel=1e-12)


# ---------------------------------------------------------------------------
# bad input
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("params,match", [
    ({"alpha": 0.0}, r"'alpha'=0 is out of range; allowed \(0, inf\)"),
    ({"alpha": -1.0}, r"'alpha'=-1"),
    ({"loss": "cauchy"}, r"'loss': 'cauchy' is not allowed; choose one of square, absolute"),
    ({"huber_delta": 0.0}, r"'huber_delta'=0 is out of range; allowed \(0, inf\)"),
    ({"sparsity": 0.0}, r"'sparsity'=0 is out of range; allowed \(0, 1\]"),
    ({"sparsity": 1.5}, r"'sparsity'=1.5 is out of range"),
    ({"regularizer": "zero", "alpha": 0.8}, r"'alpha'=0.8 is out of range for regularizer=zero; allowed \(1, inf\)"),
    ({"noise": "student-t", "student_nu": 2.0}, r"'student_nu'=2 is out of range for loss=square"),
    ({"noise": "student-t", "loss": "huber", "student_nu": 1.5},
     r"'student_nu'=1.5 is out of range; allowed \[2, inf\)"),
    ({"lambda": -0.1}, r"'lambda'=-0.1 is out of range; allowed \[0, inf\)"),
    ({"quantile_tau": 1.0}, r"'quantile_tau'=1 is out of range; allowed \(0, 1\)"),
])
def test_bad_input_names_parameter_value_and_range(params, match):
    with pytest.raises(ParameterError, match=match):
        MODEL.resolve(params)


# ---------------------------------------------------------------------------
# simulation
# ---------------------------------------------------------------------------
def test_admm_converges_to_the_kkt_point():
    p = MODEL.resolve({"alpha": 2.0, "loss": "huber", "regularizer": "l1", "lambda": 0.2})
    X, y, _ = sim.instance(p, 80, trial_rng(3, 80, 0))
    loss, reg = sim.penalties(p)
    s, r, kkt, it = sim.admm(X, y, loss, reg)
    assert kkt < 1e-10
    # the objective is minimal: random perturbations do not decrease it
    f = sim.numpy_value(loss)
    g = sim.numpy_value(reg)
    obj = lambda u: float(np.sum(f(y - X @ u)) + np.sum(g(u)))      # noqa: E731
    rng = np.random.default_rng(0)
    for _ in range(20):
        assert obj(s + 1e-4 * rng.standard_normal(s.size)) >= obj(s) - 1e-12


def test_sizes_must_give_integer_measurements():
    p = MODEL.resolve({"alpha": 1.5})
    with pytest.raises(ValueError, match="not a positive integer"):
        sim.instance(p, 51, trial_rng(0, 51, 0))


def _compare_and_check_power(params, ns, trials, seed, max_rel_err):
    c = compare(MODEL, MODEL.resolve(params), ns, trials=trials, seed=seed)
    assert c.agrees, c.to_dict()
    for name, o in c.observables.items():
        # the comparison has teeth: the extrapolated error bar is a few per cent of the value
        assert o.extrapolated_stderr < max_rel_err * abs(o.theory), (name, c.to_dict())
    return c


def test_compare_ridge():
    # (square, l2): closed-form solves, so large sizes are cheap
    _compare_and_check_power({"alpha": 2.0, "loss": "square", "regularizer": "l2", "lambda": 0.5},
                             [100, 200, 400], 40, 1, 0.04)


@pytest.mark.slow
def test_compare_least_absolute_deviations_under_laplace_noise():
    # (absolute, zero) under Laplace noise: each instance an LP (HiGHS, duality gap certified)
    _compare_and_check_power({"alpha": 2.0, "loss": "absolute", "regularizer": "zero", "noise": "laplace"},
                             [50, 100, 200], 40, 2, 0.06)


@pytest.mark.slow
def test_compare_huber_ridge_under_student_t_noise():
    # (huber, l2) under Student-t noise (nu = 3, infinite fourth moment): ADMM, KKT certified
    _compare_and_check_power({"alpha": 2.0, "loss": "huber", "regularizer": "l2", "noise": "student-t",
                              "lambda": 0.3}, [100, 200, 400], 30, 2, 0.05)


# ---------------------------------------------------------------------------
# 30-digit references, a user's own loss, LaTeX
# ---------------------------------------------------------------------------
def test_thirty_digit_ridge():
    # ridge: the Marchenko-Pastur integral at 30 digits (alpha = 2, lam = 1/2, sigma = 1/2, v = 1)
    r = solve(MODEL, MODEL.resolve({"alpha": "2", "loss": "square", "regularizer": "l2", "lambda": "0.5",
                                    "noise_scale": "0.5"}), dps=30)
    with mpmath.workdps(40):
        a, lam, s2 = mpmath.mpf(2), mpmath.mpf("0.5"), mpmath.mpf("0.25")
        g = 1 / a
        lo, hi = (1 - mpmath.sqrt(g))**2, (1 + mpmath.sqrt(g))**2
        ref = mpmath.quad(lambda x: mpmath.sqrt((hi - x) * (x - lo)) / (2 * mpmath.pi * g * x)
                          * (lam**2 + s2 * a * x) / (a * x + lam)**2, [lo, hi])
        assert abs(r.observables["mse"] - ref) < mpmath.mpf(10)**-27


def test_user_loss_through_the_python_api():
    from replica.models.m_estimation import with_penalties
    # the library Huber loss passed as a user's penalty gives the library result
    mine = with_penalties(loss=proximal.huber(sympy.Rational(4, 5)))
    ref = solve(MODEL, MODEL.resolve({"alpha": 2.0, "loss": "huber", "huber_delta": 0.8}))
    assert solve(mine, mine.resolve({"alpha": 2.0})).observables["mse"] == pytest.approx(
        ref.observables["mse"], rel=1e-12)
    # square loss as a plain expression (numeric prox): the least-squares closed form
    sq = with_penalties(loss=proximal.U**2 / 2)
    r = solve(sq, sq.resolve({"alpha": 3.0, "regularizer": "zero", "noise_scale": 1.0}))
    assert r.observables["mse"] == pytest.approx(0.5, rel=1e-11)
    # a pseudo-Huber loss (no closed-form prox) against simulation
    ph = with_penalties(loss=sympy.sqrt(1 + proximal.U**2) - 1)
    c = compare(ph, ph.resolve({"alpha": 2.0}), [40, 80, 160], trials=6, seed=3)
    assert c.agrees, c.to_dict()
    with pytest.raises(ParameterError, match="not convex"):
        with_penalties(loss=sympy.log(1 + proximal.U**2))
    with pytest.raises(TypeError):
        with_penalties(loss="u**2")


@pytest.mark.latex
def test_latex_export_compiles(tmp_path, pdflatex):
    import subprocess
    from replica.latex import derivation_latex, standalone_document
    for i, (params, _) in enumerate([POINTS[0], POINTS[2], NESTED[1]]):
        p = MODEL.resolve(params)
        tex = tmp_path / f"m{i}.tex"
        tex.write_text(standalone_document(derivation_latex(MODEL, p), "m-estimation"))
        proc = subprocess.run([pdflatex, "-interaction=nonstopmode", "-halt-on-error", tex.name], cwd=tmp_path,
                              capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stdout[-3000:]


def lasso_state_evolution(delta, eps, v, sigma, lam):
    """Bayati & Montanari (IEEE Trans. Inf. Theory 58, 1997 (2012), eqs. (1.6)-(1.9)), A with N(0, 1/n)
    entries: tau^2 = sigma^2 + E[(eta(X0 + tau Z; theta tau) - X0)^2]/delta and the calibration
    lam = theta tau (1 - E[eta'(X0 + tau Z; theta tau)]/delta), eta the soft threshold.
    The Gaussian integrals of the soft threshold are written out (E eta^2 = 2[(s^2 + t^2) H(t/s) - t s phi(t/s)],
    E eta y = 2 s^2 H(t/s) for y ~ N(0, s^2)).
    Our X = sqrt(delta) A, so s' = sqrt(delta) s has prior variance delta v and lambda' = lam/sqrt(delta);
    the mse per component of s is then tau^2 - sigma^2."""
    vp = delta * v

    def soft(sd, t):
        """E[eta^2], E[eta y], P(|y| > t) for y ~ N(0, sd^2) (Gaussian integrals done by hand)."""
        a = t / sd
        H, phi = stats.norm.sf(a), stats.norm.pdf(a)
        return 2 * ((sd * sd + t * t) * H - t * sd * phi), 2 * sd * sd * H, 2 * H

    def moments(tau, theta):
        t = theta * tau
        e0, _, p0 = soft(tau, t)                             # X0 = 0
        var = vp + tau * tau                                  # X0 ~ N(0, vp): y = X0 + tau Z
        e1, ey1, p1 = soft(math.sqrt(var), t)
        mse1 = e1 - 2 * vp / var * ey1 + vp                   # E[X0 | y] = vp y / var
        return (1 - eps) * e0 + eps * mse1, (1 - eps) * p0 + eps * p1

    def tau_of(theta):
        tau2 = sigma**2 + 1.0
        for _ in range(2000):
            new = sigma**2 + moments(math.sqrt(tau2), theta)[0] / delta
            if abs(new - tau2) < 1e-15:
                break
            tau2 = new
        return math.sqrt(tau2)

    def calibration(theta):
        tau = tau_of(theta)
        return theta * tau * (1 - moments(tau, theta)[1] / delta) - lam / math.sqrt(delta)

    theta = optimize.brentq(calibration, 0.5, 5.0, xtol=1e-13)
    return tau_of(theta)**2 - sigma**2


@pytest.mark.parametrize("delta,eps,sigma,lam", [(0.5, 0.1, 0.1, 0.1), (0.7, 0.2, 0.3, 0.3)])
def test_lasso_equals_bayati_montanari_state_evolution(delta, eps, sigma, lam):
    r = solve(MODEL, MODEL.resolve({"alpha": delta, "loss": "square", "regularizer": "l1", "lambda": lam,
                                    "noise_scale": sigma, "prior": "bernoulli-gauss", "sparsity": eps}))
    assert r.observables["mse"] == pytest.approx(lasso_state_evolution(delta, eps, 1.0, sigma, lam), rel=1e-8)


# ---------------------------------------------------------------------------
# non-Gaussian noise and priors (nested averages) against references computed by hand
# ---------------------------------------------------------------------------
def _gauss_moments(m, s, c):
    """For y ~ N(m, s^2): P(|y| <= c), E[y^2 1{|y| <= c}], E[(|y| - c)^+] (truncated-normal formulas)."""
    a, b = (-c - m) / s, (c - m) / s
    Pa, Pb, pa, pb = stats.norm.cdf(a), stats.norm.cdf(b), stats.norm.pdf(a), stats.norm.pdf(b)
    inside = Pb - Pa
    second = m * m * inside + 2 * m * s * (pa - pb) + s * s * (inside + a * pa - b * pb)
    hi, lo = (m - c) / s, (-m - c) / s
    excess = ((m - c) * stats.norm.cdf(hi) + s * stats.norm.pdf(hi)
              + (-m - c) * stats.norm.cdf(lo) + s * stats.norm.pdf(lo))
    return inside, second, excess


_GL_X, _GL_W = np.polynomial.legendre.leggauss(20)


def _noise_average(fn, density, upper, panels=60):
    """E_eps fn(eps) for a symmetric noise density and fn even in eps: 2 int_0^upper fn density,
    Gauss-Legendre on equal panels (fn and density smooth; beyond ``upper`` the integrand is
    negligible). Checked against scipy quad in test_noise_average_quadrature."""
    edges = np.linspace(0.0, upper, panels + 1)
    half = np.diff(edges)[:, None] / 2
    e = ((edges[:-1] + edges[1:])[:, None] / 2 + half * _GL_X).ravel()
    w = (half * _GL_W).ravel()
    return 2 * float(np.sum(w * fn(e) * density(e)))


def lad_reference(alpha, b):
    """Least absolute deviations, Laplace(b) noise, no regularizer: the saddle point written by hand.
    With w = eps + sqrt(q) z, prox of V|.| the soft threshold: P(|w| > V) = 1 - 1/alpha and
    q = alpha E[min(|w|, V)^2] (El Karoui et al. 2013, eq. (4), with rho = |.|); training error
    E[(|w| - V)^+]. Returns (q, V, training error)."""
    dens = lambda e: np.exp(-e / b) / (2 * b)     # noqa: E731

    def avg(fn, s):
        return _noise_average(fn, dens, 45 * b + 15 * s)

    def V_of(q):
        s = math.sqrt(q)
        return optimize.brentq(lambda V: avg(lambda e: _gauss_moments(e, s, V)[0], s) - 1 / alpha,
                               1e-6, 50 * (b + s), xtol=1e-15, rtol=1e-15)

    def gap(q):
        s, V = math.sqrt(q), V_of(q)
        clip2 = avg(lambda e: _gauss_moments(e, s, V)[1] + V * V * (1 - _gauss_moments(e, s, V)[0]), s)
        return q - alpha * clip2

    q = optimize.brentq(gap, 1e-3 * b * b, 100 * b * b, xtol=1e-15, rtol=1e-14)
    V = V_of(q)
    train = avg(lambda e: _gauss_moments(e, math.sqrt(q), V)[2], math.sqrt(q))
    return q, V, train


def huber_ridge_reference(alpha, delta, lam, scale, nu, v):
    """Huber loss, l2 regularizer lam s^2/2, Student-t noise (scale, nu), Gaussian prior of variance v.
    Vhat = alpha E[1 - p'(w)]/V, qhat = alpha E[(w - p)^2]/V^2, V = 1/(Vhat + lam),
    q = (c - 1)^2 v + c^2 qhat/Vhat^2 with c = Vhat/(Vhat + lam); p the Huber prox (written by hand)."""
    dens = lambda e: stats.t.pdf(e / scale, nu) / scale     # noqa: E731

    def hats(q, V):
        s, edge = math.sqrt(q), delta * (1 + V)
        upper = edge + 15 * s          # both integrands vanish beyond (Gaussian tails)
        inside = _noise_average(lambda e: _gauss_moments(e, s, edge)[0], dens, upper)
        second = _noise_average(lambda e: _gauss_moments(e, s, edge)[1], dens, upper)
        A = V / (1 + V) * inside
        B = (V / (1 + V))**2 * second + (V * delta)**2 * (1 - inside)
        return alpha * A / V, alpha * B / V**2

    def eqs(x):
        q, V = np.exp(x)
        Vh, qh = hats(q, V)
        c = Vh / (Vh + lam)
        return [math.log(V * (Vh + lam)), math.log(((c - 1)**2 * v + c * c * qh / Vh**2) / q)]

    x = optimize.fsolve(eqs, np.log([0.5, 0.5]), xtol=1e-13)
    assert np.max(np.abs(eqs(x))) < 1e-12
    return tuple(np.exp(x))


def test_least_absolute_deviations_under_laplace_noise_is_the_hand_written_saddle_point():
    alpha, b = 2.0, 0.5
    r = solve(MODEL, MODEL.resolve({"alpha": alpha, "loss": "absolute", "regularizer": "zero", "noise": "laplace",
                                    "noise_scale": b}))
    q, V, train = lad_reference(alpha, b)
    assert r.observables["mse"] == pytest.approx(q, rel=1e-8)
    assert r.observables["V"] == pytest.approx(V, rel=1e-8)
    assert r.observables["training_error"] == pytest.approx(train, rel=1e-8)
    # in high dimensions least squares (mse 2 b^2/(alpha - 1)) beats LAD even under Laplace noise for
    # P/N above ~0.3 (Bean, Bickel, El Karoui & Yu, PNAS 110, 14563 (2013)); here P/N = 1/2
    assert q > 2 * b * b / (alpha - 1)


def test_noise_average_quadrature():
    # the panel rule of the references against scipy's adaptive quad (Laplace and Student-t weights)
    for dens, upper in ((lambda e: np.exp(-e / 0.5) / 1.0, 45 * 0.5 + 15 * 0.8),
                        (lambda e: stats.t.pdf(e / 0.5, 3.0) / 0.5, 1.7 + 15 * 0.6)):
        for s, c in ((0.8, 0.6), (0.6, 1.7)):
            for k in range(3):
                fn = lambda e: _gauss_moments(e, s, c)[k]       # noqa: E731
                ref = 2 * integrate.quad(lambda e: fn(e) * dens(e), 0, np.inf, epsabs=1e-14, epsrel=1e-13,
                                         limit=400)[0]
                if k < 2 or upper > 40 * 0.5:                   # E(|y| - c)^+ grows: Laplace tails only
                    assert _noise_average(fn, dens, upper) == pytest.approx(ref, rel=1e-11, abs=1e-14)


def test_huber_ridge_under_student_t_noise_is_the_hand_written_saddle_point():
    params = {"alpha": 2.0, "loss": "huber", "regularizer": "l2", "noise": "student-t", "lambda": 0.3,
              "huber_delta": 1.0, "noise_scale": 0.5, "student_nu": 3.0, "prior_scale": 1.0}
    r = solve(MODEL, MODEL.resolve(params))
    q, V = huber_ridge_reference(2.0, 1.0, 0.3, 0.5, 3.0, 1.0)
    assert r.observables["mse"] == pytest.approx(q, rel=1e-8)
    assert r.observables["V"] == pytest.approx(V, rel=1e-8)


@pytest.mark.parametrize("noise,scale,nu,variance", [
    ("laplace", 0.5, 3.0, 2 * 0.25), ("logistic", 0.4, 3.0, math.pi**2 * 0.16 / 3),
    ("student-t", 0.6, 5.0, 0.36 * 5 / 3)])
def test_least_squares_depends_on_the_noise_only_through_its_variance(noise, scale, nu, variance):
    # sigma^2/(alpha - 1) with sigma^2 the variance of each law (checks the inverse-CDF transforms)
    r = solve(MODEL, MODEL.resolve({"alpha": 3.0, "loss": "square", "regularizer": "zero", "noise": noise,
                                    "noise_scale": scale, "student_nu": nu}))
    assert r.observables["mse"] == pytest.approx(variance / 2, rel=1e-8)


def test_ridge_depends_on_the_prior_only_through_its_variance():
    # a linear estimator: the Laplace(b) prior acts through its variance 2 b^2 (Marchenko-Pastur formula)
    b = 0.8
    r = solve(MODEL, MODEL.resolve({"alpha": 2.0, "loss": "square", "regularizer": "l2", "lambda": 0.5,
                                    "noise_scale": 0.5, "prior": "laplace", "prior_scale": b}))
    assert r.observables["mse"] == pytest.approx(ridge_mse(2.0, 0.5, 0.5, 2 * b * b), rel=1e-8)


# ---------------------------------------------------------------------------
# the contract battery of tests/test_contract.py, run on this (not yet registered) model
# ---------------------------------------------------------------------------

# the points proposed for tests/test_contract.py: single Gaussian averages only (the mpmath backend
# integrates nested averages of non-Gaussian noise with nested tanh-sinh quadrature: minutes)
CONTRACT_POINTS = [
    ({"alpha": 2.0, "loss": "huber", "regularizer": "l2", "huber_delta": 0.8}, [0.3, 0.5, 0.5, 1.3]),
    ({"alpha": 0.6, "loss": "square", "regularizer": "l1", "prior": "bernoulli-gauss", "sparsity": 0.2,
      "lambda": 0.3}, [0.1, 1.5, 0.05, 0.4]),
    ({"alpha": 3.0, "loss": "quantile", "regularizer": "elastic-net", "quantile_tau": 0.3},
     [0.2, 0.4, 0.3, 2.0]),
]
CONTRACT_CHECKS = [contract.test_equations_are_the_scaled_gradient_of_the_free_energy,
                   contract.test_solver_equations_equal_the_derived_ones,
                   contract.test_jacobian_is_the_derivative_of_the_equations,
                   contract.test_numpy_and_mpmath_backends_agree]


@pytest.fixture
def registered(monkeypatch):
    """m-estimation in the registry for the duration of one test (the registry file is not edited)."""
    from replica import registry
    monkeypatch.setitem(registry.MODELS, MEstimation.name, MEstimation)
    return MEstimation.name


@pytest.mark.parametrize("check", CONTRACT_CHECKS, ids=lambda f: f.__name__[5:])
@pytest.mark.parametrize("params,x", CONTRACT_POINTS)
def test_contract_battery(registered, check, params, x):
    check(registered, params, x)


@pytest.mark.parametrize("check", CONTRACT_CHECKS[:3], ids=lambda f: f.__name__[5:])
@pytest.mark.parametrize("params,x", NESTED + [POINTS[2]])
def test_contract_battery_nested_averages_and_numeric_prox(registered, check, params, x):
    # numpy only: mpmath integrates nested averages with nested tanh-sinh quadrature (minutes), and
    # the numeric proximal map at 30 digits inside it (logcosh: ~10 s); tests/test_proximal.py checks
    # the numeric prox in mpmath at 40 digits
    check(registered, params, x)


def test_contract_known_values_and_interface(registered):
    contract.test_known_values_are_reproduced(registered)
    contract.test_model_declares_its_interface(registered)


@pytest.mark.latex
def test_contract_latex_export(registered, tmp_path, pdflatex):
    contract.test_latex_export_compiles(registered, CONTRACT_POINTS[0][0], tmp_path, pdflatex)


def test_command_line_compare(registered, capsys):
    from cli_helpers import run_json
    out = run_json(capsys, "compare", "m-estimation", "--set", "loss=square", "--set", "regularizer=l2",
                   "--set", "lambda=0.5", "--n", "50,100", "--trials", "6", "--seed", "1", "--json")
    assert out["model"] == "m-estimation" and set(out["observables"]) == {"mse", "training_error"}
    from cli_helpers import run
    rc, _, err = run(capsys, "solve", "m-estimation", "--set", "alpha=0")
    assert rc == 2 and "'alpha'=0 is out of range; allowed (0, inf)" in err
