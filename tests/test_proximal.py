"""The library of losses and regularizers: closed-form proximal maps and Moreau envelopes against
direct numerical minimisation of the Moreau objective f(u) + (x - u)^2/(2t)."""
import mpmath
import pytest
import sympy

from replica import proximal
from replica.errors import ParameterError
from replica.numeric import compile_mpmath, compile_numpy

X, T = sympy.Symbol("x", real=True), sympy.Symbol("t", positive=True)

CLOSED = [proximal.square(), proximal.absolute(), proximal.huber(sympy.Rational(7, 10)),
          proximal.quantile(sympy.Rational(3, 10)), proximal.l1(sympy.Rational(1, 2)), proximal.l2(2),
          proximal.elastic_net(sympy.Rational(1, 2), sympy.Rational(3, 2)), proximal.zero()]
POINTS = [(x, t) for x in (-3.1, -0.9, -0.2, 0.0, 0.15, 0.6, 1.3, 4.0) for t in (0.3, 1.0, 2.5)]


@pytest.mark.parametrize("pen", CLOSED, ids=lambda p: p.name)
def test_closed_form_prox_and_envelope_equal_direct_minimisation(pen):
    assert pen.closed_form
    prox = compile_numpy(pen.prox(X, T), [X, T])
    env = compile_numpy(pen.envelope(X, T), [X, T])
    for x, t in POINTS:
        p_num, m_num = proximal.prox_numeric(pen, x, t)
        assert float(prox(x, t)) == pytest.approx(p_num, abs=1e-7)
        assert float(env(x, t)) == pytest.approx(m_num, abs=1e-9)


@pytest.mark.parametrize("pen", CLOSED, ids=lambda p: p.name)
def test_envelope_derivatives_are_the_moreau_identities(pen):
    # dM/dx = (x - p)/t and dM/dt = -(x - p)^2/(2 t^2), by finite differences of the closed form
    env = compile_numpy(pen.envelope(X, T), [X, T])
    prox = compile_numpy(pen.prox(X, T), [X, T])
    h = 1e-6
    for x, t in POINTS:
        p = float(prox(x, t))
        dx = (float(env(x + h, t)) - float(env(x - h, t))) / (2 * h)
        dt = (float(env(x, t + h)) - float(env(x, t - h))) / (2 * h)
        # O(h) differences where a point sits on a kink of the second derivative (l1 at x = t lam)
        assert dx == pytest.approx((x - p) / t, abs=2e-6)
        assert dt == pytest.approx(-(x - p)**2 / (2 * t * t), abs=2e-6)


def test_numeric_prox_of_logcosh_equals_direct_minimisation_and_closed_forms_where_both_exist():
    pen = proximal.logcosh()
    assert not pen.closed_form
    prox = compile_numpy(pen.prox(X, T), [X, T])
    env = compile_numpy(pen.envelope(X, T), [X, T])
    for x, t in POINTS:
        p_num, m_num = proximal.prox_numeric(pen, x, t)
        assert float(prox(x, t)) == pytest.approx(p_num, abs=1e-7)
        assert float(env(x, t)) == pytest.approx(m_num, abs=1e-10)
    # the numeric machinery on functions that do have a closed form: square and l2
    for closed, numeric in ((proximal.square(), proximal.numeric_penalty("sq", proximal.U**2 / 2)),
                            (proximal.l2(2), proximal.numeric_penalty("l2num", proximal.U**2))):
        a = compile_numpy(closed.envelope(X, T), [X, T])
        b = compile_numpy(numeric.envelope(X, T), [X, T])
        for x, t in POINTS:
            assert float(b(x, t)) == pytest.approx(float(a(x, t)), rel=1e-14, abs=1e-15)


def test_numeric_prox_derivatives_and_mpmath_precision():
    pen = proximal.logcosh()
    p = pen.prox(X, T)
    fn = compile_numpy([p, sympy.diff(p, X), sympy.diff(p, T)], [X, T])
    h = 1e-6
    for x, t in [(0.7, 0.4), (-2.0, 1.5), (5.0, 3.0)]:
        v, dx, dt = (float(a) for a in fn(x, t))
        assert dx == pytest.approx((float(fn(x + h, t)[0]) - float(fn(x - h, t)[0])) / (2 * h), abs=1e-8)
        assert dt == pytest.approx((float(fn(x, t + h)[0]) - float(fn(x, t - h)[0])) / (2 * h), abs=1e-8)
    mp = compile_mpmath(p, [X, T])
    with mpmath.workdps(40):
        u = mp(mpmath.mpf("0.7"), mpmath.mpf("0.4"))
        # optimality: u + t tanh(u) = x, to 35 digits
        assert abs(u + mpmath.mpf("0.4") * mpmath.tanh(u) - mpmath.mpf("0.7")) < mpmath.mpf(10)**-35


def test_user_penalty_checks():
    with pytest.raises(ParameterError, match="not convex"):
        proximal.numeric_penalty("bad", -proximal.U**2)
    # capped l1: f'' = 0 wherever it exists, the concave kinks at |u| = 1 make it non-convex
    with pytest.raises(ParameterError, match=r"not convex \(near u = -?1"):
        proximal.numeric_penalty("capped", sympy.Min(sympy.Abs(proximal.U), 1))
    with pytest.raises(ParameterError, match="not twice differentiable"):
        proximal.numeric_penalty("kinked", sympy.Abs(proximal.U) + proximal.U**2)
    with pytest.raises(ParameterError, match="free symbols"):
        proximal.numeric_penalty("bad", sympy.Symbol("a") * proximal.U**2)
    with pytest.raises(TypeError):
        proximal.numeric_penalty("bad", "u**2")       # strings are never parsed
    pen = proximal.numeric_penalty("quartic", proximal.U**4 / 4 + proximal.U**2 / 2)
    prox = compile_numpy(pen.prox(X, T), [X, T])
    for x, t in POINTS:
        assert float(prox(x, t)) == pytest.approx(proximal.prox_numeric(pen, x, t)[0], abs=1e-7)


def test_whitelisted_parser_builds_expressions_and_refuses_everything_else():
    U = proximal.U
    assert proximal.parse_penalty_text("log(cosh(u)) + 0.1*u^2") == sympy.log(sympy.cosh(U)) + U**2 / 10
    assert proximal.parse_penalty_text("-(u**2) + 3*abs(u)/2") == -U**2 + 3 * sympy.Abs(U) / 2
    assert proximal.parse_penalty_text("2^-3 * sqrt(1 + u^2)") == sympy.sqrt(1 + U**2) / 8
    for bad in ['__import__("os").system("true")', "u.real", "u^u", "9^99", "foo(u)", "u)", "(u", "lambda: 1",
                "u;1", "exp(u, 1)", "1e99999", "u" * 300]:
        with pytest.raises(ParameterError):
            proximal.parse_penalty_text(bad)
    pen = proximal.parse_penalty("pseudo_huber", "sqrt(1 + u^2) - 1")
    prox = compile_numpy(pen.prox(X, T), [X, T])
    assert float(prox(2.0, 1.0)) == pytest.approx(proximal.prox_numeric(pen, 2.0, 1.0)[0], abs=1e-8)
    with pytest.raises(ParameterError, match="not convex"):
        proximal.parse_penalty("bad", "log(1 + u^2)")
