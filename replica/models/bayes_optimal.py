"""Bayes-optimal estimation in the random linear model: the MMSE by the replica formula.

Model
-----
P unknowns ``s0_i`` drawn i.i.d. from the Bernoulli-Gauss prior ``(1 - rho) delta_0 + rho N(0, 1)``
(``rho = 1``: Gaussian), ``N = alpha P`` noisy measurements ``y = F s0 + w``, ``F_{mu i}`` i.i.d.
``N(0, 1/P)``, ``w_mu`` i.i.d. ``N(0, Delta)``. The posterior mean minimises the mean squared
error; its error per component as P -> oo is the MMSE.

Replica formula (proved: J. Barbier, M. Dia, N. Macris and F. Krzakala, "The mutual information
in random linear estimation", Allerton 2016, and G. Reeves and H. Pfister, ISIT 2016; derived with
the replica method by F. Krzakala, M. Mezard, F. Sausset, Y. Sun and L. Zdeborova, J. Stat. Mech.
(2012) P08009, and in the review of M. Advani, S. Lahiri and S. Ganguli, J. Stat. Mech. (2013)
P03014). The mutual information per unknown is ``min_E i_RS(E)`` with the potential

    i_RS(E) = (alpha/2) [ln(1 + E/Delta) - E/(E + Delta)] + I(gamma(E)),   gamma(E) = alpha/(Delta + E),

where ``I(gamma)`` is the mutual information of the scalar channel ``r = sqrt(gamma) s0 + z``.
The order parameter E is the MSE; its global minimiser is the MMSE (``select = "min"``). Writing
``u = sqrt(gamma) s0 + z`` (``u = z`` with probability 1 - rho, ``u = sqrt(1 + gamma) z`` with
probability rho) and the log-likelihood ratio

    L(u) = ln[(1 - rho) + rho (1 + gamma)^(-1/2) exp(gamma u^2 / (2 (1 + gamma)))],

one has ``I(gamma) = rho gamma/2 - E_u L(u)`` (the ``ln p(u)`` of the Gaussian mixture minus that of
the pure noise; the two averages are Gaussian averages over z). The free energy is written with
``rho gamma/2 = rho int Dz gamma z^2/2`` taken inside the second average
(``LogAddExp(a, b) - x = LogAddExp(a - x, b - x)``), which avoids cancelling two terms of order
``rho gamma`` at small noise. Differentiating (SymPy does it:
:attr:`Derivation.gradient`) gives ``di_RS/dE = alpha (E - mmse(gamma(E))) / (2 (Delta + E)^2)`` by
the I-MMSE relation ``dI/dgamma = mmse/2`` (Guo, Shamai and Verdu 2005): the stationary points
are the fixed points of the state evolution of approximate message passing (AMP),
``E = mmse(alpha / (Delta + E))``. Several exist for sparse priors at small noise: the
low-error (good) branch, the high-error (bad) branch and an unstable one between; the
physical MMSE is the global minimum, and AMP, started from no information, stops at the fixed
point of largest E. Tests: tests/test_bayes_optimal.py (mpmath references of I and mmse from
their definitions, the I-MMSE identity, Gaussian closed form, AMP against state evolution).
"""
from __future__ import annotations

import math

import mpmath
import numpy as np
import scipy.special as sc
import sympy

from ..errors import ConvergenceError, ParameterError, SimulationError
from ..model import Model, Reference
from ..params import POSITIVE, Interval, Observable, OrderParameter, Parameter
from ..symbolic import GaussianAverage, LogAddExp

UNIT_LEFT_OPEN = Interval(0.0, 1.0, lower_closed=False, upper_closed=True)
#: E-grid (logarithmic, rho 1e-12 .. rho) on which stationary points are bracketed: 150 points, a
#: ratio of 1.2 between neighbours; two stationary points closer than that (within about a percent
#: of a spinodal in alpha) are not told apart (the thresholds refine spinodals as saddle-nodes)
GRID = 150
#: points a decade of the SNR grid that replaces the E-grid when one MMSE table serves many loads
#: (a ratio of 1.06 between neighbours; see BayesOptimal._brackets_by_snr)
SNR_PER_DECADE = 40
_z = sympy.Symbol("z", real=True)

# -- the scalar MMSE in a fast hand-written form (tests/test_bayes_optimal.py proves it equal to the
# derived average and to its mpmath definition) ------------------------------------------------------
# With pi(u) the posterior probability of a nonzero component and p(u) = (1 - rho) phi(u) + rho
# phi(u/s)/s (s^2 = 1 + gamma) the channel output's density, p pi = rho phi(u/s)/s and
# p pi (1 - pi) = (1 - rho) phi(u) pi, so the average of the posterior variance is one Gaussian
# average over the null density only:
#   mmse(gamma) = rho/(1 + gamma) + (1 - rho) gamma/(1 + gamma)^2 J,   J = E_z[z^2 pi(z)],
#   pi(z) = logistic(L0 + a z^2),  L0 = ln(rho/(1 - rho)) - ln(1 + gamma)/2,  a = gamma/(2 (1 + gamma)),
# and dmmse/dgamma = -rho/(1 + gamma)^2 + (1 - rho) [(1 - gamma)/(1 + gamma)^3 J + gamma/(1 + gamma)^2 K],
#   K = dJ/dgamma = E_z[z^2 pi (1 - pi) (z^2/(1 + gamma) - 1)]/(2 (1 + gamma)).
# pi steps from 0 to 1 at z0 = sqrt(-L0/a) over a width 1/(2 a z0); J and K are integrated by
# Gauss-Legendre (12 nodes a panel) on panels with edges at z0 +- width (0.5, 1.5, 4, 10) and at
# z = 1, 2.5, 4.5, 7, 10, 13 (the Gaussian weight), on [0, 13]: 180 nodes, relative error < 1e-14
# against 30-digit mpmath for gamma in [1e-3, 1e10], rho in [1e-3, 0.999] (measured).
_GL_X, _GL_W = sc.roots_legendre(12)
_REL_EDGES = np.array([0.5, 1.5, 4.0, 10.0])
_ABS_EDGES = np.array([1.0, 2.5, 4.5, 7.0, 10.0, 13.0])
_Z_END = 13.0


def _mmse_parts_np(gamma, rho, slope=True):
    """(J, K) as numpy arrays of the broadcast shape of gamma and rho (K None unless ``slope``)."""
    gamma, rho = np.broadcast_arrays(np.asarray(gamma, dtype=float), np.asarray(rho, dtype=float))
    shape = gamma.shape
    g, r = gamma.reshape(-1), rho.reshape(-1)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        L0 = np.log(r) - np.log1p(-r) - 0.5 * np.log1p(g)
        a = g / (2 * (1 + g))
        z0 = np.where(L0 < 0, np.sqrt(np.maximum(-L0, 0.0) / a), 0.0)
        z0 = np.nan_to_num(z0, nan=0.0, posinf=_Z_END)
        width = np.where(z0 > 0, 1 / (2 * a * z0), 1.0)
        width = np.nan_to_num(np.minimum(width, _Z_END), nan=1.0)
        B = g.shape[0]
        edges = np.concatenate([np.zeros((B, 1)), z0[:, None], z0[:, None] - width[:, None] * _REL_EDGES,
                                z0[:, None] + width[:, None] * _REL_EDGES,
                                np.broadcast_to(_ABS_EDGES, (B, len(_ABS_EDGES)))], axis=1)
        edges = np.sort(np.clip(edges, 0.0, _Z_END), axis=1)
        lo, hi = edges[:, :-1], edges[:, 1:]
        half = ((hi - lo) / 2)[..., None]
        z = (((hi + lo) / 2)[..., None] + half * _GL_X).reshape(B, -1)
        w = (half * _GL_W).reshape(B, -1) * np.exp(-z * z / 2) * (2 / math.sqrt(2 * math.pi))
        llr = L0[:, None] + a[:, None] * z * z
        pi = sc.expit(llr)
        z2 = z * z
        wz2pi = w * z2 * pi
        J = np.sum(wz2pi, axis=1).reshape(shape)
        if not slope:
            return J, None
        K = np.sum(wz2pi * sc.expit(-llr) * (z2 / (1 + g[:, None]) - 1), axis=1) / (2 * (1 + g))
    return J, K.reshape(shape)


def _mmse_parts_mp(gamma, rho):
    """(J, K) by mpmath.quad from the same definitions (the precision is the caller's)."""
    g, r = mpmath.mpf(gamma), mpmath.mpf(rho)
    if r == 1:
        return mpmath.mpf(0), mpmath.mpf(0)        # multiplied by 1 - rho = 0
    L0 = mpmath.log(r) - mpmath.log(1 - r) - mpmath.log(1 + g) / 2
    a = g / (2 * (1 + g))
    points = {mpmath.mpf(0), mpmath.mpf(1), mpmath.mpf(4)}
    if L0 < 0:
        points.add(mpmath.sqrt(-L0 / a))
    points = sorted(points) + [mpmath.inf]

    def pi(z):
        return 1 / (1 + mpmath.exp(-(L0 + a * z * z)))

    J = 2 * mpmath.quad(lambda z: z * z * mpmath.npdf(z) * pi(z), points)
    K = 2 * mpmath.quad(lambda z: z * z * mpmath.npdf(z) * pi(z) * (1 - pi(z)) * (z * z / (1 + g) - 1),
                        points) / (2 * (1 + g))
    return J, K


def _is_mp(*values):
    return any(isinstance(v, (mpmath.mpf, mpmath.mpc)) for v in values)


def _mmse_parts(gamma, rho, slope):
    """(gamma, rho, J, K) as mpmath numbers when either argument is one (the caller's precision),
    else as numpy arrays (K None unless ``slope``)."""
    if _is_mp(gamma, rho):
        J, K = _mmse_parts_mp(gamma, rho)
        return mpmath.mpf(gamma), mpmath.mpf(rho), J, K
    J, K = _mmse_parts_np(gamma, rho, slope=slope)
    return np.asarray(gamma, dtype=float), np.asarray(rho, dtype=float), J, K


def _function_latex(name, f, printer, exp):
    tex = r"%s\left(%s; %s\right)" % (name, printer._print(f.args[0]), printer._print(f.args[1]))
    return tex if exp is None else r"\left[%s\right]^{%s}" % (tex, exp)


class ScalarMMSE(sympy.Function):
    """mmse(gamma, rho) of the scalar channel sqrt(gamma) s0 + z with a Bernoulli-Gauss(rho) s0, in
    the fast form above; d/dgamma is :class:`ScalarMMSESlope`."""

    nargs = 2

    def fdiff(self, argindex=1):
        if argindex != 1:
            raise sympy.ArgumentIndexError(self, argindex)
        return ScalarMMSESlope(*self.args)

    @staticmethod
    def _imp_(gamma, rho):
        g, r, J, _ = _mmse_parts(gamma, rho, slope=False)
        return r / (1 + g) + (1 - r) * g / (1 + g) ** 2 * J

    def _latex(self, printer, exp=None):
        return _function_latex(r"\mathrm{mmse}", self, printer, exp)


class ScalarMMSESlope(sympy.Function):
    """d mmse(gamma, rho)/d gamma (fast form above)."""

    nargs = 2

    @staticmethod
    def _imp_(gamma, rho):
        g, r, J, K = _mmse_parts(gamma, rho, slope=True)
        return -r / (1 + g) ** 2 + (1 - r) * ((1 - g) / (1 + g) ** 3 * J + g / (1 + g) ** 2 * K)

    def _latex(self, printer, exp=None):
        return _function_latex(r"\mathrm{mmse}'", self, printer, exp)


class BayesOptimal(Model):
    name = "bayes-optimal"
    title = "Bayes-optimal linear estimation: MMSE by the replica formula (Bernoulli-Gauss prior)"
    description = ("Minimum mean squared error of the posterior mean for y = F s0 + noise with a Bernoulli-Gauss "
                   "prior of density rho, N = alpha P Gaussian measurements of noise variance Delta: the replica "
                   "potential i_RS(E), its global minimum (the MMSE and the mutual information), and the fixed "
                   "point AMP reaches (the largest-E stationary point). Simulated by AMP with the Bayes-optimal "
                   "denoiser on instances.")
    parameters = (
        Parameter("alpha", "measurement ratio N/P", POSITIVE, 0.5, latex="alpha"),
        Parameter("rho", "density of non-zero components of the Bernoulli-Gauss prior (1: Gaussian prior)",
                  UNIT_LEFT_OPEN, 0.1, latex="rho"),
        Parameter("Delta", "noise variance of each measurement", POSITIVE, 1e-2, latex="Delta"),
        Parameter("thresholds", "yes: also locate, at this rho and Delta, the loads where the low-error branch "
                  "appears, wins (information-theoretic) and where the high-error branch disappears (algorithmic)",
                  default="no", kind="categorical", choices=("no", "yes"), changes_derivation=False),
    )
    order_parameters = (
        OrderParameter("E", "mean squared error per component (the replica overlap rho - q)",
                       Interval(0.0, 1.0, lower_closed=False, upper_closed=True), guesses=(1e-4, 0.05, 0.99)),
    )
    observables = (
        Observable("mse", "MMSE per component: the global minimiser of i_RS (the physical branch)"),
        Observable("mutual_information", "mutual information per unknown, min_E i_RS(E) (nats)"),
        Observable("snr", "effective signal-to-noise ratio gamma = alpha/(Delta + E) of the scalar channel"),
        Observable("mse_amp", "MSE reached by AMP from no information: the stationary point of largest E"),
        Observable("branches", "number of distinct stationary points of i_RS (3 in the first-order region)"),
        Observable("alpha_sp_good", "thresholds=yes: load where the low-error branch appears (lower spinodal)"),
        Observable("alpha_IT", "thresholds=yes: information-theoretic threshold, the two minima of i_RS equal"),
        Observable("alpha_alg", "thresholds=yes: algorithmic threshold, the high-error branch disappears (AMP "
                   "reaches the MMSE above it)"),
    )
    free_energy_name = "replica potential (mutual information)"
    ansatz = "replica symmetric (exact on the Nishimori line)"
    select = "min"
    simulated_observables = ("mse_amp",)
    finite_size_powers = (1,)
    references = (
        Reference({"alpha": 2.0, "rho": 1.0, "Delta": 0.5}, "mse", (-1.5 + math.sqrt(1.5**2 + 4 * 0.5)) / 2,
                  1e-12, "Gaussian prior: E = 1/(1 + alpha/(Delta + E)), the root of E^2 + (alpha + Delta - 1) E "
                  "- Delta = 0 (Tulino and Verdu 2004, the MMSE of a Gaussian vector channel with an i.i.d. "
                  "Gaussian matrix)"),
    )
    quick_compares = ({"params": {"alpha": 0.6, "rho": 0.1, "Delta": 1e-3}, "n": [500, 1000, 2000], "trials": 10,
                       "seed": 1},)
    verify_compares = quick_compares

    def _symbols(self):
        return [p.symbol for p in self.parameters[:3]], self.order_parameters[0].symbol

    def free_energy(self, choices):
        (alpha, rho, Delta), E = self._symbols()
        gamma = alpha / (Delta + E)
        c = sympy.log(rho) - sympy.log(1 + gamma) / 2

        def L(exponent):
            return LogAddExp(sympy.log(1 - rho), c + exponent)

        # rho gamma/2 - rho int Dz L(sqrt(1 + gamma) z) with gamma/2 = int Dz gamma z^2/2 moved inside
        # the LogAddExp: no cancellation of two terms of order rho gamma (gamma ~ 1e6 at small noise)
        mutual = -(1 - rho) * GaussianAverage(L(gamma * _z**2 / (2 * (1 + gamma))), _z) \
            - rho * GaussianAverage(LogAddExp(sympy.log(1 - rho) - gamma * _z**2 / 2, c), _z)
        return alpha / 2 * (sympy.log(1 + E / Delta) - E / (E + Delta)) + mutual

    def equation_scales(self, choices):
        (alpha, _, Delta), E = self._symbols()
        # (E - mmse)/E: a relative residual, so that a tiny MMSE (1e-9 at small noise) is still
        # solved to 12 digits, not to 1e-12 absolute
        return [2 * (Delta + E) ** 2 / (alpha * E)]

    def stable_equations(self, choices):
        """The scaled equation 1 - mmse(gamma)/E with the MMSE as the average of the posterior
        variance, written as one average over the null density (:class:`ScalarMMSE`, module
        comments above): a positive integrand, so a tiny MMSE keeps its relative accuracy, and a
        fixed 180-node rule instead of two graded two-transition averages. The contract tests and
        tests/test_bayes_optimal.py prove it equals the derived equation."""
        (alpha, rho, Delta), E = self._symbols()
        return [1 - ScalarMMSE(alpha / (Delta + E), rho) / E]

    def observable_expressions(self, F, choices):
        (alpha, _, Delta), E = self._symbols()
        return {"mse": E, "mutual_information": F, "snr": alpha / (Delta + E)}

    def validate(self, params):
        rho = params.get("rho")
        if rho is not None and not 0 < float(rho) <= 1:
            raise ParameterError(f"parameter 'rho'={float(rho):g} is out of range; allowed (0, 1]")

    def starting_points(self, params):
        rho, Delta = float(params["rho"]), float(params["Delta"])
        return [(min(rho, Delta) * 0.1,), (0.3 * rho,), (rho,)]

    def starting_points_batch(self, plist):
        """In a sweep: every stationary point that the batched branch scan finds (already refined to
        ~1e-15), padded to three by repetition, so Newton starts at the roots (one or two iterations)
        and the free energy ranks the distinct ones; a point where the scan finds none keeps the three
        fixed starts. The roots are kept for :meth:`extra_observables_batch` of the same points."""
        roots = self.branches_batch(plist)
        self._scanned = (self._branch_keys(plist), roots)
        out = []
        for p, r in zip(plist, roots):
            if not r or len(r) > 3:
                out.append(self.starting_points(p))
            else:
                out.append([(v,) for v in (list(r) + [r[-1]] * 3)[:3]])
        return out

    def _branch_keys(self, plist):
        return tuple(tuple(float(p[q.name]) for q in self.real_parameters) for p in plist)

    # -- the branches: every stationary point of the potential --------------------------
    def branches(self, params) -> list:
        """Every stationary point E of the potential on (0, rho], sorted: the sign changes of the
        derived (scaled) equation E - mmse(gamma(E)) on a logarithmic grid, each refined by brentq
        on the same compiled equation the solver uses."""
        from scipy.optimize import brentq
        deriv = self.derivation(params)
        residual = deriv.numpy_residual
        rest = [float(params[p.name]) for p in self.real_parameters]
        rho = float(params["rho"])

        def g(E):
            return float(residual(np.asarray(E), *rest)[0])

        grid = np.geomspace(rho * 1e-12, rho, GRID)
        vals = residual(grid, *[np.full_like(grid, v) for v in rest])[0]
        out = []
        for a, b, fa, fb in zip(grid[:-1], grid[1:], vals[:-1], vals[1:]):
            if fa == 0:
                out.append(float(a))
            elif fa * fb < 0:
                out.append(brentq(g, a, b, xtol=1e-300, rtol=1e-15))   # relative: E may be 1e-12
        if vals[-1] == 0:
            out.append(rho)
        return out

    def branches_batch(self, plist: list) -> list:
        """:meth:`branches` for many parameter points at once: one vectorised scan of the derived
        equation on a logarithmic grid of E a point, then every bracket of every point refined
        together by Newton in ln E with the derived Jacobian, safeguarded by the bracket (a step
        that leaves it, or does not shrink |f| by half, is replaced by halving), until the bracket
        or the step is below 1e-15 relative (typically 5-8 evaluations instead of 55 halvings).
        Same roots as :meth:`branches` to that accuracy (tested)."""
        if not plist:
            return []
        deriv = self.derivation(plist[0])
        residual, system = deriv.numpy_residual, deriv.numpy_system
        rest = np.array([[float(p[q.name]) for q in self.real_parameters] for p in plist])   # (points, 3)
        brackets = self._brackets_by_snr(rest)
        if brackets is None:
            brackets = self._brackets_on_e_grid(rest, residual)
        pi, lo, hi, f_lo, zeros = brackets
        lo, hi = np.log(lo), np.log(hi)
        args = [rest[pi, k] for k in range(3)]
        x = (lo + hi) / 2
        f_prev = np.full(x.shape, np.inf)
        active = np.ones(x.shape, dtype=bool)
        for _ in range(80):
            idx = np.flatnonzero(active)
            if idx.size == 0:
                break
            E = np.exp(x[idx])
            res, jac = system(E, *[a[idx] for a in args])
            f, slope = np.asarray(res[0], dtype=float), np.asarray(jac[0][0], dtype=float) * E
            left = np.sign(f) == np.sign(f_lo[idx])
            lo[idx] = np.where(left, x[idx], lo[idx])
            f_lo[idx] = np.where(left, f, f_lo[idx])
            hi[idx] = np.where(left, hi[idx], x[idx])
            with np.errstate(divide="ignore", invalid="ignore"):
                newton = x[idx] - f / slope
            ok = (np.isfinite(newton) & (newton > lo[idx]) & (newton < hi[idx])
                  & (np.abs(f) <= 0.5 * np.abs(f_prev[idx])))
            step = np.where(ok, newton, (lo[idx] + hi[idx]) / 2)
            # converged when the step taken, or the Newton correction itself, is below 1e-15 of ln E (a
            # correction that small need not also halve |f|, which sits at rounding level there)
            tiny = 1e-15 * np.maximum(1.0, np.abs(x[idx]))
            with np.errstate(divide="ignore", invalid="ignore"):
                settled = np.abs(f / slope) <= tiny
            done = (f == 0) | settled | (np.abs(step - x[idx]) <= tiny) | (hi[idx] - lo[idx] <= 1e-15)
            f_prev[idx] = f
            x[idx] = np.where(f == 0, x[idx], np.where(settled, newton, step))   # settled: keep the root
            active[idx] = ~done
        roots = [[] for _ in plist]
        for i, r in zip(pi, np.exp(x)):
            roots[i].append(float(r))
        for i, r in zeros:
            roots[i].append(float(r))
        return [sorted(r) for r in roots]

    @staticmethod
    def _brackets_on_e_grid(rest, residual):
        """Sign changes of the equation on the logarithmic E-grid (GRID points in [1e-12 rho, rho]) of
        every point: (point index, lower E, upper E, f at lower E, exact zeros)."""
        rho = rest[:, 1]
        u = np.linspace(-12 * math.log(10), 0.0, GRID)
        grid = rho[:, None] * np.exp(u)[None, :]                                            # (points, GRID)
        vals = residual(grid, *[np.broadcast_to(rest[:, k:k + 1], grid.shape) for k in range(3)])[0]
        sign = np.sign(vals)
        pi, gi = np.nonzero(sign[:, :-1] * sign[:, 1:] < 0)
        zeros = [(i, grid[i, j]) for i, j in zip(*np.nonzero(sign == 0))]
        return pi, grid[pi, gi], grid[pi, gi + 1], vals[pi, gi], zeros

    @staticmethod
    def _brackets_by_snr(rest):
        """The same brackets from one table of the scalar MMSE a value of rho (None when that is not
        cheaper, e.g. a sweep over rho). The equation E = mmse(gamma), gamma = alpha/(Delta + E),
        depends on E only through gamma and E itself, so on the grid E_j = alpha/gamma_j - Delta of a
        logarithmic gamma-grid (SNR_PER_DECADE points a decade, finer than the E-grid's ratio 1.2
        wherever E >> Delta; where E << Delta, gamma is nearly constant and the equation monotone in
        E) its values 1 - mmse(gamma_j)/E_j come from the table; the ends E = 1e-12 rho and rho are
        evaluated directly. Exact values of the same function as the solver's equation."""
        alpha, rho, Delta = rest.T
        values = np.unique(rho)
        lo_g = alpha / (Delta + rho)
        hi_g = alpha / (Delta + 1e-12 * rho)
        sizes = {}
        for r in values:
            sel = rho == r
            sizes[r] = int(math.ceil(math.log10(hi_g[sel].max() / lo_g[sel].min()) * SNR_PER_DECADE)) + 2
        if sum(sizes.values()) + 2 * len(rho) > len(rho) * GRID:
            return None
        ends = ScalarMMSE._imp_(np.concatenate([lo_g, hi_g]), np.concatenate([rho, rho]))
        f_top, f_bottom = 1 - ends[:len(rho)] / rho, 1 - ends[len(rho):] / (1e-12 * rho)
        pts, los, his, flos, zeros = [], [], [], [], []
        for r in values:
            gam = np.geomspace(lo_g[rho == r].min(), hi_g[rho == r].max(), sizes[r])
            table = ScalarMMSE._imp_(gam, np.full_like(gam, r))
            for i in np.flatnonzero(rho == r):
                E = alpha[i] / gam[::-1] - Delta[i]                  # ascending in E
                m = table[::-1]
                inside = (E > 1e-12 * r) & (E < r)
                E = np.concatenate([[1e-12 * r], E[inside], [r]])
                f = np.concatenate([[f_bottom[i]], 1 - m[inside] / E[1:-1], [f_top[i]]])
                sign = np.sign(f)
                k = np.flatnonzero(sign[:-1] * sign[1:] < 0)
                pts.extend([i] * len(k))
                los.extend(E[k])
                his.extend(E[k + 1])
                flos.extend(f[k])
                zeros.extend((i, e) for e in E[sign == 0])
        return np.array(pts, dtype=int), np.array(los), np.array(his), np.array(flos), zeros

    def extra_observables_batch(self, plist, solutions):
        if any(p.get("thresholds") == "yes" for p in plist):
            return None                                    # thresholds: point by point
        scanned = getattr(self, "_scanned", None)
        roots = scanned[1] if scanned is not None and scanned[0] == self._branch_keys(plist) else self.branches_batch(plist)
        return [self._branch_observables(r, float(x[0])) for r, x in zip(roots, solutions)]

    @staticmethod
    def _branch_observables(roots, E) -> dict:
        """AMP's fixed point and the branch count; the saddle point E is itself stationary, so a scan
        that missed it (closer to another root than the grid resolves) still counts it."""
        if not any(abs(r - E) <= 1e-8 * E for r in roots):
            roots = sorted(roots + [E])
        return {"mse_amp": max(roots), "branches": float(len(roots))}

    def extra_observables(self, params, solution) -> dict:
        """Observables beyond the saddle point: AMP's fixed point and the number of branches."""
        out = self._branch_observables(self.branches(params), float(solution[0]))
        if params.get("thresholds") == "yes":
            rho, Delta = float(params["rho"]), float(params["Delta"])
            found = self.transitions(rho, Delta)
            if all(math.isnan(v) for v in found.values()):
                raise ParameterError(f"thresholds=yes at rho={rho:g}, Delta={Delta:g}: there is no first-order "
                                     "transition (one stationary point at every load alpha in [rho/10, 4]); the "
                                     "thresholds exist at smaller noise Delta")
            out.update(found)
        return out

    def _saddle_node(self, alpha0: float, rho: float, Delta: float, low: bool) -> float:
        """The spinodal exactly: two stationary points merge where the equation and its E-derivative
        vanish together. Newton on (ln E, alpha) from the bisection's estimate (a grid of E cannot
        see two roots closer than its spacing), with the derived equation and its derived Jacobian."""
        from scipy.optimize import root
        roots = []
        for step in (1e-3, 3e-3, 1e-2, 3e-2):       # into the three-branch region until the pair is seen
            roots = self.branches(self.resolve({"alpha": alpha0 * (1 + step if low else 1 - step), "rho": rho,
                                                "Delta": Delta}))
            if len(roots) >= 3:
                break
        if len(roots) < 3:
            raise ConvergenceError(f"bayes-optimal spinodal near alpha={alpha0:.10g} (rho={rho:g}, Delta={Delta:g}): "
                                   "no pair of stationary points to follow")
        pair = roots[:2] if low else roots[-2:]
        system = self.derivation(self.resolve({"alpha": alpha0, "rho": rho, "Delta": Delta})).numpy_system

        def F(v):
            E, alpha = math.exp(v[0]), v[1]
            res, jac = system(E, alpha, rho, Delta)
            return [float(res[0]), float(jac[0][0]) * E]

        sol = root(F, [math.log(math.sqrt(pair[0] * pair[1])), alpha0], method="hybr", options={"xtol": 1e-14})
        residual = max(abs(x) for x in F(sol.x))
        # judged by the residual (hybr may report a stall when it is already at rounding level) and
        # by staying near the bisection's estimate (the pair it followed, not another one)
        if residual > 1e-10 or not abs(sol.x[1] - alpha0) < 0.05 * alpha0:
            raise ConvergenceError(f"bayes-optimal spinodal near alpha={alpha0:.10g}: Newton did not converge "
                                   f"(residual {residual:.3g}, last alpha={sol.x[1]:.17g}, E={math.exp(sol.x[0]):.17g})")
        return float(sol.x[1])

    def transitions(self, rho: float, Delta: float) -> dict:
        """The first-order transition in alpha at fixed (rho, Delta): ``alpha_sp_good``, ``alpha_IT``
        and ``alpha_alg``, NaN where there is no first-order region (one branch at every load).

        A logarithmic scan of alpha over [rho/10, 4] counts the branches; the edges of the
        three-branch region are refined by bisection on the branch count, and alpha_IT by brentq on
        the potential difference of the low- and high-error branches (both from :meth:`branches`)."""
        from scipy.optimize import brentq

        def params(alpha):
            return self.resolve({"alpha": alpha, "rho": rho, "Delta": Delta})

        def count(alpha):
            return len(self.branches(params(alpha)))

        grid = np.geomspace(rho / 10, 4.0, 40)
        counts = [count(a) for a in grid]
        multi = [i for i, c in enumerate(counts) if c >= 3]
        nan = float("nan")
        if not multi:
            return {"alpha_sp_good": nan, "alpha_IT": nan, "alpha_alg": nan}
        if multi[0] == 0 or multi[-1] == len(grid) - 1:
            raise ConvergenceError(f"bayes-optimal thresholds at rho={rho:g}, Delta={Delta:g}: the first-order region "
                                   f"reaches the end of the scanned loads [{grid[0]:g}, {grid[-1]:g}]")

        def edge(lo, hi, inside_hi):
            # bisection between a one-branch and a three-branch load
            for _ in range(60):
                mid = math.sqrt(lo * hi)
                if (count(mid) >= 3) == inside_hi:
                    hi = mid
                else:
                    lo = mid
                if hi - lo < 1e-12 * hi:
                    break
            return math.sqrt(lo * hi)

        a_good = self._saddle_node(edge(grid[multi[0] - 1], grid[multi[0]], True), rho, Delta, low=True)
        a_alg = self._saddle_node(edge(grid[multi[-1] + 1], grid[multi[-1]], True), rho, Delta, low=False)
        potential = self.derivation(params(grid[multi[0]])).numpy_free_energy

        def gap(alpha):
            roots = self.branches(params(alpha))
            return float(potential(roots[0], alpha, rho, Delta) - potential(roots[-1], alpha, rho, Delta))

        lo, hi = grid[multi[0]], grid[multi[-1]]
        if gap(lo) * gap(hi) > 0:
            raise ConvergenceError(f"bayes-optimal thresholds at rho={rho:g}, Delta={Delta:g}: the potentials of the "
                                   f"two branches do not cross in [{lo:g}, {hi:g}]")
        a_it = brentq(gap, lo, hi, xtol=1e-14, rtol=1e-13)
        return {"alpha_sp_good": a_good, "alpha_IT": a_it, "alpha_alg": a_alg}

    def simulate_trial(self, params, n, rng):
        from ..simulators.amp import amp_bernoulli_gauss
        if n < 50:
            raise SimulationError(f"bayes-optimal simulation: n={n} is out of range; allowed n >= 50 (AMP needs "
                                  "large instances)")
        return {"mse_amp": amp_bernoulli_gauss(n, float(params["alpha"]), float(params["rho"]),
                                               float(params["Delta"]), rng)["mse"]}
