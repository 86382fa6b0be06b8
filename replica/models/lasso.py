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
"""
from __future__ import annotations

import sympy

from ..model import Reference
from ..params import NONNEGATIVE, POSITIVE, Interval, Observable, Parameter
from .m_estimation import MEstimation

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
    )
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

    def stable_equations(self, choices):
        return super().stable_equations(_FIXED)

    def observable_expressions(self, F, choices):
        out = super().observable_expressions(F, _FIXED)
        q, V, qh, Vh = (o.symbol for o in self.order_parameters)
        d, lam = self._sym()["alpha"], self._sym()["lambda"]
        out.update({"mse": d * q, "tau": sympy.sqrt(d * qh) / Vh, "theta": lam / sympy.sqrt(qh)})
        return {o.name: out[o.name] for o in self.observables}

    def validate(self, params):
        pass

    def simulate_trial(self, params, n, rng):
        from ..simulators.lasso import trial
        return trial(params, n, rng)
