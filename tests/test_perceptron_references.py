"""The perceptron family against independent 30-digit references.

``tests/reference/perceptron_values.json`` is written by ``tests/reference/perceptron_reference.py``:
plain mpmath (36 digits, checked against a second run at 44 digits with other quadrature
breakpoints), equations written out from the papers cited in each entry, without importing
``replica``.
"""
import json
import os

import pytest

import replica

with open(os.path.join(os.path.dirname(__file__), "reference", "perceptron_values.json")) as fh:
    REF = {k: v for k, v in json.load(fh).items() if not k.startswith("_")}


def ref(key):
    return float(REF[key]["value"])


def obs(**params):
    return {k: float(v) for k, v in replica.solve(params.pop("model", "teacher-student"), params).observables.items()}


@pytest.mark.parametrize("alpha", ["0.5", "1", "2", "5", "10", "50"])
def test_gibbs_bayes_hebb_learning_curves(alpha):
    a = float(alpha)
    gibbs, bayes, hebb = obs(alpha=a, rule="gibbs"), obs(alpha=a, rule="bayes"), obs(alpha=a, rule="hebb")
    assert gibbs["R"] == pytest.approx(ref(f"gibbs_R_alpha_{alpha}"), abs=1e-11)
    assert gibbs["eps_g"] == pytest.approx(ref(f"gibbs_eps_alpha_{alpha}"), abs=1e-11)
    assert bayes["R"] == pytest.approx(ref(f"bayes_R_alpha_{alpha}"), abs=1e-11)
    assert bayes["eps_g"] == pytest.approx(ref(f"bayes_eps_alpha_{alpha}"), abs=1e-11)
    assert hebb["R"] == pytest.approx(ref(f"hebb_R_alpha_{alpha}"), abs=1e-14)
    assert hebb["eps_g"] == pytest.approx(ref(f"hebb_eps_alpha_{alpha}"), abs=1e-14)


@pytest.mark.parametrize("alpha", ["0.5", "1", "2", "5"])
def test_max_margin(alpha):
    mm = obs(alpha=float(alpha), rule="max-margin")
    assert mm["R"] == pytest.approx(ref(f"svm_R_alpha_{alpha}"), abs=1e-10)
    assert mm["kappa"] == pytest.approx(ref(f"svm_kappa_alpha_{alpha}"), abs=1e-10)
    assert mm["eps_g"] == pytest.approx(ref(f"svm_eps_alpha_{alpha}"), abs=1e-10)


@pytest.mark.parametrize("rule,key", [("gibbs", "gibbs_asymptotic_c"), ("bayes", "bayes_asymptotic_c"),
                                      ("max-margin", "svm_asymptotic_c")])
def test_large_alpha_coefficients(rule, key):
    # alpha eps_g -> c with corrections O(1/alpha): at alpha = 300 within 2e-3 of the exact c
    # (0.62466, 0.44170, 0.50049), and the corrections shrink between alpha = 100 and 300
    e100 = 100 * obs(alpha=100.0, rule=rule)["eps_g"]
    e300 = 300 * obs(alpha=300.0, rule=rule)["eps_g"]
    c = ref(key)
    assert abs(e300 - c) < 2e-3 and abs(e300 - c) < abs(e100 - c)


@pytest.mark.parametrize("alpha", ["1", "2", "2.5", "2.8", "2.95"])
def test_noisy_gibbs_student_with_label_flips(alpha):
    g = obs(alpha=float(alpha), rule="gibbs", flip=0.1)
    assert g["q"] == pytest.approx(ref(f"noisy_gibbs_q_p0.1_alpha_{alpha}"), abs=1e-9)
    assert g["R"] == pytest.approx(ref(f"noisy_gibbs_R_p0.1_alpha_{alpha}"), abs=1e-9)
    assert g["eps_g"] == pytest.approx(ref(f"noisy_gibbs_eps_rule_p0.1_alpha_{alpha}"), abs=1e-9)
    assert g["eps_g_labels"] == pytest.approx(ref(f"noisy_gibbs_eps_label_p0.1_alpha_{alpha}"), abs=1e-9)
    b = obs(alpha=float(alpha), rule="bayes", flip=0.1)
    assert b["eps_g"] == pytest.approx(ref(f"noisy_bayes_eps_rule_p0.1_alpha_{alpha}"), abs=1e-9)


def test_noisy_gibbs_over_fits():
    # zero-temperature Gibbs learning of flipped labels: eps_g is lowest near alpha = 2.806 and then
    # rises until version space vanishes at alpha_c = 2.992 (over-fitting), while Bayes keeps improving
    e = {a: obs(alpha=a, rule="gibbs", flip=0.1)["eps_g"] for a in (2.5, 2.8, 2.95)}
    assert e[2.8] < e[2.5] and e[2.8] < e[2.95]
    bayes = [obs(alpha=a, rule="bayes", flip=0.1)["eps_g"] for a in (2.5, 2.8, 2.95)]
    assert bayes[0] > bayes[1] > bayes[2]
    # at the noisy capacity the max-margin student's margin reaches 0
    kappa = obs(alpha=ref("noisy_gibbs_alpha_c_p0.1") - 1e-4, rule="max-margin", flip=0.1)["kappa"]
    assert 0 < kappa < 1e-3


@pytest.mark.parametrize("kappa", ["0", "0.5", "1"])
def test_ising_capacities(kappa):
    k = float(kappa)
    rs = obs(model="ising-perceptron", kappa=k)["alpha_c"]
    km = obs(model="ising-perceptron", kappa=k, rsb="1")
    assert rs == pytest.approx(ref(f"ising_rs_alpha_c_kappa_{kappa}"), abs=1e-11)
    assert km["alpha_c"] == pytest.approx(ref(f"ising_km_alpha_c_kappa_{kappa}"), abs=1e-10)
    assert km["q"] == pytest.approx(ref(f"ising_km_q_kappa_{kappa}"), abs=1e-9)
    assert km["qhat"] == pytest.approx(ref(f"ising_km_qhat_kappa_{kappa}"), rel=1e-9)
