"""The contract battery: every registered model passes the same checks.

* the saddle-point equations are the (scaled) gradient of the free energy:
  compiled equations equal central finite differences of the compiled free energy;
* the Jacobian equals finite differences of the equations;
* numpy and mpmath backends agree;
* the model's known values are reproduced;
* its LaTeX export compiles with pdflatex.
"""
import os
import subprocess

import mpmath
import pytest

from replica.latex import derivation_latex, standalone_document
from replica.numeric import compile_numpy
from replica.registry import MODELS, get_model
from replica.solver import solve

# interior test points of each model: (parameters, order parameters)
POINTS = {
    "gardner": [({"kappa": 0.0, "alpha": 1.0}, [0.4]), ({"kappa": 0.7, "alpha": 0.3}, [0.8]),
                ({"kappa": -0.5, "alpha": 2.0}, [0.05])],
    "sk": [({"T": 0.5, "h": 0.3}, [0.6]), ({"T": 2.0, "h": 0.0}, [0.2]), ({"T": 0.05, "h": 1.0}, [0.97]),
           # RSB variants: numeric (no order parameters for the generic solver); their equations are
           # tested in tests/test_sk_rsb.py
           ({"T": 0.5, "h": 0.3, "rsb": "1"}, []), ({"T": 0.5, "h": 0.0, "rsb": "full"}, [])],
    # one point a variant: noiseless Gibbs (Nishimori line), noisy Gibbs (q, R), Bayes with noise
    # and flips, Hebb (closed form), max-margin (R, kappa, lambda)
    "teacher-student": [({"alpha": 1.0, "rule": "gibbs"}, [0.4]),
                        ({"alpha": 2.0, "rule": "gibbs", "noise": 0.3}, [0.7, 0.6]),
                        ({"alpha": 2.0, "rule": "bayes", "noise": 0.2, "flip": 0.1}, [0.5]),
                        ({"alpha": 3.0, "rule": "hebb", "noise": 0.2, "flip": 0.1}, []),
                        ({"alpha": 2.0, "rule": "max-margin", "noise": 0.1}, [0.8, 0.4, 3.0])],
    "ising-perceptron": [({"kappa": 0.0, "alpha": 0.5}, [0.3, 0.7]), ({"kappa": 0.5, "alpha": 0.3}, [0.5, 1.5]),
                         ({"kappa": 0.0, "rsb": "1"}, [0.55, 2.5, 0.8, 2.0]),
                         ({"kappa": 0.0, "rsb": "1", "alpha": 0.5}, [0.3, 0.7]),
                         ({"task": "teacher-student", "alpha": 1.0}, [0.5, 1.0]),
                         ({"task": "teacher-student", "alpha": 0.5, "rule": "bayes"}, [0.3, 0.4]),
                         ({"task": "teacher-student"}, [0.65, 1.4, 1.1, 2.0]),
                         ({"task": "teacher-student", "threshold": "spinodal"}, [0.5, 1.0, 2.0]),
                         ({"task": "teacher-student", "alpha": 2.0}, [])],
    "expansion-perceptron": [({"alpha": 2.0, "expansion": 1.0, "noise": 0.5}, [0.7, 0.5, 1.0, 0.6, 0.5]),
                             ({"alpha": 3.0, "expansion": 3.0, "sparsity": 0.2, "noise": 0.5},
                              [0.75, 0.6, 2.0, 0.45, 0.4]),
                             ({"alpha": 2.0, "expansion": 0.0, "noise": 0.5}, [0.7, 0.3, 2.0]),
                             ({"task": "capacity", "expansion": 1.0, "noise": 0.5}, [0.6, 0.6, 0.5]),
                             ({"task": "capacity", "expansion": 0.0, "noise": 0.5}, [0.6]),
                             ({"units": "sparse", "alpha": 2.0, "expansion": 1.0}, [])],
    "hopfield": [({"alpha": 0.05, "T": 0.3}, [0.95, 0.9, 1.1]), ({"alpha": 0.137, "T": 0.02}, [0.97, 0.995, 1.4]),
                 ({"alpha": 2.0, "T": 0.7}, [0.0, 0.6, 2.5])],
    "marchenko-pastur": [({"gamma": 0.5, "x": 1.0}, [0.4, 1.2]), ({"gamma": 2.0, "x": 3.0}, [0.3, 0.2]),
                         ({"gamma": 0.25, "x": 4.0}, [0.3, 0.05])],
    # E well above the finite-difference step (1e-5); at E ~ Delta ~ 1e-8 only the stable form
    # (posterior variance) keeps its digits, tested against mpmath in tests/test_bayes_optimal.py
    # Gaussian noise only: nested averages (Laplace, Student-t noise) make the mpmath check take
    # minutes; tests/test_m_estimation.py runs the numpy checks on those
    "m-estimation": [({"alpha": 2.0, "loss": "huber", "regularizer": "l2", "huber_delta": 0.8}, [0.3, 0.5, 0.5, 1.3]),
                     ({"alpha": 0.6, "loss": "square", "regularizer": "l1", "prior": "bernoulli-gauss",
                       "sparsity": 0.2, "lambda": 0.3}, [0.1, 1.5, 0.05, 0.4]),
                     ({"alpha": 3.0, "loss": "quantile", "regularizer": "elastic-net", "quantile_tau": 0.3},
                      [0.2, 0.4, 0.3, 2.0])],
    "optimal-m-estimation": [({"alpha": 2.0}, [0.3, 0.4]), ({"alpha": 3.0, "prior": "flat"}, [0.2, 0.3]),
                             ({"alpha": 0.5, "noise_scale": 0.3, "prior_scale": 2.0}, [0.4, 0.6])],
    "lasso": [({"delta": 0.5, "rho": 0.1, "lam": 0.1, "sigma": 0.1}, [0.02, 1.5, 0.05, 0.3]),
              ({"delta": 2.0, "rho": 0.5, "lam": 0.5, "sigma": 0.2}, [0.1, 0.3, 0.2, 1.5])],
    "l1-recovery": [({"delta": 0.5}, [0.9]), ({"delta": 0.25, "signal": "nonnegative"}, [0.6]),
                    ({"delta": 0.75, "rho": 0.3}, [1.7]), ({"delta": 1.0}, []), ({"delta": 1.0, "rho": 0.5}, [])],
    "amp": [({"alpha": 0.5, "rho": 0.1, "Delta": 1e-2, "theta": 1.5}, [0.02]),
            ({"alpha": 2.0, "rho": 1.0, "Delta": 0.5, "theta": 1.0}, [0.3]),
            ({"denoiser": "bayes", "alpha": 0.6, "rho": 0.1, "Delta": 1e-3}, [0.03])],
    "bayes-optimal": [({"alpha": 0.6, "rho": 0.1, "Delta": 1e-3}, [0.03]), ({"alpha": 2.0, "rho": 1.0, "Delta": 0.5}, [0.3]),
                      ({"alpha": 0.18, "rho": 0.1, "Delta": 1e-8}, [0.02])],
    "deep-linear": [({"depth": 1, "u0": 0.1}, [0.7]), ({"depth": 2, "s": 2.0}, [0.9]), ({"depth": 3, "s": 0.5}, [1.3]),
                    ({"depth": 5, "s": 1.5, "u0": 0.001}, [0.6])],
    "jepa-vs-mae": [({"objective": "jepa", "depth": 1}, [0.7]), ({"objective": "jepa", "depth": 2, "rho": 1.5}, [1.2]),
                    ({"objective": "jepa", "depth": 4, "lam": 0.3, "eps": 0.01}, [0.9]),
                    ({"objective": "mae", "depth": 1}, [0.8]),
                    ({"objective": "mae", "depth": 3, "rho": 0.7, "eps": 0.05}, [1.1])],
    "intrinsic-dimension": [({"estimator": "pr", "manifold": "gaussian", "d": 3, "D": 10, "noise": 0.3, "samples": 200}, []),
                            ({"estimator": "pr", "manifold": "swiss-roll", "d": 2, "D": 3}, []),
                            ({"estimator": "twonn", "manifold": "sphere", "d": 2, "D": 3}, [1.5]),
                            ({"estimator": "mle", "manifold": "gaussian", "d": 3, "D": 10, "noise": 0.1}, [4.0])],
    "diffusion": [({}, []), ({"data": "mixture", "sampler": "ddpm"}, []),
                  ({"sampler": "flow", "init": "noise", "dim": 5}, []),
                  ({"data": "mixture", "sampler": "flow", "t_clone": 1.2}, []),
                  ({"sampler": "flow-midpoint", "steps": 7}, []),
                  ({"data": "mixture", "sampler": "flow-midpoint"}, []),
                  ({"sampler": "ddpm", "init": "noise"}, []),
                  # general data: a correlated Gaussian, a three-component mixture in two dimensions
                  ({"covariance": "2,0.5;0.5,1", "mean": "1,-1", "sampler": "ddpm"}, []),
                  ({"data": "mixture", "weights": "0.2,0.5,0.3", "means": "1,0;-1,1;0,-1.5",
                    "covariances": "0.1;0.2,0.05;0.3,0.1,0.1,0.2", "sampler": "ddim", "steps": 5}, [])],
    "minnorm": [({"alpha": 0.5}, [0.9]), ({"alpha": 1.5}, [0.2]), ({"alpha": 1.0, "depth": 2}, [0.47]),
                ({"task": "regression", "alpha": 0.3}, [])],
    "spiked-covariance": [({"gamma": 0.5, "beta": 2.0}, [0.3, 0.6]), ({"gamma": 0.5, "beta": 0.3}, [0.4, 0.1]),
                          ({"gamma": 2.0, "beta": 4.0}, [0.6, 0.8])],
}


def test_every_registered_model_has_contract_points():
    assert set(POINTS) == set(MODELS)


def _cases():
    for name, pts in POINTS.items():
        for params, x in pts:
            yield pytest.param(name, params, x, id=f"{name}-{params}")


def _values(model, params, x):
    # an unset optional parameter (unused by the variant) is NaN, as in the solver
    return list(x) + [params[p.name] if params[p.name] is not None else float("nan") for p in model.real_parameters]


@pytest.mark.parametrize("name,params,x", _cases())
def test_equations_are_the_scaled_gradient_of_the_free_energy(name, params, x):
    model = get_model(name)
    params = model.resolve(params)
    model = model.variant(params)
    d = model.derivation(params)
    F = compile_numpy(d.free_energy, d.args)
    scales = compile_numpy(model.equation_scales(d.choices), d.args)
    eqs = d.numpy_residual(*_values(model, params, x))
    sc = scales(*_values(model, params, x))
    for i in range(len(x)):
        step = 1e-5
        up, dn = list(x), list(x)
        up[i] += step
        dn[i] -= step
        fd = (F(*_values(model, params, up)) - F(*_values(model, params, dn))) / (2 * step)
        assert eqs[i] == pytest.approx(sc[i] * fd, rel=1e-7, abs=1e-8)


@pytest.mark.parametrize("name,params,x", _cases())
def test_solver_equations_equal_the_derived_ones(name, params, x):
    # a model's numerically stable rewriting (if any) must equal the derived equations
    model = get_model(name)
    params = model.resolve(params)
    model = model.variant(params)
    d = model.derivation(params)
    derived = compile_numpy(d.derived_equations, d.args)(*_values(model, params, x))
    used = d.numpy_residual(*_values(model, params, x))
    for a, b in zip(used, derived):
        assert a == pytest.approx(b, rel=1e-12, abs=1e-13)


@pytest.mark.parametrize("name,params,x", _cases())
def test_jacobian_is_the_derivative_of_the_equations(name, params, x):
    model = get_model(name)
    params = model.resolve(params)
    model = model.variant(params)
    d = model.derivation(params)
    G, J = d.numpy_system(*_values(model, params, x))
    for j in range(len(x)):
        step = 1e-6
        up, dn = list(x), list(x)
        up[j] += step
        dn[j] -= step
        gu = d.numpy_residual(*_values(model, params, up))
        gd = d.numpy_residual(*_values(model, params, dn))
        for i in range(len(x)):
            assert J[i][j] == pytest.approx((gu[i] - gd[i]) / (2 * step), rel=1e-6, abs=1e-7)


@pytest.mark.parametrize("name,params,x", _cases())
def test_numpy_and_mpmath_backends_agree(name, params, x):
    model = get_model(name)
    params = model.resolve(params)
    model = model.variant(params)
    d = model.derivation(params)
    vals = _values(model, params, x)
    fast = d.numpy_outputs(*vals) + d.numpy_residual(*vals)
    with mpmath.workdps(30):
        ref = d.mpmath_outputs(*vals) + d.mpmath_residual(*vals)
    for a, b in zip(fast, ref):
        assert float(a) == pytest.approx(float(b), rel=1e-11, abs=1e-12)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_known_values_are_reproduced(name):
    model = get_model(name)
    assert model.references, f"{name} declares no known values"
    for ref in model.references:
        value = solve(model, model.resolve(ref.params)).observables[ref.observable]
        assert abs(value - ref.value) <= ref.tol, (ref, value)
        assert ref.source


@pytest.mark.parametrize("name", sorted(MODELS))
def test_model_declares_its_interface(name):
    model = get_model(name)
    described = model.describe()
    assert described["name"] == name and described["parameters"] and described["observables"]
    names = {o["name"] for o in described["observables"]}
    assert set(model.simulated_observables) <= names
    for p in model.parameters:
        assert p.meaning and p.domain_text


def _latex_cases():
    """One case a concrete model (variant) among the contract points."""
    seen = set()
    for name, pts in POINTS.items():
        for params, _ in pts:
            model = get_model(name)
            kind = type(model.variant(model.resolve(params)))
            if kind not in seen:
                seen.add(kind)
                yield pytest.param(name, params, id=f"{name}-{kind.__name__}")


@pytest.mark.latex
@pytest.mark.parametrize("name,params", _latex_cases())
def test_latex_export_compiles(name, params, tmp_path, pdflatex):
    exe = pdflatex
    model = get_model(name)
    params = model.resolve(params)
    model = model.variant(params)
    tex = tmp_path / f"{name}.tex"
    tex.write_text(standalone_document(derivation_latex(model, params), name))
    proc = subprocess.run([exe, "-interaction=nonstopmode", "-halt-on-error", tex.name], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert os.path.getsize(tmp_path / f"{name}.pdf") > 1000
