"""Quadrature and compiled functions against mpmath references (40 digits), over the whole domain."""
import mpmath
import numpy as np
import pytest
import sympy

from replica.numeric import compile_mpmath, compile_numpy, hermite_rule, kink_rule
from replica.symbolic import GaussianAverage, GaussPDF, InvMills, LnH, LogTwoCosh, MillsGap

q, k, t, T, h, z = sympy.symbols("q kappa t T h z", real=True)


@pytest.mark.parametrize("z0", [-20.0, -12.5, -1.0, 0.0, 0.3, 2.0, 13.0, 30.0])
@pytest.mark.parametrize("width", [1.0, 1e-3, 1e-9])
def test_kink_rule_integrates_gaussian_moments(z0, width):
    nodes, weights = kink_rule(np.array(z0), np.array(width))
    for p, exact in [(0, 1.0), (2, 1.0), (4, 3.0), (6, 15.0)]:
        assert abs(np.sum(weights * nodes**p) - exact) < 1e-13 * exact
    assert np.all(weights >= 0)


def test_hermite_rule_is_normalised():
    x, w = hermite_rule()
    assert abs(w.sum() - 1) < 1e-14 and abs((w * x**2).sum() - 1) < 1e-13


GARDNER_AVG = GaussianAverage(LnH((k + sympy.sqrt(q) * t) / sympy.sqrt(1 - q)), t)


@pytest.mark.parametrize("qv", [1e-4, 0.3, 0.9, 0.999, 1 - 1e-6, 1 - 1e-10])
@pytest.mark.parametrize("kv", [-1.0, 0.0, 0.5, 2.0])
def test_gardner_average_and_derivative_match_mpmath(qv, kv):
    exprs = [GARDNER_AVG, sympy.diff(GARDNER_AVG, q)]
    got = compile_numpy(exprs, [q, k])(qv, kv)
    with mpmath.workdps(30):
        want = compile_mpmath(exprs, [q, k])(qv, kv)
    for g, w in zip(got, want):
        assert abs(g - float(w)) <= 1e-12 * abs(float(w))


SK_AVG = GaussianAverage(sympy.tanh((sympy.sqrt(q) * z + h) / T) ** 2, z)


@pytest.mark.parametrize("args", [(0.5, 1.0, 0.0), (0.98, 0.02, 0.0), (0.9, 0.001, 0.3), (0.0, 2.0, 0.0),
                                  (0.2, 0.5, 0.1), (0.99, 0.01, 1.0), (0.5, 1e-5, 3.0), (1e-8, 0.3, 0.0)])
def test_low_temperature_step_integrand(args):
    # NUMERICS.md: 200-node Gauss-Hermite gave q = 0.99999 instead of 0.98392 at T = 0.02
    got = compile_numpy(SK_AVG, [q, T, h])(*args)
    with mpmath.workdps(30):
        want = compile_mpmath(SK_AVG, [q, T, h])(*args)
    assert abs(got - float(want)) < 1e-13


def test_vectorised_equals_looped():
    f = compile_numpy([GARDNER_AVG, SK_AVG.subs({T: 0.3, h: 0.2})], [q, k])
    qs = np.linspace(0.01, 0.99, 17)
    ks = np.linspace(-1, 2, 17)
    vec = f(qs, ks)
    for i, (a, b) in enumerate(zip(qs, ks)):
        one = f(a, b)
        assert one[0] == pytest.approx(vec[0][i], rel=1e-15, abs=1e-15)
        assert one[1] == pytest.approx(vec[1][i], rel=1e-15, abs=1e-15)


def test_log_two_cosh_does_not_overflow():
    f = compile_numpy(GaussianAverage(LogTwoCosh((sympy.sqrt(q) * z + h) / T), z), [q, T, h])
    v = f(0.999, 1e-6, 0.0)
    assert np.isfinite(v) and abs(v * 1e-6 - np.sqrt(0.999 * 2 / np.pi)) < 1e-9


def _mp_average(f, z0, width, dps=30):
    """int Dz f(z) by mpmath tanh-sinh with breakpoints at z0 + c width (c from -100 to 100): an
    independent reference for transitions of any width."""
    with mpmath.workdps(dps):
        z0, width = mpmath.mpf(z0), mpmath.mpf(width)
        pts = {z0 + c * width for c in (-100, -30, -10, -3, -1, 0, 1, 3, 10, 30, 100)}
        pts |= {mpmath.mpf(c) for c in (-8, -4, -2, 0, 2, 4, 8)}
        return mpmath.quad(lambda t: f(t) * mpmath.npdf(t), [-mpmath.inf] + sorted(pts) + [mpmath.inf])


GARDNER_EQ = GaussianAverage(InvMills((k + sympy.sqrt(q) * t) / sympy.sqrt(1 - q))
                             * MillsGap((k + sympy.sqrt(q) * t) / sympy.sqrt(1 - q)), t)


@pytest.mark.parametrize("qv", [0.9999, 1 - 1e-8, 1 - 1e-11])
@pytest.mark.parametrize("kv", [-1.0, 0.0, 1.0])
def test_graded_rule_keeps_machine_precision_as_q_goes_to_one(qv, kv):
    # the average in Gardner's saddle-point equation; with ten geometric panels a side whatever
    # the width (the rule before 2026-12-04) it was off by 3e-12 at q = 1 - 1e-8
    got = compile_numpy(GARDNER_EQ, [q, k])(qv, kv)

    def f(tt):
        u = (kv + mpmath.sqrt(mpmath.mpf(qv)) * tt) / mpmath.sqrt(1 - mpmath.mpf(qv))
        g = mpmath.npdf(u) / (mpmath.erfc(u / mpmath.sqrt(2)) / 2)
        return g * (g - u)

    want = _mp_average(f, -kv / np.sqrt(qv), np.sqrt(1 - qv) / np.sqrt(qv))
    assert abs(got - float(want)) <= 4e-16 * abs(float(want)) + 1e-17


def test_graded_rule_resolves_a_narrow_gaussian_bump_next_to_a_step():
    # the shape of the max-margin teacher-student integrand at alpha = 300: t^2 GaussPDF(t/w)/w, a
    # bump of width w = 0.0052 at 0, times a step at -kappa = -0.0033; the rule before 2026-12-04
    # (geometric panels from w/100, the step's half graded on the step's scale 1) missed it by 1e-9
    W = sympy.Symbol("W", positive=True)
    expr = GaussianAverage(t**2 * GaussPDF(t / W) * sympy.Heaviside(k + t), t) / W
    wv, kv = 0.0052409793973959, 0.0033481726584747517
    got = compile_numpy(expr, [W, k])(wv, kv)
    with mpmath.workdps(30):
        # closed form: phi(t) phi(t/w) = exp(-t^2/(2 s^2))/(2 pi), s^2 = w^2/(1 + w^2), and
        # int_x^oo u^2 phi(u) du = x phi(x) + H(x)
        wm, km = mpmath.mpf(wv), mpmath.mpf(kv)
        sm = wm / mpmath.sqrt(1 + wm**2)
        x = -km / sm
        want = sm**3 * mpmath.sqrt(2 * mpmath.pi) * (x * mpmath.npdf(x) + mpmath.ncdf(-x)) / (2 * mpmath.pi * wm)
    assert abs(got - float(want)) <= 2e-15 * abs(float(want))
