"""Training actual deep linear networks on finite samples (for deep-linear and jepa-vs-mae).

A trial draws ``n`` samples of two views in ``WIDTH`` dimensions, every coordinate an independent
copy of the model's feature:

* ``x ~ N(0, var_x I)``, ``y = coef x + xi``, ``xi ~ N(0, var_x I)`` independent of x;
* jepa-vs-mae: ``var_x = lam/rho`` and ``coef = rho`` (so E[x_i y_i] = lam, the regression
  coefficient is rho); deep-linear: ``var_x = 1`` (white inputs) and ``coef = s``.

It then trains, by full-batch gradient descent with learning rate ``lr`` for ``t`` steps (a whole number) on
the empirical loss (the sample covariances ``X^T X/n``, ``Y^T X/n`` enter; nothing is
diagonalised), a network of ``WIDTH x WIDTH`` matrices, every layer initialised to
``scale^(1/L) I`` (balanced and aligned, as the theory assumes):

* ``regression`` (deep-linear): ``y_hat = W_D ... W_1 x``;
* ``mae``: ``y_hat = V W_L ... W_1 x`` (V the decoder);
* ``jepa``: ``V W_bar x`` regressed on the target ``SG(W_bar) y`` (W_bar = W_L ... W_1; the
  target uses the current encoder, its gradient stopped), V the predictor.

It returns the mean diagonal of the encoder product (deep-linear: of the whole product): the
projection on the feature, averaged over the WIDTH exchangeable copies. As n -> oo the sample
covariances converge to the population ones (corrections of order 1/n in the mean); as
lr -> 0 at fixed lr * t the training converges to the gradient flow of the theory.
"""
from __future__ import annotations

import math

import numpy as np

WIDTH = 4
MAX_STEPS = 200_000


def feature_moments(objective, params):
    """(var_x, coef, scale, depth): the data distribution and initial projection of the objective."""
    if objective == "regression":
        return 1.0, float(params["s"]), float(params["u0"]), int(params["depth"])
    lam, rho = float(params["lam"]), float(params["rho"])
    return lam / rho, rho, float(params["eps"]), int(params["depth"])


def sample_covariances(objective, params, n, rng, width=WIDTH):
    var_x, coef, _, _ = feature_moments(objective, params)
    x = rng.standard_normal((n, width)) * math.sqrt(var_x)
    y = coef * x + rng.standard_normal((n, width)) * math.sqrt(var_x)
    return x.T @ x / n, y.T @ x / n


def population_covariances(objective, params, width=WIDTH):
    var_x, coef, _, _ = feature_moments(objective, params)
    return var_x * np.eye(width), coef * var_x * np.eye(width)


def _chain(layers):
    """Prefixes (W_{l-1} ... W_1) and suffixes (W_L ... W_{l+1}) of the layer product, and the product."""
    d = layers[0].shape[0]
    pre = [np.eye(d)]
    for W in layers[:-1]:
        pre.append(W @ pre[-1])
    suf = [np.eye(d)]
    for W in reversed(layers[1:]):
        suf.append(suf[-1] @ W)
    suf = suf[::-1]
    return pre, suf, layers[-1] @ pre[-1]


def gradients(objective, layers, head, Sxx, Syx):
    """(dl/dW_l for every layer, dl/dV) of the empirical loss, written by hand in matrix form
    (tests/test_jepa_vs_mae.py checks them against the SymPy derivative of the per-mode objective)."""
    pre, suf, E = _chain(layers)
    if objective == "regression":
        G = E @ Sxx - Syx                       # dl/dE for l = (1/2) E|E x - y|^2
        g_head = None
    else:
        R = head @ E @ Sxx - (E @ Syx if objective == "jepa" else Syx)
        g_head = R @ E.T                        # dl/dV
        G = head.T @ R                          # dl/dE (the target's E is frozen for jepa)
    return [suf[l].T @ G @ pre[l].T for l in range(len(layers))], g_head


def train(objective, depth, scale, lr, steps, Sxx, Syx):
    """Gradient descent on the empirical loss; returns the final encoder product (or full product)."""
    d = Sxx.shape[0]
    a0 = scale ** (1.0 / depth)
    layers = [a0 * np.eye(d) for _ in range(depth)]
    head = a0 * np.eye(d) if objective in ("jepa", "mae") else None
    for _ in range(steps):
        grads, g_head = gradients(objective, layers, head, Sxx, Syx)
        for W, g in zip(layers, grads):
            W -= lr * g
        if head is not None:
            head -= lr * g_head
        if not np.all(np.isfinite(layers[-1])):
            raise ValueError(f"gradient descent diverged (lr={lr:g} too large for these parameters)")
    return _chain(layers)[2]


def steps_of(params):
    t = float(params["t"])
    steps = int(round(t))
    if abs(t - steps) > 1e-9 * max(1.0, t):
        raise ValueError(f"t={t:g} is not a whole number of steps (the simulation trains for t steps)")
    if steps > MAX_STEPS:
        raise ValueError(f"t={params['t']} steps is more than this simulator runs ({MAX_STEPS}); "
                         "raise lr (the gradient-flow time is lr * t)")
    return steps


def train_trial(objective, params, n, rng, width=WIDTH):
    """One trial: sample n pairs, train, return the mean diagonal projection."""
    Sxx, Syx = sample_covariances(objective, params, n, rng, width)
    _, _, scale, depth = feature_moments(objective, params)
    E = train(objective, depth, scale, float(params["lr"]), steps_of(params), Sxx, Syx)
    return float(np.mean(np.diag(E)))


def train_population(objective, params, width=1):
    """Gradient descent on the population loss (n = oo): isolates the discretisation error of lr."""
    Sxx, Syx = population_covariances(objective, params, width)
    _, _, scale, depth = feature_moments(objective, params)
    E = train(objective, depth, scale, float(params["lr"]), steps_of(params), Sxx, Syx)
    return float(np.mean(np.diag(E)))


def train_features(objective, depth, lams, rhos, eps, lr, steps, n, rng, every=1):
    """Several features in one network: coordinate i of the views has covariance lams[i] and
    regression coefficient rhos[i] (x_i ~ N(0, lam_i/rho_i), y_i = rho_i x_i + xi_i); n samples, a
    width len(lams) network trained by gradient descent from eps^(1/L) I. Returns (steps recorded,
    diagonal projections of the encoder product at those steps), every ``every`` steps from 0: the
    features' trajectories in one trained network, coupled through the finite-sample covariances."""
    lams, rhos = np.asarray(lams, dtype=float), np.asarray(rhos, dtype=float)
    var_x = lams / rhos
    x = rng.standard_normal((n, len(lams))) * np.sqrt(var_x)
    y = rhos * x + rng.standard_normal((n, len(lams))) * np.sqrt(var_x)
    Sxx, Syx = x.T @ x / n, y.T @ x / n
    d = len(lams)
    a0 = eps ** (1.0 / depth)
    layers = [a0 * np.eye(d) for _ in range(depth)]
    head = a0 * np.eye(d)
    recorded, proj = [0], [np.diag(_chain(layers)[2]).copy()]
    for k in range(1, steps + 1):
        grads, g_head = gradients(objective, layers, head, Sxx, Syx)
        for W, g in zip(layers, grads):
            W -= lr * g
        head -= lr * g_head
        if not np.all(np.isfinite(layers[-1])):
            raise ValueError(f"gradient descent diverged (lr={lr:g} too large for these parameters)")
        if k % every == 0:
            recorded.append(k)
            proj.append(np.diag(_chain(layers)[2]).copy())
    return np.array(recorded), np.array(proj)
