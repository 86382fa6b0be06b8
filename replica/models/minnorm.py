"""Minnorm training (Bansal, Advani, Cox & Saxe 2018): what it converges to, against the replica theory.

Minnorm training (:mod:`replica.minnorm`) minimises the sum of the layers' squared weight norms
subject to fitting every training example, by gradient descent on the weights and ascent on one
Lagrange multiplier an example. Its fixed points do not depend on the initialisation:

* ``task=classification``: on P = alpha N random patterns with random labels (Gardner's storage
  problem) the end-to-end weights converge to the max-margin hyperplane (the hard-margin SVM
  through the origin), whose margin -- the stability of the worst pattern -- is, as N -> oo,
  the kappa at which Gardner's capacity equals the load, ``alpha_c(kappa) = alpha``. The
  package's "free energy" here is

      F(kappa) = (1/3) int Dt (t + kappa)_+^3 - kappa / alpha,

  the q -> 1 coefficient of Gardner's replica-symmetric free entropy (proportional to
  ``1/alpha - int Dt (t + kappa)_+^2``) integrated in kappa: convex, its one stationary point is
  ``alpha int Dt (t + kappa)^2 theta(t + kappa) = 1``, Gardner's capacity equation read for kappa.
  The Gaussian average is written in closed form with H and phi (kappa >= 0).
* ``task=regression``: a noiseless linear teacher with N(0, I) inputs, P = alpha N < N
  examples, a deep linear network of depth D: minnorm's end-to-end weights converge to the
  minimum-norm interpolant (the pseudo-inverse), whose generalisation error
  ``|v - w*|^2 / |w*|^2`` is ``1 - alpha`` (the teacher projected on a random P-dimensional
  row space), whatever the depth and the initial weight scale. Plain gradient descent keeps a
  memory of its initialisation (tests/test_minnorm.py).

The simulator trains actual networks for ``t`` steps on instances of size N (the
observables at finite t; the theory is the t -> oo fixed point, so t must be long enough).
"""
from __future__ import annotations

import functools
import sympy

from ..errors import ParameterError
from ..minnorm import MAX_DEPTH, TASKS
from ..model import DerivedLimit, Model, Reference
from ..params import NONNEGATIVE, POSITIVE, Interval, Observable, OrderParameter, Parameter
from ..symbolic import GaussPDF, H
from .gardner import capacity_closed_form


class Minnorm(Model):
    name = "minnorm"
    title = "Minnorm training (Bansal, Advani, Cox & Saxe 2018): max margin and minimum norm"
    description = ("Minnorm training minimises the sum of the layers' squared weight norms subject to fitting the "
                   "data, with Lagrange multipliers that integrate each example's error. Classification of "
                   "alpha N random patterns: the trained margin converges to the max margin, kappa with Gardner's "
                   "alpha_c(kappa) = alpha. Regression on a linear teacher with a deep linear network: the "
                   "generalisation error converges to that of the minimum-norm interpolant, 1 - alpha, "
                   "independent of the initialisation.")
    parameters = (
        Parameter("task", "classification (random labels, max margin) or regression (linear teacher, min norm)",
                  default="classification", kind="categorical", choices=TASKS),
        Parameter("alpha", "load P/N (classification: below 2; regression: below 1)", POSITIVE, 0.5, latex="alpha"),
        Parameter("depth", "number of layers D of the linear network (hidden width N)",
                  Interval(1, MAX_DEPTH, lower_closed=True, upper_closed=True), 1, kind="integer", latex="D"),
        Parameter("lr", "learning rate of the weights and of the multipliers", POSITIVE, 0.1, latex="eta"),
        Parameter("t", "training time in steps", NONNEGATIVE, 3000.0, latex="t"),
        Parameter("init", "initial weight scale (layers N(0, init^2 / fan_in))", NONNEGATIVE, 0.5, latex="sigma_0"),
        Parameter("rho", "augmented-Lagrangian penalty on the constraint violation", NONNEGATIVE, 1.0, latex="rho"),
    )
    order_parameters = ()
    observables = (
        Observable("margin", "classification: normalised margin min_mu y_mu v.x_mu/|v| (N -> oo max margin kappa)"),
        Observable("min_norm", "classification: |v|^2/N of the minimum-norm weights with every field "
                               "y v.x/sqrt(N) >= 1 (= 1/kappa^2)"),
        Observable("eps_g", "regression: generalisation error |v - w*|^2/|w*|^2 of the trained network "
                            "(minimum-norm interpolant: 1 - alpha)"),
    )
    free_energy_name = "potential of the max-margin condition (Gardner's q -> 1 coefficient, integrated)"
    select = "min"
    simulated_observables = ("margin",)
    finite_size_powers = (1,)
    references = (
        Reference({"alpha": float(capacity_closed_form(0.5))}, "margin", 0.5, 1e-9,
                  "Gardner 1988 eq. (39): alpha_c(kappa) = 1/int_{-k}^oo Dt (t+k)^2, read at kappa = 0.5"),
        Reference({"alpha": float(capacity_closed_form(1.0))}, "min_norm", 1.0, 1e-9,
                  "Gardner 1988 eq. (39) at kappa = 1: the min-norm weights for fields >= 1 have |w|^2/N = 1/kappa^2"),
        Reference({"task": "regression", "alpha": 0.25}, "eps_g", 0.75, 1e-14,
                  "min-norm interpolant = projection of the teacher on a random P-dim subspace: 1 - P/N"),
    )
    quick_compares = ({"params": {"alpha": 0.5, "lr": 0.2, "t": 2000.0}, "n": [20, 40, 80], "trials": 30, "seed": 1},)
    verify_compares = quick_compares + (
        {"params": {"task": "regression", "alpha": 0.5, "depth": 2, "lr": 0.02, "t": 3000.0},
         "n": [20, 40], "trials": 10, "seed": 1},)

    def variant(self, params):
        return _variant(params.get("task", "classification"))()

    def simulated_for(self, params):
        return ("margin",) if params.get("task", "classification") == "classification" else ("eps_g",)

    def validate(self, params):
        limit = 2.0 if params["task"] == "classification" else 1.0
        if params["alpha"] >= limit:
            why = ("random patterns are separable with a positive margin only below alpha_c(0) = 2"
                   if limit == 2.0 else "exact interpolation by a minimum-norm solution needs P < N")
            raise ParameterError(f"parameter 'alpha'={params['alpha']:g} is out of range; allowed (0, {limit:g}) "
                                 f"for task={params['task']} ({why})")
        t = float(params["t"])
        if abs(t - round(t)) > 1e-9 * max(1.0, t):
            raise ParameterError(f"parameter 't'={t:g} is out of range; allowed a whole number of steps >= 0")

    def _sym(self, name):
        return self.parameter(name).symbol

    def free_energy(self, choices):
        if choices.get("task", "classification") != "classification":
            return sympy.Integer(0)
        k, alpha = self.order_parameters[0].symbol, self._sym("alpha")
        # int Dt (t + k)_+^3 / 3, with H(-k) written 1 - H(k) (so that phi's evenness is not needed)
        cubic = ((k**3 + 3 * k) * (1 - H(k)) + (k**2 + 2) * GaussPDF(k)) / 3
        return cubic - k / alpha

    def equation_scales(self, choices):
        return [self._sym("alpha")] * len(self.order_parameters)

    def observable_expressions(self, F, choices):
        if not self.order_parameters:
            return {}
        k = self.order_parameters[0].symbol
        return {"margin": k, "min_norm": 1 / k**2}

    def limits(self, F, choices):
        if choices.get("task", "classification") == "classification":
            return {}
        alpha = self._sym("alpha")
        steps = ((r"v", sympy.Symbol(r"X^{+} y"), "minnorm's fixed point: the minimum-norm interpolant "
                                                   "(pseudo-inverse), for every depth and initialisation"),)
        return {"eps_g": DerivedLimit(1 - alpha, steps)}

    def simulate_trial(self, params, n, rng):
        from ..simulators.minnorm import train_trial
        return train_trial(params, n, rng)


class MinnormClassification(Minnorm):
    order_parameters = (OrderParameter("kappa", "max margin (stability of the worst pattern)", Interval(0.0, None),
                                       guesses=(0.3, 1.0), latex="kappa"),)
    simulated_observables = ("margin",)


class MinnormRegression(Minnorm):
    order_parameters = ()
    simulated_observables = ("eps_g",)


@functools.lru_cache(maxsize=None)
def _variant(task):
    return MinnormClassification if task == "classification" else MinnormRegression
