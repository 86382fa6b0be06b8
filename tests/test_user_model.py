"""A user's own model loaded from a file: docs/examples/my_model.py:CurieWeiss.

The model is written only against the public contract; these tests load it
through ``replica.get_model("path.py:Class")`` and through the command line,
and check its physics against an independent root of the mean-field equation
m = tanh((m + h)/T) (scipy brentq / mpmath findroot, computed here).
"""
from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import mpmath
import numpy as np
import pytest
from scipy import optimize

import replica

ROOT = Path(__file__).resolve().parents[1]
MODEL_FILE = ROOT / "docs" / "examples" / "my_model.py"
SPEC = f"{MODEL_FILE}:CurieWeiss"
RELATIVE_SPEC = "docs/examples/my_model.py:CurieWeiss"


from cli_helpers import run, run_json  # noqa: E402  (tests/ is on sys.path under pytest)


def start(*argv):
    return subprocess.Popen([sys.executable, "-m", "replica", *argv], cwd=ROOT,
                            env=dict(os.environ, OMP_NUM_THREADS="1"),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(proc, timeout=120):
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out, err


def magnetisation(T, h):
    """The largest root of m = tanh((m + h)/T) in [0, 1] (the stable branch for h >= 0)."""
    g = lambda m: m - math.tanh((m + h) / T)  # noqa: E731
    lo = 0.0 if h > 0 else 1e-7
    if g(lo) >= 0:                            # h = 0, T >= 1: only the paramagnet
        return 0.0
    return optimize.brentq(g, lo, 1.0, xtol=1e-16, rtol=4 * np.finfo(float).eps)


def mf_free_energy(m, T, h):
    return m * m / 2 - T * (abs((m + h) / T) + math.log1p(math.exp(-2 * abs((m + h) / T))))


def assert_one_line_error(rc, err, *needles):
    assert rc == 2, f"exit status {rc!r}; stderr {err!r}"
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("replica: error: "), lines
    for n in needles:
        assert n in lines[0], (n, lines[0])


# ---------------------------------------------------------------------------
# loading
# ---------------------------------------------------------------------------
def test_model_file_uses_only_the_public_contract():
    source = MODEL_FILE.read_text()
    imports = [ln.strip() for ln in source.splitlines() if ln.startswith(("import ", "from "))]
    for ln in imports:
        module = ln.split()[1]
        assert module in {"__future__", "math", "numpy", "sympy", "replica", "replica.symbolic"}, ln


def test_get_model_by_path():
    model = replica.get_model(SPEC)
    assert isinstance(model, replica.Model)
    assert type(model).__name__ == "CurieWeiss"
    assert model.name == "curie_weiss"
    assert [p.name for p in model.parameters] == ["T", "h", "J"]
    assert [o.name for o in model.order_parameters] == ["m"]
    assert model.select == "min"


def test_get_model_by_path_relative_to_repo_root(monkeypatch):
    monkeypatch.chdir(ROOT)
    assert type(replica.get_model(RELATIVE_SPEC)).__name__ == "CurieWeiss"


# ---------------------------------------------------------------------------
# physics through the Python API
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("T, h", [(0.5, 0.0), (0.5, 0.3), (0.9, 0.0), (1.5, 0.2), (3.0, 1.0)])
def test_magnetisation_solves_mean_field_equation(T, h):
    model = replica.get_model(SPEC)
    r = replica.solve(model, {"T": T, "h": h})
    assert r.converged
    m = float(r.order_parameters["m"])
    assert abs(m - math.tanh((m + h) / T)) < 1e-12
    assert m == pytest.approx(magnetisation(T, h), abs=1e-12)
    # observables: e = -m^2/2 - h m, f = m^2/2 - T ln 2cosh((m+h)/T), s = (e - f)/T
    e, f = float(r.observables["energy"]), float(r.observables["free_energy"])
    assert e == pytest.approx(-m * m / 2 - h * m, abs=1e-12)
    assert f == pytest.approx(mf_free_energy(m, T, h), abs=1e-12)
    assert float(r.observables["entropy"]) == pytest.approx((e - f) / T, abs=1e-12)
    assert r.stability["stable"] is True


def test_ordered_phase_selects_the_minimum():
    """Below T_c at h = 0, m = 0 also solves the equation but is a maximum of f: it must not be chosen."""
    r = replica.solve(replica.get_model(SPEC), {"T": 0.5, "h": 0.0})
    m = float(r.order_parameters["m"])
    assert m > 0.9
    assert float(r.free_energy) < mf_free_energy(0.0, 0.5, 0.0) - 0.05


def test_paramagnet_above_critical_temperature():
    sw = replica.sweep(replica.get_model(SPEC), {"h": 0.0}, "T", np.linspace(1.05, 4.0, 8))
    assert sw.converged.all()
    assert np.all(np.abs(sw.array("m")) < 1e-12)
    assert sw.array("free_energy") == pytest.approx(-np.linspace(1.05, 4.0, 8) * math.log(2), abs=1e-12)


# ---------------------------------------------------------------------------
# the command line
# ---------------------------------------------------------------------------
def test_cli_solve(capsys):
    d = run_json(capsys, "solve", SPEC, "--set", "T=0.5", "--json")
    assert d["model"] == "curie_weiss" and d["converged"] is True
    m = d["order_parameters"]["m"]
    assert abs(m - math.tanh(m / 0.5)) < 1e-12
    assert m == pytest.approx(magnetisation(0.5, 0.0), abs=1e-12)
    assert d["observables"]["m"] == m


def test_cli_sweep_paramagnet(capsys):
    d = run_json(capsys, "solve", SPEC, "--sweep", "T=1.1:3:5", "--json")
    assert len(d["points"]) == 5
    for p in d["points"]:
        assert p["converged"] is True and abs(p["order_parameters"]["m"]) < 1e-12


def test_cli_high_precision(capsys):
    """--dps 30: the order parameter and the observable carry 30 correct digits."""
    d = run_json(capsys, "solve", SPEC, "--set", "T=0.5", "--set", "h=0.25", "--dps", "30", "--json")
    with mpmath.workdps(40):
        exact = mpmath.findroot(lambda m: m - mpmath.tanh((m + mpmath.mpf("0.25")) / mpmath.mpf("0.5")),
                                mpmath.mpf("0.98"))
        for where in ("order_parameters", "observables"):
            err = abs(mpmath.mpf(d[where]["m"]) - exact)
            assert err < mpmath.mpf("1e-27"), f"{where}: |m - exact| = {mpmath.nstr(err, 3)}"


def test_cli_derive(capsys):
    rc, out, err = run(capsys, "derive", SPEC)
    assert rc == 0 and err == ""
    assert "0 = m - tanh((J*m + h)/T)" in out


def test_cli_bad_parameter(capsys):
    rc, out, err = run(capsys, "solve", SPEC, "--set", "h=-1")
    assert_one_line_error(rc, err, "'h'")


def test_cli_missing_file_and_class(capsys):
    rc, out, err = run(capsys, "solve", "docs/examples/no_such_model.py:CurieWeiss", "--set", "T=0.5")
    assert_one_line_error(rc, err, "no_such_model.py")
    rc, out, err = run(capsys, "solve", f"{MODEL_FILE}:NoSuchClass", "--set", "T=0.5")
    assert_one_line_error(rc, err, "NoSuchClass")
    rc, out, err = run(capsys, "solve", f"{MODEL_FILE}:math")      # a name in the file, not a Model
    assert_one_line_error(rc, err, "'math'")


def test_cli_subprocess():
    """``python -m replica`` with a model file (path relative to the repo root): exit status and stderr."""
    good = start("solve", RELATIVE_SPEC, "--set", "T=0.5", "--json")
    missing = start("solve", "docs/examples/no_such_model.py:CurieWeiss")
    rc, out, err = finish(good)
    assert rc == 0, err
    assert err == ""
    assert json.loads(out)["order_parameters"]["m"] == pytest.approx(magnetisation(0.5, 0.0), abs=1e-12)
    rc, out, err = finish(missing)
    assert_one_line_error(rc, err, "no_such_model.py")


# ---------------------------------------------------------------------------
# simulation of a user's model
# ---------------------------------------------------------------------------
def test_compare_with_exact_finite_size_reference(capsys):
    d = run_json(capsys, "compare", SPEC, "--set", "T=2", "--set", "h=0.5", "--n", "50,100,200",
                 "--trials", "200", "--seed", "1", "--json")
    o = d["observables"]["m"]
    assert o["theory"] == pytest.approx(magnetisation(2.0, 0.5), abs=1e-12)
    assert o["agrees"] is True
    refs = o["finite_n_reference"]
    assert set(refs) == {"50", "100", "200"}
    for p in o["per_n"]:
        assert abs(p["mean"] - refs[str(p["n"])]) < 4 * p["stderr"]
    # exact finite-N means approach the theory from below like 1/N
    gaps = [o["theory"] - refs[k] for k in ("50", "100", "200")]
    assert all(g > 0 for g in gaps) and gaps[0] / gaps[1] == pytest.approx(2, rel=0.05)


def test_simulate_with_workers(capsys):
    """Worker processes must be able to run a model loaded from a file (same numbers as one worker)."""
    argv = ("simulate", SPEC, "--set", "T=2", "--set", "h=0.5", "--n", "40", "--trials", "8", "--seed", "5",
            "--json")
    one = run_json(capsys, *argv, "--workers", "1")
    two = run_json(capsys, *argv, "--workers", "2")
    assert one["observables"] == two["observables"]
