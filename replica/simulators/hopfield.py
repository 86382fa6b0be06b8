"""Finite-size Hopfield network: zero-temperature retrieval dynamics from a stored pattern.

Model
-----
N neurons ``s_i = +-1``, P random patterns ``xi^mu_i = +-1`` (independent, fair), Hebbian
couplings ``J_ij = (1/N) sum_mu xi^mu_i xi^mu_j`` for ``i != j`` and ``J_ii = 0`` (Hopfield
1982; the couplings of Amit, Gutfreund and Sompolinsky, Ann. Phys. 173, 30 (1987)). The local
field of neuron ``i`` is ``h_i = sum_j J_ij s_j``.

Dynamics
--------
Zero temperature, asynchronous, random sequential: each sweep visits the neurons in a fresh
random order and sets ``s_i = sign(h_i)`` with the field computed from the current state
(a neuron with ``h_i = 0`` keeps its state). With symmetric couplings and zero diagonal every
flip lowers the energy ``-1/2 sum_ij J_ij s_i s_j``, so the dynamics stops at a fixed point (a
sweep without flips). The network starts at pattern 1; the measured quantity is the overlap
``m = (1/N) sum_i xi^1_i s_i`` of the fixed point with that pattern.

Implementation
--------------
The fields are kept as exact integers ``N h_i`` in float64 (``|N h_i| <= N P < 2^53``), built
with two matrix-vector products from the patterns (no N x N coupling matrix is formed); a flip
of neuron ``k`` updates every field with one more product, ``O(N P)``. A sweep is not a Python
loop over neurons: the next neuron to flip in the sweep's order is the first unstable one
after the current position (a vectorised search), which is exactly what visiting the
neurons one by one does, because stable neurons do not change. Cost: ``O(N P)`` a flip plus
``O(N)`` a sweep; at ``alpha = 0.1`` about ``N/1000`` flips, so ``N = 4000`` takes milliseconds.

All randomness comes from the ``numpy.random.Generator`` passed in.
"""
from __future__ import annotations

import math
import numbers

import numpy as np

__all__ = ["sample_patterns", "pattern_count", "retrieval_dynamics", "retrieval_trial", "breakdown_load"]

#: safety bound on sweeps (the dynamics always stops; at alpha = 0.1 it takes 2-4 sweeps)
MAX_SWEEPS = 10_000


def _check_int(name, value, minimum):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _check_rng(rng):
    if not isinstance(rng, np.random.Generator):
        raise ValueError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    return rng


def _check_alpha(alpha):
    try:
        a = float(alpha)
    except (TypeError, ValueError):
        a = math.nan
    if not math.isfinite(a) or a <= 0:
        raise ValueError(f"alpha must be a finite real number > 0, got {alpha!r}")
    return a


def sample_patterns(n: int, p: int, rng: np.random.Generator) -> np.ndarray:
    """``p`` random patterns of ``n`` fair +-1 entries, shape ``(p, n)``, dtype float64."""
    n = _check_int("n", n, 1)
    p = _check_int("p", p, 1)
    rng = _check_rng(rng)
    return (2 * rng.integers(0, 2, size=(p, n), dtype=np.int8) - 1).astype(np.float64)


def pattern_count(n: int, alpha: float, rng: np.random.Generator) -> int:
    """The number of patterns for load ``alpha`` at size ``n``: ``alpha n`` rounded at random.

    ``P = floor(alpha n) + Bernoulli(frac(alpha n))`` has mean exactly ``alpha n``, so the
    simulated mean load is ``alpha`` at every N (deterministic rounding would add a bias of order
    1/N that jumps with N and spoils the extrapolation). At least one pattern.
    """
    n = _check_int("n", n, 1)
    a = _check_alpha(alpha)
    x = a * n
    p = int(math.floor(x))
    frac = x - p
    if frac > 0 and _check_rng(rng).random() < frac:
        p += 1
    return max(p, 1)


def retrieval_dynamics(xi: np.ndarray, s0: np.ndarray, rng: np.random.Generator,
                       max_sweeps: int = MAX_SWEEPS) -> dict:
    """Zero-temperature random sequential dynamics from ``s0`` to a fixed point.

    ``xi``: patterns ``(P, N)`` with entries +-1; ``s0``: initial state ``(N,)`` of +-1.
    Returns ``state`` (the fixed point), ``flips`` (total), ``sweeps`` (including the final
    sweep without flips) and ``converged`` (False only if ``max_sweeps`` was reached).
    """
    xi = np.asarray(xi, dtype=np.float64)
    if xi.ndim != 2 or xi.shape[0] < 1 or xi.shape[1] < 1:
        raise ValueError(f"xi must be a (P, N) array with P, N >= 1, got shape {xi.shape}")
    if not np.all(np.abs(xi) == 1):
        raise ValueError("xi must contain only +1 and -1")
    p, n = xi.shape
    s = np.array(s0, dtype=np.float64)
    if s.shape != (n,) or not np.all(np.abs(s) == 1):
        raise ValueError(f"s0 must be a vector of {n} entries +-1")
    rng = _check_rng(rng)
    max_sweeps = _check_int("max_sweeps", max_sweeps, 1)
    # N h_i = sum_{j != i} sum_mu xi_i xi_j s_j: exact integers
    field = xi.T @ (xi @ s) - p * s
    flips = 0
    for sweep in range(1, max_sweeps + 1):
        order = rng.permutation(n)
        pos = 0
        flipped = 0
        while pos < n:
            rest = order[pos:]
            unstable = np.flatnonzero(s[rest] * field[rest] < 0)
            if unstable.size == 0:
                break
            j = pos + int(unstable[0])
            k = order[j]
            delta = -2.0 * s[k]
            s[k] = -s[k]
            field += delta * (xi.T @ xi[:, k])
            field[k] -= delta * p              # no self-coupling
            flipped += 1
            pos = j + 1
        flips += flipped
        if flipped == 0:
            return {"state": s, "flips": flips, "sweeps": sweep, "converged": True}
    return {"state": s, "flips": flips, "sweeps": max_sweeps, "converged": False}


def retrieval_trial(n: int, alpha: float, rng: np.random.Generator) -> dict:
    """One instance: ``P`` patterns (:func:`pattern_count`), dynamics from pattern 1.

    Returns ``m`` (overlap of the fixed point with pattern 1), ``p`` (the number of patterns),
    ``flips``, ``sweeps`` and ``unstable0`` (the fraction of neurons unstable in the pattern).
    """
    n = _check_int("n", n, 2)
    rng = _check_rng(rng)
    p = pattern_count(n, alpha, rng)
    xi = sample_patterns(n, p, rng)
    start = xi[0].copy()
    field0 = xi.T @ (xi @ start) - p * start
    out = retrieval_dynamics(xi, start, rng)
    if not out["converged"]:
        raise RuntimeError(f"zero-temperature dynamics did not stop within {MAX_SWEEPS} sweeps "
                           f"(N={n}, P={p}); it must stop for symmetric couplings")
    return {"m": float(xi[0] @ out["state"]) / n, "p": p, "flips": out["flips"], "sweeps": out["sweeps"],
            "unstable0": float(np.mean(start * field0 < 0))}


def breakdown_load(n: int, rng: np.random.Generator, threshold: float = 0.5, alpha_max: float = 0.5) -> float:
    """Where retrieval breaks down in one instance: the smallest load ``P/N`` at which the
    dynamics started at pattern 1 ends with overlap below ``threshold``.

    Patterns are added one at a time to the same network (pattern 1 is always the one
    retrieved), re-running the dynamics from pattern 1 each time. Returns ``alpha_max`` if
    retrieval never breaks down up to ``alpha_max`` (finite-size estimates drift with N; the
    replica-symmetric capacity is 0.1379 and simulations extrapolate to about 0.14-0.145).
    """
    n = _check_int("n", n, 2)
    rng = _check_rng(rng)
    if not 0 < threshold < 1:
        raise ValueError(f"threshold must be in (0, 1), got {threshold!r}")
    p_max = max(1, int(math.floor(_check_alpha(alpha_max) * n)))
    xi = sample_patterns(n, p_max, rng)
    for p in range(1, p_max + 1):
        out = retrieval_dynamics(xi[:p], xi[0], rng)
        if float(xi[0] @ out["state"]) / n < threshold:
            return p / n
    return float(alpha_max)
