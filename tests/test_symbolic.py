"""The symbolic layer against independent numbers (mpmath at 30+ digits, finite differences)."""
import mpmath
import numpy as np
import pytest
import sympy

from replica.numeric import compile_mpmath, compile_numpy
from replica.symbolic import (H, GaussianAverage, InvMills, LnH, LogTwoCosh, MillsGap, SpinEntropy,
                              apply_asymptotic_rules,
                              collect_averages, gaussian_average_closed_form, kinks, leading_coefficient,
                              lnH_leading, stein, stein_all)

x, z, q, a, b = sympy.symbols("x z q a b", real=True)
mpmath.mp.dps = 40


def mp_H(v):
    return mpmath.erfc(mpmath.mpf(v) / mpmath.sqrt(2)) / 2


@pytest.mark.parametrize("fn", [H, LnH, InvMills, LogTwoCosh, MillsGap, SpinEntropy])
@pytest.mark.parametrize("v", ["-3.5", "-0.2", "0.7", "6"])
def test_derivatives_match_mpmath_numerical_derivative(fn, v):
    exact = {H: mp_H, LnH: lambda t: mpmath.log(mp_H(t)), InvMills: lambda t: mpmath.npdf(t) / mp_H(t),
             LogTwoCosh: lambda t: mpmath.log(2 * mpmath.cosh(t)),
             MillsGap: lambda t: mpmath.npdf(t) / mp_H(t) - t,
             SpinEntropy: lambda t: mpmath.log(2 * mpmath.cosh(t)) - t * mpmath.tanh(t)}[fn]
    d = compile_mpmath(sympy.diff(fn(x), x), [x])
    assert abs(d(mpmath.mpf(v)) - mpmath.diff(exact, mpmath.mpf(v))) < mpmath.mpf(10) ** -30


@pytest.mark.parametrize("v", [-40.0, -5.0, 0.0, 3.0, 30.0, 300.0, 3000.0])
def test_numpy_functions_are_stable_in_the_tails(v):
    f = compile_numpy([LnH(x), InvMills(x), LogTwoCosh(x), H(x), MillsGap(x), SpinEntropy(x)], [x])
    vals = f(v)
    vm = mpmath.mpf(v)
    ref = [mpmath.log(mp_H(v)), mpmath.npdf(v) / mp_H(v), abs(vm) + mpmath.log1p(mpmath.exp(-2 * abs(vm))), mp_H(v),
           mpmath.npdf(v) / mp_H(v) - vm, mpmath.log(2 * mpmath.cosh(vm)) - vm * mpmath.tanh(vm)]
    for got, want in zip(vals, ref):
        assert np.isfinite(got)
        assert abs(got - float(want)) <= 1e-14 * max(1.0, abs(float(want))) or \
            (abs(float(want)) < 1e-300 and abs(got) < 1e-300)


def test_lnH_asymptotic_rule_is_the_leading_term():
    # ln H(u) + u^2/2 + ln(u sqrt(2 pi)) -> 0 for u -> +oo: the rule keeps -u^2/2
    for u in [10, 100, 1000]:
        rest = mpmath.log(mp_H(u)) + mpmath.mpf(u) ** 2 / 2 + mpmath.log(u * mpmath.sqrt(2 * mpmath.pi))
        assert abs(rest) < 1.1 / u**2
    assert lnH_leading(x).subs(x, 3) == sympy.Rational(-9, 2)
    assert lnH_leading(x).subs(x, -3) == 0
    # ln H(u) -> 0 for u -> -oo
    assert abs(mpmath.log(mp_H(-10))) < 1e-22


def test_sympy_cannot_take_this_limit_but_the_rule_can():
    # NUMERICS.md: SymPy's limit(log(erfc(x)) + x**2, x, oo) is wrong (oo instead of -oo);
    # the package's rule gives the right leading coefficient of 1/eps.
    eps = sympy.Symbol("eps", positive=True)
    expr = LnH(1 / sympy.sqrt(eps))
    lead = leading_coefficient(apply_asymptotic_rules(expr), eps, 1)
    assert lead == sympy.Rational(-1, 2)


def test_stein_rewrite_is_an_identity():
    avg = GaussianAverage(z * sympy.tanh(a * z + b) + z**2 * sympy.exp(-z**2 / 4) + z, z)
    rewritten = stein(avg)
    v1, v2 = compile_mpmath([avg, rewritten], [a, b])(mpmath.mpf("0.7"), mpmath.mpf("0.3"))
    assert abs(v1 - v2) < mpmath.mpf(10) ** -25


def test_stein_removes_the_q_to_zero_singularity_of_sk():
    T, h = sympy.symbols("T h", positive=True)
    F = -(1 - q)**2 / (4 * T) - T * GaussianAverage(LogTwoCosh((sympy.sqrt(q) * z + h) / T), z)
    eq = stein_all(2 * T * sympy.diff(F, q))
    # the textbook equation: q = int Dz tanh^2(beta (sqrt(q) z + h))
    target = GaussianAverage(sympy.tanh(h / T + sympy.sqrt(q) * z / T) ** 2, z) - q
    assert sympy.simplify(eq - target) == 0


def test_kinks_found_with_width():
    k = sympy.Symbol("kappa", real=True)
    found = kinks(LnH((k + sympy.sqrt(q) * z) / sympy.sqrt(1 - q)), z)
    assert len(found) == 1
    z0, width = found[0]
    assert sympy.simplify(z0 + k / sympy.sqrt(q)) == 0
    assert abs(float(width.subs({q: 0.99})) - float(sympy.sqrt(0.01) / sympy.sqrt(0.99))) < 1e-14


def test_closed_form_gaussian_average_matches_quadrature():
    k = sympy.Symbol("kappa", real=True)
    avg = GaussianAverage(sympy.Heaviside(z + k) * (z + k) ** 2, z)
    closed = gaussian_average_closed_form(avg)
    assert not closed.has(GaussianAverage)
    f = compile_mpmath(closed, [k])
    for kv in ["-1.5", "0", "0.5", "2"]:
        kk = mpmath.mpf(kv)
        ref = mpmath.quad(lambda t: (t + kk) ** 2 * mpmath.npdf(t), [-kk, mpmath.inf])
        assert abs(f(kk) - ref) < mpmath.mpf(10) ** -30


def test_collect_averages_merges_equal_integrands():
    e = a * GaussianAverage(sympy.tanh(z), z) + b * GaussianAverage(sympy.tanh(z), z) + 1
    out = collect_averages(e)
    assert len(out.atoms(GaussianAverage)) == 1
    assert sympy.simplify(out - ((a + b) * GaussianAverage(sympy.tanh(z), z) + 1)) == 0


def test_average_differentiates_under_the_integral():
    avg = GaussianAverage(sympy.tanh(a * z) ** 2, z)
    d = sympy.diff(avg, a)
    assert isinstance(d, GaussianAverage)
    f, fd = compile_numpy(avg, [a]), compile_numpy(d, [a])
    h = 1e-6
    assert abs((f(0.8 + h) - f(0.8 - h)) / (2 * h) - fd(0.8)) < 1e-8


def test_latex_uses_field_notation():
    from replica.latex import latex
    assert r"\int Dz" in latex(GaussianAverage(LnH(z + a), z))
    assert r"\ln H" in latex(LnH(a)) and r"H\left(" in latex(H(a))
    assert latex(InvMills(a) ** 2).count("H") == 1
