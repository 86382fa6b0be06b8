"""A user's own model in one file: the Curie-Weiss ferromagnet (mean-field Ising model).

Use it from the command line without registering it::

    replica solve docs/examples/my_model.py:CurieWeiss --set T=0.5 --set h=0.1
    replica derive docs/examples/my_model.py:CurieWeiss
    replica compare docs/examples/my_model.py:CurieWeiss --set T=2 --set h=0.5 --n 50,100,200 --trials 200

or from Python::

    import replica
    model = replica.get_model("docs/examples/my_model.py:CurieWeiss")
    replica.solve(model, {"T": 0.5, "h": 0.1}).observables["m"]

It is written only against the public contract: ``Model``, ``Parameter``,
``OrderParameter``, ``Observable``, ``Interval``, ``Reference`` and
``Stability`` from :mod:`replica`, functions from :mod:`replica.symbolic`,
and SymPy.

Physics
-------
N Ising spins s_i = +-1 with energy E(s) = -J/(2N) (sum_i s_i)^2 - h sum_i s_i
at temperature T. A Hubbard-Stratonovich transformation of the quadratic
term gives Z = int dm exp(-N f(m)/T) with the variational free energy per spin

    f(m) = J m^2 / 2 - T ln 2cosh((J m + h) / T).

The integral over m is an ordinary (real, convergent) integral, so for
N -> infinity the physical saddle point is the global *minimum* of f
(``select = "min"``; there is no replica limit here that would turn a
minimum into a maximum). Stationarity, df/dm = J m - J tanh((J m + h)/T) = 0,
is the mean-field equation

    m = tanh((J m + h) / T).

For h = 0 the paramagnet m = 0 is the only solution when T >= J; below
T = J it becomes a maximum of f and two minima +-m* appear. With the field
restricted to h >= 0 the selected (lowest-f) solution always has m >= 0, so
the order parameter lives in [0, 1), and at h = 0 the positive branch of the
spontaneously broken phase is reported.

Energy and entropy per spin follow from f by partial derivatives at the
saddle point: e = f - T df/dT = -J m^2/2 - h m, s = -df/dT. The curvature
f''(m) = J - (J^2/T)(1 - m^2) is positive at a stable minimum.

Simulation
----------
The energy depends on the spins only through M = sum_i s_i, so the
finite-N equilibrium distribution of M is known exactly:
P(M) ~ binom(N, (N+M)/2) exp((J M^2/(2N) + h M)/T). One trial draws M from
it (exact sampling, no Markov chain) and reports m = M/N; its mean tends to
the saddle-point m with O(1/N) corrections when h > 0. At h = 0 and T < J
the finite-N distribution is symmetric (<M> = 0): compare at h > 0 there.
"""
from __future__ import annotations

import math

import numpy as np
import sympy

from replica import Interval, Model, Observable, OrderParameter, Parameter, Reference, Stability
from replica.symbolic import LogTwoCosh


class CurieWeiss(Model):
    name = "curie_weiss"
    title = "Curie-Weiss ferromagnet (mean-field Ising model)"
    description = ("Mean-field Ising ferromagnet with coupling J at temperature T in a field h >= 0: "
                   "magnetisation from m = tanh((J m + h)/T), energy, entropy and free energy per spin.")
    parameters = (
        Parameter("T", "temperature", Interval(0.0, None), 1.0),
        Parameter("h", "uniform external field", Interval(0.0, None, lower_closed=True), 0.0),
        Parameter("J", "ferromagnetic coupling (critical temperature T_c = J)", Interval(0.0, None), 1.0),
    )
    order_parameters = (
        OrderParameter("m", "magnetisation per spin", Interval(0.0, 1.0, lower_closed=True),
                       guesses=(0.0, 0.5, 0.99)),
    )
    observables = (
        Observable("m", "magnetisation per spin"),
        Observable("energy", "internal energy per spin"),
        Observable("entropy", "entropy per spin"),
        Observable("free_energy", "free energy per spin"),
    )
    free_energy_name = "free energy"
    select = "min"
    simulated_observables = ("m",)
    finite_size_powers = (1,)
    references = (
        Reference({"T": 2.0, "h": 0.0}, "m", 0.0, 1e-12, "paramagnet for T > J"),
        Reference({"T": 2.0, "h": 0.0}, "free_energy", -2.0 * math.log(2.0), 1e-12,
                  "paramagnet: f = -T ln 2"),
    )
    quick_compares = ({"params": {"T": 2.0, "h": 0.5}, "n": [50, 100, 200], "trials": 200, "seed": 1},)
    verify_compares = ({"params": {"T": 2.0, "h": 0.5}, "n": [100, 200, 400, 800], "trials": 400, "seed": 2},)

    def _symbols(self):
        m = self.order_parameters[0].symbol
        T, h, J = (p.symbol for p in self.parameters)
        return m, T, h, J

    def free_energy(self, choices):
        m, T, h, J = self._symbols()
        return J * m**2 / 2 - T * LogTwoCosh((J * m + h) / T)

    def equation_scales(self, choices):
        # df/dm = J (m - tanh(...)): divide by J so the equation reads m - tanh(...) = 0
        return [1 / self.parameters[2].symbol]

    def observable_expressions(self, F, choices):
        m, T, h, J = self._symbols()
        dF_dT = sympy.diff(F, T)          # partial derivative: df/dm = 0 at the saddle point
        return {"m": m, "energy": F - T * dF_dT, "entropy": -dF_dT, "free_energy": F}

    def stability(self, F, choices):
        m, T, h, J = self._symbols()
        return Stability("curvature", sympy.diff(F, m, 2),
                         "second derivative of f at the saddle point (> 0: a minimum)")

    # -- simulation: exact sampling of the total magnetisation -------------------
    @staticmethod
    def _distribution(params, n):
        """Values M/N and their exact equilibrium probabilities at size n."""
        T, h, J = float(params["T"]), float(params["h"]), float(params["J"])
        k = np.arange(n + 1)                       # number of up spins
        M = 2.0 * k - n
        log_binom = math.lgamma(n + 1) - np.array([math.lgamma(i + 1) + math.lgamma(n - i + 1) for i in k])
        logw = log_binom + (J * M**2 / (2.0 * n) + h * M) / T
        p = np.exp(logw - logw.max())
        return M / n, p / p.sum()

    def simulate_trial(self, params, n, rng):
        m, p = self._distribution(params, n)
        return {"m": float(m[rng.choice(n + 1, p=p)])}

    def simulation_reference(self, params, n):
        m, p = self._distribution(params, n)
        return {"m": float(np.dot(m, p))}
