"""Sherrington-Kirkpatrick spin glass: replica-symmetric solution (``rsb=0``, this file), one-step
and full replica symmetry breaking (``rsb=1``, ``rsb=full``: :mod:`replica.models.sk_rsb`).

D. Sherrington and S. Kirkpatrick, "Solvable model of a spin-glass",
Phys. Rev. Lett. 35, 1792 (1975); stability: J. R. L. de Almeida and
D. J. Thouless, "Stability of the Sherrington-Kirkpatrick solution of a spin
glass model", J. Phys. A 11, 983 (1978).

H = -sum_{i<j} J_ij s_i s_j - h sum_i s_i with J_ij ~ N(0, 1/N). The RS free
energy per spin at temperature T (beta = 1/T) is

    f(q) = -beta/4 (1-q)^2 - T int Dz ln 2cosh(beta (sqrt(q) z + h)),

extremised over q (in the replica limit n -> 0 the physical extremum is the
maximum). Energy, entropy and magnetisation are derivatives of f with
respect to T and h at the saddle point.
"""
from __future__ import annotations

import math

import sympy

from ..model import DerivedLimit, Model, Reference, Stability
from ..params import NONNEGATIVE, POSITIVE, Interval, Observable, OrderParameter, Parameter
from ..errors import DerivationError
from ..symbolic import (GaussianAverage, LogTwoCosh, SpinEntropy, apply_asymptotic_rules,
                        gaussian_average_closed_form, leading_coefficient)

z = sympy.Symbol("z", real=True)


class SK(Model):
    name = "sk"
    title = "Sherrington-Kirkpatrick spin glass (RS, 1RSB and full RSB)"
    description = ("Replica-symmetric SK model at temperature T and field h: Edwards-Anderson order "
                   "parameter, energy, entropy and free energy per spin, with the de Almeida-Thouless "
                   "stability eigenvalue (RS is unstable where it is negative) and the AT line h_AT(T); "
                   "rsb=1: one-step RSB (Parisi breakpoint x, q0, q1); rsb=full: Parisi's solution by k-step "
                   "RSB extrapolated to k -> oo, with its discretisation error.")
    parameters = (
        Parameter("T", "temperature", POSITIVE, 1.0, latex="T"),
        Parameter("h", "uniform external field", NONNEGATIVE, 0.0, latex="h"),
        Parameter("rsb", "replica symmetry breaking: 0 (RS), 1 (one step) or full (Parisi, k-step "
                  "extrapolated)", default="0", kind="categorical", choices=("0", "1", "full")),
    )
    order_parameters = (
        OrderParameter("q", "Edwards-Anderson order parameter", Interval(0.0, 1.0, lower_closed=True),
                       guesses=(0.0, 0.5, 0.999)),
    )
    observables = (
        Observable("q", "Edwards-Anderson order parameter"),
        Observable("m", "magnetisation per spin"),
        Observable("energy", "internal energy per spin"),
        Observable("entropy", "entropy per spin"),
        Observable("free_energy", "free energy per spin"),
        Observable("ground_state_energy", "ground-state energy per spin: the T -> 0 limit of f at this rsb level"),
        Observable("h_AT", "rsb=0: de Almeida-Thouless field h_AT(T) (0 for T >= 1); sweep T for the line"),
        Observable("q0", "rsb=1: smaller overlap of the 1RSB ansatz"),
        Observable("q1", "rsb=1: larger (self-)overlap of the 1RSB ansatz"),
        Observable("x", "rsb=1: Parisi breakpoint (NaN where the saddle is RS)"),
        Observable("discretisation_error", "rsb=full: error estimate of the free energy's k -> oo extrapolation"),
        Observable("ground_state_error", "rsb=full: error estimate of the ground-state energy's k -> oo "
                   "extrapolation"),
        Observable("k", "rsb=full: largest number of RSB steps used (0 where RS is exact)"),
    )
    select = "max"
    ansatz = "replica symmetric"
    simulated_observables = ("energy", "q")
    finite_size_powers = (1,)
    references = (
        Reference({"T": 2.0, "h": 0.0}, "free_energy", -2.0 * math.log(2) - 0.125, 1e-12,
                  "paramagnet: f = -T ln 2 - 1/(4T) (SK 1975)"),
        Reference({"T": 2.0, "h": 0.0}, "q", 0.0, 1e-12, "paramagnet for T > 1 (SK 1975)"),
        Reference({"T": 1.5, "h": 0.0}, "energy", -1 / 3, 1e-12, "paramagnet: e = -1/(2T)"),
        Reference({"T": 0.5, "h": 0.0}, "ground_state_energy", -math.sqrt(2 / math.pi), 1e-15,
                  "RS ground state e0 = -sqrt(2/pi) (SK 1975)"),
    )

    # T above 1 (paramagnet) and below 1 in a field above the AT line, where RS is exact
    verify_compares = ({"params": {"T": 2.0, "h": 0.0}, "n": [8, 12, 16, 20], "trials": 200, "seed": 3},
                       {"params": {"T": 0.5, "h": 1.0}, "n": [8, 12, 16, 20], "trials": 200, "seed": 4})
    quick_compares = ({"params": {"T": 2.0, "h": 0.0}, "n": [6, 10, 14], "trials": 100, "seed": 1},
                      {"params": {"T": 0.5, "h": 1.0}, "n": [6, 10, 14], "trials": 100, "seed": 2})

    def variant(self, params):
        rsb = params.get("rsb", "0")
        if rsb == "0":
            return self if type(self) is SK else SK()
        from . import sk_rsb            # imports this module: a lazy import avoids the cycle
        return sk_rsb.OneRSB() if rsb == "1" else sk_rsb.FullRSB()

    def free_energy(self, choices):
        q, T, h = self.order_parameters[0].symbol, self.parameters[0].symbol, self.parameters[1].symbol
        return -(1 - q)**2 / (4 * T) - T * GaussianAverage(LogTwoCosh((sympy.sqrt(q) * z + h) / T), z)

    def starting_points(self, params):
        # for h > 0 the RS equation has exactly one solution (Latala-Guerra lemma; Talagrand,
        # "Spin Glasses: A Challenge for Mathematicians", 2003, Prop. 1.3.8): one start suffices.
        # At h = 0, q = 0 always solves it and the spin-glass branch is found from q near 1.
        return [(0.5,)] if params["h"] > 0 else None

    def equation_scales(self, choices):
        return [2 * self.parameters[0].symbol]

    def observable_expressions(self, F, choices):
        q, T, h = self.order_parameters[0].symbol, self.parameters[0].symbol, self.parameters[1].symbol
        dF_dT = sympy.diff(F, T)           # partial derivatives suffice at the saddle point
        # -dF/dT = int Dz [ln 2cosh y - y tanh y] - (1-q)^2/(4T^2) with y = (sqrt(q) z + h)/T: the
        # same derivative with the two O(1/T) terms combined into one stable function (an identity,
        # tested against -dF/dT in tests/test_sk.py)
        y = (sympy.sqrt(q) * z + h) / T
        entropy = GaussianAverage(SpinEntropy(y), z) - (1 - q)**2 / (4 * T**2)
        # energy = F - T dF/dT = F + T entropy, written without the two O(T ln 2) terms that cancel
        # at high temperature (at T = 1e6 they left 8e-5 relative error in -1/(2T)): the ln 2cosh
        # averages drop out exactly (tests/test_sk.py checks the identity symbolically and numerically)
        energy = -(1 - q)**2 / (2 * T) - GaussianAverage((sympy.sqrt(q) * z + h) * sympy.tanh(y), z)
        return {
            "q": q,
            "m": -sympy.diff(F, h),
            "energy": energy,
            "entropy": entropy,
            "free_energy": F,
        }

    def limits(self, F, choices):
        """The zero-temperature limit: q = 1 - C T with C finite, then T -> 0 with the asymptotic
        rule ln 2cosh(x) -> |x| (|x| -> oo); the order parameter drops out at leading order."""
        q, T = self.order_parameters[0].symbol, self.parameters[0].symbol
        C = sympy.Symbol("C", positive=True)
        leading = leading_coefficient(apply_asymptotic_rules(F.subs(q, 1 - C * T)), T, 0)
        if leading.has(C) or leading.has(T):
            raise DerivationError(f"T -> 0 limit still depends on C or T: {leading}")
        closed = leading.replace(lambda e: isinstance(e, GaussianAverage), gaussian_average_closed_form)
        steps = ((r"\lim_{T \to 0} f(q = 1 - C T)", leading,
                  "T -> 0 with q = 1 - C T: ln 2cosh(x) ~ |x|; C drops out, leaving"),)
        from .sk_rsb import AT_FIELD
        return {"ground_state_energy": DerivedLimit(closed, steps),
                "h_AT": DerivedLimit(AT_FIELD(T), ((r"h_{AT}(T)", AT_FIELD(T),
                                                     "the field where lambda_AT = 0 on the RS saddle "
                                                     "(solved numerically; 0 for T >= 1)"),))}

    def stability(self, F, choices):
        """de Almeida & Thouless (1978) eq. (21): 1 - beta^2 int Dz sech^4(beta(sqrt(q) z + h))."""
        q, T, h = self.order_parameters[0].symbol, self.parameters[0].symbol, self.parameters[1].symbol
        th = sympy.tanh((sympy.sqrt(q) * z + h) / T)
        return Stability("lambda_AT", 1 - GaussianAverage((1 - th**2)**2, z) / T**2,
                         "de Almeida & Thouless 1978, J. Phys. A 11, 983")

    # -- simulation ------------------------------------------------------------
    def simulated_for(self, params):
        # at h = 0 the finite-N overlap (1/N) sum_i <s_i>^2 vanishes identically by symmetry:
        # comparing it with the theory would be a check that cannot fail
        return ("energy", "q") if params["h"] > 0 else ("energy",)

    def simulate_trial(self, params, n, rng):
        from ..simulators import sk as sim
        J = sim.sample_couplings(n, rng)
        if n <= 20:
            out = sim.exact_enumeration(J, params["T"], params["h"])
        else:
            out = sim.parallel_tempering(J, params["T"], params["h"], rng)
        return {k: out[k] for k in self.simulated_observables}
