"""Hopfield network: retrieval states near saturation (Amit-Gutfreund-Sompolinsky, replica symmetric).

D. J. Amit, H. Gutfreund and H. Sompolinsky, "Storing infinite numbers of patterns in a
spin-glass model of neural networks", Phys. Rev. Lett. 55, 1530 (1985), and "Statistical
mechanics of neural networks near saturation", Ann. Phys. 173, 30 (1987) (AGS below).

N Ising neurons, P = alpha N random +-1 patterns, Hebbian couplings J_ij = (1/N) sum_mu
xi_i^mu xi_j^mu (J_ii = 0), temperature T (beta = 1/T). With one condensed pattern (overlap m)
the replica-symmetric free energy per neuron is (AGS)

    f(m, q, r) = alpha/2 + m^2/2 + (alpha T/2) [ln D - beta q / D] + (alpha beta/2) r (1 - q)
                 - T int Dz ln 2cosh(beta (m + sqrt(alpha r) z)),      D = 1 - beta (1 - q),

with q the Edwards-Anderson parameter and r the (scaled) mean square overlap with the
non-retrieved patterns. The package differentiates it: the saddle-point equations are
m = <tanh>, q = <tanh^2> and r = q / D^2 (averages of beta (m + sqrt(alpha r) z) over z).

Which extremum. f is a saddle: in the replica limit n -> 0 it is minimised over the condensed
overlap m (as a Curie-Weiss magnetisation) and maximised over q (n(n-1)/2 -> -n/2 overlaps, as
in SK), r being the conjugate of q. No single "max"/"min" over all stationary points is right
(min would pick the paramagnet over the spin glass, max the unstable retrieval solution over
the retrieval state), so this model chooses the branch by its starting point: the reported
state is the **retrieval state** (m > 0, the stable root: a local minimum in m) wherever it
exists, stable or metastable; otherwise the **m = 0 state** (spin glass below
T_g = 1 + sqrt(alpha), paramagnet above). Existence is decided robustly, not by where Newton
happens to converge: the equations are reduced to one function g(m) of the overlap (see
:func:`profile`), whose largest sign change is the retrieval state. ``select = "max"`` only
matters where the solver falls back to a grid of starts, which happens where no retrieval
state exists: there it prefers the spin glass to the paramagnet (the SK rule). The spin-glass
state's free energy and q at the same (alpha, T) are the observables ``free_energy_sg`` and
``q_sg`` (each a solve of the same derived equations at m = 0), so the two states can be
compared: the retrieval state is the global minimum where ``free_energy < free_energy_sg``
(alpha < 0.0519 at T -> 0; AGS quote 0.051), metastable above.

Sweeps. The package's solver uses ``starting_points`` only when they are the same at every point
of a sweep; otherwise it starts every point from the order parameters' guesses (here a state
next to the pattern, which reaches the retrieval state wherever it exists) and continues from
neighbours. Points without a retrieval state then go through the solver's grid of starts (slow,
~1 s a point), and between T = 1 and T_g Newton can land on the paramagnet (also a root) instead
of the spin glass; ``q_sg`` is right there. Single-point solves (``replica.solve``) are always
on the branch described above.

Floating point at low T. The solver's equations are the derived ones with positive scale
factors, regrouped (tested equal): m - <tanh x>, T (sqrt q - sqrt r (1 - (1-q)/T)) and
sqrt(alpha r) (1 - q) - T <z tanh x>, x = (m + sqrt(alpha r) z)/T. They reach the solver's
tolerance down to T = 1e-12 with m within 1e-13 of the T -> 0 value plus its O(T) correction;
below T ~ 1e-10 the free energy loses digits because 1 - q = C T is then a few units in the
last place of q (7e-11 at T = 1e-12). ``--dps`` gives any precision.

T is optional: unset, only the zero-temperature results are computed. They are derived from
f: q = 1 - C T with C finite, T -> 0 with ln 2cosh(x) -> |x|, the Gaussian average in closed
form, then the equations of the T = 0 free energy f0(m, C, r) are solved with mpmath at the
working precision: ``m_T0`` and ``free_energy_T0`` (retrieval state), ``free_energy_sg_T0``,
and the capacity ``alpha_c`` with the overlap ``m_c`` there (the retrieval solution of
grad f0 = 0 disappears in a saddle-node bifurcation: grad f0 = 0 and det Hess f0 = 0).
The spin-glass temperature ``T_g`` is derived as the instability of the paramagnet (the
Hessian of f at m = q = r = 0, second order in q and r, becomes singular).

The simulator (zero-temperature retrieval dynamics from a stored pattern, see
:mod:`replica.simulators.hopfield`) measures the T = 0 retrieval overlap; it is compared with
``m_T0`` and needs T unset.
"""
from __future__ import annotations

import functools
import math
import types

import mpmath
import numpy as np
import sympy

from replica.errors import DerivationError, SimulationError
from replica.model import DerivedLimit, Model, Reference, Stability
from replica.numeric import compile_mpmath, compile_numpy
from replica.params import POSITIVE, Interval, Observable, OrderParameter, Parameter
from replica.symbolic import (GaussianAverage, LogTwoCosh, SpinEntropy, apply_asymptotic_rules,
                        gaussian_average_closed_form, leading_coefficient, map_averages)

z = sympy.Symbol("z", real=True)
#: T = 0 order parameters: C = beta (1 - q) (finite as T -> 0) and r (positive, for closed forms)
C0 = sympy.Symbol("C", positive=True)
R0 = sympy.Symbol("r", positive=True)
M0 = sympy.Symbol("m", real=True)
EPS = sympy.Symbol("epsilon", positive=True)

#: the solver's start for the retrieval branch when no better one is known (sweeps): a state
#: next to the stored pattern. Measured: Newton from it reaches the retrieval state wherever it
#: exists on a grid alpha in [1e-3, 0.1381], T in [1e-4, 0.9] (see tests/test_hopfield.py)
RETRIEVAL_START = (0.999, 1.0 - 1e-9, 1.0)
#: residual accepted for the internal float solves (the package's solver tolerance)
TOL = 1e-12


# ---------------------------------------------------------------------------
# numbers defined by derived equations, printed as such, evaluated at any precision
# ---------------------------------------------------------------------------
class _Solved(sympy.Function):
    """A number (or function of the parameters) defined by derived equations and evaluated
    numerically: ``_imp_`` returns mpmath numbers at the caller's precision for mpmath
    arguments (and for no arguments), floats for numpy arrays."""

    _text = ""
    _tex = ""

    def _sympystr(self, printer):
        return self._text + ("(%s)" % ", ".join(printer._print(a) for a in self.args) if self.args else "")

    def _latex(self, printer, exp=None):
        tex = self._tex + (r"\left(%s\right)" % ", ".join(printer._print(a) for a in self.args)
                           if self.args else "")
        return tex if exp is None else r"\left[%s\right]^{%s}" % (tex, exp)


def _dispatch(mp_fn, args):
    """mpmath arguments (or none): ``mp_fn`` at the working precision; arrays: elementwise floats."""
    if not args or all(isinstance(a, (mpmath.mpf, int)) for a in args):
        return mp_fn(*[mpmath.mpf(a) for a in args])
    arrays = np.broadcast_arrays(*[np.asarray(a, dtype=float) for a in args])
    out = np.empty(arrays[0].shape)
    with mpmath.workdps(20):
        for idx in np.ndindex(out.shape):
            out[idx] = float(mp_fn(*[mpmath.mpf(float(a[idx])) for a in arrays]))
    return out


class _Frozen(sympy.Function):
    """An expression kept exactly as written, as an opaque function of its symbols.

    The package brings observables to a normal form (expanded, over a common denominator); at
    low T that cancels terms of order 1 into results of order T^2 (measured: ln(1 + q/T - 1/T)
    at T = 1e-9 evaluated to NaN). A subclass made by :func:`_frozen` carries the expression;
    its ``_imp_`` evaluates it as written (numpy arrays or mpmath numbers)."""

    expr = sympy.Integer(0)
    symbols = ()

    def fdiff(self, argindex=1):
        return sympy.diff(self.expr, self.symbols[argindex - 1]).xreplace(dict(zip(self.symbols, self.args)))

    def _sympystr(self, printer):
        return "(%s)" % printer._print(self.expr.xreplace(dict(zip(self.symbols, self.args))))

    def _latex(self, printer, exp=None):
        tex = r"\left(%s\right)" % printer._print(self.expr.xreplace(dict(zip(self.symbols, self.args))))
        return tex if exp is None else r"%s^{%s}" % (tex, exp)


def _frozen(name, expr, symbols):
    """``expr`` (no Gaussian averages) as an application of a new :class:`_Frozen` subclass ``name``."""
    from replica.numeric import MPMATH_FUNCTIONS, NUMPY_FUNCTIONS
    symbols = tuple(symbols)
    as_numpy = sympy.lambdify(symbols, expr, modules=[NUMPY_FUNCTIONS, "numpy"])
    as_mpmath = sympy.lambdify(symbols, expr, modules=[MPMATH_FUNCTIONS, "mpmath"])

    def imp(*values):
        if all(isinstance(v, mpmath.mpf) for v in values):
            return as_mpmath(*values)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            return as_numpy(*[np.asarray(v, dtype=float) for v in values])

    cls = type(name, (_Frozen,), {"expr": expr, "symbols": symbols, "nargs": len(symbols),
                                  "_imp_": staticmethod(imp)})
    return cls(*symbols)


def _grouped(name, symbols, *parts):
    """The sum of ``parts`` (each ``(factor, expression)``) with the terms outside Gaussian averages
    frozen as one :func:`_frozen` function and nothing expanded."""
    terms = [c * t for c, e in parts for t in sympy.Add.make_args(e)]
    rest = [t for t in terms if not t.has(GaussianAverage)]
    avgs = [t for t in terms if t.has(GaussianAverage)]
    return _frozen(name, sympy.Add(*rest), symbols) + sympy.Add(*avgs)


class NonNegative(sympy.Function):
    """max(x, 0) for an expression that is >= 0 exactly but computed with rounding noise; derivative 1.

    <z tanh((m + s z)/T)> = (s/T) <sech^2> >= 0 (Gaussian integration by parts) is summed over the
    whole line with an absolute error ~1e-17; where 1 - q underflows (q = 1.0 in float) a negative
    error would push q above its bound and stall the solver (measured at alpha = 0.001, T = 0.01)."""

    nargs = 1

    @staticmethod
    def _imp_(x):
        if isinstance(x, mpmath.mpf):
            return max(x, mpmath.mpf(0))
        return np.maximum(x, 0.0)

    def fdiff(self, argindex=1):
        return sympy.Integer(1)

    def _sympystr(self, printer):
        return printer._print(self.args[0])

    def _latex(self, printer, exp=None):
        return printer._print(self.args[0]) if exp is None else printer._print(self.args[0]**exp)


class RSCapacity(_Solved):
    """alpha_c: the largest load with a retrieval solution of the T = 0 equations."""

    nargs = 0
    _text = "max{alpha : grad f0 = 0 has a retrieval solution}"
    _tex = r"\max\left\{\alpha : \nabla f_0 = 0 \text{ has a retrieval solution}\right\}"
    _imp_ = staticmethod(lambda: _capacity()[0])


class RSCapacityOverlap(_Solved):
    """m at the capacity (the saddle-node point of the T = 0 equations)."""

    nargs = 0
    _text = "m(grad f0 = 0, det Hess f0 = 0)"
    _tex = r"m\left(\nabla f_0 = 0,\ \det \nabla^2 f_0 = 0\right)"
    _imp_ = staticmethod(lambda: _capacity()[1])


class RetrievalOverlapT0(_Solved):
    nargs = 1
    _text = "m[retrieval root of grad f0 = 0]"
    _tex = r"m_{\mathrm{retrieval}}\left[\nabla f_0 = 0\right]"
    _imp_ = staticmethod(lambda *a: _dispatch(lambda x: _t0_state(x)[0], a))


class RetrievalFreeEnergyT0(_Solved):
    nargs = 1
    _text = "f0[retrieval root of grad f0 = 0]"
    _tex = r"f_0\left[\nabla f_0 = 0,\ \mathrm{retrieval}\right]"
    _imp_ = staticmethod(lambda *a: _dispatch(lambda x: _t0_state(x)[1], a))


class SpinGlassFreeEnergyT0(_Solved):
    nargs = 1
    _text = "f0[m = 0 root of grad f0 = 0]"
    _tex = r"f_0\left[\nabla f_0 = 0,\ m = 0\right]"
    _imp_ = staticmethod(lambda *a: _dispatch(lambda x: _t0_spin_glass(x)[1], a))


class SpinGlassFreeEnergy(_Solved):
    """f at the spin-glass saddle point (m = 0, the largest-q root of the derived equations)."""

    nargs = 2
    _text = "f[m = 0 saddle point]"
    _tex = r"f\left[m = 0\ \mathrm{saddle\ point}\right]"
    _imp_ = staticmethod(lambda a, T: _sg_observable(a, T, 2))


class SpinGlassOverlap(_Solved):
    nargs = 2
    _text = "q[m = 0 saddle point]"
    _tex = r"q\left[m = 0\ \mathrm{saddle\ point}\right]"
    _imp_ = staticmethod(lambda a, T: _sg_observable(a, T, 0))


# ---------------------------------------------------------------------------
# the model
# ---------------------------------------------------------------------------
class Hopfield(Model):
    name = "hopfield"
    title = "Hopfield network near saturation (Amit-Gutfreund-Sompolinsky, replica symmetric)"
    description = ("Hebbian Hopfield network with P = alpha N random patterns at temperature T: the "
                   "retrieval state (overlap m, q, r, free energy, energy, entropy; the m = 0 state "
                   "where no retrieval state exists), the spin-glass state's free energy and q, the "
                   "de Almeida-Thouless eigenvalue, and the derived T -> 0 limits: capacity alpha_c "
                   "~ 0.138, overlap m_c there, m and f at T = 0, and T_g = 1 + sqrt(alpha). Leave T "
                   "unset for the zero-temperature results only.")
    parameters = (
        Parameter("alpha", "load: stored patterns per neuron, P/N", POSITIVE, 0.1, latex="alpha"),
        Parameter("T", "temperature (optional: unset gives the T -> 0 results only)", POSITIVE, None, latex="T"),
        Parameter("boundaries", "yes: also the retrieval boundary T_M(alpha) (bisection on the existence of the "
                  "retrieval state, a few seconds; sweep alpha for the line)", default="no", kind="categorical",
                  choices=("no", "yes"), changes_derivation=False),
    )
    order_parameters = (
        OrderParameter("m", "overlap with the retrieved pattern (0 in the spin-glass state)",
                       Interval(-1.0, 1.0, lower_closed=True, upper_closed=True), guesses=(RETRIEVAL_START[0],)),
        OrderParameter("q", "Edwards-Anderson order parameter",
                       Interval(0.0, 1.0, lower_closed=True, upper_closed=True), guesses=(RETRIEVAL_START[1],)),
        OrderParameter("r", "mean square overlap with the other patterns, times N/alpha",
                       Interval(0.0, None, lower_closed=True), guesses=(RETRIEVAL_START[2],)),
    )
    observables = (
        Observable("m", "retrieval overlap (0 where no retrieval state exists)"),
        Observable("q", "Edwards-Anderson order parameter of the reported state"),
        Observable("r", "mean square overlap with the non-retrieved patterns (times N/alpha)"),
        Observable("free_energy", "free energy per neuron of the reported state"),
        Observable("energy", "energy per neuron of the reported state"),
        Observable("entropy", "entropy per neuron of the reported state"),
        Observable("free_energy_sg", "free energy per neuron of the spin-glass (m = 0) state"),
        Observable("q_sg", "Edwards-Anderson parameter of the spin-glass (m = 0) state"),
        Observable("alpha_c", "T = 0 storage capacity (saddle-node of the derived T -> 0 equations)"),
        Observable("m_c", "retrieval overlap at the capacity alpha_c (T = 0)"),
        Observable("T_g", "spin-glass temperature 1 + sqrt(alpha) (derived instability of the paramagnet)"),
        Observable("T_M", "boundaries=yes: highest temperature with a retrieval state, T_M(alpha) (numerical)"),
        Observable("m_T0", "retrieval overlap at T = 0 (derived T -> 0 limit; 0 for alpha > alpha_c); "
                           "what the zero-temperature simulation measures"),
        Observable("free_energy_T0", "free energy (= energy) of the retrieval state at T = 0"),
        Observable("free_energy_sg_T0", "free energy (= energy) of the spin-glass state at T = 0"),
    )
    ansatz = "replica symmetric"
    select = "max"
    simulated_observables = ("m_T0",)
    finite_size_powers = (1,)
    references = (
        Reference({"alpha": 0.1}, "alpha_c", 0.137905, 1e-6,
                  "AGS 1985/1987: alpha_c = 0.138; 0.137905 to six digits in H. Steffan and R. Kuehn, "
                  "Z. Phys. B 95, 249 (1994)"),
        Reference({"alpha": 0.1}, "m_c", 0.967, 5e-4, "AGS 1987 (Ann. Phys. 173, 30): m = 0.967 at alpha_c"),
        Reference({"alpha": 0.25}, "T_g", 1.5, 1e-15, "AGS 1987: T_g = 1 + sqrt(alpha)"),
        Reference({"alpha": 0.1, "T": 2.0}, "free_energy", 0.05 + 0.1 * math.log(0.5) - 2 * math.log(2), 1e-12,
                  "paramagnet above T_g: f = alpha/2 + (alpha T/2) ln(1 - 1/T) - T ln 2 (AGS 1987)"),
        Reference({"alpha": 0.1, "T": 2.0}, "m", 0.0, 1e-12, "no retrieval above T_M(alpha) < 1 (AGS 1987)"),
        Reference({"alpha": 1e-10, "T": 0.5}, "m", 0.9575040240772687, 1e-8,
                  "alpha -> 0: Curie-Weiss m = tanh(m/T) (root 0.95750402407727; AGS 1985)"),
    )

    # zero-temperature dynamics against the T -> 0 retrieval overlap, below capacity
    verify_compares = ({"params": {"alpha": 0.1}, "n": [1000, 2000, 4000], "trials": 200, "seed": 2},
                       {"params": {"alpha": 0.08}, "n": [1000, 2000, 4000], "trials": 200, "seed": 3})
    quick_compares = ({"params": {"alpha": 0.1}, "n": [400, 800, 1600], "trials": 150, "seed": 1},)

    # -- the free energy and what is derived from it ----------------------------
    def _symbols(self):
        (m, q, r), (alpha, T) = (o.symbol for o in self.order_parameters), (p.symbol for p in self.parameters[:2])
        return m, q, r, alpha, T

    def free_energy(self, choices):
        m, q, r, alpha, T = self._symbols()
        D = 1 - (1 - q) / T
        return (alpha / 2 + m**2 / 2 + alpha * T / 2 * (sympy.log(D) - q / (T * D)) + alpha * r * (1 - q) / (2 * T)
                - T * GaussianAverage(LogTwoCosh((m + sympy.sqrt(alpha * r) * z) / T), z))

    def equation_scales(self, choices):
        """Positive factors that make the equations O(1) where the order parameters vary on a scale
        O(1), and keep them resolvable in floating point at low T.

        df/dm = m - <tanh x> as it stands, x = (m + sqrt(alpha r) z)/T.

        df/dq = (alpha/(2T)) (q/D^2 - r), D = 1 - (1-q)/T: times 2T^2 D^2/(alpha (sqrt q + sqrt r D))
        it is T (sqrt q - sqrt(r) D): no pole at D = 0 and no spurious root with D < 0 (q = r D^2 has
        one). D is evaluated as 1 - (1-q)/T, never as (T + q - 1)/T: T + q rounds away the digits of T
        (measured: r off by 2e-4 at T = 1e-12).

        df/dr = (alpha/(2T)) (1 - q) - (sqrt(alpha)/(2 sqrt r)) <z tanh x>: times 2T sqrt(r/alpha) it
        is sqrt(alpha r) (1 - q) - T <z tanh x> (after integration by parts: sqrt(alpha r) (<tanh^2> - q)).

        At low T the solution has 1 - q = C T with C finite. Both q-type equations are written so
        that they change with q at a rate O(1), like SK's q = <tanh^2>: an equation in C with O(1)
        coefficients cannot be resolved better than one unit in the last place of q divided by T
        (measured: residual 4e-11 at T = 1e-6, which the solver rejects), while these reach the
        tolerance at any T."""
        m, q, r, alpha, T = self._symbols()
        D = 1 - (1 - q) / T
        return [sympy.Integer(1), 2 * T**2 * D**2 / (alpha * (sympy.sqrt(q) + sympy.sqrt(r) * D)),
                2 * T * sympy.sqrt(r) / sympy.sqrt(alpha)]

    def stable_equations(self, choices):
        """The scaled equations as the solver evaluates them (equal to the derived ones; tested):
        m - <tanh x>, T (sqrt(q) - sqrt(r) (1 - (1-q)/T)) and sqrt(alpha r) (1 - q) - T <z tanh x>.

        The derived forms expand (T - 1 + q)^2 (terms of order 1 cancelling into order T^2 at low
        T), and the derived r equation integrates by parts into <tanh^2> = 1 - <sech^2>, a peak of
        width T that the quadrature resolves only to ~1e-7 relative at T = 1e-6; the step
        <z tanh x> before integration by parts gives 1 - q to ~1e-17 absolute at any T."""
        m, q, r, alpha, T = self._symbols()
        x = (m + sympy.sqrt(alpha * r) * z) / T
        return [m - GaussianAverage(sympy.tanh(x), z),
                T * sympy.sqrt(q) - sympy.sqrt(r) * T * (1 - (1 - q) / T),
                sympy.sqrt(alpha * r) * (1 - q) - T * NonNegative(GaussianAverage(z * sympy.tanh(x), z))]

    def observable_expressions(self, F, choices):
        m, q, r, alpha, T = self._symbols()
        x = (m + sympy.sqrt(alpha * r) * z) / T
        C = (1 - q) / T
        D = 1 - C
        # entropy: -df/dT at fixed (m, C = (1-q)/T, r), i.e. -dF/dT + C dF/dq, which equals -dF/dT at
        # the saddle point (dF/dq = 0 there; the identity is tested). The two O(1/T) pieces of the
        # spin term are one stable function, SpinEntropy(x) = ln 2cosh x - x tanh x; the dropped
        # C dF/dq = (alpha C/(2T)) (q/D^2 - r) would multiply the q equation's rounding by 1/T.
        entropy = GaussianAverage(SpinEntropy(x), z) - alpha / 2 * (sympy.log(D) + C / D)
        symbols = (m, q, r, alpha, T)
        return {
            "m": m, "q": q, "r": r,
            "free_energy": _grouped("HopfieldFreeEnergyTerms", symbols, (1, F)),
            "energy": _grouped("HopfieldEnergyTerms", symbols, (1, F), (T, entropy)),
            "entropy": _grouped("HopfieldEntropyTerms", symbols, (1, entropy)),
            "free_energy_sg": SpinGlassFreeEnergy(alpha, T),
            "q_sg": SpinGlassOverlap(alpha, T),
        }

    def stability(self, F, choices):
        """AT condition of the RS retrieval (and spin-glass) states, AGS 1987: stable where
        1 - alpha beta^2 <sech^4 beta(m + sqrt(alpha r) z)> / (1 - beta(1-q))^2 > 0. At m = 0 it
        vanishes at T_g = 1 + sqrt(alpha); for alpha -> oo with T = sqrt(alpha) tau it is SK's
        de Almeida-Thouless eigenvalue at temperature tau."""
        m, q, r, alpha, T = self._symbols()
        th = sympy.tanh((m + sympy.sqrt(alpha * r) * z) / T)
        D = 1 - (1 - q) / T
        return Stability("lambda_AT", 1 - alpha * GaussianAverage((1 - th**2)**2, z) / (T * D)**2,
                         "Amit, Gutfreund & Sompolinsky 1987, Ann. Phys. 173, 30")

    def limits(self, F, choices):
        t0 = _zero_temperature(type(self))
        tg_value, tg_steps = _spin_glass_temperature(F, self)
        alpha = self.parameters[0].symbol
        t0_steps = (
            (r"\lim_{T \to 0} f(q = 1 - C T)", t0.lead,
             "T -> 0 with q = 1 - C T: ln 2cosh(x) ~ |x|; the T = 0 free energy f0(m, C, r) is"),
            ("f_0", t0.f0, "with the Gaussian average in closed form"),
            (r"\partial f_0/\partial m", t0.grad[0], "T = 0 saddle-point equations (derived)"),
            (r"\partial f_0/\partial C", t0.grad[1], ""),
            (r"\partial f_0/\partial r", t0.grad[2], "solved with mpmath at the working precision"),
        )
        cap_steps = t0_steps + (
            (r"\det \nabla^2 f_0", t0.det, "the retrieval root disappears where the Hessian of f0 is "
                                            "singular: grad f0 = 0 and det = 0 give (m, C, r, alpha) at"),
        )
        return {
            "alpha_c": DerivedLimit(RSCapacity(), cap_steps),
            "m_c": DerivedLimit(RSCapacityOverlap(), ()),
            "T_g": DerivedLimit(tg_value, tg_steps),
            "m_T0": DerivedLimit(RetrievalOverlapT0(alpha), ()),
            "free_energy_T0": DerivedLimit(RetrievalFreeEnergyT0(alpha), ()),
            "free_energy_sg_T0": DerivedLimit(SpinGlassFreeEnergyT0(alpha), ()),
        }

    # -- which branch ----------------------------------------------------------
    def saddle_active(self, params):
        return params.get("T") is not None

    def extra_observables(self, params, solution):
        if params.get("boundaries") != "yes":
            return {}
        return {"T_M": retrieval_temperature(float(params["alpha"]), self, tol=1e-10)}

    def starting_points(self, params):
        """The state itself, found by :func:`branch_state` (retrieval if it exists, else m = 0);
        the solver then polishes it. (Sweeps use ``RETRIEVAL_START`` and continuation.)"""
        if params.get("T") is None:
            return None
        try:
            return [tuple(float(v) for v in branch_state(self, float(params["alpha"]), float(params["T"])))]
        except (ArithmeticError, ValueError, np.linalg.LinAlgError, DerivationError):
            return [RETRIEVAL_START]           # never lose the solve over a start

    # -- simulation --------------------------------------------------------------
    def simulate_trial(self, params, n, rng):
        if params.get("T") is not None:
            raise SimulationError(
                f"parameter 'T'={params['T']:g}: the hopfield simulation runs zero-temperature dynamics and "
                "is compared with the T -> 0 retrieval overlap m_T0; leave T unset")
        from replica.simulators.hopfield import retrieval_trial
        return {"m_T0": retrieval_trial(n, params["alpha"], rng)["m"]}


# ---------------------------------------------------------------------------
# T = 0: derived from the free energy, solved with mpmath
# ---------------------------------------------------------------------------
def _exp_form(expr):
    """The Gaussian density written as exp(-x^2/2)/sqrt(2 pi) and the result expanded, so that equal
    terms from H'(x) = -phi(x) and from exp(-x^2/2) combine (for printing; evaluated in mpmath)."""
    expr = expr.replace(lambda e: type(e).__name__ == "GaussPDF",
                        lambda e: sympy.exp(-e.args[0]**2 / 2) / sympy.sqrt(2 * sympy.pi))
    return sympy.expand(expr)


@functools.lru_cache(maxsize=None)
def _zero_temperature(model_cls):
    """f0(m, C, r) = lim_{T->0} f(m, q = 1 - C T, r), its gradient and Hessian, compiled."""
    model = model_cls()
    m, q, r, alpha, T = model._symbols()
    F = model.free_energy({}).subs(r, R0).subs(m, M0)
    lead = leading_coefficient(apply_asymptotic_rules(F.subs(q, 1 - C0 * T)), T, 0)
    if lead.has(T):
        raise DerivationError(f"T -> 0 limit still depends on T: {lead}")
    f0 = sympy.expand(lead.replace(lambda e: isinstance(e, GaussianAverage), gaussian_average_closed_form))
    if f0.has(GaussianAverage):
        raise DerivationError(f"no closed form for the T = 0 free energy: {f0}")
    xs = (M0, C0, R0)
    grad = [_exp_form(sympy.diff(f0, v)) for v in xs]
    hess = [[_exp_form(sympy.diff(g, v)) for v in xs] for g in grad]
    (a, b, c), (d, e, f), (g, h, i) = hess
    det = a * (e * i - f * h) - b * (d * i - f * g) + c * (d * h - e * g)    # (SymPy's det simplifies: slow)
    cap = grad + [det]
    cap_vars = xs + (alpha,)
    ns = types.SimpleNamespace(lead=lead, f0=f0, grad=grad, det=det, alpha=alpha)
    args = list(xs) + [alpha]
    ns.f0_mp = compile_mpmath(f0, args)
    ns.grad_mp = compile_mpmath(grad, args)
    ns.hess_mp = compile_mpmath([x for row in hess for x in row], args)
    ns.cap_mp = compile_mpmath(cap, args)
    ns.cap_jac_mp = compile_mpmath([sympy.diff(e, v) for e in cap for v in cap_vars], args)
    # the same at m = 0 (spin-glass state): unknowns C, r
    sg = [g.subs(M0, 0) for g in grad[1:]]
    ns.sg_mp = compile_mpmath(sg, [C0, R0, alpha])
    ns.sg_jac_mp = compile_mpmath([sympy.diff(e, v) for e in sg for v in (C0, R0)], [C0, R0, alpha])
    ns.f0_sg_mp = compile_mpmath(f0.subs(M0, 0), [C0, R0, alpha])
    return ns


def _findroot(fn, jac, x0, k):
    """mpmath Newton at the working precision; returns the root and its residual (checked by the caller)."""
    tol = mpmath.mpf(10) ** (-2 * mpmath.mp.dps)

    def f(*x):
        return list(fn(*x))

    def J(*x):
        flat = jac(*x)
        return mpmath.matrix([[flat[i * k + j] for j in range(k)] for i in range(k)])

    root = mpmath.findroot(f, list(x0), J=J, tol=tol, maxsteps=200, verify=False)
    xs = [root[i] for i in range(k)] if k > 1 else [root]
    return xs, max(abs(v) for v in fn(*xs))


def _check(res, what):
    if not res <= mpmath.mpf(10) ** (-(mpmath.mp.dps - 8)):
        raise DerivationError(f"{what}: mpmath residual {mpmath.nstr(res, 3)} at {mpmath.mp.dps} digits")


def _extra_digits():
    return mpmath.workdps(mpmath.mp.dps + 15)


@functools.lru_cache(maxsize=None)
def _capacity_at(prec):
    t0 = _zero_temperature(Hopfield)
    with mpmath.workprec(prec), _extra_digits():
        # start: AGS's published m = 0.967 at alpha = 0.138 with C, r from the T = 0 equations there
        x0 = [mpmath.mpf("0.967"), mpmath.mpf("0.18"), mpmath.mpf("1.49"), mpmath.mpf("0.138")]
        xs, res = _findroot(lambda *x: t0.cap_mp(*x), lambda *x: t0.cap_jac_mp(*x), x0, 4)
        _check(res, "alpha_c (saddle-node of the T = 0 equations)")
        m, C, r, a = xs
        if not (0 < m < 1 and 0 < C < 1 and r > 0 and 0 < a < 1):
            raise DerivationError(f"alpha_c: unexpected root m={m}, C={C}, r={r}, alpha={a}")
    with mpmath.workprec(prec):
        return tuple(+v for v in (a, m, C, r))


def _capacity():
    """(alpha_c, m_c, C_c, r_c) at the working precision."""
    return _capacity_at(mpmath.mp.prec)


def _t0_retrieval_start(alpha):
    """A start on the retrieval branch for the T = 0 equations (float; the root is then found in the
    derived equations): y = m / sqrt(2 alpha r) on the branch y > y_c of the one-variable form
    y sqrt(2 alpha) = erf(y) - 2 y exp(-y^2)/sqrt(pi) of the T = 0 equations (AGS)."""
    from scipy import optimize, special
    a = float(alpha)

    def h(y):
        return special.erf(y) - 2 / math.sqrt(math.pi) * y * math.exp(-y * y) - y * math.sqrt(2 * a)

    y_c = 1.5112185563276566
    hi = 2.0 / math.sqrt(2 * a) + 10.0
    y = optimize.brentq(h, y_c, hi, xtol=1e-15) if h(y_c) > 0 else y_c
    m = math.erf(y)
    C = 2 * y * math.exp(-y * y) / (math.sqrt(math.pi) * m)
    return m, C, 1.0 / (1.0 - C) ** 2


@functools.lru_cache(maxsize=4096)
def _t0_state_at(alpha, prec):
    """(m, f0) of the T = 0 retrieval state at load ``alpha`` (mpf); m = 0 and the spin-glass f0 above
    alpha_c (no retrieval root)."""
    t0 = _zero_temperature(Hopfield)
    with mpmath.workprec(prec):
        a_c, m_c = _capacity()[:2]
        if alpha >= a_c:
            return mpmath.mpf(0), _t0_spin_glass(alpha)[1]
    with mpmath.workprec(prec), _extra_digits():
        x0 = [mpmath.mpf(v) for v in _t0_retrieval_start(alpha)]
        xs, res = _findroot(lambda m, C, r: t0.grad_mp(m, C, r, alpha),
                            lambda m, C, r: t0.hess_mp(m, C, r, alpha), x0, 3)
        _check(res, f"T = 0 retrieval state at alpha={mpmath.nstr(alpha, 8)}")
        m, C, r = xs
        if not (m_c <= m <= 1 and 0 <= C < 1 and r > 0):
            raise DerivationError(f"T = 0 retrieval state at alpha={alpha}: not on the retrieval branch "
                                  f"(m={m}, C={C}, r={r})")
        f = t0.f0_mp(m, C, r, alpha)
    with mpmath.workprec(prec):
        return +m, +f


def _t0_state(alpha):
    return _t0_state_at(mpmath.mpf(alpha), mpmath.mp.prec)


@functools.lru_cache(maxsize=4096)
def _t0_spin_glass_at(alpha, prec):
    t0 = _zero_temperature(Hopfield)
    with mpmath.workprec(prec), _extra_digits():
        # start: the m = 0 equations C = sqrt(2/(pi alpha r)), r = 1/(1-C)^2 solve to sqrt(r) = 1 + sqrt(2/(pi alpha))
        s = 1 + mpmath.sqrt(2 / (mpmath.pi * alpha))
        xs, res = _findroot(lambda C, r: t0.sg_mp(C, r, alpha), lambda C, r: t0.sg_jac_mp(C, r, alpha),
                            [1 - 1 / s, s * s], 2)
        _check(res, f"T = 0 spin-glass state at alpha={mpmath.nstr(alpha, 8)}")
        f = t0.f0_sg_mp(xs[0], xs[1], alpha)
    with mpmath.workprec(prec):
        return +xs[0], +f


def _t0_spin_glass(alpha):
    return _t0_spin_glass_at(mpmath.mpf(alpha), mpmath.mp.prec)


def _spin_glass_temperature(F, model):
    """T_g: where the paramagnet m = q = r = 0 becomes unstable. f(m=0, q = eps kappa, r = eps rho)
    to second order in eps (ln 2cosh expanded under the average, moments in closed form); the
    quadratic form's Hessian in (kappa, rho) is singular at T_g (largest root)."""
    m, q, r, alpha, T = model._symbols()
    kappa, rho = sympy.symbols("kappa rho", positive=True)
    F0 = F.subs(m, 0).subs({q: EPS * kappa, r: EPS * rho})

    def series_average(avg):
        integrand = avg.integrand.replace(lambda e: isinstance(e, LogTwoCosh),
                                          lambda e: sympy.log(2 * sympy.cosh(e.args[0])))
        s = sympy.series(integrand, EPS, 0, 3).removeO()
        return gaussian_average_closed_form(GaussianAverage(sympy.expand(s), avg.variable))

    expansion = sympy.expand(sympy.series(map_averages(F0, series_average), EPS, 0, 3).removeO())
    if sympy.simplify(expansion.coeff(EPS, 1)) != 0:
        raise DerivationError("the paramagnet is not a stationary point at first order")
    quad = expansion.coeff(EPS, 2)
    det = sympy.factor(sympy.hessian(quad, (kappa, rho)).det())
    roots = sympy.solve(sympy.numer(sympy.together(det)), T)
    probe = {alpha: sympy.Rational(1, 4)}
    above = [t for t in roots if t.subs(probe).is_real and t.subs(probe) > 1]
    if len(above) != 1:
        raise DerivationError(f"T_g: expected one root above T = 1, got {roots}")
    steps = (
        (r"f_2(\kappa, \rho)", quad, "f(m = 0, q = eps kappa, r = eps rho) = f(0, 0, 0) + eps^2 f_2 + O(eps^3) "
                                      "(ln 2cosh expanded under the average; the O(eps) term vanishes)"),
        (r"\det \nabla^2 f_2", det, "the paramagnet becomes unstable (spin glass) where this vanishes, at"),
    )
    return above[0], steps


# ---------------------------------------------------------------------------
# finite T: which state exists (a one-variable profile of the derived equations), the spin-glass state
# ---------------------------------------------------------------------------
#: overlaps at which the profile g(m) is evaluated: uniform, and geometric towards m = 1 (at low T
#: the retrieval root is 1 - 1e-5 and closer; m = 1.0 itself stands for roots within float of 1)
PROFILE_GRID = np.unique(np.concatenate([np.linspace(0.02, 0.98, 17), 1.0 - np.logspace(-1.7, -15, 14), [1.0]]))
BISECTIONS = 56


def _stand_in(*ops):
    """What :func:`replica.solver.newton_batch` reads of a model: the order parameters' domains."""
    return types.SimpleNamespace(order_parameters=ops)


def _newton(system, x0, alpha, T, stand_in, maxiter=50):
    from replica.solver import newton_batch
    x0 = np.atleast_2d(np.asarray(x0, dtype=float))
    b = x0.shape[0]
    return newton_batch(system, x0, [np.full(b, float(alpha)), np.full(b, float(T))], stand_in, maxiter=maxiter)


@functools.lru_cache(maxsize=None)
def _profile_system(model_cls):
    """(h, q, g) as functions of (m, r, alpha, T), compiled from the equations (see :func:`profile`)."""
    model = model_cls()
    deriv = model.derivation({"alpha": 0.1, "T": 1.0})
    m, q, r, alpha, T = model._symbols()
    e_m, e_q, _ = deriv.equations
    e_r = deriv.derived_equations[2]            # sqrt(alpha r) (<tanh^2> - q): linear in q
    slope = sympy.diff(e_r, q)
    if e_m.has(q) or slope.has(q) or slope == 0:
        raise DerivationError("the profile needs an r equation linear in q and an m equation free of q")
    q_star = q - e_r / slope                     # = <tanh^2>, whatever q is substituted
    q_star = sympy.expand(q_star).subs(q, 1)
    return compile_numpy([e_q.subs(q, q_star), q_star, e_m], [m, r, alpha, T])


def profile(model_cls, m, alpha, T):
    """The derived equations reduced to the overlap m: returns (q, r, g) at each m.

    The equations E = (E_m, E_q, E_r) = (m - <tanh>, T (sqrt(q) - sqrt(r) D), sqrt(alpha r)(<tanh^2> - q))
    (E_r as derived) are solved for q and r at fixed m: E_r is linear in q, so q(m, r) = <tanh^2>
    follows from it; E_q(m, q(m, r), r) is positive as r -> 0 (for m > 0, and for
    m = 0 below T_g) and negative for large r, and is bisected in sqrt(r). Then g(m) = E_m: its
    roots are the solutions of all three equations. g > 0 near m = 0 and at m = 1, so roots come
    in pairs; the retrieval state is the largest root (g changes sign from - to + there)."""
    fn = _profile_system(model_cls)
    m = np.atleast_1d(np.asarray(m, dtype=float))
    a, t = np.full(m.shape, float(alpha)), np.full(m.shape, float(T))
    lo, hi = np.zeros(m.shape), np.full(m.shape, 2.0)
    for _ in range(100):
        negative = fn(m, hi * hi, a, t)[0] < 0
        if negative.all():
            break
        hi = np.where(negative, hi, 4 * hi)
    for _ in range(BISECTIONS):
        mid = (lo + hi) / 2
        positive = fn(m, mid * mid, a, t)[0] > 0
        lo, hi = np.where(positive, mid, lo), np.where(positive, hi, mid)
    r = ((lo + hi) / 2) ** 2
    _, q, g = fn(m, r, a, t)
    return np.clip(q, 0.0, 1.0), r, g


def _retrieval_bracket(deriv, alpha, T):
    """(m_lo, m_hi) around the retrieval root (g(m_lo) <= 0 < g(m_hi); m_hi = m_lo = 1.0 for a root
    within float of 1), or None where g > 0 everywhere (no retrieval state)."""
    grid = PROFILE_GRID
    for _ in range(4):
        g = profile(type(deriv.model), grid, alpha, T)[2]
        below = np.flatnonzero(g <= 0)
        if below.size:
            j = below[-1]
            return (grid[j], grid[j]) if j == len(grid) - 1 else (grid[j], grid[j + 1])
        # near T_M the negative region is narrow: zoom in around the minimum of g
        k = int(np.nanargmin(g))
        grid = np.linspace(grid[max(k - 1, 0)], grid[min(k + 1, len(grid) - 1)], 33)
    return None


def _on_retrieval_branch(deriv, x, alpha, T):
    """m > 0 and the stable root: the Jacobian of the solver's equations has a negative determinant on
    the retrieval branch and a positive one on the unstable solution that merges with it at T_M."""
    if not x[0] > 0:
        return False
    _, J = deriv.numpy_system(*[np.float64(v) for v in x], np.float64(alpha), np.float64(T))
    J = np.array([[float(c) for c in row] for row in J])
    return bool(np.all(np.isfinite(J)) and np.linalg.det(J) < 0)


def retrieval_state(model, alpha, T):
    """The retrieval state (m, q, r) at (alpha, T) in float, or None where it does not exist.

    Existence is decided by the profile g(m) (:func:`profile`); the state is its largest root,
    polished by Newton on the full derived system from the bracketing profile point."""
    if T >= 1.0:                      # T_M(alpha) < 1 for alpha > 0 (AGS)
        return None
    deriv = model.derivation({"alpha": alpha, "T": T})
    bracket = _retrieval_bracket(deriv, alpha, T)
    if bracket is None:
        return None
    lo, hi = bracket
    for _ in range(6):
        ms = np.linspace(lo, hi, 9) if hi > lo else np.array([lo])
        q, r, g = profile(type(model), ms, alpha, T)
        k = np.flatnonzero(g <= 0)[-1] if np.any(g <= 0) else 0
        x, res, _ = _newton(deriv.numpy_system, [(ms[k], q[k], r[k])], alpha, T, model)
        if res[0] <= TOL and lo <= x[0][0] and _on_retrieval_branch(deriv, x[0], alpha, T):
            return x[0]
        if hi <= lo:
            break
        lo, hi = ms[k], ms[min(k + 1, len(ms) - 1)]
    # Newton did not reach the tolerance (float resolution): the profile point itself
    ms = np.array([lo])
    q, r, _ = profile(type(model), ms, alpha, T)
    return np.array([lo, q[0], r[0]])


@functools.lru_cache(maxsize=None)
def _sg_system(model_cls):
    """The derived equations at m = 0 in (q, r) (the m equation holds identically there), and f."""
    model = model_cls()
    deriv = model.derivation({"alpha": 0.1, "T": 1.0})
    m, q, r, alpha, T = model._symbols()
    eqs = [e.subs(m, 0) for e in deriv.equations[1:]]
    jac = [sympy.diff(e, v) for e in eqs for v in (q, r)]
    args = [q, r, alpha, T]
    F = deriv.free_energy.subs(m, 0)
    numpy_system = compile_numpy(eqs + jac, args)

    def system(qq, rr, a, t):
        out = numpy_system(qq, rr, a, t)
        return out[:2], [out[2:4], out[4:6]]

    return types.SimpleNamespace(
        deriv=deriv, system=system, F=compile_numpy(F, args),
        eqs_mp=compile_mpmath(eqs, args), jac_mp=compile_mpmath(jac, args), F_mp=compile_mpmath(F, args),
        stand_in=_stand_in(model.order_parameters[1], model.order_parameters[2]))


def spin_glass_state(alpha, T, model_cls=None):
    """(q, r) of the m = 0 state at (alpha, T), float: the paramagnet q = r = 0 at T >= T_g = 1 +
    sqrt(alpha); below, the root with q > 0 of the derived equations (the profile at m = 0, then
    Newton on the two equations at m = 0)."""
    sg = _sg_system(model_cls or Hopfield)
    alpha, T = float(alpha), float(T)
    if T >= 1 + math.sqrt(alpha):
        return 0.0, 0.0
    q, r, _ = profile(model_cls or Hopfield, [0.0], alpha, T)
    x, res, _ = _newton(sg.system, [(q[0], r[0])], alpha, T, sg.stand_in)
    if res[0] <= TOL and x[0][0] > 0:
        return float(x[0][0]), float(x[0][1])
    return float(q[0]), float(r[0])


@functools.lru_cache(maxsize=4096)
def _sg_float(alpha, T):
    q, r = spin_glass_state(alpha, T)
    sg = _sg_system(Hopfield)
    return q, r, float(sg.F(q, r, alpha, T))


#: the most precise spin-glass solution found so far for each (alpha, T): {key: (prec, q, r)}
_SG_BEST = {}


def _newton_doubling(fn, jac, x0, digits_now, digits_goal):
    """Newton on two equations from ``x0`` accurate to ``digits_now`` digits, doubling the working
    precision each step (quadratic convergence) until ``digits_goal``; each step's size must match
    the accuracy claimed for its start, else the step is repeated at the same precision."""
    x = [mpmath.mpf(v) for v in x0]
    digits = digits_now
    for _ in range(30):
        target = min(2 * digits, digits_goal)
        with mpmath.workdps(target + 10):
            x = [+v for v in x]
            G = fn(*x)
            flat = jac(*x)
            J = mpmath.matrix([[flat[0], flat[1]], [flat[2], flat[3]]])
            dx = mpmath.lu_solve(J, mpmath.matrix([-G[0], -G[1]]))
            x = [x[0] + dx[0], x[1] + dx[1]]
            size = max(abs(dx[0]) / (1 + abs(x[0])), abs(dx[1]) / (1 + abs(x[1])))
        if size <= mpmath.mpf(10) ** (-(digits - 3)):      # the start was as accurate as claimed
            digits = target
            if digits >= digits_goal:
                return x
        else:                                              # not yet quadratic: claim what we have
            digits = max(int(-mpmath.log10(size)) if size > 0 else digits_goal, 1)
    raise DerivationError("spin-glass state: mpmath Newton did not converge")


def _sg_mp_at(alpha, T, prec):
    """(q, r, f) of the spin-glass state at the working precision ``prec`` (bits). The solution is
    computed 35 digits beyond the request and cached, so that the solver's checks at rising
    precision (15 digits a step) reuse it."""
    sg = _sg_system(Hopfield)
    key = (alpha, T)
    with mpmath.workprec(prec):
        need = mpmath.mp.dps + 15
    best = _SG_BEST.get(key)
    if best is None:
        q0, r0, _ = _sg_float(float(alpha), float(T))
        best = (14, mpmath.mpf(q0), mpmath.mpf(r0))
    have, q, r = best
    if (q != 0 or r != 0) and have < need:          # (q = r = 0: the paramagnet, exact)
        q, r = _newton_doubling(lambda q, r: sg.eqs_mp(q, r, alpha, T), lambda q, r: sg.jac_mp(q, r, alpha, T),
                                [q, r], have, need + 20)
        if len(_SG_BEST) > 4096:
            _SG_BEST.clear()
        _SG_BEST[key] = (need + 20, q, r)
    with mpmath.workprec(prec), _extra_digits():
        f = sg.F_mp(q, r, alpha, T)
    with mpmath.workprec(prec):
        return +q, +r, +f


def _sg_observable(alpha, T, index):
    """q (index 0) or f (index 2) of the spin-glass state: mpmath at the working precision for
    mpmath arguments, float elementwise for arrays."""
    if isinstance(alpha, mpmath.mpf) or isinstance(T, mpmath.mpf):
        return _sg_mp_at(mpmath.mpf(alpha), mpmath.mpf(T), mpmath.mp.prec)[index]
    a, t = np.broadcast_arrays(np.asarray(alpha, dtype=float), np.asarray(T, dtype=float))
    out = np.empty(a.shape)
    for idx in np.ndindex(a.shape):
        out[idx] = _sg_float(float(a[idx]), float(t[idx]))[index]
    return out


def branch_state(model, alpha, T):
    """(m, q, r) of the state the model reports: retrieval where it exists, else the m = 0 state."""
    x = retrieval_state(model, alpha, T)
    if x is not None:
        return tuple(float(v) for v in x)
    q, r = spin_glass_state(alpha, T, type(model))
    return 0.0, q, r


def retrieval_temperature(alpha, model=None, tol=1e-8, lo=0.0, hi=1.0):
    """T_M(alpha): the highest temperature at which the retrieval state exists (float; bisection on
    the sign of the profile's minimum, between ``lo`` and ``hi``; T_M < 1 for alpha > 0). Not an
    observable: limits are evaluated at 40 digits for every solve, and T_M needs a sequence of
    finite-T solutions. (The RS boundary is reentrant just above alpha_c: there the retrieval
    region is an interval of T and this returns its upper end only if ``lo`` is inside it.)"""
    model = model or Hopfield()
    alpha = float(alpha)
    while hi - lo > tol:
        mid = (lo + hi) / 2
        deriv = model.derivation({"alpha": alpha, "T": mid})
        if _retrieval_bracket(deriv, alpha, mid) is not None:
            lo = mid
        else:
            hi = mid
    return lo
