"""Finite-size LASSO: the m-estimation simulator in the normalisation of :mod:`replica.models.lasso`.

One instance: x0 Bernoulli-Gauss (rho, unit variance), A with N(0, 1/N) entries, y = A x0 + w.
It is generated as the m-estimation instance with X = sqrt(delta) A and s0 = x0/sqrt(delta), solved
by ADMM with a KKT certificate (:func:`replica.simulators.m_estimation.admm`); mse = delta |s - s0|^2/P.
"""
from __future__ import annotations

import math

from . import m_estimation as _m


def m_estimation_params(params: dict) -> dict:
    """The m-estimation parameters of the same problem (see replica.models.lasso)."""
    d = float(params["delta"])
    return {"alpha": d, "loss": "square", "regularizer": "l1", "noise": "gaussian", "prior": "bernoulli-gauss",
            "noise_scale": float(params["sigma"]), "prior_scale": 1 / math.sqrt(d), "sparsity": float(params["rho"]),
            "lambda": float(params["lam"]) * math.sqrt(d), "lambda2": 0.0, "huber_delta": 1.0,
            "quantile_tau": 0.5, "student_nu": 3.0}


def trial(params: dict, p: int, rng) -> dict:
    out = _m.trial(m_estimation_params(params), p, rng)
    return {"mse": float(params["delta"]) * out["mse"], "training_error": out["training_error"]}
