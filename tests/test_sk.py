"""SK (replica symmetric) against 40-digit mpmath references, known limits and Monte Carlo."""
import math

import mpmath
import numpy as np
import pytest

import replica

OBS = ["q", "m", "free_energy", "energy", "entropy"]


def test_rs_values_match_mpmath_reference(reference_values):
    for row in reference_values["sk"]["rs"]:
        r = replica.solve("sk", {"T": row["T"], "h": row["h"]})
        for k in OBS:
            assert abs(r.observables[k] - float(row[k])) < 1e-10, (row["T"], row["h"], k)
        assert abs(r.stability["eigenvalue"] - float(row["lambda_AT"])) < 1e-10
        assert r.stability["stable"] == (float(row["lambda_AT"]) > 0)


def test_rs_values_30_digits(reference_values):
    row = [r for r in reference_values["sk"]["rs"] if r["T"] == "0.5" and r["h"] == "0.3"][0]
    r = replica.solve("sk", {"T": row["T"], "h": row["h"]}, dps=35)
    with mpmath.workdps(45):
        for k in OBS:
            assert abs(r.observables[k] - mpmath.mpf(row[k])) < mpmath.mpf(10) ** -30, k


def test_paramagnet_above_tc():
    Ts = np.linspace(1.05, 3.0, 20)
    s = replica.sweep("sk", {"h": 0.0}, "T", Ts)
    assert np.all(np.abs(s.array("q")) < 1e-12)
    assert np.allclose(s.array("free_energy"), -Ts * math.log(2) - 1 / (4 * Ts), atol=1e-12, rtol=0)
    assert np.allclose(s.array("energy"), -1 / (2 * Ts), atol=1e-12, rtol=0)


def test_spin_glass_branch_selected_below_tc():
    r = replica.solve("sk", {"T": 0.5, "h": 0.0})
    assert r.order_parameters["q"] > 0.5       # not the (unstable) paramagnetic q = 0
    assert not r.stability["stable"]           # RS is unstable below the AT line


def test_zero_temperature_limits():
    # T -> 0 (h = 0): energy -> -sqrt(2/pi), entropy -> -1/(2 pi) (SK 1975); at T = 1e-12 the
    # corrections (O(T^2) for the energy, O(T) for the entropy) are below 1e-11
    r = replica.solve("sk", {"T": "1e-12"}, dps=30)
    assert abs(r.observables["energy"] + mpmath.sqrt(2 / mpmath.pi)) < 1e-10
    assert abs(r.observables["entropy"] + 1 / (2 * mpmath.pi)) < 1e-10


def test_low_temperature_float(reference_values):
    for row in reference_values["sk"]["low_T"]:
        r = replica.solve("sk", {"T": row["T"], "h": row["h"]})
        # float loses digits like 1/T at low temperature (measured 1e-13..1e-9 at T = 1e-4)
        tol = max(1e-10, 2e-13 / float(row["T"]))
        for k in ["q", "energy", "free_energy"]:
            assert abs(r.observables[k] - float(row[k])) < tol, (row["T"], k)
        # the entropy uses the stable SpinEntropy kernel: measured 9e-10 at T = 1e-4
        assert abs(r.observables["entropy"] - float(row["entropy"])) < tol, (row["T"], "entropy")


def test_entropy_expression_is_minus_dF_dT():
    # the model writes -dF/dT with a stable kernel; it must equal the derivative everywhere,
    # not only at the saddle point
    from replica.numeric import compile_numpy
    m = replica.get_model("sk")
    d = m.derivation()
    F = compile_numpy(d.free_energy, d.args)
    S = compile_numpy(d.observables["entropy"], d.args)
    for q, T, h in [(0.4, 0.7, 0.3), (0.9, 0.2, 0.0), (0.1, 1.5, 1.0), (0.99, 0.05, 0.2)]:
        step = 1e-6 * T
        fd = -(F(q, T + step, h) - F(q, T - step, h)) / (2 * step)
        assert S(q, T, h) == pytest.approx(fd, rel=1e-7, abs=1e-8)


def test_at_line(reference_values):
    for row in reference_values["sk"]["at_line"]:
        r = replica.solve("sk", {"T": row["T"], "h": row["h"]})
        assert abs(r.stability["eigenvalue"]) < 1e-9
        assert abs(r.order_parameters["q"] - float(row["q"])) < 1e-10


def test_at_line_near_tc_asymptotics():
    # de Almeida & Thouless 1978: h_AT^2 ~ (4/3) (1 - T)^3 as T -> 1
    T = 0.995
    h = math.sqrt(4 / 3 * (1 - T) ** 3)
    lam_below = replica.solve("sk", {"T": T, "h": 0.8 * h}).stability["eigenvalue"]
    lam_above = replica.solve("sk", {"T": T, "h": 1.25 * h}).stability["eigenvalue"]
    assert lam_below < 0 < lam_above


@pytest.mark.slow
@pytest.mark.parametrize("T,h,seed", [(2.0, 0.0, 5), (0.5, 1.0, 6)])
def test_theory_agrees_with_simulation(T, h, seed):
    comp = replica.compare("sk", {"T": T, "h": h}, [8, 12, 16], trials=150, seed=seed)
    for name, o in comp.observables.items():
        assert o.agrees, (name, o.to_dict())


@pytest.mark.parametrize("h", ["0", "0.3", "1", "2.5"])
def test_ground_state_energy_is_the_derived_zero_temperature_limit(h):
    # independent: e0(h) = -int Dz |z + h| by mpmath quadrature (RS, SK 1975)
    with mpmath.workdps(40):
        hh = mpmath.mpf(h)
        ref = -mpmath.quad(lambda z: abs(z + hh) * mpmath.npdf(z), [-mpmath.inf, -hh, mpmath.inf])
    r = replica.solve("sk", {"T": "0.7", "h": h}, dps=35)
    with mpmath.workdps(40):
        assert abs(r.observables["ground_state_energy"] - ref) < mpmath.mpf(10) ** -30
    # the finite-temperature RS energy approaches it (corrections O(T^2))
    low = replica.solve("sk", {"T": 1e-3, "h": float(h)})
    assert abs(low.observables["energy"] - float(ref)) < 1e-5


def test_zero_temperature_limit_is_symbolic():
    m = replica.get_model("sk")
    e0 = m.derivation().limits["ground_state_energy"]
    from replica.symbolic import GaussianAverage
    assert not e0.has(GaussianAverage) and not e0.has(m.parameters[0].symbol)


@pytest.mark.parametrize("T,h", [(0.3, 0.05), (0.8, 0.2), (1.5, 1.0), (0.05, 0.01)])
def test_single_start_in_a_field_is_justified(T, h):
    # the model uses one starting point for h > 0 (Latala-Guerra: a unique RS solution);
    # every interior start must reach the same q (starts at q ~ 0 can stall on the boundary
    # when T < 1: projected Newton, which the model's choice of start avoids)
    from replica.solver import solve_batch
    m = replica.get_model("sk")
    p = m.resolve({"T": T, "h": h})
    one = replica.solve("sk", {"T": T, "h": h})
    grid = [solve_batch(m, [p], starts=np.array([[s]]))[0] for s in [0.3, 0.5, 0.7, 0.9, 0.999]]
    for g in grid:
        assert g["converged"] and abs(g["x"][0] - one.order_parameters["q"]) < 1e-12


def test_sweep_in_a_weak_field_converges_everywhere():
    # one start (q = 0.5) plus continuation must solve a whole curve, including small q near T = 1
    Ts = np.linspace(0.05, 2.0, 60)
    s = replica.sweep("sk", {"h": 0.01}, "T", Ts)
    assert s.converged.all()
    q = s.array("q")
    assert np.all(np.diff(q) < 0)          # q decreases with temperature in a field


def test_h_at_to_many_digits_makes_the_derived_at_eigenvalue_vanish():
    """Found by fuzzing: with --dps, h_AT printed NaN. At 30 digits it now equals the double-precision
    value to 1e-11, and the package's RS solution at (T, h_AT), solved and polished at 30 digits through
    the derived equations, has its derived AT eigenvalue zero to 1e-25 (the definition of the line)."""
    import mpmath
    import replica
    T = "0.5"
    hat = replica.solve("sk", {"T": T, "h": "0.2"}, dps=30).observables["h_AT"]
    assert isinstance(hat, mpmath.mpf)
    assert float(hat) == pytest.approx(replica.solve("sk", {"T": T, "h": "0.2"}).observables["h_AT"], rel=1e-11)
    with mpmath.workdps(30):
        r = replica.solve("sk", {"T": T, "h": mpmath.nstr(hat, 30)}, dps=30)
        assert abs(r.stability["eigenvalue"]) < mpmath.mpf(10) ** -25


@pytest.mark.parametrize("T,h", [(1.5, 0.3), (0.5, 0.3), (0.05, 0.3), (2.0, 0.0), (0.3, 1.0)])
def test_energy_is_f_plus_t_s(T, h):
    """The energy is written as -(1 - q)^2/(2T) - E[(sqrt(q) z + h) tanh(...)], F - T dF/dT with the
    ln 2cosh averages cancelled by hand: equal to free_energy + T entropy where that has no cancellation."""
    import replica
    o = replica.solve("sk", {"T": T, "h": h}).observables
    assert o["energy"] == pytest.approx(o["free_energy"] + T * o["entropy"], rel=1e-12, abs=1e-15)


@pytest.mark.parametrize("T", [1e3, 1e6, 1e9])
def test_high_temperature_energy_keeps_its_digits(T):
    """Found by fuzzing: at T = 1e6, F + T s cancelled two terms of size T ln 2 and printed
    -5.00003807e-7 for the paramagnet's -1/(2T)."""
    import replica
    assert replica.solve("sk", {"T": T, "h": 0.0}).observables["energy"] == pytest.approx(-1 / (2 * T), rel=1e-14)
