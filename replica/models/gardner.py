"""Gardner's spherical perceptron: storage capacity with margin kappa (replica symmetric).

E. Gardner, "The space of interactions in neural network models",
J. Phys. A 21, 257 (1988); stability: E. Gardner and B. Derrida,
"Optimal storage properties of neural network models", J. Phys. A 21, 271 (1988).

N spherical weights (|w|^2 = N), P = alpha N random patterns with random
labels; the typical log-volume of weights classifying every pattern with
margin kappa, per weight, is the replica-symmetric free entropy

    s(q) = 1/2 ln(1-q) + q/(2(1-q)) + alpha int Dt ln H((kappa + sqrt(q) t)/sqrt(1-q)),

extremised over q, the overlap of two solutions. The capacity alpha_c(kappa)
is where q -> 1: the package takes that limit with the asymptotic rule for
ln H (see :func:`replica.symbolic.lnH_leading`), which gives Gardner's
alpha_c = 1 / int_{-kappa}^oo Dt (t + kappa)^2.
"""
from __future__ import annotations

import math

import sympy

from ..errors import DerivationError, ParameterError, SimulationError
from ..model import DerivedLimit, Model, Reference, Stability
from ..perceptron import RandomLabels, SphericalPrior, VersionSpace, free_entropy
from ..params import POSITIVE, REAL, Interval, Observable, OrderParameter, Parameter
from ..symbolic import (GaussianAverage, InvMills, LnH, MillsGap, apply_asymptotic_rules,
                        gaussian_average_closed_form, leading_coefficient, map_averages)

t = sympy.Symbol("t", real=True)
epsilon = sympy.Symbol("epsilon", positive=True)


def _factored(avg):
    """c * int Dz g(z) with the integrand factored (for display)."""
    coeff, rest = sympy.factor(avg.integrand).as_independent(avg.variable, as_Add=False)
    return coeff * GaussianAverage(rest, avg.variable)


def capacity_closed_form(kappa):
    """Gardner (1988) eq. (39)-(40), written out: 1/[(1+k^2) H(-k) + k phi(k)] (mpmath or float)."""
    import mpmath
    k = mpmath.mpf(kappa)
    return 1 / ((1 + k**2) * mpmath.erfc(-k / mpmath.sqrt(2)) / 2 + k * mpmath.npdf(k))


class Gardner(Model):
    name = "gardner"
    title = "Gardner spherical perceptron (storage, replica symmetric)"
    description = ("Storage capacity of the spherical perceptron with margin kappa and the typical "
                   "overlap q of two solutions below capacity (free_energy: the RS free entropy, the "
                   "typical log-volume of solutions per weight).")
    parameters = (
        Parameter("kappa", "margin (stability) required of every pattern", REAL, 0.0, latex="kappa"),
        Parameter("alpha", "load P/N (optional; below alpha_c)", POSITIVE, None, latex="alpha"),
    )
    order_parameters = (
        # one start: the RS free entropy has a single stationary point in (0, 1) (a minimum; checked
        # against the mpmath references, tests/reference); failed points fall back to a dense grid
        OrderParameter("q", "overlap of two solutions", Interval(0.0, 1.0), guesses=(0.5,)),
    )
    observables = (
        Observable("alpha_c", "storage capacity (q -> 1 limit of the RS saddle point)"),
        Observable("q", "typical overlap between two solutions (needs alpha)"),
    )
    free_energy_name = "free entropy"
    ansatz = "replica symmetric"
    select = "min"
    simulated_observables = ("alpha_c",)
    finite_size_powers = (1,)
    references = (
        Reference({"kappa": 0.0}, "alpha_c", 2.0, 1e-13, "Gardner 1988, J. Phys. A 21, 257, eq. (40); Cover 1965"),
        Reference({"kappa": 0.5}, "alpha_c", float(capacity_closed_form(0.5)), 1e-12,
                  "Gardner 1988 eq. (39): 1/int_{-k}^oo Dt (t+k)^2"),
        Reference({"kappa": 1.0}, "alpha_c", float(capacity_closed_form(1.0)), 1e-12, "Gardner 1988 eq. (39)"),
        Reference({"kappa": 2.0}, "alpha_c", float(capacity_closed_form(2.0)), 1e-12, "Gardner 1988 eq. (39)"),
    )

    verify_compares = ({"params": {"kappa": 0.0}, "n": [16, 32, 64], "trials": 100, "seed": 2},)
    quick_compares = ({"params": {"kappa": 0.0}, "n": [10, 20, 40], "trials": 40, "seed": 1},)

    def free_energy(self, choices):
        """Composed by the perceptron engine: spherical prior, random labels, version space at margin kappa."""
        q, kappa, alpha = self.order_parameters[0].symbol, self.parameters[0].symbol, self.parameters[1].symbol
        return free_entropy(SphericalPrior(), RandomLabels(), VersionSpace(kappa), alpha, q)

    def equation_scales(self, choices):
        q = self.order_parameters[0].symbol
        return [2 * (1 - q)**2]

    def stable_equations(self, choices):
        """The scaled equation 2(1-q)^2 ds/dq = 0 regrouped so that no O(1/(1-q)) terms cancel:
        with g = phi/H, int Dt g^2 = int Dt g (g - u) + int Dt g u, and the second part cancels
        the t g(u) and kappa g(u) terms exactly, leaving
        q - alpha int Dt g(u) (g(u) - u) - alpha kappa sqrt(1-q) int Dt g(u) = 0
        (g(u) - u in (0, 1) is evaluated by a continued fraction). The contract battery checks
        that it equals the derived equation."""
        q, kappa, alpha = self.order_parameters[0].symbol, self.parameters[0].symbol, self.parameters[1].symbol
        u = (kappa + sympy.sqrt(q) * t) / sympy.sqrt(1 - q)
        return [q - alpha * GaussianAverage(InvMills(u) * MillsGap(u), t)
                - alpha * kappa * sympy.sqrt(1 - q) * GaussianAverage(InvMills(u), t)]

    def limits(self, F, choices):
        """alpha_c from the q -> 1 limit: the coefficient of 1/(1-q) in F must vanish."""
        q, alpha = self.order_parameters[0].symbol, self.parameters[1].symbol
        raw = map_averages(leading_coefficient(apply_asymptotic_rules(F.subs(q, 1 - epsilon)), epsilon, 1),
                           _factored)
        leading = sympy.expand(raw.replace(lambda e: isinstance(e, GaussianAverage), gaussian_average_closed_form))
        slope = sympy.diff(leading, alpha)
        intercept = leading.subs(alpha, 0)
        if slope.has(alpha) or slope == 0:
            raise DerivationError(f"the q -> 1 limit is not linear in alpha: {leading}")
        steps = (
            (r"\lim_{\epsilon \to 0} \epsilon s(q = 1 - \epsilon)", raw,
             "q -> 1 with ln H(u) ~ -u^2/2 Heaviside(u): s ~ A/(1-q), where A is"),
            ("A", leading, "A with the Gaussian average in closed form; the saddle point reaches q = 1 where A = 0, at"),
        )
        return {"alpha_c": DerivedLimit(sympy.factor_terms(-intercept / slope), steps)}

    def stability(self, F, choices):
        """Replicon eigenvalue of the RS saddle point (Gardner & Derrida 1988, sec. 3):
        1 - alpha int Dt [g(u)(g(u) - u)]^2 with g = phi/H; RS is stable where it is > 0."""
        q, kappa, alpha = self.order_parameters[0].symbol, self.parameters[0].symbol, self.parameters[1].symbol
        u = (kappa + sympy.sqrt(q) * t) / sympy.sqrt(1 - q)
        g = InvMills(u)
        return Stability("replicon", 1 - alpha * GaussianAverage((g * (g - u))**2, t),
                         "Gardner & Derrida 1988, J. Phys. A 21, 271")

    def saddle_active(self, params):
        return params.get("alpha") is not None

    def validate(self, params):
        if params.get("alpha") is None:
            return
        k = float(params["kappa"])
        ac = 1.0 / ((1 + k * k) * 0.5 * math.erfc(-k / math.sqrt(2)) + k * math.exp(-k * k / 2) / math.sqrt(2 * math.pi))
        if params["alpha"] >= ac:
            raise ParameterError(
                f"parameter 'alpha'={params['alpha']:g} is out of range; allowed (0, alpha_c) = "
                f"(0, {ac:.10g}) for kappa={params['kappa']:g} (no solutions at or above capacity)")

    # -- simulation ------------------------------------------------------------
    def simulate_trial(self, params, n, rng):
        if params["kappa"] < 0:
            raise SimulationError(f"gardner simulation needs kappa >= 0, got kappa={params['kappa']:g} "
                                  "(negative margins make the storage problem non-convex)")
        from ..simulators.perceptron import separability_threshold
        return {"alpha_c": separability_threshold(n, params["kappa"], rng) / n}

    def simulation_reference(self, params, n):
        if params["kappa"] != 0.0:
            return {}
        from ..simulators.perceptron import cover_mean_threshold
        return {"alpha_c": cover_mean_threshold(n)}
