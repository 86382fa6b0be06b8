"""Intrinsic dimension of a point cloud: participation ratio, TwoNN and Levina-Bickel.

After S. Recanatesi, M. Farrell, M. Advani, T. Moore, G. Lajoie and E. Shea-Brown,
"Dimensionality compression and expansion in deep neural networks", arXiv:1906.00443 (2019),
who measure the dimension of neural representations with a linear estimator (the participation
ratio of the covariance spectrum) and a nonlinear, nearest-neighbour one.

Point clouds (:mod:`replica.simulators.intrinsic_dimension`): ``n`` points on a manifold of
known dimension ``d`` in ``D`` ambient dimensions, plus isotropic Gaussian noise of standard
deviation ``noise`` in all ``D`` coordinates: ``gaussian`` (a ``d``-dimensional linear subspace
with standard Gaussian coordinates; ``d = D`` without noise is pure white noise), ``sphere``
(the uniform unit ``d``-sphere, ``D >= d + 1``), ``swiss-roll`` (scikit-learn's, ``d = 2``,
``D >= 3``), ``torus`` (the flat torus ``T^d``, a product of ``d`` unit circles embedded in
``R^(2d)`` by (cos, sin) pairs and randomly rotated into ``R^D``, ``D >= 2d``).

Estimators and their ``n -> oo`` limits (the theory)
---------------------------------------------------
* ``pr``: ``PR = (tr C)^2 / tr C^2`` of the sample covariance. As ``n -> oo`` at fixed ``D``, C
  tends to the population covariance ``Sigma`` and PR to ``(tr Sigma)^2/tr Sigma^2``, derived
  here in SymPy for each manifold: ``d`` for the isotropic subspace, ``d + 1`` for the sphere (a
  curved manifold fills one more linear dimension), a number for the swiss roll (covariance
  integrated over the roll by SymPy), ``2d`` for the flat torus (each circle's covariance
  ``I_2/2``, integrated by SymPy over the angle; the rotation leaves the spectrum unchanged);
  the noise adds ``noise^2 I``.
  Finite samples (``pr_finite``, Gaussian clouds): with ``m`` samples and ``gamma = D/m`` the
  sample covariance is ``Sigma^(1/2) W Sigma^(1/2)``, ``W`` a white Wishart matrix whose
  spectrum is Marchenko-Pastur; its moments ``m1 = 1``, ``m2 = 1 + gamma`` are taken from the
  package's ``marchenko-pastur`` model (derived there from the replica resolvent), and the second
  moment of the product of free variables, ``m2(Sigma) m1(W)^2 + m1(Sigma)^2 (m2(W) - m1(W)^2)``,
  gives ``PR = D m1^2/m2``; for pure noise ``D/(1 + gamma)``, in general
  ``1/PR_m = 1/PR_oo + 1/m``. This is the leading order in ``1/D`` of the ratio of expectations
  (the exact Wishart moment ``E tr S^2 = (1 + 1/m) tr Sigma^2 + (tr Sigma)^2/m`` has the
  extra ``tr Sigma^2/m``: a relative correction ``O(1/m)`` smaller than the one kept).
* ``twonn`` and ``mle`` (nearest neighbours): where the density is locally constant, the
  neighbours of a point form a Poisson process of intensity ``~ r^(d-1)`` in the distance r,
  so ``mu = r2/r1`` is Pareto with exponent ``d`` (Facco et al. 2017) and
  ``ln(T_k/T_j)``, ``j < k``, are independent exponentials of rate ``d`` given ``T_k``
  (Levina & Bickel 2004). Both estimators maximise a log-likelihood; as ``n -> oo`` the
  neighbourhoods shrink, the Poisson description becomes exact, and the estimate is the
  maximiser of the EXPECTED log-likelihood per observation, the model's free energy:
  ``F(dhat) = ln dhat - (dhat + 1)/d_loc`` (TwoNN: ``E ln mu = 1/d_loc``) and
  ``ln dhat - dhat/d_loc`` (Levina-Bickel), stationary at ``dhat = d_loc``. The local dimension
  ``d_loc`` is ``d`` without noise; with ``noise > 0`` the smallest distances are those of the
  ``D``-dimensional noise, so the ``n -> oo`` limit at fixed noise is ``d_loc = D`` (the
  estimators see the noise; at practical n they are in a crossover between d and D, scale-
  dependent, which is why the comparisons here are noiseless).

Estimator biases (documented and tested in tests/test_intrinsic_dimension.py)
----------------------------------------------------------------------------
* PR: ``PR_n = PR_oo/(1 + PR_oo/(n - 1))`` for Gaussian clouds (the centred covariance has
  ``n - 1`` degrees of freedom): a downward bias, a series in ``1/n``; finite_size_powers (1, 2).
* PR on curved manifolds: ``d + 1`` for the sphere, about 2.944 for the swiss roll with its standard
  proportions (not 2), ``2d`` for the flat torus: a linear estimator counts the directions the
  manifold spans.
* TwoNN / MLE on the flat torus: uniform density and no boundary, but each unit circle is curved
  in its plane (chord ``2 sin(s/2)`` for arc ``s``): the curvature bias is ``O(r^2) = O(n^(-2/d))``
  as on the sphere, with the neighbourhood radius ``r ~ (vol/n)^(1/d)`` larger by
  ``(vol T^d/vol S^d)^(1/d)``: the sphere's bound times ``(vol T^d/vol S^d)^(2/d)`` = 1, 3.14, 5.4
  for d = 1, 2, 3 (measured Levina-Bickel bias at d = 3, k = 10: +0.068, +0.039, +0.008 at
  n = 1000, 4000, 16000).
* TwoNN / pooled MLE: the statistical bias of a maximum-likelihood rate, ``N/(N - 1)``, is O(1/n);
  the density gradient and the curvature within a neighbourhood of radius ``~ n^(-1/d)`` bias
  the Poisson description by ``O(n^(-2/d))``. The comparisons fit powers ``(2/d, 1)``
  (``(1, 2)`` for ``d <= 2``). On Gaussian data the density gradient is unbounded in the tails
  and the approach is slow (measured at d = 3, k = 10: +0.074, +0.054, +0.043 at n = 500, 1000,
  2000); the sphere (uniform density) converges fastest.
* TwoNN / MLE on the swiss roll (a manifold with a boundary): points within a neighbourhood radius of
  the edges see neighbours on one side, a downward bias that decays slowly (measured, pooled MLE,
  k = 10: -0.040, -0.026, -0.018 at n = 1000, 4000, 16000; tested within ``0.25 n^(-1/4)``).
* The original Levina-Bickel average of per-point estimates (normalised by ``k - 1``) tends to
  ``d (k - 1)/(k - 2)`` at fixed ``k``, not ``d``; here ``mle`` is the pooled (MacKay-Ghahramani)
  form, whose limit is ``d``, and which at ``k = 2`` is the TwoNN likelihood estimate.
"""
from __future__ import annotations

import functools
import math

import sympy

from replica.errors import DerivationError, ParameterError, SimulationError
from replica.model import DerivedLimit, Model, Reference
from replica.params import NONNEGATIVE, POSITIVE, Interval, Observable, OrderParameter, Parameter

ESTIMATORS = ("pr", "twonn", "mle")
MANIFOLDS = ("gaussian", "sphere", "swiss-roll", "torus")
#: scikit-learn's swiss roll: t ~ U(3 pi/2, 9 pi/2), height ~ U(0, 21)
SWISS_T = (sympy.Rational(3, 2) * sympy.pi, sympy.Rational(9, 2) * sympy.pi)
SWISS_H = sympy.Integer(21)


@functools.lru_cache(maxsize=None)
def circle_covariance():
    """Covariance entries (var cos, var sin, cov(cos, sin)) of a uniform angle on the unit circle (SymPy)."""
    th = sympy.Symbol("theta", real=True)
    E = lambda f: sympy.integrate(f, (th, 0, 2 * sympy.pi)) / (2 * sympy.pi)  # noqa: E731
    mc, ms = E(sympy.cos(th)), E(sympy.sin(th))
    return (sympy.simplify(E(sympy.cos(th)**2) - mc**2), sympy.simplify(E(sympy.sin(th)**2) - ms**2),
            sympy.simplify(E(sympy.cos(th) * sympy.sin(th)) - mc * ms))


@functools.lru_cache(maxsize=None)
def swiss_roll_traces():
    """(tr Sigma, tr Sigma^2) of the noiseless swiss roll (t cos t, h, t sin t), integrated by SymPy."""
    t = sympy.Symbol("t", real=True)
    lo, hi = SWISS_T
    E = lambda f: sympy.integrate(f, (t, lo, hi)) / (hi - lo)  # noqa: E731
    x, z = t * sympy.cos(t), t * sympy.sin(t)
    mx, mz = E(x), E(z)
    cxx = sympy.simplify(E(x**2) - mx**2)
    czz = sympy.simplify(E(z**2) - mz**2)
    cxz = sympy.simplify(E(x * z) - mx * mz)
    chh = SWISS_H**2 / 12                # uniform height, independent of t
    tr = sympy.simplify(cxx + czz + chh)
    tr2 = sympy.simplify(cxx**2 + czz**2 + 2 * cxz**2 + chh**2)
    return tr, tr2, (cxx, czz, cxz, chh)


class IntrinsicDimension(Model):
    name = "intrinsic-dimension"
    title = "Intrinsic dimension of point clouds: participation ratio, TwoNN, Levina-Bickel (Recanatesi et al. 2019)"
    description = ("Estimators of the dimension of n points on a manifold of known dimension d (a linear subspace, "
                   "a d-sphere, a swiss roll, a flat torus) in D ambient dimensions with isotropic noise: the "
                   "participation ratio of the covariance spectrum (closed forms for the population covariance "
                   "and, for Gaussian clouds, its finite-sample Marchenko-Pastur prediction D m1^2/m2), TwoNN "
                   "(Facco et al. 2017) and "
                   "the Levina-Bickel maximum-likelihood estimator, whose n -> oo limits are the maximisers of "
                   "their expected log-likelihoods.")
    parameters = (
        Parameter("estimator", "the estimator: pr (participation ratio), twonn (Facco et al.), mle (Levina-Bickel)",
                  default="pr", kind="categorical", choices=ESTIMATORS),
        Parameter("manifold", "the point cloud: gaussian (d-dim linear subspace), sphere (unit d-sphere), "
                  "swiss-roll (d = 2), torus (flat T^d in R^2d by (cos, sin) pairs, randomly rotated into R^D)",
                  default="gaussian", kind="categorical", choices=MANIFOLDS),
        Parameter("d", "intrinsic dimension of the manifold", Interval(1, None, lower_closed=True), 2,
                  kind="integer", latex="d"),
        Parameter("D", "ambient dimension (>= d; >= d + 1 for the sphere, >= 3 for the swiss roll, >= 2d for the "
                  "torus)",
                  Interval(1, None, lower_closed=True), 10, kind="integer", latex="D"),
        Parameter("noise", "standard deviation of isotropic Gaussian noise in all D coordinates", NONNEGATIVE, 0.0,
                  latex="sigma"),
        Parameter("k", "number of neighbours of the Levina-Bickel estimator (mle)",
                  Interval(2, None, lower_closed=True), 10, kind="integer", latex="k"),
        Parameter("samples", "number of samples m of the finite-sample prediction pr_finite (gamma = D/m; "
                  "m = n - 1 for a centred covariance of n points)", POSITIVE, 1000.0, latex="m"),
    )
    order_parameters = ()
    observables = (
        Observable("estimate", "the estimator's n -> oo value (pr: the population PR; twonn, mle: the local "
                               "dimension, d without noise, D with noise)"),
        Observable("pr_population", "participation ratio (tr Sigma)^2/tr Sigma^2 of the population covariance"),
        Observable("pr_finite", "PR of the sample covariance of `samples` Gaussian samples, D m1^2/m2 from the "
                                "Marchenko-Pastur moments (gaussian manifold only)"),
    )
    free_energy_name = "participation ratio of the population covariance"
    simulated_observables = ("estimate",)
    # PR_n = PR/(1 + PR/(n - 1)) for Gaussian clouds: a series in 1/n
    finite_size_powers = (1, 2)
    references = (
        Reference({"estimator": "pr", "manifold": "gaussian", "d": 5, "D": 20}, "estimate", 5.0, 1e-14,
                  "PR of an isotropic d-dimensional subspace is d (Recanatesi et al. 2019)"),
        Reference({"estimator": "pr", "manifold": "gaussian", "d": 2, "D": 10, "noise": 0.5}, "estimate",
                  20.25 / 3.625, 1e-14,
                  "eigenvalues 1 + s^2 (d times), s^2 (D - d times): (2.5 + 2)^2/(3.125 + 0.5)"),
        Reference({"estimator": "pr", "manifold": "gaussian", "d": 50, "D": 50, "samples": 500}, "pr_finite",
                  50 / 1.1, 1e-12, "pure noise: D/(1 + gamma), MP moments m1 = 1, m2 = 1 + gamma "
                  "(Bai & Silverstein 2010, Lemma 3.1)"),
        Reference({"estimator": "pr", "manifold": "sphere", "d": 2, "D": 3}, "estimate", 3.0, 1e-14,
                  "uniform unit d-sphere: covariance I_(d+1)/(d+1), PR = d + 1"),
        Reference({"estimator": "pr", "manifold": "swiss-roll", "d": 2, "D": 3}, "estimate", 2.9442756265719, 1e-11,
                  "swiss roll: covariance by scipy quadrature (tests/test_intrinsic_dimension.py)"),
        Reference({"estimator": "twonn", "manifold": "sphere", "d": 3, "D": 5}, "estimate", 3.0, 1e-10,
                  "TwoNN: mu Pareto with exponent d (Facco et al., Sci. Rep. 7, 12140 (2017))"),
        Reference({"estimator": "mle", "manifold": "gaussian", "d": 4, "D": 10}, "estimate", 4.0, 1e-10,
                  "Levina & Bickel (NIPS 2004): ln(T_k/T_j) exponential of rate d"),
        Reference({"estimator": "twonn", "manifold": "gaussian", "d": 2, "D": 6, "noise": 0.1}, "estimate", 6.0,
                  1e-10, "noise in all D directions: the n -> oo nearest-neighbour scale sees dimension D"),
    )
    quick_compares = (
        {"params": {"estimator": "twonn", "manifold": "sphere", "d": 2, "D": 3}, "n": [500, 1000, 2000],
         "trials": 40, "seed": 1},
        {"params": {"estimator": "pr", "manifold": "gaussian", "d": 10, "D": 10}, "n": [500, 1000, 2000],
         "trials": 40, "seed": 1},
    )
    verify_compares = quick_compares + (
        {"params": {"estimator": "mle", "manifold": "sphere", "d": 2, "D": 4, "k": 10}, "n": [500, 1000, 2000],
         "trials": 40, "seed": 2},
        {"params": {"estimator": "mle", "manifold": "torus", "d": 2, "D": 5, "k": 10}, "n": [500, 1000, 2000],
         "trials": 40, "seed": 1},
    )

    # -- variants --------------------------------------------------------------------
    def variant(self, params):
        est = params.get("estimator", "pr")
        if est == "pr":
            return IntrinsicDimension() if type(self) is not IntrinsicDimension else self
        noisy = float(params.get("noise") or 0.0) > 0
        cls = NoisyNeighbourDimension if noisy else NeighbourDimension
        out = cls()
        d = int(params.get("d") or 2)
        powers = (1, 2) if d <= 2 else (2.0 / d, 1)
        out.finite_size_powers = powers
        return out

    def validate(self, params):
        d, D, manifold = params["d"], params["D"], params["manifold"]
        need = {"gaussian": d, "sphere": d + 1, "swiss-roll": 3, "torus": 2 * d}[manifold]
        if manifold == "swiss-roll" and d != 2:
            raise ParameterError(f"parameter 'd'={d} is out of range for the swiss-roll; allowed: 2")
        if D < need:
            raise ParameterError(f"parameter 'D'={D} is out of range for the {manifold} with d={d}; allowed: an "
                                 f"integer >= {need}" + (" (D >= d)" if manifold == "gaussian" else ""))

    # -- closed forms -------------------------------------------------------------------
    def _symbols(self):
        return {p.name: p.symbol for p in self.real_parameters}

    def population_traces(self, manifold):
        """(tr Sigma, tr Sigma^2, note) of the noisy population covariance Sigma_0 + sigma^2 I_D."""
        s = self._symbols()
        d, D, sigma = s["d"], s["D"], s["noise"]
        if manifold == "gaussian":
            t1, t2, note = d, d, "d-dim subspace: Sigma_0 = diag(1 (d times), 0)"
        elif manifold == "sphere":
            # isotropy in d + 1 coordinates and |x|^2 = 1: Sigma_0 = I_(d+1)/(d+1)
            t1, t2, note = sympy.Integer(1), 1 / (d + 1), "unit d-sphere: Sigma_0 = I_(d+1)/(d+1) (isotropy, |x| = 1)"
        elif manifold == "torus":
            # d independent unit circles: a block diag(c, c') (off-diagonal cov(cos, sin)) per circle;
            # the random rotation Q Sigma_0 Q^T leaves both traces unchanged
            cc, ss, cs = circle_covariance()
            t1, t2 = d * (cc + ss), d * (cc**2 + ss**2 + 2 * cs**2)
            note = "flat torus T^d: per circle the covariance of (cos theta, sin theta), theta uniform"
        elif manifold == "swiss-roll":
            t1, t2, _ = swiss_roll_traces()
            note = "swiss roll: covariance of (t cos t, h, t sin t) integrated over t, h"
        else:
            raise DerivationError(f"unknown manifold {manifold!r}")
        # Sigma = Sigma_0 + sigma^2 I_D
        return t1 + D * sigma**2, t2 + 2 * sigma**2 * t1 + D * sigma**4, note

    def free_energy(self, choices):
        tr, tr2, _ = self.population_traces(choices["manifold"])
        return tr**2 / tr2

    def limits(self, F, choices):
        from replica.models.marchenko_pastur import MarchenkoPastur
        s = self._symbols()
        D, m = s["D"], s["samples"]
        tr, tr2, note = self.population_traces(choices["manifold"])
        pr_pop = sympy.simplify(tr**2 / tr2)
        steps = ((r"\mathrm{tr}(\Sigma)", tr, note + "; plus noise sigma^2 I_D"),
                 (r"\mathrm{tr}(\Sigma^2)", tr2, ""))
        out = {"pr_population": DerivedLimit(pr_pop, steps)}
        if self.order_parameters == ():
            out["estimate"] = DerivedLimit(pr_pop)
        if choices["manifold"] == "gaussian":
            mp = MarchenkoPastur()
            gam = mp.parameters[0].symbol
            mom = mp.derivation().limits
            w1, w2 = mom["moment1"], mom["moment2"]
            a1, a2 = tr / D, tr2 / D                          # moments of the population spectrum
            s1 = a1 * w1
            s2 = a2 * w1**2 + a1**2 * (w2 - w1**2)            # free multiplicative convolution, 2nd moment
            pr_fin = sympy.factor(sympy.simplify((D * s1**2 / s2).subs(gam, D / m)))
            fsteps = ((r"m_1(W), m_2(W)", sympy.Tuple(w1, w2),
                       "Marchenko-Pastur moments from the marchenko-pastur model (gamma = D/m)"),
                      (r"m_2(S)", s2, "S = Sigma^(1/2) W Sigma^(1/2): second moment of a free product"))
            out["pr_finite"] = DerivedLimit(pr_fin, fsteps)
        return out

    # -- simulation -------------------------------------------------------------------
    def simulate_trial(self, params, n, rng):
        from replica.simulators import intrinsic_dimension as sim
        try:
            return sim.trial(params, n, rng)
        except ValueError as exc:
            raise SimulationError(f"intrinsic-dimension simulation at n={n}: {exc}") from exc

    def simulation_reference(self, params, n):
        """PR of Gaussian clouds at n points: the Marchenko-Pastur prediction with m = n - 1 samples."""
        if params.get("estimator") != "pr" or params.get("manifold") != "gaussian" or n < 2:
            return {}
        from replica.solver import _limits
        p = dict(params, samples=float(n - 1))
        base = IntrinsicDimension()
        return {"estimate": _limits(base, p)["pr_finite"]}


class NeighbourDimension(IntrinsicDimension):
    """TwoNN and Levina-Bickel: the n -> oo estimate maximises the expected log-likelihood."""

    order_parameters = (OrderParameter("dhat", "maximum-likelihood dimension (n -> oo limit of the estimate)",
                                       Interval(0.0, None), guesses=(1.0, 3.0, 10.0)),)
    free_energy_name = "expected log-likelihood per observation (nearest-neighbour Poisson model)"
    select = "max"
    noisy = False

    def local_dimension(self):
        s = self._symbols()
        return s["D"] if self.noisy else s["d"]

    def free_energy(self, choices):
        dh = self.order_parameters[0].symbol
        m = self.local_dimension()
        if choices["estimator"] == "twonn":
            # ln P(mu) = ln dhat - (dhat + 1) ln mu, E ln mu = 1/d_loc (Pareto with exponent d_loc)
            return sympy.log(dh) - (dh + 1) / m
        # ln P(y) = ln dhat - dhat y, y = ln(T_k/T_j) exponential of rate d_loc
        return sympy.log(dh) - dh / m

    def equation_scales(self, choices):
        return [self.order_parameters[0].symbol * self.local_dimension()]

    def starting_points(self, params):
        if (float(params["noise"]) > 0) != self.noisy:
            raise ParameterError(f"parameter 'noise'={params['noise']:g} cannot cross 0 within one solve (the "
                                 "n -> oo limit is d without noise and D with noise): solve each side separately")
        return None

    def observable_expressions(self, F, choices):
        return {"estimate": self.order_parameters[0].symbol}


class NoisyNeighbourDimension(NeighbourDimension):
    """With noise > 0 the smallest neighbour distances are those of the D-dimensional noise."""

    noisy = True
