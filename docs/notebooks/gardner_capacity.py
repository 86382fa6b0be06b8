# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#   kernelspec:
#     display_name: Python 3
#     name: python3
# ---

# %% [markdown]
# # Gardner capacity from scratch
#
# The storage capacity of the spherical perceptron with margin $\kappa$ (Gardner 1988):
# `replica` derives the replica-symmetric free entropy's saddle-point equation, takes the
# $q \to 1$ limit that gives $\alpha_c(\kappa)$, solves it, and checks it against a simulation.
# Run it as a notebook (`jupytext --to notebook gardner_capacity.py`) or as a script.

# %%
import os

import numpy as np

import replica

FAST = os.environ.get("REPLICA_FAST") == "1"      # CI runs the notebooks at reduced size
model = replica.get_model("gardner")
model                                              # a table of parameters and observables in Jupyter

# %% [markdown]
# The derivation: the free entropy, the derived saddle-point equation and the capacity as the
# $q \to 1$ limit, all from SymPy (in Jupyter this cell renders as LaTeX).

# %%
derivation = model.derivation()
print(derivation.limits["alpha_c"])

# %% [markdown]
# The capacity at $\kappa = 0$ is Cover's 2; the curve $\alpha_c(\kappa)$ decreases with the margin.

# %%
point = replica.solve("gardner", {"kappa": 0.0})
assert abs(point["alpha_c"] - 2.0) < 1e-12
curve = replica.sweep("gardner", {}, "kappa", list(np.linspace(0.0, 2.0, 9)))
print(curve)
assert np.all(np.diff(curve.array("alpha_c")) < 0)

# %% [markdown]
# Below capacity the typical overlap of two solutions grows with the load and tends to 1 at
# $\alpha_c$.

# %%
loads = replica.sweep("gardner", {"kappa": 0.0}, "alpha", list(np.linspace(0.2, 1.9, 12)))
q = loads.array("q")
assert np.all(np.diff(q) > 0) and q[-1] > 0.9
loads.plot("gardner_overlap.png", ["q"])

# %% [markdown]
# Theory against simulation: the largest number of random patterns a perceptron of $N$ weights
# stores (a linear program a trial), extrapolated to $N \to \infty$.

# %%
comparison = replica.compare("gardner", {"kappa": 0.0}, [10, 20, 40] if FAST else [20, 40, 80],
                             trials=20 if FAST else 100, seed=1)
print(comparison)
comparison.plot("gardner_compare.png")
assert comparison.agrees
