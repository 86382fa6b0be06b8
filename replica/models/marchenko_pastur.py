"""Marchenko-Pastur: the spectrum of the sample covariance of pure noise, by the replica method.

Normalisation
-------------
X is P x N with i.i.d. N(0, 1) entries (N samples of a P-dimensional white
vector), ``C = X X^T / N`` is P x P and ``gamma = P/N``. As N -> oo the
eigenvalue distribution of C converges to the Marchenko-Pastur law
(V. A. Marchenko and L. A. Pastur, Math. USSR-Sb. 1, 457 (1967); Z. Bai and
J. W. Silverstein, "Spectral Analysis of Large Dimensional Random Matrices",
2nd ed., Springer 2010, sec. 3.1):

    rho(x) = sqrt((b - x)(x - a)) / (2 pi gamma x)  on [a, b],  a, b = (1 -+ sqrt(gamma))^2,

plus an atom of mass 1 - 1/gamma at x = 0 when gamma > 1 (C has rank N < P).

Replica derivation of the resolvent (as in M. Advani, S. Lahiri and
S. Ganguli, "Statistical mechanics of complex neural systems and high
dimensional data", J. Stat. Mech. (2013) P03014, sec. 5)
------------------------------------------------------------------------
For z outside the spectrum,

    Z(z) = det(z - C)^(-1/2) = int dphi / (2 pi)^(P/2) exp(-phi^T (z - C) phi / 2),

and the Stieltjes transform g(z) = (1/P) tr (z - C)^(-1) = -(2/P) d/dz ln Z(z).
Average Z^n over X: with ``phi^T C phi = (1/N) sum_mu (x_mu . phi)^2``, each of
the N columns x_mu gives ``det(1 - Q/N)^(-1/2)`` with ``Q_ab = phi_a . phi_b``.
Introduce ``q_ab = phi_a . phi_b / P`` (conjugate ``qhat_ab``); the replicas
are decoupled (the average has zero mean, so ``q_ab = 0`` for ``a != b`` and
the replica-symmetric ansatz is exact), ``q_aa = g``, and per replica and
per component

    S(g, ghat; z) = -z g/2 + ghat g/2 - (1/2) ln ghat - (1/(2 gamma)) ln(1 - gamma g),

(1/P) E ln Z = extr S. The saddle point in ghat is ghat = 1/g (solved by SymPy
in :meth:`MarchenkoPastur.action`), leaving

    S(g; z) = 1/2 + (1/2) ln g - z g/2 - (1/(2 gamma)) ln(1 - gamma g),

and by the envelope theorem -2 dS/dz = g: the saddle point g IS the Stieltjes
transform. Stationarity, ``1/g + 1/(1 - gamma g) = z``, is the MP equation
``gamma z g^2 - (z + gamma - 1) g + 1 = 0``.

Real order parameters
---------------------
The package extremises a real function of real order parameters. At a spectral
point x inside the bulk the physical g(x - i0) = PV int rho/(x - lambda) + i pi rho(x)
is complex; since S is holomorphic, S'(g) = 0 is equivalent (Cauchy-Riemann)
to the stationarity of ``F(g_r, g_i) = Re S(g_r + i g_i; x)`` in (g_r, g_i), and
``dF/dg_r = Re S'``, ``dF/dg_i = -Im S'``. F, written by SymPy as ``re`` of
the complex action, is the model's free energy; its value at the saddle is the
log-potential ``(1/P) E ln |det(x - C)|^(-1/2) = -(1/2) int rho(l) ln|x - l| dl``.
The density is ``rho(x) = g_i / pi``.

Which saddle is physical. Re S is harmonic, so every stationary point is a
saddle (neither a maximum nor a minimum of F), and at real x the two roots
g and conj(g) have the same F: ``select`` cannot tell them apart. The branch is
fixed by the order parameter's domain, ``g_i >= 0`` (z = x - i0 gives
Im g = pi rho >= 0), together with the starting points (below). Outside the bulk
both roots are real; there the physical one (the continuation of g ~ 1/z from
z = oo) is the local maximum of S along the real axis, the larger F of the two
(tests/test_random_matrix.py checks it), so ``select = "max"`` picks it.

Closed forms derived from F (:meth:`MarchenkoPastur.limits`): on the real axis
(g_i = 0) the numerator of dF/dg_r is the MP quadratic; the edges are where its
discriminant in g vanishes; the moments are the coefficients of the branch
g = sum_k m_k z^(-k-1) (solved order by order); the atom is the residue of the
physical branch at z = 0.
"""
from __future__ import annotations

import math

import numpy as np
import sympy

from replica.errors import DerivationError, SimulationError
from replica.model import DerivedLimit, Model, Reference
from replica.params import POSITIVE, REAL, Interval, Observable, OrderParameter, Parameter

#: moments derived from the large-z expansion of the resolvent: E (1/P) tr C^k, k = 1..MOMENTS
MOMENTS = 4
#: starting points in the upper half plane for a spectral point inside the bulk
BULK_STARTS = 24


class MarchenkoPastur(Model):
    name = "marchenko-pastur"
    title = "Marchenko-Pastur spectrum of a white sample covariance (replica resolvent)"
    description = ("Eigenvalue density of C = X X^T/N, X of size P x N with i.i.d. N(0,1) entries, "
                   "gamma = P/N, at a spectral point x (from the replica saddle point of the resolvent, "
                   "rho = Im g(x - i0)/pi); edges, atom at zero and moments as closed forms derived "
                   "from the same action.")
    parameters = (
        Parameter("gamma", "aspect ratio P/N (dimension over number of samples)", POSITIVE, 0.5,
                  latex="gamma"),
        Parameter("x", "spectral point (optional; x > 0, C is positive semi-definite)", POSITIVE, None,
                  latex="x"),
    )
    order_parameters = (
        OrderParameter("g_r", "Re g(x - i0) = PV int rho(l)/(x - l) dl", REAL,
                       guesses=(-1.7, -0.45, 0.35, 1.3, 3.1), latex="g_r"),
        OrderParameter("g_i", "Im g(x - i0) = pi rho(x) (>= 0: the physical branch for z = x - i0)",
                       Interval(0.0, None, lower_closed=True), guesses=(0.0, 0.3, 1.5), latex="g_i"),
    )
    observables = (
        Observable("density", "eigenvalue density rho(x) = Im g(x - i0)/pi (needs x; 0 outside the bulk)"),
        Observable("g_r", "real part of the Stieltjes transform at x (needs x)"),
        Observable("g_i", "imaginary part of the Stieltjes transform at x - i0 (needs x)"),
        Observable("edge_lower", "lower edge of the bulk, (1 - sqrt(gamma))^2 (derived)"),
        Observable("edge_upper", "upper edge of the bulk, (1 + sqrt(gamma))^2 (derived)"),
        Observable("atom_at_zero", "mass of the eigenvalue atom at x = 0 (derived; 1 - 1/gamma if gamma > 1)"),
    ) + tuple(Observable(f"moment{k}", f"E (1/P) tr C^{k} as N -> oo (derived)") for k in range(1, MOMENTS + 1))
    free_energy_name = "log-potential Re S = (1/P) E ln|det(x - C)|^(-1/2)"
    ansatz = "replica symmetric"
    select = "max"
    simulated_observables = ("density", "moment2", "moment3")
    # the mean of the kernel density estimate (bandwidth ~ N^(-1/2)) and of the moments have
    # corrections in integer powers of 1/N (see replica/simulators/random_matrix.py)
    finite_size_powers = (1, 2)
    references = (
        Reference({"gamma": 0.25}, "edge_lower", 0.25, 1e-15, "(1 - sqrt(gamma))^2 (Marchenko & Pastur 1967)"),
        Reference({"gamma": 0.25}, "edge_upper", 2.25, 1e-15, "(1 + sqrt(gamma))^2 (Marchenko & Pastur 1967)"),
        Reference({"gamma": 0.5}, "moment2", 1.5, 1e-15, "1 + gamma (Bai & Silverstein 2010, Lemma 3.1)"),
        Reference({"gamma": 0.5}, "moment3", 2.75, 1e-15, "1 + 3 gamma + gamma^2 (Bai & Silverstein 2010, Lemma 3.1)"),
        Reference({"gamma": 0.5}, "moment4", 5.625, 1e-15,
                  "1 + 6 gamma + 6 gamma^2 + gamma^3 (Bai & Silverstein 2010, Lemma 3.1)"),
        Reference({"gamma": 2.0}, "atom_at_zero", 0.5, 1e-15, "rank N < P: mass 1 - 1/gamma at 0"),
        Reference({"gamma": 1.0, "x": 2.0}, "density", 1 / (2 * math.pi), 1e-12,
                  "sqrt((b-x)(x-a))/(2 pi gamma x) at gamma=1, x=2: 1/(2 pi)"),
        Reference({"gamma": 0.5, "x": 4.0}, "density", 0.0, 0.0, "x > (1 + sqrt(gamma))^2: outside the bulk"),
    )
    verify_compares = ({"params": {"gamma": 0.5, "x": 1.0}, "n": [100, 200, 400, 800], "trials": 100, "seed": 2},)
    quick_compares = ({"params": {"gamma": 0.5, "x": 1.0}, "n": [50, 100, 200], "trials": 60, "seed": 1},)

    # -- the replica action ------------------------------------------------------
    def _symbols(self):
        g_r, g_i = (o.symbol for o in self.order_parameters)
        gamma, x = (p.symbol for p in self.parameters)
        return g_r, g_i, gamma, x

    def action(self):
        """(S(g, ghat; z), S(g; z), g, z): the RS action and the action with ghat eliminated by SymPy."""
        gamma = self.parameters[0].symbol
        g, ghat, z = sympy.symbols("g ghat z")
        full = -z * g / 2 + ghat * g / 2 - sympy.log(ghat) / 2 - sympy.log(1 - gamma * g) / (2 * gamma)
        sol = sympy.solve(sympy.diff(full, ghat), ghat)
        if len(sol) != 1:
            raise DerivationError(f"the saddle point in ghat is not unique: {sol}")
        reduced = sympy.expand_log(full.subs(ghat, sol[0]), force=True)
        return full, reduced, g, z

    def free_energy(self, choices):
        g_r, g_i, gamma, x = self._symbols()
        _, reduced, g, z = self.action()
        # z = x - i0: the infinitesimal imaginary part only selects the branch (g_i >= 0)
        return sympy.expand_log(sympy.re(reduced.subs({g: g_r + sympy.I * g_i, z: x})), force=True)

    def equation_scales(self, choices):
        return [sympy.Integer(2), sympy.Integer(2)]

    def observable_expressions(self, F, choices):
        g_r, g_i, _, _ = self._symbols()
        return {"density": g_i / sympy.pi, "g_r": g_r, "g_i": g_i}

    def saddle_active(self, params):
        return params.get("x") is not None

    def starting_points(self, params):
        """Inside the bulk (the derived real-axis equation has no real root) start in the upper
        half plane; outside, start on the real axis (g_i = 0 exactly, where dF/dg_i vanishes
        identically, so the iterates stay real and the density is exactly 0).

        A sweep whose points get different lists here falls back (in the solver) to the
        order parameters' ``guesses``: measured to converge on x-sweeps for gamma <= 5; for
        larger gamma some bulk points are flagged not converged (never silently wrong)."""
        x = params.get("x")
        if x is None:
            return None
        gam, x = float(params["gamma"]), float(x)
        disc = (x + gam - 1) ** 2 - 4 * gam * x         # discriminant of the derived quadratic
        if disc < 0:
            # the two complex roots have modulus 1/sqrt(gamma x) (their product is 1/(gamma x)):
            # starts on that circle in the upper half plane, one of which is close to the root
            r = 1.0 / math.sqrt(gam * x)
            return [(r * math.cos(t), r * math.sin(t)) for t in math.pi * (np.arange(BULK_STARTS) + 0.5) / BULK_STARTS]
        # real roots: one in each region bounded by the poles g = 0 and g = 1/gamma of S'
        return [(-2.0 / x, 0.0), (-0.5 / x, 0.0), (0.5 / x, 0.0), (1.0 / x, 0.0), (2.0 / x, 0.0),
                (0.5 / gam, 0.0), (2.0 / gam, 0.0), (10.0 / gam, 0.0)]

    # -- closed forms derived from F ---------------------------------------------
    def real_axis_polynomial(self, F):
        """Numerator of dF/dg_r on the real axis g_i = 0, as a polynomial in g = g_r."""
        g_r, g_i, gamma, x = self._symbols()
        eq = sympy.diff(F, g_r).subs(g_i, 0)
        num, _ = sympy.fraction(sympy.cancel(sympy.together(eq)))
        poly = sympy.Poly(sympy.expand(num), g_r)
        if poly.degree() != 2:
            raise DerivationError(f"expected a quadratic in g on the real axis, got {poly.as_expr()}")
        lead = poly.LC()
        return sympy.Poly(sympy.expand(poly.as_expr() / lead * gamma * x), g_r)

    def limits(self, F, choices):
        g_r, g_i, gamma, x = self._symbols()
        full, reduced, g, z = self.action()
        poly = self.real_axis_polynomial(F)                 # gamma x g^2 - (x + gamma - 1) g + 1
        disc = sympy.factor(sympy.discriminant(poly, g_r))
        edges = sympy.solve(disc, x)
        if len(edges) != 2:
            raise DerivationError(f"expected two edges, got {edges}")
        probe = {gamma: sympy.Rational(1, 2)}
        lower, upper = sorted(edges, key=lambda e: float(e.subs(probe)))
        lower, upper = sympy.factor(lower), sympy.factor(upper)
        steps = (
            (r"S(g, \hat g; z)", full, "replica-symmetric action: (1/P) E ln det(z - C)^(-1/2) = extr S"),
            (r"S(g; z)", reduced, "ghat eliminated at its saddle point ghat = 1/g; -2 dS/dz = g"),
            (r"0", poly.as_expr(), "on the real axis (g_i = 0) the numerator of dF/dg_r: the MP equation"),
            (r"\Delta", disc, "its discriminant in g; the bulk (complex g) is where it is negative"),
        )
        out = {"edge_lower": DerivedLimit(lower, steps), "edge_upper": DerivedLimit(upper)}

        # moments: g = w G(w), z = 1/w, G = sum_k m_k w^k; solve order by order (m_0 = 1)
        w = sympy.Symbol("w", positive=True)
        G = sympy.Symbol("G")
        eqG = sympy.expand(poly.as_expr().subs(g_r, w * G).subs(x, 1 / w))
        ms = sympy.symbols(f"m0:{MOMENTS + 1}")
        series = sum(ms[k] * w**k for k in range(MOMENTS + 1))
        expanded = sympy.expand(eqG.subs(G, series))
        sols = {}
        for k in range(MOMENTS + 1):
            coeff = sympy.expand(expanded.coeff(w, k).subs(sols))
            root = sympy.solve(coeff, ms[k])
            if len(root) != 1:
                raise DerivationError(f"order w^{k} of the resolvent expansion does not fix m{k}: {root}")
            sols[ms[k]] = sympy.expand(root[0])
        if sols[ms[0]] != 1:
            raise DerivationError(f"the resolvent branch is not g ~ 1/z: m0 = {sols[ms[0]]}")
        for k in range(1, MOMENTS + 1):
            steps = ((r"0", eqG, "the MP equation with g = w G, z = 1/w; G = sum_k m_k w^k solved order by "
                                 "order in w, m_0 = 1 (the branch g ~ 1/z): m_k = E (1/P) tr C^k"),) if k == 1 else ()
            out[f"moment{k}"] = DerivedLimit(sympy.factor(sols[ms[k]]), steps)

        # atom: residue of the physical branch at z = 0. The two roots are
        # g = (z + gamma - 1 -+ s)/(2 gamma z), s^2 = disc/(4 gamma^2 z^2)-normalised discriminant;
        # the branch g ~ 1/z at oo takes s = -sqrt(a b) at z = 0+ (continued around the cut [a, b])
        c = sympy.Symbol("c")
        lead = sympy.expand(sympy.limit(sympy.expand(poly.as_expr().subs(g_r, c / x) * x), x, 0))
        cands = sympy.solve(lead, c)
        s0 = -sympy.sqrt(sympy.factor(sympy.expand(lower * upper)))
        branch = sympy.limit(x * (x + gamma - 1 - s0) / (2 * gamma * x), x, 0)
        branch = sympy.simplify(branch)
        if not any(sympy.simplify(branch - cc).subs(gamma, 3) == 0 for cc in cands):
            raise DerivationError(f"residue {branch} is not a root of {lead}")
        out["atom_at_zero"] = DerivedLimit(branch, (
            (r"\lim_{x \to 0} x\, \mathrm{numerator}(c/x)", lead,
             "residues c of the roots at z = 0; the physical branch (s = -sqrt(ab) at z = 0+) has"),))
        return out

    # -- simulation ------------------------------------------------------------
    def simulated_for(self, params):
        if params.get("x") is None:
            return ("moment2", "moment3")
        return self.simulated_observables

    def simulate_trial(self, params, n, rng):
        from replica.simulators import random_matrix as rm
        try:
            return rm.marchenko_pastur_trial(float(params["gamma"]), params.get("x"), n, rng)
        except ValueError as exc:
            raise SimulationError(f"marchenko-pastur simulation at N={n}: {exc}") from exc

    def simulation_reference(self, params, n):
        from replica.simulators import random_matrix as rm
        try:
            p = rm.dimension(float(params["gamma"]), n)
        except ValueError:
            return {}
        return {"moment2": rm.wishart_moment_exact(p, n, 2), "moment3": rm.wishart_moment_exact(p, n, 3)}
