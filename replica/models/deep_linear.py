"""Gradient-flow dynamics of deep linear networks, one singular mode at a time (Saxe et al. 2014).

The per-mode reduction (A. M. Saxe, J. L. McClelland and S. Ganguli, "Exact solutions to the
nonlinear dynamics of learning in deep linear neural networks", ICLR 2014)
-----------------------------------------------------------------------------------------------
A network ``y_hat = W_D ... W_1 x`` of depth D is trained by full-batch gradient descent with
learning rate ``lr`` on the squared loss ``(1/2) E |y_hat - y|^2``; the inputs are white
(``E x x^T = I``) and the input-output correlation ``E y x^T`` has singular values ``s``. When
the layers start balanced and aligned with the singular vectors (``W_l(0) = u0^(1/D) I`` in
that basis), every singular mode evolves on its own: its D layer weights ``a_1 .. a_D`` see the
per-mode objective

    l(a_1, .., a_D) = (1/2) E (a_1 ... a_D x - y)^2 = (1/2) (P^2 - 2 s P) + const,  P = a_1 ... a_D,

and stay equal to one another (``a_l = a`` is invariant). :class:`ModeFlow` derives this with
SymPy: it writes the per-mode objective with one symbol a layer, differentiates it by every
trained weight (gradient flow ``da_l/dtau = -dl/da_l``, ``tau = lr * steps``), checks that the
balanced manifold is invariant (every component equal) and returns the reduced flow
``da/dtau = g(a)``. The mode strength is ``P = a^D``. For D = 2 SymPy's ``dsolve`` gives Saxe's
sigmoid ``P(tau) = s e^(2 s tau) / (e^(2 s tau) - 1 + s/u0)``; for D = 1 an exponential; for
D >= 3 there is no explicit solution and the flow is integrated with a stiff solver
(``scipy.integrate.solve_ivp``, LSODA) in float, and refined in mpmath by Newton's method on the
exact identity ``tau = int_{a0}^{a(tau)} da / g(a)`` (a quadrature) at any precision.

The "free energy" slot
----------------------
The contract's free energy is here the per-mode objective on the balanced manifold,
``F(a) = -D int_0^a g`` (for this model exactly ``l(a, .., a) - l(0, .., 0)``; a model whose
flow is not a gradient, e.g. JEPA's stop-gradient flow, gets the potential of its reduced flow).
Its stationary point (the single "order parameter" ``a``, the per-layer weight) is where
training ends (tau -> oo); the saddle-point equation is ``g(a) = 0`` divided by the power of
``a`` that ``g`` carries (so the spurious root a = 0 of the flow is not a root of the equation).

Closed forms (``limits``): the critical time ``t*`` -- the number of steps for the mode strength
to reach ``fraction`` of its final value -- is ``int da / g(a)`` (integrated by SymPy term by
term after a partial-fraction decomposition, with the result's derivative checked against the
integrand; a quadrature where the denominator does not split into linear factors). The
trajectory ``P(t)`` at ``t`` steps is the explicit solution where one exists.
"""
from __future__ import annotations

import functools
import math

import mpmath
import numpy as np
import sympy
from sympy.core.function import Function

from replica.errors import DerivationError, ParameterError, SimulationError
from replica.model import DerivedLimit, Model, Reference
from replica.params import NONNEGATIVE, POSITIVE, Interval, Observable, OrderParameter, Parameter

#: the layer weight of a mode (the order parameter's symbol; one per model, shared by the flows)
A = sympy.Symbol("a", positive=True)
TAU = sympy.Symbol("tau", nonnegative=True)
#: relative accuracy of the float (solve_ivp) trajectory
IVP_RTOL = 1e-11
MAX_DEPTH = 12


# ---------------------------------------------------------------------------------------------
# the per-mode derivation
# ---------------------------------------------------------------------------------------------
def expectation(square_arg, x, y, moments):
    """E[(alpha x - beta y)^2] for a polynomial in x, y of degree 2: the moments
    ``{x^2: .., x*y: .., y^2: ..}`` replace the monomials (x, y jointly centred)."""
    poly = sympy.Poly(sympy.expand(square_arg**2), x, y)
    out = sympy.Integer(0)
    for (i, j), c in poly.terms():
        if (i, j) == (2, 0):
            out += c * moments["xx"]
        elif (i, j) == (1, 1):
            out += c * moments["xy"]
        elif (i, j) == (0, 2):
            out += c * moments["yy"]
        else:
            raise DerivationError(f"unexpected monomial x^{i} y^{j} in the per-mode objective")
    return out


def _integrate_linear_factors(integrand, var):
    """int integrand d(var) when its partial fractions have only powers of linear factors (else None).
    ``log|x|`` is used: a real antiderivative on either side of a pole."""
    out = sympy.Integer(0)
    for term in sympy.Add.make_args(sympy.apart(integrand, var)):
        coeff, dep = term.as_independent(var, as_Add=False)
        num, den = sympy.fraction(sympy.together(dep))
        if num.has(var):
            if den.has(var) or not num.is_polynomial(var):
                return None
            out += coeff * sympy.integrate(num, var) / den     # a polynomial term
            continue
        base, k = den.as_base_exp()
        if not (k.is_Integer and k > 0) or not base.is_polynomial(var):
            return None
        poly = sympy.Poly(base, var)
        if poly.degree() != 1:
            return None                       # an irreducible quadratic (or worse): quadrature
        slope = poly.LC()
        if k == 1:
            out += coeff / num * sympy.log(sympy.Abs(base)) / slope
        else:
            out += coeff / num * base**(1 - k) / ((1 - k) * slope)
    return out


class ModeFlow:
    """The reduced gradient flow of one mode, derived from a per-mode objective.

    ``objective`` is the per-mode objective (a SymPy expression in the trained weights and the
    frozen -- stop-gradient -- copies); ``trained`` is the list of trained weight symbols,
    ``frozen`` the copies (``{copy: weight}``), ``power`` how many layer weights make the
    projection that is reported (``P = a^power``), ``params`` the symbols of the data moments the
    flow depends on, ``probe`` a point of them used to pick the positive fixed point and to check
    the closed forms.
    """

    def __init__(self, name, objective, trained, frozen, power, params, probe):
        self.name = name
        self.objective = objective
        self.trained = list(trained)
        self.frozen = dict(frozen)
        self.power = int(power)
        self.params = list(params)
        self.probe = dict(probe)
        self._derive()

    # -- symbolic ---------------------------------------------------------------------------
    def _derive(self):
        obj = self.objective
        flows = [-sympy.diff(obj, w) for w in self.trained]        # dw/dtau = -dl/dw (frozen copies constant)
        balanced = {w: A for w in self.trained}
        balanced.update({c: A for c in self.frozen})
        reduced = [sympy.expand(f.xreplace(balanced)) for f in flows]
        for f in reduced[1:]:
            if sympy.expand(f - reduced[0]) != 0:
                raise DerivationError(f"{self.name}: the balanced manifold is not invariant "
                                      f"({reduced[0]} != {f})")
        self.gradients = flows
        self.rate = sympy.factor(reduced[0])                     # da/dtau = g(a)
        k = 0
        num = sympy.expand(sympy.numer(sympy.together(self.rate)))
        while sympy.expand(num.subs(A, 0)) == 0 and k < 8 * (len(self.trained) + 1):
            num = sympy.expand(sympy.cancel(num / A))
            k += 1
        #: g(a) = a^k h(a) with h(0) != 0: the saddle-point equation is h(a) = 0
        self.rate_power = k
        self.reduced_rate = sympy.factor(sympy.cancel(self.rate / A**k))
        roots = [r for r in sympy.solve(self.reduced_rate, A) if r.subs(self.probe).is_positive]
        if len(roots) != 1:
            raise DerivationError(f"{self.name}: expected one positive fixed point, got {roots}")
        self.fixed_a = sympy.simplify(roots[0])
        self.fixed_point = sympy.simplify(self.fixed_a**self.power)
        # the potential of the reduced flow, -D int_0^a g: the objective on the balanced manifold
        self.potential = -len(self.trained) * sympy.integrate(sympy.expand(self.rate), (A, 0, A))
        self.antiderivative = self._antiderivative()

    @functools.cached_property
    def projection_rate(self):
        """dP/dtau as a function of the projection P = a^power (P a positive symbol)."""
        P = sympy.Symbol("P", positive=True)
        rate = sympy.powsimp(sympy.expand(self.power * A**(self.power - 1) * self.rate), force=True)
        return P, sympy.expand(sympy.powsimp(rate.subs(A, P**sympy.Rational(1, self.power)), force=True))

    def _antiderivative(self):
        """int da / g(a) in closed form, or None: term by term after partial fractions, in the layer
        weight a or (if that fails) in the projection P = a^power; the result's derivative is checked."""
        P, rate_P = self.projection_rate
        for var, rate, back in ((A, self.rate, A), (P, rate_P, A**self.power)):
            if any(not e.is_Integer for b, e in (x.as_base_exp() for x in sympy.preorder_traversal(rate)
                                                 if isinstance(x, sympy.Pow)) if b.has(var)):
                continue
            out = _integrate_linear_factors(sympy.cancel(1 / rate), var)
            if out is None:
                continue
            deriv = sympy.diff(out, var)
            for v in (sympy.Rational(1, 7), sympy.Rational(3, 5)):
                point = dict(self.probe)
                point[var] = v
                lhs, rhs = sympy.N(deriv.subs(point), 30), sympy.N((1 / rate).subs(point), 30)
                if abs(float(lhs - rhs)) > 1e-20 * (1 + abs(float(rhs))):
                    raise DerivationError(f"{self.name}: the antiderivative of 1/g failed its check")
            return out.subs(var, back)
        return None

    @functools.cached_property
    def explicit_solution(self):
        """P(tau) from ``dsolve`` when the projection's ODE has an explicit solution, else None."""
        P, rate_P = self.projection_rate
        if any(not e.is_Integer for b, e in (x.as_base_exp() for x in sympy.preorder_traversal(rate_P)
                                             if isinstance(x, sympy.Pow)) if b.has(P)):
            return None
        if sympy.Poly(rate_P, P).degree() > 2:
            return None                 # Bernoulli/Riccati at most: beyond, no explicit inverse
        f, p0 = sympy.Function("P"), sympy.Symbol("P_0", positive=True)
        try:
            sol = sympy.dsolve(sympy.Eq(f(TAU).diff(TAU), rate_P.subs(P, f(TAU))), f(TAU), ics={f(0): p0})
        except (NotImplementedError, ValueError):
            return None
        for s in (sol if isinstance(sol, list) else [sol]):
            expr = sympy.simplify(s.rhs)
            if not expr.has(f) and sympy.simplify(expr.subs(TAU, 0) - p0) == 0:
                check = sympy.simplify(sympy.diff(expr, TAU) - rate_P.subs(P, expr))
                if check == 0:
                    return expr, p0
        return None

    # -- numerics ---------------------------------------------------------------------------
    @functools.cached_property
    def _numpy_rate(self):
        g = sympy.lambdify([A] + self.params, self.rate, "numpy")
        dg = sympy.lambdify([A] + self.params, sympy.diff(self.rate, A), "numpy")
        return g, dg

    @functools.cached_property
    def _mp_rate(self):
        return sympy.lambdify([A] + self.params, self.rate, "mpmath")

    @functools.cached_property
    def _mp_fixed(self):
        return sympy.lambdify(self.params, self.fixed_a, "mpmath")

    @functools.cached_property
    def _mp_antiderivative(self):
        if self.antiderivative is None:
            return None
        return sympy.lambdify([A] + self.params, self.antiderivative, "mpmath")

    def layer_start(self, w0):
        return w0 ** (1.0 / self.power) if not isinstance(w0, mpmath.mpf) else mpmath.root(w0, self.power)

    def trajectory_float(self, tau, w0, *params):
        """Projection P(tau) from P(0) = w0: solve_ivp in x = ln a (float). LSODA (switching to a stiff
        BDF method where needed; measured 20-100x faster than Radau here at a time error of ~1e-9)."""
        from scipy.integrate import solve_ivp

        tau, w0 = float(tau), float(w0)
        params = [float(p) for p in params]
        if tau == 0:
            return w0
        g, dg = self._numpy_rate
        x0 = math.log(w0) / self.power

        def rhs(_, x):
            a = np.exp(x)
            return g(a, *params) / a

        def jac(_, x):
            a = np.exp(x)
            return np.atleast_2d(dg(a, *params) - g(a, *params) / a)

        sol = solve_ivp(rhs, (0.0, tau), [x0], method="LSODA", jac=jac, rtol=IVP_RTOL, atol=1e-13)
        if not sol.success:
            raise SimulationError(f"{self.name}: solve_ivp failed: {sol.message}")
        return float(np.exp(self.power * sol.y[0, -1]))

    def trajectory_batch(self, tau, w0, *params):
        """Projections at time tau of many independent modes at once (arrays ``w0``, ``params``
        broadcast): one solve_ivp (LSODA) of the vector of modes with a diagonal (banded,
        width 0) Jacobian. Same accuracy target as :meth:`trajectory_float`."""
        from scipy.integrate import solve_ivp

        arrays = np.broadcast_arrays(np.asarray(w0, dtype=float), *[np.asarray(p, dtype=float) for p in params])
        w0, params = arrays[0].ravel(), [p.ravel() for p in arrays[1:]]
        if float(tau) == 0:
            return w0.reshape(arrays[0].shape)
        g, dg = self._numpy_rate

        def rhs(_, x):
            a = np.exp(x)
            return g(a, *params) / a

        def jac(_, x):
            a = np.exp(x)
            return (dg(a, *params) - g(a, *params) / a)[None, :]

        sol = solve_ivp(rhs, (0.0, float(tau)), np.log(w0) / self.power, method="LSODA", jac=jac, lband=0,
                        uband=0, rtol=IVP_RTOL, atol=1e-13)
        if not sol.success:
            raise SimulationError(f"{self.name}: solve_ivp failed: {sol.message}")
        return np.exp(self.power * sol.y[:, -1]).reshape(arrays[0].shape)

    def time_between_mp(self, a0, a1, params):
        """tau needed to go from layer weight a0 to a1 (mpmath, closed form or quadrature)."""
        anti = self._mp_antiderivative
        if anti is not None:
            return anti(a1, *params) - anti(a0, *params)
        g = self._mp_rate
        return mpmath.quad(lambda a: 1 / g(a, *params), [a0, a1])

    def time_between_float(self, a0, a1, params):
        with mpmath.workdps(20):
            return float(self.time_between_mp(mpmath.mpf(a0), mpmath.mpf(a1), [mpmath.mpf(p) for p in params]))

    def trajectory_mp(self, tau, w0, params):
        """P(tau) at mpmath's working precision: Newton on the exact identity T(a) = tau, where
        T(a) = int_{a0}^{a} da'/g(a') (closed form or quadrature), in the variable
        y = -ln(a* - a) (in which T is smooth and, late in training, linear: no quadrature against
        the pole of 1/g at the end point a*), safeguarded by a bracket, from the float solution."""
        if tau == 0:
            return w0
        g = self._mp_rate
        a0, a_star = self.layer_start(w0), self._mp_fixed(*params)
        if not a0 < a_star:
            raise DerivationError(f"{self.name}: the trajectory from {w0} does not grow towards its end point")
        anti = self._mp_antiderivative
        y0 = -mpmath.log(a_star - a0)
        floor = mpmath.mpf(2) ** (-mpmath.mp.prec - 8) * a_star

        def h(y):                       # dT/dy
            e = mpmath.exp(-y)
            return e / g(a_star - e, *params)

        def T(y):
            if anti is not None:
                return anti(a_star - mpmath.exp(-y), *params) - anti(a0, *params)
            return mpmath.quad(h, mpmath.linspace(y0, y, 4))

        a_float = self.trajectory_float(float(tau), float(w0), *[float(p) for p in params]) ** (1.0 / self.power)
        gap = float(a_star) - a_float
        y = -mpmath.log(gap) if gap > 1e-13 * float(a_star) else -mpmath.log(1e-13 * a_star)
        y = max(y, y0 + mpmath.mpf(2) ** -20)
        lo, hi = y0, mpmath.inf
        for _ in range(200):
            if mpmath.exp(-y) < floor:              # a = a* to working precision
                return a_star ** self.power
            f = T(y) - tau
            if f < 0:
                lo = y
            else:
                hi = y
            step = f / h(y)
            if abs(step) * mpmath.exp(-y) <= mpmath.mpf(2) ** (-mpmath.mp.prec + 3) * a_star:
                y -= step                        # converged (no safeguard: the step is below resolution)
                break
            new = y - step
            if not lo < new < hi:
                new = (lo + hi) / 2 if hi != mpmath.inf else lo + 2 * (y - lo + 1)
            y = new
        else:
            raise DerivationError(f"{self.name}: the mpmath trajectory did not converge")
        return (a_star - mpmath.exp(-y)) ** self.power


# ---------------------------------------------------------------------------------------------
# SymPy functions whose values are computed numerically (from a derived flow)
# ---------------------------------------------------------------------------------------------
def _broadcast(fn, *args):
    """Call a scalar function elementwise: mpmath scalars pass through, numpy arrays loop."""
    if any(isinstance(a, (mpmath.mpf, mpmath.mpc)) for a in args):
        return fn(*[mpmath.mpf(a) for a in args], mp=True)
    arrays = np.broadcast_arrays(*[np.asarray(a, dtype=float) for a in args])
    out = np.empty(arrays[0].shape)
    for idx in np.ndindex(out.shape):
        vals = [float(a[idx]) for a in arrays]
        out[idx] = fn(*vals, mp=False) if all(map(math.isfinite, vals)) else float("nan")
    return out if out.shape else float(out)


@functools.lru_cache(maxsize=None)
def trajectory_function(flow: ModeFlow, label: str):
    """A SymPy function ``Name(tau, w0, *params)``: the projection of the flow after time tau."""

    def value(tau, w0, *params, mp):
        if mp:
            return flow.trajectory_mp(tau, w0, list(params))
        return flow.trajectory_float(tau, w0, *params)

    def imp(tau, w0, *params):
        return _broadcast(value, tau, w0, *params)

    def _latex(self, printer, exp=None):
        args = ", ".join(printer._print(a) for a in self.args)
        out = r"%s\left(%s\right)" % (label, args)
        return out if exp is None else r"%s^{%s}" % (out, exp)

    name = f"Flow_{flow.name}".replace("-", "_")
    return type(name, (Function,), {"nargs": 2 + len(flow.params), "_imp_": staticmethod(imp),
                                    "_latex": _latex, "__module__": __name__})


@functools.lru_cache(maxsize=None)
def flow_time_function(flow: ModeFlow, label: str):
    """A SymPy function ``Name(a1, a0, *params)``: tau to go from layer weight a0 to a1 (quadrature)."""

    def value(a1, a0, *params, mp):
        if mp:
            return flow.time_between_mp(a0, a1, list(params))
        return flow.time_between_float(a0, a1, params)

    def imp(a1, a0, *params):
        return _broadcast(value, a1, a0, *params)

    def _latex(self, printer, exp=None):
        a1, a0 = (printer._print(x) for x in self.args[:2])
        g = printer._print(flow.rate.subs(A, sympy.Symbol("z")))
        out = r"\int_{%s}^{%s} \frac{dz}{%s}" % (a0, a1, g)
        return out if exp is None else r"\left(%s\right)^{%s}" % (out, exp)

    name = f"FlowTime_{flow.name}".replace("-", "_")
    return type(name, (Function,), {"nargs": 2 + len(flow.params), "_imp_": staticmethod(imp),
                                    "_latex": _latex, "__module__": __name__})


def critical_time_expression(flow: ModeFlow, w0, fraction, lr, params):
    """Steps to reach ``fraction`` of the final projection: closed form if one was derived."""
    a0 = w0 ** sympy.Rational(1, flow.power)
    a1 = (fraction * flow.fixed_point) ** sympy.Rational(1, flow.power)
    if flow.antiderivative is not None:
        tau = flow.antiderivative.subs(A, a1) - flow.antiderivative.subs(A, a0)
    else:
        tau = flow_time_function(flow, r"\tau")(a1, a0, *params)
    return tau / lr


def trajectory_expression(flow: ModeFlow, tau, w0, params, label):
    explicit = flow.explicit_solution
    if explicit is not None:
        expr, p0 = explicit
        return expr.subs({TAU: tau, p0: w0})
    return trajectory_function(flow, label)(tau, w0, *params)


# ---------------------------------------------------------------------------------------------
# depth-specific variants (the flow is derived for a concrete number of layers)
# ---------------------------------------------------------------------------------------------
def check_depth(depth):
    if depth is None or not 1 <= int(depth) <= MAX_DEPTH:
        raise ParameterError(f"parameter 'depth'={depth} is out of range; allowed [1, {MAX_DEPTH}] (integer)")
    return int(depth)


# ---------------------------------------------------------------------------------------------
# the model: Saxe's deep linear network
# ---------------------------------------------------------------------------------------------
#: the singular value in the derivation (renamed to the parameter symbol in the model)
S = sympy.Symbol("s", positive=True)


@functools.lru_cache(maxsize=None)
def saxe_flow(depth: int) -> ModeFlow:
    layers = sympy.symbols(f"a1:{depth + 1}", real=True)
    x, y = sympy.symbols("x y", real=True)
    yy = sympy.Symbol("c_yy", positive=True)
    prod = sympy.Mul(*layers)
    obj = sympy.Rational(1, 2) * expectation(prod * x - y, x, y, {"xx": 1, "xy": S, "yy": yy})
    return ModeFlow(f"saxe{depth}", obj, layers, {}, depth, [S], {S: sympy.Rational(3, 2)})


class DeepLinear(Model):
    name = "deep-linear"
    title = "Deep linear network: gradient-flow learning of one singular mode (Saxe et al. 2014)"
    description = ("A depth-D linear network trained by gradient descent (learning rate lr) on white inputs; "
                   "one singular mode of the input-output correlation, strength s, from a small balanced "
                   "initial strength u0: the mode strength after t steps (sigmoidal for D >= 2), the critical "
                   "time to reach a fraction of s (~ 1/s), the final strength. Per-mode flow derived with SymPy "
                   "from the objective; closed forms where they exist (D <= 2), a stiff ODE solver otherwise.")
    parameters = (
        Parameter("s", "singular value of the input-output correlation E[y x^T] (the mode's strength)", POSITIVE,
                  1.0, latex="s"),
        Parameter("depth", "number of layers D", Interval(1, MAX_DEPTH, lower_closed=True, upper_closed=True), 2,
                  kind="integer", latex="D"),
        Parameter("u0", "initial mode strength (product of the D balanced layer weights)", POSITIVE, 0.01,
                  latex="u_0"),
        Parameter("lr", "learning rate (gradient-flow time = lr * t)", POSITIVE, 0.05, latex="eta"),
        Parameter("t", "training time in steps (epochs of full-batch gradient descent)", NONNEGATIVE, 100.0,
                  latex="t"),
        Parameter("fraction", "the critical time is when the strength reaches fraction * s", Interval(0.0, 1.0),
                  0.5, latex="p"),
    )
    order_parameters = (OrderParameter("a", "layer weight of the mode at the end of training (tau -> oo)",
                                       Interval(0.0, None), guesses=(0.5, 1.0, 2.0), latex="a"),)
    observables = (
        Observable("strength", "mode strength u(t) = a(t)^D after t steps"),
        Observable("critical_time", "steps until the strength reaches fraction * s"),
        Observable("u_final", "strength at the end of training, a^D at the stationary point (= s)"),
    )
    free_energy_name = "per-mode objective on the balanced manifold"
    select = "min"
    simulated_observables = ("strength",)
    finite_size_powers = (1,)
    references = (
        # Saxe et al. (2014), eq. (6): u(t) = s e^{2 s t/tau} / (e^{2 s t/tau} - 1 + s/u0), tau = 1/lr
        Reference({"s": 2.0, "depth": 2, "u0": 0.01, "lr": 0.01, "t": 100.0}, "strength",
                  2.0 * math.exp(4.0) / (math.exp(4.0) - 1 + 200.0), 1e-12,
                  "Saxe, McClelland & Ganguli (2014) eq. (6), depth 2"),
        # t* = (tau / 2s) ln(u_f (s - u0) / (u0 (s - u_f))) with u_f = s/2
        Reference({"s": 2.0, "depth": 2, "u0": 0.01, "lr": 0.01, "fraction": 0.5}, "critical_time",
                  100.0 / 4.0 * math.log(1.99 / 0.01), 1e-10,
                  "Saxe, McClelland & Ganguli (2014): t = (tau/2s) ln(u_f (s - u0)/(u0 (s - u_f)))"),
        Reference({"s": 1.5, "depth": 3}, "u_final", 1.5, 1e-12, "the mode is learnt exactly: u -> s"),
        Reference({"s": 1.0, "depth": 1, "u0": 0.2, "lr": 0.1, "t": 10.0}, "strength",
                  1.0 - 0.8 * math.exp(-1.0), 1e-12, "depth 1: linear relaxation u = s + (u0 - s) e^{-lr t}"),
    )
    # mid-transition (critical time 90 steps); lr small enough that its bias (-0.004) is below the
    # statistical error of the extrapolation
    quick_compares = ({"params": {"s": 1.0, "depth": 3, "u0": 0.05, "lr": 0.02, "t": 75.0},
                       "n": [200, 400, 800], "trials": 30, "seed": 1},)
    verify_compares = quick_compares
    depth = None

    def variant(self, params):
        return deep_linear_variant(check_depth(params.get("depth", 2)))()

    def flow(self) -> ModeFlow:
        return saxe_flow(check_depth(self.depth if self.depth is not None else 2))

    def starting_points(self, params):
        """Default starting points; refuses points of another depth (a sweep over ``depth`` would
        otherwise solve every point with the flow derived for the first depth)."""
        if self.depth is not None and int(params["depth"]) != self.depth:
            raise ParameterError(f"parameter 'depth'={params['depth']} cannot vary within one solve of the "
                                 f"depth-{self.depth} flow (the flow is derived for one depth): solve each depth "
                                 "separately instead of sweeping it")
        return None

    def validate(self, params):
        check_depth(params["depth"])
        if params["u0"] >= params["fraction"] * params["s"]:
            raise ParameterError(f"parameter 'u0'={params['u0']:g} is out of range; allowed (0, fraction * s) = "
                                 f"(0, {params['fraction'] * params['s']:g}) (the mode must grow)")

    def free_energy(self, choices):
        return self.flow().potential.subs(A, self.order_parameters[0].symbol)

    def equation_scales(self, choices):
        a = self.order_parameters[0].symbol
        flow = self.flow()
        # dF/da = -D g(a); the equation is h(a) = g(a)/a^k (its positive root is the end of training)
        return [1 / (len(flow.trained) * a**flow.rate_power)]

    def observable_expressions(self, F, choices):
        a = self.order_parameters[0].symbol
        return {"u_final": a**self.flow().power}

    def limits(self, F, choices):
        flow = self.flow()
        s, _, u0, lr, t, p = (q.symbol for q in self.parameters)
        rename = {S: s}
        traj = trajectory_expression(flow, lr * t, u0, [s], r"u_D").subs(rename)
        crit = critical_time_expression(flow, u0, p, lr, [s]).subs(rename)
        steps = (
            (r"\ell(a_1, \dots, a_D)", flow.objective.subs(rename), "per-mode objective (white inputs, E x y = s)"),
            (r"\dot a", flow.rate.subs(rename), "derived gradient flow on the balanced manifold a_l = a, "
                                                 "tau = lr t; strength u = a^D"),
        )
        return {"strength": DerivedLimit(traj, steps), "critical_time": DerivedLimit(sympy.simplify(crit))}

    def simulate_trial(self, params, n, rng):
        from replica.simulators.deep_linear import train_trial
        return {"strength": train_trial("regression", params, n, rng)}


@functools.lru_cache(maxsize=None)
def deep_linear_variant(depth: int):
    name = f"DeepLinearDepth{depth}"
    cls = type(name, (DeepLinear,), {"depth": depth, "__module__": __name__, "__qualname__": name})
    return cls


def __getattr__(name):            # pickling of the depth variants (worker processes)
    if name.startswith("DeepLinearDepth"):
        return deep_linear_variant(int(name[len("DeepLinearDepth"):]))
    raise AttributeError(name)
