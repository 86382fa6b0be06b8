"""Optimal convex M-estimation (Advani & Ganguli), compared with MAP/ML and the Bayes-optimal MMSE.

M. Advani and S. Ganguli, "Statistical mechanics of optimal convex inference in high dimensions",
Phys. Rev. X 6, 031034 (2016); "An equivalence between high dimensional Bayes optimal inference
and M-estimation", NeurIPS 2016. The normalisation is that of :mod:`replica.models.m_estimation`:
P unknowns s0 i.i.d. from the prior, N = alpha P measurements y = X s0 + eps, X with i.i.d.
N(0, 1/P) entries, s_hat = argmin sum loss(y - X s) + sum reg(s).

Derivation (from the RS equations of m_estimation, proximal form)
-----------------------------------------------------------------
Write g = (x - prox_loss(x))/V for the loss's envelope slope at x = eps + sqrt(q) z. The width of
the regularizer's scalar channel s0 + sqrt(qd) z is qd = qhat/Vhat^2 = E[g^2]/(alpha E[g']^2).
Integrating E[g'] by parts against the density p_q of eps + sqrt(q) z and Cauchy-Schwarz give
qd >= 1/(alpha J(p_q)) (J: Fisher information), with equality iff g is proportional to the score
-(ln p_q)'. On the regularizer's side the error q = E[(prox_reg - s0)^2] is smallest for the
posterior mean of s0 in the scalar channel: q >= mmse(qd). Both optima are proximal maps of convex
functions when the noise and prior are log-concave (the convolution of a log-concave density
with a Gaussian is log-concave, so the maps have slopes in [0, 1]). Feeding them back into the
two remaining RS equations fixes the steps: the loss's smoothing parameter is q itself and the
regularizer's is qd. The optimal penalties (scaled by their proximal steps) are

    loss:        -q  M[ ln(P_eps * phi_q)  ](.; q),      prox = E[eps | eps + sqrt(q) z = x],
    regularizer: -qd M[ ln(P_s0  * phi_qd) ](.; qd),     prox = E[s0  | s0 + sqrt(qd) z = x],

(M: the Moreau envelope; phi_v: the centred Gaussian of variance v). MAP/ML uses -ln P_eps and
-ln P_s0 instead. The self-consistent equations of the optimal estimator are

    qd = 1 / (alpha J(eps + sqrt(q) z)),        q = mmse(qd),

the stationarity conditions of the potential (the free energy of this model)

    F(q, qd) = alpha [h(eps + sqrt(q) z) - h(eps)] + [h(s0 + sqrt(qd) z) - h(sqrt(qd) z)] - q/(2 qd)

(h: differential entropy), by de Bruijn's identity dh(X + sqrt(t) z)/dt = J/2 and Brown's
identity mmse(t) = t - t^2 J(s0 + sqrt(t) z). F is the replica potential (mutual information per
unknown) of Bayes-optimal inference for the same model, whose stationarity conditions are the
state evolution of Bayes-optimal AMP: this is the NeurIPS equivalence. Where the stationary point
is unique the optimal convex estimator reaches the MMSE.

A flat prior (``prior=flat``, alpha > 1) is unregularized inference: ML against the optimal
unregularized M-estimator; the prior term is then -ln(qd)/2 (F up to a constant) and q = qd.

Laplace (scale b) convolved with a Gaussian of variance v has the density
(1/(2b)) e^{v/(2b^2)} [e^{-x/b} H(sqrt(v)/b - x/sqrt(v)) + e^{x/b} H(sqrt(v)/b + x/sqrt(v))];
entropies of non-Gaussian laws are Gaussian averages after the inverse-CDF map of m_estimation.
"""
from __future__ import annotations

import math

import numpy as np
import sympy

from ..errors import ParameterError
from ..model import Model, Reference
from ..params import POSITIVE, Observable, OrderParameter, Parameter
from ..symbolic import GaussianAverage, LnH, LogAddExp
from .m_estimation import MEstimation, _transform

NOISES = ("gaussian", "laplace", "logistic", "student-t")
PRIORS = ("gaussian", "laplace", "flat", "bernoulli-gauss", "logistic")
_NOT_LOG_CONCAVE = {
    ("noise", "student-t"): "Student-t noise is not log-concave (-ln p grows like ln u^2, concave in the "
                            "tails), so the smoothed ML loss need not be convex; allowed: gaussian, laplace",
    ("prior", "bernoulli-gauss"): "the Bernoulli-Gauss prior is not log-concave (a point mass at 0 plus a "
                                  "Gaussian), so the smoothed MAP regularizer is not convex (use the "
                                  "bayes-optimal model for its MMSE); allowed: gaussian, laplace, flat",
}
_NOT_IMPLEMENTED = {("noise", "logistic"), ("prior", "logistic")}

z_out = sympy.Symbol("z", real=True)       # Gaussian smoothing of the noise
z_eps = sympy.Symbol("z_1", real=True)     # the noise by its inverse CDF
z_in = sympy.Symbol("z_2", real=True)      # Gaussian smoothing of the signal
z_s0 = sympy.Symbol("z_3", real=True)      # the signal by its inverse CDF


def laplace_gauss_logpdf(x, b, v):
    """ln of the density of (Laplace of scale b) + N(0, v) at x (see the module docstring)."""
    r = sympy.sqrt(v)
    return (-sympy.log(2 * b) + v / (2 * b**2)
            + LogAddExp(-x / b + LnH(r / b - x / r), x / b + LnH(r / b + x / r)))


def _entropy_gain(law, scale, v, z_law, z_smooth):
    """h(X + sqrt(v) z) - h(X) for X of law ``law`` and scale ``scale`` (nats)."""
    if law == "gaussian":
        return sympy.log(1 + v / scale**2) / 2
    if law == "laplace":
        x = _transform("laplace", z_law, scale, None) + sympy.sqrt(v) * z_smooth
        h_sum = -GaussianAverage(GaussianAverage(laplace_gauss_logpdf(x, scale, v), z_smooth), z_law)
        return h_sum - (1 + sympy.log(2 * scale))
    raise ValueError(law)


class OptimalMEstimation(Model):
    name = "optimal-m-estimation"
    title = "Optimal convex M-estimation (smoothed MAP) versus MAP/ML and the Bayes-optimal MMSE"
    description = ("Linear measurements y = X s0 + noise, N = alpha P, log-concave noise and prior: the MSE of the "
                   "optimal convex M-estimator, whose loss and regularizer are Moreau-smoothed negative logs of "
                   "the noise and prior convolved with Gaussians (smoothing q and qd fixed self-consistently), "
                   "against MAP/ML (m-estimation with -ln of the noise and prior) and the Bayes-optimal MMSE "
                   "(Advani & Ganguli, PRX 2016; NeurIPS 2016).")
    parameters = (
        Parameter("alpha", "measurements per unknown N/P", POSITIVE, 2.0, latex="alpha"),
        Parameter("noise", "law of the measurement noise (log-concave)", default="gaussian", kind="categorical",
                  choices=NOISES),
        Parameter("prior", "law of the signal components (log-concave; flat: no prior, unregularized, alpha > 1)",
                  default="gaussian", kind="categorical", choices=PRIORS),
        Parameter("noise_scale", "scale of the noise (gaussian: std; laplace: b)", POSITIVE, 0.5, latex="sigma"),
        Parameter("prior_scale", "scale of the prior (gaussian: std; laplace: b)", POSITIVE, 1.0, latex="sigma_0"),
    )
    order_parameters = (
        OrderParameter("q", "mean squared error per component (= smoothing parameter of the optimal loss)",
                       POSITIVE, guesses=(0.3,)),
        OrderParameter("qd", "noise variance of the effective scalar channel s0 + sqrt(qd) z (= smoothing "
                       "parameter of the optimal regularizer)", POSITIVE, guesses=(0.5,)),
    )
    observables = (
        Observable("mse", "MSE per component of the optimal convex M-estimator (= q)"),
        Observable("lambda_loss", "smoothing parameter of the optimal loss: Gaussian variance convolved into the "
                   "noise and Moreau step (= q)"),
        Observable("lambda_reg", "smoothing parameter of the optimal regularizer: Gaussian variance convolved "
                   "into the prior and Moreau step (= qd)"),
        Observable("mse_map", "MSE of MAP (ML for prior=flat): m-estimation with loss -ln P_noise and "
                   "regularizer -ln P_prior"),
        Observable("mse_bayes", "Bayes-optimal MMSE: the global minimum of the replica potential F over its "
                   "stationary points (NaN for prior=flat)"),
        Observable("stationary_points", "number of stationary points of the potential found (1: the optimal "
                   "M-estimator reaches the MMSE)"),
    )
    free_energy_name = "replica potential (mutual information per unknown)"
    simulated_observables = ("mse",)
    finite_size_powers = (1,)
    # quick: Gaussian laws (a second to solve); full verify adds the Laplace prior (about 20 s)
    quick_compares = ({"params": {"alpha": 2.0}, "n": [100, 200, 400], "trials": 20, "seed": 1},)
    verify_compares = quick_compares + (
        {"params": {"alpha": 2.0, "prior": "laplace"}, "n": [100, 200, 400], "trials": 20, "seed": 1},)
    ansatz = "replica symmetric"
    select = "min"
    references = (
        Reference({"alpha": 2.0, "noise_scale": math.sqrt(0.5)}, "mse", (-1.5 + math.sqrt(1.5**2 + 4 * 0.5)) / 2,
                  1e-12, "Gaussian prior and noise: q^2 + (alpha s0^2 + s^2 - s0^2) q - s0^2 s^2 = 0, the MMSE "
                  "(Tulino and Verdu 2004; Advani and Ganguli, NeurIPS 2016: optimal M-estimation = ridge = MMSE)"),
        Reference({"alpha": 3.0, "prior": "flat", "noise_scale": 1.0}, "mse", 0.5, 1e-12,
                  "flat prior, Gaussian noise: least squares is optimal, sigma^2/(alpha - 1)"),
    )

    def _sym(self):
        return {p.name: p.symbol for p in self.parameters}

    def validate(self, params):
        for key in ("noise", "prior"):
            val = params.get(key)
            if (key, val) in _NOT_LOG_CONCAVE:
                raise ParameterError(f"parameter '{key}'={val} is not allowed: {_NOT_LOG_CONCAVE[(key, val)]}")
            if (key, val) in _NOT_IMPLEMENTED:
                raise ParameterError(f"parameter '{key}'={val} is log-concave but not implemented here "
                                     "(no closed form of its Gaussian convolution); allowed: gaussian, laplace")
        if params.get("prior") == "flat" and params["alpha"] <= 1:
            raise ParameterError(f"parameter 'alpha'={params['alpha']:g} is out of range for prior=flat; "
                                 "allowed (1, inf) (unregularized estimation needs N > P)")

    def free_energy(self, choices):
        q, qd = (o.symbol for o in self.order_parameters)
        s = self._sym()
        out = s["alpha"] * _entropy_gain(choices["noise"], s["noise_scale"], q, z_eps, z_out)
        if choices["prior"] == "flat":
            prior = -sympy.log(qd) / 2
        elif choices["prior"] == "gaussian":
            prior = sympy.log(1 + s["prior_scale"]**2 / qd) / 2
        else:
            # h(s0 + sqrt(qd) z) - h(sqrt(qd) z): the mutual information of the scalar channel
            x = _transform("laplace", z_s0, s["prior_scale"], None) + sympy.sqrt(qd) * z_in
            h_sum = -GaussianAverage(GaussianAverage(laplace_gauss_logpdf(x, s["prior_scale"], qd), z_in), z_s0)
            prior = h_sum - sympy.log(2 * sympy.pi * sympy.E * qd) / 2
        return out + prior - q / (2 * qd)

    def equation_scales(self, choices):
        q, qd = (o.symbol for o in self.order_parameters)
        # alpha J qd - 1 and q - mmse(qd)
        return [2 * qd, 2 * qd**2]

    def stable_equations(self, choices):
        """The scaled gradient as differentiated (no Gaussian integration by parts): equal to the
        derived form (contract battery); avoids nested Stein rewriting of the LogAddExp pieces."""
        F = self.free_energy(choices)
        return [sc * sympy.diff(F, o.symbol) for sc, o in zip(self.equation_scales(choices), self.order_parameters)]

    def observable_expressions(self, F, choices):
        q, qd = (o.symbol for o in self.order_parameters)
        return {"mse": q, "lambda_loss": q, "lambda_reg": qd}

    def _second_moments(self, params):
        noise, prior = params["noise"], params["prior"]
        sn, sp = float(params["noise_scale"]), float(params["prior_scale"])
        var_n = sn**2 if noise == "gaussian" else 2 * sn**2
        var_p = None if prior == "flat" else (sp**2 if prior == "gaussian" else 2 * sp**2)
        return var_n, var_p

    def starting_points(self, params):
        """The Gaussian-surrogate fixed point (noise and prior replaced by Gaussians of the same variance)."""
        a = float(params["alpha"])
        var_n, var_p = self._second_moments(params)
        if var_p is None:
            q = var_n / (a - 1)
            return [(q, q)]
        b = a * var_p + var_n - var_p
        q = (-b + math.sqrt(b * b + 4 * var_p * var_n)) / 2
        return [(q, (var_n + q) / a)]

    # -- MAP / ML and the Bayes-optimal MMSE -------------------------------------
    def map_params(self, params) -> dict:
        """The m-estimation parameters of MAP (ML for a flat prior), the objective scaled by the noise scale."""
        noise, prior = params["noise"], params["prior"]
        sn, sp = float(params["noise_scale"]), float(params["prior_scale"])
        if noise == "gaussian":     # -ln p = u^2/(2 sn^2): times sn^2
            loss, unit = "square", sn**2
        else:                       # |u|/sn: times sn
            loss, unit = "absolute", sn
        out = {"alpha": float(params["alpha"]), "loss": loss, "noise": noise, "noise_scale": sn}
        if prior == "flat":
            out.update(regularizer="zero", prior="gaussian")
        elif prior == "gaussian":   # s^2/(2 sp^2)
            out.update(regularizer="l2", prior="gaussian", prior_scale=sp, **{"lambda": unit / sp**2})
        else:                       # |s|/sp
            out.update(regularizer="l1", prior="laplace", prior_scale=sp, **{"lambda": unit / sp})
        return out

    def mse_map(self, params) -> float:
        from ..solver import solve
        m = MEstimation()
        return float(solve(m, m.resolve(self.map_params(params))).observables["mse"])

    def stationary_points(self, params, grid=16) -> list:
        """Every stationary point (q, qd) of F: along qd(q) = 1/(alpha J(q)) (the first equation solved
        for qd: it is linear in qd), the sign changes of q - mmse(qd(q)) on a log grid of q, refined by
        brentq. Returns [(q, qd, F)]."""
        d = self.derivation(params)
        rest = [float(params[p.name]) for p in self.real_parameters]
        res, Fn = d.numpy_residual, d.numpy_free_energy
        var_n, var_p = self._second_moments(params)
        top = var_p if var_p is not None else 50 * var_n / (float(params["alpha"]) - 1)

        def qd_of(q):
            return 1.0 / (float(res(q, 1.0, *rest)[0]) + 1.0)

        def g(q):
            return float(res(q, qd_of(q), *rest)[1])

        from scipy.optimize import brentq
        qs = np.geomspace(top * 1e-6, top * (1 - 1e-9), grid)
        vals = [g(q) for q in qs]
        out = []
        for a, b, fa, fb in zip(qs[:-1], qs[1:], vals[:-1], vals[1:]):
            if fa * fb < 0:
                qm = brentq(g, a, b, xtol=1e-15, rtol=1e-13)
                out.append((qm, qd_of(qm), float(Fn(qm, qd_of(qm), *rest))))
        return out

    def extra_observables(self, params, solution) -> dict:
        out = {"mse_map": self.mse_map(params)}
        if params["prior"] == "flat":
            return out                    # no prior, no Bayes estimator: mse_bayes is not defined
        pts = self.stationary_points(params)
        q, qd = (float(v) for v in solution)
        if not any(abs(p[0] - q) <= 1e-8 * q for p in pts):
            # the saddle point is itself stationary: a scan that missed it must not lose it
            rest = [float(params[p.name]) for p in self.real_parameters]
            pts.append((q, qd, float(self.derivation(params).numpy_free_energy(q, qd, *rest))))
        out["stationary_points"] = float(len(pts))
        out["mse_bayes"] = min(pts, key=lambda p: p[2])[0]
        return out


    # -- simulation: the optimal convex problem at the theory's smoothing parameters -----------
    def smoothing(self, params) -> tuple:
        """(q, qd) at the saddle point (the solver without the extra observables), remembered."""
        key = tuple(sorted((k, v) for k, v in params.items()))
        cache = self.__dict__.setdefault("_smoothing", {})
        if key not in cache:
            from ..errors import ConvergenceError
            from ..solver import solve_batch
            sol = solve_batch(self, [params])[0]
            if not sol["converged"]:
                raise ConvergenceError(f"{self.name}: no saddle point at {params}")
            cache[key] = (float(sol["x"][0]), float(sol["x"][1]))
        return cache[key]

    def simulate_trial(self, params, n, rng):
        from ..simulators.optimal_m_estimation import trial
        q, qd = self.smoothing(params)
        return trial(params, n, rng, q, qd)


def map_alpha_for_mse(params: dict, target: float, lo: float, hi: float) -> float:
    """The load alpha at which MAP (ML) reaches the MSE ``target``: brentq on m-estimation's MSE."""
    from scipy.optimize import brentq
    model = OptimalMEstimation()

    def f(a):
        p = model.resolve({**params, "alpha": a})
        return math.log(model.mse_map(p)) - math.log(target)

    return brentq(f, lo, hi, xtol=1e-10, rtol=1e-10)
