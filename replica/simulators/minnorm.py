"""Minnorm training on instances of size N (for the ``minnorm`` model).

A trial draws P = round(alpha N) examples in N dimensions -- random patterns with random labels
(classification) or a noiseless Gaussian linear teacher (regression) -- initialises a linear
network of depth D (hidden width N) with weights N(0, init^2 / fan_in), runs minnorm training
(:func:`replica.minnorm.minnorm_train`) for t steps and returns the normalised margin of the
end-to-end weights (classification) or their generalisation error (regression).
"""
from __future__ import annotations

import numpy as np

from .. import minnorm as mn


def instance(params, n, rng):
    p = max(1, int(round(float(params["alpha"]) * n)))
    if params["task"] == "classification":
        X, y = mn.random_classification(n, p, rng)
        return X, y, None
    return mn.teacher_regression(n, p, rng)


def train_trial(params, n, rng):
    X, y, teacher = instance(params, n, rng)
    layers, _, _ = mn.minnorm_train(X, y, params["task"], int(params["depth"]), float(params["lr"]),
                                    mn.check_steps(int(round(float(params["t"])))), rho=float(params["rho"]),
                                    init=float(params["init"]), rng=rng)
    v = mn.end_to_end(layers)
    if params["task"] == "classification":
        return {"margin": mn.normalized_margin(v, X, y)}
    return {"eps_g": mn.generalization_error(v, teacher)}
