"""Binary (Ising) perceptron storage: RS and Krauth-Mezard capacities against literature values."""
import math

import pytest

import replica
from replica.errors import ParameterError
from replica.models.ising_perceptron import IsingPerceptron


def _I(k):
    """int_{-k}^oo Dt (k + t)^2 = (1 + k^2) H(-k) + k phi(k) (Gardner 1988, eq. (39))."""
    return (1 + k * k) * 0.5 * math.erfc(-k / math.sqrt(2)) + k * math.exp(-k * k / 2) / math.sqrt(2 * math.pi)


@pytest.mark.parametrize("kappa", [0.0, 0.5, 1.0, -0.5])
def test_rs_capacity(kappa):
    # Gardner & Derrida 1988 (J. Phys. A 21, 271), sec. 4: RS capacity of +-1 weights
    # alpha_c = (2/pi) / I(kappa); 4/pi at kappa = 0
    value = float(replica.solve("ising-perceptron", {"kappa": kappa}).observables["alpha_c"])
    assert value == pytest.approx(2 / (math.pi * _I(kappa)), rel=1e-14)


def test_krauth_mezard_capacity():
    # Krauth & Mezard 1989 (J. Phys. France 50, 3057): the entropy vanishes at alpha = 0.833;
    # Ding & Sun 2019 ("Capacity lower bound for the Ising perceptron", STOC) give 0.833078599
    value = float(replica.solve("ising-perceptron", {"kappa": 0.0, "rsb": "1"}).observables["alpha_c"])
    assert value == pytest.approx(0.833078599, abs=1e-9)


@pytest.mark.parametrize("kappa", [0.0, 0.5, 1.0])
def test_entropy_vanishes_at_the_krauth_mezard_capacity(kappa):
    # two code paths: the zero-entropy Lagrangian (rsb=1), and the RS saddle point at that load
    ac = float(replica.solve("ising-perceptron", {"kappa": kappa, "rsb": "1"}).observables["alpha_c"])
    s = float(replica.solve("ising-perceptron", {"kappa": kappa, "alpha": ac}).observables["entropy"])
    assert abs(s) < 1e-12
    rs = float(replica.solve("ising-perceptron", {"kappa": kappa}).observables["alpha_c"])
    assert ac < rs                       # RS overestimates the capacity


def test_entropy_tends_to_ln2_at_small_load():
    # at alpha -> 0 every one of the 2^N weight vectors is a solution: s -> ln 2 - O(alpha)
    s = float(replica.solve("ising-perceptron", {"kappa": 0.0, "alpha": 1e-6}).observables["entropy"])
    assert s == pytest.approx(math.log(2), abs=1e-5)


@pytest.mark.parametrize("params,needle", [({"rsb": "2"}, "'rsb'"), ({"alpha": 0.0}, "'alpha'"),
                                            ({"kappa": "x"}, "'kappa'")])
def test_bad_input(params, needle):
    with pytest.raises(ParameterError, match=needle):
        IsingPerceptron().resolve(params)
