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
* ``flow`` (flow matching, Euler): ``x <- x + dt v_t(x)``;
* ``flow-midpoint`` (flow matching, explicit midpoint / second-order Runge-Kutta):
  ``x_m = x + (dt/2) v_{t_k}(x)``, ``x <- x + dt v_{t_k - dt/2}(x_m)`` (the midpoint rather than Heun's
  method, which would evaluate the velocity at t = 0 on the last step).

The VE samplers start (``init``) from the exact marginal p_1 (``marginal``: the discretisation
error alone) or from the tutorial's N(0, sigma_q^2 I) (``noise``: plus the error of the start).
Flow matching (both integrators) starts from its base N(0, sigma_q^2 I), which is its exact p_1.

Theory: for Gaussian data the denoiser is affine, so every step is an affine map
``x <- A_k x + B_k + C_k xi`` (derived: the coefficients of the update as a polynomial in x and
xi). The generated distribution is Gaussian with mean and variance the products over the steps
``m = (prod A_k) m_1 + sum_k B_k prod_{j<k} A_j`` and ``v = (prod A_k^2) v_1 + sum_k C_k^2
prod_{j<k} A_j^2`` (shown as SymPy Product/Sum; evaluated by the recursion at any precision).
From them the KL divergence and the Wasserstein-2 distance to the data (closed forms for
Gaussians) and the local order of the discretisation error, log2(W2(N)/W2(2N)). DDPM and Euler
flow matching are first order; midpoint flow matching is second order (measured on the mixtures) and
on Gaussian data measured third order at t = 0 (W2 ~ N^-3: the mean is exact, its path being linear
in t, and the N^-2 term of the variance's error vanishes); its velocity is linear in x for Gaussian
data, so its two-stage step is still affine; DDIM is Euler's method in sigma = sigma_q sqrt(t) with steps
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

General data (array parameters; unset arrays keep the isotropic defaults above)
---------------------------------------------------------------------------------
``--set mean=0.3,-1 --set covariance="2,0.5;0.5,1"`` (data=gaussian: N(m, Sigma), Sigma symmetric
positive definite) or ``--set data=mixture --set weights=0.2,0.5,0.3 --set means="1,0;-1,1;0,-1.5"
--set covariances="0.1;0.2,0.05;0.3,0.1,0.1,0.2"`` (sum_a w_a N(m_a, Sigma_a); one row a component:
1 number = a variance times I, dim numbers = a diagonal, dim^2 numbers = the matrix row by row;
weights positive, summing to 1 within 1e-9; unset weights 1/K, means +-mu 1 (K = 2), covariances
sigma0^2 I). :func:`data_spec` validates them.

* Gaussian: the forward noise is isotropic, so in the eigenbasis of Sigma (mpmath ``eigsy`` at 50
  digits) every sampler acts coordinate by coordinate: the one-coordinate recursion with mean
  (U^T m)_i and variance lambda_i gives the generated N(U m_N, U diag(v_N) U^T), which commutes
  with Sigma; KL and W2 are sums over the eigen-coordinates (W2 between commuting covariances);
  ``mahalanobis`` E[(x - m)^T Sigma^-1 (x - m)]/dim checks the eigenstructure in simulation.
* Mixture (:func:`general_derivation`): each component's log-marginal and denoiser are the derived
  one-coordinate ones summed/stacked in its own eigenbasis; the posterior weights are the softmax of
  L_a = ln w_a + ln p_{t,a}; the denoiser sum_a pi_a D_a; the score the SymPy gradient of
  ln sum_a exp(L_a); every sampler step is x' = a_k x + b_k D(x) + c_k xi (:func:`linear_step`,
  derived; flow-midpoint: two such stages, :func:`linear_stages`). Theory (:func:`general_statistics`):
  the mean and variance (averaged over coordinates)
  of the generated samples and their kernel mean E k_data(x), k_data(x) = E_y exp(-|x - y|^2/(2
  ell^2)) (the cross term of the MMD with a Gaussian kernel; the derived one-coordinate Gaussian
  integral in each component's eigenbasis), computed for the deterministic samplers by composite
  Gauss-Legendre quadrature of the start law pushed through the N steps (dim <= 2; 48 panels of 8
  nodes a dimension over +-8 standard deviations: measured change <= 3e-5 when the panels double
  for three narrow components, 1e-11 for broad ones) and for DDPM by the grid density (dim = 1);
  the data's values (N -> oo) in closed form. Elsewhere the theory is a one-line error and the
  samplers can still be simulated.
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
from replica.symbolic import as_expr

MAX_STEPS = 20000
MAX_DIM = 100000
#: largest grid of the DDPM mixture theory (a dense grid x grid kernel each step)
MAX_GRID = 6000
MAX_GRID_WORK = 3e8
SAMPLERS = ("ddim", "ddpm", "flow", "flow-midpoint")
#: the flow-matching samplers (linear flow, started from the base N(0, sigma_q^2 I))
FLOW_SAMPLERS = ("flow", "flow-midpoint")
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


A_GEN, B_GEN = sympy.symbols("alpha beta", positive=True)


@functools.lru_cache(maxsize=None)
def _generic_component():
    """For data N(MU, S0^2) in one coordinate and x = A x0 + B z with generic positive A, B:
    (marginal p(x), posterior mean E[x0|x], posterior variance), derived: the posterior by completing
    the square in x0, the marginal by the Gaussian integral over x0."""
    a, b = A_GEN, B_GEN
    log_joint = -(X0 - MU)**2 / (2 * S0**2) - (X - a * X0)**2 / (2 * b**2)
    d1 = sympy.diff(log_joint, X0)
    post_mean = sympy.solve(d1, X0)[0]
    post_var = sympy.simplify(-1 / sympy.diff(log_joint, X0, 2))
    marginal = sympy.integrate(_gauss(X0, MU, S0**2) * _gauss(X, a * X0, b**2), (X0, -sympy.oo, sympy.oo))
    return sympy.simplify(marginal), post_mean, post_var


@functools.lru_cache(maxsize=None)
def gaussian_component(process):
    """For data N(MU, S0^2) in one coordinate: (marginal p_t(x), posterior mean E[x0|x_t=x],
    posterior variance), derived: the posterior by completing the square in x0, the marginal by
    the Gaussian integral over x0 (with generic positive alpha, beta, substituted afterwards)."""
    marginal, post_mean, post_var = _generic_component()
    alpha, beta = forward(process)
    sub = {A_GEN: alpha, B_GEN: beta}
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
    return "fm" if sampler in FLOW_SAMPLERS else "ve"


XM = sympy.Symbol("x_m", real=True)         # the midpoint stage of flow-midpoint


def midpoint_stages(velocity):
    """(x_m, x') of the explicit midpoint step from t_k to t_{k-1} for the velocity expression (in X, T):
    x_m = x + (dt/2) v(x, t_k) and x' = x + dt v(x_m, t_k - dt/2), the latter written with the symbol XM."""
    xm = X + (DT / 2) * velocity.xreplace({T: TK})
    return xm, X + DT * velocity.xreplace({X: XM, T: TK - DT / 2})


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
    if sampler == "flow-midpoint":
        xm, upd = midpoint_stages(d["velocity"])
        return upd.xreplace({XM: xm})
    raise DerivationError(f"unknown sampler {sampler!r}")


@functools.lru_cache(maxsize=None)
def affine_step(sampler):
    """(A_k, B_k, C_k) with x' = A_k x + B_k + C_k xi for Gaussian data (derived from the update)."""
    if sampler == "flow-midpoint":
        # the composed two-stage update: the derivatives in x and xi (affine iff they are free of both),
        # factored -- SymPy's Poly of the expanded composition takes ~100x longer for the same coefficients
        upd = step_update(sampler, "gaussian")
        A, C = (sympy.factor(sympy.diff(upd, v)) for v in (X, XI))
        if A.has(X, XI) or C.has(X, XI):
            raise DerivationError(f"{sampler}: the step is not affine for Gaussian data")
        return A, sympy.factor(upd.xreplace({X: 0, XI: 0})), C
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
    if sampler in FLOW_SAMPLERS or init == "noise":
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
        if sampler in FLOW_SAMPLERS or init == "noise":
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
    m, v = (0.0, sq**2) if (sampler in FLOW_SAMPLERS or init == "noise") else (mu, s0**2 + sq**2)
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
    if sampler in FLOW_SAMPLERS or init == "noise":
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
def _ident(sampler):
    """The sampler's name as part of a Python identifier (the printed name of a SymPy function)."""
    return sampler.replace("-", "")


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

    name = f"GenMoment_{_ident(sampler)}_{init}_{which}"
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

    name = f"MixtureAbs_{_ident(sampler)}_{init}"
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
# general data: N(m, Sigma), or the mixture sum_a w_a N(m_a, Sigma_a), in dim dimensions
# ---------------------------------------------------------------------------------------------
#: largest dimension with array parameters (typed matrices) and number of mixture components
MAX_ARRAY_DIM = 50
MAX_COMPONENTS = 20
#: eigen-decompositions of the covariances are done in mpmath at this precision
EIG_DPS = 50
#: the deterministic samplers' mixture theory integrates over the start in dim <= QUAD_MAX_DIM
QUAD_MAX_DIM = 2
QUAD_MAX_WORK = 1e9
DD = sympy.Symbol("D", real=True)           # the value of the denoiser, in the generic step
ELL = sympy.Symbol("ell", positive=True)    # the width of the Gaussian kernel
YK = sympy.Symbol("y", real=True)


class DataSpec(tuple):
    """Hashable description of general data: (weights, means, covariances, dim), each entry of the
    first three a tuple of floats/tuples or None (None: the isotropic defaults, 1/K, +-mu 1 or
    mu 1, sigma0^2 I, kept symbolic in mu and sigma0)."""

    def __new__(cls, weights, means, covs, dim):
        return super().__new__(cls, (weights, means, covs, int(dim)))

    weights = property(lambda self: self[0])
    means = property(lambda self: self[1])
    covs = property(lambda self: self[2])
    dim = property(lambda self: self[3])

    @property
    def k(self):
        return len(self.weights)


def _show_rows(rows):
    return ";".join(",".join(f"{float(e):g}" for e in r) for r in rows)


def _symmetric_pd(name, rows, what=""):
    """Check a dim x dim matrix: symmetric (to 1e-12 relative) and positive definite."""
    a = np.array(rows, dtype=float)
    name_value = f"{name}'={_show_rows(rows)}"
    scale = max(np.max(np.abs(a)), 1e-300)
    asym = np.max(np.abs(a - a.T))
    if asym > 1e-12 * scale:
        i, j = np.unravel_index(np.argmax(np.abs(a - a.T)), a.shape)
        raise ParameterError(f"parameter '{name_value}{what} is not symmetric: entry ({i + 1},{j + 1})={a[i, j]:g} but "
                             f"({j + 1},{i + 1})={a[j, i]:g}; allowed: a symmetric positive definite matrix")
    lam = np.linalg.eigvalsh((a + a.T) / 2)
    if lam[0] <= 1e-12 * max(lam[-1], 0.0) or lam[0] <= 0:
        raise ParameterError(f"parameter '{name_value}{what} is not positive definite: smallest eigenvalue "
                             f"{lam[0]:.6g}; "
                             "allowed: a symmetric positive definite matrix (eigenvalues > 1e-12 times the largest)")


def data_spec(params):
    """The :class:`DataSpec` of general data at these parameters, or None for the isotropic defaults
    (data=gaussian without mean/covariance; data=mixture without weights/means/covariances).
    Raises ParameterError (naming the parameter) for inconsistent or invalid arrays."""
    data = params.get("data", "gaussian")
    dim = int(params.get("dim") or 2)
    gauss_set = [n for n in ("mean", "covariance") if params.get(n) is not None]
    mix_set = [n for n in ("weights", "means", "covariances") if params.get(n) is not None]
    if data == "gaussian" and mix_set:
        raise ParameterError(f"parameter {mix_set[0]!r} is for data=mixture; with data=gaussian set mean and "
                             "covariance")
    if data == "mixture" and gauss_set:
        raise ParameterError(f"parameter {gauss_set[0]!r} is for data=gaussian; with data=mixture set weights, "
                             "means and covariances")
    if not gauss_set and not mix_set:
        return None
    if dim > MAX_ARRAY_DIM:
        raise ParameterError(f"parameter 'dim'={dim} is out of range with array parameters; allowed [1, "
                             f"{MAX_ARRAY_DIM}]")

    def check_dim(name, length, what):
        if length != dim:
            raise ParameterError(f"parameter {name!r}: {what} of length {length} does not match dim={dim}; "
                                 f"allowed: length dim (set dim={length})")

    if data == "gaussian":
        mean, cov = params.get("mean"), params.get("covariance")
        if mean is not None:
            check_dim("mean", len(mean), "a vector")
        if cov is not None:
            check_dim("covariance", len(cov), "a matrix with rows")
            if any(len(r) != dim for r in cov):
                raise ParameterError(f"parameter 'covariance' is not a {dim} x {dim} matrix; allowed: dim x dim")
            _symmetric_pd("covariance", cov)
        return DataSpec((1.0,), None if mean is None else (tuple(mean),), None if cov is None else (tuple(cov),), dim)
    weights, means, covs = params.get("weights"), params.get("means"), params.get("covariances")
    sizes = {n: len(v) for n, v in (("weights", weights), ("means", means), ("covariances", covs)) if v is not None}
    if len(set(sizes.values())) > 1:
        raise ParameterError("parameters " + ", ".join(f"{n!r} ({k} components)" for n, k in sizes.items())
                             + " disagree on the number of components K; allowed: the same K in each")
    k = next(iter(sizes.values()))
    if means is None and k != 2:
        raise ParameterError(f"parameter 'means' is unset but K={k} components are given: the default means "
                             "+-mu 1 are two; set means (K rows of dim numbers)")
    if not 1 <= k <= MAX_COMPONENTS:
        raise ParameterError(f"parameter {next(iter(sizes))!r}: K={k} components is out of range; allowed "
                             f"[1, {MAX_COMPONENTS}]")
    if weights is not None:
        if any(not w > 0 for w in weights):
            raise ParameterError(f"parameter 'weights'={','.join(f'{w:g}' for w in weights)} has a weight <= 0; "
                                 "allowed: K positive numbers summing to 1 (within 1e-9)")
        total = math.fsum(weights)
        if abs(total - 1) > 1e-9:
            raise ParameterError(f"parameter 'weights'={','.join(f'{w:g}' for w in weights)} does not sum to one "
                                 f"(sum {total:.12g}); allowed: K positive numbers summing to 1 (within 1e-9)")
        if total != 1:
            weights = tuple(w / total for w in weights)      # within 1e-9 of one: normalised exactly
    else:
        weights = (1.0 / k,) * k
    if means is not None:
        check_dim("means", len(means[0]), "rows")
    full = None
    if covs is not None:
        full = []
        for a, row in enumerate(covs):
            n = len(row)
            if n == 1:
                m = [[row[0] if i == j else 0.0 for j in range(dim)] for i in range(dim)]
            elif n == dim:
                m = [[row[i] if i == j else 0.0 for j in range(dim)] for i in range(dim)]
            elif n == dim * dim:
                m = [list(row[i * dim:(i + 1) * dim]) for i in range(dim)]
            else:
                raise ParameterError(f"parameter 'covariances': row {a + 1} has {n} numbers; allowed per component: "
                                     f"1 (variance times I), dim={dim} (a diagonal) or dim^2={dim * dim} (the "
                                     "matrix, row by row)")
            _symmetric_pd("covariances", m, f" (component {a + 1})")
            full.append(tuple(tuple(float(e) for e in r) for r in m))
        full = tuple(full)
    return DataSpec(tuple(float(w) for w in weights), None if means is None else tuple(tuple(r) for r in means),
                    full, dim)


@functools.lru_cache(maxsize=None)
def _eig(cov):
    """(U, lambdas) of a numeric covariance (tuple of rows), eigsy at EIG_DPS digits, as SymPy Floats."""
    with mpmath.workdps(EIG_DPS):
        # entries as the decimals the user typed (repr of the parsed float), exactly at EIG_DPS digits
        E, Q = mpmath.eigsy(mpmath.matrix([[mpmath.mpf(repr(float(e))) for e in r] for r in cov]))
        n = len(cov)
        lam = [sympy.Float(mpmath.nstr(E[i], EIG_DPS), EIG_DPS) for i in range(n)]
        U = sympy.Matrix(n, n, lambda i, j: sympy.Float(mpmath.nstr(Q[i, j], EIG_DPS), EIG_DPS))
    return U, lam


def _components(spec):
    """[(weight, mean vector, U, lambdas)] with SymPy entries; defaults symbolic in MU, S0."""
    d, out = spec.dim, []
    for a in range(spec.k):
        # numbers as the decimals the user typed (repr of the parsed float)
        w = sympy.Integer(1) if spec.k == 1 else sympy.Float(repr(spec.weights[a]), EIG_DPS)
        if spec.weights[a] == 0.5:
            w = sympy.Rational(1, 2)
        if spec.means is not None:
            m = sympy.Matrix([sympy.Float(repr(e), EIG_DPS) for e in spec.means[a]])
        elif spec.k == 1:
            m = sympy.Matrix([MU] * d)
        else:                                   # the default pair +-mu 1
            m = sympy.Matrix([MU if a == 0 else -MU] * d)
        if spec.covs is not None:
            U, lam = _eig(spec.covs[a])
        else:
            U, lam = sympy.eye(d), [S0**2] * d
        out.append((w, m, U, lam))
    return out


def xs_symbols(d):
    return sympy.symbols(f"x_1:{d + 1}", real=True) if d > 1 else (sympy.Symbol("x_1", real=True),)


@functools.lru_cache(maxsize=None)
def log_marginal_1d(process):
    """ln p_t(x) of one coordinate with data N(MU, S0^2), from the derived marginal: the log expanded
    and the exponent brought to one fraction (no cancellation of large terms)."""
    p, _, _ = gaussian_component(process)
    L = sympy.expand_log(sympy.log(p), force=True)
    return sympy.Add(*[sympy.factor(sympy.cancel(t)) if t.has(X) else t for t in sympy.Add.make_args(L)])


@functools.lru_cache(maxsize=None)
def kernel_1d():
    """E exp(-(x - Y)^2/(2 ell^2)) for Y ~ N(MU, S0^2): sqrt(2 pi) ell times the density at x of
    Y + ell z, i.e. the derived marginal with alpha = 1, beta = ell."""
    marginal, _, _ = _generic_component()
    return sympy.simplify(sympy.sqrt(2 * sympy.pi) * ELL * marginal.subs({A_GEN: 1, B_GEN: ELL}))


def _in_eigenbasis(expr, y, mu, lam):
    return expr.xreplace({X: y, MU: mu, S0: sympy.sqrt(lam)}) if lam != S0**2 else expr.xreplace({X: y, MU: mu})


@functools.lru_cache(maxsize=None)
def general_derivation(spec, process):
    """For general data, derived from the one-coordinate results: each component a is Gaussian, and in
    the eigenbasis of its covariance (U_a, lambda_a) the forward process acts coordinate by coordinate,
    so ln p_{t,a}(x) = sum_i ln p_t(y_i; mu_i, lambda_i) (y = U_a^T x, mu = U_a^T m_a) and
    E[x0 | x_t, a] = U_a (per-coordinate derived denoiser). The mixture's posterior weights are the
    softmax of L_a = ln w_a + ln p_{t,a}; denoiser sum_a pi_a D_a; score the gradient of
    ln sum_a exp(L_a) (SymPy diff); probability-flow drift and flow-matching velocity as in
    :func:`derive`. Returns a dict (expressions in x_1..x_d, T, MU, S0, SQ; numbers at EIG_DPS digits)."""
    d = spec.dim
    xs = sympy.Matrix(xs_symbols(d))
    logp = log_marginal_1d(process)
    _, D1, _ = gaussian_component(process)
    kern = kernel_1d()
    logs, dens, kerns = [], [], []
    for w, m, U, lam in _components(spec):
        y, mu = U.T * xs, U.T * m
        logs.append(sympy.log(w) + sum(_in_eigenbasis(logp, y[i], mu[i], lam[i]) for i in range(d)))
        dens.append(U * sympy.Matrix([_in_eigenbasis(D1, y[i], mu[i], lam[i]) for i in range(d)]))
        kerns.append(w * sympy.Mul(*[_in_eigenbasis(kern, y[i], mu[i], lam[i]) for i in range(d)]))
    alpha, beta = forward(process)
    Z = sum(sympy.exp(L) for L in logs)
    denoiser = sum((sympy.exp(L) * Dv for L, Dv in zip(logs, dens)), sympy.zeros(d, 1)) / Z
    score = sympy.Matrix([sympy.diff(sympy.log(Z), x) for x in xs])
    drift = sympy.diff(alpha, T) * denoiser + sympy.diff(beta, T) * (xs - alpha * denoiser) / beta
    out = {"xs": tuple(xs), "log_weights": logs, "component_denoisers": dens, "denoiser": denoiser,
           "score": score, "pf_ode": drift, "kernel_embedding": sum(kerns)}
    if process == "fm":
        out["velocity"] = denoiser - (xs - alpha * denoiser) / T
    return out


def velocity_from_denoiser(D, x):
    """The flow-matching velocity E[x0 - x1 | x_t = x] in terms of the denoiser D (x1 = (x - (1-t) D)/t)."""
    alpha, _ = forward("fm")
    return D - (x - alpha * D) / T


@functools.lru_cache(maxsize=None)
def linear_step(sampler):
    """(a_k, b_k, c_k) of one step x' = a_k x + b_k D(x, t_k) + c_k xi, the update written with the
    denoiser's value DD (derived: the coefficients of the update as a polynomial in x, DD, xi).
    flow-midpoint evaluates the denoiser twice: see :func:`linear_stages`."""
    if sampler == "flow-midpoint":
        raise DerivationError("flow-midpoint is two stages, each linear: use linear_stages")
    if sampler == "flow":
        upd = X + DT * velocity_from_denoiser(DD, X).subs(T, TK)
    else:
        mean = (DT / TK) * DD + (1 - DT / TK) * X
        if sampler == "ddpm":
            upd = mean + SQ * sympy.sqrt(DT) * XI
        elif sampler == "ddim":
            lam = sympy.sqrt(TK) / (sympy.sqrt(TK - DT) + sympy.sqrt(TK))
            upd = X + lam * (mean - X)
        else:
            raise DerivationError(f"unknown sampler {sampler!r}")
    poly = sympy.Poly(sympy.expand(upd), X, DD, XI)
    if poly.total_degree() > 1:
        raise DerivationError(f"{sampler}: the step is not linear in x, D and xi")
    return tuple(sympy.simplify(poly.coeff_monomial(m)) for m in (X, DD, XI))


@functools.lru_cache(maxsize=None)
def _np_linear_step(sampler):
    return sympy.lambdify([K, NS, SQ], list(linear_step(sampler)), "numpy")


DM = sympy.Symbol("D_m", real=True)         # the denoiser's value at the midpoint stage


@functools.lru_cache(maxsize=None)
def linear_stages(sampler):
    """The deterministic part of one step as stages ((tau, a, e, b), ...): starting from y = x,
    y <- a x + e y + b D(y, t_k - tau dt); the step's noise c_k xi (:func:`linear_step`) comes after.
    One stage for ddpm, ddim, flow; for flow-midpoint x_m = x + (dt/2) v(x, t_k) and
    x' = x + dt v(x_m, t_k - dt/2), v written with the denoiser (:func:`velocity_from_denoiser`), the
    coefficients read off each stage as a polynomial in x, x_m and the denoiser's value (derived)."""
    if sampler != "flow-midpoint":
        a, b, _ = linear_step(sampler)
        return ((sympy.Integer(0), a, sympy.Integer(0), b),)
    xm, upd = midpoint_stages(velocity_from_denoiser(DD, X))
    upd = upd.xreplace({DD: DM})
    out = []
    for tau, expr, den in ((sympy.Integer(0), xm, DD), (sympy.Rational(1, 2), upd, DM)):
        poly = sympy.Poly(sympy.expand(expr), X, XM, den)
        if poly.total_degree() > 1:
            raise DerivationError(f"{sampler}: a stage is not linear in x, x_m and D")
        out.append((tau,) + tuple(sympy.simplify(poly.coeff_monomial(m)) for m in (X, XM, den)))
    return tuple(out)


@functools.lru_cache(maxsize=None)
def _np_stages(sampler):
    return sympy.lambdify([K, NS, SQ], [list(st) for st in linear_stages(sampler)], "numpy")


def apply_stages(sampler, x, k, n, sq, den):
    """The deterministic part of step k of n on points x, with den(y, t) the denoiser."""
    y = x
    for tau, a, e, b in _np_stages(sampler)(float(k), float(n), sq):
        y = a * x + e * y + b * den(y, (k - tau) / n)
    return y


@functools.lru_cache(maxsize=None)
def general_numeric(spec, process):
    """numpy functions of the derived general denoiser and kernel embedding."""
    g = general_derivation(spec, process)
    xs = list(g["xs"])
    args = xs + [T, MU, S0, SQ]
    logs = sympy.lambdify(args, g["log_weights"], "numpy")
    dens = sympy.lambdify(args, [list(Dv) for Dv in g["component_denoisers"]], "numpy")
    kern = sympy.lambdify(xs + [MU, S0, ELL], g["kernel_embedding"], "numpy")

    def denoiser(x, t, mu, s0, sq):
        cols = [x[:, j] for j in range(x.shape[1])]
        shape = x.shape[:1]
        L = np.stack([np.broadcast_to(np.asarray(v, dtype=float), shape) for v in logs(*cols, t, mu, s0, sq)], 1)
        L = L - L.max(axis=1, keepdims=True)
        P = np.exp(L)
        P /= P.sum(axis=1, keepdims=True)
        Ds = dens(*cols, t, mu, s0, sq)
        out = np.zeros(x.shape)
        for a, Dv in enumerate(Ds):
            out += P[:, a:a + 1] * np.stack([np.broadcast_to(np.asarray(v, dtype=float), shape) for v in Dv], 1)
        return out

    def kernel(x, mu, s0, ell):
        return np.broadcast_to(np.asarray(kern(*[x[:, j] for j in range(x.shape[1])], mu, s0, ell), dtype=float),
                               x.shape[:1])

    return denoiser, kernel


def numeric_components(spec, mu, s0):
    """(w (K,), m (K, d), S (K, d, d)) of the data, with the defaults filled in."""
    d, k = spec.dim, spec.k
    w = np.array(spec.weights, dtype=float)
    if spec.means is not None:
        m = np.array(spec.means, dtype=float)
    elif k == 1:
        m = np.full((1, d), float(mu))
    else:
        m = np.array([[float(mu)] * d, [-float(mu)] * d])
    S = np.array(spec.covs, dtype=float) if spec.covs is not None else \
        np.broadcast_to(float(s0)**2 * np.eye(d), (k, d, d)).copy()
    return w, m, S


def _start_law(spec, sampler, init, mu, s0, sq):
    """The start of the sampler as a Gaussian mixture: [(weight, mean, covariance)]."""
    d = spec.dim
    if sampler in FLOW_SAMPLERS or init == "noise":
        return [(1.0, np.zeros(d), sq * sq * np.eye(d))]
    w, m, S = numeric_components(spec, mu, s0)
    return [(w[a], m[a], S[a] + sq * sq * np.eye(d)) for a in range(spec.k)]


def _mixture_pdf(x, law):
    out = np.zeros(x.shape[0])
    for w, m, C in law:
        r = x - m
        sol = np.linalg.solve(C, r.T).T
        out += w * np.exp(-0.5 * np.sum(r * sol, axis=1)) / math.sqrt(np.linalg.det(2 * math.pi * C))
    return out


def _statistics(z, prob, kernel):
    """{mean, variance, kernel_mean} of points z (n, d) with probabilities prob (summing to 1)."""
    m1 = prob @ z
    m2 = prob @ (z * z)
    return {"mean": float(np.mean(m1)), "variance": float(np.mean(m2 - m1 * m1)),
            "kernel_mean": float(prob @ kernel(z))}


@functools.lru_cache(maxsize=256)
def general_statistics(spec, sampler, init, mu, s0, sq, ell, steps, panels=None):
    """Mean, variance (averaged over coordinates) and kernel mean E k_data(x) of the samples generated
    by N steps, double precision. Deterministic samplers: the start law integrated through the derived
    map by composite Gauss-Legendre (tensor product, dim <= 2). DDPM: the density on a grid pushed
    through the map and convolved with the step's noise (dim = 1)."""
    n = check_steps(steps)
    d = spec.dim
    process = sampler_process(sampler)
    den, kern = general_numeric(spec, process)
    law = _start_law(spec, sampler, init, mu, s0, sq)
    kernel = lambda z: kern(z, mu, s0, ell)                                    # noqa: E731
    lo = np.min([m - 8 * np.sqrt(np.diag(C)) for _, m, C in law], axis=0)
    hi = np.max([m + 8 * np.sqrt(np.diag(C)) for _, m, C in law], axis=0)
    if sampler != "ddpm":
        if d > QUAD_MAX_DIM:
            raise DerivationError(f"the theory of a general mixture integrates over the start in dim <= "
                                  f"{QUAD_MAX_DIM} (here dim={d}): simulate only, or use dim <= {QUAD_MAX_DIM}")
        panels = panels or (400 if d == 1 else 48)
        axes = [_legendre_panels(np.linspace(lo[j], hi[j], panels + 1), 8) for j in range(d)]
        if d == 1:
            x, wq = axes[0][0][:, None], axes[0][1]
        else:
            (x1, w1), (x2, w2) = axes
            x = np.stack(np.meshgrid(x1, x2, indexing="ij"), -1).reshape(-1, 2)
            wq = np.outer(w1, w2).ravel()
        if x.shape[0] * n * spec.k * len(linear_stages(sampler)) > QUAD_MAX_WORK:
            raise DerivationError(f"the quadrature of {x.shape[0]} points through {n} steps is too long; use "
                                  f"fewer steps (at most {int(QUAD_MAX_WORK / (x.shape[0] * spec.k))})")
        prob = _mixture_pdf(x, law) * wq
        z = x.copy()
        for k in range(n, 0, -1):
            z = apply_stages(sampler, z, k, n, sq, lambda y, t: den(y, t, mu, s0, sq))
        return _statistics(z, prob / prob.sum(), kernel)
    if d != 1:
        raise DerivationError(f"the DDPM theory of a general mixture propagates the density on a grid in dim = 1 "
                              f"(here dim={d}): use sampler=ddim or flow (dim <= {QUAD_MAX_DIM}), or simulate only")
    c_min = sq * math.sqrt(1.0 / n)
    h = min(c_min / 8, (hi[0] - lo[0]) / 400)
    grid = np.arange(lo[0], hi[0] + h / 2, h)
    if grid.size > MAX_GRID or n * grid.size**2 > MAX_GRID_WORK:
        raise DerivationError(f"the DDPM theory of the mixture needs {n} steps on a grid of {grid.size} points "
                              f"here (at most {MAX_GRID} points and steps * points^2 <= {MAX_GRID_WORK:g}): use "
                              "fewer steps (the grid spacing is sigma_q/(8 sqrt(steps)))")
    p = _mixture_pdf(grid[:, None], law)
    coef = _np_linear_step(sampler)
    for k in range(n, 0, -1):
        a, b, c = (float(v) for v in coef(float(k), float(n), sq))
        fy = a * grid + b * den(grid[:, None], k / n, mu, s0, sq)[:, 0]
        keep = p * h > 1e-300
        kern_ = np.exp(-(grid[:, None] - fy[None, keep])**2 / (2 * c * c)) / (c * math.sqrt(2 * math.pi))
        p = kern_ @ (p[keep] * h)
    prob = p * h
    return _statistics(grid[:, None], prob / prob.sum(), kernel)


@functools.lru_cache(maxsize=None)
def general_function(spec, sampler, init, which):
    """``Name(mu, sigma0, sigma_q, kernel_width, steps)``: a statistic of the generated samples (general mixture)."""

    def imp(mu, s0, sq, ell, steps):
        if _mp_or_float((mu, s0, sq, ell, steps)):
            return mpmath.mpf(general_statistics(spec, sampler, init, float(mu), float(s0), float(sq), float(ell),
                                                 int(round(float(steps))))[which])
        arrays = np.broadcast_arrays(*[np.asarray(a, dtype=float) for a in (mu, s0, sq, ell, steps)])
        out = np.empty(arrays[0].shape)
        for idx in np.ndindex(out.shape):
            v = [float(a[idx]) for a in arrays]
            out[idx] = general_statistics(spec, sampler, init, v[0], v[1], v[2], v[3], int(round(v[4])))[which]
        return out if out.shape else float(out)

    label = {"mean": r"\bar{m}_N", "variance": r"\bar{v}_N", "kernel_mean": r"\kappa_N"}[which]

    def _latex(self, printer, exp=None):
        out = r"%s\left(%s\right)" % (label, ", ".join(printer._print(a) for a in self.args))
        return out if exp is None else r"\left(%s\right)^{%s}" % (out, exp)

    import hashlib
    tag = hashlib.sha256(repr(tuple(spec)).encode()).hexdigest()[:8]
    name = f"GeneralStat_{_ident(sampler)}_{init}_{which}_{tag}"
    return type(name, (Function,), {"nargs": 5, "_imp_": staticmethod(imp), "_latex": _latex,
                                    "__module__": __name__})


def general_data_moments(spec):
    """(mean, variance, kernel mean) of the data itself (the N -> oo values), closed forms: mean and
    variance averaged over coordinates; E k(Y, Y') = sum_ab w_a w_b E k(Y_a - Y'_b), Y_a - Y'_b ~
    N(m_a - m_b, Sigma_a + Sigma_b), by the derived one-coordinate kernel integral in its eigenbasis."""
    d = spec.dim
    comps = _components(spec)
    mean = sum(w * sum(m) for w, m, _, _ in comps) / d
    mbar = sum((w * m for w, m, _, _ in comps), sympy.zeros(d, 1))
    second = sum(w * (sum(lam) + (m.T * m)[0]) for w, m, _, lam in comps)
    variance = (second - (mbar.T * mbar)[0]) / d
    kern = kernel_1d().xreplace({X: 0})
    total = 0
    for a, (wa, ma, Ua, la) in enumerate(comps):
        for b, (wb, mb, Ub, lb) in enumerate(comps):
            if spec.covs is None:
                U, lam = sympy.eye(d), [2 * S0**2] * d
            else:
                S = [[ea + eb for ea, eb in zip(ra, rb)] for ra, rb in zip(spec.covs[a], spec.covs[b])]
                U, lam = _eig(tuple(tuple(r) for r in S))
            delta = U.T * (ma - mb)
            total += wa * wb * sympy.Mul(*[kern.xreplace({MU: delta[i], S0: sympy.sqrt(lam[i])}) for i in range(d)])
    return mean, variance, total


def general_gaussian_parts(spec):
    """(c, mu', lambda) of general Gaussian data: the eigenbasis coordinates of the mean, the eigenvalues,
    and c = U^T 1 (so that the coordinate average of a vector U v is c.v / d)."""
    (w, m, U, lam), = _components(spec)
    ones = sympy.Matrix([1] * spec.dim)
    return list(U.T * ones), list(U.T * m), lam


# ---------------------------------------------------------------------------------------------
# the model
# ---------------------------------------------------------------------------------------------
class Diffusion(Model):
    name = "diffusion"
    title = "Diffusion and flow-matching samplers with the exact score (Nakkiran et al. 2024)"
    description = ("Gaussian or mixture data in dim dimensions (isotropic by default, or means, covariances and "
                   "weights as array parameters); the tutorial's variance-exploding "
                   "diffusion and linear flow matching; DDPM, DDIM and flow-matching (Euler and midpoint) samplers "
                   "with the exact "
                   "(SymPy-derived) denoiser for a number of steps. Gaussian data: the exact mean and variance of the "
                   "generated samples (products over the steps), KL and Wasserstein-2 to the data and the order of "
                   "the discretisation error (general covariances: in their eigenbasis); symmetric mixture: "
                   "E|projection on the mean direction| and the speciation time; general mixture: mean, variance "
                   "and kernel mean of the generated samples by quadrature (dim <= 2). Simulated by running the "
                   "samplers.")
    parameters = (
        Parameter("data", "data distribution: gaussian N(mu 1, sigma0^2 I) or the mixture of N(+-mu 1, sigma0^2 I)",
                  default="gaussian", kind="categorical", choices=DATA),
        Parameter("sampler", "ddpm (stochastic), ddim (deterministic), flow (flow matching, Euler: first order) "
                  "or flow-midpoint (flow matching, explicit midpoint / RK2: second order)",
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
        Parameter("kernel_width", "width ell of the Gaussian kernel exp(-|x - y|^2/(2 ell^2)) of the kernel-mean "
                  "statistic (general mixture)", POSITIVE, 1.0, latex="ell"),
        Parameter("mean", "data=gaussian: the mean vector m (unset: mu 1)", kind="array", shape="vector",
                  shape_text="dim numbers", latex="m"),
        Parameter("covariance", "data=gaussian: the covariance matrix Sigma (unset: sigma0^2 I)", kind="array",
                  shape="matrix", shape_text="dim x dim, symmetric positive definite", latex="Sigma"),
        Parameter("weights", "data=mixture: the weights of the K components (unset: 1/K)", kind="array",
                  shape="vector", shape_text="K positive numbers summing to 1", latex="w"),
        Parameter("means", "data=mixture: the means of the K components, one row each (unset: +-mu 1, K = 2)",
                  kind="array", shape="matrix", shape_text="K rows of dim numbers", latex="m_a"),
        Parameter("covariances", "data=mixture: the covariances of the K components, one row each: 1 number "
                  "(a variance times I), dim numbers (a diagonal) or dim^2 numbers (the matrix row by row); unset: "
                  "sigma0^2 I", kind="array", shape="rows",
                  shape_text="K rows of 1, dim or dim^2 numbers, symmetric positive definite", latex="Sigma_a"),
    )
    order_parameters = ()
    observables = (
        Observable("mean", "mean of a coordinate of the generated samples, averaged over the coordinates (Gaussian "
                           "data, general mixture)"),
        Observable("variance", "variance of a coordinate of the generated samples, averaged over the coordinates "
                               "(Gaussian data, general mixture)"),
        Observable("mahalanobis", "E[(x - m)^T Sigma^-1 (x - m)]/dim of the generated samples, m and Sigma those of "
                                  "the data (Gaussian data; 1 for the data itself)"),
        Observable("kernel_mean", "E k_data(x) of the generated samples, k_data(x) = E_y exp(-|x - y|^2/(2 ell^2)) "
                                  "over the data (general mixture)"),
        Observable("kernel_mean_data", "E k_data(y) over the data itself (general mixture; the N -> oo value)"),
        Observable("mean_data", "mean of a coordinate of the data, averaged over the coordinates (general mixture)"),
        Observable("variance_data", "variance of a coordinate of the data, averaged over the coordinates (general "
                                    "mixture)"),
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
        # one midpoint step: x_m = (x + mu)/2 at t = 1/2, x' = x + v_{1/2}(x_m) = mu + 2 s0^2 x/(s0^2 + sq^2),
        # x ~ N(0, sq^2): variance 4 s0^4 sq^2/(s0^2 + sq^2)^2
        Reference({"sampler": "flow-midpoint", "steps": 1}, "variance", 4 * 0.25**2 * 4.0 / 4.25**2, 1e-14,
                  "flow matching, one explicit-midpoint step, by hand (the denoiser at t = 1/2)"),
        # general Gaussian, one DDIM step from the exact marginal = E[x0|x1]: covariance S (S + sq^2 I)^-1 S,
        # eigenvalues lambda^2/(lambda + 4) with lambda = (3 +- sqrt 2)/2 for S = [[2, 0.5], [0.5, 1]]
        Reference({"sampler": "ddim", "steps": 1, "covariance": "2,0.5;0.5,1"}, "variance",
                  sum(lam**2 / (lam + 4) for lam in ((3 + math.sqrt(2)) / 2, (3 - math.sqrt(2)) / 2)) / 2, 1e-14,
                  "one step = the posterior mean E[x0|x1] (Gaussian conditioning), in the eigenbasis"),
        # general mixture data: variance averaged over coordinates, sum_a w_a (tr S_a + |m_a|^2) - |mbar|^2
        Reference({"data": "mixture", "weights": "0.25,0.75", "means": "2,0;0,1", "covariances": "1;0.5"},
                  "variance_data", (0.25 * (2 + 4) + 0.75 * (1 + 1) - (0.25 + 0.5625)) / 2, 1e-14,
                  "mixture moments: E x = sum w m, E|x|^2 = sum w (tr S + |m|^2)"),
        # mixture data value: E|N(M, s^2)| = M erf(M/(s sqrt 2)) + s sqrt(2/pi) e^{-M^2/(2 s^2)}
        Reference({"data": "mixture", "mu": 1.0, "sigma0": 0.5, "dim": 1}, "abs_projection_data",
                  1.0 * math.erf(2 / math.sqrt(2)) + 0.5 * math.sqrt(2 / math.pi) * math.exp(-2.0), 1e-14,
                  "folded normal mean"),
    )
    quick_compares = ({"params": {"sampler": "ddim", "steps": 20}, "n": [1000, 2000, 4000], "trials": 20,
                       "seed": 1},)
    verify_compares = quick_compares + (
        {"params": {"covariance": "2,0.5;0.5,1", "mean": "1,-1", "sampler": "ddpm", "steps": 10},
         "n": [1000, 2000, 4000], "trials": 10, "seed": 2},
        {"params": {"data": "mixture", "weights": "0.2,0.5,0.3", "means": "1,0;-1,1;0,-1.5",
                    "covariances": "0.1;0.2,0.05;0.3,0.1,0.1,0.2", "sampler": "ddim", "steps": 5},
         "n": [1000, 2000, 4000], "trials": 10, "seed": 3},
    )

    def variant(self, params):
        return _variant(params.get("data", "gaussian"), params.get("sampler", "ddim"),
                        params.get("init", "marginal"))()

    def simulated_for(self, params):
        if params.get("data", "gaussian") == "gaussian":
            return ("mean", "variance", "mahalanobis")
        if data_spec(params) is not None:
            return ("mean", "variance", "kernel_mean")
        return ("abs_projection", "clone_agreement")

    def validate(self, params):
        check_steps(params["steps"])
        data_spec(params)

    def choices(self, params):
        """Categorical and array parameters; with general data also ``dim`` (the derivation is written in
        x_1..x_dim: the number of coordinates must be known)."""
        out = super().choices(params)
        if data_spec(params) is not None:
            out["dim"] = int(params["dim"])
        return out

    def free_energy(self, choices):
        return sympy.Integer(0)

    def _symbols(self):
        return {p.name: p.symbol for p in self.real_parameters}

    def _rename(self):
        s = self._symbols()
        return {MU: s["mu"], S0: s["sigma0"], SQ: s["sigma_q"], NS: s["steps"], ELL: s["kernel_width"]}

    def _process_steps(self, der, sampler, data, rn):
        process_note = ("variance-exploding diffusion x_t = x_0 + sigma_q sqrt(t) z (the tutorial's section 2)"
                        if sampler not in FLOW_SAMPLERS
                        else "linear flow x_t = (1 - t) x_0 + t x_1, x_1 ~ N(0, sigma_q^2)")
        steps = [
            (r"p_t(x)", der["marginal"].xreplace(rn), "marginal of one coordinate, " + process_note),
            (r"\mathbb{E}[x_0 \mid x_t = x]", der["denoiser"].xreplace(rn), "exact denoiser (posterior mean)"),
            (r"\nabla \ln p_t(x)", der["score"].xreplace(rn), "exact score"),
            (r"\frac{dx}{dt}", der["pf_ode"].xreplace(rn), "probability-flow ODE (drift of the deterministic flow)"),
        ]
        if "velocity" in der:
            steps.append((r"v_t(x)", der["velocity"].xreplace(rn), "flow-matching velocity E[x0 - x1 | x_t]"))
        if sampler == "flow-midpoint":
            xm, upd = midpoint_stages(der["velocity"])
            steps.append((r"x_m", xm.xreplace(rn), "flow-midpoint (explicit midpoint, second order): half an Euler "
                          "step from t_k = k/N"))
            steps.append((r"x_{t_{k-1}}", upd.xreplace(rn), "the step with the velocity at the midpoint "
                          "(x_m, t_k - 1/(2N))"))
        else:
            steps.append((r"x_{t_{k-1}}", step_update(sampler, data).xreplace(rn),
                          f"{sampler} step from t_k = k/N (xi standard normal)"))
        return steps

    def limits(self, F, choices):
        data, sampler, init = choices["data"], choices["sampler"], choices["init"]
        s = self._symbols()
        mu, s0, sq, d, n = s["mu"], s["sigma0"], s["sigma_q"], s["dim"], s["steps"]
        rn = self._rename()
        spec = data_spec(choices) if "dim" in choices else None
        if spec is not None:
            return self._general_limits(spec, data, sampler, init, rn)
        der = derive(sampler_process(sampler), data)
        steps = self._process_steps(der, sampler, data, rn)
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
                "mahalanobis": (v + (m - mu)**2) / s0**2,
                "error_order": sympy.log(w2 / w2_double) / sympy.log(2)}

    def _general_limits(self, spec, data, sampler, init, rn):
        s = self._symbols()
        sq, n, ell = s["sigma_q"], s["steps"], s["kernel_width"]
        d = spec.dim
        if data == "gaussian":
            # every sampler acts coordinate by coordinate in the eigenbasis of Sigma: the one-coordinate
            # recursion with mean (U^T m)_i and variance lambda_i
            c, mus, lams = general_gaussian_parts(spec)
            mus = [as_expr(m).xreplace(rn) for m in mus]
            lams = [as_expr(lam).xreplace(rn) for lam in lams]
            sds = [sympy.sqrt(lam) for lam in lams]
            Mf = moment_function(sampler, init, 0, "m_N")
            Vf = moment_function(sampler, init, 1, "v_N")

            def moments(steps):
                return [Mf(m, sd, sq, steps) for m, sd in zip(mus, sds)], [Vf(m, sd, sq, steps) for m, sd in
                                                                             zip(mus, sds)]

            M, V = moments(n)
            M2, V2 = moments(2 * n)
            w2 = sympy.sqrt(sum((m - a)**2 + (sympy.sqrt(v) - sd)**2 for m, v, a, sd in zip(M, V, mus, sds)))
            w2_double = sympy.sqrt(sum((m - a)**2 + (sympy.sqrt(v) - sd)**2
                                       for m, v, a, sd in zip(M2, V2, mus, sds)))
            kl = sum(((v + (m - a)**2) / lam - 1 - sympy.log(v / lam)) / 2 for m, v, a, lam in zip(M, V, mus, lams))
            maha = sum((v + (m - a)**2) / lam for m, v, a, lam in zip(M, V, mus, lams)) / d
            der = derive(sampler_process(sampler), "gaussian")
            steps = [(r"\lambda_i", sympy.Tuple(*[lam.evalf(8) for lam in lams]),
                      "eigenvalues of the covariance (mpmath eigsy at 50 digits)"),
                     (r"U^T m", sympy.Tuple(*[as_expr(m).evalf(8) for m in mus]),
                      "the mean in the eigenbasis; below, one eigen-coordinate i with mu -> (U^T m)_i, "
                      "sigma_0^2 -> lambda_i")]
            steps += self._process_steps(der, sampler, "gaussian", rn)
            mean = sum(ci * m for ci, m in zip(c, M)) / d
            return {"mean": DerivedLimit(mean, tuple(steps)), "variance": sum(V) / d, "kl": kl, "w2": w2,
                    "mahalanobis": maha, "error_order": sympy.log(w2 / w2_double) / sympy.log(2)}
        g = general_derivation(spec, sampler_process(sampler))
        short = lambda e: e.xreplace(rn).evalf(6)                                      # noqa: E731
        steps = []
        for a, (L, Dv) in enumerate(zip(g["log_weights"], g["component_denoisers"])):
            steps.append((r"L_{%d}(x)" % (a + 1), short(L),
                          f"ln w_a + ln p_t,a(x), component {a + 1}, summed over its eigen-coordinates (numbers "
                          "to 6 digits here)"))
            steps.append((r"\mathbb{E}[x_0 \mid x_t = x, %d]" % (a + 1), short(Dv),
                          "the component's denoiser, derived coordinate by coordinate in its eigenbasis"))
        pi = sympy.Function("pi")
        Dsym = sympy.Function("D")
        Ka = sympy.Symbol("K", positive=True, integer=True)
        ia = sympy.Symbol("a", positive=True, integer=True)
        steps.append((r"\mathbb{E}[x_0 \mid x_t = x]", sympy.Sum(pi(ia) * Dsym(ia), (ia, 1, Ka)),
                      "the mixture's denoiser: pi_a = exp(L_a)/sum_b exp(L_b), D_a the component denoisers"))
        steps.append((r"\nabla \ln p_t(x)", short(g["score"]),
                      "exact score: the SymPy gradient of ln sum_a exp(L_a(x))"))
        if "velocity" in g:
            steps.append((r"v_t(x)", short(g["velocity"]),
                          "flow-matching velocity E[x0 - x1 | x_t] = D - (x - (1 - t) D)/t"))
        if sampler == "flow-midpoint":
            (_, a1, _, b1), (_, a2, e2, b2) = linear_stages(sampler)
            steps.append((r"x_m", (a1 * X + b1 * DD).xreplace(rn),
                          "flow-midpoint (explicit midpoint, second order): half an Euler step, D the denoiser at "
                          "t_k = k/N"))
            steps.append((r"x_{t_{k-1}}", (a2 * X + e2 * XM + b2 * DM).xreplace(rn),
                          "the step with the velocity at the midpoint, D_m the denoiser at (x_m, t_k - 1/(2N))"))
        else:
            a_k, b_k, c_k = linear_step(sampler)
            steps.append((r"x_{t_{k-1}}", (a_k * X + b_k * DD + c_k * XI).xreplace(rn),
                          f"{sampler} step, D the denoiser at t_k = k/N (xi standard normal)"))
        mean_d, var_d, kern_d = general_data_moments(spec)
        fn = {w: general_function(spec, sampler, init, w) for w in ("mean", "variance", "kernel_mean")}
        args = (s["mu"], s["sigma0"], sq, ell, n)
        return {"mean": DerivedLimit(fn["mean"](*args), tuple(steps)), "variance": fn["variance"](*args),
                "kernel_mean": fn["kernel_mean"](*args),
                "kernel_mean_data": as_expr(kern_d).xreplace(rn),
                "mean_data": as_expr(mean_d).xreplace(rn), "variance_data": as_expr(var_d).xreplace(rn)}

    def simulate_trial(self, params, n, rng):
        from replica.simulators.diffusion import sample_trial
        return sample_trial(params, n, rng)


@functools.lru_cache(maxsize=None)
def _variant(data, sampler, init):
    name = f"Diffusion_{data}_{sampler}_{init}"
    simulated = ("mean", "variance", "mahalanobis") if data == "gaussian" else ("abs_projection", "clone_agreement")
    return type(name, (Diffusion,), {"__module__": __name__, "__qualname__": name,
                                     "simulated_observables": simulated})


def __getattr__(name):            # pickling of the variants (worker processes)
    if name.startswith("Diffusion_"):
        _, data, sampler, init = name.split("_")
        return _variant(data, sampler, init)
    raise AttributeError(name)
