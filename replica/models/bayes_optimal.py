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

import numpy as np
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
_z = sympy.Symbol("z", real=True)


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
        variance, pi/(1 + gamma) + pi (1 - pi) gamma u^2/(1 + gamma)^2 (pi: the posterior probability
        of a non-zero component), a positive integrand: no cancellation of rho against the mean
        square of the estimate, so a tiny MMSE keeps its relative accuracy. The contract tests
        prove it equals the derived equation."""
        from ..symbolic import Logistic
        (alpha, rho, Delta), E = self._symbols()
        gamma = alpha / (Delta + E)

        def variance(u2):
            llr = sympy.log(rho) - sympy.log(1 - rho) - sympy.log(1 + gamma) / 2 + gamma * u2 / (2 * (1 + gamma))
            pi, not_pi = Logistic(llr), Logistic(-llr)
            return pi / (1 + gamma) + pi * not_pi * gamma * u2 / (1 + gamma) ** 2

        mmse = (1 - rho) * GaussianAverage(variance(_z**2), _z) + rho * GaussianAverage(variance((1 + gamma) * _z**2), _z)
        return [1 - mmse / E]

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
                out.append(brentq(g, a, b, xtol=1e-16, rtol=1e-15))
        if vals[-1] == 0:
            out.append(rho)
        return out

    def branches_batch(self, plist: list) -> list:
        """:meth:`branches` for many parameter points at once: one vectorised scan of the derived
        equation on a logarithmic grid of E a point, then bisection of every bracket of every point
        together (55 halvings of a grid cell: below 1e-15 relative). Same roots as :meth:`branches`
        to that accuracy (tested)."""
        if not plist:
            return []
        residual = self.derivation(plist[0]).numpy_residual
        rest = np.array([[float(p[q.name]) for q in self.real_parameters] for p in plist])   # (points, 3)
        rho = rest[:, 1]
        u = np.linspace(-12 * math.log(10), 0.0, GRID)
        grid = rho[:, None] * np.exp(u)[None, :]                                            # (points, GRID)
        vals = residual(grid, *[np.broadcast_to(rest[:, k:k + 1], grid.shape) for k in range(3)])[0]
        sign = np.sign(vals)
        pi, gi = np.nonzero(sign[:, :-1] * sign[:, 1:] < 0)
        lo, hi = grid[pi, gi], grid[pi, gi + 1]
        f_lo = vals[pi, gi]
        args = [rest[pi, k] for k in range(3)]
        for _ in range(55):
            mid = np.sqrt(lo * hi)
            f_mid = residual(mid, *args)[0]
            left = np.sign(f_mid) == np.sign(f_lo)
            lo, f_lo = np.where(left, mid, lo), np.where(left, f_mid, f_lo)
            hi = np.where(left, hi, mid)
        roots = [[] for _ in plist]
        for i, r in zip(pi, np.sqrt(lo * hi)):
            roots[i].append(float(r))
        for i, j in zip(*np.nonzero(sign == 0)):
            roots[i].append(float(grid[i, j]))
        return [sorted(r) for r in roots]

    def extra_observables_batch(self, plist, solutions):
        if any(p.get("thresholds") == "yes" for p in plist):
            return None                                    # thresholds: point by point
        return [self._branch_observables(r, float(x[0])) for r, x in zip(self.branches_batch(plist), solutions)]

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
            out.update(self.transitions(float(params["rho"]), float(params["Delta"])))
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
