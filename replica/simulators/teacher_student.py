"""Finite-size Monte Carlo of teacher-student learning with the spherical perceptron.

Model
-----
``N`` inputs; a teacher ``T`` uniform on the sphere ``|T|^2 = N``; ``P = round(alpha N)``
patterns ``xi_mu ~ N(0, I_N)`` (Python's ``round``: half to even); teacher fields
``v_mu = T . xi_mu / sqrt(N) ~ N(0, 1)``; labels

    y_mu = sign(v_mu + noise * eta_mu),   eta_mu ~ N(0, 1)        (output noise, noise >= 0)

and then each label is flipped independently with probability ``flip`` in ``[0, 1/2)``.
Every instance draws, in this order, ``T`` (``N`` normals, then rescaled), ``xi``
(``P x N``), ``eta`` (``P``) and the flip uniforms (``P``) from the generator passed in,
whatever ``noise`` and ``flip`` are (so instances at different noise levels share their
patterns: common random numbers).

Observables of a student ``w``
------------------------------
* ``R = w . T / (|w| |T|)``.
* ``eps_g = arccos(R) / pi``: the probability that the student disagrees with the
  *noiseless* teacher rule ``sign(v)`` on a fresh Gaussian input ``x``.  (The student
  field ``u = w . x / |w|`` and ``v = T . x / |T|`` are standard normals with correlation
  ``R``; ``P(sign u != sign v) = arccos(R)/pi``, Sheppard's formula.)
* ``eps_g_labels``: the probability that the student disagrees with a fresh *noisy*
  label.  The noisy field ``v + noise * eta`` has variance ``1 + noise^2`` and covariance
  ``R`` with ``u``, so its correlation with ``u`` is ``R / sqrt(1 + noise^2)``; before the
  flips the disagreement is ``e0 = arccos(R / sqrt(1 + noise^2)) / pi``, and a flip
  (independent of everything, probability ``p``) turns an agreement into a disagreement
  and back: ``eps_g_labels = (1 - p) e0 + p (1 - e0) = p + (1 - 2p) e0``
  (:func:`error_rates`).
* ``eps_t``: the fraction of training labels with ``y_mu w . xi_mu <= 0``.

Rules (one function each; :func:`trial` dispatches by name, :func:`trials` runs a batch)
---------------------------------------------------------------------------------------
* ``"gibbs"`` (:func:`gibbs`): zero-temperature Gibbs learning, a uniformly random point
  of the version space ``{w : y_mu w . xi_mu >= 0 for all mu}`` (see *Sampler*).
  Returns the posterior averages of ``R``, ``eps_g``, ``eps_g_labels`` (averages over the
  samples of ``arccos(R_w)/pi`` etc.: the error of a randomly drawn Gibbs student), the
  overlap ``q`` of two independent samples, ``eps_t = 0`` and ``tau_R``.
* ``"bayes"`` (:func:`bayes`): the centre of mass of the version space (the Bayes-optimal
  student for a noiseless teacher), from the same Markov chains (see *Bias of the centre
  of mass*).
* ``"hebb"`` (:func:`hebb`): ``w = sum_mu y_mu xi_mu``.
* ``"max-margin"`` (:func:`max_margin`): the hard-margin SVM without bias,
  :func:`replica.simulators.perceptron.max_margin_solution` (certified NNLS), with
  ``kappa = min_mu y_mu w . xi_mu / sqrt(N)`` at ``|w|^2 = N``.
"gibbs", "bayes" and "max-margin" need a separable training set: guaranteed without
noise (the teacher separates it); with ``noise > 0`` or ``flip > 0`` and large ``alpha`` it
may not be, and :class:`~replica.errors.SimulationError` is raised after the existing
separability LP (:func:`replica.simulators.perceptron.is_separable`) has confirmed it.

Sampler
-------
The direction of a standard Gaussian vector conditioned on a polyhedral cone is uniform
on the cone's part of the sphere (the density is radial and the cone scale-invariant),
so the chains sample ``w ~ N(0, I_N)`` truncated to ``C = {w : Z w >= 0}``,
``Z = diag(y) xi``.  One sweep is

1. a systematic scan of coordinate Gibbs moves: for coordinate ``i`` the fields
   ``h = Z w`` (kept up to date, ``O(P)`` a move) bound the step ``d``:
   ``h_mu + d Z_mu,i >= 0`` gives ``d >= -min_{Z_mu,i > 0} h_mu/Z_mu,i`` and
   ``d <= min_{Z_mu,i < 0} h_mu/|Z_mu,i|``, and the new ``w_i`` is a standard normal
   truncated to that interval, drawn by the inverse CDF (:func:`truncated_normal`:
   exact, vectorised, accurate far in the tails, one uniform per move);
2. a radial move: ``|w|`` is resampled from the chi distribution with ``N`` degrees of
   freedom, keeping the direction (in polar coordinates the target factorises, so this
   is an exact Gibbs step; it costs one uniform and keeps the norm equilibrated, but
   does not shorten ``tau_R``, which only sees the direction);
3. ``h = Z w`` is recomputed from scratch (no drift of the incremental updates).

All chains of an instance start from its max-margin direction, which is strictly inside
the cone (the burn-in removes the memory of this atypical start).  All randomness of a chain comes
from its instance's generator: after the instance is drawn, every sweep takes one
``rng.random((chains, N + 1))`` block, so :func:`trials` (many instances advanced
together, the coordinate loop vectorised over instances and chains) gives each instance
the same result as :func:`trial` with the same generator.

Run length (measured, not guessed)
----------------------------------
``R`` is recorded after every sweep.  Its integrated autocorrelation time ``tau_R`` (in
sweeps, :func:`integrated_autocorrelation_time`: ``tau = 1 + 2 sum_t rho(t)``, so that the
effective number of samples is ``sweeps / tau``; Sokal's ``1/2 + sum_t rho(t)`` is half of
it; the chains' autocovariances about their common mean are averaged, and the window is
Sokal's self-consistent ``W >= 5 tau``) decides the run (default options in brackets):

* the burn-in is ``max(burn_in [50], burn_ratio [5] x tau_R)`` (``tau_R`` first estimated on
  everything after ``burn_in``): the start, the max-margin direction, has an atypically large
  overlap, and it relaxes within ~40 sweeps at ``alpha = 1-5``, ``N <= 100``;
* the run stops once the production part is at least ``tau_ratio [20] x tau_R`` and
  ``min_sweeps [200]`` sweeps long, with ``tau_R`` re-estimated on the production part.  The
  estimate is looked at when the run has grown by 25 % (or has reached the length the last
  estimate asked for), not after every block: ``tau_R`` estimated on a run of a few ``tau``
  is biased low, and stopping at the first small value would bias the run length low;
* a run that reaches ``max_sweeps [20000]`` first raises
  :class:`~replica.errors.SimulationError`.

With fixed ``sweeps`` (and ``burn_in``) the run has exactly that length and the same
criteria are checked at the end (``tau_ratio = 0`` disables the check, e.g. to study short
runs).  The reported ``tau_R`` of one instance is an estimate with a relative error of
roughly ``sqrt(2 (2W + 1) / (chains x sweeps)) ~ 30-50 %``.

Measured ``tau_R`` (noiseless teacher; 8 instances, 4 chains of 3000-5000 sweeps each):
``N = 50``: 19 sweeps at ``alpha = 1``, 45 at ``alpha = 2``; ``N = 100``: 30, 62 and 120 at
``alpha = 1, 2, 5`` (instance to instance spread about +-40 %); ``N = 200, alpha = 1``: ~55.
In Sokal's convention these are half as large (NUMERICS.md quotes ~23 and ~54 sweeps at
``alpha = 2`` and 5).  The radial move does not change ``tau_R`` (62 without it at
``N = 100, alpha = 2``): the slow mode is the direction, not the norm.  A default run
therefore takes ``~(5 + 20) tau_R`` sweeps: ~750 at ``N = 100``, ~1400-2700 at
``N = 200, alpha = 1``.

Bias of the centre of mass
--------------------------
A chain average ``m = (1/M) sum_t w_t/|w_t|`` estimates the centre of mass ``c`` (unit
vectors: ``|c|^2 = q``) with noise ``n = m - c`` of size ``E|n|^2 ~ (1 - q) tau / M``, and
the plug-in overlap ``m . T / (|m| |T|)`` is biased low because ``E|m|^2 = |c|^2 + E|n|^2``
(a relative bias ``~ (1 - q) tau / (2 q M)``, not small in ``N``).  With ``K >= 2``
independent chains the cross products are unbiased, ``E[m_k . m_l] = |c|^2`` for
``k != l``, so :func:`bayes` returns

    R = mean_k(m_k . T/|T|) / sqrt(mean_{k<l} m_k . m_l),

whose remaining bias is second order in the chain noise projected on ``c``
(``O(tau/(N M))``).  The plug-in value is reported as ``R_plugin`` for comparison; the
tests check that ``R`` does not depend on the run length while ``R_plugin`` does.

Cost
----
One coordinate move is ~20 small NumPy calls whatever the batch, so a sweep of one instance
(4 chains) costs ``N`` times the call overhead: ~16 ms at ``N = 200`` on the 2-core CI
machine; :func:`trials` advances many instances with the same calls (3.5 ms per
instance-sweep with 8 instances, ~5x faster), and either is ~50-230x faster than a Python
loop that calls ``scipy.stats.truncnorm.rvs`` per move (measured by
``benchmarks/bench_teacher_student_sim.py``).  A default-length ``gibbs`` instance at
``N = 200, alpha = 1`` (~2700 sweeps of 4 chains) took 10-30 s batched and ~55 s alone on
the shared machine.
"""

from __future__ import annotations

import math
import numbers

import numpy as np
from scipy.special import gammaincinv, log_ndtr, ndtri_exp

from ..errors import ParameterError, SimulationError
from . import perceptron as _pc

__all__ = [
    "RULES",
    "Instance",
    "draw_instance",
    "error_rates",
    "truncated_normal",
    "integrated_autocorrelation_time",
    "sample_version_space",
    "centre_of_mass_overlap",
    "gibbs",
    "bayes",
    "hebb",
    "max_margin",
    "trial",
    "trials",
]

RULES = ("gibbs", "bayes", "hebb", "max-margin")

#: stand-in for "no constraint" in the per-coordinate bound arrays: finite, so that a field
#: that is exactly zero gives 0 (not nan) and the bound stays finite
_BIG = 1e200
#: uniforms are shifted into (0, 1): u = 0 would put a sample exactly on an infinite bound
_U_SHIFT = 2.0**-54
#: adaptive runs re-estimate tau_R when the run has grown by this factor (or to the length asked for)
_CHECK_GROWTH = 1.25
#: recomputed fields below -_FEASIBLE_TOL * max|Z| mean the chain left the cone (a bug)
_FEASIBLE_TOL = 1e-9

_MCMC_DEFAULTS = {
    "gibbs": dict(chains=4, burn_in=50, sweeps=None, min_sweeps=200, max_sweeps=20_000, tau_ratio=20.0,
                  burn_ratio=5.0, block=10, batch_size=None),
    "bayes": dict(chains=4, burn_in=50, sweeps=None, min_sweeps=200, max_sweeps=20_000, tau_ratio=20.0,
                  burn_ratio=5.0, block=10, batch_size=None),
}


# --------------------------------------------------------------------------
# validation
# --------------------------------------------------------------------------
def _real(name, value, allowed):
    if isinstance(value, bool):
        raise ParameterError(f"{name}={value!r} is out of range; allowed: {allowed}")
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise ParameterError(f"{name}={value!r} is out of range; allowed: {allowed}") from None
    if not math.isfinite(x):
        raise ParameterError(f"{name}={value!r} is out of range; allowed: {allowed}")
    return x


def _check_params(n, alpha, noise, flip) -> tuple[int, float, float, float, int]:
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 2:
        raise ParameterError(f"n={n!r} is out of range; allowed: an integer >= 2")
    a = _real("alpha", alpha, "a finite real number > 0")
    if not a > 0:
        raise ParameterError(f"alpha={alpha!r} is out of range; allowed: a finite real number > 0")
    s = _real("noise", noise, "a finite real number >= 0")
    if not s >= 0:
        raise ParameterError(f"noise={noise!r} is out of range; allowed: a finite real number >= 0")
    p = _real("flip", flip, "a real number in [0, 1/2)")
    if not 0 <= p < 0.5:
        raise ParameterError(f"flip={flip!r} is out of range; allowed: a real number in [0, 1/2)")
    n = int(n)
    count = int(round(a * n))
    if count < 1:
        raise ParameterError(f"alpha={alpha!r} is out of range at n={n}; allowed: alpha * n >= 0.5 "
                             f"(P = round(alpha n) must be at least one pattern)")
    return n, a, s, p, count


def _check_rng(rng) -> np.random.Generator:
    if not isinstance(rng, np.random.Generator):
        raise ParameterError(f"rng={rng!r} is not allowed; allowed: a numpy.random.Generator")
    return rng


def _check_int_option(name, value, minimum, allow_none=False):
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        extra = " or None" if allow_none else ""
        raise ParameterError(f"{name}={value!r} is out of range; allowed: an integer >= {minimum}{extra}")
    return int(value)


def _mcmc_options(rule, options) -> dict:
    defaults = _MCMC_DEFAULTS[rule]
    unknown = sorted(set(options) - set(defaults))
    if unknown:
        raise ParameterError(f"unknown option(s) {unknown} for rule {rule!r}; allowed: {sorted(defaults)}")
    o = {**defaults, **options}
    o["chains"] = _check_int_option("chains", o["chains"], 2)
    o["burn_in"] = _check_int_option("burn_in", o["burn_in"], 0)
    o["sweeps"] = _check_int_option("sweeps", o["sweeps"], 1, allow_none=True)
    o["min_sweeps"] = _check_int_option("min_sweeps", o["min_sweeps"], 1)
    o["max_sweeps"] = _check_int_option("max_sweeps", o["max_sweeps"], 1)
    o["block"] = _check_int_option("block", o["block"], 1)
    o["batch_size"] = _check_int_option("batch_size", o["batch_size"], 1, allow_none=True)
    for key in ("tau_ratio", "burn_ratio"):
        x = _real(key, o[key], "a finite real number >= 0")
        if x < 0:
            raise ParameterError(f"{key}={o[key]!r} is out of range; allowed: a finite real number >= 0")
        o[key] = x
    if o["sweeps"] is None and o["burn_in"] + 1 > o["max_sweeps"]:
        raise ParameterError(f"max_sweeps={o['max_sweeps']} is out of range; allowed: an integer > burn_in "
                             f"= {o['burn_in']}")
    return o


# --------------------------------------------------------------------------
# instances and observables
# --------------------------------------------------------------------------
class Instance:
    """One teacher-student training set.

    Attributes: ``teacher`` (``N``, ``|T|^2 = N``), ``xi`` (``P x N``), ``v`` (teacher fields
    ``T . xi_mu / sqrt N``), ``y`` (labels +-1 as floats), ``noise``, ``flip``.
    """

    __slots__ = ("teacher", "xi", "v", "y", "noise", "flip")

    def __init__(self, teacher, xi, v, y, noise, flip):
        self.teacher, self.xi, self.v, self.y = teacher, xi, v, y
        self.noise, self.flip = noise, flip

    @property
    def n(self) -> int:
        return self.xi.shape[1]

    @property
    def p(self) -> int:
        return self.xi.shape[0]

    def overlap(self, w) -> float:
        """``R = w . T / (|w| |T|)`` (``nan`` for ``w = 0``)."""
        w = np.asarray(w, dtype=float)
        norm = float(np.linalg.norm(w))
        if norm == 0:
            return math.nan
        return float(w @ self.teacher) / (norm * math.sqrt(self.n))

    def training_error(self, w) -> float:
        """Fraction of patterns with ``y_mu w . xi_mu <= 0``."""
        return float(np.mean(self.y * (self.xi @ np.asarray(w, dtype=float)) <= 0))


def draw_instance(n: int, alpha: float, rng: np.random.Generator, noise: float = 0.0,
                  flip: float = 0.0) -> Instance:
    """Draw teacher, patterns and noisy labels (module docstring, *Model*)."""
    n, _, noise, flip, p = _check_params(n, alpha, noise, flip)
    _check_rng(rng)
    return _draw(n, p, rng, noise, flip)


def _draw(n, p, rng, noise, flip) -> Instance:
    t = rng.standard_normal(n)
    t *= math.sqrt(n) / np.linalg.norm(t)
    xi = rng.standard_normal((p, n))
    eta = rng.standard_normal(p)
    flips = rng.random(p) < flip
    v = xi @ t / math.sqrt(n)
    y = np.where(v + noise * eta >= 0, 1.0, -1.0)
    y[flips] *= -1.0
    return Instance(t, xi, v, y, noise, flip)


def error_rates(R, noise: float = 0.0, flip: float = 0.0):
    """``(eps_g, eps_g_labels)`` of a student with teacher overlap ``R`` (array or scalar).

    ``eps_g = arccos(R)/pi``; ``eps_g_labels = p + (1 - 2p) arccos(R/sqrt(1+noise^2))/pi``
    (derivation in the module docstring).
    """
    R = np.clip(np.asarray(R, dtype=float), -1.0, 1.0)
    eps = np.arccos(R) / math.pi
    e0 = np.arccos(R / math.sqrt(1.0 + noise * noise)) / math.pi
    lab = flip + (1.0 - 2.0 * flip) * e0
    if eps.ndim == 0:
        return float(eps), float(lab)
    return eps, lab


def _observables(inst: Instance, w) -> dict:
    R = inst.overlap(w)
    eps, lab = error_rates(R, inst.noise, inst.flip)
    return {"R": R, "eps_g": eps, "eps_g_labels": lab, "eps_t": inst.training_error(w)}


# --------------------------------------------------------------------------
# the simple rules
# --------------------------------------------------------------------------
def hebb(n: int, alpha: float, rng: np.random.Generator, noise: float = 0.0, flip: float = 0.0) -> dict:
    """Hebb rule ``w = sum_mu y_mu xi_mu``: ``R``, ``eps_g``, ``eps_g_labels``, ``eps_t``."""
    inst = draw_instance(n, alpha, rng, noise, flip)
    return _observables(inst, inst.y @ inst.xi)


def _max_margin_of(inst: Instance, rule: str) -> tuple[float, np.ndarray]:
    try:
        kappa, w = _pc.max_margin_solution(inst.xi, inst.y)
    except RuntimeError as exc:                    # not certified (near the separability threshold)
        kappa, w, failure = -math.inf, None, exc
    else:
        failure = None
    if kappa > 0:
        return kappa, w
    where = (f"N={inst.n}, P={inst.p}, alpha={inst.p / inst.n:g}, noise={inst.noise}, flip={inst.flip}")
    if _pc.is_separable(inst.xi, inst.y):
        # The LP finds a margin that the max-margin solver did not certify: no usable optimum.
        raise SimulationError(f"{rule}: the max-margin solver failed on a separable instance ({where}): "
                              f"{failure or 'no positive margin found'}")
    raise SimulationError(
        f"{rule}: the training set is not linearly separable ({where}; confirmed by the LP), so the version "
        "space is empty: use a smaller alpha or less label noise")


def max_margin(n: int, alpha: float, rng: np.random.Generator, noise: float = 0.0, flip: float = 0.0) -> dict:
    """Hard-margin SVM without bias: ``R``, ``kappa``, ``eps_g``, ``eps_g_labels``, ``eps_t`` (= 0).

    ``kappa = min_mu y_mu w . xi_mu / sqrt(N)`` with ``|w|^2 = N``.  Raises
    :class:`SimulationError` if the training set is not separable (checked with the LP).
    """
    inst = draw_instance(n, alpha, rng, noise, flip)
    kappa, w = _max_margin_of(inst, "max-margin")
    out = _observables(inst, w)
    out["kappa"] = float(kappa)
    return out


# --------------------------------------------------------------------------
# truncated normal and autocorrelation
# --------------------------------------------------------------------------
def truncated_normal(a, b, u):
    """Standard normal truncated to ``[a, b]`` at uniform(s) ``u`` by the inverse CDF.

    Vectorised (``a``, ``b``, ``u`` broadcast; ``a <= b``, infinite bounds allowed,
    ``0 < u < 1``).  The interval is mirrored so that its midpoint is ``>= 0`` and the
    upper-tail CDF ``S(x) = P(Z > x)`` is inverted in log space,

        log S(x) = log((1 - u) S(a) + u S(b)) = logaddexp(log1p(-u) + log S(a), log(u) + log S(b)),
        x = -ndtri_exp(log S(x)),      log S = log_ndtr(-x),

    (with ``u -> 1 - u`` in the mirrored frame, so that ``x`` is the ``u``-quantile), which
    has no cancellation and no underflow: intervals far in a tail (``a = 300``) and
    draws far in the lower tail of a straddling interval (``u = 1e-12``) keep full relative
    precision.  (The mirror matters: for an interval deep in the lower tail ``S`` would be
    ``1 - tiny``.)  The result is clipped to ``[a, b]`` (rounding).
    """
    a, b, u = np.broadcast_arrays(np.asarray(a, float), np.asarray(b, float), np.asarray(u, float))
    with np.errstate(invalid="ignore"):
        mirror = (a + b) < 0                     # (-inf, inf): nan, not mirrored
    lo = np.where(mirror, -b, a)
    hi = np.where(mirror, -a, b)
    with np.errstate(divide="ignore"):
        log_u, log_1mu = np.log(u), np.log1p(-u)
    # mirrored: the quantile u of x is the quantile 1 - u of -x
    x = _tn_upper(log_ndtr(-lo), log_ndtr(-hi), np.where(mirror, log_1mu, log_u), np.where(mirror, log_u, log_1mu))
    x = np.minimum(np.maximum(x, lo), hi)
    x = np.where(mirror, -x, x)
    return x if x.ndim else float(x)


def _tn_upper(la, lb, log_u, log_1mu):
    """Inverse upper-tail CDF: -ndtri_exp(log((1-u) e^la + u e^lb)), la = log S(lower end) >= lb."""
    return -ndtri_exp(np.logaddexp(log_1mu + la, log_u + lb))


def integrated_autocorrelation_time(x, window_factor: float = 5.0) -> float:
    """Integrated autocorrelation time ``tau = 1 + 2 sum_{t=1}^{W} rho(t)`` of a series.

    ``x``: shape ``(T,)`` or ``(chains, T)`` (independent chains of the same process: their
    autocovariances, about the common mean, are averaged).  ``W`` is the smallest lag with
    ``W >= window_factor * tau(W)`` (Sokal's automatic window).  ``tau = 1`` for independent
    samples; the effective number of samples is ``chains * T / tau``.  A constant series
    returns 1.
    """
    x = np.atleast_2d(np.asarray(x, dtype=float))
    k, t = x.shape
    if t < 2:
        raise ValueError(f"need at least 2 samples per chain, got {t}")
    y = x - x.mean()
    size = 1 << (2 * t - 1).bit_length()
    f = np.fft.rfft(y, n=size, axis=1)
    acov = np.fft.irfft(f * np.conj(f), n=size, axis=1)[:, :t].mean(axis=0) / t
    if not acov[0] > 0:
        return 1.0
    rho = acov / acov[0]
    taus = 2.0 * np.cumsum(rho) - 1.0
    lags = np.arange(t)
    ok = lags >= window_factor * taus
    w = int(np.argmax(ok)) if ok.any() else t - 1
    return float(taus[w])


# --------------------------------------------------------------------------
# the version-space sampler (batched over instances and chains)
# --------------------------------------------------------------------------
class _ConeSampler:
    """Coordinate Gibbs sampler of N(0, I) truncated to {w : Z_b w >= 0} for a batch of cones.

    Arrays: ``w`` (B, K, N) states, ``h`` (B, K, P) fields ``Z w``, ``zt`` (B, N, P) = Z^T,
    ``inv`` (B, N, 2, P) with ``inv[b, i, 0, mu] = 1/Z_mu,i`` where ``Z_mu,i > 0`` and
    ``inv[b, i, 1, mu] = 1/|Z_mu,i|`` where ``Z_mu,i < 0`` (``_BIG`` elsewhere), so one
    product and one minimum give both bounds of a move for every instance and chain.
    """

    _SIGNS = np.array([-1.0, 1.0])

    def __init__(self, z, starts, chains):
        z = np.asarray(z, dtype=float)                       # (B, P, N)
        self.b, self.p, self.n = z.shape
        self.k = chains
        self.zt = np.ascontiguousarray(z.transpose(0, 2, 1))
        inv = np.full((self.b, self.n, 2, self.p), _BIG)
        with np.errstate(divide="ignore"):
            r = 1.0 / self.zt
        pos, neg = self.zt > 0, self.zt < 0
        inv[:, :, 0, :][pos] = r[pos]
        inv[:, :, 1, :][neg] = -r[neg]
        self.inv = inv
        self.scale = np.max(np.abs(self.zt), axis=(1, 2))    # (B,)
        w0 = np.asarray(starts, dtype=float)                 # (B, N)
        w0 = w0 * (math.sqrt(self.n) / np.linalg.norm(w0, axis=1, keepdims=True))
        self.w = np.repeat(w0[:, None, :], chains, axis=1)
        self.h = np.empty((self.b, chains, self.p))
        self._refresh_fields()

    def select(self, keep):
        """Keep only the instances ``keep`` (indices) in the batch."""
        for name in ("zt", "inv", "scale", "w", "h"):
            setattr(self, name, getattr(self, name)[keep])
        self.b = self.w.shape[0]

    def _refresh_fields(self):
        np.matmul(self.w, self.zt, out=self.h)
        worst = np.min(self.h, axis=(1, 2))
        if np.any(worst < -_FEASIBLE_TOL * self.scale):
            raise RuntimeError(f"version-space chain left the cone: min field {worst.min():.3g}")
        np.maximum(self.h, 0.0, out=self.h)

    def sweep(self, u):
        """One sweep with uniforms ``u`` of shape (B, K, N + 1) in (0, 1)."""
        w, h, zt, inv, signs = self.w, self.h, self.zt, self.inv, self._SIGNS
        log_u, log_1mu = np.log(u), np.log1p(-u)
        neg_sum = np.array([-1.0, -1.0])
        prod = np.empty((self.b, self.k, 2, self.p))
        step = np.empty((self.b, self.k, self.p))
        for i in range(self.n):
            # bounds of the move: m = (-lower step, upper step) >= 0, ends = [a, b] of the new w_i
            np.multiply(h[:, :, None, :], inv[:, None, i], out=prod)
            m = np.maximum(prod.min(axis=3), 0.0)
            x = w[:, :, i]
            ends = x[..., None] + m * signs
            # truncated normal as in truncated_normal: in the frame x -> -s x, s = -sign(a + b),
            # the midpoint is >= 0 and log S of the lower end is the larger of the two
            s = np.copysign(1.0, ends @ neg_sum)
            ls = log_ndtr(ends * s[..., None])
            la = np.maximum(ls[..., 0], ls[..., 1])
            lb = np.minimum(ls[..., 0], ls[..., 1])
            new = ndtri_exp(np.logaddexp(log_1mu[:, :, i] + la, log_u[:, :, i] + lb)) * s
            new = np.minimum(np.maximum(new, ends[..., 0]), ends[..., 1])
            np.multiply((new - x)[..., None], zt[:, None, i], out=step)
            w[:, :, i] = new
            h += step
        # radial move: |w| ~ chi_N, direction kept
        norm = np.sqrt(np.einsum("bkn,bkn->bk", w, w))
        radius = np.sqrt(2.0 * gammaincinv(0.5 * self.n, u[:, :, self.n]))
        w *= (radius / norm)[..., None]
        self._refresh_fields()

    def unit(self):
        return self.w / np.linalg.norm(self.w, axis=2, keepdims=True)


def _start_direction(inst: Instance, rule: str) -> np.ndarray:
    kappa, w = _max_margin_of(inst, rule)
    return w


def sample_version_space(xi, y, rng: np.random.Generator, *, chains: int = 1, sweeps: int = 100,
                         burn_in: int = 0, start=None) -> np.ndarray:
    """States of ``chains`` coordinate-Gibbs chains for ``N(0, I)`` truncated to the version space.

    ``xi`` (``P x N``), ``y`` (+-1); ``start`` a strictly feasible vector (default: the
    max-margin solution).  Returns an array ``(chains, sweeps, N)``: the state after each
    sweep following ``burn_in`` discarded sweeps.  Each sweep takes one
    ``rng.random((chains, N + 1))`` block.  Raises :class:`SimulationError` if the data
    are not separable.
    """
    _check_rng(rng)
    try:
        z = _pc._signed_patterns(xi, y)
    except ValueError as exc:
        raise ParameterError(str(exc)) from None
    chains = _check_int_option("chains", chains, 1)
    sweeps = _check_int_option("sweeps", sweeps, 1)
    burn_in = _check_int_option("burn_in", burn_in, 0)
    p, n = z.shape
    if start is None:
        kappa, start = _pc.max_margin_solution(xi, y)
        if not kappa > 0:
            raise SimulationError("the training set is not linearly separable: the version space is empty")
    start = np.asarray(start, dtype=float)
    if start.shape != (n,) or not np.min(z @ start) > 0:
        raise ParameterError(f"start must be a vector of shape ({n},) strictly inside the version space")
    s = _ConeSampler(z[None], start[None], chains)
    out = np.empty((chains, sweeps, n))
    for t in range(burn_in + sweeps):
        s.sweep((rng.random((chains, n + 1)) + _U_SHIFT)[None])
        if t >= burn_in:
            out[:, t - burn_in] = s.w[0]
    return out


class _Trace:
    """Per-instance record of a run: R and q every sweep, unit-vector sums every block."""

    def __init__(self, inst: Instance, rng, chains):
        self.inst, self.rng, self.k = inst, rng, chains
        self.that = inst.teacher / math.sqrt(inst.n)
        self.R = []          # per sweep: (K,)
        self.q = []          # per sweep: mean pair overlap
        self.block_sums = [] # per block: (K, N) sums of unit vectors
        self.block_len = []
        self.next_check = 0
        self.result = None


def _pair_mean(gram):
    k = gram.shape[-1]
    iu = np.triu_indices(k, 1)
    return gram[..., iu[0], iu[1]].mean(axis=-1)


def _decide(tr: _Trace, o) -> tuple[bool, int, float]:
    """(finished?, burn-in, tau) for a trace of len(tr.R) sweeps (module docstring, *Run length*)."""
    total = len(tr.R)
    if o["sweeps"] is not None:
        burn = o["burn_in"]
        if total < burn + o["sweeps"]:
            return False, burn, math.nan
        return True, burn, integrated_autocorrelation_time(np.asarray(tr.R).T[:, burn:])
    b0 = o["burn_in"]
    if total < max(tr.next_check, b0 + o["min_sweeps"]):
        return False, b0, math.nan
    burn, tau = _burn_and_tau(np.asarray(tr.R).T, b0, o)
    if total - burn >= o["tau_ratio"] * tau and burn >= o["burn_ratio"] * tau and total - burn >= o["min_sweeps"]:
        return True, burn, tau
    # next look: 25 % longer, or the length this estimate asks for if that is more (few looks:
    # stopping at the first small estimate of tau would bias tau, and the run length, low)
    need = max(burn, math.ceil(o["burn_ratio"] * tau)) + max(o["min_sweeps"], math.ceil(o["tau_ratio"] * tau))
    tr.next_check = max(math.ceil(_CHECK_GROWTH * total), need)
    return False, burn, tau


def _burn_and_tau(r, b0, o):
    """Burn-in of at least burn_ratio tau, tau re-estimated after it (a few rounds: the estimate
    after the burn-in may exceed the one that set it, and the burn-in must follow it up)."""
    tau = integrated_autocorrelation_time(r[:, b0:])
    burn = max(b0, o["block"] * math.ceil(o["burn_ratio"] * tau / o["block"]))
    for _ in range(4):
        if r.shape[1] - burn < o["min_sweeps"]:
            break
        tau = integrated_autocorrelation_time(r[:, burn:])
        if burn >= o["burn_ratio"] * tau:
            break
        burn = o["block"] * math.ceil(o["burn_ratio"] * tau / o["block"])
    return burn, tau


def _finish(tr: _Trace, rule, o, burn, tau) -> dict:
    inst = tr.inst
    total = len(tr.R)
    prod = total - burn
    if o["tau_ratio"] > 0 and (prod < o["tau_ratio"] * tau or burn < o["burn_ratio"] * tau):
        raise SimulationError(
            f"{rule}: chains too short for their autocorrelation time: tau_R = {tau:.3g} sweeps, burn-in {burn}, "
            f"production {prod} sweeps (need burn-in >= {o['burn_ratio']:g} tau and production >= "
            f"{o['tau_ratio']:g} tau; N={inst.n}, P={inst.p}); raise max_sweeps (or sweeps/burn_in)")
    rs = np.asarray(tr.R)[burn:]                              # (prod, K)
    out = {"tau_R": float(tau), "sweeps": int(prod), "burn_in": int(burn), "chains": int(tr.k)}
    if rule == "gibbs":
        eps, lab = error_rates(rs, inst.noise, inst.flip)
        out.update(R=float(rs.mean()), q=float(np.mean(tr.q[burn:])), eps_g=float(eps.mean()),
                   eps_g_labels=float(lab.mean()), eps_t=0.0)
        return out
    # bayes: chain means of unit vectors over the production blocks
    nb = burn // o["block"]
    m = np.sum(tr.block_sums[nb:], axis=0) / prod             # (K, N)
    R, plugin = centre_of_mass_overlap(m, inst.teacher)
    if math.isnan(R):
        raise SimulationError("bayes: the chain averages are uncorrelated (mean cross product <= 0); "
                              "run longer chains")
    R = min(R, 1.0)
    eps, lab = error_rates(R, inst.noise, inst.flip)
    out.update(R=R, R_plugin=plugin, eps_g=eps, eps_g_labels=lab,
               eps_t=inst.training_error(m.mean(axis=0)))
    return out


def centre_of_mass_overlap(chain_means, teacher) -> tuple[float, float]:
    """Overlap with ``teacher`` of the centre of mass estimated by ``K >= 2`` chain averages.

    ``chain_means``: ``(K, N)`` averages of unit vectors from independent chains.  Returns
    ``(R, R_plugin)``: ``R = mean_k(m_k . T^) / sqrt(mean_{k<l} m_k . m_l)`` (the cross
    products are unbiased for ``|c|^2``) and the plug-in overlap of the pooled average
    (biased low by the chain noise, module docstring).  ``R`` is ``nan`` if the mean cross
    product is not positive (chains far too short).
    """
    m = np.atleast_2d(np.asarray(chain_means, dtype=float))
    t = np.asarray(teacher, dtype=float)
    if m.shape[0] < 2 or m.shape[1] != t.shape[0]:
        raise ValueError(f"chain_means must have shape (K >= 2, {t.shape[0]}), got {m.shape}")
    that = t / np.linalg.norm(t)
    num = float(np.mean(m @ that))
    cross = float(_pair_mean(m @ m.T))
    pooled = m.mean(axis=0)
    plugin = float(pooled @ that / np.linalg.norm(pooled))
    return (num / math.sqrt(cross) if cross > 0 else math.nan), plugin


def _run_mcmc(rule, instances, rngs, o) -> list[dict]:
    traces = [_Trace(inst, rng, o["chains"]) for inst, rng in zip(instances, rngs)]
    starts = np.array([_start_direction(inst, rule) for inst in instances])
    z = np.array([inst.y[:, None] * inst.xi for inst in instances])
    k, n, block = o["chains"], instances[0].n, o["block"]
    bayes_rule = rule == "bayes"
    sampler = _ConeSampler(z, starts, k)
    active = list(range(len(traces)))
    that = np.array([tr.that for tr in traces])[..., None]   # (B, N, 1), follows the active set
    limit = o["max_sweeps"] if o["sweeps"] is None else o["burn_in"] + o["sweeps"]
    sweep = 0
    while active:
        sums = np.zeros((len(active), k, n)) if bayes_rule else None
        for _ in range(block):
            if sweep >= limit:
                break
            u = np.stack([traces[j].rng.random((k, n + 1)) for j in active]) + _U_SHIFT
            sampler.sweep(u)
            sweep += 1
            unit = sampler.unit()
            rr = unit @ that
            qq = _pair_mean(unit @ unit.transpose(0, 2, 1))
            for idx, j in enumerate(active):
                traces[j].R.append(rr[idx, :, 0])
                traces[j].q.append(qq[idx])
            if bayes_rule:
                sums += unit
        keep = []
        for idx, j in enumerate(active):
            tr = traces[j]
            if bayes_rule:
                tr.block_sums.append(sums[idx])
            finished, burn, tau = _decide(tr, o)
            if not finished and sweep >= limit:
                finished = True
                if o["sweeps"] is None:
                    burn, tau = _burn_and_tau(np.asarray(tr.R).T, o["burn_in"], o)
                elif math.isnan(tau):
                    tau = integrated_autocorrelation_time(np.asarray(tr.R).T[:, burn:])
            if finished:
                tr.result = _finish(tr, rule, o, burn, tau)
            else:
                keep.append(idx)
        if len(keep) < len(active):
            sampler.select(keep)
            that = that[keep]
            active = [active[i] for i in keep]
    return [tr.result for tr in traces]


def _mcmc_batched(rule, n, alpha, rngs, noise, flip, options) -> list[dict]:
    n, _, noise, flip, p = _check_params(n, alpha, noise, flip)
    o = _mcmc_options(rule, options)
    if o["sweeps"] is not None and o["sweeps"] % o["block"] and rule == "bayes":
        raise ParameterError(f"sweeps={o['sweeps']} is not allowed for rule 'bayes'; allowed: a multiple of "
                             f"block={o['block']}")
    if rule == "bayes" and o["burn_in"] % o["block"]:
        raise ParameterError(f"burn_in={o['burn_in']} is not allowed for rule 'bayes'; allowed: a multiple of "
                             f"block={o['block']}")
    rngs = [_check_rng(r) for r in rngs]
    size = o["batch_size"] or max(1, min(64, 4_000_000 // (n * p)))
    results = []
    for start in range(0, len(rngs), size):
        chunk = rngs[start:start + size]
        instances = [_draw(n, p, r, noise, flip) for r in chunk]
        results.extend(_run_mcmc(rule, instances, chunk, o))
    return results


def gibbs(n: int, alpha: float, rng: np.random.Generator, noise: float = 0.0, flip: float = 0.0,
          **options) -> dict:
    """Zero-temperature Gibbs learning: a uniform random point of the version space.

    Returns ``R``, ``q``, ``eps_g``, ``eps_g_labels`` (posterior averages over the production
    sweeps and chains), ``eps_t`` (0), ``tau_R`` (sweeps), ``sweeps`` (production sweeps per
    chain), ``burn_in``, ``chains``.  Options (module docstring, *Run length*): ``chains=4``,
    ``burn_in=50``, ``sweeps=None`` (adaptive), ``min_sweeps=200``, ``max_sweeps=20000``,
    ``tau_ratio=20``, ``burn_ratio=5``, ``block=10`` (sweeps between recordings of the
    centre-of-mass sums and between looks at ``tau_R``), ``batch_size`` (:func:`trials`).
    Raises :class:`SimulationError` if the training set is not separable or the run cannot
    reach the required length within ``max_sweeps``.
    """
    _check_rng(rng)
    return _mcmc_batched("gibbs", n, alpha, [rng], noise, flip, options)[0]


def bayes(n: int, alpha: float, rng: np.random.Generator, noise: float = 0.0, flip: float = 0.0,
          **options) -> dict:
    """Centre of mass of the version space (Bayes-optimal for a noiseless teacher).

    Returns ``R`` (the cross-chain estimator of the module docstring), ``R_plugin`` (the
    biased plug-in overlap of the pooled chain average), ``eps_g``, ``eps_g_labels`` (of
    ``R``), ``eps_t`` (of the pooled average), ``tau_R``, ``sweeps``, ``burn_in``,
    ``chains``.  Same options as :func:`gibbs`; ``burn_in`` and a fixed ``sweeps`` must be
    multiples of ``block``.
    """
    _check_rng(rng)
    return _mcmc_batched("bayes", n, alpha, [rng], noise, flip, options)[0]


_SIMPLE = {"hebb": hebb, "max-margin": max_margin}


def _check_rule(rule):
    if rule not in RULES:
        raise ParameterError(f"rule={rule!r} is unknown; allowed: one of {', '.join(map(repr, RULES))}")


def trial(rule: str, n: int, alpha: float, rng: np.random.Generator, noise: float = 0.0, flip: float = 0.0,
          **options) -> dict:
    """One instance of ``rule`` (``"gibbs"``, ``"bayes"``, ``"hebb"``, ``"max-margin"``): its observables."""
    _check_rule(rule)
    _check_rng(rng)
    if rule in _SIMPLE:
        if options:
            raise ParameterError(f"unknown option(s) {sorted(options)} for rule {rule!r}; allowed: none")
        return _SIMPLE[rule](n, alpha, rng, noise, flip)
    return _mcmc_batched(rule, n, alpha, [rng], noise, flip, options)[0]


def trials(rule: str, n: int, alpha: float, rngs, noise: float = 0.0, flip: float = 0.0, **options) -> list[dict]:
    """Independent instances, one per generator in ``rngs``: ``[trial(rule, n, alpha, r, ...) for r in rngs]``.

    The Markov-chain rules advance up to ``batch_size`` instances together (default: as many
    as fit ``4e6`` pattern entries, at most 64), which is much faster than a loop and gives
    each instance the result :func:`trial` gives with the same generator (to rounding).
    """
    _check_rule(rule)
    rngs = list(rngs)
    if rule in _SIMPLE:
        if options:
            raise ParameterError(f"unknown option(s) {sorted(options)} for rule {rule!r}; allowed: none")
        return [_SIMPLE[rule](n, alpha, _check_rng(r), noise, flip) for r in rngs]
    return _mcmc_batched(rule, n, alpha, rngs, noise, flip, options)
