"""JEPA (self-distillation) versus MAE (reconstruction) with deep linear encoders.

Setting (E. Littwin, O. Saremi, M. Advani, V. Thilak, P. Nakkiran, C. Huang and J. Susskind,
"How JEPA avoids noisy features: the implicit bias of deep linear self-distillation networks",
2024; arXiv:2407.03475)
-----------------------------------------------------------------------------------------------
Two views x, y in R^d; an encoder of depth L, ``W_bar = W_L ... W_1``. The objectives:

* MAE (reconstruction): ``(1/2) E |W_dec W_bar x - y|^2`` (a linear decoder W_dec);
* JEPA (self-distillation): ``(1/2) E |V W_bar x - SG(W_bar) y|^2`` (a linear predictor V; the
  target encoder is the online one with its gradient stopped).

In the simultaneously diagonalisable setting (``E x x^T`` and ``E y x^T`` diagonal in one basis)
with a balanced, small initialisation (every layer ``eps^(1/L) I``), every feature i evolves on
its own. A feature has covariance ``lam = E[x_i y_i]`` and regression coefficient
``rho = E[x_i y_i] / E[x_i^2]`` (so ``E[x_i^2] = lam/rho``); it is "influential" when rho is
large. The encoder's projection on it, ``w = (W_bar)_ii``, starts at ``eps``.

What is derived (here, with SymPy, by :class:`replica.models.deep_linear.ModeFlow`)
------------------------------------------------------------------------------------
The per-feature objective is written with one symbol for every layer weight (and for JEPA one
symbol for every frozen target weight); gradient flow ``dtheta/dtau = -dl/dtheta`` (``tau =
lr * steps``) is differentiated for every trained weight, the balanced manifold (all weights
equal ``a``, target = online) is checked to be invariant, and the reduced flow is, with
``w = a^L``,

    JEPA:  da/dtau = a^(2L) (lam - (lam/rho) a)        ->  dw/dtau = L lam (w^(3 - 1/L) - w^3/rho),
    MAE:   da/dtau = a^L (lam - (lam/rho) a^(L+1))     ->  dw/dtau = L lam (w^(2 - 1/L) - w^3/rho),

the per-feature ODEs of the paper's setting (derived here, not copied; tests check them against
the hand-written forms above). JEPA ends at ``w* = rho^L`` and MAE at ``w* = rho^(L/(L+1))``.
The critical time ``t*`` (steps until ``w = fraction * w*``) is ``int da/g(a) / lr``: in closed form for JEPA (partial fractions in a); a quadrature for MAE
(its denominator has the irreducible factor ``rho - a^(L+1)``). Expanding JEPA's closed form for
small eps gives the series ``t* lr ~ (1/lam) sum_{n=1}^{2L-1} 1/(n rho^(2L-1-n) eps^(n/L)) +
ln(1/eps)/(L lam rho^(2L-1))`` (tested), the form of the paper's critical-time expansion: the
rho-dependent terms are suppressed only by powers of ``eps^(1/L)``, which tends to one as L
grows -- the depth-dependent bias towards influential (large rho) features. MAE's leading term
(``1/((L-1) lam eps^((L-1)/L))`` for L >= 2, ``ln(1/eps)/lam`` for L = 1) does not depend on rho:
MAE orders features by lam.
``learned_first`` compares the critical times of this feature and a second one (lam2, rho2).

The predictor is kept (the paper's setting): without it (V fixed to 1) the derived stop-gradient
flow is ``da/dtau = lam (1 - 1/rho) a^(2L - 1)``, which has no nonzero stationary point -- features
with rho < 1 collapse, those with rho > 1 grow without bound -- so there is no end point or critical
time to report (derived in tests/test_jepa_vs_mae.py).

The "free energy" slot holds the potential of the reduced flow, ``F(a) = -(L+1) int_0^a g``:
MAE's objective on the balanced manifold (minus its value at a = 0); for JEPA, whose
stop-gradient flow is not the gradient of its objective, the potential whose gradient it is.
Its stationary point is the end of training.

Simulation (:mod:`replica.simulators.deep_linear`): the network itself, trained by gradient
descent on n samples; ``compare`` extrapolates its projection in 1/n. Its learning rate is finite,
so gradient descent differs from the flow by O(lr) (computed exactly by training on the
population covariances; at the defaults -0.0005, below the statistical error).
"""
from __future__ import annotations

import functools
import math

import sympy

from replica.errors import ParameterError
from replica.model import DerivedLimit, Model, Reference
from replica.models.deep_linear import (A, MAX_DEPTH, ModeFlow, check_depth, critical_time_expression,
                                        expectation, trajectory_expression)
from replica.params import NONNEGATIVE, POSITIVE, Interval, Observable, OrderParameter, Parameter

LAM, RHO = sympy.Symbol("lambda", positive=True), sympy.Symbol("rho", positive=True)
OBJECTIVES = ("jepa", "mae")


@functools.lru_cache(maxsize=None)
def jepa_mae_flow(objective: str, depth: int) -> ModeFlow:
    """The per-feature flow of one objective at one depth, derived from the objective."""
    enc = sympy.symbols(f"a1:{depth + 1}", real=True)
    head = sympy.Symbol("v", real=True)                 # predictor (JEPA) or decoder (MAE)
    x, y = sympy.symbols("x y", real=True)
    moments = {"xx": LAM / RHO, "xy": LAM, "yy": sympy.Symbol("c_yy", positive=True)}
    online = head * sympy.Mul(*enc) * x
    if objective == "jepa":
        target = sympy.symbols(f"b1:{depth + 1}", real=True)     # stop-gradient copies of the encoder
        obj = sympy.Rational(1, 2) * expectation(online - sympy.Mul(*target) * y, x, y, moments)
        frozen = dict(zip(target, enc))
    elif objective == "mae":
        obj = sympy.Rational(1, 2) * expectation(online - y, x, y, moments)
        frozen = {}
    else:
        raise ParameterError(f"parameter 'objective': {objective!r} is not allowed; choose one of jepa, mae")
    probe = {LAM: sympy.Rational(3, 2), RHO: sympy.Rational(4, 5)}
    return ModeFlow(f"{objective}{depth}", obj, list(enc) + [head], frozen, depth, [LAM, RHO], probe)


class JepaVsMae(Model):
    name = "jepa-vs-mae"
    title = "JEPA vs MAE: per-feature gradient flow of deep linear encoders (Littwin et al. 2024)"
    description = ("Deep linear encoder (depth L) trained by gradient descent on JEPA (self-distillation, "
                   "stop-gradient target) or MAE (reconstruction), in the simultaneously diagonalisable "
                   "setting: for a feature with covariance lam and regression coefficient rho, the encoder's "
                   "projection after t steps, the critical time, the end point, and which of two features is "
                   "learnt first. ODEs derived with SymPy from the objectives.")
    parameters = (
        Parameter("objective", "training objective", kind="categorical", choices=OBJECTIVES, default="jepa"),
        Parameter("depth", "encoder depth L (number of layers)",
                  Interval(1, MAX_DEPTH, lower_closed=True, upper_closed=True), 2, kind="integer", latex="L"),
        Parameter("lam", "covariance of the feature between the views, E[x_i y_i]", POSITIVE, 1.0,
                  latex="lambda"),
        Parameter("rho", "regression coefficient of the feature, E[x_i y_i]/E[x_i^2] (its influence)", POSITIVE,
                  2.0, latex="rho"),
        Parameter("eps", "initial projection of the encoder on the feature (every layer eps^(1/L))", POSITIVE,
                  0.1, latex="epsilon"),
        Parameter("lr", "learning rate (gradient-flow time = lr * t)", POSITIVE, 0.02, latex="eta"),
        Parameter("t", "training time in steps of full-batch gradient descent", NONNEGATIVE, 450.0, latex="t"),
        Parameter("fraction", "the critical time is when the projection reaches fraction * its end value",
                  Interval(0.0, 1.0), 0.5, latex="p"),
        Parameter("lam2", "covariance of a second feature (for the order of learning)", POSITIVE, 2.0,
                  latex="lambda_2"),
        Parameter("rho2", "regression coefficient of the second feature", POSITIVE, 1.0, latex="rho_2"),
    )
    order_parameters = (OrderParameter("a", "per-layer weight of the feature at the end of training",
                                       Interval(0.0, None), guesses=(0.5, 1.0, 2.0), latex="a"),)
    observables = (
        Observable("projection", "encoder projection w(t) on the feature after t steps"),
        Observable("critical_time", "steps until w reaches fraction * w_final"),
        Observable("critical_time_2", "the same for the second feature (lam2, rho2)"),
        Observable("learned_first", "which feature reaches its critical time first: 1 or 2"),
        Observable("w_final", "w at the end of training (rho^L for JEPA, rho^(L/(L+1)) for MAE)"),
    )
    free_energy_name = "per-feature potential of the reduced flow"
    select = "min"
    simulated_observables = ("projection",)
    finite_size_powers = (1,)
    references = (
        Reference({"objective": "jepa", "depth": 3, "rho": 0.8}, "w_final", 0.8**3, 1e-12,
                  "by hand: JEPA stops where the predictor v = rho, so w* = rho^L"),
        Reference({"objective": "mae", "depth": 3, "rho": 0.8}, "w_final", 0.8**0.75, 1e-12,
                  "by hand: MAE stops where v w = rho with v = a, w = a^L: w* = rho^(L/(L+1))"),
        # depth 1 JEPA: da/dtau = lam a^2 (1 - a/rho), integrated by hand:
        # t* lr = (1/lam) [1/eps - 1/(p rho) + ln((rho - eps) p / (eps (1 - p))) / rho]
        Reference({"objective": "jepa", "depth": 1, "lam": 2.0, "rho": 0.5, "eps": 0.05, "lr": 0.1, "fraction": 0.5},
                  "critical_time",
                  10.0 / 2.0 * (1 / 0.05 - 1 / 0.25 + math.log((0.5 - 0.05) * 0.5 / (0.05 * 0.5)) / 0.5), 1e-9,
                  "integral of the depth-1 JEPA ODE by hand (partial fractions)"),
        # MAE of depth L = Saxe's supervised network of depth L+1 with E x^2 = lam/rho = 1: depth 1 is the
        # logistic u(tau) = s e^{2 s tau}/(e^{2 s tau} - 1 + s/u0) in u = w^2 (s = rho, u0 = eps^2)
        Reference({"objective": "mae", "depth": 1, "lam": 1.0, "rho": 1.0, "eps": 0.1, "lr": 0.05, "t": 40.0},
                  "projection", math.sqrt(math.exp(4.0) / (math.exp(4.0) - 1 + 100.0)), 1e-12,
                  "Saxe et al. (2014) eq. (6) for the equivalent depth-2 network"),
    )
    # the defaults: a feature (lam = 1, rho = 2) before its critical time (t* = 687 steps); beyond it
    # the finite-n corrections are not yet linear in 1/n at n = 200 (measured). Gradient descent's
    # O(lr) bias is -0.0005 at the defaults (JEPA; measured at n = 1600..6400: the extrapolation
    # lands at -0.0004 +- 0.0001 from the flow) and -0.001 for the MAE check (lr = 0.005).
    quick_compares = ({"params": {"objective": "jepa", "depth": 2}, "n": [200, 400, 800], "trials": 40, "seed": 1},)
    verify_compares = ({"params": {"objective": "jepa", "depth": 2}, "n": [400, 800, 1600], "trials": 80, "seed": 2},
                       {"params": {"objective": "mae", "depth": 2, "lr": 0.005, "t": 300.0}, "n": [200, 400, 800],
                        "trials": 80, "seed": 2})
    objective = None
    depth = None

    # -- variants: the flow is derived for a concrete objective and depth --------------------------
    def variant(self, params):
        return jepa_mae_variant(params.get("objective") or "jepa", check_depth(params.get("depth", 2)))()

    def flow(self, choices=None) -> ModeFlow:
        objective = self.objective or (choices or {}).get("objective") or "jepa"
        return jepa_mae_flow(objective, self.depth or 2)

    def starting_points(self, params):
        """Default starting points; refuses points of another depth (a sweep over ``depth`` would
        otherwise solve every point with the flow derived for the first depth)."""
        if self.depth is not None and int(params["depth"]) != self.depth:
            raise ParameterError(f"parameter 'depth'={params['depth']} cannot vary within one solve of the "
                                 f"depth-{self.depth} flow (the flow is derived for one depth): solve each depth "
                                 "separately instead of sweeping it")
        return None

    def validate(self, params):
        depth = check_depth(params["depth"])
        flow = jepa_mae_flow(params["objective"], depth)
        for lam, rho, tag in ((params["lam"], params["rho"], ""), (params["lam2"], params["rho2"], "2")):
            w_star = float(flow.fixed_point.subs({LAM: lam, RHO: rho}))
            top = float(params["fraction"]) * w_star
            if params["eps"] >= top:
                raise ParameterError(
                    f"parameter 'eps'={float(params['eps']):g} is out of range; allowed (0, fraction * w_final"
                    f"{tag}) = (0, {top:g}) (the feature{' ' + tag if tag else ''} must grow from its initial "
                    f"projection)")

    # -- the model's formulas ---------------------------------------------------------------
    def _rename(self):
        syms = {p.name: p.symbol for p in self.parameters}
        return {LAM: syms["lam"], RHO: syms["rho"]}, syms

    def free_energy(self, choices):
        rename, _ = self._rename()
        return self.flow(choices).potential.subs(rename).subs(A, self.order_parameters[0].symbol)

    def equation_scales(self, choices):
        a = self.order_parameters[0].symbol
        flow = self.flow(choices)
        return [1 / (len(flow.trained) * a**flow.rate_power)]

    def observable_expressions(self, F, choices):
        a = self.order_parameters[0].symbol
        return {"w_final": a**self.flow(choices).power}

    def limits(self, F, choices):
        flow = self.flow(choices)
        rename, p = self._rename()
        second = {LAM: p["lam2"], RHO: p["rho2"]}
        label = r"w_{\mathrm{%s}}" % (self.objective or "jepa")
        traj = trajectory_expression(flow, p["lr"] * p["t"], p["eps"], [LAM, RHO], label)
        crit = critical_time_expression(flow, p["eps"], p["fraction"], p["lr"], [LAM, RHO])
        t1, t2 = crit.xreplace(rename), crit.xreplace(second)
        steps = (
            (r"\ell", flow.objective.xreplace(rename),
             "per-feature objective" + (" (b: stop-gradient copies of the encoder weights a)"
                                        if self.objective == "jepa" else "") + "; v the predictor/decoder"),
            (r"\dot a", flow.rate.xreplace(rename),
             "derived gradient flow on the balanced manifold (all weights a, tau = lr t); w = a^L"),
        )
        return {
            "projection": DerivedLimit(traj.xreplace(rename), steps),
            "critical_time": DerivedLimit(t1),
            "critical_time_2": DerivedLimit(t2),
            "learned_first": DerivedLimit(1 + sympy.Heaviside(t1 - t2, sympy.Rational(1, 2))),
        }

    # -- simulation ---------------------------------------------------------------------------
    def simulate_trial(self, params, n, rng):
        from replica.simulators.deep_linear import train_trial
        return {"projection": train_trial(params["objective"], params, n, rng)}


@functools.lru_cache(maxsize=None)
def jepa_mae_variant(objective: str, depth: int):
    if objective not in OBJECTIVES:
        raise ParameterError(f"parameter 'objective': {objective!r} is not allowed; choose one of jepa, mae")
    name = f"JepaVsMae_{objective}_{depth}"
    return type(name, (JepaVsMae,), {"objective": objective, "depth": depth, "__module__": __name__,
                                     "__qualname__": name})


def __getattr__(name):            # pickling of the variants (worker processes)
    if name.startswith("JepaVsMae_"):
        _, objective, depth = name.split("_")
        return jepa_mae_variant(objective, int(depth))
    raise AttributeError(name)
