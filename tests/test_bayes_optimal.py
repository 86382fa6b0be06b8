"""bayes-optimal: the replica potential against its definition (30-digit mpmath), the I-MMSE
relation at the solution, the Gaussian closed form, the first-order region (three branches,
selection by the potential), AMP on instances against state evolution, and bad input."""
from __future__ import annotations

import math

import mpmath as mp
import numpy as np
import pytest

import replica
from replica.errors import ParameterError
from replica.models.bayes_optimal import BayesOptimal
from replica.simulators.amp import amp_bernoulli_gauss, denoise_bernoulli_gauss

MODEL = BayesOptimal()


# -- independent references, from the definitions ---------------------------------------
def mutual_information_direct(gamma, rho, dps=30):
    """I(s0; sqrt(gamma) s0 + z) = h(output) - h(noise), the output a Gaussian mixture."""
    with mp.workdps(dps):
        g, r = mp.mpf(gamma), mp.mpf(rho)
        s = mp.sqrt(1 + g)

        def p(u):
            return (1 - r) * mp.npdf(u) + r * mp.npdf(u, 0, s)

        pts = sorted({-mp.inf, -10 * s, -s, -5, -1, 0, 1, 5, s, 10 * s, mp.inf})
        h = -mp.quad(lambda u: p(u) * mp.log(p(u)), pts)
        return h - mp.log(2 * mp.pi * mp.e) / 2


def mmse_direct(gamma, rho, dps=30):
    """E[Var(s0 | u)] = rho - E[E(s0|u)^2], the posterior mean written from Bayes' rule."""
    with mp.workdps(dps):
        g, r = mp.mpf(gamma), mp.mpf(rho)
        s = mp.sqrt(1 + g)

        def p1(u):
            return r * mp.npdf(u, 0, s)

        def p0(u):
            return (1 - r) * mp.npdf(u)

        def f(u):
            post = p1(u) / (p0(u) + p1(u))
            return post**2 * (p0(u) + p1(u)) * g * u**2 / (1 + g) ** 2

        pts = sorted({-mp.inf, -10 * s, -s, -5, -1, 0, 1, 5, s, 10 * s, mp.inf})
        return r - mp.quad(f, pts)


def potential_direct(E, alpha, rho, Delta):
    with mp.workdps(30):
        E, a, D = mp.mpf(E), mp.mpf(alpha), mp.mpf(Delta)
        return a / 2 * (mp.log(1 + E / D) - E / (E + D)) + mutual_information_direct(a / (D + E), rho)


@pytest.mark.parametrize("E,alpha,rho,Delta", [(1e-4, 0.6, 0.1, 1e-3), (0.05, 0.6, 0.1, 1e-3),
                                               (1e-7, 0.3, 0.05, 1e-8), (0.2, 2.0, 0.5, 0.1),
                                               (0.3, 1.0, 1.0, 0.5)])
def test_potential_equals_its_definition(E, alpha, rho, Delta):
    d = MODEL.derivation(MODEL.resolve({"alpha": alpha, "rho": rho, "Delta": Delta}))
    value = float(d.numpy_free_energy(E, alpha, rho, Delta))
    ref = float(potential_direct(E, alpha, rho, Delta))
    assert abs(value - ref) < 1e-12 * max(1.0, abs(ref)), (value, ref)


@pytest.mark.parametrize("params", [{"alpha": 0.6, "rho": 0.1, "Delta": 1e-3}, {"alpha": 0.3, "rho": 0.1, "Delta": 1e-4},
                                    {"alpha": 1.5, "rho": 0.5, "Delta": 0.01}, {"alpha": 0.12, "rho": 0.1, "Delta": 1e-8}])
def test_solution_is_a_fixed_point_of_state_evolution(params):
    # the derived equation is E = mmse(gamma(E)) by the I-MMSE relation: check with the mmse
    # computed from its definition, independently of the package's derivative
    r = replica.solve(MODEL, params)
    assert r.converged
    E = r.observables["mse"]
    gamma = params["alpha"] / (params["Delta"] + E)
    assert abs(r.observables["snr"] - gamma) < 1e-12 * gamma
    ref = float(mmse_direct(gamma, params["rho"]))
    assert abs(E - ref) < 1e-10 * max(E, 1e-300) + 1e-15, (E, ref)
    assert abs(r.observables["mutual_information"] - float(potential_direct(E, **params))) < 1e-11


def test_i_mmse_relation_of_the_scalar_channel():
    # dI/dgamma = mmse/2 (Guo, Shamai and Verdu, IEEE Trans. Inf. Theory 51, 1261 (2005), Thm 1)
    with mp.workdps(40):
        h = mp.mpf(10) ** -10
        for gamma in (0.5, 7.0, 300.0):
            g = mp.mpf(gamma)
            dI = (mutual_information_direct(g + h, 0.1, 40) - mutual_information_direct(g - h, 0.1, 40)) / (2 * h)
            assert abs(dI - mmse_direct(g, 0.1, 40) / 2) < mp.mpf(10) ** -15


def test_gaussian_prior_closed_form():
    # rho = 1: E solves E^2 + (alpha + Delta - 1) E - Delta = 0, and I = ln(1 + gamma)/2
    for alpha, Delta in ((0.5, 0.1), (2.0, 0.5), (5.0, 1e-3)):
        r = replica.solve(MODEL, {"alpha": alpha, "rho": 1.0, "Delta": Delta})
        b = alpha + Delta - 1
        E = (-b + math.sqrt(b * b + 4 * Delta)) / 2
        assert abs(r.observables["mse"] - E) < 1e-13
        gamma = alpha / (Delta + E)
        i_ref = alpha / 2 * (math.log1p(E / Delta) - E / (E + Delta)) + math.log1p(gamma) / 2
        assert abs(r.observables["mutual_information"] - i_ref) < 1e-12


# -- the first-order transition of a sparse prior -------------------------------------------
# rho = 0.1, Delta = 1e-8: one branch at alpha = 0.1 (no information yet, E near rho is the
# only stationary point, measured), three branches from below alpha = 0.12 to above 0.2 (the
# spinodal where AMP's high-error branch disappears lies in (0.2, 0.22)), and the global minimum
# jumps from the high-error branch to the low-error one between 0.12 and 0.15.
def test_three_branches_and_selection_by_the_potential():
    p = {"rho": 0.1, "Delta": 1e-8}
    lo = replica.solve(MODEL, dict(p, alpha=0.12)).observables
    mid = replica.solve(MODEL, dict(p, alpha=0.18)).observables
    hi = replica.solve(MODEL, dict(p, alpha=0.25)).observables
    assert lo["branches"] == 3 and mid["branches"] == 3 and hi["branches"] == 1
    # below the information-theoretic threshold the MMSE is the high-error branch, which AMP reaches
    assert lo["mse"] == pytest.approx(lo["mse_amp"], rel=1e-9) and lo["mse"] > 0.05
    # between the thresholds the MMSE is tiny but AMP is stuck on the high-error branch (hard phase)
    assert mid["mse"] < 1e-6 and mid["mse_amp"] > 0.04
    # the selected branch has the lower potential: check both with the 30-digit definition
    roots = MODEL.branches(MODEL.resolve(dict(p, alpha=0.18)))
    pots = [float(potential_direct(E, 0.18, 0.1, 1e-8)) for E in (roots[0], roots[-1])]
    assert pots[0] < pots[1] and mid["mse"] == pytest.approx(roots[0], rel=1e-9)
    # above the spinodal AMP reaches the MMSE
    assert hi["mse"] == pytest.approx(hi["mse_amp"], rel=1e-6) and hi["mse"] < 1e-8


def test_amp_state_evolution_tracks_the_largest_fixed_point():
    # state evolution E_{t+1} = mmse(alpha/(Delta + E_t)) from E_0 = rho (no information),
    # iterated with the independent mpmath mmse, ends at the model's mse_amp
    params = {"alpha": 0.18, "rho": 0.1, "Delta": 1e-8}
    E = 0.1
    for _ in range(200):
        E_new = float(mmse_direct(params["alpha"] / (params["Delta"] + E), 0.1, 20))
        if abs(E_new - E) < 1e-13:
            break
        E = E_new
    assert E == pytest.approx(replica.solve(MODEL, params).observables["mse_amp"], rel=1e-8)


# -- AMP on instances ----------------------------------------------------------------------
def test_denoiser_is_the_posterior_mean():
    rng = np.random.default_rng(0)
    R = rng.standard_normal(5) * 2
    a, v = denoise_bernoulli_gauss(R, 0.3, 0.2)
    with mp.workdps(30):
        for Ri, ai, vi in zip(R, a, v):
            p0 = 0.8 * mp.npdf(Ri, 0, mp.sqrt(0.3))
            post = lambda x: 0.2 * mp.npdf(x) * mp.npdf(Ri, x, mp.sqrt(0.3))
            Z = p0 + mp.quad(post, [-mp.inf, mp.inf])
            m1 = mp.quad(lambda x: x * post(x), [-mp.inf, mp.inf]) / Z
            m2 = mp.quad(lambda x: x * x * post(x), [-mp.inf, mp.inf]) / Z
            assert abs(ai - float(m1)) < 1e-12 and abs(vi - float(m2 - m1**2)) < 1e-12


def test_amp_is_reproducible():
    a = amp_bernoulli_gauss(300, 0.6, 0.1, 1e-3, np.random.default_rng(4))
    b = amp_bernoulli_gauss(300, 0.6, 0.1, 1e-3, np.random.default_rng(4))
    assert a == b


@pytest.mark.slow
@pytest.mark.parametrize("params", [{"alpha": 0.6, "rho": 0.1, "Delta": 1e-3}, {"alpha": 0.3, "rho": 0.1, "Delta": 1e-4}])
def test_amp_on_instances_agrees_with_the_replica_mse(params):
    # away from the first-order region, AMP reaches the MMSE; P = 500..2000, 10 instances a size
    c = replica.compare(MODEL, params, [500, 1000, 2000], trials=10, seed=3)
    o = c.observables["mse_amp"]
    assert o.agrees, (o.theory, o.extrapolated, o.extrapolated_stderr, o.z)
    assert o.extrapolated_stderr < 0.2 * o.theory          # the check has power


@pytest.mark.parametrize("params,needle", [({"rho": 0.0}, "rho"), ({"rho": 1.5}, "rho"), ({"Delta": 0.0}, "Delta"),
                                           ({"alpha": -1.0}, "alpha")])
def test_bad_input_is_named(params, needle):
    with pytest.raises(ParameterError, match=needle):
        MODEL.resolve(params)


def mmse_quad(gamma, rho):
    """The same definition as mmse_direct in double precision (scipy quad): fast enough to iterate."""
    from scipy.integrate import quad
    s = math.sqrt(1 + gamma)

    def f(u):
        p1 = rho * math.exp(-u * u / (2 * s * s)) / s
        p0 = (1 - rho) * math.exp(-u * u / 2)
        tot = p0 + p1
        return 0.0 if tot == 0 else (p1 / tot) ** 2 * tot / math.sqrt(2 * math.pi) * gamma * u * u / (1 + gamma) ** 2

    pts = [0.0, 1.0, 5.0, s, 10 * s]
    total = sum(quad(f, a, b, epsabs=0, epsrel=1e-12, limit=200)[0] for a, b in zip(pts[:-1], pts[1:]))
    total += quad(f, 10 * s, math.inf, epsabs=0, epsrel=1e-12)[0]
    return rho - 2 * total


def _state_evolution(alpha, E, rho=0.1, Delta=1e-8, iterations=2000):
    for _ in range(iterations):
        E_new = mmse_quad(alpha / (Delta + E), rho)
        if abs(E_new - E) < 1e-9 * E:
            break
        E = E_new
    return E


@pytest.mark.slow
def test_thresholds_of_the_first_order_transition():
    # rho = 0.1, Delta = 1e-8: the low-error branch appears, then wins (alpha_IT), then the
    # high-error branch disappears (alpha_alg); checked independently: branch counts on either
    # side of the edges, and equal 30-digit potentials of the two minima at alpha_IT
    r = replica.solve(MODEL, {"alpha": 0.18, "rho": 0.1, "Delta": 1e-8, "thresholds": "yes"}).observables
    a_good, a_it, a_alg = r["alpha_sp_good"], r["alpha_IT"], r["alpha_alg"]
    assert 0.1 < a_good < a_it < a_alg < 0.25
    # the spinodals by state evolution with the 20-digit mmse: from no information (E = rho) AMP
    # stays on the high-error branch just below alpha_alg and reaches the low-error one just above;
    # from a nearly perfect start (E = 1e-12) it stays low just above alpha_good and not just below
    assert _state_evolution(a_alg * 0.99, 0.1) > 1e-3 and _state_evolution(a_alg * 1.01, 0.1) < 1e-6
    assert _state_evolution(a_good * 1.01, 1e-12) < 1e-6 and _state_evolution(a_good * 0.99, 1e-12) > 1e-3
    roots = MODEL.branches(MODEL.resolve({"alpha": a_it, "rho": 0.1, "Delta": 1e-8}))
    i_good, i_bad = (potential_direct(E, a_it, 0.1, 1e-8) for E in (roots[0], roots[-1]))
    assert abs(i_good - i_bad) < 1e-10
    # the noiseless information-theoretic threshold is rho (Wu and Verdu, IEEE Trans. Inf. Theory
    # 56, 3721 (2010): the Renyi information dimension of the prior); at Delta = 1e-8 the
    # threshold lies above it, and the low-error branch cannot appear below it
    assert a_good > 0.1


def test_no_thresholds_without_a_first_order_region():
    # Gaussian-like dense prior at large noise: one branch at every load
    out = MODEL.transitions(0.9, 0.5)
    assert all(math.isnan(v) for v in out.values())


def test_batch_branch_search_equals_the_pointwise_one():
    plist = [MODEL.resolve({"alpha": a, "rho": 0.1, "Delta": 1e-8}) for a in (0.1, 0.12, 0.18, 0.25)]
    for p, batch in zip(plist, MODEL.branches_batch(plist)):
        single = MODEL.branches(p)
        assert len(single) == len(batch)
        # both bracket on the same grid; the roots agree to the equation's own resolution
        assert all(abs(a - b) < 1e-8 * a for a, b in zip(single, batch))


def test_sweep_reports_the_branches_of_every_point():
    s = replica.sweep(MODEL, {"rho": 0.1, "Delta": 1e-8}, "alpha", [0.12, 0.18, 0.25])
    assert list(s.array("branches")) == [3.0, 3.0, 1.0]
    assert s.array("mse_amp")[1] > 0.04 and s.array("mse")[1] < 1e-6


# -- the fast scalar MMSE the solver's equation uses (ScalarMMSE, ScalarMMSESlope) ---------------
@pytest.mark.parametrize("rho", [1e-3, 0.1, 0.5, 0.9])
def test_fast_scalar_mmse_equals_its_definition(rho):
    # the one-average form rho/(1 + g) + (1 - rho) g/(1 + g)^2 E_z[z^2 pi(z)] on its fixed 180-node rule,
    # against the posterior-mean definition integrated by mpmath at 30 digits (mmse_direct above)
    from replica.models.bayes_optimal import ScalarMMSE
    gammas = np.array([1e-3, 0.5, 7.0, 300.0, 1e4, 1e6, 1e8])
    fast = ScalarMMSE._imp_(gammas, np.full_like(gammas, rho))
    for g, value in zip(gammas, fast):
        ref = float(mmse_direct(g, rho))
        assert abs(value - ref) <= 1e-13 * ref, (g, rho, value, ref)


def test_fast_scalar_mmse_slope_is_its_derivative():
    from replica.models.bayes_optimal import ScalarMMSE, ScalarMMSESlope
    for gamma, rho in ((0.5, 0.1), (30.0, 0.2), (1e4, 0.05), (2.0, 0.9)):
        with mp.workdps(40):
            h = mp.mpf(gamma) * mp.mpf(10) ** -12
            fd = (mmse_direct(mp.mpf(gamma) + h, rho, 40) - mmse_direct(mp.mpf(gamma) - h, rho, 40)) / (2 * h)
        slope = float(ScalarMMSESlope._imp_(np.array([gamma]), np.array([rho]))[0])
        assert abs(slope - float(fd)) <= 1e-11 * abs(float(fd)), (gamma, rho, slope, fd)
        # and the mpmath branch of both functions agrees with the numpy one
        with mp.workdps(30):
            assert abs(float(ScalarMMSE._imp_(mp.mpf(gamma), mp.mpf(rho)))
                       - float(ScalarMMSE._imp_(np.array([gamma]), np.array([rho]))[0])) < 1e-13
            assert abs(float(ScalarMMSESlope._imp_(mp.mpf(gamma), mp.mpf(rho))) - slope) <= 1e-12 * abs(slope)


def test_solver_equation_equals_the_derived_one_over_a_range():
    # the contract battery checks three points (at 1e-12); here 60 random ones (E from 1e-4 rho to
    # rho) against the derived equation on the package's graded quadrature, which is itself good
    # to ~1e-11 relative here (measured: the fast form matched the 30-digit definition to 3e-16
    # where the two differed by 2.6e-11), and 8 of them against the 30-digit definition
    from replica.numeric import compile_numpy
    d = MODEL.derivation(MODEL.resolve({}))
    derived = compile_numpy(d.derived_equations, d.args)
    rng = np.random.default_rng(5)
    for i in range(60):
        rho = rng.uniform(0.02, 1.0)
        E, alpha, Delta = rho * 10**rng.uniform(-4, 0), 10**rng.uniform(-1, 0.7), 10**rng.uniform(-4, 0)
        used, ref = float(d.numpy_residual(E, alpha, rho, Delta)[0]), float(derived(E, alpha, rho, Delta)[0])
        assert abs(used - ref) <= 1e-10 * abs(ref) + 1e-12, (E, alpha, rho, Delta, used, ref)
        if i % 8 == 0:
            with mp.workdps(30):
                exact = 1 - mmse_direct(mp.mpf(alpha) / (mp.mpf(Delta) + mp.mpf(E)), rho) / mp.mpf(E)
            assert abs(used - float(exact)) <= 1e-13 * abs(float(exact)) + 1e-14, (E, alpha, rho, Delta, used, exact)


def test_sweep_from_the_scanned_roots_equals_pointwise_solves():
    """A sweep starts Newton at the roots of the batched branch scan (starting_points_batch); across
    the first-order region (rho = 0.1, Delta = 1e-4: three stationary points over a range of alpha)
    it selects the same branch, and reports the same mse, mse_amp and branch count, as one solve a
    point from the three fixed starts."""
    alphas = [0.1, 0.14, 0.17, 0.2, 0.23, 0.26, 0.3, 0.5]
    s = replica.sweep(MODEL, {"rho": 0.1, "Delta": 1e-4}, "alpha", alphas)
    assert all(s.array("converged"))
    assert max(s.array("branches")) == 3.0            # the sweep crosses the first-order region
    from replica.solver import solve_batch
    for a, mse, amp, nb in zip(alphas, s.array("mse"), s.array("mse_amp"), s.array("branches")):
        p = MODEL.resolve({"rho": 0.1, "Delta": 1e-4, "alpha": a})
        fixed = solve_batch(MODEL, [p], starts=np.array(MODEL.starting_points(p)))[0]
        assert fixed["converged"] and mse == pytest.approx(float(fixed["x"][0]), rel=1e-10)
        roots = MODEL.branches(p)                     # the pointwise scan (brentq)
        assert amp == pytest.approx(max(roots), rel=1e-10) and nb == len(roots)


def test_sweep_and_single_points_agree_on_the_branches_down_to_tiny_mse():
    """Regression (found by fuzzing): a sweep over Delta reported two branches and a shifted mse_amp
    where there is one stationary point (the batched refinement left a settled root for a bisection
    step), and the pointwise scan refined E ~ 1e-10 only to 4e-8 (an absolute brentq tolerance).
    Both scans now agree to 1e-14 relative, and with the saddle point itself."""
    deltas = [1e-9, 1e-7, 0.0025, 0.005, 0.0075, 0.01]
    s = replica.sweep(MODEL, {"rho": 0.1, "alpha": 0.5}, "Delta", deltas)
    assert list(s.array("branches")) == [1.0] * len(deltas)
    for d, E, amp in zip(deltas, s.array("mse"), s.array("mse_amp")):
        roots = MODEL.branches(MODEL.resolve({"rho": 0.1, "alpha": 0.5, "Delta": d}))
        assert len(roots) == 1
        assert roots[0] == pytest.approx(E, rel=1e-14) and amp == pytest.approx(E, rel=1e-14)
        one = replica.solve(MODEL, {"rho": 0.1, "alpha": 0.5, "Delta": d}).observables
        assert one["branches"] == 1.0 and one["mse_amp"] == pytest.approx(E, rel=1e-14)


def test_thresholds_without_a_first_order_region_are_a_clear_error():
    """Found by fuzzing: thresholds=yes printed NaN for all three thresholds at the defaults."""
    with pytest.raises(ParameterError, match="there is no first-order transition"):
        replica.solve(MODEL, {"thresholds": "yes", "rho": 0.9, "Delta": 0.5, "alpha": 1.0})
