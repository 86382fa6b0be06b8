"""Saddle-point solvers: batched damped Newton (numpy), mpmath polishing, sweeps with continuation.

* Newton with the symbolic Jacobian, vectorised over every point of a sweep
  and every starting point at once; steps are damped by backtracking on the
  residual and kept strictly inside the order parameters' domains (a step
  goes at most 90% of the way to an open boundary).
* Several starting points (the model's ``guesses``); among the converged
  solutions the model's ``select`` rule ("max"/"min" free energy) picks the
  physical branch, so first-order transitions are located by free energy.
* Sweeps: points that no starting point solves are retried by continuation
  from converged neighbours; points that still fail are kept and flagged
  (``converged=False``, residual and last iterate in the message).
* ``dps``: the float solution is polished with ``mpmath.findroot`` at
  ``dps`` digits (residual checked at that precision).
"""
from __future__ import annotations

import itertools
import math

import mpmath
import numpy as np

from .errors import ConvergenceError, ParameterError
from .model import Model
from .results import PointResult, SweepResult

TOL = 1e-12
MAXITER = 100


def _bounds(model: Model):
    lo = np.array([o.domain.lower if o.domain.lower is not None else -np.inf for o in model.order_parameters])
    hi = np.array([o.domain.upper if o.domain.upper is not None else np.inf for o in model.order_parameters])
    lo_closed = np.array([o.domain.lower_closed for o in model.order_parameters])
    hi_closed = np.array([o.domain.upper_closed for o in model.order_parameters])
    return lo, hi, lo_closed, hi_closed


def _max_step(x, dx, model):
    """Largest t in (0, 1] keeping x + t dx inside the domain (90% to an open bound)."""
    lo, hi, lo_closed, hi_closed = _bounds(model)
    t = np.ones(x.shape[0])
    with np.errstate(divide="ignore", invalid="ignore"):
        for j in range(x.shape[1]):
            d = dx[:, j]
            gap_lo = x[:, j] - lo[j]
            gap_hi = hi[j] - x[:, j]
            frac_lo = 1.0 if lo_closed[j] else 0.9
            frac_hi = 1.0 if hi_closed[j] else 0.9
            t = np.where(d < 0, np.minimum(t, np.where(np.isfinite(gap_lo), frac_lo * gap_lo / -d, 1.0)), t)
            t = np.where(d > 0, np.minimum(t, np.where(np.isfinite(gap_hi), frac_hi * gap_hi / d, 1.0)), t)
    return np.clip(t, 0.0, 1.0)


def newton_batch(system, x0, params, model, tol=TOL, maxiter=MAXITER):
    """Damped Newton on a batch: ``x0`` (B, k), ``params`` list of (B,) arrays.

    Returns ``x, residual, iterations`` (arrays over the batch). ``system(*x, *params)``
    returns the residual list and the Jacobian rows.
    """
    x = np.array(x0, dtype=float)
    B, k = x.shape
    iters = np.zeros(B, dtype=int)

    lo, hi, _, _ = _bounds(model)

    def evaluate(xs, ps):
        G, J = system(*xs.T, *ps)
        G = np.stack([np.asarray(g, dtype=float) for g in G], axis=-1)
        J = np.stack([np.stack([np.asarray(c, dtype=float) for c in row], axis=-1) for row in J], axis=-2)
        bad = ~np.all(np.isfinite(J), axis=(-2, -1))
        if bad.any():
            J[bad] = _fd_jacobian(system, xs[bad], [p[bad] for p in ps], G[bad], lo, hi)
        return G, J

    G, J = evaluate(x, params)
    res = np.max(np.abs(G), axis=-1)
    res = np.where(np.isfinite(res), res, np.inf)
    active = res > tol * 1e-2
    for _ in range(maxiter):
        idx = np.flatnonzero(active)
        if idx.size == 0:
            break
        xa, Ga, Ja = x[idx], G[idx], J[idx]
        pa = [p[idx] for p in params]
        with np.errstate(all="ignore"):
            try:
                dx = np.linalg.solve(Ja, -Ga[..., None])[..., 0]
            except np.linalg.LinAlgError:
                dx = np.stack([np.linalg.lstsq(Ja[i], -Ga[i], rcond=None)[0] for i in range(len(idx))])
        bad = ~np.all(np.isfinite(dx), axis=-1)
        dx[bad] = -Ga[bad]                                   # fall back to a residual step
        t = _max_step(xa, dx, model)
        r0 = res[idx]
        accepted = np.zeros(len(idx), dtype=bool)
        xn, Gn, Jn, rn = xa.copy(), Ga.copy(), Ja.copy(), r0.copy()
        for _half in range(40):
            todo = np.flatnonzero(~accepted)
            if todo.size == 0:
                break
            xt = xa[todo] + t[todo, None] * dx[todo]
            Gt, Jt = evaluate(xt, [p[todo] for p in pa])
            rt = np.max(np.abs(Gt), axis=-1)
            rt = np.where(np.isfinite(rt), rt, np.inf)
            ok = rt < (1 - 1e-4 * t[todo]) * r0[todo]
            ok |= rt <= tol * 1e-2
            sel = todo[ok]
            xn[sel], Gn[sel], Jn[sel], rn[sel] = xt[ok], Gt[ok], Jt[ok], rt[ok]
            accepted[sel] = True
            t[todo[~ok]] /= 2
        iters[idx] += 1
        x[idx], G[idx], J[idx], res[idx] = xn, Gn, Jn, rn
        still = accepted & (rn > tol * 1e-2)
        # stop points whose step no longer changes x
        tiny = np.all(np.abs(t[:, None] * dx) <= 4e-16 * (1 + np.abs(xa)), axis=-1)
        active[idx] = still & ~tiny
    return x, res, iters


def _fd_jacobian(system, x, params, G, lo, hi):
    """One-sided finite-difference Jacobian, stepping into the domain (for non-finite symbolic entries)."""
    B, k = x.shape
    J = np.empty((B, k, k))
    for j in range(k):
        h = 1e-7 * np.maximum(1.0, np.abs(x[:, j]))
        h = np.where(x[:, j] + h < hi[j], h, -h)
        h = np.where(x[:, j] + h > lo[j], h, np.abs(h) / 2)
        xs = x.copy()
        xs[:, j] += h
        Gs = np.stack([np.asarray(g, dtype=float) for g in system(*xs.T, *params)[0]], axis=-1)
        J[:, :, j] = (Gs - G) / h[:, None]
    return J


def _param_arrays(model, params_list):
    # an unset optional parameter is NaN: a model variant that does not use it never reads it
    return [np.array([float(p[q.name]) if p[q.name] is not None else np.nan for p in params_list])
            for q in model.real_parameters]


def _starts(model):
    guesses = [o.guesses for o in model.order_parameters]
    return np.array(list(itertools.product(*guesses)), dtype=float)


def solve_batch(model: Model, params_list: list, tol=TOL, starts=None):
    """Solve the saddle point at many parameter points at once (float).

    Returns one dict a point: ``x`` (the selected solution), ``residual``, ``iterations``
    (summed over starts), ``converged``, ``outputs`` (free energy, observables, stability
    eigenvalue at x), ``candidates`` (how many starts converged) and ``reason`` (why not converged).
    """
    deriv = model.derivation(params_list[0])
    m = len(params_list)
    x0 = None
    if starts is None:
        chosen = model.starting_points_batch(params_list)
        if all(c is not None for c in chosen):
            # the model's own starts at every point (they may differ from point to point, e.g. the
            # fixed point an algorithm reaches): one batch as long as every point has as many
            per_point = [np.atleast_2d(np.array(c, dtype=float)) for c in chosen]
            if all(a.shape == per_point[0].shape for a in per_point):
                starts = per_point[0]
                x0 = np.concatenate(per_point, axis=0)
        if x0 is None:
            starts = _starts(model)
    else:
        starts = np.atleast_2d(starts)
    s = starts.shape[0]
    P = _param_arrays(model, params_list)
    Pb = [np.repeat(p, s) for p in P]
    if x0 is None:
        x0 = np.tile(starts, (m, 1))
    x, res, iters = newton_batch(deriv.numpy_system, x0, Pb, model, tol=tol)
    x = x.reshape(m, s, -1)
    res = res.reshape(m, s)
    iters = iters.reshape(m, s)
    F = np.zeros((m, s))
    if s > 1:
        # the free energy of the candidates, to select the branch: only at points where two converged
        # starts reached different solutions (elsewhere every converged start is the same point, and
        # its free energy is computed once with the outputs below)
        conv = res <= tol
        first = np.argmax(conv, axis=1)
        ref = x[np.arange(m), first][:, None, :]
        apart = np.abs(x - ref) > 1e-9 * (1 + np.abs(ref))
        rank = np.flatnonzero(np.any(conv & np.any(apart, axis=-1), axis=1))
        if rank.size:
            sel = [np.repeat(p[rank], s) for p in P]
            F[rank] = np.asarray(deriv.numpy_free_energy(*x[rank].reshape(rank.size * s, -1).T, *sel),
                                 dtype=float).reshape(rank.size, s)
    ok = (res <= tol) & np.isfinite(F)
    sign = 1.0 if model.select == "max" else -1.0
    score = np.where(ok, sign * F, -np.inf)
    best = np.argmax(score, axis=1)
    # a point no start solved: report the start with the smallest residual
    best = np.where(ok.any(axis=1), best, np.argmin(np.where(np.isfinite(res), res, np.inf), axis=1))
    rows = np.arange(m)
    xb = x[rows, best]
    outs = [np.broadcast_to(np.asarray(o, dtype=float), (m,)) for o in deriv.numpy_outputs(*xb.T, *P)]
    lo, hi, lo_closed, hi_closed = _bounds(model)
    # a solution must sit inside an open end by much more than its own uncertainty (~ the
    # residual of O(1)-scaled equations): q = 1 - 5e-15 with residual 5e-15 is not resolved
    rb = res[rows, best][:, None]
    inside = np.all(((xb - lo > 1e3 * rb) | lo_closed) & ((hi - xb > 1e3 * rb) | hi_closed)
                    & ((xb > lo) | lo_closed) & ((xb < hi) | hi_closed), axis=-1)
    finite = np.all([np.isfinite(o) for o in outs], axis=0)
    ok_best = ok[rows, best] & inside & finite
    ok_res = ok[rows, best]
    reasons = ["" if ok_best[i] or not ok_res[i] else
               ("an order parameter reached an open end of its domain (float precision cannot resolve "
                "the solution here; use --dps)" if not inside[i] else
                "non-finite observables at the solution (use --dps)")
               for i in rows]
    return [{
        "x": xb[i], "residual": float(res[i, best[i]]), "iterations": int(iters[i].sum()),
        "converged": bool(ok_best[i]), "outputs": [o[i] for o in outs],
        "candidates": int(ok[i].sum()), "reason": reasons[i],
    } for i in rows]


def _point_result(model, params, sol, deriv, dps=None, extra=None) -> PointResult:
    names = deriv.observable_names
    outs = sol["outputs"]
    observables = {n: outs[1 + j] for j, n in enumerate(names)}
    if sol["converged"]:
        observables.update(model.extra_observables(params, sol["x"]) if extra is None else extra)
    stability = None
    if deriv.stability is not None:
        ev = outs[-1]
        stability = {"name": deriv.stability.name, "eigenvalue": ev, "stable": bool(ev > 0)}
    message = ""
    if not sol["converged"]:
        last = ", ".join(f"{o.name}={float(v):.17g}" for o, v in zip(model.order_parameters, sol["x"]))
        why = sol.get("reason") or f"residual {float(sol['residual']):.3g} > {TOL:g}"
        message = (f"did not converge: {why}; after {sol['iterations']} iterations, last iterate {last}, "
                   f"residual {float(sol['residual']):.3g}")
    return PointResult(
        model=model.name, params=dict(params),
        order_parameters={o.name: v for o, v in zip(model.order_parameters, sol["x"])},
        observables=observables, free_energy=outs[0], converged=sol["converged"],
        residual=sol["residual"], iterations=sol["iterations"], stability=stability,
        message=message, dps=dps)


#: closed-form limits are evaluated in mpmath at this precision even for float output: they can
#: cancel (Gardner's alpha_c at kappa = -5 loses 3 digits in double precision, all of them at -8)
LIMIT_DPS = 40


def _limits(model, params, dps=None) -> dict:
    """Closed-form limits at these parameters, correctly rounded to float unless ``dps`` is given."""
    deriv = model.derivation(params)
    names, fn = deriv.mpmath_limits
    if not names:
        return {}
    values = [params[p.name] for p in model.real_parameters]
    if any(v is None for v in values):
        missing = [p.name for p, v in zip(model.real_parameters, values) if v is None]
        needed = set().union(*[deriv.limits[n].free_symbols for n in names])
        if any(p.symbol in needed for p in model.real_parameters if p.name in missing):
            return {}
        values = [0.0 if v is None else v for v in values]
    with mpmath.workdps((dps or 0) + LIMIT_DPS):
        out = fn(*[mpmath.mpf(v) for v in values])
        if dps:
            return {n: v for n, v in zip(names, out)}
        return {n: _limit_to_float(model, params, n, v) for n, v in zip(names, out)}


def _limit_to_float(model, params, name, v) -> float:
    """A limit's mpmath value as a float; a finite nonzero value outside the double range (Gardner's
    alpha_c ~ 1e350 at kappa = -40) is an error naming the way out, not a silent inf or 0."""
    x = float(v)
    if mpmath.isfinite(v) and v != 0 and (math.isinf(x) or x == 0):
        raise ParameterError(f"{model.name} at {_fmt(params)}: {name} = {mpmath.nstr(v, 6)} is outside the range "
                             "of double precision (about 1e-308 to 1e308); use --dps D (mpmath) for it")
    return x


def solve(model: Model, params: dict, dps: int | None = None, raise_on_failure: bool = True) -> PointResult:
    """Solve one point. ``params`` must be resolved (:meth:`Model.resolve`)."""
    if dps is not None and dps < 1:
        raise ParameterError(f"dps={dps} is out of range; allowed: an integer >= 1")
    model = model.variant(params)
    deriv = model.derivation(params)
    limits = _limits(model, params, dps)
    if not model.order_parameters or not model.saddle_active(params):
        return PointResult(model=model.name, params=dict(params), order_parameters={},
                           observables=dict(limits, **model.extra_observables(params, None)), free_energy=None,
                           converged=True, residual=0.0, iterations=0, dps=dps)
    sol = solve_batch(model, [params])[0]
    if not sol["converged"]:
        sol = _continuation_single(model, params, sol)
    if dps:
        if sol["converged"] or float(sol["residual"]) < 1e-6:
            # the float solution may be unresolved near a boundary yet a good start for mpmath
            sol = polish_mpmath(model, params, sol, dps)
        result = _point_result(model, params, sol, deriv, dps)
    else:
        result = _point_result(model, params, sol, deriv)
    result.observables.update(limits)
    if raise_on_failure and not result.converged:
        raise ConvergenceError(f"{model.name} at {_fmt(params)}: {result.message}",
                               residual=result.residual, last_iterate=result.order_parameters)
    return result


#: the largest number of starting points a failed point is retried from (see _continuation_single)
CONTINUATION_STARTS = 300


def _continuation_single(model, params, sol):
    """Retry a failed point with a dense grid of starting points: ten values an order parameter,
    fewer when there are many (at most CONTINUATION_STARTS starts in all: a model with five order
    parameters would otherwise try 10^5 starts and take many minutes before reporting failure)."""
    fractions = np.array([1e-6, 1e-3, 0.05, 0.2, 0.35, 0.65, 0.8, 0.95, 0.999, 1 - 1e-6])
    k = len(model.order_parameters)
    per_axis = max(3, min(len(fractions), int(CONTINUATION_STARTS ** (1 / k) + 1e-9)))
    fractions = fractions[np.round(np.linspace(0, len(fractions) - 1, per_axis)).astype(int)]
    grids = []
    for o in model.order_parameters:
        lo = o.domain.lower if o.domain.lower is not None else -10.0
        hi = o.domain.upper if o.domain.upper is not None else 10.0
        grids.append(lo + (hi - lo) * fractions)
    starts = np.array(list(itertools.product(*grids)))
    retry = solve_batch(model, [params], starts=starts)[0]
    return retry if retry["converged"] else sol


def polish_mpmath(model, params, sol, dps):
    """Refine a float solution with mpmath.findroot at ``dps`` digits."""
    deriv = model.derivation(params)
    k = len(model.order_parameters)
    with mpmath.workdps(dps + 10):
        pvals = [mpmath.mpf(params[p.name]) if params[p.name] is not None else mpmath.nan
                 for p in model.real_parameters]

        def f(*x):
            return deriv.mpmath_residual(*x, *pvals)

        def jac(*x):
            flat = deriv.mpmath_jacobian(*x, *pvals)
            return mpmath.matrix([[flat[i * k + j] for j in range(k)] for i in range(k)])

        x0 = [mpmath.mpf(float(v)) for v in sol["x"]]
        try:
            if k == 1:
                root = mpmath.findroot(lambda x: f(x)[0], x0[0], solver="newton",
                                       df=lambda x: jac(x)[0, 0], tol=mpmath.mpf(10)**(-2 * dps))
                xs = [root]
            else:
                root = mpmath.findroot(f, x0, solver="mdnewton", J=jac, tol=mpmath.mpf(10)**(-2 * dps))
                xs = [root[i] for i in range(k)]
        except (ValueError, ZeroDivisionError) as exc:
            return dict(sol, converged=False, residual=float(sol["residual"]),
                        message=f"mpmath polishing failed: {exc}")
        res = max(abs(v) for v in f(*xs))
        # observables can cancel (an entropy at T = 1e-12 loses 12 digits): evaluate them at rising
        # working precision until two evaluations agree to dps digits; quadrature that cannot be
        # resolved (transitions of width 1e-30) never agrees and is reported
        outs = deriv.mpmath_outputs(*xs, *pvals)
        work = dps + 10
        for _ in range(4):
            work += 15
            with mpmath.workdps(work):
                check = deriv.mpmath_outputs(*xs, *pvals)
            drift = max((abs(a - b) / max(1, abs(b)) for a, b in zip(outs, check)), default=mpmath.mpf(0))
            outs = check
            if drift <= mpmath.mpf(10)**(-dps):
                break
        converged = res <= mpmath.mpf(10)**(-(dps - 5)) and drift <= mpmath.mpf(10)**(-dps)
        reason = "" if converged else (
            f"mpmath residual {mpmath.nstr(res, 3)} > 1e-{dps - 5}" if res > mpmath.mpf(10)**(-(dps - 5))
            else f"observables still changed by {mpmath.nstr(drift, 3)} between {work - 15} and {work} "
                 f"working digits (quadrature not resolved at {dps} digits)")
        return {"x": list(xs), "residual": res, "iterations": sol["iterations"], "reason": reason,
                "converged": bool(converged), "outputs": list(outs), "candidates": sol["candidates"]}


def _fmt(params):
    return ", ".join(f"{k}={v}" for k, v in params.items() if v is not None)


def sweep(model: Model, params: dict, name: str, values, dps: int | None = None,
          progress: bool = False) -> SweepResult:
    """Solve along ``name`` = ``values`` (other parameters fixed); failed points flagged, never dropped.
    ``progress`` draws a progress bar on stderr over the per-point work (mpmath polishing, models
    solved point by point); the batched double-precision solve is one step."""
    from .execution import Progress
    model.parameter(name)
    values = list(values)
    if not values:
        raise ParameterError(f"sweep over {name!r} has no points")
    plist = []
    for v in values:
        given = {k: val for k, val in params.items() if val is not None}
        given[name] = v
        plist.append(model.resolve(given))
    model = model.variant(plist[0])       # categorical choices are fixed along a sweep
    out = SweepResult(model=model.name, sweep=name, values=values)
    pointwise = not model.order_parameters or not model.saddle_active(plist[0])
    bar = Progress(len(plist), f"{model.name} sweep of {name}", progress and (dps is not None or pointwise))
    try:
        if pointwise:
            for p in plist:
                out.points.append(solve(model, p, dps=dps))
                bar.update()
            return out
        deriv = model.derivation(plist[0])
        sols = solve_batch(model, plist)
        _continuation(model, plist, sols)
        limits = _limits_batch(model, plist)
        done = [i for i, s in enumerate(sols) if s["converged"]]
        batch = model.extra_observables_batch([plist[i] for i in done], [sols[i]["x"] for i in done])
        extra = dict(zip(done, batch)) if batch is not None else {}
        for i, (p, s) in enumerate(zip(plist, sols)):
            if dps and s["converged"]:
                s = polish_mpmath(model, p, s, dps)
            r = _point_result(model, p, s, deriv, dps, extra.get(i))
            r.observables.update({k: (v[i] if not dps else _limits(model, p, dps)[k]) for k, v in limits.items()})
            out.points.append(r)
            bar.update()
        return out
    finally:
        bar.close()


def _param_arrays_optional(model, plist):
    return [np.array([float(p[q.name]) if p[q.name] is not None else np.nan for p in plist])
            for q in model.real_parameters]


def _limits_batch(model, plist):
    """Limits at every point of a sweep, evaluated once per distinct value of the parameters they
    depend on (a capacity alpha_c(kappa) is one mpmath evaluation for a whole alpha sweep)."""
    deriv = model.derivation(plist[0])
    needed = set().union(*[e.free_symbols for e in deriv.limits.values()]) if deriv.limits else set()
    keys = [p.name for p in model.real_parameters if p.symbol in needed]
    cache = {}
    rows = []
    for p in plist:
        key = tuple(p[k] for k in keys)
        if key not in cache:
            cache[key] = _limits(model, p)
        rows.append(cache[key])
    names = list(rows[0]) if rows else []
    return {n: [r.get(n, float("nan")) for r in rows] for n in names}


def _continuation(model, plist, sols):
    """Re-solve failed sweep points from converged neighbours, forward then backward."""
    order = list(range(len(plist)))
    for sequence in (order, order[::-1]):
        prev = None
        for i in sequence:
            if sols[i]["converged"]:
                prev = sols[i]["x"]
                continue
            if prev is None:
                continue
            retry = solve_batch(model, [plist[i]], starts=np.atleast_2d(prev))[0]
            if retry["converged"]:
                sols[i] = retry
                prev = retry["x"]
    for i, p in enumerate(plist):
        if not sols[i]["converged"]:
            sols[i] = _continuation_single(model, p, sols[i])
