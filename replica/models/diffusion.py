"""Diffusion and flow-matching samplers with the exact score, on Gaussian or two-Gaussian data.

Setting (P. Nakkiran, A. Bradley, H. Zhou and M. Advani, "Step-by-step diffusion: an elementary
tutorial", 2024, arXiv:2406.08929)
-------------------------------------------------------------------------------------------------
Data in ``dim`` dimensions: ``gaussian`` -- x0 ~ N(mu 1, sigma0^2 I); ``mixture`` -- the symmetric
two-component mixture (1/2) N(+mu 1, sigma0^2 I) + (1/2) N(-mu 1, sigma0^2 I) (separation
|m| = mu sqrt(dim)). Both are isotropic around the mean direction, so every step of every sampler
acts coordinate by coordinate (Gaussian) or on the projection y = <x, m>/|m| and, linearly, on the
orthogonal coordinates (mixture).

Forward processes, written ``x_t = alpha_t x0 + beta_t z`` (z standard normal):

* the tutorial's variance-exploding (VE) Gaussian diffusion (its section 2): ``x_{t+dt} = x_t +
  N(0, sigma_q^2 dt)`` on t in [0, 1], i.e. ``alpha_t = 1``, ``beta_t = sigma_q sqrt(t)``;
* the tutorial's linear pointwise flow (its section 4): ``x_t = (1 - t) x0 + t x1`` with base
  ``x1 ~ N(0, sigma_q^2 I)``, i.e. ``alpha_t = 1 - t``, ``beta_t = sigma_q t``.

Derived with SymPy (:func:`derive`): the marginal p_t (the Gaussian integral over x0), the exact
denoiser E[x0 | x_t] (the posterior mean, by completing the square; for the mixture the
posterior-weighted mean of the two components, the weight's log-odds derived from the marginals),
the score d ln p_t/dx, the flow-matching velocity v_t = E[x0 - x1 | x_t] and the probability-flow
ODE dx/dt = alpha'_t D + beta'_t (x - alpha_t D)/beta_t (for VE: -(sigma_q^2/2) score).

Samplers (``steps`` = N steps of dt = 1/N from t = 1 down to 0; t_k = k/N):

* ``ddpm`` (the tutorial's stochastic sampler, Algorithm 2): ``x <- mu_{t-dt}(x) + N(0, sigma_q^2 dt)``
  with ``mu_{t-dt}(x) = E[x_{t-dt} | x_t = x] = (dt/t) D(x) + (1 - dt/t) x``;
* ``ddim`` (the deterministic sampler, Algorithm 3): ``x <- x + lambda (mu_{t-dt}(x) - x)``,
  ``lambda = sigma_t/(sigma_{t-dt} + sigma_t)``, ``sigma_t = sigma_q sqrt(t)``;
* ``flow`` (flow matching, Euler): ``x <- x + dt v_t(x)``.

The VE samplers start (``init``) from the exact marginal p_1 (``marginal``: the discretisation
error alone) or from the tutorial's N(0, sigma_q^2 I) (``noise``: plus the error of the start).
Flow matching starts from its base N(0, sigma_q^2 I), which is its exact p_1.

Theory: for Gaussian data the denoiser is affine, so every step is an affine map
``x <- A_k x + B_k + C_k xi`` (derived: the coefficients of the update as a polynomial in x and
xi). The generated distribution is Gaussian with mean and variance the products over the steps
``m = (prod A_k) m_1 + sum_k B_k prod_{j<k} A_j`` and ``v = (prod A_k^2) v_1 + sum_k C_k^2
prod_{j<k} A_j^2`` (shown as SymPy Product/Sum; evaluated by the recursion at any precision).
From them the KL divergence and the Wasserstein-2 distance to the data (closed forms for
Gaussians) and the local order of the discretisation error, log2(W2(N)/W2(2N)). DDPM and Euler
flow matching are first order; DDIM is Euler's method in sigma = sigma_q sqrt(t) with steps
~ 1/sqrt(k N), whose squares sum to ~ ln(N)/N: first order up to a logarithm (measured order
0.63 at N = 20, 0.86 at N = 2560).
Speciation (G. Biroli, T. Bonnaire, V. de Bortoli and M. Mezard, "Dynamical regimes of diffusion
models", 2024), mixture data, variance-preserving (Ornstein-Uhlenbeck) forward process
x_t = e^{-t} x0 + sqrt(1 - e^{-2t}) z: the speciation time t_S = (1/2) ln(Lambda), Lambda =
sigma0^2 + d mu^2 the largest eigenvalue of the data covariance; and the probability that two
exact reverse trajectories cloned at t_clone end on the same side of the separating hyperplane, a
Gaussian average over x_{t_clone} of q^2 + (1 - q)^2 (q the derived posterior probability of a
positive projection): 1 for t_clone << t_S, 1/2 for t_clone >> t_S, one curve of t_clone - t_S.
For the mixture the map of the projection is nonlinear; E|y| after the N steps (the mean distance
to the separating hyperplane: the two-sample statistic) is computed by quadrature over the start
(deterministic samplers) or by propagating the density on a grid (DDPM), in double precision (the
grid result moves by ~5e-6 relative when the grid changes; it is limited to steps * points^2 <= 3e8).
"""
from __future__ import annotations

import functools
import math

import mpmath
import numpy as np
import sympy
from sympy.core.function import Function

from replica.errors import DerivationError, ParameterError
from replica.model import DerivedLimit, Model, Reference
from replica.params import POSITIVE, REAL, Interval, Observable, Parameter

MAX_STEPS = 20000
MAX_DIM = 100000
#: largest grid of the DDPM mixture theory (a dense grid x grid kernel each step)
MAX_GRID = 6000
MAX_GRID_WORK = 3e8
SAMPLERS = ("ddim", "ddpm", "flow")
DATA = ("gaussian", "mixture")
INITS = ("marginal", "noise")

# derivation symbols
T = sympy.Symbol("t", positive=True)
X = sympy.Symbol("x", real=True)
X0 = sympy.Symbol("x_0", real=True)
XI = sympy.Symbol("xi", real=True)
K = sympy.Symbol("k", positive=True, integer=True)
NS = sympy.Symbol("N", positive=True, integer=True)
MU = sympy.Symbol("mu", real=True)
S0 = sympy.Symbol("sigma_0", positive=True)
SQ = sympy.Symbol("sigma_q", positive=True)
DT = 1 / NS
TK = K / NS


def forward(process):
    """(alpha_t, beta_t) of x_t = alpha_t x0 + beta_t z."""
    if process == "ve":
        return sympy.Integer(1), SQ * sympy.sqrt(T)
    if process == "fm":
        return 1 - T, SQ * T
    if process == "vp":            # Ornstein-Uhlenbeck dx = -x dt + sqrt(2) dB (Biroli et al. 2024)
        return sympy.exp(-T), sympy.sqrt(1 - sympy.exp(-2 * T))
    raise DerivationError(f"unknown forward process {process!r}")


def _gauss(x, mean, var):
    return sympy.exp(-(x - mean)**2 / (2 * var)) / sympy.sqrt(2 * sympy.pi * var)


@functools.lru_cache(maxsize=None)
def gaussian_component(process):
    """For data N(MU, S0^2) in one coordinate: (marginal p_t(x), posterior mean E[x0|x_t=x],
    posterior variance), derived: the posterior by completing the square in x0, the marginal by
    the Gaussian integral over x0 (with generic positive alpha, beta, substituted afterwards)."""
    a, b = sympy.symbols("alpha beta", positive=True)
    log_joint = -(X0 - MU)**2 / (2 * S0**2) - (X - a * X0)**2 / (2 * b**2)
    d1 = sympy.diff(log_joint, X0)
    post_mean = sympy.solve(d1, X0)[0]
    post_var = sympy.simplify(-1 / sympy.diff(log_joint, X0, 2))
    marginal = sympy.integrate(_gauss(X0, MU, S0**2) * _gauss(X, a * X0, b**2), (X0, -sympy.oo, sympy.oo))
    marginal = sympy.simplify(marginal)
    alpha, beta = forward(process)
    sub = {a: alpha, b: beta}
    return (sympy.simplify(marginal.subs(sub)), sympy.simplify(sympy.cancel(post_mean.subs(sub))),
            sympy.simplify(post_var.subs(sub)))


@functools.lru_cache(maxsize=None)
def derive(process, data):
    """dict: marginal, denoiser, score, velocity (flow matching), pf_ode (probability-flow drift),
    for one coordinate (gaussian: mean MU) or the projection y (mixture: means +-MU)."""
    alpha, beta = forward(process)
    p, D, _ = gaussian_component(process)
    extra = {}
    if data == "gaussian":
        marginal, denoiser = p, D
    else:
        p_plus, p_minus = p, p.subs(MU, -MU)
        D_plus, D_minus = D, D.subs(MU, -MU)
        marginal = (p_plus + p_minus) / 2
        # posterior weight of the + component: logistic of the log-odds (derived, simplified)
        log_odds = sympy.simplify(sympy.expand_log(sympy.log(p_plus) - sympy.log(p_minus), force=True))
        w_plus = (1 + sympy.tanh(log_odds / 2)) / 2
        denoiser = sympy.simplify(D_minus + w_plus * (D_plus - D_minus))
        extra = {"log_odds": log_odds}
    score = sympy.diff(sympy.log(marginal), X)
    # E[z | x_t] = (x - alpha D)/beta; velocity of x_t = alpha x0 + beta z is alpha' D + beta' E[z|x]
    drift = sympy.diff(alpha, T) * denoiser + sympy.diff(beta, T) * (X - alpha * denoiser) / beta
    out = {"marginal": marginal, "denoiser": denoiser, "score": score, "pf_ode": sympy.simplify(drift)}
    out.update(extra)
    if process == "fm":
        # the tutorial's velocity v = E[x0 - x1 | x_t] (points from noise to data: x <- x + dt v)
        x1 = (X - alpha * denoiser) / T            # x1 = sigma_q z and beta = sigma_q t
        out["velocity"] = sympy.simplify(denoiser - x1)
    return out


def sampler_process(sampler):
    return "fm" if sampler == "flow" else "ve"


@functools.lru_cache(maxsize=None)
def step_update(sampler, data):
    """The update x -> x' of one step from t_k = k/N to t_{k-1}, as an expression in X, XI, K, NS."""
    d = derive(sampler_process(sampler), data)
    D = d["denoiser"].subs(T, TK)
    if sampler == "ddpm":
        mean = (DT / TK) * D + (1 - DT / TK) * X
        return mean + SQ * sympy.sqrt(DT) * XI
    if sampler == "ddim":
        lam = sympy.sqrt(TK) / (sympy.sqrt(TK - DT) + sympy.sqrt(TK))
        mean = (DT / TK) * D + (1 - DT / TK) * X
        return X + lam * (mean - X)
    if sampler == "flow":
        return X + DT * d["velocity"].subs(T, TK)
    raise DerivationError(f"unknown sampler {sampler!r}")


@functools.lru_cache(maxsize=None)
def affine_step(sampler):
    """(A_k, B_k, C_k) with x' = A_k x + B_k + C_k xi for Gaussian data (derived from the update)."""
    upd = sympy.expand(step_update(sampler, "gaussian"))
    poly = sympy.Poly(upd, X, XI)
    if poly.total_degree() > 1:
        raise DerivationError(f"{sampler}: the step is not affine for Gaussian data")
    A = sympy.simplify(poly.coeff_monomial(X))
    C = sympy.simplify(poly.coeff_monomial(XI))
    B = sympy.simplify(poly.coeff_monomial(1))
    return A, B, C


def start_moments(sampler, init):
    """(mean, variance) of one coordinate at t = 1 (Gaussian data)."""
    if sampler == "flow" or init == "noise":
        return sympy.Integer(0), SQ**2
    return MU, S0**2 + SQ**2


def moment_formulas(sampler, init):
    """The generated mean and variance as SymPy products/sums over the steps (k from N down to 1)."""
    A, B, C = affine_step(sampler)
    j = sympy.Symbol("j", positive=True, integer=True)
    m1, v1 = start_moments(sampler, init)
    prodA = sympy.Product(A.subs(K, j), (j, 1, NS))
    prefix = sympy.Product(A.subs(K, j), (j, 1, K - 1))
    mean = prodA * m1 + sympy.Sum(B * prefix, (K, 1, NS))
    var = prodA**2 * v1 + sympy.Sum(C**2 * prefix**2, (K, 1, NS))
    return mean, var


ZC = sympy.Symbol("z", real=True)
TC = sympy.Symbol("t_c", positive=True)


@functools.lru_cache(maxsize=None)
def clone_agreement_expression():
    """Probability that two reverse trajectories cloned at VP time TC end on the same side of the
    separating hyperplane (projection means +-MU, component variance S0^2), as a Gaussian average.

    Given y = y_t, the exact reverse process ends at y0 ~ p(y0 | y_t): the component c = +-1 with the
    derived posterior weight (logistic of the log-odds), then y0 Gaussian with the derived posterior
    mean and variance of that component. q(y) = P(y0 > 0 | y_t = y) = sum_c w_c H(-m_c/sqrt(v)), and
    two independent clones agree with probability q^2 + (1 - q)^2, averaged over y_t (by symmetry:
    over the + component, y_t = alpha MU + sqrt(alpha^2 S0^2 + beta^2) z)."""
    from replica.symbolic import GaussianAverage, H
    _, D, post_var = gaussian_component("vp")
    log_odds = derive("vp", "mixture")["log_odds"]
    w_plus = (1 + sympy.tanh(log_odds / 2)) / 2
    sd = sympy.sqrt(post_var)
    q = w_plus * H(-D / sd) + (1 - w_plus) * H(-D.subs(MU, -MU) / sd)
    alpha, beta = forward("vp")
    y = alpha * MU + sympy.sqrt(alpha**2 * S0**2 + beta**2) * ZC
    integrand = (q**2 + (1 - q)**2).subs(X, y).subs(T, TC)
    return GaussianAverage(integrand, ZC), q


def speciation_time(lam):
    """Biroli, Bonnaire, de Bortoli & Mezard (2024): t_S = (1/2) ln(Lambda), Lambda the largest
    eigenvalue of the data covariance (for the mixture sigma0^2 + |m|^2 = sigma0^2 + d mu^2)."""
    return sympy.log(lam) / 2


# ---------------------------------------------------------------------------------------------
# numerical evaluation of the products (recursion at the working precision)
# ---------------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=None)
def _mp_coefficients(sampler):
    A, B, C = affine_step(sampler)
    return sympy.lambdify([K, NS, MU, S0, SQ], [A, B, C], "mpmath")


@functools.lru_cache(maxsize=None)
def _np_coefficients(sampler):
    A, B, C = affine_step(sampler)
    return sympy.lambdify([K, NS, MU, S0, SQ], [A, B, C], "numpy")


def check_steps(steps, limit=MAX_STEPS):
    n = int(round(float(steps)))
    if n < 1 or n > limit or abs(float(steps) - n) > 1e-9:
        raise ParameterError(f"parameter 'steps'={steps} is out of range; allowed [1, {MAX_STEPS}] (integer)")
    return n


def gaussian_moments(sampler, init, mu, s0, sq, steps, mp=False):
    """(mean, variance) of one coordinate of the generated samples, exactly (the recursion).
    Up to 2 MAX_STEPS: the error order compares N with 2N steps."""
    n = check_steps(steps, 2 * MAX_STEPS)
    if mp:
        coef = _mp_coefficients(sampler)
        one = mpmath.mpf(1)
        mu, s0, sq = mpmath.mpf(mu), mpmath.mpf(s0), mpmath.mpf(sq)
        if sampler == "flow" or init == "noise":
            m, v = 0 * one, sq**2
        else:
            m, v = mu, s0**2 + sq**2
        for k in range(n, 0, -1):
            A, B, C = coef(mpmath.mpf(k), mpmath.mpf(n), mu, s0, sq)
            m, v = A * m + B, A * A * v + C * C
        return m, v
    coef = _np_coefficients(sampler)
    k = np.arange(n, 0, -1, dtype=float)
    A, B, C = (np.broadcast_to(np.asarray(c, dtype=float), k.shape) for c in coef(k, float(n), mu, s0, sq))
    m, v = (0.0, sq**2) if (sampler == "flow" or init == "noise") else (mu, s0**2 + sq**2)
    for a, b, c in zip(A, B, C):
        m, v = a * m + b, a * a * v + c * c
    return m, v


# mixture: the projection's map, vectorised in numpy
@functools.lru_cache(maxsize=None)
def _np_mixture_step(sampler):
    upd = step_update(sampler, "mixture")
    f = upd.subs(XI, 0)
    C = sympy.simplify(sympy.diff(upd, XI))
    return (sympy.lambdify([X, K, NS, MU, S0, SQ], f, "numpy"),
            sympy.lambdify([K, NS, MU, S0, SQ], C, "numpy"))


def _legendre_panels(edges, nodes=40):
    x, w = np.polynomial.legendre.leggauss(nodes)
    pts, wts = [], []
    for a, b in zip(edges[:-1], edges[1:]):
        pts.append((a + b) / 2 + (b - a) / 2 * x)
        wts.append((b - a) / 2 * w)
    return np.concatenate(pts), np.concatenate(wts)


def mixture_abs_projection(sampler, init, mu, s0, sq, dim, steps):
    """E|y| of the generated projection y = <x, m>/|m| (means +-M, M = mu sqrt(dim)), double precision."""
    n = check_steps(steps)
    M = abs(float(mu)) * math.sqrt(float(dim))
    s0, sq = float(s0), float(sq)
    f, C = _np_mixture_step(sampler)
    if sampler == "flow" or init == "noise":
        comps = [(0.0, sq)]
    else:
        width = math.sqrt(s0**2 + sq**2)
        comps = [(M, width), (-M, width)]
    if sampler != "ddpm":
        # F is odd and increasing: E|F(y)| = int |F(y)| p(y) dy with a kink only at y = 0
        span = max(abs(c) + 12 * w for c, w in comps)
        edges = np.unique(np.concatenate([np.linspace(-span, span, 81), [0.0]]))
        y, w = _legendre_panels(edges)
        p = sum(np.exp(-(y - c)**2 / (2 * s**2)) / (s * math.sqrt(2 * math.pi)) for c, s in comps) / len(comps)
        z = y.copy()
        for k in range(n, 0, -1):
            z = f(z, float(k), float(n), M, s0, sq)
        return float(np.sum(np.abs(z) * p * w))
    # DDPM: the density of y on a uniform grid, pushed through the map and convolved with the noise
    width = max(abs(c) + 9 * s for c, s in comps)
    c_min = sq * math.sqrt(1.0 / n)
    h = min(c_min / 8, width / 200)
    L = max(width, M + 9 * math.sqrt(s0**2 + c_min**2))
    grid = np.arange(-L, L + h / 2, h)
    if grid.size > MAX_GRID or n * grid.size**2 > MAX_GRID_WORK:
        raise DerivationError(f"the DDPM theory of the mixture needs {n} steps on a grid of {grid.size} points "
                              f"here (at most {MAX_GRID} points and steps * points^2 <= {MAX_GRID_WORK:g}): use "
                              "fewer steps (the grid spacing is sigma_q/(8 sqrt(steps)))")
    if len(comps) == 2:
        p = 0.5 * sum(np.exp(-(grid - c)**2 / (2 * s**2)) / (s * math.sqrt(2 * math.pi)) for c, s in comps)
    else:
        p = np.exp(-grid**2 / (2 * sq**2)) / (sq * math.sqrt(2 * math.pi))
    for k in range(n, 0, -1):
        c = float(C(float(k), float(n), M, s0, sq))
        fy = f(grid, float(k), float(n), M, s0, sq)
        keep = p * h > 1e-300
        kern = np.exp(-(grid[:, None] - fy[None, keep])**2 / (2 * c * c)) / (c * math.sqrt(2 * math.pi))
        p = kern @ (p[keep] * h)
    return float(np.sum(np.abs(grid) * p) * h)


# ---------------------------------------------------------------------------------------------
# SymPy functions evaluated numerically
# ---------------------------------------------------------------------------------------------
def _mp_or_float(args):
    return any(isinstance(a, (mpmath.mpf, mpmath.mpc)) for a in args)


@functools.lru_cache(maxsize=None)
def moment_function(sampler, init, which, label):
    """``Name(mu, sigma0, sigma_q, steps)``: the generated mean (which=0) or variance (which=1)."""

    def imp(mu, s0, sq, steps):
        if _mp_or_float((mu, s0, sq, steps)):
            return gaussian_moments(sampler, init, mu, s0, sq, steps, mp=True)[which]
        arrays = np.broadcast_arrays(*[np.asarray(a, dtype=float) for a in (mu, s0, sq, steps)])
        out = np.empty(arrays[0].shape)
        for idx in np.ndindex(out.shape):
            out[idx] = gaussian_moments(sampler, init, *[float(a[idx]) for a in arrays])[which]
        return out if out.shape else float(out)

    def _latex(self, printer, exp=None):
        out = r"%s\left(%s\right)" % (label, ", ".join(printer._print(a) for a in self.args))
        return out if exp is None else r"%s^{%s}" % (out, exp)

    name = f"GenMoment_{sampler}_{init}_{which}"
    return type(name, (Function,), {"nargs": 4, "_imp_": staticmethod(imp), "_latex": _latex,
                                    "__module__": __name__})


@functools.lru_cache(maxsize=None)
def mixture_function(sampler, init):
    """``Name(mu, sigma0, sigma_q, dim, steps)``: E|<x, m>|/|m| of the generated samples."""

    def imp(mu, s0, sq, dim, steps):
        if _mp_or_float((mu, s0, sq, dim, steps)):
            return mpmath.mpf(mixture_abs_projection(sampler, init, float(mu), float(s0), float(sq),
                                                     int(dim), float(steps)))
        arrays = np.broadcast_arrays(*[np.asarray(a, dtype=float) for a in (mu, s0, sq, dim, steps)])
        out = np.empty(arrays[0].shape)
        for idx in np.ndindex(out.shape):
            vals = [float(a[idx]) for a in arrays]
            out[idx] = mixture_abs_projection(sampler, init, vals[0], vals[1], vals[2], int(vals[3]), vals[4])
        return out if out.shape else float(out)

    def _latex(self, printer, exp=None):
        out = r"E_{N}|y|\left(%s\right)" % ", ".join(printer._print(a) for a in self.args)
        return out if exp is None else r"\left(%s\right)^{%s}" % (out, exp)

    name = f"MixtureAbs_{sampler}_{init}"
    return type(name, (Function,), {"nargs": 5, "_imp_": staticmethod(imp), "_latex": _latex,
                                    "__module__": __name__})


def gaussian_kl(m, v, mu, s0, dim):
    """KL(N(m, v I) || N(mu, s0^2 I)) in dim dimensions."""
    return dim * ((v + (m - mu)**2) / s0**2 - 1 - sympy.log(v / s0**2)) / 2


def gaussian_w2(m, v, mu, s0, dim):
    return sympy.sqrt(dim * ((m - mu)**2 + (sympy.sqrt(v) - s0)**2))


def mixture_abs_data(M, s0):
    """E|y| for y ~ (1/2) N(M, s0^2) + (1/2) N(-M, s0^2) (= E|N(M, s0^2)|)."""
    r = M / s0
    return M * sympy.erf(r / sympy.sqrt(2)) + s0 * sympy.sqrt(2 / sympy.pi) * sympy.exp(-r**2 / 2)


# ---------------------------------------------------------------------------------------------
# the model
# ---------------------------------------------------------------------------------------------
class Diffusion(Model):
    name = "diffusion"
    title = "Diffusion and flow-matching samplers with the exact score (Nakkiran et al. 2024)"
    description = ("Gaussian or symmetric two-Gaussian data in dim dimensions; the tutorial's variance-exploding "
                   "diffusion and linear flow matching; DDPM, DDIM and flow-matching (Euler) samplers with the exact "
                   "(SymPy-derived) denoiser for a number of steps. Gaussian data: the exact mean and variance of the "
                   "generated samples (products over the steps), KL and Wasserstein-2 to the data and the order of "
                   "the discretisation error; mixture: E|projection on the mean direction|. Simulated by running the "
                   "samplers.")
    parameters = (
        Parameter("data", "data distribution: gaussian N(mu 1, sigma0^2 I) or the mixture of N(+-mu 1, sigma0^2 I)",
                  default="gaussian", kind="categorical", choices=DATA),
        Parameter("sampler", "ddpm (stochastic), ddim (deterministic) or flow (flow matching, Euler)",
                  default="ddim", kind="categorical", choices=SAMPLERS),
        Parameter("init", "start of the VE samplers: marginal (the exact p_1) or noise (N(0, sigma_q^2 I))",
                  default="marginal", kind="categorical", choices=INITS),
        Parameter("mu", "mean of every coordinate of the data (mixture: of the + component)", REAL, 1.0,
                  latex="mu"),
        Parameter("sigma0", "standard deviation of the data (of each component) per coordinate", POSITIVE, 0.5,
                  latex="sigma_0"),
        Parameter("sigma_q", "noise scale: VE variance sigma_q^2 t; flow-matching base N(0, sigma_q^2 I)", POSITIVE,
                  2.0, latex="sigma_q"),
        Parameter("dim", "dimension d", Interval(1, MAX_DIM, lower_closed=True, upper_closed=True), 2,
                  kind="integer", latex="d"),
        Parameter("t_clone", "mixture: VP (Ornstein-Uhlenbeck) time at which two reverse trajectories are cloned",
                  POSITIVE, 0.5, latex="t_c"),
        Parameter("steps", "number of sampler steps N (dt = 1/N)",
                  Interval(1, MAX_STEPS, lower_closed=True, upper_closed=True), 20, kind="integer", latex="N"),
    )
    order_parameters = ()
    observables = (
        Observable("mean", "mean of a coordinate of the generated samples (Gaussian data)"),
        Observable("variance", "variance of a coordinate of the generated samples (Gaussian data)"),
        Observable("kl", "KL divergence KL(generated || data) (Gaussian data)"),
        Observable("w2", "Wasserstein-2 distance between generated and data distributions (Gaussian data)"),
        Observable("error_order", "local order p of the discretisation error W2 ~ N^-p: log2(W2(N)/W2(2N))"),
        Observable("abs_projection", "E|<x, m>|/|m| of the generated samples (mixture; the distance to the "
                                     "separating hyperplane)"),
        Observable("abs_projection_data", "E|<x0, m>|/|m| of the data (mixture; the N -> oo value)"),
        Observable("speciation_time", "mixture: speciation time t_S = (1/2) ln(sigma0^2 + d mu^2) of the VP process "
                                      "(Biroli, Bonnaire, de Bortoli & Mezard 2024)"),
        Observable("clone_agreement", "mixture: probability that two exact reverse VP trajectories cloned at t_clone "
                                      "end on the same side of the separating hyperplane (1/2 for t_clone >> t_S, "
                                      "1 for t_clone << t_S)"),
    )
    free_energy_name = "free energy (none: closed forms, no saddle point)"
    simulated_observables = ("mean", "variance", "abs_projection", "clone_agreement")
    finite_size_powers = (1,)
    references = (
        # one DDIM step from the exact marginal outputs the denoiser at t = 1:
        # E[x0|x1] = mu + s0^2/(s0^2+sq^2) (x1 - mu), variance s0^4/(s0^2+sq^2)
        Reference({"sampler": "ddim", "steps": 1, "sigma0": 0.5, "sigma_q": 2.0}, "variance",
                  0.25**2 / 4.25, 1e-14, "one step = the posterior mean E[x0|x1] (Tweedie/Gaussian conditioning)"),
        # one DDPM step: the posterior mean plus N(0, sigma_q^2): variance s0^4/(s0^2+sq^2) + sq^2
        Reference({"sampler": "ddpm", "steps": 1, "sigma0": 0.5, "sigma_q": 2.0}, "variance",
                  0.25**2 / 4.25 + 4.0, 1e-13, "Nakkiran et al. Algorithm 2 with one step"),
        # one Euler step of flow matching from N(0, sq^2): x0 = x1 + v_1(x1) = E[x0] = mu: variance 0
        Reference({"sampler": "flow", "steps": 1, "mu": 0.7}, "mean", 0.7, 1e-14,
                  "flow matching, one Euler step: v_1 = E[x0] - x1 (the base is independent of the data)"),
        # mixture data value: E|N(M, s^2)| = M erf(M/(s sqrt 2)) + s sqrt(2/pi) e^{-M^2/(2 s^2)}
        Reference({"data": "mixture", "mu": 1.0, "sigma0": 0.5, "dim": 1}, "abs_projection_data",
                  1.0 * math.erf(2 / math.sqrt(2)) + 0.5 * math.sqrt(2 / math.pi) * math.exp(-2.0), 1e-14,
                  "folded normal mean"),
    )
    quick_compares = ({"params": {"sampler": "ddim", "steps": 20}, "n": [1000, 2000, 4000], "trials": 20,
                       "seed": 1},)
    verify_compares = quick_compares

    def variant(self, params):
        return _variant(params.get("data", "gaussian"), params.get("sampler", "ddim"),
                        params.get("init", "marginal"))()

    def simulated_for(self, params):
        if params.get("data", "gaussian") == "gaussian":
            return ("mean", "variance")
        return ("abs_projection", "clone_agreement")

    def validate(self, params):
        check_steps(params["steps"])

    def free_energy(self, choices):
        return sympy.Integer(0)

    def _symbols(self):
        return {p.name: p.symbol for p in self.parameters if p.kind != "categorical"}

    def _rename(self):
        s = self._symbols()
        return {MU: s["mu"], S0: s["sigma0"], SQ: s["sigma_q"], NS: s["steps"]}

    def limits(self, F, choices):
        data, sampler, init = choices["data"], choices["sampler"], choices["init"]
        s = self._symbols()
        mu, s0, sq, d, n = s["mu"], s["sigma0"], s["sigma_q"], s["dim"], s["steps"]
        rn = self._rename()
        der = derive(sampler_process(sampler), data)
        process_note = ("variance-exploding diffusion x_t = x_0 + sigma_q sqrt(t) z (the tutorial's section 2)"
                        if sampler != "flow" else "linear flow x_t = (1 - t) x_0 + t x_1, x_1 ~ N(0, sigma_q^2)")
        steps = [
            (r"p_t(x)", der["marginal"].xreplace(rn), "marginal of one coordinate, " + process_note),
            (r"\mathbb{E}[x_0 \mid x_t = x]", der["denoiser"].xreplace(rn), "exact denoiser (posterior mean)"),
            (r"\nabla \ln p_t(x)", der["score"].xreplace(rn), "exact score"),
            (r"\frac{dx}{dt}", der["pf_ode"].xreplace(rn), "probability-flow ODE (drift of the deterministic flow)"),
        ]
        if "velocity" in der:
            steps.append((r"v_t(x)", der["velocity"].xreplace(rn), "flow-matching velocity E[x0 - x1 | x_t]"))
        steps.append((r"x_{t_{k-1}}", step_update(sampler, data).xreplace(rn),
                      f"{sampler} step from t_k = k/N (xi standard normal)"))
        if data == "mixture":
            M = mu * sympy.sqrt(d)
            avg, q = clone_agreement_expression()
            tc = s["t_clone"]
            ren = {MU: M, S0: s0, TC: tc}
            spec_steps = ((r"q(y)", q.xreplace({MU: M, S0: s0}).subs(T, tc),
                           "P(y_0 > 0 | y_t = y) for the VP process y_t = e^{-t} y_0 + sqrt(1 - e^{-2t}) z, "
                           "from the derived component posterior and posterior means"),)
            out = {"abs_projection": DerivedLimit(mixture_function(sampler, init)(mu, s0, sq, d, n), tuple(steps)),
                   "abs_projection_data": mixture_abs_data(M, s0),
                   "speciation_time": speciation_time(s0**2 + d * mu**2),
                   "clone_agreement": DerivedLimit(avg.xreplace(ren), spec_steps)}
            return out
        A, B, C = affine_step(sampler)
        mean_f, var_f = moment_formulas(sampler, init)
        steps += [(r"A_k", A.xreplace(rn), "x' = A_k x + B_k + C_k xi (derived)"),
                  (r"B_k", B.xreplace(rn), ""), (r"C_k", C.xreplace(rn), ""),
                  (r"m_N", mean_f.xreplace(rn), "mean after the N steps (product over the steps)"),
                  (r"v_N", var_f.xreplace(rn), "variance after the N steps")]
        Mf = moment_function(sampler, init, 0, "m_N")
        Vf = moment_function(sampler, init, 1, "v_N")
        m, v = Mf(mu, s0, sq, n), Vf(mu, s0, sq, n)
        w2 = gaussian_w2(m, v, mu, s0, d)
        w2_double = gaussian_w2(Mf(mu, s0, sq, 2 * n), Vf(mu, s0, sq, 2 * n), mu, s0, d)
        return {"mean": DerivedLimit(m, tuple(steps)), "variance": v, "kl": gaussian_kl(m, v, mu, s0, d), "w2": w2,
                "error_order": sympy.log(w2 / w2_double) / sympy.log(2)}

    def simulate_trial(self, params, n, rng):
        from replica.simulators.diffusion import sample_trial
        return sample_trial(params, n, rng)


@functools.lru_cache(maxsize=None)
def _variant(data, sampler, init):
    name = f"Diffusion_{data}_{sampler}_{init}"
    simulated = ("mean", "variance") if data == "gaussian" else ("abs_projection", "clone_agreement")
    return type(name, (Diffusion,), {"__module__": __name__, "__qualname__": name,
                                     "simulated_observables": simulated})


def __getattr__(name):            # pickling of the variants (worker processes)
    if name.startswith("Diffusion_"):
        _, data, sampler, init = name.split("_")
        return _variant(data, sampler, init)
    raise AttributeError(name)
