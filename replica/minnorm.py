"""Minnorm training (Bansal, Advani, Cox & Saxe 2018, arXiv:1806.00730) as a wrapper around gradient descent.

The method
----------
Training is posed as a constrained problem: minimise the sum over layers of the squared weight
norms, ``(1/2) sum_l |W_l|_F^2``, subject to fitting every training example exactly (regression:
``f(x_mu) = y_mu``; classification: ``y_mu f(x_mu) >= 1``). Its Lagrangian

    L(W, lam) = (1/2) sum_l |W_l|^2 - sum_mu lam_mu c_mu(W),
    c_mu = f(x_mu) - y_mu  (regression),   c_mu = y_mu f(x_mu) - 1  (classification, lam_mu >= 0),

is descended in the weights and ascended in the multipliers, one gradient step each an
iteration:

* weights: ``W_l <- W_l - lr (W_l - sum_mu e_mu df(x_mu)/dW_l)`` -- ordinary back-propagation
  with the output "errors" replaced by the multipliers plus an augmented-Lagrangian penalty,
  ``e_mu = lam_mu + rho (y_mu - f(x_mu))`` (regression) or
  ``e_mu = y_mu [lam_mu + rho (1 - y_mu f(x_mu))]_+`` (classification). The penalty (``rho``,
  default 1; 0 is the plain Lagrangian) does not move the fixed points; it keeps the
  descent-ascent stable in deep networks, where the plain Lagrangian's saddle diverges;
* multipliers: ``lam_mu <- lam_mu + lr_dual * err_mu`` with ``err_mu = y_mu - f(x_mu)``
  (regression) or ``[lam_mu + lr_dual (1 - y_mu f(x_mu))]_+`` (classification): each multiplier
  integrates its example's error over training. Examples whose multiplier stays positive at the
  end are the "support vectors" (in a shallow classifier exactly the active constraints of the
  max-margin QP); examples that are hard to fit get large multipliers.

At a fixed point the data are fitted and every layer is a combination of the data gradients --
the KKT conditions of the constrained problem -- whatever the initialisation was.

Networks here are fully connected, ``f(x) = W_D ... W_1 x / sqrt(N)`` (linear; hidden width
``width``, one output), so that the theory can be checked exactly; ``relu`` hidden units are
available for the algorithm but not used by the tests. Baselines: plain gradient descent on the
logistic loss (classification) or the squared loss (regression), and gradient descent on the
squared loss plus ``(beta/2) sum_l |W_l|^2`` (L2 regularisation).

Independent references (no training): :func:`max_margin` (the hard-margin QP solved by scipy's
SLSQP, polished on its active set), :func:`min_norm_solution` (the pseudo-inverse),
:func:`chain_min_norm` (the balanced minimum-norm factorisation of a linear chain) and
:func:`gardner_margin` (the typical max margin of random data, where Gardner's capacity
alpha_c(kappa) of :mod:`replica.models.gardner` equals the load).
"""
from __future__ import annotations

import math

import numpy as np

from .errors import ParameterError, SimulationError

MAX_DEPTH = 8
MAX_STEPS = 1_000_000
TASKS = ("classification", "regression")
ACTIVATIONS = ("linear", "relu")


# ---------------------------------------------------------------------------------------------
# input checks
# ---------------------------------------------------------------------------------------------
def check_positive(name, value):
    if not (isinstance(value, (int, float, np.floating, np.integer)) and math.isfinite(value) and value > 0):
        raise ParameterError(f"parameter {name!r}={value!r} is out of range; allowed (0, inf)")
    return float(value)


def check_nonnegative(name, value):
    if not (isinstance(value, (int, float, np.floating, np.integer)) and math.isfinite(value) and value >= 0):
        raise ParameterError(f"parameter {name!r}={value!r} is out of range; allowed [0, inf)")
    return float(value)


def check_depth(depth):
    if isinstance(depth, bool) or not isinstance(depth, (int, np.integer)) or not 1 <= depth <= MAX_DEPTH:
        raise ParameterError(f"parameter 'depth'={depth!r} is out of range; allowed [1, {MAX_DEPTH}] (integer)")
    return int(depth)


def check_steps(steps):
    if isinstance(steps, float) and steps.is_integer():
        steps = int(steps)
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or not 0 <= steps <= MAX_STEPS:
        raise ParameterError(f"parameter 't'={steps!r} is out of range; allowed [0, {MAX_STEPS}] (whole steps)")
    return int(steps)


def check_choice(name, value, choices):
    if value not in choices:
        raise ParameterError(f"parameter {name!r}={value!r} is not allowed; choose one of {', '.join(choices)}")
    return value


# ---------------------------------------------------------------------------------------------
# the network
# ---------------------------------------------------------------------------------------------
def init_layers(n_in, depth, width=None, scale=0.1, rng=None, shapes=None):
    """Gaussian layers ``W_l ~ N(0, scale^2 / fan_in)``; hidden width ``width`` (default n_in), one output."""
    depth = check_depth(depth)
    scale = check_nonnegative("init", scale)
    rng = np.random.default_rng(0) if rng is None else rng
    if shapes is None:
        h = n_in if width is None else int(width)
        dims = [n_in] + [h] * (depth - 1) + [1]
        shapes = [(dims[l + 1], dims[l]) for l in range(depth)]
    return [rng.standard_normal(s) * scale / math.sqrt(s[1]) for s in shapes]


def forward(layers, X, activation="linear"):
    """Outputs f(x_mu) for the rows of X (inputs scaled by 1/sqrt(N)) and the layer inputs."""
    a = X.T / math.sqrt(X.shape[1])
    acts = [a]
    for l, W in enumerate(layers):
        a = W @ a
        if activation == "relu" and l < len(layers) - 1:
            a = np.maximum(a, 0.0)
        acts.append(a)
    return acts[-1][0], acts


def backward(layers, acts, out_grad, activation="linear"):
    """sum_mu out_grad_mu df(x_mu)/dW_l for every layer (back-propagation)."""
    g = out_grad[None, :]
    grads = [None] * len(layers)
    for l in range(len(layers) - 1, -1, -1):
        grads[l] = g @ acts[l].T
        if l > 0:
            g = layers[l].T @ g
            if activation == "relu":
                g = g * (acts[l] > 0)
    return grads


def end_to_end(layers):
    """The linear network's end-to-end weight vector (row of the product W_D ... W_1)."""
    out = layers[0]
    for W in layers[1:]:
        out = W @ out
    return out[0]


def normalized_margin(v, X, y):
    """min_mu y_mu v.x_mu / |v| (Gardner's stability of the worst pattern)."""
    nv = np.linalg.norm(v)
    if nv == 0:
        return 0.0
    return float(np.min(y * (X @ v)) / nv)


# ---------------------------------------------------------------------------------------------
# training
# ---------------------------------------------------------------------------------------------
def _common(X, y, layers, depth, lr, steps, activation, init, rng, width):
    lr = check_positive("lr", lr)
    steps = check_steps(steps)
    check_choice("activation", activation, ACTIVATIONS)
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    if X.ndim != 2 or y.shape != (X.shape[0],):
        raise ParameterError(f"X must be (P, N) and y (P,); got {X.shape} and {y.shape}")
    if layers is None:
        layers = init_layers(X.shape[1], depth, width, init, rng)
    else:
        layers = [np.array(W, dtype=float) for W in layers]
        check_depth(len(layers))
    return X, y, layers, lr, steps


def _finite(layers, what):
    if not all(np.all(np.isfinite(W)) for W in layers):
        raise SimulationError(f"{what} diverged (learning rate too large)")


def minnorm_train(X, y, task="regression", depth=1, lr=0.1, steps=1000, lr_dual=None, rho=1.0, layers=None,
                  init=0.1, rng=None, width=None, activation="linear", record=None):
    """Minnorm training; returns ``(layers, multipliers, history)``.

    ``history`` holds ``record(layers, lam)`` after every step if ``record`` is given."""
    task = check_choice("task", task, TASKS)
    depth = check_depth(depth if layers is None else len(layers))
    X, y, layers, lr, steps = _common(X, y, layers, depth, lr, steps, activation, init, rng, width)
    lr_dual = lr if lr_dual is None else check_positive("lr_dual", lr_dual)
    rho = check_nonnegative("rho", rho)
    lam = np.zeros(X.shape[0])
    history = []
    for _ in range(steps):
        f, acts = forward(layers, X, activation)
        # multiplier-weighted data gradient (plus the augmented-Lagrangian penalty rho * error)
        if task == "classification":
            out = y * np.maximum(0.0, lam + rho * (1.0 - y * f))
        else:
            out = lam + rho * (y - f)
        grads = backward(layers, acts, out, activation)
        for W, g in zip(layers, grads):
            W -= lr * (W - g)
        if task == "classification":
            lam = np.maximum(0.0, lam + lr_dual * (1.0 - y * f))
        else:
            lam = lam + lr_dual * (y - f)
        if record is not None:
            history.append(record(layers, lam))
    _finite(layers, "minnorm training")
    return layers, lam, history


def gd_train(X, y, task="regression", depth=1, lr=0.1, steps=1000, beta=0.0, layers=None, init=0.1, rng=None,
             width=None, activation="linear", record=None):
    """Plain gradient descent on the logistic (classification) or squared (regression) loss summed over
    examples, plus ``(beta/2) sum_l |W_l|^2`` (L2 regularisation) if ``beta > 0``."""
    task = check_choice("task", task, TASKS)
    depth = check_depth(depth if layers is None else len(layers))
    beta = check_nonnegative("beta", beta)
    X, y, layers, lr, steps = _common(X, y, layers, depth, lr, steps, activation, init, rng, width)
    history = []
    for _ in range(steps):
        f, acts = forward(layers, X, activation)
        if task == "classification":
            out = y * 0.5 * (1.0 - np.tanh(0.5 * y * f))       # -dloss/df for log(1 + e^{-y f})
        else:
            out = y - f
        grads = backward(layers, acts, out, activation)
        for W, g in zip(layers, grads):
            W -= lr * (beta * W - g)
        if record is not None:
            history.append(record(layers, None))
    _finite(layers, "gradient descent")
    return layers, history


# ---------------------------------------------------------------------------------------------
# independent references
# ---------------------------------------------------------------------------------------------
def max_margin(X, y, tol=1e-10):
    """The hard-margin separating hyperplane through the origin, by quadratic programming.

    Solves ``min |w|^2 / 2`` s.t. ``y_mu w.x_mu >= 1`` with scipy's SLSQP, then polishes it on the
    active set (``w = Z_S^T a_S`` with ``Z_S Z_S^T a_S = 1``) and checks the KKT conditions.
    Returns ``(w_hat, margin, support)``: the unit max-margin direction, the margin
    ``min_mu y_mu w_hat.x_mu`` and the indices of the support vectors. Raises SimulationError if
    the data are not linearly separable."""
    from scipy.optimize import minimize
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    Z = y[:, None] * X
    w0 = np.linalg.lstsq(Z, np.ones(len(y)), rcond=None)[0]
    w0 *= 1.0 / max(np.min(Z @ w0), 1e-3)
    res = minimize(lambda w: 0.5 * w @ w, w0, jac=lambda w: w, method="SLSQP",
                   constraints=[{"type": "ineq", "fun": lambda w: Z @ w - 1.0, "jac": lambda w: Z}],
                   options={"maxiter": 2000, "ftol": 1e-15})
    w = res.x
    # polish on the active set
    support = np.flatnonzero(Z @ w < 1.0 + 1e-6)
    ZS = Z[support]
    a = np.linalg.lstsq(ZS @ ZS.T, np.ones(len(support)), rcond=None)[0]
    wp = ZS.T @ a
    if np.all(a >= -tol) and np.min(Z @ wp) >= 1.0 - 1e-9:
        w = wp
    elif not res.success:
        raise SimulationError(f"max-margin QP failed: {res.message}")
    if np.min(Z @ w) < 1.0 - 1e-6:
        raise SimulationError("the data are not linearly separable through the origin")
    nw = np.linalg.norm(w)
    support = np.flatnonzero(Z @ w < 1.0 + 1e-7)
    return w / nw, 1.0 / nw, support


def min_norm_solution(X, y):
    """The minimum-norm interpolant of ``X v / sqrt(N) = y`` (pseudo-inverse)."""
    X = np.asarray(X, dtype=float)
    return np.linalg.pinv(X / math.sqrt(X.shape[1])) @ np.asarray(y, dtype=float)


def chain_min_norm(v, depth, sign_first=None):
    """The minimum of ``sum_l |W_l|^2`` over factorisations of a linear chain (first layer a row vector,
    the others scalars) whose product is ``v``: every layer has norm ``|v|^(1/D)``. Returns
    ``(layers, minimum)`` with positive scalar layers."""
    depth = check_depth(depth)
    nv = float(np.linalg.norm(v))
    a = nv ** (1.0 / depth)
    first = (v / nv * a)[None, :] if nv > 0 else np.zeros((1, len(v)))
    return [first] + [np.array([[a]]) for _ in range(depth - 1)], depth * a * a


def chain_distance(layers, target):
    """Euclidean distance between two parameter lists (all layers stacked)."""
    return float(math.sqrt(sum(np.sum((W - T) ** 2) for W, T in zip(layers, target))))


def gardner_margin(alpha, tol=1e-13):
    """The typical max margin kappa of alpha N random patterns as N -> oo: Gardner's capacity
    alpha_c(kappa) (``replica.solve("gardner", {"kappa": kappa})``) equals alpha."""
    from scipy.optimize import brentq
    from .api import solve
    alpha = check_positive("alpha", alpha)
    if alpha >= 2.0:
        raise ParameterError(f"parameter 'alpha'={alpha:g} is out of range; allowed (0, 2) "
                             "(random patterns are separable with a positive margin only below alpha_c(0) = 2)")

    def gap(k):
        return float(solve("gardner", {"kappa": float(k)}).observables["alpha_c"]) - alpha
    hi = 1.0
    while gap(hi) > 0:
        hi *= 2.0
    return brentq(gap, 0.0, hi, xtol=tol, rtol=4 * np.finfo(float).eps)


def random_classification(n, p, rng):
    """Gardner's storage problem: p patterns x ~ N(0, I_n) with random labels +-1."""
    return rng.standard_normal((p, n)), rng.choice([-1.0, 1.0], size=p)


def teacher_regression(n, p, rng):
    """A noiseless linear teacher ``w* ~ N(0, I_n)``, ``y = w*.x / sqrt(n)``, x ~ N(0, I_n)."""
    w = rng.standard_normal(n)
    X = rng.standard_normal((p, n))
    return X, X @ w / math.sqrt(n), w


def generalization_error(v, w_teacher):
    """E_x (v.x - w*.x)^2 / E_x (w*.x)^2 for x ~ N(0, I): |v - w*|^2 / |w*|^2."""
    return float(np.sum((v - w_teacher) ** 2) / np.sum(w_teacher ** 2))
