# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#   kernelspec:
#     display_name: Python 3
#     name: python3
# ---

# %% [markdown]
# # Defining a model of one's own
#
# A model is a class: its parameters, order parameters, observables and a free energy written
# as a SymPy expression. `replica` derives the saddle-point equations by differentiation, solves
# them, and compares them with a simulation the class provides. Here: the Curie-Weiss
# ferromagnet, with free energy $f(m) = m^2/2 - T \ln 2\cosh((m + h)/T)$ per spin.

# %%
import math

import sympy

import replica
from replica import Interval, Model, Observable, OrderParameter, Parameter
from replica.symbolic import LogTwoCosh


class CurieWeiss(Model):
    name = "curie-weiss"
    title = "Curie-Weiss ferromagnet"
    description = "Mean-field Ising model at temperature T in a field h."
    parameters = (Parameter("T", "temperature", Interval(0.0, math.inf), 0.5),
                  Parameter("h", "field", Interval(0.0, math.inf, lower_closed=True), 0.1))
    order_parameters = (OrderParameter("m", "magnetisation", Interval(0.0, 1.0, lower_closed=True),
                                       guesses=(0.5, 0.99)),)
    observables = (Observable("m", "magnetisation per spin"),)
    select = "min"

    def free_energy(self, choices):
        m = self.order_parameters[0].symbol
        T, h = (p.symbol for p in self.parameters)
        return m**2 / 2 - T * LogTwoCosh((m + h) / T)


model = CurieWeiss()
print(model.derivation().equations[0])

# %% [markdown]
# The derived equation is the mean-field equation $m = \tanh((m + h)/T)$: check the solution
# against it directly.

# %%
point = replica.solve(model, {"T": 0.5, "h": 0.1})
m = point["m"]
assert abs(m - math.tanh((m + 0.1) / 0.5)) < 1e-12
print(point)

# %% [markdown]
# Below $T = 1$ the magnetisation survives without a field: the curve at $h = 0$.

# %%
curve = replica.sweep(model, {"h": 0.0}, "T", [0.2, 0.4, 0.6, 0.8, 0.95, 1.2, 1.5])
ms = curve.array("m")
assert ms[0] > 0.99 and ms[-1] < 1e-6 and ms[-2] < 1e-6
curve.plot("curie_weiss.png", ["m"])

# %% [markdown]
# A fuller version with a Monte Carlo simulator, a stability condition and references lives in
# `docs/examples/my_model.py`; `replica compare docs/examples/my_model.py:CurieWeiss ...` uses it
# from the command line without registering it.
