"""Running the diffusion / flow-matching samplers on n samples (for the ``diffusion`` model).

The denoisers are written here by hand (numpy), independently of the SymPy derivation in
``replica/models/diffusion.py`` (tests/test_diffusion.py checks they agree):

* VE diffusion, x_t = x0 + sigma_q sqrt(t) z, V_t = sigma0^2 + sigma_q^2 t:
  Gaussian data  D(x) = mu + sigma0^2 (x - mu)/V_t;
  mixture        D(x) = (sigma0^2 x + sigma_q^2 t m tanh(<m, x>/V_t))/V_t (per coordinate; m = mu 1).
* linear flow, x_t = (1-t) x0 + t x1, x1 ~ N(0, sigma_q^2 I), V_t = (1-t)^2 sigma0^2 + t^2 sigma_q^2:
  Gaussian data  D(x) = mu + (1-t) sigma0^2 (x - (1-t) mu)/V_t;
  mixture        D(x) = ((1-t) sigma0^2 x + t^2 sigma_q^2 m tanh((1-t) <m, x>/V_t))/V_t;
  velocity       v = E[x0 - x1 | x_t] = (D(x) - x)/t.

Samplers (N steps from t_k = k/N to t_{k-1}, dt = 1/N): ddpm and ddim with the VE denoiser; flow
(Euler) x <- x + dt v(x, t_k); flow-midpoint (explicit midpoint) x_m = x + (dt/2) v(x, t_k),
x <- x + dt v(x_m, t_k - dt/2).

General data (``mean``/``covariance`` or ``weights``/``means``/``covariances`` set), written with
matrices (no eigenbasis, unlike the derivation): each component a is N(m_a, S_a); under
x_t = a x0 + beta z its marginal is N(a m_a, C_a), C_a = a^2 S_a + beta^2 I, its denoiser
m_a + a S_a C_a^{-1} (x - a m_a) (Gaussian conditioning), and the mixture weighs the components by
w_a N(x; a m_a, C_a) (normalised, in logs); Gaussian data is the case K = 1.

A trial draws ``n`` samples of dimension ``dim`` from the start distribution, runs ``steps`` steps
of the sampler, and returns the mean over coordinates of the sample mean and of the unbiased
sample variance, and for Gaussian data the mean of (x - m)^T Sigma^{-1} (x - m)/dim; for the
symmetric mixture the mean of |<x, m>|/|m|; for a general mixture, besides the mean and
variance, the mean over samples of k_data(x) = E_y exp(-|x - y|^2/(2 ell^2)) =
sum_a w_a ell^dim det(S_a + ell^2 I)^{-1/2} exp(-(x - m_a)^T (S_a + ell^2 I)^{-1} (x - m_a)/2).
"""
from __future__ import annotations

import math

import numpy as np

MAX_ENTRIES = 50_000_000


def components(params):
    """(w (K,), m (K, d), S (K, d, d)) of general data, or None for the isotropic defaults."""
    from replica.models.diffusion import data_spec, numeric_components
    spec = data_spec(params)
    if spec is None:
        return None
    return numeric_components(spec, float(params["mu"]), float(params["sigma0"]))


def general_denoiser(comps, x, t, process, sq):
    """E[x0 | x_t = x] for the mixture sum_a w_a N(m_a, S_a), by Gaussian conditioning (matrices)."""
    w, m, S = comps
    if process == "ve":
        a, b2 = 1.0, sq * sq * t
    else:
        a, b2 = 1.0 - t, (sq * t) ** 2
    d = x.shape[1]
    logs, dens = [], []
    for wa, ma, Sa in zip(w, m, S):
        C = a * a * Sa + b2 * np.eye(d)
        L = np.linalg.cholesky(C)
        r = x - a * ma
        sol = np.linalg.solve(C, r.T).T                      # C^{-1} (x - a m)
        logs.append(math.log(wa) - 0.5 * np.sum(r * sol, axis=1) - np.sum(np.log(np.diag(L)))
                    - 0.5 * d * math.log(2 * math.pi))
        dens.append(ma + a * sol @ Sa)                      # S symmetric: (S C^{-1} r)^T = r^T C^{-1} S
    logs = np.stack(logs, axis=1)
    logs -= logs.max(axis=1, keepdims=True)
    p = np.exp(logs)
    p /= p.sum(axis=1, keepdims=True)
    return sum(p[:, k:k + 1] * dens[k] for k in range(len(dens)))


def kernel_embedding(comps, x, ell):
    """k_data(x) = E_y exp(-|x - y|^2/(2 ell^2)) for y from the mixture (closed form, matrices)."""
    w, m, S = comps
    d = x.shape[1]
    out = np.zeros(x.shape[0])
    for wa, ma, Sa in zip(w, m, S):
        C = Sa + ell * ell * np.eye(d)
        r = x - ma
        q = np.sum(r * np.linalg.solve(C, r.T).T, axis=1)
        out += wa * ell**d / math.sqrt(np.linalg.det(C)) * np.exp(-0.5 * q)
    return out


def denoiser(params, x, t, process):
    comps = components(params)
    if comps is not None:
        return general_denoiser(comps, x, t, process, float(params["sigma_q"]))
    mu, s0, sq = float(params["mu"]), float(params["sigma0"]), float(params["sigma_q"])
    mixture = params["data"] == "mixture"
    if process == "ve":
        a, b2 = 1.0, sq * sq * t
    else:
        a, b2 = 1.0 - t, (sq * t) ** 2
    V = a * a * s0 * s0 + b2
    if not mixture:
        return mu + a * s0 * s0 * (x - a * mu) / V
    proj = mu * np.sum(x, axis=-1, keepdims=True)         # <m, x> with m = mu 1
    return (a * s0 * s0 * x + b2 * mu * np.tanh(a * proj / V)) / V


def run_sampler(params, x, rng):
    """Run the sampler from the samples ``x`` (n, dim) at t = 1 down to t = 0."""
    sampler, n = params["sampler"], int(params["steps"])
    sq = float(params["sigma_q"])
    dt = 1.0 / n
    def velocity(y, t):
        return (denoiser(params, y, t, "fm") - y) / t

    for k in range(n, 0, -1):
        t = k / n
        if sampler == "flow":
            x = x + dt * velocity(x, t)
            continue
        if sampler == "flow-midpoint":
            xm = x + (dt / 2) * velocity(x, t)
            x = x + dt * velocity(xm, t - dt / 2)
            continue
        D = denoiser(params, x, t, "ve")
        mean = (dt / t) * D + (1 - dt / t) * x              # E[x_{t-dt} | x_t]
        if sampler == "ddpm":
            x = mean + sq * math.sqrt(dt) * rng.standard_normal(x.shape)
        else:
            lam = math.sqrt(t) / (math.sqrt(t - dt) + math.sqrt(t))
            x = x + lam * (mean - x)
    return x


def start_samples(params, n, rng):
    dim = int(params["dim"])
    mu, s0, sq = float(params["mu"]), float(params["sigma0"]), float(params["sigma_q"])
    z = rng.standard_normal((n, dim))
    if params["sampler"] in ("flow", "flow-midpoint") or params["init"] == "noise":
        return sq * z
    # the exact VE marginal at t = 1: data + N(0, sigma_q^2)
    comps = components(params)
    if comps is not None:
        return data_samples(comps, n, rng) + sq * z
    if params["data"] == "gaussian":
        x0 = mu + s0 * rng.standard_normal((n, dim))
    else:
        sign = rng.choice([-1.0, 1.0], size=(n, 1))
        x0 = sign * mu + s0 * rng.standard_normal((n, dim))
    return x0 + sq * z


def data_samples(comps, n, rng):
    """n samples of the mixture: a component by its weight, then m_a + L_a z (Cholesky L_a)."""
    w, m, S = comps
    label = rng.choice(len(w), size=n, p=w / w.sum())
    z = rng.standard_normal((n, m.shape[1]))
    out = np.empty_like(z)
    for a in range(len(w)):
        sel = label == a
        out[sel] = m[a] + z[sel] @ np.linalg.cholesky(S[a]).T
    return out


CLONE_STEPS = 25


def clone_trial(params, n, rng, steps=CLONE_STEPS):
    """Fraction of n pairs of reverse VP trajectories, cloned at t_clone, that end on the same side.

    Forward: x0 from the mixture, x_t = e^{-t} x0 + sqrt(1 - e^{-2t}) z. Reverse: ``steps`` steps of
    the exact reverse kernel of the mixture, written by hand: from x at time t to time s < t, pick the
    component c with probability P(c | x_t) = logistic(2 c a_t <m, x>/V_t) (a_t = e^{-t},
    V_t = a_t^2 sigma0^2 + 1 - a_t^2), then x_s | x_t, c ~ N(a_s c m + a_{t|s} V_s/V_t (x - a_t c m),
    (V_s - a_{t|s}^2 V_s^2/V_t) I) with a_{t|s} = e^{-(t - s)} (the pair (x_s, x_t) is jointly
    Gaussian given c). The law of the endpoint does not depend on ``steps``."""
    dim = int(params["dim"])
    mu, s0, tc = float(params["mu"]), float(params["sigma0"]), float(params["t_clone"])
    m = mu * np.ones(dim)
    sign = rng.choice([-1.0, 1.0], size=(n, 1))
    x0 = sign * m + s0 * rng.standard_normal((n, dim))
    a = math.exp(-tc)
    xt = a * x0 + math.sqrt(1 - a * a) * rng.standard_normal((n, dim))
    times = np.linspace(tc, 0.0, steps + 1)
    ends = []
    for _clone in range(2):
        x = xt.copy()
        for t, s in zip(times[:-1], times[1:]):
            at, as_ = math.exp(-t), math.exp(-s)
            Vt, Vs = at * at * s0 * s0 + 1 - at * at, as_ * as_ * s0 * s0 + 1 - as_ * as_
            ats = math.exp(-(t - s))
            p_plus = 0.5 * (1 + np.tanh(at * (x @ m) / Vt))
            c = np.where(rng.random(n) < p_plus, 1.0, -1.0)[:, None]
            mean = as_ * c * m + ats * Vs / Vt * (x - at * c * m)
            var = max(Vs - ats * ats * Vs * Vs / Vt, 0.0)
            x = mean + math.sqrt(var) * rng.standard_normal((n, dim))
        ends.append(np.sign(x @ m))
    return float(np.mean(ends[0] == ends[1]))


def sample_trial(params, n, rng):
    dim = int(params["dim"])
    if n * dim > MAX_ENTRIES:
        raise ValueError(f"n * dim = {n * dim} samples entries is more than this simulator holds ({MAX_ENTRIES})")
    x = run_sampler(params, start_samples(params, n, rng), rng)
    comps = components(params)
    moments = {"mean": float(np.mean(x)), "variance": float(np.mean(np.var(x, axis=0, ddof=1)))}
    if params["data"] == "gaussian":
        if comps is None:              # Sigma = sigma0^2 I (dim may be large: no matrix)
            r = x - float(params["mu"])
            q = np.sum(r * r, axis=1) / float(params["sigma0"])**2
        else:
            r = x - comps[1][0]
            q = np.sum(r * np.linalg.solve(comps[2][0], r.T).T, axis=1)
        moments["mahalanobis"] = float(np.mean(q) / dim)
        return moments
    if comps is not None:
        moments["kernel_mean"] = float(np.mean(kernel_embedding(comps, x, float(params["kernel_width"]))))
        return moments
    proj = np.sum(x, axis=-1) / math.sqrt(dim)
    return {"abs_projection": float(np.mean(np.abs(proj))), "clone_agreement": clone_trial(params, n, rng)}
