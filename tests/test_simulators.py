"""Tests of the finite-size simulators (perceptron capacity, SK model).

Statistical tolerances are 4 standard errors, each computed from the trials
themselves (or from the exact binomial variance); with fixed seeds every test
is deterministic.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy.optimize import minimize
from scipy.stats import binom

from replica.simulators import perceptron as pc
from replica.simulators import sk


def _instance(rng, p, n):
    return rng.standard_normal((p, n)), 2 * rng.integers(0, 2, size=p) - 1


# ==========================================================================
# Cover's formula
# ==========================================================================
def test_cover_probability_exact_values():
    for n in [1, 2, 3, 10, 57, 200, 1000, 3000]:
        assert pc.cover_probability(2 * n, n) == 0.5
        for p in [0, 1, n // 2, n]:
            assert pc.cover_probability(p, n) == 1.0
        # p = n + 1: P(Binomial(n, 1/2) <= n - 1) = 1 - 2^-n.
        assert pc.cover_probability(n + 1, n) == 1.0 - 2.0**-n
    # Small case by hand: p = 3, n = 2: C = 2 (1 + 2) = 6 of 2^3 = 8 dichotomies.
    assert pc.cover_probability(3, 2) == 0.75
    # Symmetry about p = 2n: P(p = 2n + 1 - k ... ) via binomial complement.
    assert pc.cover_probability(4001, 2000) == pytest.approx(binom.cdf(1999, 4000, 0.5), rel=1e-13)


def test_cover_probability_matches_binomial_cdf_and_is_monotone():
    for n in [1, 7, 50, 400, 2500]:
        ps = np.unique(np.linspace(n, 4 * n, 40).astype(int))
        values = np.array([pc.cover_probability(int(p), n) for p in ps])
        assert np.all(np.diff(values) <= 0)
        ref = binom.cdf(n - 1, ps - 1, 0.5)
        mask = ref > 1e-300
        np.testing.assert_allclose(values[mask], ref[mask], rtol=1e-11)


def test_cover_probability_against_lp_brute_force():
    """Fraction of separable instances (LP) vs Cover, n = 10, p = 20 and 25."""
    rng = np.random.default_rng(20240601)
    n, trials = 10, 400
    for p in (20,):
        hits = 0
        for _ in range(trials):
            xi, y = _instance(rng, p, n)
            sep = pc.is_separable(xi, y)
            # Independent solver: certified NNLS max margin.
            assert sep == (pc.max_margin(xi, y) > 0)
            hits += sep
        expected = pc.cover_probability(p, n)
        sigma = math.sqrt(expected * (1 - expected) / trials)
        assert abs(hits / trials - expected) <= 4 * sigma


def test_cover_mean_and_std_closed_forms_match_series():
    for n in [1, 2, 5, 20, 100]:
        p_max = 2 * n + 60 * math.isqrt(2 * n) + 200  # tail below 1e-30
        tail = np.array([pc.cover_probability(p, n) for p in range(p_max)])  # P(P* > p)
        assert tail[-1] < 1e-25
        mean = tail.sum()
        second = np.sum((2 * np.arange(p_max) + 1) * tail)  # E[P*^2]
        assert mean == pytest.approx(2 * n + 1, rel=1e-13)
        assert pc.cover_mean_threshold(n) == pytest.approx(mean / n, rel=1e-13)
        assert pc.cover_threshold_std(n) == pytest.approx(math.sqrt(second - mean**2) / n, rel=1e-10)


# ==========================================================================
# separability threshold
# ==========================================================================
def test_threshold_mean_matches_cover():
    rng = np.random.default_rng(7)
    n, trials = 20, 200
    ratios = np.array([pc.separability_threshold(n, 0.0, rng) / n for _ in range(trials)])
    assert ratios.min() >= (n + 1) / n  # P <= n is always separable
    stderr = ratios.std(ddof=1) / math.sqrt(trials)
    assert abs(ratios.mean() - pc.cover_mean_threshold(n)) <= 4 * stderr
    # The spread agrees with Cover's std (sample std of 200 draws: ~5 % error).
    assert ratios.std(ddof=1) == pytest.approx(pc.cover_threshold_std(n), rel=0.25)
    # P(P* > 2n) = P(2n patterns separable) = 1/2 exactly.
    frac = np.mean(ratios > 2)
    assert abs(frac - 0.5) <= 4 * math.sqrt(0.25 / trials)


@pytest.mark.parametrize("kappa", [0.0, 0.4])
@pytest.mark.parametrize("force_extension", [False, True])
def test_threshold_is_first_non_separable_prefix(monkeypatch, kappa, force_extension):
    """Record the drawn patterns and check P* - 1 separable, P* not."""
    drawn = []
    original = pc._draw

    def recording_draw(rng, count, n):
        xi, y = original(rng, count, n)
        drawn.append((xi, y))
        return xi, y

    monkeypatch.setattr(pc, "_draw", recording_draw)
    if force_extension:  # initial draw far too small: must draw more, not cap
        monkeypatch.setattr(pc, "_initial_count", lambda n, kappa: 2)
    rng = np.random.default_rng(11)
    n = 15
    for _ in range(5):
        drawn.clear()
        p_star = pc.separability_threshold(n, kappa, rng)
        xi = np.vstack([d[0] for d in drawn])
        y = np.concatenate([d[1] for d in drawn])
        assert xi.shape[0] >= p_star
        if force_extension:
            assert len(drawn) > 1
        assert pc.is_separable(xi[: p_star - 1], y[: p_star - 1], kappa)
        assert not pc.is_separable(xi[:p_star], y[:p_star], kappa)


def test_threshold_reproducible_and_no_global_rng():
    np.random.seed(123)
    state = np.random.get_state()[1].copy()
    a = [pc.separability_threshold(12, k, np.random.default_rng(5)) for k in (0.0, 0.3)]
    b = [pc.separability_threshold(12, k, np.random.default_rng(5)) for k in (0.0, 0.3)]
    assert a == b
    assert np.array_equal(np.random.get_state()[1], state)


# ==========================================================================
# max margin (kappa > 0)
# ==========================================================================
def test_max_margin_weights_satisfy_constraints():
    rng = np.random.default_rng(3)
    for n, p in [(5, 3), (20, 30), (100, 150), (100, 190)]:
        xi, y = _instance(rng, p, n)
        kappa, w = pc.max_margin_solution(xi, y)
        assert 0 < kappa < math.inf
        assert w @ w == pytest.approx(n, rel=1e-12)
        margins = y * (xi @ w) / math.sqrt(n)
        assert margins.min() == pytest.approx(kappa, abs=1e-10)
        # Support vectors: the margin is attained by at least one pattern and
        # (optimality) w lies in the cone of the active patterns.
        active = margins <= kappa + 1e-8
        assert active.sum() >= 1
        assert pc.is_separable(xi, y, kappa * (1 - 1e-9))
        assert not pc.is_separable(xi, y, kappa * (1 + 1e-6))


def test_max_margin_against_slsqp():
    """Hard-margin SVM min |v|^2 s.t. y xi.v >= 1 by SLSQP: kappa* = 1/|v*|."""
    rng = np.random.default_rng(4)
    checked = 0
    for n, p in [(4, 3), (5, 6), (6, 8), (8, 10), (10, 13), (12, 16)]:
        xi, y = _instance(rng, p, n)
        kappa = pc.max_margin(xi, y)
        if not math.isfinite(kappa):
            continue
        z = y[:, None] * xi
        res = minimize(
            lambda v: v @ v,
            np.zeros(n),
            jac=lambda v: 2 * v,
            constraints=[{"type": "ineq", "fun": lambda v: z @ v - 1, "jac": lambda v: z}],
            method="SLSQP",
            options={"ftol": 1e-12, "maxiter": 1000},
        )
        assert res.success, res.message
        assert kappa == pytest.approx(1 / math.sqrt(res.fun), rel=1e-8)
        checked += 1
    assert checked >= 5


def test_max_margin_non_separable_and_empty():
    rng = np.random.default_rng(5)
    xi, y = _instance(rng, 300, 100)  # alpha = 3 > 2: not separable
    assert pc.max_margin(xi, y) == -math.inf
    assert not pc.is_separable(xi, y, 0.0)
    assert not pc.is_separable(xi, y, 0.1)
    assert pc.max_margin(np.zeros((0, 4)), np.zeros(0)) == math.inf
    assert pc.is_separable(np.zeros((0, 4)), np.zeros(0), 0.5)
    # Two opposite copies of one pattern with the same label: not separable.
    xi = np.array([[1.0, 2.0], [-1.0, -2.0]])
    assert not pc.is_separable(xi, np.array([1, 1]))
    assert pc.max_margin(xi, np.array([1, -1])) == pytest.approx(math.sqrt(5.0))


def test_gardner_capacity():
    assert pc.gardner_capacity(0.0) == 2.0
    k = 0.7
    # alpha_c = 1 / int_{-k}^inf Dt (t + k)^2, by Gauss-Legendre on a finite range.
    t, wts = np.polynomial.legendre.leggauss(200)
    t = -k + (t + 1) * 10
    integral = np.sum(wts * 10 * np.exp(-t * t / 2) / math.sqrt(2 * math.pi) * (t + k) ** 2)
    assert pc.gardner_capacity(k) == pytest.approx(1 / integral, rel=1e-12)


# ==========================================================================
# perceptron input validation
# ==========================================================================
def test_perceptron_validation():
    xi, y = _instance(np.random.default_rng(0), 5, 3)
    with pytest.raises(ValueError, match=r"kappa.*-0\.1"):
        pc.is_separable(xi, y, -0.1)
    with pytest.raises(ValueError, match="kappa"):
        pc.separability_threshold(5, float("nan"), np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"y must contain only labels"):
        pc.is_separable(xi, np.array([1, 0, 1, 1, -1]))
    with pytest.raises(ValueError, match=r"y must have shape"):
        pc.max_margin(xi, y[:4])
    with pytest.raises(ValueError, match=r"xi must be a 2-d array"):
        pc.is_separable(xi[0], y[:1])
    with pytest.raises(ValueError, match=r"n must be an integer >= 1, got 0"):
        pc.separability_threshold(0, 0.0, np.random.default_rng(0))
    with pytest.raises(ValueError, match="rng"):
        pc.separability_threshold(5, 0.0, 42)
    with pytest.raises(ValueError, match=r"p must be an integer >= 0, got -1"):
        pc.cover_probability(-1, 3)
    with pytest.raises(ValueError, match=r"n must be an integer >= 1, got 2.5"):
        pc.cover_probability(4, 2.5)
    with pytest.raises(ValueError, match=r"n must be an integer >= 1"):
        pc.cover_mean_threshold(0)


# ==========================================================================
# SK: couplings and exact enumeration
# ==========================================================================
def test_sample_couplings():
    n = 200
    J = sk.sample_couplings(n, np.random.default_rng(1))
    assert J.shape == (n, n)
    assert np.array_equal(J, J.T)
    assert np.all(np.diag(J) == 0)
    upper = J[np.triu_indices(n, 1)] * math.sqrt(n)  # should be N(0, 1)
    assert abs(upper.mean()) <= 4 / math.sqrt(upper.size)
    assert abs(np.mean(upper**2) - 1) <= 4 * math.sqrt(2 / upper.size)
    assert np.array_equal(J, sk.sample_couplings(n, np.random.default_rng(1)))


def _brute_force(J, T, h):
    """Direct sums over all states, and over all pairs of states for q_abs."""
    n = len(J)
    states = np.array(list(itertools.product([1.0, -1.0], repeat=n)))
    energies = np.array([-0.5 * s @ J @ s - h * s.sum() for s in states])
    weights = np.exp(-(energies - energies.min()) / T)
    z = weights.sum()
    prob = weights / z
    ln_z = math.log(z) - energies.min() / T
    mag = prob @ states
    overlaps = states @ states.T / n
    energy = prob @ energies / n
    free = -T * ln_z / n
    return {
        "energy": energy,
        "free_energy": free,
        "entropy": (energy - free) / T,
        "q": np.mean(mag**2),
        "m": np.mean(mag),
        "q_abs": prob @ np.abs(overlaps) @ prob,
    }


def test_exact_two_spins_by_hand():
    J12, T, h = 0.8, 0.6, 0.25
    J = np.array([[0.0, J12], [J12, 0.0]])
    b = 1 / T
    # States (++), (--), (+-), (-+): energies -J-2h, -J+2h, J, J.
    w_pp, w_mm, w_pm = math.exp(b * (J12 + 2 * h)), math.exp(b * (J12 - 2 * h)), math.exp(-b * J12)
    z = w_pp + w_mm + 2 * w_pm
    p_pp, p_mm, p_pm = w_pp / z, w_mm / z, w_pm / z
    energy = (p_pp * (-J12 - 2 * h) + p_mm * (-J12 + 2 * h) + 2 * p_pm * J12) / 2
    m = p_pp - p_mm  # <s_1> = <s_2>
    # |q_12| = 1 if tau = s*t is (++) or (--), else 0.
    q_abs = (p_pp**2 + p_mm**2 + 2 * p_pm**2) + (2 * p_pp * p_mm + 2 * p_pm**2)
    res = sk.exact_enumeration(J, T, h)
    assert res["free_energy"] == pytest.approx(-T * math.log(z) / 2, rel=1e-14)
    assert res["energy"] == pytest.approx(energy, rel=1e-14)
    assert res["entropy"] == pytest.approx((energy + T * math.log(z) / 2) / T, rel=1e-13)
    assert res["m"] == pytest.approx(m, rel=1e-14)
    assert res["q"] == pytest.approx(m * m, rel=1e-14)
    assert res["q_abs"] == pytest.approx(q_abs, rel=1e-14)


@pytest.mark.parametrize("n", [1, 3, 7, 10])
@pytest.mark.parametrize("T,h", [(0.4, 0.0), (1.3, 0.6), (2.0, -0.3)])
def test_exact_matches_brute_force(n, T, h):
    J = sk.sample_couplings(n, np.random.default_rng(n))
    got = sk.exact_enumeration(J, T, h)
    ref = _brute_force(J, T, h)
    for key, value in ref.items():
        assert got[key] == pytest.approx(value, abs=1e-13), key


@pytest.mark.parametrize("T,h", [(0.5, 0.3), (1.0, 1.0), (3.0, -0.7)])
def test_exact_free_spins(T, h):
    n = 12
    res = sk.exact_enumeration(np.zeros((n, n)), T, h)
    b = 1 / T
    m = math.tanh(b * h)
    free = -T * math.log(2 * math.cosh(b * h))
    entropy = math.log(2 * math.cosh(b * h)) - b * h * m
    # tau_i = s_i t_i are i.i.d. with P(+1) = (1 + m^2)/2.
    a = (1 + m * m) / 2
    k = np.arange(n + 1)
    q_abs = np.sum(binom.pmf(k, n, a) * np.abs(2 * k - n)) / n
    assert res["m"] == pytest.approx(m, abs=1e-14)
    assert res["q"] == pytest.approx(m * m, abs=1e-14)
    assert res["energy"] == pytest.approx(-h * m, abs=1e-13)
    assert res["free_energy"] == pytest.approx(free, abs=1e-14)
    assert res["entropy"] == pytest.approx(entropy, abs=1e-13)
    assert res["q_abs"] == pytest.approx(q_abs, abs=1e-13)


def test_exact_symmetries_and_limits():
    J = sk.sample_couplings(14, np.random.default_rng(2))
    zero = sk.exact_enumeration(J, 0.5, 0.0)
    assert abs(zero["m"]) < 1e-14 and abs(zero["q"]) < 1e-14
    assert 0 < zero["q_abs"] <= 1
    plus, minus = sk.exact_enumeration(J, 0.8, 0.4), sk.exact_enumeration(J, 0.8, -0.4)
    assert minus["m"] == pytest.approx(-plus["m"], abs=1e-14)
    for key in ("energy", "free_energy", "entropy", "q", "q_abs"):
        assert minus[key] == pytest.approx(plus[key], abs=1e-14)
    # Infinite temperature: entropy -> ln 2.
    hot = sk.exact_enumeration(J, 1e6, 0.0)
    assert hot["entropy"] == pytest.approx(math.log(2), abs=1e-6)
    # Low temperature: the ground-state energy is approached.
    cold = sk.exact_enumeration(J, 0.01, 0.0)
    states = np.array(list(itertools.product([1.0, -1.0], repeat=14)))
    e0 = np.min(-0.5 * np.einsum("si,ij,sj->s", states, J, states)) / 14
    assert cold["energy"] == pytest.approx(e0, abs=1e-6)


def test_exact_n20_is_consistent():
    J = sk.sample_couplings(20, np.random.default_rng(20))
    res = sk.exact_enumeration(J, 0.7, 0.2)
    assert res["entropy"] > 0
    assert 0 < res["q"] <= res["q_abs"] <= 1  # <q12> <= <|q12|>
    assert res["q"] >= res["m"] ** 2  # mean of squares >= square of mean


# ==========================================================================
# SK: parallel tempering
# ==========================================================================
@pytest.mark.parametrize("T,h", [(0.7, 0.3), (2.0, 0.3)])
def test_parallel_tempering_matches_exact(T, h):
    rng = np.random.default_rng(1000 + int(10 * T))
    n, runs = 16, 12
    J = sk.sample_couplings(n, rng)
    exact = sk.exact_enumeration(J, T, h)
    results = [sk.parallel_tempering(J, T, h, rng) for _ in range(runs)]
    assert sum(r["converged"] for r in results) >= runs - 2
    for key in ("energy", "q", "m", "q_abs"):
        values = np.array([r[key] for r in results])
        stderr = values.std(ddof=1) / math.sqrt(runs)
        assert stderr < 0.02, key  # the comparison is not vacuous
        assert abs(values.mean() - exact[key]) <= 4 * stderr, key
        # The run's own block standard error is of the right size.
        block = np.mean([r["stderr"][key] for r in results])
        assert 0.4 < block / values.std(ddof=1) < 2.5, key


def test_parallel_tempering_diagnostics():
    rng = np.random.default_rng(8)
    J = sk.sample_couplings(24, rng)
    res = sk.parallel_tempering(J, 0.5, 0.0, rng, sweeps=200, burn_in=50, n_temps=6, t_max=1.8)
    assert set(res) >= {"energy", "q", "m", "q_abs", "swap_rates", "converged", "sweeps", "stderr"}
    assert "free_energy" not in res and "entropy" not in res
    assert res["sweeps"] == 200
    temps = np.array(res["temperatures"])
    assert temps[0] == 0.5 and temps[-1] == pytest.approx(1.8)
    np.testing.assert_allclose(temps[1:] / temps[:-1], (1.8 / 0.5) ** (1 / 5))
    assert len(res["swap_rates"]) == 5
    assert all(0.05 < r <= 1 for r in res["swap_rates"])
    # Above t_max: a single temperature, no exchanges.
    hot = sk.parallel_tempering(J, 2.5, 0.0, rng, sweeps=100, burn_in=10)
    assert hot["temperatures"] == [2.5] and hot["swap_rates"] == []
    # More replica sets are accepted.
    many = sk.parallel_tempering(J, 1.0, 0.2, rng, sweeps=100, burn_in=10, n_replicas=4)
    assert -1 <= many["q"] <= many["q_abs"] <= 1


def test_parallel_tempering_flags_stuck_replicas():
    """N = 64, T = 0.3 with a ladder that never swaps: replicas stay in different valleys."""
    rng = np.random.default_rng(0)
    J = sk.sample_couplings(64, rng)
    res = sk.parallel_tempering(J, 0.3, 0.0, rng, n_temps=2, t_max=1.6)
    assert res["swap_rates"][0] < 0.01
    assert res["converged"] is False


def test_parallel_tempering_reproducible_and_no_global_rng():
    J = sk.sample_couplings(10, np.random.default_rng(3))
    np.random.seed(7)
    state = np.random.get_state()[1].copy()
    a = sk.parallel_tempering(J, 0.8, 0.1, np.random.default_rng(9), sweeps=50, burn_in=5)
    b = sk.parallel_tempering(J, 0.8, 0.1, np.random.default_rng(9), sweeps=50, burn_in=5)
    assert a == b
    assert np.array_equal(np.random.get_state()[1], state)


def test_sk_validation():
    rng = np.random.default_rng(0)
    J = sk.sample_couplings(4, rng)
    with pytest.raises(ValueError, match=r"at most 24 x 24.*N = 25"):
        sk.exact_enumeration(np.zeros((25, 25)), 1.0, 0.0)
    with pytest.raises(ValueError, match="symmetric"):
        sk.exact_enumeration(np.triu(J), 1.0, 0.0)
    with pytest.raises(ValueError, match="zero diagonal"):
        sk.exact_enumeration(J + np.eye(4), 1.0, 0.0)
    with pytest.raises(ValueError, match="square"):
        sk.exact_enumeration(J[:3], 1.0, 0.0)
    with pytest.raises(ValueError, match=r"T must be a finite real number > 0, got 0"):
        sk.exact_enumeration(J, 0, 0.0)
    with pytest.raises(ValueError, match=r"T must be .*nan"):
        sk.parallel_tempering(J, float("nan"), 0.0, rng)
    with pytest.raises(ValueError, match=r"h must be a finite real number, got inf"):
        sk.exact_enumeration(J, 1.0, float("inf"))
    with pytest.raises(ValueError, match=r"t_max must be .*> 1.5, got 1.2"):
        sk.parallel_tempering(J, 0.5, 0.0, rng, t_max=1.2)
    with pytest.raises(ValueError, match=r"sweeps must be an integer >= 20, got 5"):
        sk.parallel_tempering(J, 0.5, 0.0, rng, sweeps=5)
    with pytest.raises(ValueError, match=r"burn_in must be an integer >= 0, got -1"):
        sk.parallel_tempering(J, 0.5, 0.0, rng, burn_in=-1)
    with pytest.raises(ValueError, match=r"n_temps must be an integer >= 2, got 1"):
        sk.parallel_tempering(J, 0.5, 0.0, rng, n_temps=1)
    with pytest.raises(ValueError, match=r"n_replicas must be an integer >= 2, got 1"):
        sk.parallel_tempering(J, 0.5, 0.0, rng, n_replicas=1)
    with pytest.raises(ValueError, match="rng"):
        sk.parallel_tempering(J, 0.5, 0.0, None)
    with pytest.raises(ValueError, match=r"n must be an integer >= 1, got 0"):
        sk.sample_couplings(0, rng)


# ==========================================================================
# slow checks
# ==========================================================================
@pytest.mark.slow
def test_threshold_mean_matches_cover_n50():
    rng = np.random.default_rng(50)
    n, trials = 50, 300
    ratios = np.array([pc.separability_threshold(n, 0.0, rng) / n for _ in range(trials)])
    stderr = ratios.std(ddof=1) / math.sqrt(trials)
    assert abs(ratios.mean() - pc.cover_mean_threshold(n)) <= 4 * stderr


@pytest.mark.slow
def test_parallel_tempering_matches_exact_spin_glass_phase():
    """n = 20 at T = 0.4, h = 0 (deep in the spin-glass phase)."""
    rng = np.random.default_rng(2020)
    n, runs = 20, 16
    J = sk.sample_couplings(n, rng)
    exact = sk.exact_enumeration(J, 0.4, 0.0)
    results = [sk.parallel_tempering(J, 0.4, 0.0, rng, sweeps=1500) for _ in range(runs)]
    for key in ("energy", "q", "m", "q_abs"):
        values = np.array([r[key] for r in results])
        stderr = values.std(ddof=1) / math.sqrt(runs)
        assert abs(values.mean() - exact[key]) <= 4 * stderr, key
