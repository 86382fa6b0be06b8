"""The speciation time of a two-component mixture measured from simulated trajectories.

Biroli, Bonnaire, de Bortoli & Mezard, "Dynamical regimes of diffusion models" (2024): for data
+-m + sigma0 z in dimension d (|m|^2 = d mu^2) under the Ornstein-Uhlenbeck forward process, two
reverse trajectories cloned at time t commit to the same component with a probability that drops
from 1 to 1/2 around the speciation time t_S = (1/2) ln(Lambda), Lambda = sigma0^2 + d mu^2 the
largest eigenvalue of the data covariance (their eq. for t_S; here `speciation_time`).

Here the crossing time is measured without the theory: pairs of d-dimensional reverse trajectories
are simulated (``replica.simulators.diffusion.clone_trial``) at five cloning times, a quadratic is
fitted to the simulated agreement (weighted by its binomial errors), and the time where it crosses
the level 3/4 is read off, with its error from the fit's covariance (delta method). Checked:
(1) at each d the simulated crossing equals the replica theory's (the root of the model's
clone_agreement, a Gaussian average) within 4 standard errors; (2) the simulated crossings grow
like (1/2) ln(Lambda): over d = 30 .. 3000 they move by ~2.3 while t - t_S stays the same within
errors (slope 1 against t_S).
"""
import math

import numpy as np
import pytest
from scipy import optimize

import replica
from replica.simulators import diffusion as sim

LEVEL = 0.75
OFFSETS = np.array([-0.3, -0.15, 0.0, 0.15, 0.3])


def theory(d, t):
    return replica.solve("diffusion", {"data": "mixture", "dim": d, "sigma0": 1.0, "mu": 1.0,
                                       "t_clone": t}).observables["clone_agreement"]


def simulated_crossing(d, pairs, seed):
    """(t_cross, stderr) from simulated clone pairs at t_S + OFFSETS (t_S only centres the grid)."""
    t_s = 0.5 * math.log(1 + d)
    rng = np.random.default_rng(seed)
    phi = np.array([sim.clone_trial({"dim": d, "mu": 1.0, "sigma0": 1.0, "t_clone": t_s + x}, pairs, rng, steps=3)
                    for x in OFFSETS])
    err = np.sqrt(np.maximum(phi * (1 - phi), 1e-3) / pairs)
    coef, cov = np.polyfit(OFFSETS, phi - LEVEL, 2, w=1 / err, cov="unscaled")
    roots = [r.real for r in np.roots(coef) if abs(r.imag) < 1e-12 and -0.45 < r.real < 0.45]
    assert len(roots) == 1, (phi, roots)
    x = roots[0]
    slope = 2 * coef[0] * x + coef[1]
    v = np.array([x * x, x, 1.0])
    return t_s + x, math.sqrt(v @ cov @ v) / abs(slope)


@pytest.mark.slow
def test_speciation_time_from_simulated_trajectories():
    rows = []
    for d, seed in ((30, 1), (300, 2), (3000, 3)):
        t_sim, se = simulated_crossing(d, 4000, seed)
        t_theory = optimize.brentq(lambda t: theory(d, t) - LEVEL, 0.5 * math.log(1 + d) - 1,
                                   0.5 * math.log(1 + d) + 1, xtol=1e-10)
        assert abs(t_sim - t_theory) < 4 * se, (d, t_sim, t_theory, se)
        assert se < 0.05
        rows.append((0.5 * math.log(1 + d), t_sim, se))
    t_s, t_sim, se = map(np.array, zip(*rows))
    assert t_sim[-1] - t_sim[0] > 2.0                       # the crossing moves with d ...
    shift = t_sim - t_s                                     # ... exactly like t_S = (1/2) ln(1 + d mu^2)
    mean = np.average(shift, weights=1 / se**2)
    assert np.all(np.abs(shift - mean) < 4 * se), shift
    (slope, _), cov = np.polyfit(t_s, t_sim, 1, w=1 / se, cov="unscaled")
    assert abs(slope - 1) < 4 * math.sqrt(cov[0, 0]), (slope, math.sqrt(cov[0, 0]))
