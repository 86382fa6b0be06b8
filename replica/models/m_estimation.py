"""M-estimation in high dimensions: any convex loss and regularizer (replica symmetric, zero temperature).

M. Advani and S. Ganguli, "Statistical mechanics of optimal convex inference in high
dimensions", Phys. Rev. X 6, 031034 (2016); N. El Karoui, D. Bean, P. Bickel, C. Lim and
B. Yu, "On robust regression with high-dimensional predictors", PNAS 110, 14557 (2013);
D. Donoho and A. Montanari, "High dimensional robust M-estimation", PTRF 166, 935 (2016).

Normalisation
-------------
P unknowns s0 (i.i.d. from the prior), N = alpha P measurements y = X s0 + eps, X with
i.i.d. N(0, 1/P) entries, eps i.i.d. noise. The estimator is

    s_hat = argmin_s  sum_mu loss(y_mu - x_mu . s) + sum_i reg(s_i)

(the regularizer carries its strength, e.g. reg = lambda |s| for l1). ``mse`` is |s_hat - s0|^2/P.

Replica free energy
-------------------
For the error w = s - s0 the residuals are eps_mu - x_mu . w, and x_mu . w^a are Gaussian
with covariance w^a . w^b / P. Replica symmetry with q = |w|^2/P (the mse) and, at zero
temperature, Q - q = V/beta; the conjugates qhat, Vhat of the replica overlaps decouple the
sites, and every Gibbs integral becomes a Moreau envelope M_f(x; t) = min_u f(u) + (x-u)^2/(2t)
(Laplace's method). The ground-state energy per unknown is the extremum over (q, V, qhat, Vhat) of

    e = alpha E_{eps,z} M_loss(eps + sqrt(q) z; V)
        + E_{s0,z} M_reg(s0 + sqrt(qhat) z / Vhat; 1/Vhat)
        - qhat/(2 Vhat) - Vhat q/2 + qhat V/2.

Its stationarity conditions, derived here by differentiation, are the equations of
Advani-Ganguli / El Karoui in proximal form (with p = prox; x = the envelopes' arguments):
Vhat = alpha E[1 - p_loss'(x)]/V, qhat = alpha E[(x - p_loss)^2]/V^2, V = E[p_reg'(x)]/Vhat,
q = E[(p_reg(x) - s0)^2] (tests/test_m_estimation.py checks them against these forms, the
least-squares and ridge closed forms, the LASSO phase transition and simulations).
Training error (mean loss per measurement) = E[loss(prox_loss(eps + sqrt(q) z; V))].

Averages over non-Gaussian noise and priors are Gaussian averages after the inverse-CDF map
eps = F^{-1}(Phi(z1)) (Laplace: -b sign(z) ln(2 H(|z|)); logistic: b ln(Phi/H); Student-t:
its quantile function). Gaussian noise (prior) is merged with the Gaussian field into one
average. A user's own convex loss or regularizer (a SymPy expression): :func:`with_penalties`.
``noise_scale`` is each law's scale parameter (Gaussian: the standard deviation;
Laplace: b, variance 2 b^2; logistic: s, variance pi^2 s^2/3; Student-t: the scale).
"""
from __future__ import annotations

import mpmath
import numpy as np
import scipy.special as sc
import sympy

from ..errors import ParameterError
from ..model import Model, Reference
from ..params import NONNEGATIVE, POSITIVE, Interval, Observable, OrderParameter, Parameter
from ..symbolic import GaussianAverage, LnH
from .. import proximal

NOISES = ("gaussian", "laplace", "logistic", "student-t")
PRIORS = ("gaussian", "laplace", "bernoulli-gauss")

z_loss = sympy.Symbol("z", real=True)
z_noise = sympy.Symbol("z_1", real=True)
z_reg = sympy.Symbol("z_2", real=True)
z_prior = sympy.Symbol("z_3", real=True)
z_null = sympy.Symbol("z_0", real=True)


class StudentTQuantile(sympy.Function):
    """The quantile of Student's t with ``nu`` degrees of freedom at Phi(z): t(z) has Student's law
    when z is standard Gaussian. dt/dz = phi(z) / f_nu(t)."""

    nargs = 2

    def fdiff(self, argindex=1):
        z, nu = self.args
        if argindex != 1:
            raise sympy.ArgumentIndexError(self, argindex)
        dens = (sympy.gamma((nu + 1) / 2) / (sympy.sqrt(nu * sympy.pi) * sympy.gamma(nu / 2))
                * (1 + self**2 / nu)**(-(nu + 1) / 2))
        return sympy.exp(-z**2 / 2) / sympy.sqrt(2 * sympy.pi) / dens

    @staticmethod
    def _imp_(z, nu):
        if isinstance(z, mpmath.mpf) or isinstance(nu, mpmath.mpf):
            return _student_quantile_mp(z, nu)
        return _student_quantile_np(z, nu)

    def _latex(self, printer, exp=None):
        tex = r"F_{t_{%s}}^{-1}\left(\Phi\left(%s\right)\right)" % (printer._print(self.args[1]),
                                                                   printer._print(self.args[0]))
        return tex if exp is None else r"\left[%s\right]^{%s}" % (tex, exp)


_T_CACHE: dict = {}


def _student_quantile_np(z, nu):
    """Vectorised quantile. The quadrature evaluates it on a grid broadcast against the inner
    average's nodes (360 x 720 values, 171 distinct): each distinct |z| is computed once
    (``stdtrit`` is iterative, ~1 us a value), and the last few grids are remembered."""
    z, nu = np.broadcast_arrays(np.asarray(z, dtype=float), np.asarray(nu, dtype=float))
    if nu.size == 0:
        return np.zeros(z.shape)
    nu0 = nu.flat[0]
    if not np.all(nu == nu0):
        return -np.sign(z) * sc.stdtrit(nu, sc.ndtr(-np.abs(z)))
    a, inverse = np.unique(np.abs(z), return_inverse=True)
    key = (float(nu0), a.tobytes())
    t = _T_CACHE.get(key)
    if t is None:
        t = -sc.stdtrit(nu0, sc.ndtr(-a))
        if len(_T_CACHE) > 32:
            _T_CACHE.clear()
        _T_CACHE[key] = t
    return np.sign(z) * t[inverse.reshape(z.shape)]


def _student_quantile_mp(z, nu):
    z, nu = mpmath.mpf(z), mpmath.mpf(nu)
    if z == 0:
        return mpmath.mpf(0)
    p = mpmath.erfc(abs(z) / mpmath.sqrt(2)) / 2          # lower tail mass, t < 0

    def cdf(t):      # Student CDF at t < 0: I_{nu/(nu+t^2)}(nu/2, 1/2)/2
        return mpmath.betainc(nu / 2, mpmath.mpf(1) / 2, 0, nu / (nu + t * t), regularized=True) / 2

    t0 = mpmath.mpf(float(sc.stdtrit(float(nu), float(p))))
    t = mpmath.findroot(lambda t: mpmath.log(cdf(t)) - mpmath.log(p), t0)
    return -mpmath.sign(z) * t


def _penalty(name, sym):
    """The library penalty ``name`` with its parameters as the model's symbols."""
    return {
        "square": lambda: proximal.square(),
        "absolute": lambda: proximal.absolute(),
        "huber": lambda: proximal.huber(sym["huber_delta"]),
        "quantile": lambda: proximal.quantile(sym["quantile_tau"]),
        "logcosh": lambda: proximal.logcosh(),
        "zero": lambda: proximal.zero(),
        "l2": lambda: proximal.l2(sym["lambda"]),
        "l1": lambda: proximal.l1(sym["lambda"]),
        "elastic-net": lambda: proximal.elastic_net(sym["lambda"], sym["lambda2"]),
    }[name]()


def _transform(law, z, scale, nu):
    """A variable with the law ``law`` (scale ``scale``) as a function of a standard Gaussian z."""
    if law == "laplace":
        return -scale * sympy.sign(z) * (sympy.log(2) + LnH(sympy.Abs(z)))
    if law == "logistic":
        return scale * (LnH(-z) - LnH(z))
    if law == "student-t":
        # written with sign and Abs (the quantile is odd) so that the quadrature treats z = 0 as a
        # kink and integrates the heavy-tailed map by Gauss-Legendre panels: Gauss-Hermite with 80
        # nodes erred by 3e-6 (relative) in the mse of Huber regression under t_3 noise
        return scale * sympy.sign(z) * StudentTQuantile(sympy.Abs(z), nu)
    raise ValueError(law)


class MEstimation(Model):
    name = "m-estimation"
    title = "M-estimation with a convex loss and regularizer (replica symmetric, zero temperature)"
    description = ("Linear measurements y = X s0 + noise, N = alpha P, estimated by minimising "
                   "sum loss(y - X s) + sum reg(s): mean squared error per component, the saddle point "
                   "(q = mse, V, qhat, Vhat) and the training error, from the Moreau envelopes of loss "
                   "and regularizer (Advani & Ganguli 2016; El Karoui et al. 2013).")
    parameters = (
        Parameter("alpha", "measurements per unknown N/P", POSITIVE, 2.0, latex="alpha"),
        Parameter("loss", "loss of the residual y - x.s", default="square", kind="categorical",
                  choices=proximal.LOSSES),
        Parameter("regularizer", "penalty on each component of s", default="l2", kind="categorical",
                  choices=proximal.REGULARIZERS),
        Parameter("noise", "law of the measurement noise", default="gaussian", kind="categorical",
                  choices=NOISES),
        Parameter("prior", "law of the signal components s0", default="gaussian", kind="categorical",
                  choices=PRIORS),
        Parameter("noise_scale", "scale of the noise (gaussian: std; laplace: b; logistic: s; student-t: scale)",
                  NONNEGATIVE, 0.5, latex="sigma"),
        # nu >= 2: the theory needs E|eps| < inf (nu > 1) for a loss of linear growth, and below 2 the
        # quadrature of the heavy tail loses digits (measured on Huber regression against a quad
        # reference: 1e-8 relative at nu = 1.8, 7e-5 at nu = 1.3; LAD with elastic net at nu = 1.5
        # did not converge)
        Parameter("student_nu", "degrees of freedom of student-t noise", Interval(2.0, None, lower_closed=True),
                  3.0, latex="nu"),
        Parameter("prior_scale", "scale of the prior (gaussian: std; laplace: b; bernoulli-gauss: std of "
                  "the nonzero components)", POSITIVE, 1.0, latex="sigma_0"),
        Parameter("sparsity", "fraction of nonzero components (bernoulli-gauss prior)",
                  Interval(0.0, 1.0, upper_closed=True), 0.2, latex="rho"),
        Parameter("lambda", "regularization strength (l1, l2, and the l1 part of elastic-net)",
                  NONNEGATIVE, 1.0, latex="lambda"),
        Parameter("lambda2", "l2 part of elastic-net, lambda2 s^2/2", NONNEGATIVE, 0.5, latex="lambda_2"),
        Parameter("huber_delta", "Huber threshold delta", POSITIVE, 1.0, latex="delta"),
        Parameter("quantile_tau", "quantile level of the pinball loss", Interval(0.0, 1.0), 0.5, latex="tau"),
    )
    order_parameters = (
        OrderParameter("q", "mean squared error per component |s_hat - s0|^2/P", POSITIVE, guesses=(0.3,)),
        OrderParameter("V", "response V = beta (Q - q) (step of the loss's proximal map)", POSITIVE,
                       guesses=(1.0,)),
        OrderParameter("qhat", "conjugate of q (variance of the effective field)", POSITIVE, guesses=(0.5,)),
        OrderParameter("Vhat", "conjugate of V (1/Vhat is the regularizer's proximal step)", POSITIVE,
                       guesses=(1.0,)),
    )
    observables = (
        Observable("mse", "mean squared error per component, |s_hat - s0|^2/P (= q)"),
        Observable("q", "order parameter q (= mse)"),
        Observable("V", "order parameter V"),
        Observable("qhat", "order parameter qhat"),
        Observable("Vhat", "order parameter Vhat"),
        Observable("training_error", "mean loss per measurement at the estimate, (1/N) sum loss(y - x.s_hat)"),
        Observable("energy", "minimal objective per unknown, (sum loss + sum reg)/P (the free energy)"),
    )
    free_energy_name = "ground-state energy per unknown"
    ansatz = "replica symmetric"
    select = "min"
    simulated_observables = ("mse", "training_error")
    finite_size_powers = (1,)
    references = (
        Reference({"alpha": 2.0, "loss": "square", "regularizer": "zero", "noise_scale": 1.0}, "mse", 1.0, 1e-10,
                  "least squares: sigma^2/(alpha - 1) per component (E tr (X^T X)^-1)"),
        Reference({"alpha": 4.0, "loss": "square", "regularizer": "zero", "noise_scale": 0.5}, "training_error",
                  0.25 * 0.75 / 2, 1e-10, "least squares residual: sigma^2 (1 - 1/alpha)/2 per measurement"),
        Reference({"alpha": 2.0, "loss": "square", "regularizer": "l2", "lambda": 0.5, "noise_scale": 0.5}, "mse",
                  0.19355773449762417, 1e-12,
                  "ridge: int dmu(a) (lam^2 + sigma^2 a)/(a + lam)^2 over the Marchenko-Pastur law of X^T X "
                  "(Dobriban & Wager, Ann. Statist. 46, 247 (2018)); mpmath quad, tests/test_m_estimation.py"),
    )
    quick_compares = ({"params": {"alpha": 2.0, "loss": "square", "regularizer": "l2", "lambda": 0.5},
                       "n": [50, 100, 200], "trials": 20, "seed": 1},)
    # the three comparisons of tests/test_m_estimation.py (extrapolated error bars a few per cent)
    verify_compares = (
        {"params": {"alpha": 2.0, "loss": "square", "regularizer": "l2", "lambda": 0.5},
         "n": [100, 200, 400], "trials": 40, "seed": 1},
        {"params": {"alpha": 2.0, "loss": "absolute", "regularizer": "zero", "noise": "laplace"},
         "n": [50, 100, 200], "trials": 40, "seed": 2},
        {"params": {"alpha": 2.0, "loss": "huber", "regularizer": "l2", "noise": "student-t", "lambda": 0.3},
         "n": [100, 200, 400], "trials": 30, "seed": 2},
    )

    #: the parameter holding N/P (the lasso model calls it delta)
    _alpha_name = "alpha"

    # -- the replica free energy -------------------------------------------------
    def _sym(self):
        return {p.name: p.symbol for p in self.parameters}

    #: a user's own loss / regularizer (a :class:`~replica.proximal.Penalty`), see :func:`with_penalties`
    custom_loss = None
    custom_regularizer = None

    def loss_penalty(self, choices):
        return self.custom_loss or _penalty(choices["loss"], self._sym())

    def reg_penalty(self, choices):
        return self.custom_regularizer or _penalty(choices["regularizer"], self._sym())

    def _loss_average(self, fn, choices):
        """E_{eps,z} fn(eps + sqrt(q) z): one Gaussian average for Gaussian noise, else nested."""
        q = self.order_parameters[0].symbol
        s = self._sym()
        if choices["noise"] == "gaussian":
            return GaussianAverage(fn(sympy.sqrt(s["noise_scale"]**2 + q) * z_loss), z_loss)
        eps = _transform(choices["noise"], z_noise, s["noise_scale"], s["student_nu"])
        return GaussianAverage(GaussianAverage(fn(eps + sympy.sqrt(q) * z_loss), z_loss), z_noise)

    def _reg_average(self, fn, choices):
        """E_{s0,z} fn(s0 + sqrt(qhat) z / Vhat)."""
        _, _, qh, Vh = (o.symbol for o in self.order_parameters)
        s = self._sym()
        width = qh / Vh**2
        if choices["prior"] == "gaussian":
            return GaussianAverage(fn(sympy.sqrt(s["prior_scale"]**2 + width) * z_reg), z_reg)
        if choices["prior"] == "bernoulli-gauss":
            rho = s["sparsity"]
            return ((1 - rho) * GaussianAverage(fn(sympy.sqrt(width) * z_null), z_null)
                    + rho * GaussianAverage(fn(sympy.sqrt(s["prior_scale"]**2 + width) * z_reg), z_reg))
        s0 = _transform(choices["prior"], z_prior, s["prior_scale"], None)
        return GaussianAverage(GaussianAverage(fn(s0 + sympy.sqrt(width) * z_reg), z_reg), z_prior)

    def free_energy(self, choices):
        q, V, qh, Vh = (o.symbol for o in self.order_parameters)
        alpha = self._sym()["alpha"]
        loss, reg = self.loss_penalty(choices), self.reg_penalty(choices)
        return (alpha * self._loss_average(lambda x: loss.envelope(x, V), choices)
                + self._reg_average(lambda x: reg.envelope(x, 1 / Vh), choices)
                - qh / (2 * Vh) - Vh * q / 2 + qh * V / 2)

    def stable_equations(self, choices):
        """The gradient as differentiated (Ramp pieces), without Gaussian integration by parts: the
        integrated-by-parts form holds Step pieces, and its Jacobian delta functions, which the
        package cannot sift inside the nested averages of non-Gaussian noise or priors. The
        Jacobian of this form holds only Step pieces. Equal to the derived form (tested)."""
        F = self.free_energy(choices)
        return [sympy.diff(F, o.symbol) for o in self.order_parameters]

    def observable_expressions(self, F, choices):
        q, V, qh, Vh = (o.symbol for o in self.order_parameters)
        loss = self.loss_penalty(choices)
        return {"mse": q, "q": q, "V": V, "qhat": qh, "Vhat": Vh,
                "training_error": self._loss_average(lambda x: loss.value_at_prox(x, V), choices),
                "energy": F}

    # -- solver support ---------------------------------------------------------
    def starting_points(self, params):
        """The saddle point reached by the damped fixed-point iteration that the stationarity
        conditions define (x <- x + 2 dF/dx' for the conjugate pairs, see the module docstring):
        V <- V - 2 dF/dqhat, qhat <- qhat - 2 dF/dV, Vhat <- Vhat + 2 dF/dq, q <- q + 2 dF/dVhat."""
        d = self.derivation(params)
        vals = [float(params[p.name]) for p in self.real_parameters]
        a = float(params[self._alpha_name])
        x = np.array([0.5, 1.0 / max(a - 1.0, 0.5), 1.0, max(a - 1.0, 0.5)])
        for _ in range(300):
            g = np.array([float(v) for v in d.numpy_residual(*x, *vals)])
            if not np.all(np.isfinite(g)):
                break
            new = np.array([x[0] + 2 * g[3], x[1] - 2 * g[2], x[2] - 2 * g[1], x[3] + 2 * g[0]])
            new = np.maximum(new, 1e-3 * x)
            step = 0.5 * (new - x)
            x = x + step
            if np.max(np.abs(step) / (1 + np.abs(x))) < 1e-4:      # Newton finishes
                break
        return [tuple(x)]

    def validate(self, params):
        if params.get("regularizer") == "zero" and params["alpha"] <= 1:
            raise ParameterError(f"parameter 'alpha'={params['alpha']:g} is out of range for "
                                 "regularizer=zero; allowed (1, inf) (without a regularizer the "
                                 "estimator is not unique for N <= P)")
        if (params.get("loss") == "square" and params.get("noise") == "student-t"
                and params["student_nu"] <= 2):
            raise ParameterError(f"parameter 'student_nu'={params['student_nu']:g} is out of range for "
                                 "loss=square; allowed (2, inf) (the square loss needs finite noise variance)")

    # -- simulation ---------------------------------------------------------------
    def simulate_trial(self, params, n, rng):
        from ..simulators.m_estimation import trial
        return trial(params, n, rng, loss=self.custom_loss, regularizer=self.custom_regularizer)


def with_penalties(loss=None, regularizer=None) -> MEstimation:
    """The m-estimation model with a user's own loss and/or regularizer (Python API only).

    Each is a SymPy expression in :data:`replica.proximal.U` with numbers for its parameters
    (its proximal map is then computed numerically; convexity is checked), or a
    :class:`~replica.proximal.Penalty` (e.g. ``proximal.huber(1.5)``). Strings are refused: nothing
    is parsed. The parameters ``loss``/``regularizer`` of the returned model are then ignored.
    Example: ``replica.solve(with_penalties(loss=sympy.log(1 + U**2/2) ...))`` -- for a convex one."""
    attrs = {}
    for key, value in (("custom_loss", loss), ("custom_regularizer", regularizer)):
        if value is None:
            continue
        if not isinstance(value, proximal.Penalty):
            value = proximal.numeric_penalty(f"user_{key.split('_')[1]}", value)
        attrs[key] = value
    name = "MEstimation_" + "_".join(f"{k}_{abs(hash(v.expr))}" for k, v in attrs.items())
    return type(name, (MEstimation,), attrs)()
