# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#   kernelspec:
#     display_name: Python 3
#     name: python3
# ---

# %% [markdown]
# # A teacher-student learning curve against simulation
#
# A spherical student learns the labels of a spherical teacher perceptron. The replica theory
# gives the teacher-student overlap $R$ and the generalisation error
# $\varepsilon_g = \arccos(R)/\pi$ as functions of the load $\alpha = P/N$ for each learning rule;
# a simulation trains actual students on random examples.

# %%
import os

import numpy as np

import replica

FAST = os.environ.get("REPLICA_FAST") == "1"
alphas = list(np.linspace(0.5, 8.0, 16))
curves = {rule: replica.sweep("teacher-student", {"rule": rule}, "alpha", alphas)
          for rule in ("hebb", "gibbs", "bayes")}
for rule, c in curves.items():
    print(rule, np.round(c.array("eps_g")[[0, -1]], 4))

# %% [markdown]
# Bayes-optimal learning beats both other rules at every load. Hebb learning is better than
# Gibbs learning at small load and worse at large load (its error decays only as
# $\alpha^{-1/2}$); at large load Gibbs learning approaches $0.625/\alpha$ and Bayes
# $0.442/\alpha$.

# %%
eps = {rule: c.array("eps_g") for rule, c in curves.items()}
assert np.all(eps["bayes"] < eps["gibbs"]) and np.all(eps["bayes"] < eps["hebb"])
crossing = alphas[int(np.argmax(eps["gibbs"] < eps["hebb"]))]
print(f"Gibbs learning overtakes Hebb learning near alpha = {crossing:.2f}")
assert eps["hebb"][0] < eps["gibbs"][0] and eps["gibbs"][-1] < eps["hebb"][-1]
far = replica.solve("teacher-student", {"rule": "gibbs", "alpha": 200.0})
assert abs(far["eps_g"] * 200.0 - 0.625) < 0.02

# %% [markdown]
# A theory-vs-simulation check of the Hebb rule at $\alpha = 2$, with the $N \to \infty$
# extrapolation and a z-score.

# %%
comparison = replica.compare("teacher-student", {"rule": "hebb", "alpha": 2.0},
                             [50, 100, 200], trials=20 if FAST else 100, seed=3)
print(comparison)
comparison.plot("teacher_student_compare.png")
assert comparison.agrees
table = comparison.to_csv()          # or .to_dataframe() with pandas installed
