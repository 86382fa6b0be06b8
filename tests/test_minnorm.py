"""Minnorm training (Bansal, Advani, Cox & Saxe 2018, arXiv:1806.00730): the paper's analysable claims
checked against references computed independently of the training (a QP, the pseudo-inverse, Gardner's
replica theory), at reduced sizes with fixed seeds.

(1) shallow classifier: minnorm reaches the max-margin hyperplane (QP) far faster than gradient descent on
    the logistic loss, its positive multipliers are the QP's support vectors, and the typical margin on
    random data is Gardner's kappa with alpha_c(kappa) = alpha;
(2) linear chain: minnorm reaches the minimum-norm solution (pseudo-inverse, balanced layers) far faster
    than L2 regularisation at any strength;
(3) deep linear network: minnorm's generalisation is that of the pseudo-inverse whatever the initial
    weight scale, plain gradient descent's is not.
"""
import math

import mpmath
import numpy as np
import pytest

import replica
from replica import minnorm as mn
from replica.errors import ParameterError
from replica.models.minnorm import Minnorm
from replica.numeric import compile_numpy


@pytest.fixture(scope="module")
def classification_instance():
    rng = np.random.default_rng(1)
    X, y = mn.random_classification(40, 40, rng)
    w_hat, kappa, support = mn.max_margin(X, y)
    return X, y, w_hat, kappa, support


# ------------------------------------------------------------------------------------------------
# (1) max margin
# ------------------------------------------------------------------------------------------------
def test_max_margin_qp_satisfies_kkt(classification_instance):
    X, y, w_hat, kappa, support = classification_instance
    Z = y[:, None] * X
    w = w_hat / kappa                                   # the min-norm weights with every field >= 1
    assert np.min(Z @ w) == pytest.approx(1.0, abs=1e-9)
    a = np.linalg.solve(Z[support] @ Z[support].T, np.ones(len(support)))
    assert np.all(a > 0)                                # dual feasibility on the support
    np.testing.assert_allclose(Z[support].T @ a, w, atol=1e-8)    # stationarity: w = sum a_mu z_mu


def test_minnorm_reaches_max_margin_faster_than_gradient_descent(classification_instance):
    X, y, _, kappa, _ = classification_instance
    T = 2000
    rec = lambda layers, lam: mn.normalized_margin(mn.end_to_end(layers), X, y)   # noqa: E731
    _, _, h_mn = mn.minnorm_train(X, y, "classification", 1, lr=0.2, steps=T, init=0.5,
                                  rng=np.random.default_rng(2), record=rec)
    _, h_gd = mn.gd_train(X, y, "classification", 1, lr=0.5, steps=4 * T, init=0.5,
                          rng=np.random.default_rng(2), record=rec)
    gap_mn = kappa - np.array(h_mn)
    gap_gd = kappa - np.array(h_gd)
    assert abs(gap_mn[-1]) < 1e-6                      # minnorm: at the QP margin
    assert np.all(gap_gd >= -1e-12)                    # nothing beats the max margin
    assert gap_gd[-1] > 0.02                           # GD with 4x the steps is still far from it
    first_mn = int(np.argmax(np.abs(gap_mn) < 1e-3))
    assert first_mn < T // 4 and np.min(gap_gd) > 1e-3  # minnorm within 1e-3 early; GD never


def test_positive_multipliers_are_the_support_vectors(classification_instance):
    X, y, _, kappa, support = classification_instance
    layers, lam, _ = mn.minnorm_train(X, y, "classification", 1, lr=0.2, steps=2000, init=0.5,
                                      rng=np.random.default_rng(3))
    assert set(np.flatnonzero(lam > 1e-6)) == set(support)
    assert 0 < len(support) < len(y)


def test_deep_linear_classifier_reaches_max_margin():
    rng = np.random.default_rng(3)
    X, y = mn.random_classification(40, 20, rng)
    _, kappa, support = mn.max_margin(X, y)
    layers, lam, _ = mn.minnorm_train(X, y, "classification", 2, lr=0.02, steps=8000, init=0.5,
                                      rng=np.random.default_rng(1))
    assert mn.normalized_margin(mn.end_to_end(layers), X, y) == pytest.approx(kappa, abs=1e-8)
    assert set(np.flatnonzero(lam > 1e-6)) == set(support)


@pytest.mark.parametrize("alpha", [0.3, 1.0, 1.7])
def test_theory_margin_is_where_gardner_capacity_equals_the_load(alpha):
    kappa = replica.solve(Minnorm(), {"alpha": alpha}).observables["margin"]
    assert replica.solve("gardner", {"kappa": kappa}).observables["alpha_c"] == pytest.approx(alpha, rel=1e-10)
    assert kappa == pytest.approx(mn.gardner_margin(alpha), abs=1e-10)
    assert replica.solve(Minnorm(), {"alpha": alpha}).observables["min_norm"] == pytest.approx(kappa**-2, rel=1e-12)


def test_typical_trained_margin_agrees_with_gardner_theory():
    c = replica.compare(Minnorm(), {"alpha": 0.5, "t": 2000.0, "lr": 0.2}, [20, 40, 80], trials=30, seed=1)
    oc = c.observables["margin"]
    assert c.agrees, str(c)
    assert oc.extrapolated_stderr < 0.05             # informative: theory ~ 1.034
    # a wrong load would be detected: the theory at alpha = 0.7 is ~0.25 away
    wrong = replica.solve(Minnorm(), {"alpha": 0.7}).observables["margin"]
    assert abs(oc.extrapolated - wrong) > 3 * oc.extrapolated_stderr


def test_simulated_margin_is_the_qp_margin_per_instance():
    from replica.simulation import trial_rng
    from replica.simulators.minnorm import instance
    m = Minnorm()
    params = m.resolve({"alpha": 0.5, "t": 2000.0, "lr": 0.2})
    for trial in range(3):
        got = m.simulate_trial(params, 40, trial_rng(5, 40, trial))["margin"]
        X, y, _ = instance(params, 40, trial_rng(5, 40, trial))
        assert got == pytest.approx(mn.max_margin(X, y)[1], abs=1e-8)


# ------------------------------------------------------------------------------------------------
# (2) linear chain: min norm, minnorm vs L2 regularisation
# ------------------------------------------------------------------------------------------------
def test_linear_chain_reaches_min_norm_faster_than_l2():
    rng = np.random.default_rng(2)
    n, p, depth, T, lr = 40, 10, 3, 6000, 0.01
    X, y, _ = mn.teacher_regression(n, p, rng)
    v = mn.min_norm_solution(X, y)
    target, minimum = mn.chain_min_norm(v, depth)
    assert np.allclose(X @ v / math.sqrt(n), y)
    # unbalanced start: a small first layer, large scalar layers
    start = [rng.standard_normal((1, n)) * 0.3 / math.sqrt(n)] + [np.array([[1.5]])] * (depth - 1)
    layers, _, _ = mn.minnorm_train(X, y, "regression", layers=start, lr=lr, steps=T)
    d_mn = mn.chain_distance(layers, target)
    assert d_mn < 1e-8
    assert sum(np.sum(W**2) for W in layers) == pytest.approx(minimum, rel=1e-9)
    d_l2 = {}
    for beta in (0.3, 0.1, 0.03, 0.01, 0.003, 0.0):
        layers, _ = mn.gd_train(X, y, "regression", layers=start, lr=lr, steps=T, beta=beta)
        d_l2[beta] = mn.chain_distance(layers, target)
    assert min(d_l2.values()) > 1e4 * d_mn, d_l2       # no L2 strength gets close in the same time
    assert min(d_l2.values()) > 0.01, d_l2


def test_min_norm_factorisation_is_minimal():
    rng = np.random.default_rng(4)
    v = rng.standard_normal(6)
    layers, minimum = mn.chain_min_norm(v, 3)
    assert np.allclose(mn.end_to_end(layers), v)
    for _ in range(50):        # any other factorisation has a larger norm
        a, b = np.exp(rng.normal(size=2))
        other = [v[None, :] / (a * b), np.array([[a]]), np.array([[b]])]
        assert sum(np.sum(W**2) for W in other) >= minimum - 1e-12


# ------------------------------------------------------------------------------------------------
# (3) deep linear network: generalisation independent of the initialisation
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("depth,scales", [(2, (0.1, 1.0, 2.0)), (3, (0.3, 1.0, 2.0))])
def test_deep_linear_generalisation_is_initialisation_independent(depth, scales):
    rng = np.random.default_rng(2)
    X, y, teacher = mn.teacher_regression(40, 10, rng)
    eps_pinv = mn.generalization_error(mn.min_norm_solution(X, y), teacher)
    eps_mn, eps_gd = [], []
    for scale in scales:
        kw = dict(depth=depth, init=scale, lr=0.01, steps=6000)
        layers, _, _ = mn.minnorm_train(X, y, "regression", rng=np.random.default_rng(5), **kw)
        eps_mn.append(mn.generalization_error(mn.end_to_end(layers), teacher))
        layers, _ = mn.gd_train(X, y, "regression", rng=np.random.default_rng(5), **kw)
        assert np.allclose(X @ mn.end_to_end(layers) / math.sqrt(40), y, atol=1e-6)   # GD fits the data too
        eps_gd.append(mn.generalization_error(mn.end_to_end(layers), teacher))
    np.testing.assert_allclose(eps_mn, eps_pinv, atol=1e-9)
    assert max(eps_gd) - min(eps_gd) > 0.2, eps_gd
    assert max(eps_gd) > eps_pinv + 0.2


def test_regression_generalisation_agrees_with_theory():
    c = replica.compare(Minnorm(), {"task": "regression", "alpha": 0.5, "depth": 2, "lr": 0.02, "t": 3000.0,
                                    "init": 1.0}, [20, 40], trials=10, seed=1)
    assert c.agrees, str(c)
    assert c.observables["eps_g"].theory == 0.5


# ------------------------------------------------------------------------------------------------
# the model on the contract, and bad input
# ------------------------------------------------------------------------------------------------
def test_references_and_interface():
    m = Minnorm()
    for ref in m.references:
        assert abs(replica.solve(m, ref.params).observables[ref.observable] - ref.value) <= ref.tol
    d = m.describe()
    assert d["name"] == "minnorm" and set(m.simulated_observables) <= {o["name"] for o in d["observables"]}


@pytest.mark.parametrize("params,x", [({"alpha": 0.5}, [0.9]), ({"alpha": 1.5}, [0.2])])
def test_equation_is_scaled_gradient_and_backends_agree(params, x):
    m = Minnorm()
    params = m.resolve(params)
    m = m.variant(params)
    d = m.derivation(params)
    vals = lambda k: [k] + [params[p.name] for p in m.real_parameters]    # noqa: E731
    F = compile_numpy(d.free_energy, d.args)
    fd = (F(*vals(x[0] + 1e-5)) - F(*vals(x[0] - 1e-5))) / 2e-5
    assert d.numpy_residual(*vals(x[0]))[0] == pytest.approx(params["alpha"] * fd, rel=1e-7)
    with mpmath.workdps(30):
        ref = d.mpmath_outputs(*vals(x[0])) + d.mpmath_residual(*vals(x[0]))
    for a, b in zip(d.numpy_outputs(*vals(x[0])) + d.numpy_residual(*vals(x[0])), ref):
        assert float(a) == pytest.approx(float(b), rel=1e-11, abs=1e-12)


@pytest.mark.parametrize("given,name", [({"lr": 0.0}, "lr"), ({"lr": -0.1}, "lr"), ({"depth": 0}, "depth"),
                                        ({"alpha": 2.5}, "alpha"),
                                        ({"task": "regression", "alpha": 1.0}, "alpha")])
def test_model_rejects_bad_parameters(given, name):
    with pytest.raises(ParameterError, match=rf"'{name}'.*allowed"):
        Minnorm().resolve(given)


def test_library_rejects_bad_input():
    X, y = mn.random_classification(5, 3, np.random.default_rng(0))
    for kw, text in (({"lr": 0.0}, r"'lr'=0\.0 is out of range; allowed \(0, inf\)"),
                     ({"lr": -1.0}, r"'lr'=-1\.0 is out of range"),
                     ({"depth": 0}, r"'depth'=0 is out of range; allowed \[1, 8\]"),
                     ({"lr_dual": 0.0}, r"'lr_dual'=0\.0"), ({"task": "ranking"}, r"'task'")):
        with pytest.raises(ParameterError, match=text):
            mn.minnorm_train(X, y, **{"task": "classification", **kw})
    with pytest.raises(ParameterError, match=r"'beta'=-1"):
        mn.gd_train(X, y, beta=-1.0)
    with pytest.raises(ParameterError, match=r"'alpha'=2"):
        mn.gardner_margin(2.0)
