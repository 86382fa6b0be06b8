"""The binary (Ising) perceptron: storage capacity with margin kappa, RS and 1RSB.

N weights w_i = +-1 store P = alpha N random patterns with random labels, each with margin kappa.
Composed by the perceptron engine (binary prior, random labels, version space), the RS free
entropy (the log-number of solutions per weight) is

    s(q, qhat) = -qhat (1 - q)/2 + int Dz ln 2cosh(sqrt(qhat) z) + alpha int Dt ln H((kappa + sqrt(q) t)/sqrt(1 - q)),

stationary in (q, qhat) (Gardner & Derrida, J. Phys. A 21, 271 (1988); Krauth & Mezard,
J. Phys. France 50, 3057 (1989)).

* ``rsb=0``: the RS capacity is where q -> 1 (with qhat = x/(1 - q)^2): the package takes the limit
  with ln 2cosh(y) ~ |y| and ln H(u) ~ -u^2/2 Theta(u), which gives alpha_c = 2/(pi I(kappa)),
  I = int_{-kappa}^oo Dt (kappa + t)^2; 4/pi at kappa = 0. It is known to be wrong: the RS
  entropy is negative well before it.
* ``rsb=1``: Krauth and Mezard's capacity is where the entropy of solutions vanishes (their 1RSB
  solution freezes there, q1 = 1); found as the stationary point of alpha + lambda s(q, qhat; alpha)
  in (q, qhat, alpha, lambda), which imposes ds/dq = ds/dqhat = 0 and s = 0; about 0.833 at kappa = 0.
"""
from __future__ import annotations

import math

import sympy

from ..errors import DerivationError
from ..model import DerivedLimit, Model, Reference
from ..params import NONNEGATIVE, POSITIVE, REAL, Interval, Observable, OrderParameter, Parameter
from ..perceptron import BinaryPrior, RandomLabels, VersionSpace, free_entropy
from ..symbolic import (GaussianAverage, apply_asymptotic_rules, gaussian_average_closed_form,
                        leading_coefficient)

epsilon = sympy.Symbol("epsilon", positive=True)
x = sympy.Symbol("x", positive=True)


class IsingPerceptron(Model):
    name = "ising-perceptron"
    title = "Binary (Ising) perceptron: storage capacity (RS and 1RSB)"
    description = ("Storage of random patterns by +-1 weights with margin kappa: the RS capacity "
                   "(q -> 1, 4/pi at kappa = 0, known to be wrong) and the Krauth-Mezard 1RSB capacity "
                   "(vanishing entropy, about 0.833 at kappa = 0); below capacity the entropy of solutions.")
    parameters = (
        Parameter("kappa", "margin required of every pattern", REAL, 0.0, latex="kappa"),
        Parameter("alpha", "load P/N (rsb=0: optional, gives the entropy of solutions)", POSITIVE, None,
                  latex="alpha"),
        Parameter("rsb", "replica symmetry breaking: 0 (RS) or 1 (Krauth-Mezard)", default="0",
                  kind="categorical", choices=("0", "1")),
    )
    observables = (
        Observable("alpha_c", "storage capacity (rsb=0: RS q -> 1 limit; rsb=1: zero entropy)"),
        Observable("q", "overlap of two solutions"),
        Observable("qhat", "conjugate of q"),
        Observable("entropy", "log-number of solutions per weight (RS)"),
    )
    free_energy_name = "free entropy"
    references = (
        Reference({"kappa": 0.0, "rsb": "0"}, "alpha_c", 4 / 3.141592653589793, 1e-14,
                  "Gardner & Derrida 1988, J. Phys. A 21, 271: RS capacity 4/pi of +-1 weights"),
    )

    def variant(self, params):
        return KrauthMezard() if params.get("rsb") == "1" else RSIsing()

    def _symbols(self):
        kappa, alpha, _ = self.parameters
        return kappa.symbol, alpha.symbol

    def _entropy(self, q, qhat, alpha):
        kappa, _ = self._symbols()
        return free_entropy(BinaryPrior(), RandomLabels(), VersionSpace(kappa), alpha, q, qhat=qhat)


class RSIsing(IsingPerceptron):
    order_parameters = (
        OrderParameter("q", "overlap of two solutions", Interval(0.0, 1.0), guesses=(0.5,)),
        OrderParameter("qhat", "conjugate of q", Interval(0.0, None), guesses=(1.0,)),
    )
    ansatz = "replica symmetric"
    select = "min"

    def free_energy(self, choices):
        q, qhat = (o.symbol for o in self.order_parameters)
        _, alpha = self._symbols()
        return self._entropy(q, qhat, alpha)

    def equation_scales(self, choices):
        q = self.order_parameters[0].symbol
        return [2 * (1 - q), 2]

    def saddle_active(self, params):
        return params.get("alpha") is not None

    def observable_expressions(self, F, choices):
        q, qhat = (o.symbol for o in self.order_parameters)
        return {"q": q, "qhat": qhat, "entropy": F}

    def limits(self, F, choices):
        """RS capacity: q = 1 - epsilon, qhat = x/epsilon^2, s ~ A(x)/epsilon; A stationary in x, A = 0."""
        q, qhat = (o.symbol for o in self.order_parameters)
        _, alpha = self._symbols()
        raw = leading_coefficient(apply_asymptotic_rules(F.subs({q: 1 - epsilon, qhat: x / epsilon**2})),
                                  epsilon, 1)
        A = sympy.expand(raw.replace(lambda e: isinstance(e, GaussianAverage), gaussian_average_closed_form))
        roots = [r for r in sympy.solve(sympy.diff(A, x), x) if r.is_positive]
        if len(roots) != 1:
            raise DerivationError(f"the q -> 1 limit has no unique stationary x: {A}")
        A_star = sympy.expand(A.subs(x, roots[0]))
        slope, intercept = sympy.diff(A_star, alpha), A_star.subs(alpha, 0)
        if slope.has(alpha) or slope == 0:
            raise DerivationError(f"the q -> 1 limit is not linear in alpha: {A_star}")
        steps = ((r"\lim_{\epsilon\to 0} \epsilon\, s(1-\epsilon, x/\epsilon^2)", raw,
                  "q -> 1 with qhat = x/(1-q)^2: ln 2cosh(y) ~ |y|, ln H(u) ~ -u^2/2 Theta(u); s ~ A/(1-q), A ="),
                 ("x^*", roots[0], "A is stationary in x at"),
                 ("A(x^*)", A_star, "and A(x*) = 0 gives the capacity"))
        return {"alpha_c": DerivedLimit(sympy.simplify(-intercept / slope), steps)}


class KrauthMezard(IsingPerceptron):
    """The zero-entropy point of the RS saddle: Krauth & Mezard's 1RSB capacity."""

    order_parameters = (
        OrderParameter("q", "overlap of two solutions at capacity", Interval(0.0, 1.0), guesses=(0.5,)),
        OrderParameter("qhat", "conjugate of q", Interval(0.0, None), guesses=(2.0,)),
        OrderParameter("alpha_c", "capacity: the load where the entropy vanishes", Interval(0.0, None),
                       guesses=(0.8,)),
        OrderParameter("lambda", "Lagrange multiplier of s = 0", REAL, guesses=(1.0,)),
    )
    ansatz = "1RSB (frozen, Krauth-Mezard: zero entropy)"
    select = "min"
    references = (
        Reference({"kappa": 0.0, "rsb": "1"}, "alpha_c", 0.8330786, 2e-7,
                  "Krauth & Mezard 1989, J. Phys. France 50, 3057: alpha_c = 0.833 (zero entropy); "
                  "digits: Ding & Sun 2019 / Abbe et al. 2021 quote 0.833078599"),
    )

    def free_energy(self, choices):
        q, qhat, alpha_c, lam = (o.symbol for o in self.order_parameters)
        return alpha_c + lam * self._entropy(q, qhat, alpha_c)

    def starting_points(self, params):
        """Scaled from the RS capacity 2/(pi I(kappa)), I = (1 + k^2) H(-k) + k phi(k) (the ratio of
        the two capacities is 0.65-0.82 for kappa in [0, 1], measured); q, qhat and lambda bracketed."""
        k = float(params["kappa"])
        I = (1 + k * k) * 0.5 * math.erfc(-k / math.sqrt(2)) + k * math.exp(-k * k / 2) / math.sqrt(2 * math.pi)
        a0 = 0.72 * 2 / (math.pi * I)
        q0 = min(0.9, 0.55 + 0.15 * max(k, 0.0))
        return [(q0, qh, a0, lam) for qh in (2.5 * (1 + 2 * max(k, 0.0)), 1.0) for lam in (1.0, 4.0)]

    def observable_expressions(self, F, choices):
        q, qhat, alpha_c, _ = (o.symbol for o in self.order_parameters)
        return {"alpha_c": alpha_c, "q": q, "qhat": qhat}
