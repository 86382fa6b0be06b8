"""Spiked covariance: one planted direction, the BBP transition, by the replica method.

Normalisation
-------------
N samples of a P-dimensional Gaussian vector with population covariance
``Sigma = I + beta u u^T`` (|u| = 1, ``beta >= 0`` the spike strength), stacked as
the columns of X (P x N); ``C = X X^T / N``, ``gamma = P/N``. As N -> oo
(J. Baik, G. Ben Arous and S. Peche, Ann. Probab. 33, 1643 (2005), complex
case; J. Baik and J. W. Silverstein, J. Multivariate Anal. 97, 1382 (2006);
D. Paul, Statist. Sinica 17, 1617 (2007), real Gaussian case, Theorems 1-4;
F. Benaych-Georges and R. R. Nadakuditi, Adv. Math. 227, 494 (2011)), with
the population spike ``ell = 1 + beta``:

* the top eigenvalue of C separates from the Marchenko-Pastur bulk iff
  ``beta > beta_c = sqrt(gamma)`` (ell > 1 + sqrt(gamma));
* above the threshold it converges to ``ell (1 + gamma/(ell - 1)) = (1 + beta)(1 + gamma/beta)``,
  below it to the bulk edge ``(1 + sqrt(gamma))^2``;
* the squared overlap of its eigenvector with u converges to
  ``(1 - gamma/(ell-1)^2)/(1 + gamma/(ell-1)) = (1 - gamma/beta^2)/(1 + gamma/beta)``
  above the threshold (Paul 2007, Theorem 4) and to 0 below it: the top
  eigenvector of the noise looks like structure but carries none.

Replica derivation
------------------
The top eigenvalue is the ground state of a spherical model:
``lambda_max = lim_{theta -> oo} (2/(theta P)) ln int_{|v|^2 = P} dv exp(theta v^T C v / 2)``.
Average the n-th power over the data: with ``v^T C v = (1/N) sum_mu (x_mu . v)^2``
each sample gives ``det(1 - theta K/N)^(-1/2)``, ``K_ab = v_a^T Sigma v_b``. With the
overlaps ``v_a . v_b = P q`` (a != b), ``v_a . u = sqrt(P) m`` in the
replica-symmetric ansatz, ``K/N = gamma [(1 - q) 1 + (q + beta m^2) 1 1^T]`` and
the entropy of the constrained sphere is ``(1/2)[ln(1 - q) + (q - m^2)/(1 - q)]``
(the same as in Gardner's perceptron), so as n -> 0, per replica and component,

    f(q, m) = 1/2 ln(1-q) + (q - m^2)/(2(1-q)) - ln(1 - theta gamma (1-q))/(2 gamma)
              + theta (q + beta m^2)/(2 (1 - theta gamma (1-q))).

As theta -> oo, q -> 1 with the susceptibility ``chi = theta (1 - q)`` finite; the
package takes ``lim 2 f/theta`` with SymPy (:meth:`SpikedCovariance.free_energy`)
and obtains, with ``y = gamma chi`` in (0, 1),

    E(y, m) = gamma (1 - m^2)/y + (1 + beta m^2)/(1 - y),

the zero-temperature free energy: lambda_max is its value at the saddle point,
a minimum in y and a maximum in m. m = 0 always solves dE/dm = 0 (the
noise branch, E = (1 + sqrt(gamma))^2, stable for beta < sqrt(gamma)); for
beta > sqrt(gamma) a branch with m^2 > 0 appears, the top eigenvalue and overlap
above. Among the stationary points the physical one has the largest E
(``select = "max"``), and the stability eigenvalue is the curvature of
``max_m min_y E`` in m: ``E_ym^2/E_yy - E_mm`` (stable where positive).
The threshold and the bulk edge are derived in :meth:`SpikedCovariance.limits`
from the stationarity equations of E.
"""
from __future__ import annotations

import math

import sympy

from replica.errors import DerivationError, SimulationError
from replica.model import DerivedLimit, Model, Reference, Stability
from replica.params import NONNEGATIVE, POSITIVE, Interval, Observable, OrderParameter, Parameter

theta = sympy.Symbol("theta", positive=True)
q = sympy.Symbol("q", real=True)


def bbp_top_eigenvalue(gamma, beta):
    """Hand-written literature value (Baik & Silverstein 2006): (1+b)(1+g/b) above sqrt(g), else (1+sqrt(g))^2."""
    if beta <= math.sqrt(gamma):
        return (1 + math.sqrt(gamma)) ** 2
    return (1 + beta) * (1 + gamma / beta)


def bbp_overlap2(gamma, beta):
    """Hand-written literature value (Paul 2007, Thm 4): (1 - g/b^2)/(1 + g/b) above sqrt(g), else 0."""
    if beta <= math.sqrt(gamma):
        return 0.0
    return (1 - gamma / beta**2) / (1 + gamma / beta)


class SpikedCovariance(Model):
    name = "spiked-covariance"
    title = "Spiked covariance: BBP transition of the top eigenvalue and eigenvector (replica symmetric)"
    description = ("Sample covariance C = X X^T/N of N Gaussian samples in dimension P = gamma N with "
                   "population covariance I + beta u u^T: top eigenvalue, squared overlap of its "
                   "eigenvector with u, and the BBP threshold beta_c = sqrt(gamma), from the "
                   "zero-temperature replica free energy of a spherical model.")
    parameters = (
        Parameter("gamma", "aspect ratio P/N (dimension over number of samples)", POSITIVE, 0.5, latex="gamma"),
        Parameter("beta", "spike strength: population covariance I + beta u u^T", NONNEGATIVE, 1.0, latex="beta"),
    )
    order_parameters = (
        OrderParameter("y", "gamma chi, chi = theta (1 - q) the zero-temperature susceptibility",
                       Interval(0.0, 1.0), guesses=(1e-4, 1e-3, 1e-2, 0.05, 0.2, 0.5, 0.8, 0.95, 0.995)),
        OrderParameter("m", "overlap of the top eigenvector with the spike u",
                       Interval(0.0, 1.0, lower_closed=True), guesses=(0.0, 0.5, 0.9, 0.995)),
    )
    observables = (
        Observable("top_eigenvalue", "largest eigenvalue of C (the free energy at the saddle point)"),
        Observable("overlap2", "squared overlap <u, v_top>^2 of the top eigenvector with the spike"),
        Observable("y", "gamma chi at the saddle point"),
        Observable("beta_c", "BBP threshold: an outlier and a macroscopic overlap exist for beta > beta_c (derived)"),
        Observable("edge_upper", "upper edge of the Marchenko-Pastur bulk, the m = 0 branch (derived)"),
    )
    free_energy_name = "ground-state energy 2 lim f/theta (the top eigenvalue)"
    ansatz = "replica symmetric"
    select = "max"
    simulated_observables = ("top_eigenvalue", "overlap2")
    # below threshold the mean top eigenvalue approaches the edge as N^(-2/3) (Tracy-Widom mean),
    # then N^(-1); above threshold the corrections are N^(-1): (2/3, 1) holds on both sides
    finite_size_powers = (2 / 3, 1)
    references = (
        Reference({"gamma": 0.25, "beta": 1.0}, "beta_c", 0.5, 1e-15,
                  "sqrt(gamma) (Baik, Ben Arous & Peche 2005; Paul 2007)"),
        Reference({"gamma": 0.5, "beta": 2.0}, "top_eigenvalue", 3.75, 1e-12,
                  "(1 + beta)(1 + gamma/beta) (Baik & Silverstein 2006)"),
        Reference({"gamma": 0.5, "beta": 2.0}, "overlap2", 0.7, 1e-12,
                  "(1 - gamma/beta^2)/(1 + gamma/beta) (Paul 2007, Theorem 4)"),
        Reference({"gamma": 0.5, "beta": 0.3}, "top_eigenvalue", (1 + math.sqrt(0.5)) ** 2, 1e-12,
                  "bulk edge (1 + sqrt(gamma))^2 below the threshold (Baik & Silverstein 2006)"),
        Reference({"gamma": 0.5, "beta": 0.3}, "overlap2", 0.0, 1e-15, "0 below the threshold (Paul 2007)"),
    )
    verify_compares = ({"params": {"gamma": 0.5, "beta": 2.0}, "n": [100, 200, 400, 800], "trials": 100, "seed": 2},
                       {"params": {"gamma": 0.5, "beta": 0.3}, "n": [100, 200, 400, 800], "trials": 100, "seed": 3})
    quick_compares = ({"params": {"gamma": 0.5, "beta": 2.0}, "n": [50, 100, 200], "trials": 60, "seed": 1},
                      {"params": {"gamma": 0.5, "beta": 0.3}, "n": [50, 100, 200], "trials": 60, "seed": 2})

    def _symbols(self):
        y, m = (o.symbol for o in self.order_parameters)
        gamma, beta = (p.symbol for p in self.parameters)
        return y, m, gamma, beta

    def finite_temperature_free_energy(self):
        """The RS free energy f(q, m; theta) per component (see the module docstring)."""
        _, m, gamma, beta = self._symbols()
        return (sympy.log(1 - q) / 2 + (q - m**2) / (2 * (1 - q))
                - sympy.log(1 - theta * gamma * (1 - q)) / (2 * gamma)
                + theta * (q + beta * m**2) / (2 * (1 - theta * gamma * (1 - q))))

    def free_energy(self, choices):
        """E(y, m) = lim_{theta -> oo} 2 f(q = 1 - y/(gamma theta), m)/theta, taken by SymPy."""
        y, _, gamma, _ = self._symbols()
        f = self.finite_temperature_free_energy()
        E = sympy.limit(2 * f.subs(q, 1 - y / (gamma * theta)) / theta, theta, sympy.oo)
        if E.has(theta) or E.has(sympy.oo, sympy.zoo, sympy.nan):
            raise DerivationError(f"the theta -> oo limit did not give a finite energy: {E}")
        # the same expression in the form printed in the docstring (SymPy checks the identity)
        _, m, gamma, beta = self._symbols()
        tidy = gamma * (1 - m**2) / y + (1 + beta * m**2) / (1 - y)
        if sympy.cancel(E - tidy) != 0:
            raise DerivationError(f"unexpected zero-temperature energy {E}")
        return tidy

    def observable_expressions(self, F, choices):
        y, m, _, _ = self._symbols()
        return {"top_eigenvalue": F, "overlap2": m**2, "y": y}

    def equation_scales(self, choices):
        # the poles of dE/dy and dE/dm at y = 0 and y = 1 multiplied out (positive factors in (0, 1))
        y, _, _, _ = self._symbols()
        return [y**2 * (1 - y)**2, y * (1 - y) / 2]

    def stability(self, F, choices):
        """Curvature in m of max_m min_y E: E_ym^2/E_yy - E_mm > 0 where the saddle point is stable."""
        y, m, _, _ = self._symbols()
        Eyy, Eym, Emm = sympy.diff(F, y, 2), sympy.diff(F, y, m), sympy.diff(F, m, 2)
        return Stability("reduced_curvature_m", Eym**2 / Eyy - Emm,
                         "max over m of min over y of E; negative on the m = 0 branch above beta_c")

    def limits(self, F, choices):
        y, m, gamma, beta = self._symbols()
        M = sympy.Symbol("M", nonnegative=True)                 # M = m^2
        s = sympy.Symbol("s", positive=True)                     # s = sqrt(gamma): radicals cancel
        E = F.subs({m: sympy.sqrt(M), gamma: s**2})
        dEdM = sympy.together(sympy.diff(E, M))                  # dE/dm = 2 m dE/dM
        dEdy = sympy.together(sympy.diff(E, y))
        # noise branch m = 0: dE/dy = 0 with y in (0, 1)
        y0 = [sympy.factor(r) for r in sympy.solve(sympy.numer(dEdy.subs(M, 0)), y)
              if 0 < float(r.subs(s, sympy.Rational(1, 2))) < 1 and 0 < float(r.subs(s, 3)) < 1]
        if len(y0) != 1:
            raise DerivationError(f"expected one noise-branch solution y in (0, 1), got {y0}")
        edge = sympy.factor(sympy.cancel(E.subs({M: 0, y: y0[0]})))
        # spike branch m > 0: dE/dM = 0 fixes y, then dE/dy = 0 fixes M = m^2
        y1 = sympy.solve(sympy.numer(dEdM), y)
        if len(y1) != 1:
            raise DerivationError(f"dE/dm^2 = 0 does not fix y uniquely: {y1}")
        M1 = sympy.solve(sympy.numer(dEdy.subs(y, y1[0])), M)
        if len(M1) != 1:
            raise DerivationError(f"dE/dy = 0 does not fix m^2 uniquely: {M1}")
        overlap = sympy.factor(M1[0])
        lam = sympy.factor(sympy.cancel(E.subs({y: y1[0], M: overlap})))
        # the spike branch exists where m^2 > 0; it meets the noise branch at m^2 = 0
        roots = [r for r in sympy.solve(sympy.numer(sympy.together(overlap)), beta) if r.is_positive]
        if len(roots) != 1:
            raise DerivationError(f"expected one positive threshold, got {roots}")
        back = {s: sympy.sqrt(gamma)}
        y0, y1, overlap, lam, edge, roots = ([y0[0].subs(back)], [y1[0].subs(back)], overlap.subs(back),
                                             lam.subs(back), edge.subs(back), [roots[0].subs(back)])
        steps = (
            (r"y_0", y0[0], "noise branch m = 0: dE/dy = 0 gives"),
            (r"y_1", y1[0], "spike branch m > 0: dE/d(m^2) = 0 gives"),
            (r"m^2", overlap, "then dE/dy = 0 gives the squared overlap (Paul 2007, Thm 4)"),
            (r"\lambda_{\max}", lam, "and the top eigenvalue E(y_1, m) (Baik & Silverstein 2006)"),
        )
        return {"beta_c": DerivedLimit(sympy.factor(roots[0]), steps + (
                    (r"0", sympy.numer(sympy.together(overlap)), "the spike branch starts where m^2 = 0:"),)),
                "edge_upper": DerivedLimit(edge)}

    # -- simulation ------------------------------------------------------------
    def simulate_trial(self, params, n, rng):
        from replica.simulators import random_matrix as rm
        try:
            return rm.spiked_trial(float(params["gamma"]), float(params["beta"]), n, rng)
        except ValueError as exc:
            raise SimulationError(f"spiked-covariance simulation at N={n}: {exc}") from exc
