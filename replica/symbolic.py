"""The symbolic layer: Gaussian tails, Gaussian averages and the rules the CAS lacks.

Notation of the field: ``Dz = exp(-z^2/2) dz / sqrt(2 pi)``,
``H(x) = int_x^oo Dz = erfc(x/sqrt 2)/2``.

Functions here are SymPy ``Function`` subclasses with exact derivatives
(``fdiff``) written in numerically stable building blocks, so that a
derivative of a free energy never contains ``exp(-x^2/2)/H(x)`` (which
overflows) but ``InvMills(x)``. :class:`GaussianAverage` is an unevaluated
``int Dz (...)`` that differentiates under the integral sign and prints as
``\\int Dz``; it is never handed to ``lambdify`` (see :mod:`replica.numeric`).
"""
from __future__ import annotations

import sympy
from sympy import Expr, Function, Heaviside, S, exp, pi, sqrt, tanh

from .errors import DerivationError


def as_expr(x):
    """A SymPy expression from an expression or a number; strings are refused (never parsed)."""
    if isinstance(x, str):
        raise TypeError(f"expected a SymPy expression or a number, got the string {x!r}")
    return sympy.sympify(x)  # only Basic objects and numbers reach this line


def gaussian_density(x):
    """phi(x) = exp(-x^2/2)/sqrt(2 pi)."""
    return exp(-x**2 / 2) / sqrt(2 * pi)


def _power(tex, exp, wrap=False):
    if exp is None:
        return tex
    return (r"\left[%s\right]^{%s}" if wrap else r"%s^{%s}") % (tex, exp)


class GaussPDF(Function):
    """The standard Gaussian density phi(x) = exp(-x^2/2)/sqrt(2 pi), kept as one function:
    SymPy would otherwise merge exponentials of different arguments into sums such as
    a e^{x^2} + b e^{x^2} in a denominator, which overflow to inf - inf."""

    @classmethod
    def eval(cls, x):
        if x is S.Infinity or x is S.NegativeInfinity:
            return S.Zero

    def fdiff(self, argindex=1):
        return -self.args[0] * GaussPDF(self.args[0])

    def _eval_rewrite_as_exp(self, x, **kwargs):
        return gaussian_density(x)

    def _latex(self, printer, exp=None):
        return _power(r"\phi\left(%s\right)" % printer._print(self.args[0]), exp)


class H(Function):
    """Gaussian tail H(x) = int_x^oo Dz."""

    @classmethod
    def eval(cls, x):
        if x is S.Zero:
            return S.Half
        if x is S.Infinity:
            return S.Zero
        if x is S.NegativeInfinity:
            return S.One

    def fdiff(self, argindex=1):
        return -GaussPDF(self.args[0])

    def _eval_rewrite_as_erfc(self, x, **kwargs):
        return sympy.erfc(x / sqrt(2)) / 2

    def _latex(self, printer, exp=None):
        return _power(r"H\left(%s\right)" % printer._print(self.args[0]), exp)


class LnH(Function):
    """ln H(x), kept as one function so numerics use ``log_ndtr`` (no underflow)."""

    @classmethod
    def eval(cls, x):
        if x is S.Zero:
            return -sympy.log(2)
        if x is S.NegativeInfinity:
            return S.Zero

    def fdiff(self, argindex=1):
        return -InvMills(self.args[0])

    def _eval_rewrite_as_erfc(self, x, **kwargs):
        return sympy.log(sympy.erfc(x / sqrt(2)) / 2)

    def _latex(self, printer, exp=None):
        return _power(r"\ln H\left(%s\right)" % printer._print(self.args[0]), exp, wrap=True)


class InvMills(Function):
    """Inverse Mills ratio phi(x)/H(x) = -d ln H/dx; stable as sqrt(2/pi)/erfcx(x/sqrt 2)."""

    def fdiff(self, argindex=1):
        x = self.args[0]
        return InvMills(x) * (InvMills(x) - x)

    def _eval_rewrite_as_erfc(self, x, **kwargs):
        return gaussian_density(x) / (sympy.erfc(x / sqrt(2)) / 2)

    def _latex(self, printer, exp=None):
        a = printer._print(self.args[0])
        return _power(r"\frac{e^{-\left(%s\right)^{2}/2}}{\sqrt{2\pi}\, H\left(%s\right)}" % (a, a), exp, wrap=True)


class MillsGap(Function):
    """InvMills(x) - x, evaluated without cancellation for large x (a continued fraction).

    InvMills(x) - x = 1/(x + 2/(x + 3/(x + ...))) tends to 1/x; written as a
    difference it loses all digits once x ~ 1e8 (and 1e-16 x^2 relative before).
    """

    def fdiff(self, argindex=1):
        x = self.args[0]
        return (MillsGap(x) + x) * MillsGap(x) - 1

    def _eval_rewrite_as_erfc(self, x, **kwargs):
        return gaussian_density(x) / (sympy.erfc(x / sqrt(2)) / 2) - x

    def _latex(self, printer, exp=None):
        a = printer._print(self.args[0])
        return _power(r"\left[\frac{e^{-\left(%s\right)^{2}/2}}{\sqrt{2\pi}\, H\left(%s\right)} - %s\right]"
                      % (a, a, a), exp)


class Logistic(Function):
    """1/(1 + e^-x), finite for every x including +-oo (its derivative is Logistic(x) Logistic(-x))."""

    def fdiff(self, argindex=1):
        x = self.args[0]
        return Logistic(x) * Logistic(-x)

    def _eval_rewrite_as_exp(self, x, **kwargs):
        return 1 / (1 + exp(-x))

    def _latex(self, printer, exp=None):
        return _power(r"\frac{1}{1 + e^{-\left(%s\right)}}" % printer._print(self.args[0]), exp, wrap=True)


class LogAddExp(Function):
    """ln(e^a + e^b) without overflow; ``a`` or ``b`` may be -oo (a zero-weight term).

    Used for mixtures of channel likelihoods, e.g. label flips:
    ln((1 - p) H(x) + p H(-x)) = LogAddExp(ln(1 - p) + ln H(x), ln p + ln H(-x)).
    """

    nargs = 2

    def fdiff(self, argindex=1):
        a, b = self.args
        # d/da = e^a / (e^a + e^b) = 1 / (1 + e^(b - a))
        return Logistic(a - b) if argindex == 1 else Logistic(b - a)

    def _eval_rewrite_as_exp(self, a, b, **kwargs):
        return sympy.log(exp(a) + exp(b))

    def _latex(self, printer, exp=None):
        a, b = (printer._print(x) for x in self.args)
        return _power(r"\ln\left(e^{%s} + e^{%s}\right)" % (a, b), exp)


class LogTwoCosh(Function):
    """ln(2 cosh x), evaluated as logaddexp(x, -x) (no overflow at low temperature)."""

    @classmethod
    def eval(cls, x):
        if x is S.Zero:
            return sympy.log(2)

    def fdiff(self, argindex=1):
        return tanh(self.args[0])

    def _eval_rewrite_as_cosh(self, x, **kwargs):
        return sympy.log(2 * sympy.cosh(x))

    def _latex(self, printer, exp=None):
        return _power(r"\ln 2\cosh\left(%s\right)" % printer._print(self.args[0]), exp, wrap=True)


class SpinEntropy(Function):
    """Entropy of an Ising spin in a field x: ln 2cosh(x) - x tanh(x), without cancellation.

    Evaluated as ln(1 + e^{-2|x|}) + 2|x|/(1 + e^{2|x|}); the difference of the two O(|x|)
    terms would lose all digits at low temperature.
    """

    @classmethod
    def eval(cls, x):
        if x is S.Zero:
            return sympy.log(2)

    def fdiff(self, argindex=1):
        x = self.args[0]
        return -x * (1 - tanh(x) ** 2)

    def _eval_rewrite_as_cosh(self, x, **kwargs):
        return sympy.log(2 * sympy.cosh(x)) - x * tanh(x)

    def _latex(self, printer, exp=None):
        a = printer._print(self.args[0])
        return _power(r"\left[\ln 2\cosh\left(%s\right) - %s \tanh\left(%s\right)\right]" % (a, a, a), exp)


STABLE_FUNCTIONS = (GaussPDF, H, LnH, InvMills, MillsGap, LogTwoCosh, SpinEntropy, LogAddExp, Logistic)


class GaussianAverage(Expr):
    """``int Dz integrand``: an unevaluated average over one standard Gaussian variable.

    Averages over several independent Gaussians nest:
    ``GaussianAverage(GaussianAverage(f, z2), z1)``. Differentiation with
    respect to any other symbol goes under the integral sign.
    """

    is_commutative = True

    def __new__(cls, integrand, variable):
        integrand = as_expr(integrand)
        if not isinstance(variable, sympy.Symbol):
            raise TypeError("GaussianAverage variable must be a Symbol")
        if not integrand.has(variable):
            return integrand
        return Expr.__new__(cls, integrand, variable)

    @property
    def integrand(self):
        return self.args[0]

    @property
    def variable(self):
        return self.args[1]

    @property
    def free_symbols(self):
        return self.integrand.free_symbols - {self.variable}

    def _eval_derivative(self, s):
        if s == self.variable:
            return S.Zero
        return GaussianAverage(sympy.diff(self.integrand, s), self.variable)

    def _eval_subs(self, old, new):
        if old == self.variable:
            return self
        return None

    def _latex(self, printer, exp=None):
        return r"\int D%s\, \left[%s\right]" % (printer._print(self.variable), printer._print(self.integrand))

    def _sympystr(self, printer):
        return "int D%s [%s]" % (printer._print(self.variable), printer._print(self.integrand))


def averages(expr) -> list:
    """The outermost Gaussian averages in ``expr`` (not those nested inside others)."""
    found = []

    def walk(e):
        if isinstance(e, GaussianAverage):
            if e not in found:
                found.append(e)
            return
        for a in e.args:
            walk(a)

    walk(as_expr(expr))
    return found


def map_averages(expr, fn):
    """Replace every outermost average ``A`` in ``expr`` by ``fn(A)``."""
    return as_expr(expr).xreplace({a: fn(a) for a in averages(expr)})


# ---------------------------------------------------------------------------
# Kinks: where an integrand changes on a scale that Gauss-Hermite cannot see
# ---------------------------------------------------------------------------
_KINK_FUNCTIONS = (GaussPDF, H, LnH, InvMills, MillsGap, LogTwoCosh, SpinEntropy, sympy.tanh, Heaviside, sympy.Abs, sympy.sign,
                   sympy.erf, sympy.erfc)


def kinks(integrand, z):
    """Points ``z0`` where an argument linear in ``z`` of a step-like function vanishes.

    Returns a list of ``(z0, width)`` with ``width = 1/|d arg/dz|`` the scale
    of the transition (e.g. ``sqrt(1-q)/sqrt(q)`` for ``ln H((k + sqrt(q) z)/sqrt(1-q))``).
    ``LogAddExp(a, b)`` turns over where ``b - a`` vanishes: linear in ``z`` as above, or an even
    quadratic ``c0 + c2 z^2`` (a Gaussian mixture), with two transitions at ``+-sqrt(-c0/c2)``.
    """
    found = []
    candidates = []
    for f in sympy.preorder_traversal(integrand):
        # ln(e^a + e^b) turns from a to b where b - a changes sign; its derivative Logistic(x) where x does
        mixture = (f.args[1] - f.args[0]) if isinstance(f, LogAddExp) else \
            (f.args[0] if isinstance(f, Logistic) else None)
        if mixture is not None and mixture.has(z):
            arg = mixture
            slope = sympy.diff(arg, z)
            if not slope.has(z):
                candidates.append((-arg.subs(z, 0) / slope, 1 / sympy.Abs(slope), True))
            elif arg.is_polynomial(z) and sympy.degree(arg, z) == 2 and sympy.expand(arg).coeff(z, 1) == 0:
                # even quadratic c0 + c2 z^2 (a Gaussian mixture's log-likelihood ratio): two transitions
                # at +-sqrt(-c0/c2) (NaN, hence ignored, where there is none), of width 1/|2 c2 z0|
                c0, c2 = sympy.expand(arg).coeff(z, 0), sympy.expand(arg).coeff(z, 2)
                z0 = sympy.sqrt(-c0 / c2)
                # kept as written: simplifying these square roots costs seconds and gains nothing
                candidates += [(z0, 1 / sympy.Abs(2 * c2 * z0), False), (-z0, 1 / sympy.Abs(2 * c2 * z0), False)]
        elif isinstance(f, _KINK_FUNCTIONS) and f.args and f.args[0].has(z):
            arg = f.args[0]
            slope = sympy.diff(arg, z)
            if slope.has(z):
                continue
            candidates.append((-arg.subs(z, 0) / slope, 1 / sympy.Abs(slope), True))
    for z0, width, tidy in candidates:
        item = (sympy.simplify(z0) if tidy and z0.count_ops() < 30 else z0, width)
        for i, g in enumerate(found):
            if item[0] == g[0] or (tidy and sympy.simplify(item[0] - g[0]) == 0):
                # two transitions at the same point: the quadrature resolves the narrower
                if sympy.simplify(item[1] - g[1]) != 0:
                    found[i] = (g[0], sympy.Min(g[1], item[1]))
                break
        else:
            found.append(item)
    return found


# ---------------------------------------------------------------------------
# Gaussian integration by parts (Stein's lemma)
# ---------------------------------------------------------------------------
def stein(average: GaussianAverage) -> Expr:
    """Rewrite ``int Dz z f(z)`` as ``int Dz f'(z)`` (Gaussian integration by parts).

    Applied term by term to the integrand (products distributed over sums):
    each term with a factor ``z`` (or ``z**n``) loses one power of ``z`` and
    is differentiated; the other terms are kept. The result equals the input.
    """
    z = average.variable
    out = S.Zero
    for term in sympy.Add.make_args(sympy.expand_mul(average.integrand)):
        coeff, rest = term.as_independent(z, as_Add=False)
        factors = list(sympy.Mul.make_args(rest))
        for i, f in enumerate(factors):
            base, exponent = f.as_base_exp()
            if base == z and exponent.is_Integer and exponent >= 1:
                g = sympy.Mul(*(factors[:i] + [z**(exponent - 1)] + factors[i + 1:]))
                out += GaussianAverage(sympy.expand_mul(coeff * sympy.diff(g, z)), z)
                break
        else:
            out += GaussianAverage(term, z)
    return out


def _tidy(c):
    """Cheap normal form of a coefficient (common denominator, no ``simplify``)."""
    return sympy.factor_terms(sympy.cancel(sympy.together(c)))


def collect_averages(expr) -> Expr:
    """Normal form ``c_0 + sum_k c_k int Dz g_k(z)`` with distinct ``g_k`` and tidy ``c_k``.

    Factors that do not depend on the integration variable move out of the
    averages; terms with the same ``g_k`` are collected and their
    coefficients put over a common denominator.
    """
    expr = sympy.expand_mul(as_expr(expr))
    outside = S.Zero
    collected = {}
    for term in sympy.Add.make_args(expr):
        coeff, avg = term.as_independent(GaussianAverage, as_Add=False)
        if not isinstance(avg, GaussianAverage):
            outside += term
            continue
        z = avg.variable
        for t in sympy.Add.make_args(sympy.expand_mul(avg.integrand)):
            c, rest = t.as_independent(z, as_Add=False)
            collected[(z, rest)] = collected.get((z, rest), S.Zero) + coeff * c
    out = _tidy(outside)
    for (z, rest), c in collected.items():
        c = _tidy(c)
        if c != 0:
            out += c * GaussianAverage(rest, z)
    return out


def stein_all(expr) -> Expr:
    """Gaussian integration by parts on every average of ``expr``, then :func:`collect_averages`.

    Constant factors are moved inside first, so that they cancel against
    factors produced by the differentiation (``sqrt(q)/sqrt(q)``).
    """
    expr = sympy.expand_mul(as_expr(expr))
    inside = {}
    outside = S.Zero
    for term in sympy.Add.make_args(expr):
        coeff, avg = term.as_independent(GaussianAverage, as_Add=False)
        if isinstance(avg, GaussianAverage):
            inside[avg.variable] = inside.get(avg.variable, S.Zero) + coeff * avg.integrand
        else:
            outside += term
    out = outside + sum((stein(GaussianAverage(f, z)) for z, f in inside.items()), S.Zero)
    return collect_averages(out)



# ---------------------------------------------------------------------------
# Asymptotic rules for limits the CAS cannot take
# ---------------------------------------------------------------------------
def _positive_part(u):
    """Heaviside(u) with positive factors of ``u`` divided out (Heaviside(u/c) = Heaviside(u), c > 0)."""
    num, den = sympy.fraction(sympy.together(u))
    if den.is_positive:
        u = num
    coeff, rest = sympy.factor_terms(u).as_independent(*u.free_symbols, as_Add=False)
    if coeff.is_positive:
        u = rest
    return Heaviside(u)


def _abs(x):
    num, den = sympy.fraction(sympy.together(x))
    return sympy.Abs(num) / den if den.is_positive else sympy.Abs(x)


def lnH_leading(u):
    """Leading behaviour of ln H(u) as |u| -> oo: -u^2/2 for u -> +oo, 0 for u -> -oo.

    Rule: ln H(u) = -u^2/2 - ln(u sqrt(2 pi)) + O(u^-2) for u -> +oo and
    ln H(u) = O(exp(-u^2/2)/|u|) for u -> -oo; only the term that diverges
    like u^2 is kept (tested in tests/test_symbolic.py).
    """
    return -u**2 / 2 * _positive_part(u)


def log_two_cosh_leading(x):
    """ln 2cosh(x) = |x| + ln(1 + exp(-2|x|)) -> |x| as |x| -> oo."""
    return _abs(x)


def tanh_leading(x):
    """tanh(x) -> sign(x) as |x| -> oo."""
    return 2 * _positive_part(x) - 1


ASYMPTOTIC_RULES = {LnH: lnH_leading, LogTwoCosh: log_two_cosh_leading, sympy.tanh: tanh_leading}


def apply_asymptotic_rules(expr, rules=None):
    """Replace each function application by its leading asymptotic form."""
    rules = ASYMPTOTIC_RULES if rules is None else rules
    return as_expr(expr).replace(
        lambda e: type(e) in rules, lambda e: rules[type(e)](*e.args))


_STEP_LIKE = (Heaviside, sympy.Abs, sympy.sign)


def _term_limit(term, eps):
    """Limit of one product term: step-like factors by continuity of their argument, the rest by SymPy."""
    steps = [f for f in sympy.Mul.make_args(term) if isinstance(f, _STEP_LIKE)]
    rest = sympy.Mul(*[f for f in sympy.Mul.make_args(term) if not isinstance(f, _STEP_LIKE)])
    if any(f.has(_STEP_LIKE) for f in sympy.Mul.make_args(rest)):
        raise DerivationError(f"cannot take the limit {eps} -> 0 of {term}")
    out = sympy.limit(rest, eps, 0, "+") if rest.has(eps) else rest
    if out.has(sympy.oo, -sympy.oo, sympy.zoo, sympy.nan):
        raise DerivationError(f"{term} has no finite limit at {eps} -> 0")
    for f in steps:
        arg = f.args[0]
        a0 = sympy.limit(arg, eps, 0, "+") if arg.has(eps) else arg
        if a0.has(sympy.oo, -sympy.oo, sympy.zoo, sympy.nan):
            raise DerivationError(f"argument of {f} has no finite limit at {eps} -> 0")
        out *= f.func(a0)
    return out


def leading_coefficient(expr, eps, power):
    """``lim_{eps -> 0+} eps**power * expr``, taking limits inside Gaussian averages.

    Dominated convergence lets the limit pass under ``int Dz`` once the
    asymptotic rules have removed the functions whose argument diverges;
    step-like factors (Heaviside, sign, Abs) converge almost everywhere by
    continuity of their arguments. Raises :class:`DerivationError` if a term
    diverges faster than ``eps**-power`` or SymPy cannot take a limit.
    """
    expr = sympy.expand(as_expr(expr))
    out = S.Zero
    for term in sympy.Add.make_args(expr):
        coeff, avg = term.as_independent(GaussianAverage, as_Add=False)
        if isinstance(avg, GaussianAverage):
            inner = sympy.expand(coeff * eps**power * avg.integrand)
            value = sum((_term_limit(t, eps) for t in sympy.Add.make_args(inner)), S.Zero)
            out += GaussianAverage(sympy.expand(value), avg.variable)
        elif avg.has(GaussianAverage):
            raise DerivationError(f"cannot take the limit of a product of averages: {term}")
        else:
            out += _term_limit(sympy.expand(term * eps**power), eps)
    return out


def gaussian_average_closed_form(average: GaussianAverage):
    """Closed form of ``int Dz`` of a piecewise polynomial, or the average unchanged.

    Handles sums of terms ``P(z)`` and ``Heaviside(a + b z) P(z)`` (``b``
    not containing ``z``, of known sign) with polynomials ``P``; ``Abs(a + b z)``
    is first written as ``(a + b z)(2 Heaviside(a + b z) - 1)`` and
    ``sign(x)`` as ``2 Heaviside(x) - 1``. Done once at derivation time by
    integrating the Gaussian density (SymPy ``integrate``); used to turn the
    q -> 1 and T -> 0 limits of a free energy into closed forms.
    """
    z = average.variable
    integrand = average.integrand.replace(
        lambda e: isinstance(e, sympy.Abs) and e.args[0].has(z),
        lambda e: e.args[0] * (2 * Heaviside(e.args[0]) - 1))
    integrand = integrand.replace(lambda e: isinstance(e, sympy.sign) and e.args[0].has(z),
                                  lambda e: 2 * Heaviside(e.args[0]) - 1)
    value = S.Zero
    for term in sympy.Add.make_args(sympy.expand(integrand)):
        steps = [f for f in term.atoms(Heaviside) if f.has(z)]
        if not steps:
            if not term.is_polynomial(z):
                return average
            value += _moments(sympy.Poly(term, z), None, 0)
            continue
        if len(steps) != 1:
            return average
        arg = steps[0].args[0]
        slope = sympy.diff(arg, z)
        rest = sympy.expand(term / steps[0])
        if slope.has(z) or rest.has(Heaviside) or not rest.is_polynomial(z):
            return average
        z0 = sympy.cancel(-arg.subs(z, 0) / slope)
        if slope.is_positive:
            value += _moments(sympy.Poly(rest, z), z0, +1)
        elif slope.is_negative:
            value += _moments(sympy.Poly(rest, z), z0, -1)
        else:
            return average
    return _shortest_tail_form(sympy.expand(value))


def _moments(poly, z0, side):
    """int Dz P(z) over the real line (side 0), over (z0, oo) (side +1) or (-oo, z0) (side -1).

    Exact recursion, no ``integrate``: with phi the Gaussian density,
    int_{z0}^oo z^n Dz = z0^(n-1) phi(z0) + (n-1) int_{z0}^oo z^(n-2) Dz,
    starting from H(z0) and phi(z0); full-line moments are (n-1)!! for even n.
    """
    out = S.Zero
    tail = {}
    for (n,), c in poly.terms():
        full = S.Zero if n % 2 else sympy.factorial2(n - 1)
        if side == 0:
            out += c * full
            continue
        for k in range(len(tail), n + 1):
            if k == 0:
                tail[0] = H(z0)
            elif k == 1:
                tail[1] = gaussian_density(z0)
            else:
                tail[k] = z0**(k - 1) * gaussian_density(z0) + (k - 1) * tail[k - 2]
        out += c * (tail[n] if side > 0 else full - tail[n])
    return out


def _shortest_tail_form(expr):
    """Choose between H(x) and 1 - H(-x) for the shorter expression (collected in H)."""
    flipped = sympy.expand(expr.replace(lambda e: isinstance(e, H), lambda e: 1 - H(-e.args[0])))
    forms = []
    for e in (expr, flipped):
        tails = sorted(e.atoms(H), key=sympy.default_sort_key)
        forms.append(sympy.collect(e, tails, func=sympy.factor) if tails else e)
    return min(forms, key=sympy.count_ops)


def drop_null_deltas(expr):
    """Integrate the DiracDelta terms inside Gaussian averages (the sifting property).

    Differentiating a piecewise integrand such as (k + t)^2 Heaviside(k + t) gives
    (k + t)^2 DiracDelta(k + t), and integrating by parts across a Heaviside leaves boundary
    terms of the same kind. Inside each average, the terms c(t) DiracDelta(a + b t) are
    collected per delta and replaced by c(t0) phi(t0)/|b| with t0 = -a/b (dropped when
    c(t0) = 0, the usual case), so that quadrature never meets a delta.
    """
    def clean(avg):
        z = avg.variable
        out = S.Zero
        weights = {}                       # delta -> the sum of the factors multiplying it
        for term in sympy.Add.make_args(sympy.expand(avg.integrand)):
            deltas = [f for f in term.atoms(sympy.DiracDelta) if f.has(z)]
            if not deltas:
                out += term
                continue
            weights[deltas[0]] = weights.get(deltas[0], S.Zero) + term.subs(deltas[0], 1)
        sifted = S.Zero
        for delta, rest in weights.items():
            arg = delta.args[0]
            slope = sympy.diff(arg, z)
            if len(delta.args) > 1 or slope.has(z) or slope == 0:
                raise DerivationError(f"cannot integrate {delta}: its argument is not linear in {z}")
            z0 = -arg.subs(z, 0) / slope
            value = sympy.simplify(rest.subs(z, z0))
            if value != 0:
                sifted += value * GaussPDF(z0) / sympy.Abs(slope)
        return (GaussianAverage(out, z) if out != 0 else S.Zero) + sifted

    expr = as_expr(expr)
    if not expr.has(sympy.DiracDelta):
        return expr
    return map_averages(expr, clean)
