"""The LASSO in the Bayati-Montanari normalisation: mean squared error and state-evolution values.

M. Bayati and A. Montanari, "The LASSO risk for Gaussian matrices", IEEE Trans. Inf. Theory 58,
1997 (2012); D. Donoho, A. Maleki and A. Montanari, "Message-passing algorithms for compressed
sensing", PNAS 106, 18914 (2009); the replica derivation is that of M-estimation
(:mod:`replica.models.m_estimation`, Advani & Ganguli 2016) with the square loss and the l1
regularizer.

Setting: x0 in R^P with i.i.d. Bernoulli-Gauss components (nonzero with probability ``rho``,
then N(0, 1)); N = delta P measurements y = A x0 + w, A with i.i.d. N(0, 1/N) entries (unit-norm
columns on average), w ~ N(0, sigma^2); the estimate x_hat = argmin_x |y - A x|^2/2 + lam |x|_1.
``mse`` = |x_hat - x0|^2/P.

With X = sqrt(delta) A (entries N(0, 1/P)) and s = x/sqrt(delta), the problem is the m-estimation
model with alpha = delta, the square loss, the l1 regularizer of strength lam sqrt(delta), Gaussian
noise sigma and a Bernoulli-Gauss prior of scale 1/sqrt(delta); its order parameters (q, V, qhat,
Vhat) are those of that problem (s units), and mse = delta q.

State evolution (Bayati-Montanari eqs. (1.6)-(1.9)): the LASSO estimate is x_hat =
eta(x0 + tau Z; theta tau) componentwise in law, eta the soft threshold, with the fixed point
tau^2 = sigma^2 + mse/delta and the calibration lam = theta tau (1 - ||x_hat||_0/N). In the
replica solution the effective scalar problem is the regularizer's proximal step:
tau = sqrt(delta qhat)/Vhat and theta = lam sqrt(delta)/sqrt(qhat) (tests/test_lasso.py checks
both against an independent state-evolution solver, and tau^2 = sigma^2 + mse/delta).

The solver's equations are the gradient of :meth:`Lasso.closed_free_energy`, the same free energy
with its Gaussian averages of the l1 Moreau envelope done in closed form (H and phi; no quadrature);
the contract battery and tests/test_lasso_tuned.py prove them equal to the derived ones.

Optimally tuned LASSO (``tune=yes``): ``lam_opt`` = argmin over lam of the mse at (delta, rho,
sigma) and ``mse_opt``, from this model's saddle point (:meth:`Lasso.optimal_penalty`);
tests/test_lasso_tuned.py checks them against the state evolution minimised over the threshold
(Donoho-Maleki-Montanari 2009) and the noiseless Donoho-Tanner dichotomy.
"""
from __future__ import annotations

import dataclasses
import math

import numpy as np
import sympy
from scipy import special

from ..errors import ConvergenceError
from ..model import Reference
from ..numeric import compile_numpy
from ..params import NONNEGATIVE, POSITIVE, Interval, Observable, Parameter
from ..symbolic import GaussPDF, H
from .m_estimation import MEstimation

def _soft_threshold_risk(tau, t, rho):
    """(mse, omega) of the soft threshold eta(x0 + tau z; t) for x0 Bernoulli-Gauss(rho, N(0, 1)):
    E (eta - x0)^2 and P(eta != 0), in closed form (numpy arrays; for the solver's starting point)."""
    def tail(k):
        H = 0.5 * special.erfc(k / math.sqrt(2))
        return (1 + k * k) * H - k * np.exp(-k * k / 2) / math.sqrt(2 * math.pi), H

    G0, H0 = tail(t / tau)
    s2 = 1 + tau * tau
    G1, H1 = tail(t / np.sqrt(s2))
    mse = (1 - rho) * 2 * tau * tau * G0 + rho * (2 * s2 * G1 - 4 * H1 + 1)
    return mse, (1 - rho) * 2 * H0 + rho * 2 * H1


def _se_tau2(d, rho, sigma, theta, steps=40):
    """tau^2 at the state-evolution fixed point for the relative threshold theta (geometric bisection
    on tau^2 in (1e-30, 1e8), each point stopping when its bracket is within a ratio 1.001; 1e8 if
    there is none below), and omega there. Arrays: every point bisects on its own."""
    lo, hi = np.full(np.shape(theta), 1e-30), np.full(np.shape(theta), 1e8)
    active = np.ones(np.shape(theta), dtype=bool)
    for _ in range(steps):
        mid = np.sqrt(lo * hi)
        mse, _ = _soft_threshold_risk(np.sqrt(mid), theta * np.sqrt(mid), rho)
        up = sigma**2 + mse / d > mid
        lo, hi = np.where(active & up, mid, lo), np.where(active & ~up, mid, hi)
        active &= ~(hi < 1.001 * lo)
        if not active.any():
            break
    tau2 = np.sqrt(lo * hi)
    return tau2, _soft_threshold_risk(np.sqrt(tau2), theta * np.sqrt(tau2), rho)[1]


def _se_start(d, rho, lam, sigma):
    """The state-evolution starting points (q, V, qhat, Vhat) of many points at once (arrays of
    delta, rho, lam, sigma; shape (points, 4)): bisection on theta for the calibration, each point
    stopping when its bracket is within a ratio 1.0005 (see :meth:`Lasso.starting_points`)."""
    d, rho, lam, sigma = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (d, rho, lam, sigma)))
    lo, hi = np.full(d.shape, 1e-3), np.full(d.shape, 30.0)
    active = np.ones(d.shape, dtype=bool)
    for _ in range(30):
        theta = np.sqrt(lo * hi)
        tau2, omega = _se_tau2(d, rho, sigma, theta)
        down = (tau2 < 1e7) & (theta * np.sqrt(tau2) * (1 - omega / d) > lam)
        lo, hi = np.where(active & ~down, theta, lo), np.where(active & down, theta, hi)
        active &= ~(hi < 1.0005 * lo)
        if not active.any():
            break
    tau2, omega = _se_tau2(d, rho, sigma, hi, steps=60)
    omega = np.minimum(omega, 0.999 * d)
    Vh = d - omega
    return np.stack([np.maximum(tau2 - sigma**2, 1e-3 * tau2), omega / Vh, tau2 * Vh**2 / d, Vh], axis=-1)


_DG_DLAM: dict = {}


def _eps_c(delta):
    """The Donoho-Tanner transition in k/P (= delta rho_c) from the l1-recovery model (delta < 1)."""
    from ..solver import solve
    from .l1_recovery import L1Recovery
    model = L1Recovery()
    return float(solve(model, model.resolve({"delta": delta})).observables["eps_c"])


_FIXED = {"loss": "square", "regularizer": "l1", "noise": "gaussian", "prior": "bernoulli-gauss"}


class Lasso(MEstimation):
    name = "lasso"
    title = "LASSO with a Bernoulli-Gauss signal (replica symmetric = state evolution)"
    description = ("Sparse linear regression x_hat = argmin |y - A x|^2/2 + lam |x|_1 with A_{mu i} ~ N(0, 1/N), "
                   "N = delta P, a Bernoulli-Gauss signal (fraction rho nonzero, unit variance) and Gaussian "
                   "noise sigma: mean squared error and the state-evolution fixed point (tau, theta) of "
                   "Bayati & Montanari (2012), from the m-estimation saddle point.")
    parameters = (
        Parameter("delta", "measurements per unknown N/P", POSITIVE, 0.5, latex="delta"),
        Parameter("rho", "fraction of nonzero components of x0 (each N(0, 1))", Interval(0.0, 1.0, upper_closed=True),
                  0.1, latex="rho"),
        Parameter("lam", "LASSO penalty lam |x|_1", POSITIVE, 0.1, latex="lambda"),
        Parameter("sigma", "standard deviation of the measurement noise", NONNEGATIVE, 0.1, latex="sigma"),
        Parameter("tune", "yes: also the optimally tuned LASSO at this delta, rho, sigma (observables lam_opt, "
                  "mse_opt)", default="no", kind="categorical", choices=("no", "yes"), changes_derivation=False),
    )
    observables = (
        Observable("mse", "mean squared error per component |x_hat - x0|^2/P"),
        Observable("tau", "state evolution: effective noise level tau (tau^2 = sigma^2 + mse/delta)"),
        Observable("theta", "state evolution: threshold in units of tau (soft threshold at theta tau)"),
        Observable("training_error", "mean squared residual per measurement |y - A x_hat|^2/(2N)"),
        Observable("energy", "minimal LASSO objective per unknown (|y - A x_hat|^2/2 + lam |x_hat|_1)/P"),
        Observable("q", "order parameter q (s units: mse/delta)"),
        Observable("V", "order parameter V"),
        Observable("qhat", "order parameter qhat"),
        Observable("Vhat", "order parameter Vhat"),
        Observable("lam_opt", "tune=yes: the penalty minimising the mse at this delta, rho, sigma (0 when "
                   "sigma = 0 and recovery is exact as lam -> 0: below the Donoho-Tanner curve or delta >= 1)"),
        Observable("mse_opt", "tune=yes: the mse of the optimally tuned LASSO, min over lam of mse"),
    )
    # the m-estimation order parameters with the common start that the solver uses in a sweep (where
    # the per-point starts of :meth:`starting_points` differ): the one of several tried that solved
    # most of a grid of delta in [0.2, 3], rho in [0.05, 0.5], lam in [0.01, 3], sigma in [0, 0.3] (76%)
    order_parameters = tuple(dataclasses.replace(o, guesses=(g,))
                             for o, g in zip(MEstimation.order_parameters, (0.1, 1.0, 0.1, 1.0)))
    references = (
        Reference({"delta": 0.5, "rho": 0.1, "lam": 0.1, "sigma": 0.1}, "mse", 0.006811138482139267, 1e-9,
                  "Bayati & Montanari, IEEE Trans. Inf. Theory 58, 1997 (2012), state evolution (1.6)-(1.9) "
                  "with the calibration, solved independently by scipy in tests/test_lasso.py"),
    )
    quick_compares = ({"params": {"delta": 0.5, "rho": 0.1, "lam": 0.1, "sigma": 0.1},
                       "n": [100, 200, 400], "trials": 20, "seed": 1},)
    verify_compares = quick_compares
    _alpha_name = "delta"

    def _sym(self):
        s = {p.name: p.symbol for p in self.parameters}
        return {"alpha": s["delta"], "sparsity": s["rho"], "lambda": s["lam"] * sympy.sqrt(s["delta"]),
                "noise_scale": s["sigma"], "prior_scale": 1 / sympy.sqrt(s["delta"])}

    def free_energy(self, choices):
        return super().free_energy(_FIXED)

    def closed_free_energy(self):
        """The free energy with every Gaussian average done in closed form (hand-written; tests prove
        it equal to the derived averages, symbolically and numerically). With c the soft threshold and
        a^2 the variance of the envelope's argument, E M_l1(a z; t) = a^2/(2 t) [1 - 2 G(c/a)],
        G(k) = E (z - k)_+^2 = (1 + k^2) H(k) - k phi(k), since M_l1(x; t) = [x^2 - (|x| - c)_+^2]/(2 t);
        the square loss gives delta (sigma^2 + q)/(2 (1 + V)). Thresholds in units of the argument's
        width: k0 = lam' / sqrt(qhat) (the null components: theta) and k1 = lam' / sqrt(Vhat^2 s0^2 + qhat),
        lam' = lam sqrt(delta), s0^2 = 1/delta."""
        q, V, qh, Vh = (o.symbol for o in self.order_parameters)
        s = self._sym()
        d, rho, lam, sigma, s0sq = s["alpha"], s["sparsity"], s["lambda"], s["noise_scale"], s["prior_scale"]**2

        def G(k):
            return (1 + k**2) * H(k) - k * GaussPDF(k)

        k0, k1 = lam / sympy.sqrt(qh), lam / sympy.sqrt(Vh**2 * s0sq + qh)
        return (d * (sigma**2 + q) / (2 * (1 + V))
                + (1 - rho) * qh / (2 * Vh) * (1 - 2 * G(k0))
                + rho * (Vh * s0sq + qh / Vh) / 2 * (1 - 2 * G(k1))
                - qh / (2 * Vh) - Vh * q / 2 + qh * V / 2)

    def stable_equations(self, choices):
        """The gradient of :meth:`closed_free_energy` (differentiated by SymPy): elementary functions,
        no quadrature (tests/test_contract.py and tests/test_lasso.py prove it equals the derived
        equations)."""
        F = self.closed_free_energy()
        return [sympy.diff(F, o.symbol) for o in self.order_parameters]

    def observable_expressions(self, F, choices):
        out = super().observable_expressions(F, _FIXED)
        q, V, qh, Vh = (o.symbol for o in self.order_parameters)
        d, lam = self._sym()["alpha"], self._sym()["lambda"]
        out.update({"mse": d * q, "tau": sympy.sqrt(d * qh) / Vh, "theta": lam / sympy.sqrt(qh)})
        return {o.name: out[o.name] for o in self.observables if o.name in out}

    def validate(self, params):
        pass

    # -- the optimally tuned LASSO --------------------------------------------------------
    def extra_observables(self, params, solution):
        return self.optimal_penalty(params) if params.get("tune") == "yes" else {}

    def _solve_at(self, params, lams, starts=None):
        """Saddle points at the penalties ``lams`` (other parameters from ``params``): batched Newton
        on the model's equations and Jacobian, each point from its state-evolution start (or
        ``starts``); a point that fails is retried from a converged neighbour. Returns (B, 4)."""
        from ..solver import TOL, newton_batch
        lams = np.asarray(lams, dtype=float)
        d, rho, sigma = (float(params[k]) for k in ("delta", "rho", "sigma"))
        x0 = np.array(starts, dtype=float) if starts is not None else _se_start(d, rho, lams, sigma)
        system = self.derivation(params).numpy_system
        cols = [np.full(len(lams), d), np.full(len(lams), rho), lams, np.full(len(lams), sigma)]
        x, res, _ = newton_batch(system, x0, cols, self)
        ok = res <= TOL
        if starts is not None and not ok.all():          # retry from the state-evolution starts
            bad = np.flatnonzero(~ok)
            xb, rb, _ = newton_batch(system, _se_start(d, rho, lams[bad], sigma),
                                     [c[bad] for c in cols], self)
            x[bad], res[bad], ok[bad] = xb, rb, rb <= TOL
        for i in range(len(lams)):           # continuation from the nearest converged neighbour
            if ok[i]:
                continue
            near = [j for j in np.argsort(np.abs(np.log(lams / lams[i]))) if ok[j]]
            if near:
                xi, ri, _ = newton_batch(system, x[near[0]][None, :], [c[i:i + 1] for c in cols], self)
                x[i], ok[i], res[i] = xi[0], ri[0] <= TOL, ri[0]
        if not ok.all():
            i = int(np.flatnonzero(~ok)[0])
            raise ConvergenceError(f"lasso optimal penalty at delta={d:g}, rho={rho:g}, sigma={sigma:g}: the saddle "
                                   f"point at lam={lams[i]:.17g} did not converge (residual {res[i]:.3g})",
                                   residual=float(res[i]), last_iterate=dict(zip("q V qhat Vhat".split(), x[i])))
        return x

    def _dq_dlam(self, params):
        """d(equations)/d(lam), compiled (implicit differentiation of the saddle point)."""
        key = type(self)
        if key not in _DG_DLAM:
            deriv = self.derivation(params)
            lam = self.parameter("lam").symbol
            _DG_DLAM[key] = compile_numpy([sympy.diff(e, lam) for e in deriv.equations], deriv.args)
        return _DG_DLAM[key]

    def optimal_penalty(self, params) -> dict:
        """lam_opt = argmin_lam mse(lam) and mse_opt at (delta, rho, sigma), from the model's own
        saddle point: the mse on a logarithmic grid of lam brackets the minimum, which is then the
        root of the stationarity condition dmse/dlam = delta dq/dlam = 0, with dq/dlam from implicit
        differentiation of the saddle-point equations (dx/dlam = -J^-1 dG/dlam), found by brentq
        (lam to ~1e-13 relative; mse_opt is then exact to rounding, the minimum being quadratic).
        Exact recovery (sigma = 0 and delta >= 1, or rho below the Donoho-Tanner curve eps_c(delta)
        of the l1-recovery model): the infimum is mse -> 0 as lam -> 0, reported as lam_opt = 0,
        mse_opt = 0. A minimum at the end of the scanned range, several local minima or a failed
        solve raise ConvergenceError."""
        from scipy.optimize import brentq
        d, rho, sigma = (float(params[k]) for k in ("delta", "rho", "sigma"))
        where = f"delta={d:g}, rho={rho:g}, sigma={sigma:g}"
        if sigma == 0:
            if d >= 1 or rho < _eps_c(d):
                return {"lam_opt": 0.0, "mse_opt": 0.0}
        scale = math.sqrt(sigma**2 + rho / d)
        lams = scale * np.geomspace(1e-3, 30.0, 41)
        X = self._solve_at(params, lams)
        mse = d * X[:, 0]
        interior_minima = np.flatnonzero((mse[1:-1] < mse[:-2]) & (mse[1:-1] < mse[2:])) + 1
        i = int(np.argmin(mse))
        if i in (0, len(lams) - 1) or len(interior_minima) != 1:
            raise ConvergenceError(f"lasso optimal penalty at {where}: the mse over lam in [{lams[0]:.3g}, "
                                   f"{lams[-1]:.3g}] has its minimum at lam={lams[i]:.3g} ({len(interior_minima)} "
                                   "interior local minima): no unique interior optimum")
        system, dG = self.derivation(params).numpy_system, self._dq_dlam(params)

        def slope(lam):
            # from the solution at the nearest of the three grid penalties around the minimum
            j = i - 1 + int(np.argmin(np.abs(np.log(lams[i - 1:i + 2] / lam))))
            x = self._solve_at(params, [lam], starts=[X[j]])[0]
            G, J = system(*x, d, rho, lam, sigma)
            J = np.array([[float(c) for c in row] for row in J])
            g = np.array([float(v) for v in dG(*x, d, rho, lam, sigma)])
            return float(-np.linalg.solve(J, g)[0]), x

        lo, hi = lams[i - 1], lams[i + 1]
        s_lo, s_hi = slope(lo)[0], slope(hi)[0]
        if not (s_lo < 0 < s_hi):
            raise ConvergenceError(f"lasso optimal penalty at {where}: dmse/dlam does not change sign from - to + "
                                   f"in [{lo:.17g}, {hi:.17g}] ({s_lo:.3g}, {s_hi:.3g})")
        lam_opt = brentq(lambda lam: slope(lam)[0], lo, hi, xtol=1e-300, rtol=1e-13, maxiter=200)
        x = slope(lam_opt)[1]
        return {"lam_opt": float(lam_opt), "mse_opt": float(d * x[0])}

    def simulate_trial(self, params, n, rng):
        from ..simulators.lasso import trial
        return trial(params, n, rng)

    def starting_points(self, params):
        """The state-evolution fixed point of the LASSO at this lam, to a few digits (Newton finishes):
        bisection on the threshold theta for the calibration lam = theta tau (1 - omega/delta)
        (increasing in theta, Bayati-Montanari Prop. 1.4), tau(theta) by bisection on the fixed point
        of tau^2 = sigma^2 + mse(tau, theta tau)/delta (a concave map of tau^2); omega = P(eta != 0).
        Mapped to (q, V, qhat, Vhat) by q = tau^2 - sigma^2, Vhat = delta - omega, V = omega/Vhat,
        qhat = tau^2 Vhat^2/delta (the module docstring's dictionary)."""
        return [tuple(_se_start(*(float(params[k]) for k in ("delta", "rho", "lam", "sigma"))))]

    def starting_points_batch(self, plist):
        """:meth:`starting_points` of every point at once (the same bisections, vectorised: each
        point's start depends on its own parameters only)."""
        cols = [np.array([float(p[k]) for p in plist]) for k in ("delta", "rho", "lam", "sigma")]
        return [[tuple(row)] for row in _se_start(*cols)]
