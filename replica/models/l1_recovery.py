"""Noiseless l1 recovery: the Donoho-Tanner phase transition rho_c(delta), signed and non-negative.

Setting and conventions (Donoho-Tanner): an unknown x0 in R^P with k nonzero components is
measured by N = delta P Gaussian projections y = A x0 (no noise) and estimated by basis pursuit,
x_hat = argmin |x|_1 subject to A x = y (for ``signal=nonnegative``: argmin sum_i x_i subject to
A x = y, x >= 0). The undersampling ratio is ``delta = N/P`` in (0, 1] and the sparsity is
``rho = k/N`` (nonzeros per MEASUREMENT, the Donoho-Tanner convention; the fraction of nonzeros
per unknown, the epsilon of Donoho-Maleki-Montanari and the rho of :mod:`replica.models.lasso`, is
eps = rho delta). As P -> infinity, recovery is exact with probability -> 1 for rho < rho_c(delta)
and fails with probability -> 1 for rho > rho_c(delta).

Derivation (replica symmetric = state evolution; Kabashima, Wadayama and Tanaka, J. Stat. Mech.
(2009) L09003 by the replica method; Donoho, Maleki and Montanari, PNAS 106, 18914 (2009) by
state evolution). The noiseless l1 problem is the lam -> 0 limit of the LASSO
(:mod:`replica.models.lasso`, sigma = 0). Its replica-symmetric saddle point reduces it to a
scalar soft-thresholding problem at effective noise tau and threshold z tau; the state evolution
is tau'^2 = E[(eta(X + tau Z; z tau) - X)^2]/delta, and recovery (tau -> 0) holds iff the slope of
this map at tau = 0 is below one for some threshold z. The slope is largest for the least
favourable signal (nonzeros far above the threshold), and there it equals M(eps, z)/delta with

    M(eps, z) = eps (1 + z^2) + (1 - eps) c m(z),   m(z) = (1 + z^2) H(z) - z phi(z) = E (Z - z)_+^2,

c = 2 for signed signals (the soft threshold acts on both tails) and c = 1 for non-negative
signals (the one-sided threshold (x - z tau)_+). Setting M(rho delta, z) = delta and solving for
rho gives the sparsity that the threshold z can handle:

    rho(z; delta) = [1 - c m(z)/delta] / [1 + z^2 - c m(z)],

and the transition is its maximum over z (for c = 2 this is the formula of Donoho, Maleki and
Montanari 2009, eq. (4); it coincides with the Donoho-Tanner weak threshold of the projected
cross-polytope, c = 2, and simplex, c = 1).

In the package's terms the order parameter is the threshold z (in units of tau), the "free
energy" is rho(z; delta) (``select = "max"``), its stationarity d rho/dz = 0 is derived by SymPy
(scaled by (1 + z^2 - c m)^2 > 0, it is the numerator of the derivative), and rho_c is its
value at the saddle point. The maximiser z_c also minimises M(eps_c, z) at eps_c = rho_c delta
(the minimax threshold: tests/test_l1_recovery.py checks it). At delta = 1 the supremum is
approached as z -> 0 and equals 1 (x0 is determined by the N = P equations): the model switches
to a variant without saddle point whose rho_c = 1 is the SymPy limit z -> 0 of rho(z; 1).

Observables: ``rho_c``, ``z_c`` (the optimal threshold), ``eps_c = rho_c delta`` (k/P at the
transition) and, when ``rho`` is given, ``margin = rho_c - rho`` and ``success`` (1 if rho < rho_c,
0 if rho > rho_c: the N -> infinity probability of exact recovery that the simulator estimates).
"""
from __future__ import annotations

import math

import sympy

from ..model import DerivedLimit, Model, Reference, Stability
from ..params import POSITIVE, Interval, Observable, OrderParameter, Parameter
from ..symbolic import GaussPDF, H

UNIT = Interval(0.0, 1.0, upper_closed=True)

_CITE_DT = ("D. L. Donoho and J. Tanner, 'Counting faces of randomly projected polytopes when the projection "
            "radically lowers dimension', J. Amer. Math. Soc. 22, 1 (2009); 'Neighborliness of randomly "
            "projected simplices in high dimensions', PNAS 102, 9452 (2005); 'Precise undersampling theorems', "
            "Proc. IEEE 98, 913 (2010)")
_CITE_DMM = ("D. L. Donoho, A. Maleki and A. Montanari, 'Message-passing algorithms for compressed sensing', "
             "PNAS 106, 18914 (2009), eq. (4) and Fig. 1")


def tail_moment(z):
    """m(z) = E (Z - z)_+^2 = (1 + z^2) H(z) - z phi(z) for Z ~ N(0, 1)."""
    return (1 + z**2) * H(z) - z * GaussPDF(z)


def sides(signal: str) -> int:
    """c: 2 for signed signals (both tails thresholded), 1 for non-negative ones."""
    return {"signed": 2, "nonnegative": 1}[signal]


class L1Recovery(Model):
    name = "l1-recovery"
    title = "Noiseless l1 recovery: the Donoho-Tanner phase transition (replica symmetric = state evolution)"
    description = ("Basis pursuit min |x|_1 s.t. A x = y (or min sum x s.t. A x = y, x >= 0 for non-negative "
                   "signals) with a Gaussian A of N = delta P rows and a k-sparse x0: the phase transition "
                   "rho_c(delta) in rho = k/N (Donoho-Tanner convention; k/P = rho delta) from the minimax "
                   "threshold of the zero-noise LASSO state evolution (Donoho-Maleki-Montanari 2009).")
    parameters = (
        Parameter("delta", "undersampling ratio N/P (measurements per unknown)", UNIT, 0.5, latex="delta"),
        Parameter("rho", "sparsity k/N (nonzeros per measurement, Donoho-Tanner); optional: the verdict at it",
                  UNIT, None, latex="rho"),
        Parameter("signal", "sign of the nonzeros: signed (l1 minimisation) or nonnegative (LP with x >= 0)",
                  kind="categorical", choices=("signed", "nonnegative"), default="signed"),
    )
    order_parameters = (
        OrderParameter("z", "threshold in units of the effective noise tau (soft threshold at z tau)",
                       POSITIVE, (0.3, 0.8, 1.5, 2.5, 3.5), latex="z"),
    )
    observables = (
        Observable("rho_c", "phase transition: the largest k/N recovered exactly as P -> infinity"),
        Observable("z_c", "the optimal (minimax) threshold at the transition, in units of tau"),
        Observable("eps_c", "fraction of nonzeros per unknown at the transition, k/P = delta rho_c"),
        Observable("margin", "rho_c - rho (positive: recovery; needs rho)"),
        Observable("success", "probability of exact recovery as P -> infinity: 1 if rho < rho_c, 0 if rho > rho_c "
                              "(needs rho)"),
    )
    free_energy_name = "recoverable sparsity rho(z)"
    ansatz = "replica symmetric"
    select = "max"
    simulated_observables = ("success",)
    finite_size_powers = (1,)
    references = (
        # the weak thresholds rho_W(delta) of the projected cross-polytope / simplex (Donoho-Tanner);
        # tests/test_l1_recovery.py also checks the curve against the DMM formula, the statistical
        # dimension (scipy quadrature) and the iterated state evolution of a Bernoulli-Gauss signal
        Reference({"delta": 0.5, "signal": "signed"}, "rho_c", 0.385689666181, 1e-9,
                  "the Donoho-Tanner weak threshold of the cross-polytope at delta = 1/2 in the closed form of "
                  "Amelunxen, Lotz, McCoy & Tropp, 'Living on the edge', Inf. Inference 3, 224 (2014) (statistical "
                  "dimension of the l1 descent cone), evaluated by scipy quadrature in tests/test_l1_recovery.py; "
                  "= " + _CITE_DMM),
        Reference({"delta": 0.5, "signal": "nonnegative"}, "rho_c", 0.558, 1e-3,
                  "Donoho & Tanner: weak threshold of the simplex rho_W(1/2) ~ 0.558 (LP recovers nonnegative "
                  "solutions of n x 2n systems with fewer nonzeros than 'roughly half the number of equations', "
                  "PNAS 102, 9446 (2005); " + _CITE_DT + ")"),
    )
    quick_compares = ({"params": {"delta": 0.5, "rho": 0.2}, "n": [100, 200], "trials": 20, "seed": 1},)
    verify_compares = ({"params": {"delta": 0.5, "rho": 0.25}, "n": [100, 200, 400], "trials": 40, "seed": 1},
                       {"params": {"delta": 0.5, "rho": 0.55}, "n": [100, 200, 400], "trials": 40, "seed": 1},
                       {"params": {"delta": 0.5, "rho": 0.4, "signal": "nonnegative"}, "n": [100, 200, 400],
                        "trials": 40, "seed": 1})

    def _symbols(self):
        return (self.order_parameters[0].symbol, self.parameters[0].symbol, self.parameters[1].symbol)

    def variant(self, params):
        if params.get("delta") is not None and float(params["delta"]) == 1.0:
            return L1RecoveryComplete() if params.get("rho") is None else L1RecoveryCompleteVerdict()
        return self if type(self) is L1Recovery else L1Recovery()

    def sparsity_bound(self, choices):
        """rho(z; delta) = [1 - c m(z)/delta]/[1 + z^2 - c m(z)] (module docstring)."""
        z, delta, _ = self._symbols()
        c = sides(choices.get("signal", "signed"))
        m = tail_moment(z)
        return (1 - c * m / delta) / (1 + z**2 - c * m)

    def least_favorable_mse(self, choices):
        """M(eps, z) = eps (1 + z^2) + (1 - eps) c m(z): delta times the slope of state evolution at tau = 0."""
        z = self._symbols()[0]
        eps = sympy.Symbol("epsilon", positive=True)
        c = sides(choices.get("signal", "signed"))
        return eps, eps * (1 + z**2) + (1 - eps) * c * tail_moment(z)

    def free_energy(self, choices):
        return self.sparsity_bound(choices)

    def equation_scales(self, choices):
        z = self._symbols()[0]
        c = sides(choices.get("signal", "signed"))
        return [(1 + z**2 - c * tail_moment(z))**2]

    def observable_expressions(self, F, choices):
        z, delta = self._symbols()[:2]
        return {"rho_c": F, "z_c": z, "eps_c": delta * F}

    def stability(self, F, choices):
        z = self._symbols()[0]
        return Stability("-d2rho/dz2", -sympy.diff(F, z, 2),
                         "the stationary threshold is the maximum of rho(z): its curvature is negative")

    def starting_points(self, params):
        """The guesses and, for small delta, points around the asymptotic threshold sqrt(2 ln(1/delta))
        (rho_c ~ 1/(2 ln(1/delta)), Donoho-Tanner 2009): the maximum moves out as delta -> 0."""
        d = params.get("delta")
        if d is None or not 0 < float(d) < 1:
            return None
        z0 = math.sqrt(2 * math.log(1 / float(d)))
        return [(g,) for g in self.order_parameters[0].guesses] + [(0.6 * z0,), (0.8 * z0,), (z0,)]

    def extra_observables(self, params, solution):
        if params.get("rho") is None or solution is None:      # no saddle point (delta = 1): see its variant
            return {}
        d = self.derivation(params)
        z = float(solution[0])
        rho_c = float(d.numpy_free_energy(z, float(params["delta"]), float("nan")))
        return _verdict(rho_c, float(params["rho"]))

    def simulated_for(self, params):
        return self.simulated_observables if params.get("rho") is not None else ()

    def simulate_trial(self, params, n, rng):
        from ..simulators.l1_recovery import trial
        return trial(params, n, rng)


def _verdict(rho_c: float, rho: float) -> dict:
    margin = rho_c - rho
    return {"margin": margin, "success": 1.0 if margin > 0 else (0.0 if margin < 0 else 0.5)}


class L1RecoveryComplete(L1Recovery):
    """delta = 1: N = P equations determine x0; the supremum of rho(z; 1) is its limit z -> 0, rho_c = 1."""

    order_parameters = ()
    order_parameters_saddle = L1Recovery.order_parameters

    def variant(self, params):
        return L1Recovery().variant(params)

    def _bound_at_one(self, choices):
        """rho(z; delta = 1) and its limit z -> 0+ (SymPy)."""
        z = self.order_parameters_saddle[0].symbol
        bound = L1Recovery().sparsity_bound(choices).subs(self.parameters[0].symbol, 1)
        expr = bound.rewrite(sympy.erfc).rewrite(sympy.exp)
        return z, bound, sympy.limit(expr, z, 0, "+")

    def free_energy(self, choices):
        # no saddle point: the "free energy" is the supremum itself, sup_z rho(z; 1) = lim_{z -> 0+}
        return self._bound_at_one(choices)[2]

    def equation_scales(self, choices):
        return []

    def stability(self, F, choices):
        return None

    def observable_expressions(self, F, choices):
        return {}

    def limits(self, F, choices):
        z, bound, value = self._bound_at_one(choices)
        steps = ((r"\rho(z; \delta = 1)", bound, "the recoverable sparsity at delta = 1"),
                 (r"\rho_c = \lim_{z \to 0^+} \rho(z; 1)", value, "its supremum, approached as z -> 0"))
        delta = self.parameters[0].symbol
        return {"rho_c": DerivedLimit(value, steps), "z_c": sympy.Integer(0), "eps_c": delta * value}


class L1RecoveryCompleteVerdict(L1RecoveryComplete):
    """delta = 1 with rho given: rho_c = 1, so every rho in (0, 1] is recovered (margin 1 - rho >= 0)."""

    def limits(self, F, choices):
        out = super().limits(F, choices)
        rho = self.parameters[1].symbol
        out["margin"] = out["rho_c"].value - rho
        out["success"] = sympy.Integer(1)
        return out
