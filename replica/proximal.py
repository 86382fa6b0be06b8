"""Losses and regularizers with their proximal maps and Moreau envelopes.

For a convex function f and a step t > 0,

    prox_{t f}(x) = argmin_u [ f(u) + (x - u)^2 / (2 t) ],
    M_f(x; t)     = min_u    [ f(u) + (x - u)^2 / (2 t) ]       (the Moreau envelope),

and dM/dx = (x - prox)/t, dM/dt = -(x - prox)^2/(2 t^2) (Moreau; Parikh & Boyd,
"Proximal Algorithms", Found. Trends Optim. 1, 127 (2014), sec. 3.1 and 6).

Each :class:`Penalty` holds the function as a SymPy expression in the symbol
:data:`U` and its envelope as a SymPy expression in ``(x, t)``:

* in closed form where one exists (square, absolute, huber, quantile, l1, l2,
  elastic-net, zero). The piecewise envelopes are written with
  ``RampSq(y) = max(y, 0)^2`` of arguments linear in ``x`` (so that the package's
  quadrature finds their kinks); e.g. for f = c+ u^+ + c- u^- (absolute, quantile, l1)
  ``M = x^2/(2t) - [RampSq(x - t c+) + RampSq(-x - t c-)]/(2t)``;
* otherwise (logcosh, a user's own function) through :class:`NumericProx`, a
  SymPy function whose value is computed numerically (safeguarded Newton in
  numpy, to full precision in mpmath) and whose derivatives are exact:
  ``dp/dx = 1/(1 + t f''(p))``, ``dp/dt = -f'(p)/(1 + t f''(p))``.

:func:`prox_numeric` minimises the Moreau objective directly (bracketed
bisection on the optimality condition, no closed form involved); the tests
check every closed form against it.

A user's own penalty: a SymPy expression through :func:`numeric_penalty` (Python API), or text
through :func:`parse_penalty`, a whitelisted recursive-descent parser (never ``eval`` or
``sympify``) meant for the command line.
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass

import mpmath
import numpy as np
import sympy
from sympy import Heaviside, S

from .errors import ParameterError
from .symbolic import as_expr

#: the argument of a loss or regularizer
U = sympy.Symbol("u", real=True)
_X = sympy.Symbol("x", real=True)
_T = sympy.Symbol("t", positive=True)


@dataclass(frozen=True)
class Penalty:
    """A convex function f(u) (``expr`` in :data:`U`) with its Moreau envelope ``envelope(x, t)``.

    ``closed_form`` says whether the envelope is an exact expression (else it is built on
    :class:`NumericProx`)."""

    name: str
    expr: sympy.Expr
    envelope_fn: object
    closed_form: bool

    def envelope(self, x, t):
        """M_f(x; t) as a SymPy expression."""
        return self.envelope_fn(as_expr(x), as_expr(t))

    def prox(self, x, t):
        """prox_{t f}(x) = x - t dM/dx, as a SymPy expression."""
        x, t = as_expr(x), as_expr(t)
        return x - t * sympy.diff(self.envelope(_X, _T), _X).subs({_X: x, _T: t})

    def value_at_prox(self, x, t):
        """f(prox_{t f}(x)) = M - t (dM/dx)^2 / 2 (the loss at the minimiser)."""
        x, t = as_expr(x), as_expr(t)
        M = self.envelope(_X, _T)
        return (M - _T * sympy.diff(M, _X)**2 / 2).subs({_X: x, _T: t})


class _Kinked(Heaviside):
    """Base of the piecewise building blocks of the envelopes. A subclass of Heaviside only so
    that the package's quadrature (:func:`replica.symbolic.kinks`) finds the kink at arg = 0."""

    def __new__(cls, arg, **options):
        return sympy.Function.__new__(cls, as_expr(arg), **options)     # as_expr refuses strings

    @classmethod
    def eval(cls, arg):
        if arg.is_number and arg.is_real and arg.is_comparable:
            return cls._number(arg)
        return None

    @property
    def pargs(self):
        return self.args

    def _latex(self, printer, exp=None):
        tex = self._tex % printer._print(self.args[0])
        return tex if exp is None else r"\left[%s\right]^{%s}" % (tex, exp)


class Step(_Kinked):
    """The unit step theta(y) (1/2 at 0); its derivative is DiracDelta(y)."""

    _tex = r"\theta\left(%s\right)"

    @staticmethod
    def _number(y):
        return S.One if y > 0 else (S.Zero if y < 0 else S.Half)

    def fdiff(self, argindex=1):
        return sympy.DiracDelta(self.args[0])

    @staticmethod
    def _imp_(y):
        if isinstance(y, mpmath.mpf):
            return mpmath.mpf(1) if y > 0 else (mpmath.mpf(0) if y < 0 else mpmath.mpf(1) / 2)
        return np.heaviside(y, 0.5)


class Ramp(_Kinked):
    """The positive part max(y, 0); its derivative is :class:`Step`."""

    _tex = r"\left(%s\right)_{+}"

    @staticmethod
    def _number(y):
        return y if y > 0 else S.Zero

    def fdiff(self, argindex=1):
        return Step(self.args[0])

    @staticmethod
    def _imp_(y):
        if isinstance(y, mpmath.mpf):
            return y if y > 0 else mpmath.mpf(0)
        return np.maximum(y, 0.0)


class RampSq(_Kinked):
    """max(y, 0)^2 as one function (so that expanding never splits it); derivative 2 Ramp(y).
    Envelopes of piecewise-linear pieces are C^1: their first derivatives hold Ramp, their second
    derivatives Step, and no delta function ever appears in the equations or their Jacobian."""

    _tex = r"\left(%s\right)_{+}^{2}"

    @staticmethod
    def _number(y):
        return y**2 if y > 0 else S.Zero

    def fdiff(self, argindex=1):
        return 2 * Ramp(self.args[0])

    @staticmethod
    def _imp_(y):
        if isinstance(y, mpmath.mpf):
            return y * y if y > 0 else mpmath.mpf(0)
        return np.square(np.maximum(y, 0.0))


def _two_sided(x, t, cp, cm, shrink=S.One):
    """Envelope of cp u^+ + cm u^- (+ a quadratic folded into ``shrink``, see elastic-net)."""
    a, b = t * cp, t * cm
    return x**2 / (2 * t) - (RampSq(x - a) + RampSq(-x - b)) / (2 * t * shrink)


# ---------------------------------------------------------------------------
# the library (constructors take SymPy symbols or numbers for their parameters)
# ---------------------------------------------------------------------------
def square():
    return Penalty("square", U**2 / 2, lambda x, t: x**2 / (2 * (1 + t)), True)


def absolute():
    return Penalty("absolute", sympy.Abs(U), lambda x, t: _two_sided(x, t, 1, 1), True)


def huber(delta):
    """u^2/2 for |u| <= delta, delta |u| - delta^2/2 beyond."""
    f = sympy.Piecewise((U**2 / 2, sympy.Abs(U) <= delta), (delta * sympy.Abs(U) - delta**2 / 2, True))

    def env(x, t):
        c = delta * (1 + t)
        return (x**2 - RampSq(x - c) - RampSq(-x - c)) / (2 * (1 + t))
    return Penalty("huber", f, env, True)


def quantile(tau):
    """The pinball loss tau u^+ + (1 - tau) u^-."""
    f = tau * sympy.Max(U, 0) + (1 - tau) * sympy.Max(-U, 0)
    return Penalty("quantile", f, lambda x, t: _two_sided(x, t, tau, 1 - tau), True)


def l1(lam):
    return Penalty("l1", lam * sympy.Abs(U), lambda x, t: _two_sided(x, t, lam, lam), True)


def l2(lam):
    return Penalty("l2", lam * U**2 / 2, lambda x, t: lam * x**2 / (2 * (1 + lam * t)), True)


def elastic_net(lam1, lam2):
    """lam1 |u| + lam2 u^2/2: prox = soft(x, t lam1)/(1 + t lam2)."""
    return Penalty("elastic-net", lam1 * sympy.Abs(U) + lam2 * U**2 / 2,
                   lambda x, t: _two_sided(x, t, lam1, lam1, 1 + lam2 * t), True)


def zero():
    return Penalty("zero", S.Zero, lambda x, t: S.Zero, True)


def logcosh():
    return numeric_penalty("logcosh", sympy.log(sympy.cosh(U)))


# ---------------------------------------------------------------------------
# proximal maps without a closed form
# ---------------------------------------------------------------------------
class NumericProx(sympy.Function):
    """prox_{t f}(x) computed numerically; subclasses (one per f) are made by :func:`numeric_penalty`."""

    nargs = 2
    _f = None

    def fdiff(self, argindex=1):
        x, t = self.args
        d1 = sympy.diff(self._f, U).subs(U, self)
        d2 = sympy.diff(self._f, U, 2).subs(U, self)
        if argindex == 1:
            return 1 / (1 + t * d2)
        return -d1 / (1 + t * d2)

    def _latex(self, printer, exp=None):
        tex = r"\mathrm{prox}_{%s\,%s}\left(%s\right)" % (printer._print(self.args[1]), self._fname,
                                                          printer._print(self.args[0]))
        return tex if exp is None else r"\left[%s\right]^{%s}" % (tex, exp)


def _solve_prox_numpy(d1, d2, x, t, iters=200):
    """Root of g(u) = u + t f'(u) - x (increasing) by Newton safeguarded with a bracket.

    Convexity brackets the root: it lies between x and x - t f'(x)."""
    x, t = np.broadcast_arrays(np.asarray(x, dtype=float), np.asarray(t, dtype=float))
    with np.errstate(all="ignore"):
        g0 = t * d1(x)
        lo = np.where(g0 > 0, x - g0, x)
        hi = np.where(g0 > 0, x, x - g0)
        u = (lo + hi) / 2
        for _ in range(iters):
            g = u + t * d1(u) - x
            lo = np.where(g < 0, u, lo)
            hi = np.where(g > 0, u, hi)
            un = u - g / (1 + t * d2(u))
            bad = ~((un > lo) & (un < hi))
            un = np.where(bad, (lo + hi) / 2, un)
            if np.all(np.abs(un - u) <= 1e-16 * (1 + np.abs(u))):
                u = un
                break
            u = un
    return u


def _solve_prox_mpmath(d1, d2, x, t):
    x, t = mpmath.mpf(x), mpmath.mpf(t)
    g0 = t * d1(x)
    lo, hi = (x - g0, x) if g0 > 0 else (x, x - g0)
    u = (lo + hi) / 2
    eps = mpmath.mpf(10)**(-mpmath.mp.dps - 3)
    for _ in range(10 * mpmath.mp.dps + 200):
        g = u + t * d1(u) - x
        if g == 0:
            return u
        if g < 0:
            lo = u
        else:
            hi = u
        un = u - g / (1 + t * d2(u))
        if not (lo < un < hi):
            un = (lo + hi) / 2
        if abs(un - u) <= eps * (1 + abs(u)):
            return un
        u = un
    return u


@functools.lru_cache(maxsize=None)
def _numeric_prox_class(name: str, f: sympy.Expr):
    d1n = sympy.lambdify(U, sympy.diff(f, U), "numpy")
    d2n = sympy.lambdify(U, sympy.diff(f, U, 2), "numpy")
    d1m = sympy.lambdify(U, sympy.diff(f, U), "mpmath")
    d2m = sympy.lambdify(U, sympy.diff(f, U, 2), "mpmath")

    def imp(x, t):
        if isinstance(x, mpmath.mpf) or isinstance(t, mpmath.mpf):
            return _solve_prox_mpmath(d1m, d2m, x, t)
        return _solve_prox_numpy(d1n, d2n, x, t)

    cls_name = "Prox_" + "".join(c if c.isalnum() else "_" for c in name)
    return type(cls_name, (NumericProx,), {"_f": f, "_fname": name.replace("_", r"\_"),
                                           "_imp_": staticmethod(imp)})


def numeric_penalty(name: str, f) -> Penalty:
    """A penalty whose proximal map is computed numerically (``f`` a SymPy expression in :data:`U`).

    ``f`` must be twice differentiable and convex (checked on a grid: f'' >= 0)."""
    f = as_expr(f)
    if f.free_symbols - {U}:
        raise ParameterError(f"penalty {name!r}: f must be an expression in u only (numbers for its "
                             f"parameters), got free symbols {sorted(map(str, f.free_symbols - {U}))}")
    # delta functions of f'' (kinks) count as 0 here: the second differences below see them
    d2 = sympy.lambdify(U, sympy.diff(f, U, 2), [{"DiracDelta": lambda x, *a: np.zeros_like(x),
                                                  "Heaviside": lambda x, *a: np.heaviside(x, 0.5)}, "numpy"])
    grid = np.linspace(-20, 20, 4001)
    with np.errstate(all="ignore"):
        curv = np.broadcast_to(np.asarray(d2(grid), dtype=float), grid.shape)
    # f'' >= 0, and second differences >= 0 (which also sees a concave kink, where f'' is a delta)
    with np.errstate(all="ignore"):
        vals = np.broadcast_to(np.asarray(sympy.lambdify(U, f, "numpy")(grid), dtype=float), grid.shape)
    second = vals[:-2] - 2 * vals[1:-1] + vals[2:]
    tol = 1e-12 * (1 + np.abs(vals[1:-1]))
    bad = None
    if np.any(curv < -1e-12):
        bad = grid[np.argmax(curv < -1e-12)]
    elif np.any(second < -tol):
        bad = grid[1:-1][np.argmax(second < -tol)]
    if bad is not None:
        raise ParameterError(f"penalty {name!r}={f} is not convex (near u = {bad:g}); the replica "
                             "theory of M-estimation used here needs a convex loss and regularizer")
    if sympy.diff(f, U, 2).has(sympy.DiracDelta, sympy.Subs, sympy.Derivative):
        raise ParameterError(f"penalty {name!r}={f} is not twice differentiable (a kink); its proximal map "
                             "is computed by Newton's method here. Use a library penalty (absolute, huber, "
                             "quantile, l1, elastic-net) or a proximal.Penalty with a closed-form envelope")
    cls = _numeric_prox_class(name, f)

    def env(x, t):
        p = cls(x, t)
        return (x - p)**2 / (2 * t) + f.subs(U, p)
    return Penalty(name, f, env, False)


# ---------------------------------------------------------------------------
# direct numeric minimisation (the independent check of the closed forms)
# ---------------------------------------------------------------------------
def prox_numeric(penalty: Penalty, x, t, values=None):
    """(prox, envelope) by bisection on the optimality condition u + t f'(u) = x of the Moreau objective.

    ``values``: numbers for the parameter symbols in ``penalty.expr``. Works for kinks
    (the root of the monotone map u + t f'(u) - x sits at the jump)."""
    f = penalty.expr.subs(values or {})
    fn = sympy.lambdify(U, f, "numpy")
    df = sympy.lambdify(U, sympy.diff(f, U), [{"Heaviside": lambda v, h=0.5: np.heaviside(v, 0.5)}, "numpy"])
    x = float(x)
    t = float(t)

    def slope(u):      # the derivative, exact off kinks (never evaluated exactly on one in practice)
        return float(df(u))

    g0 = t * slope(x)
    lo, hi = (x - abs(g0) - 1, x + abs(g0) + 1)
    for _ in range(200):
        mid = (lo + hi) / 2
        if mid + t * slope(mid) - x > 0:
            hi = mid
        else:
            lo = mid
    p = (lo + hi) / 2
    return p, float(fn(p)) + (x - p)**2 / (2 * t)


LOSSES = ("square", "absolute", "huber", "quantile", "logcosh")
REGULARIZERS = ("zero", "l2", "l1", "elastic-net")


# ---------------------------------------------------------------------------
# a whitelisted parser for a user's penalty typed on the command line (never eval/sympify)
# ---------------------------------------------------------------------------
_TOKEN = re.compile(r"\s*(?:(?P<num>\d+(?:\.\d*)?(?:[eE][+-]?\d{1,3})?|\.\d+(?:[eE][+-]?\d{1,3})?)"
                    r"|(?P<name>[A-Za-z_]\w*)|(?P<op>\*\*|[-+*/^(),]))")
_FUNCTIONS = {"abs": (1, sympy.Abs), "exp": (1, sympy.exp), "log": (1, sympy.log), "sqrt": (1, sympy.sqrt),
              "cosh": (1, sympy.cosh), "sinh": (1, sympy.sinh), "tanh": (1, sympy.tanh),
              "max": (2, sympy.Max), "min": (2, sympy.Min)}
MAX_PENALTY_TEXT = 200
MAX_EXPONENT = 16


def parse_penalty_text(text: str) -> sympy.Expr:
    """A SymPy expression in :data:`U` from text such as ``"log(cosh(u)) + 0.1*u^2"``.

    Recursive descent over a fixed grammar: decimal numbers, the variable ``u``, ``pi``, the
    operators ``+ - * / ^ **`` and parentheses, and the functions abs, exp, log, sqrt, cosh,
    sinh, tanh, max, min. Exponents must be numbers of modulus <= 16. Nothing is evaluated by
    Python or ``sympify``; anything else is a :class:`ParameterError`."""
    if not isinstance(text, str):
        raise TypeError("parse_penalty_text expects a string")
    if len(text) > MAX_PENALTY_TEXT:
        raise ParameterError(f"penalty text longer than {MAX_PENALTY_TEXT} characters")
    tokens, pos = [], 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        m = _TOKEN.match(text, pos)
        if not m:
            raise ParameterError(f"penalty {text!r}: unexpected character at position {pos}: {text[pos:pos + 10]!r}")
        kind = m.lastgroup
        tokens.append((kind, m.group(kind)))
        pos = m.end()
    tokens.append(("end", ""))
    state = {"i": 0, "depth": 0}

    def peek():
        return tokens[state["i"]]

    def take(expected=None):
        tok = tokens[state["i"]]
        if expected is not None and tok[1] != expected:
            raise ParameterError(f"penalty {text!r}: expected {expected!r}, found {tok[1] or 'the end'!r}")
        state["i"] += 1
        return tok

    def expr():
        state["depth"] += 1
        if state["depth"] > 50:
            raise ParameterError(f"penalty {text!r}: nested too deeply")
        out = term()
        while peek()[1] in ("+", "-"):
            op = take()[1]
            rhs = term()
            out = out + rhs if op == "+" else out - rhs
        state["depth"] -= 1
        return out

    def term():
        out = unary()
        while peek()[1] in ("*", "/"):
            op = take()[1]
            rhs = unary()
            out = out * rhs if op == "*" else out / rhs
        return out

    def unary():
        if peek()[1] in ("+", "-"):
            op = take()[1]
            val = unary()
            return -val if op == "-" else val
        return power()

    def power():
        base = atom()
        if peek()[1] in ("^", "**"):
            take()
            sign = -1 if peek()[1] == "-" else 1
            if peek()[1] in ("+", "-"):
                take()
            kind, val = take()
            if kind != "num":
                raise ParameterError(f"penalty {text!r}: an exponent must be a number")
            e = sign * sympy.Rational(val)
            if abs(e) > MAX_EXPONENT:
                raise ParameterError(f"penalty {text!r}: exponent {e} is out of range; allowed |e| <= {MAX_EXPONENT}")
            return base**e
        return base

    def atom():
        kind, val = take()
        if kind == "num":
            return sympy.Rational(val)
        if val == "(":
            out = expr()
            take(")")
            return out
        if kind == "name":
            if val == "u":
                return U
            if val == "pi":
                return sympy.pi
            if val in _FUNCTIONS:
                nargs, fn = _FUNCTIONS[val]
                take("(")
                args = [expr()]
                while peek()[1] == ",":
                    take()
                    args.append(expr())
                take(")")
                if len(args) != nargs:
                    raise ParameterError(f"penalty {text!r}: {val} takes {nargs} argument(s)")
                return fn(*args)
            raise ParameterError(f"penalty {text!r}: unknown name {val!r}; allowed: u, pi, "
                                 + ", ".join(sorted(_FUNCTIONS)))
        raise ParameterError(f"penalty {text!r}: unexpected {val or 'end of text'!r}")

    out = expr()
    if peek()[0] != "end":
        raise ParameterError(f"penalty {text!r}: unexpected {peek()[1]!r} after a complete expression")
    return out


def parse_penalty(name: str, text: str) -> Penalty:
    """A user's penalty from command-line text (whitelisted parser; numeric prox; convexity checked)."""
    return numeric_penalty(name, parse_penalty_text(text))
