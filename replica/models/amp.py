"""Approximate message passing (AMP) for the random linear model, against its state evolution.

Setting (as :mod:`replica.models.bayes_optimal`): P unknowns ``s0_i`` i.i.d. Bernoulli-Gauss,
``(1 - rho) delta_0 + rho N(0, 1)`` (``rho = 1``: a Gaussian prior); ``N = alpha P`` measurements
``y = F s0 + w`` with ``F_{mu i}`` i.i.d. ``N(0, 1/P)`` and ``w_mu`` i.i.d. ``N(0, Delta)``.

AMP (D. L. Donoho, A. Maleki and A. Montanari, "Message-passing algorithms for compressed
sensing", PNAS 106, 18914 (2009); M. Bayati and A. Montanari, "The dynamics of message passing on
dense graphs, with applications to compressed sensing", IEEE Trans. Inf. Theory 57, 764 (2011)),
written with ``A = F/sqrt(alpha)`` (entries ``N(0, 1/N)``, their normalisation) and
``y' = y/sqrt(alpha)`` (noise variance ``sigma^2 = Delta/alpha``)::

    x^{t+1} = eta_t(x^t + A^T z^t),
    z^t     = y' - A x^t + (1/alpha) z^{t-1} < eta'_{t-1}(x^{t-1} + A^T z^{t-1}) >,

from ``x^0 = 0`` (no information), with a separable denoiser ``eta_t`` (``denoiser``):

* ``soft``: the soft threshold ``eta(r) = sign(r) (|r| - theta tau_t)_+`` (the AMP of the LASSO,
  DMM 2009), ``tau_t`` estimated by ``|z^t|/sqrt(N)``;
* ``bayes``: the posterior mean of ``s0`` given ``r = s0 + tau_t Z`` (the Bayes-optimal AMP).

State evolution (Bayati-Montanari 2011, proved for Gaussian matrices): ``x^t + A^T z^t`` is, in
law component-wise, ``s0 + tau_t Z`` with ``Z ~ N(0, 1)`` independent of ``s0``, and the MSE
``E_t = |x^t - s0|^2/P`` obeys

    tau_t^2 = sigma^2 + E_t/alpha = (Delta + E_t)/alpha,     E_{t+1} = mse(tau_t),   E_0 = rho,

where ``mse(tau) = E (eta(s0 + tau Z) - s0)^2`` is the MSE of the scalar denoising problem.
``mse`` is derived here by SymPy from the denoiser: the squared error of the soft threshold is a
piecewise polynomial, its Gaussian average is taken in closed form
(:func:`replica.symbolic.gaussian_average_closed_form`) after writing, for the Gaussian part of
the prior, ``s0 = u/s + (tau/s) v`` with ``r = s u``, ``s = sqrt(1 + tau^2)``, ``u, v``
independent standard Gaussians (a rotation of the pair ``(s0, Z)``). For the Bayes denoiser
``mse(tau)`` is the MMSE of the scalar channel at signal-to-noise ratio ``1/tau^2``, as
Gaussian averages of the posterior variance (the equation of :mod:`replica.models.bayes_optimal`).

The model's order parameter is the fixed point ``E = mse(tau(E))`` reached by the state
evolution from ``E_0 = rho``, i.e. the MSE AMP converges to on large instances: for ``soft`` it
is unique when it exists (Bayati & Montanari, "The LASSO risk for Gaussian matrices", IEEE TIT
58, 1997 (2012): the fixed point exists, and is unique, iff theta > theta_min(alpha) with
``(1 + theta^2) Phi(-theta) - theta phi(theta) = alpha/2``); for ``bayes`` it is the largest
stationary point of the replica potential (several exist in the first-order region of sparse
priors at small noise). The "free energy" is a potential whose stationary points are the fixed
points and whose minima are the stable ones:

* ``bayes``: the replica potential i_RS(E) of :mod:`replica.models.bayes_optimal` (its gradient
  is ``alpha (E - mmse)/(2 (Delta + E)^2)`` by the I-MMSE relation);
* ``soft``: the state-evolution potential ``Phi(E) = int_0^E [e - mse(tau(e))] de``, its
  integral written as the Gaussian average ``E int Dw mse(tau(E H(w)))`` (``H(w)`` is uniform on
  (0, 1) for standard Gaussian w); SymPy differentiates it, and the solver uses the equivalent
  ``1 - mse(tau(E))/E = 0`` (tested equal by the contract battery).

Observables: ``mse`` (the fixed point), ``tau`` (``sqrt((Delta + E)/alpha)``), ``mse_t`` (the state
evolution after ``t`` iterations from ``E_0 = rho``, iterated with the compiled derived ``mse``)
and the stability ``1 - d mse(tau(E))/dE`` of the fixed point (AMP converges to it where > 0).
The simulator (:func:`replica.simulators.amp.amp_instance`) runs AMP itself on instances with
P = n unknowns. Tests: tests/test_amp.py.
"""
from __future__ import annotations

import functools
import math

import numpy as np
import sympy
from sympy import Heaviside

from ..errors import ConvergenceError, ParameterError, SimulationError
from ..model import Model, Reference, Stability
from ..params import POSITIVE, Interval, Observable, OrderParameter, Parameter
from ..symbolic import GaussianAverage, H, gaussian_average_closed_form
from .bayes_optimal import UNIT_LEFT_OPEN, BayesOptimal

DENOISERS = ("soft", "bayes")
#: largest number of iterations ``t`` (the state evolution is iterated numerically)
MAX_T = 100_000
#: state-evolution iterations used to reach the fixed point from E_0 = rho before Newton polishes it
SE_ITERATIONS = 2000

_tau, _theta, _rho = sympy.symbols("tau theta rho", positive=True)
_z, _u, _v, _w = sympy.symbols("z u v w", real=True)


def soft_threshold_pieces(r, c):
    """The soft threshold as pieces ``(a, value)``: ``eta(r) = value`` where ``a > 0``, else 0."""
    return [(r - c, r - c), (-r - c, r + c)]


def squared_error(pieces, x):
    """(eta - x)^2 for a piecewise denoiser that is 0 outside its pieces: one Heaviside a term."""
    return x**2 + sum(Heaviside(a) * ((value - x) ** 2 - x**2) for a, value in pieces)


def _tidy(expr):
    """H(-x) -> 1 - H(x), exponentials merged (exp(a) exp(-a) = 1), collected in H and exp."""
    expr = expr.replace(lambda e: isinstance(e, H) and e.args[0].could_extract_minus_sign(),
                        lambda e: 1 - H(-e.args[0]))
    expr = sympy.powsimp(sympy.expand(sympy.powsimp(sympy.expand(expr), combine="exp")), combine="exp")
    return sympy.collect(expr, sorted(expr.atoms(H), key=sympy.default_sort_key)
                         + sorted(expr.atoms(sympy.exp), key=sympy.default_sort_key))


@functools.lru_cache(maxsize=None)
def soft_mse_parts():
    """(zero part, Gaussian part) of mse(tau) for the soft threshold at theta tau, derived by SymPy:
    ``E eta(tau z)^2`` (s0 = 0) and ``E (eta(s0 + tau z) - s0)^2`` for s0 ~ N(0, 1) (module docstring:
    r = s u, s0 = u/s + (tau/s) v). Expressions in the positive symbols tau, theta."""
    zero = gaussian_average_closed_form(GaussianAverage(
        sympy.expand(squared_error(soft_threshold_pieces(_tau * _z, _theta * _tau), 0)), _z))
    s = sympy.sqrt(1 + _tau**2)
    err = squared_error(soft_threshold_pieces(s * _u, _theta * _tau), _u / s + _tau / s * _v)
    inner = gaussian_average_closed_form(GaussianAverage(sympy.expand(err), _v))
    gauss = gaussian_average_closed_form(GaussianAverage(sympy.expand(inner), _u))
    if zero.has(GaussianAverage) or gauss.has(GaussianAverage):
        raise RuntimeError("the soft-threshold MSE has no closed form")  # pragma: no cover
    return _tidy(zero), _tidy(gauss)


def soft_mse(tau, theta, rho):
    """mse(tau) of the soft threshold at theta tau for the Bernoulli-Gauss prior (SymPy expression)."""
    zero, gauss = soft_mse_parts()
    return ((1 - rho) * zero + rho * gauss).subs({_tau: tau, _theta: theta}, simultaneous=True)


def tail_moment(x):
    """m(x) = (1 + x^2) Phi(-x) - x phi(x) = E (Z - x)_+^2 (float)."""
    from scipy.special import ndtr
    return (1 + x * x) * ndtr(-x) - x * math.exp(-x * x / 2) / math.sqrt(2 * math.pi)


def theta_min(alpha: float) -> float:
    """Smallest threshold with a state-evolution fixed point: 2 m(theta) = alpha (0 for alpha >= 1)."""
    from scipy.optimize import brentq
    if alpha >= 1:
        return 0.0
    return brentq(lambda x: 2 * tail_moment(x) - alpha, 0.0, 40.0, xtol=1e-15, rtol=1e-15)


class Amp(Model):
    name = "amp"
    title = "Approximate message passing (soft threshold or Bayes-optimal denoiser) and its state evolution"
    description = ("AMP for y = F s0 + noise with a Bernoulli-Gauss signal of density rho, N = alpha P Gaussian "
                   "measurements of noise variance Delta, with the soft threshold at theta tau (the LASSO AMP of "
                   "Donoho-Maleki-Montanari) or the Bayes-optimal posterior-mean denoiser: the state evolution "
                   "tau_t^2 = (Delta + E_t)/alpha, E_{t+1} = mse(tau_t) derived from the denoiser, its fixed "
                   "point from no information, and the MSE after t iterations; simulated by running AMP on "
                   "instances.")
    parameters = (
        Parameter("alpha", "measurement ratio N/P", POSITIVE, 0.5, latex="alpha"),
        Parameter("rho", "density of non-zero components of the Bernoulli-Gauss signal (1: Gaussian signal)",
                  UNIT_LEFT_OPEN, 0.1, latex="rho"),
        Parameter("Delta", "noise variance of each measurement", POSITIVE, 1e-2, latex="Delta"),
        Parameter("denoiser", "soft: soft threshold at theta tau (LASSO AMP); bayes: posterior mean (Bayes-optimal "
                  "AMP)", default="soft", kind="categorical", choices=DENOISERS),
        Parameter("theta", "soft: threshold in units of the effective noise tau (above theta_min(alpha), where "
                  "2 [(1 + theta^2) H(theta) - theta phi(theta)] = alpha)", POSITIVE, 1.5, latex="theta"),
        Parameter("t", "number of AMP iterations for mse_t (from x = 0)",
                  Interval(0, MAX_T, lower_closed=True, upper_closed=True), 10, kind="integer", latex="t"),
    )
    order_parameters = (
        OrderParameter("E", "mean squared error per component at the state-evolution fixed point",
                       POSITIVE, guesses=(1e-9, 1e-6, 1e-3, 0.03, 0.3)),
    )
    observables = (
        Observable("mse", "MSE per component at the fixed point AMP reaches from no information"),
        Observable("tau", "effective noise of the scalar channel at the fixed point, tau^2 = (Delta + mse)/alpha"),
        Observable("mse_t", "MSE per component after t iterations from x = 0 (state evolution from E_0 = rho)"),
    )
    free_energy_name = "state-evolution potential"
    ansatz = "state evolution (replica symmetric)"
    select = "min"
    simulated_observables = ("mse", "mse_t", "tau")
    finite_size_powers = (1,)
    references = (
        Reference({"denoiser": "bayes", "alpha": 2.0, "rho": 1.0, "Delta": 0.5}, "mse",
                  (-1.5 + math.sqrt(1.5**2 + 4 * 0.5)) / 2, 1e-12,
                  "Gaussian signal: the posterior mean of s0 given s0 + tau Z has MSE tau^2/(1 + tau^2), so the "
                  "fixed point of E = tau^2/(1 + tau^2), tau^2 = (Delta + E)/alpha, is the root of "
                  "E^2 + (alpha + Delta - 1) E - Delta = 0 (Bayati & Montanari, IEEE TIT 57, 764 (2011), state "
                  "evolution)"),
        Reference({"denoiser": "soft", "alpha": 0.5, "rho": 0.1, "Delta": 0.01, "theta": 1.5}, "mse",
                  0.0127224244058574649, 1e-12,
                  "state evolution of Donoho, Maleki & Montanari, PNAS 106, 18914 (2009), tau^2 = sigma^2 + "
                  "E (eta(X + tau Z; theta tau) - X)^2/delta, solved with mpmath quadrature of the soft threshold "
                  "(30 digits) in tests/test_amp.py"),
    )
    quick_compares = ({"params": {"denoiser": "soft", "alpha": 0.5, "rho": 0.1, "Delta": 0.01, "theta": 1.5,
                                  "t": 3}, "n": [250, 500, 1000], "trials": 20, "seed": 1},)
    verify_compares = quick_compares + (
        {"params": {"denoiser": "bayes", "alpha": 0.6, "rho": 0.1, "Delta": 1e-3, "t": 5},
         "n": [500, 1000, 2000], "trials": 10, "seed": 1},)

    # -- derivation --------------------------------------------------------------------
    def _symbols(self):
        s = {p.name: p.symbol for p in self.parameters}
        return s["alpha"], s["rho"], s["Delta"], s["theta"], self.order_parameters[0].symbol

    def tau2(self, E):
        alpha, _, Delta, _, _ = self._symbols()
        return (Delta + E) / alpha

    def scalar_mse(self, choices, E):
        """mse(tau(E)) of the scalar problem for the chosen denoiser (an expression in E)."""
        alpha, rho, Delta, theta, E0 = self._symbols()
        if choices.get("denoiser", "soft") == "soft":
            return soft_mse(sympy.sqrt(self.tau2(E)), theta, rho)
        eq = BayesOptimal().stable_equations({})[0]           # 1 - mmse(alpha/(Delta + E))/E
        return sympy.expand((1 - eq) * E0).subs(E0, E)

    def free_energy(self, choices):
        alpha, rho, Delta, theta, E = self._symbols()
        if choices.get("denoiser", "soft") == "bayes":
            return BayesOptimal().free_energy({})
        # int_0^E mse(tau(e)) de = E int Dw mse(tau(E H(w))): H(w) is uniform on (0, 1)
        return E**2 / 2 - E * GaussianAverage(self.scalar_mse(choices, E * H(_w)), _w)

    def equation_scales(self, choices):
        alpha, rho, Delta, theta, E = self._symbols()
        if choices.get("denoiser", "soft") == "bayes":
            return BayesOptimal().equation_scales({})
        return [1 / E]

    def stable_equations(self, choices):
        """1 - mse(tau(E))/E = 0 (soft: the closed form; bayes: the MMSE as an average of the
        posterior variance, as in bayes-optimal). Tested equal to the derived equations."""
        E = self._symbols()[-1]
        if choices.get("denoiser", "soft") == "bayes":
            return BayesOptimal().stable_equations({})
        return [1 - self.scalar_mse(choices, E) / E]

    def observable_expressions(self, F, choices):
        E = self._symbols()[-1]
        return {"mse": E, "tau": sympy.sqrt(self.tau2(E))}

    def stability(self, F, choices):
        """1 - d mse(tau(E))/dE, the distance of the state-evolution map's slope from one: E times the
        E-derivative of the equation 1 - mse/E at a fixed point. AMP converges to it where > 0."""
        E = self._symbols()[-1]
        eq = self.stable_equations(choices)[0]
        return Stability("1 - slope of the state-evolution map", E * sympy.diff(eq, E),
                         "Bayati & Montanari 2011: AMP follows the state evolution, a 1-d map")

    # -- parameters ----------------------------------------------------------------------
    def validate(self, params):
        rho = params.get("rho")
        if rho is not None and not 0 < float(rho) <= 1:
            raise ParameterError(f"parameter 'rho'={float(rho):g} is out of range; allowed (0, 1]")
        if params.get("denoiser", "soft") == "soft" and params.get("alpha") is not None \
                and params.get("theta") is not None:
            alpha, theta = float(params["alpha"]), float(params["theta"])
            tmin = theta_min(alpha)
            if theta <= tmin:
                raise ParameterError(
                    f"parameter 'theta'={theta:g} is out of range for alpha={alpha:g}; allowed ({tmin:.10g}, inf) "
                    "(below theta_min(alpha), where 2 [(1 + theta^2) H(theta) - theta phi(theta)] = alpha, the "
                    "state evolution diverges: soft-threshold AMP has no fixed point)")

    # -- numerics: the state-evolution map ------------------------------------------------
    def se_map(self, params):
        """The state-evolution map E -> mse(tau(E)) at these parameters (vectorised numpy function)."""
        fn = _compiled_map(params.get("denoiser", "soft"))
        rest = [float(params[p.name]) for p in self.real_parameters]

        def f(E):
            return np.asarray(fn(np.asarray(E, dtype=float), *rest), dtype=float)

        return f

    def iterate(self, params, t: int, E0=None) -> float:
        """E_t: the state evolution iterated t times from E_0 (default rho, no information)."""
        f = self.se_map(params)
        E = float(params["rho"]) if E0 is None else float(E0)
        for _ in range(int(t)):
            E = float(f(E))
        return E

    def amp_fixed_point(self, params) -> float:
        """The fixed point the state evolution reaches from E_0 = rho: iterated, then (bayes) the largest
        root of E - mse(tau(E)) at or below the iterate, bracketed on a logarithmic grid and refined by
        brentq (the iterates decrease to it monotonically: mse(tau(E)) increases with E)."""
        from scipy.optimize import brentq
        f = self.se_map(params)
        E = float(params["rho"])
        for _ in range(SE_ITERATIONS):
            new = float(f(E))
            if not math.isfinite(new):
                raise ConvergenceError(f"amp at {params}: the state evolution gave {new} (E = {E:.17g})")
            done = abs(new - E) <= 1e-14 * E
            E = new
            if done:
                return E
        if params.get("denoiser", "soft") == "soft":
            return E                                    # unique fixed point: Newton finishes
        grid = E * np.geomspace(1.0, 1e-12, 2000)
        g = grid - f(grid)
        below = np.flatnonzero(g < 0)
        if below.size == 0 or below[0] == 0:
            return E
        i = below[0]
        return brentq(lambda e: e - float(f(e)), grid[i], grid[i - 1], xtol=1e-300, rtol=1e-15)

    def starting_points(self, params):
        if params.get("alpha") is None:
            return None
        return [(self.amp_fixed_point(params),)]

    def extra_observables(self, params, solution):
        E = float(solution[0])
        if params.get("denoiser", "soft") == "bayes":
            # the solver starts from AMP's fixed point (starting_points); should it ever end on another
            # stationary point (several coexist in the hard phase), say so instead of reporting it
            E_amp = self.amp_fixed_point(params)
            if abs(E - E_amp) > 1e-8 * E_amp:
                raise ConvergenceError(
                    f"amp (denoiser=bayes) at alpha={params['alpha']:g}, rho={params['rho']:g}, "
                    f"Delta={params['Delta']:g}: the solver selected the stationary point E={E:.10g}, but AMP "
                    f"from no information stops at E={E_amp:.10g} (several fixed points coexist here); solve "
                    "these parameters one point at a time")
        return {"mse_t": self.iterate(params, params["t"])}

    # -- simulation ----------------------------------------------------------------------
    def simulate_trial(self, params, n, rng):
        from ..simulators.amp import amp_instance
        if n < 50:
            raise SimulationError(f"amp simulation: n={n} is out of range; allowed n >= 50 (AMP needs large "
                                  "instances)")
        out = amp_instance(n, float(params["alpha"]), float(params["rho"]), float(params["Delta"]), rng,
                           denoiser=params["denoiser"], theta=float(params["theta"]), t=int(params["t"]))
        return {"mse": out["mse"], "mse_t": out["mse_t"], "tau": out["tau"]}


@functools.lru_cache(maxsize=None)
def _compiled_map(denoiser: str):
    """mse(tau(E)) compiled to numpy in (E, real parameters) (one compilation a denoiser)."""
    from ..numeric import compile_numpy
    model = Amp()
    E = model.order_parameters[0].symbol
    expr = model.scalar_mse({"denoiser": denoiser}, E)
    return compile_numpy(expr, [E] + [p.symbol for p in model.real_parameters])
