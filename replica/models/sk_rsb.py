"""Sherrington-Kirkpatrick beyond replica symmetry: one-step (``rsb=1``) and full (``rsb=full``) RSB.

G. Parisi, "Infinite number of order parameters for spin-glasses", Phys. Rev. Lett. 43, 1754
(1979) and "The order parameter for spin glasses: a function on the interval 0-1", J. Phys. A
13, 1101 (1980); textbook form: M. Mezard, G. Parisi and M. A. Virasoro, "Spin Glass Theory
and Beyond" (World Scientific, 1987), ch. III; H. Nishimori, "Statistical Physics of Spin
Glasses and Information Processing" (Oxford, 2001), sec. 3.2.

k-step RSB with overlaps q_0 <= ... <= q_k and Parisi breakpoints 0 < m_1 <= ... <= m_k < 1
(m_0 = 0, m_{k+1} = 1; q(x) = q_j on (m_j, m_{j+1})) gives the free energy per spin

    f = -(beta/4) [(1 - q_k)^2 - sum_j m_j (q_j^2 - q_{j-1}^2)] - T int Dz phi_1(h + sqrt(q_0) z),
    phi_{k+1}(y) = ln 2cosh(beta y),
    phi_j(y) = (1/m_j) ln int Dz exp(m_j phi_{j+1}(y + sqrt(q_j - q_{j-1}) z)),

which is maximised over the q's and m's (Guerra's bound: the Parisi functional bounds -beta f
from above for every order parameter; Talagrand proved equality at the optimum). ``rsb=1`` is
k = 1 in (q0, q1, x = m_1):

    f = -(beta/4) [(1 - q1)^2 - x (q1^2 - q0^2)] - (T/x) int Dz0 ln int Dz1 [2cosh(beta xi)]^x,
    xi = h + sqrt(q0) z0 + sqrt(q1 - q0) z1.

The symbolic layer cannot compile these nested averages yet (``replica.symbolic.kinks`` returns,
for the outer variable, a kink position that contains the inner integration variable), so the
free energy is written numerically here with the package's graded quadrature (``kink_rule``), and
the saddle-point equations are its gradient integrated by parts by hand:

    -2T/(1-x) df/dq1 = q1 - <<tanh^2>>,      -2T/x df/dq0 = q0 - int Dz0 <tanh>^2,
    4T df/dx = q1^2 - q0^2 - (2T/x)^2 int Dz0 [x <ln 2cosh> - ln int Dz1 (2cosh)^x],

with <.> the inner average weighted by (2cosh)^x (tests/test_sk_rsb.py checks these against
finite differences of f, and f against nested adaptive quadrature).

Full RSB (``rsb=full``): k-step RSB for k = 1..4, each maximised over its 2k + 1 order parameters
(BFGS in unconstrained variables that keep the q's and m's ordered, started from the k - 1
solution with each plateau of q(x) split in turn; the best maximum is kept),
with the Parisi recursion evaluated on a grid in y (every psi_j is even in y: a grid of y >= 0;
cubic splines; each level a Gaussian convolution), then extrapolated to k -> oo by a power law
e_k = e_oo + A k^-p through the last three k. ``discretisation_error`` is the change of the
extrapolated value when the last k is added (or the last change of e_k where the e_k do not follow
a power law); at T = 0 it is 6e-5 and the true error 1.6e-5 (Crisanti & Rizzo 2002:
e_0 = -0.763166726). Where RS is stable (T >= 1 at h = 0, above the AT line) the Parisi solution
is the RS one and is returned as such (k = 0).

The RSB variants have no order parameters for the package's generic solver: the free energy and
every observable are SymPy functions of (T, h) implemented by these numerics (they compile to
numpy and mpmath, but carry double precision only: above ``replica.solver.LIMIT_DPS`` working
digits, i.e. with ``--dps``, they return NaN rather than digits they do not have).

Zero temperature: with u_j = beta m_j finite and q_k = 1, T phi_j -> psi_j with psi_{k+1}(y) = |y|
and psi_j(y) = (1/u_j) ln int Dz exp(u_j psi_{j+1}(y + sqrt(q_j - q_{j-1}) z)); the last level is
in closed form, int Dz exp(u |a + b z|) = e^{u^2 b^2/2} [e^{u a} H(-a/b - u b) + e^{-u a} H(a/b - u b)],
and e_0 = (1/4) sum_j u_j (q_j^2 - q_{j-1}^2) - int Dz psi_1(h + sqrt(q_0) z), maximised.
"""
from __future__ import annotations

import functools
import math

import mpmath
import numpy as np
import scipy.optimize as so
import scipy.special as sc
import sympy
from sympy.utilities.lambdify import implemented_function

from ..errors import ConvergenceError, ParameterError
from ..model import DerivedLimit
from ..numeric import hermite_rule, kink_rule
from ..symbolic import GaussianAverage, LogTwoCosh

# ---------------------------------------------------------------------------
# 1RSB at finite temperature: nested quadrature
# ---------------------------------------------------------------------------
#: an integrand whose transition width (in units of the Gaussian variable) is at least this wide
#: is smooth enough for 60-node Gauss-Hermite (measured: [2cosh(z/w)]^0.6 to 4e-16 at w = 2,
#: but 3e-7 at w = 0.5: the branch points of cosh^x at z = i pi w/2 limit Gauss-Hermite)
SMOOTH_WIDTH = 2.0
SMOOTH_NODES = 60


def _rule(z0, width):
    """Nodes and weights of int Dz for integrands with a transition at ``z0`` of width ``width``
    (arrays of one shape): Gauss-Hermite if every width is wide, else the graded ``kink_rule``."""
    if bool(np.all(np.nan_to_num(width, nan=np.inf) >= SMOOTH_WIDTH)):
        x, w = hermite_rule(SMOOTH_NODES)
        return np.broadcast_to(x, z0.shape + x.shape), np.broadcast_to(w, z0.shape + w.shape)
    return kink_rule(z0, width)


def one_rsb_averages(q0, q1, x, T, h):
    """The averages of the 1RSB free energy at (q0, q1, x; T, h) (numpy, broadcasting).

    Returns a dict of arrays: ``lnZ`` = int Dz0 ln int Dz1 (2cosh beta xi)^x, ``Q1`` = <<tanh^2>>,
    ``Q0`` = int Dz0 <tanh>^2, ``M`` = int Dz0 <tanh>, ``KL`` = int Dz0 [x <ln 2cosh> - ln Z1]."""
    q0, q1, x, T, h = (np.asarray(v, dtype=float) for v in np.broadcast_arrays(q0, q1, x, T, h))
    with np.errstate(all="ignore"):
        b = np.sqrt(q1 - q0)
        s0 = np.sqrt(q0)
        # outer: <tanh>(h + sqrt(q0) z0) changes on the scale sqrt(T^2 + b^2) in h + sqrt(q0) z0
        z0, w0 = _rule(-h / s0, np.sqrt(T**2 + b**2) / s0)
        a = h[..., None] + s0[..., None] * z0
        zs = -a / b[..., None]
        z1, w1 = _rule(zs, np.broadcast_to((T / b)[..., None], zs.shape))
        y = (a[..., None] + b[..., None, None] * z1) / T[..., None, None]
        ay = np.abs(y)
        ex = np.exp(-2 * ay)
        L = ay + np.log1p(ex)                          # ln 2cosh y
        th = np.sign(y) * (1 - ex) / (1 + ex)          # tanh y
        e = x[..., None, None] * L
        top = e.max(axis=-1, keepdims=True)
        p = w1 * np.exp(e - top)
        Z = p.sum(axis=-1)
        p = p / Z[..., None]
        lnZ = np.log(Z) + top[..., 0]
        u = (p * th).sum(axis=-1)
        t2 = (p * th * th).sum(axis=-1)
        Lm = (p * L).sum(axis=-1)

        def outer(f):
            return (w0 * f).sum(axis=-1)

        return {"lnZ": outer(lnZ), "Q1": outer(t2), "Q0": outer(u * u), "M": outer(u),
                "KL": outer(x[..., None] * Lm - lnZ)}


def one_rsb_free_energy(q0, q1, x, T, h, avg=None):
    avg = one_rsb_averages(q0, q1, x, T, h) if avg is None else avg
    return -(1 - q1)**2 / (4 * T) + x * (q1**2 - q0**2) / (4 * T) - T / x * avg["lnZ"]


def one_rsb_equations(q0, q1, x, T, h, avg=None):
    """The scaled gradient: (q0 - Q0, q1 - Q1, q1^2 - q0^2 - (2T/x)^2 KL)."""
    avg = one_rsb_averages(q0, q1, x, T, h) if avg is None else avg
    return [q0 - avg["Q0"], q1 - avg["Q1"], q1**2 - q0**2 - (2 * T / x)**2 * avg["KL"]]


#: the factors relating each equation to df/d(order parameter): -2T/x, -2T/(1-x), 4T
def one_rsb_scales(q0, q1, x, T, h):
    return [-2 * T / x, -2 * T / (1 - x), 4 * T]


def one_rsb_outputs(q0, q1, x, T, h):
    """Free energy and the observables of :data:`ONE_RSB_OBSERVABLES` (in that order)."""
    avg = one_rsb_averages(q0, q1, x, T, h)
    f = one_rsb_free_energy(q0, q1, x, T, h, avg)
    # energy = d(beta f)/d(beta) at the saddle point, integrated by parts (tested against a finite
    # difference): -(beta/2)[1 - x q0^2 - (1 - x) q1^2] - h M, written without large cancellations
    energy = -(1 - q1**2) / (2 * T) - x * (q1**2 - q0**2) / (2 * T) - h * avg["M"]
    return {"q0": q0, "q1": q1, "x": x, "m": avg["M"], "free_energy": f, "energy": energy,
            "entropy": (energy - f) / T}


ONE_RSB_OBSERVABLES = ("q0", "q1", "x", "m", "free_energy", "energy", "entropy")


def _rs_q(T, h):
    """The RS overlap (the package's RS model; a starting point and the RS fallback)."""
    from ..models.sk import SK
    from ..solver import solve
    model = SK()
    return solve(model, model.resolve({"T": T, "h": h, "rsb": "0"}))


#: a 1RSB solution must satisfy its scaled equations to this (they are O(1))
ONE_RSB_TOL = 1e-11


@functools.lru_cache(maxsize=256)
def solve_one_rsb(T: float, h: float) -> dict:
    """The 1RSB saddle point at (T, h): the solution of the three equations with q1 > q0 of
    largest free energy among several starts (the Parisi functional is maximised).

    Solved in (s, d, x) with q0 = s^2, q1 = s^2 + d^2 (keeps 0 <= q0 <= q1). Where no broken
    solution exists (RS stable: T >= 1 at h = 0, or above the AT line) the 1RSB saddle is the RS
    one: q0 = q1 = q_RS and the breakpoint x is undefined (NaN)."""
    rs = _rs_q(T, h)
    q = float(rs.order_parameters["q"])
    starts = [(0.8 * q, q + 0.1 * (1 - q), min(0.9, 1.2 * T)), (0.5 * q, q, 0.5 * T),
              (0.0, max(q, 0.05), min(0.9, 1.5 * T)), (0.48, q + 0.5 * (1 - q), min(0.9, 1.36 * T))]

    def eqs(v):
        s, d, x = v
        q0, q1 = s * s, s * s + d * d
        if not (q1 < 1 and 0 < x < 1 and d != 0):
            return np.full(3, 1e3)
        return np.array([float(e) for e in one_rsb_equations(q0, q1, x, T, h)])

    found = []
    for q0, q1, x in starts:
        v0 = [math.sqrt(max(q0, 0.0)), math.sqrt(max(q1 - q0, 1e-4)), x]
        r = so.root(eqs, v0, method="hybr", options={"xtol": 1e-14})
        s, d, x = r.x
        res = float(np.max(np.abs(eqs(r.x))))
        if res < ONE_RSB_TOL and d * d > 1e-7:
            q0, q1 = s * s, s * s + d * d
            found.append((float(one_rsb_free_energy(q0, q1, x, T, h)), q0, q1, x, res))
    if found:
        f, q0, q1, x, res = max(found)
        out = {k: float(v) for k, v in one_rsb_outputs(q0, q1, x, T, h).items()}
        out["residual"] = res
        return out
    if rs.stability["stable"]:
        out = {k: float(rs.observables[k]) for k in ("m", "free_energy", "energy", "entropy")}
        out.update(q0=q, q1=q, x=float("nan"), residual=float(rs.residual))
        return out
    raise ConvergenceError(f"sk rsb=1 at T={T:g}, h={h:g}: no 1RSB solution with q1 > q0 found from "
                           f"{len(starts)} starts, and RS is unstable here")


# ---------------------------------------------------------------------------
# 1RSB at zero temperature (u = beta x finite, q1 = 1): one Gaussian average
# ---------------------------------------------------------------------------
def zero_temperature_one_rsb(q0, u, h, nodes=120):
    """e_0(q0, u; h) = (u/4)(1 - q0^2) - (1/u) int Dz ln int Dz1 exp(u |h + sqrt(q0) z + sqrt(1-q0) z1|)."""
    z, w = hermite_rule(nodes)
    a = h + np.sqrt(q0) * z
    b = np.sqrt(1 - q0)
    with np.errstate(divide="ignore", invalid="ignore"):
        inner = u * u * b * b / 2 + np.logaddexp(u * a + sc.log_ndtr(a / b + u * b),
                                                 -u * a + sc.log_ndtr(-a / b + u * b))
    return u / 4 * (1 - q0 * q0) - float(np.sum(w * inner)) / u


@functools.lru_cache(maxsize=256)
def ground_state_one_rsb(h: float) -> dict:
    """Maximise e_0(q0, u; h) over q0 in [0, 1), u > 0 (Nelder-Mead in sqrt(q0)/ln u, polished)."""
    best = None
    for s0, lu in ((0.7, 0.3), (0.1, -0.2), (0.95, 1.0)):
        # u is kept above U_MIN: (1/u) int ln(...) cancels to O(eps/u) as u -> 0 (and divides by 0)
        r = so.minimize(lambda v: -zero_temperature_one_rsb(min(v[0] ** 2, 1 - 1e-12), max(math.exp(v[1]), U_MIN), h),
                        [s0, lu], method="Nelder-Mead",
                        options={"xatol": 1e-11, "fatol": 1e-15, "maxiter": 4000})
        if best is None or r.fun < best.fun:
            best = r
    s, lu = best.x
    if math.exp(lu) <= 1.01 * U_MIN:
        raise ConvergenceError(f"sk rsb=1 ground state at h={h:g}: the optimal u = beta x runs to 0 (below {U_MIN:g}), "
                               "where the 1RSB energy cannot be evaluated in double precision; last iterate "
                               f"q0={min(s * s, 1.0):.17g}, u={math.exp(lu):.3g}", residual=float("nan"),
                               last_iterate={"q0": min(s * s, 1.0), "u": math.exp(lu)})
    return {"ground_state_energy": -float(best.fun), "q0": float(min(s * s, 1.0)), "u": math.exp(lu)}


#: smallest u = beta x of the zero-temperature 1RSB energy (see ground_state_one_rsb)
U_MIN = 1e-6


# ---------------------------------------------------------------------------
# k-step RSB at zero temperature on a grid, and its k -> oo extrapolation (full RSB)
# ---------------------------------------------------------------------------
#: grid of the Parisi function psi_j(y): step, half-width beyond |h| (psi ~ |y| + const beyond,
#: used to extrapolate), Gauss-Hermite nodes of each Gaussian convolution. Measured: the k = 1
#: energy on the grid differs from the closed form by 2e-8 (dy = 0.02, 40 nodes).
GRID_STEP = 0.02
GRID_HALF = 9.0
CONV_NODES = 40
#: steps of RSB used for the full-RSB extrapolation
FULL_RSB_STEPS = 4


def _top_level(y, u, b):
    """u psi_k(y) = ln int Dz exp(u |y + b z|), in closed form (stable with log_ndtr)."""
    with np.errstate(divide="ignore"):
        return u * u * b * b / 2 + np.logaddexp(u * y + sc.log_ndtr(y / b + u * b),
                                                -u * y + sc.log_ndtr(-y / b + u * b))


#: the lattice (trapezoid) convolution needs the Gaussian's width s at least this many grid steps
#: (its error is then ~exp(-2 pi^2 (s/step)^2), nothing); below, spline + Gauss-Hermite
LATTICE_MIN_RATIO = 4.0
#: and the exponent u psi to vary by less than this over the lattice (no underflow in exp)
LATTICE_MAX_EXPONENT = 600.0


def _lattice_convolution(y, step, values_at, s, u):
    """(1/u) ln int Dz exp(u F(y + s z)) at the lattice points ``y`` (spacing ``step``) by the
    trapezoid rule on the same lattice extended by 8.5 s: a discrete convolution with a sampled
    Gaussian, exponentially accurate for F smooth on the scale of the lattice (the finite-T
    top level ln 2cosh(y/T) needs step <= T/6 for 1e-13: its poles are at y = i pi T/2).
    ``values_at(t)`` gives F on the extended lattice. None where it does not apply."""
    if s < LATTICE_MIN_RATIO * step:
        return None
    J = int(math.ceil(8.5 * s / step))
    t = y[0] + step * np.arange(-J, len(y) + J)
    g = u * values_at(t)
    c = float(g.max())
    if c - float(g.min()) > LATTICE_MAX_EXPONENT:
        return None
    d = step * np.arange(-J, J + 1)
    kernel = np.exp(-d * d / (2 * s * s)) * (step / (s * math.sqrt(2 * math.pi)))
    return (np.log(np.convolve(np.exp(g - c), kernel, mode="valid")) + c) / u


def _on_lattice(y, psi, step, Y):
    """F(t) = psi(|t|) for t on the lattice of ``y`` (psi is even), |t| - Y + psi(Y) beyond it."""
    def values_at(t):
        a = np.abs(t)
        idx = np.rint(a / step).astype(int) - int(np.rint(y[0] / step))
        inside = idx < len(y)
        return np.where(inside, psi[np.minimum(idx, len(y) - 1)], a - Y + psi[-1])
    return values_at


def _convolve_levels(y, psi, qs, us, Y):
    """Lower levels of the Parisi recursion on the grid ``y``: psi_j from psi_{j+1} for
    j = k-1, ..., 1 (overlaps ``qs`` = q_0..q_k, scaled breakpoints ``us`` = u_1..u_k);
    psi(y) = |y| + c beyond the grid (its exact slope there). Each level by the lattice
    convolution where the Gaussian is wide enough, else spline + Gauss-Hermite. Returns the
    spline of psi_1."""
    from scipy.interpolate import CubicSpline
    z, w = hermite_rule(CONV_NODES)
    step = y[1] - y[0]
    for j in range(len(us) - 1, 0, -1):
        u, s = us[j - 1], math.sqrt(max(qs[j] - qs[j - 1], 0.0))
        lattice = _lattice_convolution(y, step, _on_lattice(y, psi, step, Y), s, u)
        if lattice is not None:
            psi = lattice
            continue
        spline = CubicSpline(y, psi)
        yy = np.abs(y[:, None] + s * z)                  # psi is even
        v = np.where(yy <= Y, spline(np.minimum(yy, Y)), yy - Y + psi[-1])
        e = u * v
        top = e.max(axis=-1, keepdims=True)
        psi = (np.log(np.sum(w * np.exp(e - top), axis=-1)) + top[:, 0]) / u
    return CubicSpline(y, psi)


def _outer(spline, h, q0, width):
    """int Dz psi_1(h + sqrt(q0) z): psi_1 bends on the scale ``width`` around y = 0, i.e. around
    z = -h/sqrt(q0): the graded rule there (40-node Gauss-Hermite was 3e-6 off at T = 0, h = 0.5)."""
    s0 = math.sqrt(max(q0, 0.0))
    if s0 < 1e-12:
        return float(spline(abs(h)))
    z, w = kink_rule(np.array(-h / s0), np.array(width / s0))
    return float(np.sum(w * spline(np.abs(h + s0 * z))))


def zero_temperature_k_rsb(qs, us, h):
    """e_0 of k-step RSB at T = 0 for overlaps ``qs`` = (q_0, ..., q_{k-1}) (q_k = 1) and scaled
    breakpoints ``us`` = (u_1, ..., u_k) (u_j = beta m_j), both increasing.

    psi_j on a uniform grid of y >= 0 (psi_j is even; cubic spline between nodes, psi(y) = |y| + c
    beyond), each level a Gaussian convolution by Gauss-Hermite in log-sum-exp form
    (``_convolve_levels``); the top level in closed form."""
    k = len(us)
    q = np.append(np.asarray(qs, dtype=float), 1.0)
    us = np.asarray(us, dtype=float)
    Y = GRID_HALF + math.ceil(h)
    n = int(round(Y / GRID_STEP))
    y = np.linspace(-4 * Y / n, Y, n + 5)
    psi = _top_level(y, us[-1], math.sqrt(1 - q[k - 1])) / us[-1]
    spline = _convolve_levels(y, psi, q, us, Y)
    outer = _outer(spline, h, q[0], math.sqrt(1 - q[0]))
    return 0.25 * float(np.sum(us * (q[1:] ** 2 - q[:-1] ** 2))) - float(outer)


def _unpack(theta, k):
    """Unconstrained -> ordered: q_j partial sums of a softmax (q_k = 1), u_j partial sums of exps."""
    a = theta[:k + 1]
    p = np.exp(a - a.max())
    p /= p.sum()
    return np.cumsum(p)[:k], np.cumsum(np.exp(np.clip(theta[k + 1:], -30.0, 4.0)))


def _pack(q, u):
    p = np.diff(np.concatenate([[0.0], q, [1.0]]))
    return np.concatenate([np.log(np.maximum(p, 1e-300)), np.log(np.diff(np.concatenate([[0.0], u])))])


def _extrapolate(points):
    """e_oo from three (k, e_k) assuming e_k = e_oo + A k^-p (p fitted): returns (e_oo, p)."""
    (k1, a), (k2, b), (k3, c) = points
    g = lambda p: (a - b) * (k2**-p - k3**-p) - (b - c) * (k1**-p - k2**-p)  # noqa: E731
    p = so.brentq(g, 0.3, 12.0)
    A = (b - c) / (k2**-p - k3**-p)
    return c - A * k3**-p, p


@functools.lru_cache(maxsize=64)
def full_rsb_ground_state(h: float, steps: int = FULL_RSB_STEPS) -> dict:
    """k-step RSB ground-state energies for k = 1..steps (each maximised, started from the k - 1
    solution with a new level below the q = 1 plateau), extrapolated to k -> oo.

    ``discretisation_error`` is the change of the extrapolated value when the last k is added
    (extrapolation from k = steps-2..steps minus that from steps-3..steps-1)."""
    if steps < 4:
        raise ValueError("the k -> oo extrapolation and its error need k = 1..4 at least")
    one = ground_state_one_rsb(h)
    q, u = np.array([one["q0"]]), np.array([one["u"]])
    energies = {1: one["ground_state_energy"]}
    levels = {1: (tuple(q), tuple(u))}
    for k in range(2, steps + 1):
        fun = lambda t: zero_temperature_k_rsb(*_unpack(t, k), h)  # noqa: E731
        # at T = 0 the split below the q = 1 plateau (the last start) reaches the best maximum found
        # from every split (measured, h = 0, k = 2..4: equal to 1e-10), at a third of the cost
        starts = [_pack(q1[:-1], u1[1:]) for q1, u1 in
                  _split_starts(np.append(q, 1.0), np.concatenate([[0.0], u]), upper=None)[-1:]]
        theta, e = _best_of(fun, starts)
        q, u = _unpack(theta, k)
        energies[k] = e
        levels[k] = (tuple(q), tuple(u))
    last, err = _extrapolate_safe(energies)
    return {"ground_state_energy": last, "discretisation_error": err, "k": float(steps),
            "energies": energies, "levels": levels}


# ---------------------------------------------------------------------------
# k-step RSB at finite temperature on a grid, and its k -> oo extrapolation (full RSB)
# ---------------------------------------------------------------------------
#: the top level T ln 2cosh(y/T) is convolved on the lattice (step <= T/6) or, where the lattice
#: does not apply, by the graded kink_rule at each grid point (the rule the compiled averages use)


#: finite-T grid: step a fraction of T (the narrowest feature of psi is the width T of ln 2cosh(y/T);
#: the lattice convolution of the top level needs step <= T/6), at most FINITE_T_STEP; half-width
#: FINITE_T_HALF beyond h (psi_j(y) - |y| is constant there to e^{-(7)^2/2}). Measured at T = 0.3
#: (1RSB point): 1e-8 from the nested quadrature at step 0.04, 6e-12 at step 0.02.
FINITE_T_STEP = 0.02
FINITE_T_HALF = 7.0


def k_rsb_free_energy(qs, ms, T, h, step=None):
    """The k-step RSB free energy per spin at T > 0 for overlaps ``qs`` = (q_0, ..., q_k) and
    breakpoints ``ms`` = (m_1, ..., m_k), both increasing, in [0, 1] and (0, 1):

        f = -(1 - q_k)^2/(4T) + (1/4) sum_j u_j (q_j^2 - q_{j-1}^2) - int Dz psi_1(h + sqrt(q_0) z),

    u_j = m_j/T, psi_j = T phi_j (see the module docstring); the top level
    psi_k(y) = (1/u_k) ln int Dz exp(m_k ln 2cosh((y + sqrt(q_k - q_{k-1}) z)/T)) by the graded
    rule around its transition, the lower ones on a grid (``_convolve_levels``)."""
    qs = np.asarray(qs, dtype=float)
    ms = np.asarray(ms, dtype=float)
    k = len(ms)
    us = ms / T
    # every psi_j is even in y (ln 2cosh is, and Gaussian convolutions keep it): a grid on y >= 0
    # with the mirror image on the negative side (a few points, for the spline's end)
    step = min(FINITE_T_STEP, T / 12) if step is None else step
    Y = FINITE_T_HALF + math.ceil(h)          # a grid independent of small changes of h
    n = int(round(Y / step))
    y = np.linspace(-4 * Y / n, Y, n + 5)
    s = max(math.sqrt(max(qs[k] - qs[k - 1], 0.0)), 1e-12)
    dy = y[1] - y[0]
    psi = None
    if dy <= T / 6:
        def top_level(t):
            a = np.abs(t) / T
            return T * (a + np.log1p(np.exp(-2 * a)))      # T ln 2cosh(t/T)
        psi = _lattice_convolution(y, dy, top_level, s, us[-1])
    if psi is None:
        zn, wn = _rule(-y / s, np.full(y.shape, T / s))
        e = (ms[-1] * np.logaddexp(0.0, -2 * np.abs(y[:, None] + s * zn) / T)
             + ms[-1] * np.abs(y[:, None] + s * zn) / T)
        top = e.max(axis=-1, keepdims=True)
        psi = (np.log(np.sum(wn * np.exp(e - top), axis=-1)) + top[:, 0]) / us[-1]
    spline = _convolve_levels(y, psi, qs, us, Y)
    outer = _outer(spline, h, qs[0], math.sqrt(T * T + qs[k] - qs[0]))
    return (-(1 - qs[k]) ** 2 / (4 * T) + 0.25 * float(np.sum(us * (qs[1:] ** 2 - qs[:-1] ** 2))) - outer)


MAGNETISATION_STEP = 1e-4


def k_rsb_energy(qs, ms, T, h, magnetisation=0.0):
    """Internal energy at a k-step saddle point: d(beta f)/d(beta), integrated by parts,
    -(beta/2) [1 - q_k^2 + sum_j m_j (q_j^2 - q_{j-1}^2)] - h m (the 1RSB formula for k = 1;
    tested against a finite difference of the solved free energy in T)."""
    qs, ms = np.asarray(qs, dtype=float), np.asarray(ms, dtype=float)
    return (-(1 - qs[-1] ** 2 + float(np.sum(ms * (qs[1:] ** 2 - qs[:-1] ** 2)))) / (2 * T)
            - h * magnetisation)


def _unpack_t(theta, k):
    """Unconstrained -> ordered: q_0..q_k partial sums of a softmax over k+2 gaps (q_k < 1),
    m_1..m_k partial sums of a softmax over k+1 gaps (m_k < 1)."""
    a, b = theta[:k + 2], theta[k + 2:]
    p = np.exp(a - a.max())
    p /= p.sum()
    r = np.exp(b - b.max())
    r /= r.sum()
    return np.cumsum(p)[:k + 1], np.cumsum(r)[:k]


def _pack_t(q, m):
    p = np.diff(np.concatenate([[0.0], q, [1.0]]))
    r = np.diff(np.concatenate([[0.0], m, [1.0]]))
    return np.concatenate([np.log(np.maximum(p, 1e-300)), np.log(np.maximum(r, 1e-300))])


def _maximise(fun, theta0, gtol=1e-8):
    r = so.minimize(lambda t: -fun(t), theta0, method="BFGS", options={"gtol": gtol, "maxiter": 2000})
    return r.x, -float(r.fun)


def _best_of(fun, starts, gtol=1e-8):
    """Maximise ``fun`` from every start; the best. (Screening the starts at gtol = 1e-6 and polishing
    only the best was 30% faster and 2e-7 worse at T = 0.5, k = 4: the functional is very flat.)"""
    return max((_maximise(fun, s, gtol=gtol) for s in starts), key=lambda r: r[1])


def _split_starts(q, m, upper):
    """Starting points for k + 1 steps from a k-step solution: each plateau of q(x) split in two,
    the new level halfway to the next one (the top plateau: halfway to 1, or to q + 0.1) and the
    new breakpoint halfway along the plateau. ``q`` = q_0..q_k, ``m`` = breakpoints with both
    ends (0 .. 1 at T > 0; 0 .. oo at T = 0, where ``upper`` is None and the top plateau's end
    is taken as 1.8 times its start). A single start (the top split) can stall where two levels
    merge, a flat direction of the functional: measured at T = 0.5, k = 3, 2.4e-6 below the best."""
    out = []
    for j in range(len(q)):
        if upper is None and j == len(q) - 1:
            # T = 0: the top plateau is q = 1; the new level goes below it, between the top two
            # breakpoints' continuation (u_top, 1.8 u_top)
            out.append((np.insert(q, j, 0.5 * (q[j - 1] + 1.0) if j else 0.5), np.append(m, 1.8 * m[-1])))
            continue
        nxt = q[j + 1] if j + 1 < len(q) else min(1.0, q[j] + 0.1)
        qn = np.insert(q, j + 1, 0.5 * (q[j] + nxt))
        lo = m[j]
        hi = m[j + 1] if j + 1 < len(m) and np.isfinite(m[j + 1]) else (1.8 * m[j] if upper is None else upper)
        mn = np.insert(m, j + 1, 0.5 * (lo + hi)) if j + 1 < len(m) else np.append(m, 0.5 * (lo + hi))
        out.append((qn, mn))
    return out


def _extrapolate_safe(values):
    """(e_oo, error) from {k: e_k}: a power-law fit e_k = e_oo + A k^-p through the last three,
    error = its change when the last k is added; where the differences are at rounding level or
    not monotone (no power law), the last value with the last difference as error."""
    ks = sorted(values)
    e = [values[k] for k in ks]
    last_diff = abs(e[-1] - e[-2])
    try:
        d1, d2 = e[-3] - e[-2], e[-2] - e[-1]
        if not (d1 * d2 > 0 and abs(d2) < abs(d1) and abs(d2) > 1e-11):
            raise ValueError
        last, _ = _extrapolate([(k, values[k]) for k in ks[-3:]])
        before, _ = _extrapolate([(k, values[k]) for k in ks[-4:-1]])
        return last, max(abs(last - before), abs(last - e[-1]) * 0.1)
    except ValueError:
        return e[-1], last_diff


@functools.lru_cache(maxsize=64)
def full_rsb_solution(T: float, h: float, steps: int = FULL_RSB_STEPS) -> dict:
    """Full RSB at T > 0: k-step RSB free energies for k = 1..steps, each maximised over the q's
    and m's (from the k - 1 solution with each plateau split in turn: ``_split_starts``), extrapolated
    to k -> oo.
    Where RS is stable (T >= 1 at h = 0, above the AT line) the Parisi solution is the RS one."""
    rs = _rs_q(T, h)
    if rs.stability["stable"]:
        q = float(rs.order_parameters["q"])
        return {k: float(rs.observables[k]) for k in ("free_energy", "energy", "entropy", "m")} | {
            "q": q, "discretisation_error": 0.0, "k": 0.0, "free_energies": {}, "energies": {}}
    one = solve_one_rsb(T, h)
    q, m = np.array([one["q0"], one["q1"]]), np.array([one["x"]])
    fs, es, qs, ms = {1: one["free_energy"]}, {1: one["energy"]}, {1: one["q1"]}, {1: one["m"]}
    for k in range(2, steps + 1):
        fun = lambda t: k_rsb_free_energy(*_unpack_t(t, k), T, h)  # noqa: E731
        starts = [_pack_t(q1, m1[1:-1]) for q1, m1 in _split_starts(q, np.concatenate([[0.0], m, [1.0]]), upper=1.0)]
        theta, f = _best_of(fun, starts)
        q, m = _unpack_t(theta, k)
        fs[k], qs[k] = f, float(q[-1])
        # magnetisation -df/dh at the saddle point (partial derivative: f is stationary), central
        # difference on the fixed grid; 0 by symmetry at h = 0
        d = MAGNETISATION_STEP
        ms[k] = 0.0 if h == 0 else -(k_rsb_free_energy(q, m, T, h + d) - k_rsb_free_energy(q, m, T, h - d)) / (2 * d)
        es[k] = k_rsb_energy(q, m, T, h, magnetisation=ms[k])
    f, err = _extrapolate_safe(fs)
    e, _ = _extrapolate_safe(es)
    mag, _ = _extrapolate_safe(ms)
    return {"free_energy": f, "energy": e, "entropy": (e - f) / T, "m": mag, "q": qs[max(qs)],
            "discretisation_error": err, "k": float(steps), "free_energies": fs, "energies": es,
            "q_levels": tuple(q), "m_levels": tuple(m)}


# ---------------------------------------------------------------------------
# the de Almeida-Thouless line of the RS solution
# ---------------------------------------------------------------------------
_GL16 = np.polynomial.legendre.leggauss(16)


def _sech_averages(h, s, T):
    """(<sech^2 y>, <sech^4 y>) over z ~ N(0, 1), y = (s z + h)/T, integrated in y itself:
    <f(y)> = (T/s) int f(y) phi((T y - h)/s) dy. In y the transition has width one wherever it sits
    (in z it is T/s wide at z = -h/s, which double precision cannot place at T ~ 1e-9); sech^2
    decays like e^(-2|y|), so |y| <= 40 carries every digit. Gauss-Legendre, 16 nodes on unit panels
    (and on panels of width s/T where the Gaussian is narrower than that)."""
    lo, hi = max(-40.0, (h - 12 * s) / T), min(40.0, (h + 12 * s) / T)
    if not lo < hi:
        return 0.0, 0.0
    n = int(min(4000, max(8, math.ceil((hi - lo) / min(1.0, s / T)))))
    edges = np.linspace(lo, hi, n + 1)
    x, w = _GL16
    half = (edges[1:] - edges[:-1])[:, None] / 2
    y = ((edges[1:] + edges[:-1])[:, None] / 2 + half * x).ravel()
    wy = (half * w).ravel() * np.exp(-0.5 * ((T * y - h) / s) ** 2) / math.sqrt(2 * math.pi) * (T / s)
    e = np.exp(-2 * np.abs(y))
    sech2 = 4 * e / (1 + e) ** 2
    return float(np.sum(wy * sech2)), float(np.sum(wy * sech2 * sech2))


def _at_system(v, T):
    """The AT line's two equations in (u, h), q = 1 - u T: <sech^2 y>/(u T) = 1 (the RS equation,
    1 - q = <sech^2>) and <sech^4 y>/T^2 = 1 (lambda_AT = 0), y = (sqrt(q) z + h)/T: relative forms of
    positive quantities, resolved as T -> 0 where 1 - q = O(T^2) is not (the equations in q failed
    below T ~ 1e-9)."""
    u, h = v
    q = 1 - u * T
    if not (0 < q <= 1 and u > 0):
        return np.array([1e3, 1e3])
    a2, a4 = _sech_averages(h, math.sqrt(q), T)
    return np.array([a2 / (u * T) - 1, a4 / T**2 - 1])


@functools.lru_cache(maxsize=1024)
def at_line(T: float) -> tuple:
    """(h_AT, q) on the de Almeida-Thouless line at temperature T < 1: the RS equation and
    lambda_AT = 1 - beta^2 int Dz sech^4(beta(sqrt(q) z + h)) = 0 (AT 1978, eq. 21), solved together
    (in u = (1 - q)/T, see :func:`_at_system`). For T >= 1 the RS solution is stable in every field: (0, 0)."""
    if T >= 1:
        return 0.0, 0.0
    # starts (h, u = (1 - q)/T). Near T_c: AT 1978, h^2 ~ (4/3)(1 - T)^3, q ~ 1 - T. As T -> 0:
    # <sech^4> ~ (4/3) T phi(h) = T^2 and <sech^2> ~ 2 T phi(h): phi(h) = 3T/4 and u = 3T/2
    near_tc = (math.sqrt(4 / 3 * (1 - T) ** 3), 1.0)
    low_t = (math.sqrt(max(2 * math.log(4 / (3 * T * math.sqrt(2 * math.pi))), 1e-6)), 1.5 * T)
    for h0, u0 in (near_tc, low_t, (0.5 * (near_tc[0] + low_t[0]), 0.5 * (near_tc[1] + low_t[1]))):
        # unknowns ln u and (h - h0)/T: the finite-difference Jacobian's steps then stay inside the
        # transition of width T (a step relative to h itself is far wider than T at low temperature)
        def scaled(v, h0=h0):
            if not -700 < v[0] < 700:
                return np.array([1e3, 1e3])
            return _at_system([math.exp(v[0]), h0 + v[1] * T], T)

        r = so.root(scaled, [math.log(u0), 0.0], method="hybr", options={"xtol": 1e-14})
        u, h = math.exp(r.x[0]), h0 + r.x[1] * T
        q = 1 - u * T
        if 0 < q <= 1 and h > 0 and np.max(np.abs(scaled(r.x))) < 1e-12:
            return float(h), float(q)
    raise ConvergenceError(f"sk: the AT line at T={T:g} was not found")


# ---------------------------------------------------------------------------
# observables computed numerically, as SymPy functions of (T, h) that compile
# ---------------------------------------------------------------------------
def numeric_function(name, compute):
    """A SymPy function ``name(T, h)`` that compiles (``implemented_function``) to ``compute(T, h)``.

    The numerics here are double precision: evaluated above the solver's fixed working precision
    for limits (i.e. when ``--dps`` asked for more digits) they raise a one-line ParameterError
    rather than return digits they do not have."""
    from ..solver import LIMIT_DPS

    def imp(*args):
        if any(isinstance(a, mpmath.mpf) for a in args) and mpmath.mp.dps > LIMIT_DPS:
            raise ParameterError("sk rsb=1 and rsb=full are computed in double precision: --dps is not "
                                 "available for them; allowed: --dps with rsb=0 only")
        return compute(*[float(a) for a in args])

    return implemented_function(sympy.Function(name, real=True), imp)


# ---------------------------------------------------------------------------
# the model variants
# ---------------------------------------------------------------------------
from .sk import SK  # noqa: E402  (sk.py imports this module lazily, in SK.variant)

q0_, q1_, x_ = (sympy.Symbol(n, real=True) for n in ("q_0", "q_1", "x"))
z0_, z1_ = sympy.Symbol("z_0", real=True), sympy.Symbol("z_1", real=True)


def at_line_mp(T):
    """h_AT(T) at the working mpmath precision: the float solution of :func:`at_line` polished by
    mpmath.findroot on the same two equations, their Gaussian averages by mpmath.quad split at the
    kink z = -h/sqrt(q) (the integrands step there over a width T/sqrt(q))."""
    T = mpmath.mpf(T)
    if T >= 1:
        return mpmath.mpf(0)
    h0, q0 = at_line(float(T))

    def system(q, h):
        s = mpmath.sqrt(q)
        c, w = -h / s, T / s
        pts = [-mpmath.inf, c - 8 * w, c, c + 8 * w, mpmath.inf]
        th2 = mpmath.quad(lambda z: mpmath.npdf(z) * mpmath.tanh((s * z + h) / T) ** 2, pts)
        se4 = mpmath.quad(lambda z: mpmath.npdf(z) * mpmath.sech((s * z + h) / T) ** 4, pts)
        return [q - th2, 1 - se4 / T**2]

    q, h = mpmath.findroot(system, (mpmath.mpf(q0), mpmath.mpf(h0)), tol=mpmath.mpf(10) ** (-mpmath.mp.dps + 5))
    return h


def _at_field(T):
    """h_AT in double precision for float results (limits are evaluated at LIMIT_DPS digits then
    rounded), at the working precision when --dps asked for more."""
    from ..solver import LIMIT_DPS
    if isinstance(T, mpmath.mpf) and mpmath.mp.dps > LIMIT_DPS:
        return at_line_mp(T)
    return at_line(float(T))[0]


AT_FIELD = implemented_function(sympy.Function("h_AT", real=True), _at_field)


def _one_rsb_value(key):
    return lambda T, h: solve_one_rsb(T, h)[key]


ONE_RSB_FUNCTIONS = {k: numeric_function(f"{k}_1RSB", _one_rsb_value(k)) for k in ONE_RSB_OBSERVABLES}
E0_ONE_RSB = numeric_function("e0_1RSB", lambda h: ground_state_one_rsb(h)["ground_state_energy"])


def _one_rsb_functional():
    T, h = SK.parameters[0].symbol, SK.parameters[1].symbol
    xi = (h + sympy.sqrt(q0_) * z0_ + sympy.sqrt(q1_ - q0_) * z1_) / T
    inner = GaussianAverage(sympy.exp(x_ * LogTwoCosh(xi)), z1_)
    return (-(1 - q1_)**2 / (4 * T) + x_ * (q1_**2 - q0_**2) / (4 * T)
            - T / x_ * GaussianAverage(sympy.log(inner), z0_))


def _k_rsb_functional():
    T, h = SK.parameters[0].symbol, SK.parameters[1].symbol
    m, q = sympy.IndexedBase("m"), sympy.IndexedBase("q")
    j, k = sympy.symbols("j k", integer=True, positive=True)
    psi = sympy.Function("psi_1")
    return (-(1 - q[k])**2 / (4 * T) + sympy.Sum(m[j] * (q[j]**2 - q[j - 1]**2), (j, 1, k)) / (4 * T)
            - GaussianAverage(psi(h + sympy.sqrt(q[0]) * z0_), z0_))


class _NumericSK(SK):
    """Shared by the RSB variants: no order parameters for the package's solver (the saddle point
    is found by the numerics above); the free energy and every observable are numeric functions of
    (T, h) that compile, and ``derive`` shows the functional that is maximised as a step."""

    order_parameters = ()
    references = ()
    # below T_c the finite-size corrections of the SK energy scale as N^(-2/3) (G. Parisi, F. Ritort
    # and F. Slanina, J. Phys. A 26, 3775 (1993); S. Boettcher, Eur. Phys. J. B 46, 501 (2005)
    # measures omega = 2/3 to 1%). One power only: with N <= 16 a second term (1/N) makes the
    # extrapolation's error 7x larger (measured at T = 0.3: 0.066 against 0.0094). Above T_c (where
    # the RSB variants reduce to RS) the corrections are 1/N: use rsb=0 there.
    finite_size_powers = (2 / 3,)

    def starting_points(self, params):
        return None

    def observable_expressions(self, F, choices):
        return {}

    def stability(self, F, choices):
        return None


class OneRSB(_NumericSK):
    """One-step RSB: the saddle point of the nested-quadrature free energy (``solve_one_rsb``)."""

    title = "Sherrington-Kirkpatrick spin glass (one-step RSB)"
    ansatz = "1RSB"

    def free_energy(self, choices):
        T, h = self.parameters[0].symbol, self.parameters[1].symbol
        return ONE_RSB_FUNCTIONS["free_energy"](T, h)

    def limits(self, F, choices):
        T, h = self.parameters[0].symbol, self.parameters[1].symbol
        out = {k: ONE_RSB_FUNCTIONS[k](T, h) for k in ONE_RSB_OBSERVABLES}
        out["free_energy"] = DerivedLimit(out["free_energy"], (
            (r"f_{\mathrm{1RSB}}(q_0, q_1, x)", _one_rsb_functional(),
             "the 1RSB free energy (Parisi 1979), at its stationary point of largest f in "
             "0 <= q0 < q1 < 1, 0 < x < 1 (solved numerically)"),))
        out["q"] = out["q1"]
        out["ground_state_energy"] = DerivedLimit(E0_ONE_RSB(h), ((
            r"e_0", (sympy.Symbol("u") / 4) * (1 - q0_**2) - GaussianAverage(sympy.log(GaussianAverage(
                sympy.exp(sympy.Symbol("u") * sympy.Abs(h + sympy.sqrt(q0_) * z0_ + sympy.sqrt(1 - q0_) * z1_)),
                z1_)), z0_) / sympy.Symbol("u"),
            "T -> 0 with q1 -> 1 and u = x/T finite, maximised over q0 and u (numerically)"),))
        return out


def _full_value(key):
    return lambda T, h: full_rsb_solution(T, h)[key]


def _full_ground(key):
    return lambda h: full_rsb_ground_state(h)[key]


FULL_RSB_OBSERVABLES = ("free_energy", "energy", "entropy", "q", "m", "discretisation_error", "k")
FULL_RSB_FUNCTIONS = {k: numeric_function(f"{k}_fullRSB", _full_value(k)) for k in FULL_RSB_OBSERVABLES}
E0_FULL_RSB = numeric_function("e0_fullRSB", _full_ground("ground_state_energy"))
E0_FULL_RSB_ERROR = numeric_function("e0_error_fullRSB", _full_ground("discretisation_error"))


class FullRSB(_NumericSK):
    """Full RSB: k-step RSB (k = 1..4) maximised and extrapolated to k -> oo, at T > 0 and at T = 0."""

    title = "Sherrington-Kirkpatrick spin glass (full RSB: k-step, k -> oo)"
    ansatz = "full RSB (k-step, k -> oo)"

    def free_energy(self, choices):
        T, h = self.parameters[0].symbol, self.parameters[1].symbol
        return FULL_RSB_FUNCTIONS["free_energy"](T, h)

    def limits(self, F, choices):
        T, h = self.parameters[0].symbol, self.parameters[1].symbol
        out = {k: FULL_RSB_FUNCTIONS[k](T, h) for k in FULL_RSB_OBSERVABLES}
        out["free_energy"] = DerivedLimit(out["free_energy"], (
            (r"f_k(q_0..q_k, m_1..m_k)", _k_rsb_functional(),
             "k-step RSB (Parisi 1980), psi_{k+1}(y) = T ln 2cosh(y/T), psi_j(y) = (T/m_j) ln int Dz "
             "exp(m_j psi_{j+1}(y + sqrt(q_j - q_{j-1}) z)/T); maximised for k = 1..4 and extrapolated "
             "in k (numerically)"),))
        out["ground_state_energy"] = E0_FULL_RSB(h)
        out["ground_state_error"] = E0_FULL_RSB_ERROR(h)
        return out
