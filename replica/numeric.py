"""The numeric layer: compile SymPy expressions with Gaussian averages to numpy and mpmath.

Gaussian averages are never given to ``lambdify`` (that would call ``quad``
over the real line and fail, see ../shared/NUMERICS.md). Each average is
replaced by the package's own quadrature:

* smooth integrand: Gauss-Hermite (probabilists') with ``GH_NODES`` nodes;
* integrand with a kink or a steep transition at ``z0`` (detected by
  :func:`replica.symbolic.kinks`, e.g. ``ln H((k + sqrt(q) z)/sqrt(1-q))``
  or ``tanh(beta (sqrt(q) z + h))``): Gauss-Legendre on panels graded
  geometrically towards ``z0`` on both sides, the finest panel scaled to the
  transition width, so that q -> 1 and T -> 0 keep full precision;
* mpmath backend: ``mpmath.quad`` (tanh-sinh) with ``z0`` as a breakpoint.

Compiled functions broadcast over their arguments: a whole sweep is one call.
"""
from __future__ import annotations

import functools

import mpmath
import numpy as np
import scipy.special as sc
import sympy

from .symbolic import as_expr, averages, kinks

GH_NODES = 80
#: transitions of one integrand resolved at once (by splitting the line between them)
MAX_KINKS = 2
#: the Gaussian weight beyond |z| = Z_MAX is below 1e-38: outside double precision
Z_MAX = 13.0
PANEL_NODES = 10        # Gauss-Legendre nodes a panel
#: base panels for the Gaussian weight (edges in z); the panel holding a kink is split there
BASE_EDGES = (-Z_MAX, -8.0, -6.0, -4.5, -3.0, -2.0, -1.0, 0.0, 1.0, 2.0, 3.0, 4.5, 6.0, 8.0, Z_MAX)


def _log_two_cosh(x):
    return np.logaddexp(x, -x)


def _spin_entropy(x):
    a = np.abs(np.asarray(x, dtype=float))
    with np.errstate(over="ignore"):
        return np.log1p(np.exp(-2 * a)) + 2 * a / (1 + np.exp(2 * a))


def _inv_mills(x):
    return np.sqrt(2.0 / np.pi) / sc.erfcx(x / np.sqrt(2.0))


MILLS_GAP_SWITCH = 5.0   # direct difference below (error < 3e-15), continued fraction above
MILLS_GAP_TERMS = 30     # continued-fraction depth: relative error < 2e-16 for x >= 5


def _mills_gap(x):
    x = np.asarray(x, dtype=float)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        direct = _inv_mills(x) - x
        big = x >= MILLS_GAP_SWITCH
        if not np.any(big):
            return direct
        xb = x[big]
        t = np.zeros_like(xb)
        for k in range(MILLS_GAP_TERMS, 1, -1):
            t = k / (xb + t)
        out = np.array(direct, dtype=float)
        out[big] = 1.0 / (xb + t)
    return out


NUMPY_FUNCTIONS = {
    "GaussPDF": lambda x: np.exp(-0.5 * np.square(x)) / np.sqrt(2 * np.pi),
    "H": lambda x: sc.ndtr(-np.asarray(x, dtype=float)),
    "LnH": lambda x: sc.log_ndtr(-np.asarray(x, dtype=float)),
    "InvMills": _inv_mills,
    "MillsGap": _mills_gap,
    "LogTwoCosh": _log_two_cosh,
    "SpinEntropy": _spin_entropy,
    "LogAddExp": np.logaddexp,
    "Logistic": sc.expit,
    "Heaviside": lambda x, *a: np.heaviside(x, 0.5),
}


def _mp_H(x):
    return mpmath.erfc(x / mpmath.sqrt(2)) / 2


MPMATH_FUNCTIONS = {
    "GaussPDF": mpmath.npdf,
    "H": _mp_H,
    "LnH": lambda x: mpmath.log(_mp_H(x)),
    "InvMills": lambda x: mpmath.npdf(x) / _mp_H(x),
    "MillsGap": lambda x: mpmath.npdf(x) / _mp_H(x) - x,
    "LogTwoCosh": lambda x: abs(x) + mpmath.log1p(mpmath.exp(-2 * abs(x))),
    "Logistic": lambda x: 1 / (1 + mpmath.exp(-x)),
    "LogAddExp": lambda a, b: (max(a, b) + mpmath.log1p(mpmath.exp(-abs(a - b)))) if mpmath.isfinite(a - b)
    else max(a, b),
    "SpinEntropy": lambda x: mpmath.log1p(mpmath.exp(-2 * abs(x))) + 2 * abs(x) / (1 + mpmath.exp(2 * abs(x))),
    "Heaviside": lambda x, *a: mpmath.mpf(1) if x > 0 else (mpmath.mpf(0) if x < 0 else mpmath.mpf(1) / 2),
    "sign": mpmath.sign,
}


@functools.lru_cache(maxsize=None)
def hermite_rule(n: int = GH_NODES):
    """Probabilists' Gauss-Hermite nodes and weights normalised to int Dz 1 = 1."""
    x, w = sc.roots_hermitenorm(n)
    return x, w / np.sqrt(2 * np.pi)


@functools.lru_cache(maxsize=None)
def _legendre(n: int = PANEL_NODES):
    return sc.roots_legendre(n)


#: Graded panels around a transition of scale w sit at distances w A sinh(s) from it, s uniform in
#: steps of at most GRADING_STEP: panels of about w near the transition (a Gaussian bump or a step
#: of width w is resolved by 10 Gauss-Legendre nodes on each), growing geometrically by
#: e^GRADING_STEP = 2 far from it (where the integrand behaves like a power of the distance).
#: Measured: Gardner's InvMills * MillsGap average to 1e-16 relative at q = 1 - 1e-8, where the
#: earlier fixed ten panels a side (ratio ~4 there) left 3e-12.
GRADING_STEP = float(np.log(2.0))
GRADING_SCALE = 1.0 / GRADING_STEP
#: longest graded stretch: from z0 to the base edge at least one unit beyond it (base edges <= 1.5 apart)
GRADED_REACH = 4.5
#: graded panel counts a side are rounded up to one of these tiers, so that a batch of points with
#: different widths is evaluated in a few rectangular groups (each point's rule depends only on its
#: own width, never on its neighbours in a sweep)
PANEL_TIERS = (2, 4, 6, 9, 13, 18, 24, 32, 42, 54)


def _positive_width(width):
    width = np.nan_to_num(np.asarray(width, dtype=float), nan=Z_MAX, posinf=Z_MAX)
    return np.maximum(width, 1e-300)


def graded_panels(width):
    """Graded panels a side of a transition of scale ``width`` (an array), rounded up to a tier."""
    need = np.ceil(np.arcsinh(GRADED_REACH / (GRADING_SCALE * _positive_width(width))) / GRADING_STEP)
    tiers = np.asarray(PANEL_TIERS)
    return tiers[np.clip(np.searchsorted(tiers, need), 0, len(tiers) - 1)]


def _graded(z0, end, width, panels):
    """Panel edges (a, b) between ``z0`` and ``end`` (either side): ``panels`` panels at distances
    ``width A sinh(s)``, s uniform from 0 to where the distance reaches ``end``."""
    length = np.abs(end - z0)
    scale = GRADING_SCALE * width
    s_max = np.arcsinh(length / scale)
    k = np.arange(panels + 1, dtype=float) / panels
    dist = np.minimum(scale[..., None] * np.sinh(s_max[..., None] * k), length[..., None])
    pts = z0[..., None] + np.sign(end - z0)[..., None] * dist
    return pts[..., :-1], pts[..., 1:]


def kink_rule(z0, width, start=-Z_MAX, stop=Z_MAX, panels=None):
    """Nodes and weights (Gaussian weight included) for int Dz f(z) over [start, stop], f steep near
    ``z0`` on scale ``width``.

    Base panels (``BASE_EDGES``, clipped to the interval) resolve the Gaussian weight; the base
    panels within one unit of ``z0`` are replaced by ``panels`` panels on each side of ``z0``,
    graded from about ``width`` next to ``z0`` to a geometric growth far from it. ``panels`` defaults to what the narrowest width of the batch needs
    (:func:`graded_panels`). Shapes broadcast: ``z0.shape + (n,)``.
    """
    z0 = np.nan_to_num(np.asarray(z0, dtype=float), nan=0.0, posinf=Z_MAX, neginf=-Z_MAX)
    width = np.nan_to_num(np.asarray(width, dtype=float), nan=Z_MAX, posinf=Z_MAX)
    z0, width, start, stop = np.broadcast_arrays(z0, width, np.asarray(start, dtype=float),
                                                 np.asarray(stop, dtype=float))
    if panels is None:
        panels = int(np.max(graded_panels(width))) if width.size else PANEL_TIERS[0]
    z0 = np.clip(z0, start, stop)
    edges = np.clip(np.asarray(BASE_EDGES), start[..., None], stop[..., None])
    n = edges.shape[-1]
    # graded panels reach at least one unit beyond z0 on each side (to a base edge)
    lo = np.clip(np.sum(edges <= (z0 - 1.0)[..., None], axis=-1) - 1, 0, n - 2)
    hi = np.clip(n - np.sum(edges >= (z0 + 1.0)[..., None], axis=-1), 1, n - 1)
    # base panels between edges[lo] and edges[hi] collapse to zero length (zero weight)
    panel = np.arange(n - 1)
    removed = (panel >= lo[..., None]) & (panel < hi[..., None])
    e_lo = np.take_along_axis(edges, lo[..., None], axis=-1)[..., 0]
    e_hi = np.take_along_axis(edges, hi[..., None], axis=-1)[..., 0]
    width = _positive_width(width)
    la, lb = _graded(z0, e_lo, width, panels)
    ra, rb = _graded(z0, e_hi, width, panels)
    a = np.concatenate([np.where(removed, 0.0, edges[..., :-1]), la, ra], axis=-1)
    b = np.concatenate([np.where(removed, 0.0, edges[..., 1:]), lb, rb], axis=-1)
    x, w = _legendre()
    half = (b - a)[..., None] / 2
    nodes = ((a + b)[..., None] / 2 + half * x).reshape(z0.shape + (-1,))
    weights = (np.abs(half) * w).reshape(z0.shape + (-1,))
    return nodes, weights * np.exp(-nodes**2 / 2) / np.sqrt(2 * np.pi)


# ---------------------------------------------------------------------------
# compilation
# ---------------------------------------------------------------------------
def _lambdify(args, expr, modules):
    return sympy.lambdify(args, expr, modules=modules, cse=True)


def _split_averages(exprs, args, compile_group):
    """Replace the outermost averages in ``exprs`` (in place) by dummies.

    Averages over the same variable with the same kink share one set of
    nodes and one compiled integrand function (common subexpressions
    eliminated), so ``InvMills`` and friends are evaluated once a node.
    Returns the dummies, in the order the group evaluators return values.
    """
    found = []
    for e in exprs:
        for a in averages(e):
            if a not in found:
                found.append(a)
    dummies = {a: sympy.Dummy(f"avg{i}") for i, a in enumerate(found)}
    for i, e in enumerate(exprs):
        exprs[i] = as_expr(e).xreplace(dummies)
    groups = {}
    for a in found:
        ks = kinks(a.integrand, a.variable)[:MAX_KINKS]
        key = (a.variable, tuple(k[0] for k in ks))
        groups.setdefault(key, []).append((a, ks))
    order, evaluators = [], []
    for (z, positions), members in groups.items():
        kink = []
        for i, z0 in enumerate(positions):
            widths = list(dict.fromkeys(kk[i][1] for _, kk in members))
            kink.append((z0, widths[0] if len(widths) == 1 else sympy.Min(*widths)))
        evaluators.append(compile_group([m[0].integrand for m in members], z, kink or None, args))
        order.extend(dummies[m[0]] for m in members)
    return order, evaluators


def compile_numpy(exprs, args):
    """Compile ``exprs`` (one expression or a list) in ``args`` to a broadcasting numpy function."""
    single = not isinstance(exprs, (list, tuple))
    exprs = [exprs] if single else list(exprs)
    order, groups = _split_averages(exprs, args, _compile_group_numpy)
    body = _lambdify(list(args) + order, exprs, [NUMPY_FUNCTIONS, "scipy", "numpy"])

    def evaluate(*values):
        values = np.broadcast_arrays(*[np.asarray(v, dtype=float) for v in values])
        extra = [x for fn in groups for x in fn(*values)]
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            out = body(*values, *extra)
        shape = values[0].shape if values else ()
        out = [np.broadcast_to(np.asarray(o, dtype=float), shape) for o in out]
        return out[0] if single else out

    return evaluate


def _compile_group_numpy(integrands, z, kink, args):
    integrand = compile_numpy(list(integrands), [z] + list(args))
    if kink is None:
        x, w = hermite_rule()

        def average(*values):
            shape = values[0].shape if values else ()
            nodes = np.broadcast_to(x, shape + x.shape)
            return [np.sum(v * w, axis=-1) for v in integrand(nodes, *[v[..., None] for v in values])]

        return average

    fns = [(compile_numpy(z0, list(args)), compile_numpy(w, list(args))) for z0, w in kink]

    def transitions(values):
        """Positions and widths of the transitions, each an array of the batch's shape; a transition
        that does not exist at these parameters (NaN position, e.g. the square root of a negative
        number) is treated as kink_rule treats it: at 0 with the widest scale."""
        shape = values[0].shape if values else ()
        return [(np.nan_to_num(np.broadcast_to(f(*values), shape), nan=0.0, posinf=Z_MAX, neginf=-Z_MAX),
                 np.nan_to_num(np.broadcast_to(g(*values), shape), nan=Z_MAX, posinf=Z_MAX)) for f, g in fns]

    def rule(found, panels):
        if len(found) == 1:
            return kink_rule(found[0][0], found[0][1], panels=panels)
        # two transitions: the line is split half-way between them, each half graded towards its
        # own transition on the narrower scale of the two (a narrow feature of the other one
        # spills across the split: the tail of a bump of width 0.005 next to a step, measured)
        (z0, w0), (z1, w1) = found
        first = z0 <= z1
        za, zb = np.where(first, z0, z1), np.where(first, z1, z0)
        narrow = np.minimum(w0, w1)
        mid = np.clip((za + zb) / 2, -Z_MAX, Z_MAX)
        xa, ka = kink_rule(za, narrow, -Z_MAX, mid, panels=panels)
        xb, kb = kink_rule(zb, narrow, mid, Z_MAX, panels=panels)
        return np.concatenate([xa, xb], axis=-1), np.concatenate([ka, kb], axis=-1)

    def integrate(found, values, panels):
        nodes, weights = rule(found, panels)
        out = integrand(nodes, *[v[..., None] for v in values])
        # weights that underflowed far in the tails may multiply non-finite values there
        with np.errstate(invalid="ignore", over="ignore"):
            return [np.sum(np.where(weights > 0, v * weights, 0.0), axis=-1) for v in out]

    def average(*values):
        found = transitions(values)
        shape = values[0].shape if values else ()
        # each point gets the graded panels its own narrowest transition needs (a few tiers)
        tiers = graded_panels(np.minimum.reduce([w for _, w in found]))
        present = np.unique(tiers)
        if present.size == 1:
            return integrate(found, values, int(present[0]))
        flat = [np.ravel(v) for v in values]
        found = [(np.ravel(z0), np.ravel(w)) for z0, w in found]
        tiers = np.ravel(tiers)
        out = None
        for tier in present:
            sel = np.flatnonzero(tiers == tier)
            part = integrate([(z0[sel], w[sel]) for z0, w in found], [v[sel] for v in flat], int(tier))
            if out is None:
                out = [np.empty(tiers.shape) for _ in part]
            for o, p in zip(out, part):
                o[sel] = p
        return [o.reshape(shape) for o in out]

    return average


def compile_mpmath(exprs, args):
    """Compile ``exprs`` to a function of mpmath numbers (precision: the caller's ``mp.dps``)."""
    single = not isinstance(exprs, (list, tuple))
    exprs = [exprs] if single else list(exprs)
    order, groups = _split_averages(exprs, args, _compile_group_mpmath)
    body = _lambdify(list(args) + order, exprs, [MPMATH_FUNCTIONS, "mpmath"])

    def evaluate(*values):
        values = [v if isinstance(v, mpmath.mpf) else mpmath.mpf(v) for v in values]
        extra = [x for fn in groups for x in fn(*values)]
        out = body(*values, *extra)
        return out[0] if single else out

    return evaluate


def _compile_group_mpmath(integrands, z, kink, args):
    integrand = [compile_mpmath(e, [z] + list(args)) for e in integrands]
    z0_fns = [compile_mpmath(k[0], list(args)) for k in (kink or [])]

    def average(*values):
        # breakpoints: the kinks, and the bulk of the Gaussian weight (tanh-sinh on an interval
        # that holds the kink far in the tail would otherwise miss the bulk)
        inner = {mpmath.mpf(0), mpmath.mpf(-4), mpmath.mpf(4)}
        for z0_fn in z0_fns:
            try:
                z0 = z0_fn(*values)
                if isinstance(z0, mpmath.mpf) and mpmath.isfinite(z0):
                    inner.add(z0)
            except (ZeroDivisionError, ValueError):
                pass
        points = [-mpmath.inf] + sorted(inner) + [mpmath.inf]
        return [mpmath.quad(lambda t: f(t, *values) * mpmath.npdf(t), points) for f in integrand]

    return average
