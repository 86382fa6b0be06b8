"""Array parameters: vectors and matrices of reals (``--set covariance="2,0.5;0.5,1"``).

Parsed by regular expression entry by entry (never evaluated), stored as hashable tuples, part of
the derivation's key (like a categorical choice), never an argument of the compiled functions, and
carried unchanged through the command line, the JSON outputs, the trial cache and the documents."""
from __future__ import annotations

import json
import os

import numpy as np
import pytest

import replica
from replica.cli import main
from replica.errors import ParameterError
from replica.execution import TrialCache, trial_key
from replica.params import Parameter, parse_array

VEC = Parameter("v", "a vector", kind="array", shape="vector", shape_text="dim numbers")
MAT = Parameter("S", "a matrix", kind="array", shape="matrix", shape_text="dim x dim")
ROWS = Parameter("R", "rows", kind="array", shape="rows")
PWNED = "/tmp/replica_array_pwned"


def run(capsys, *argv):
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


@pytest.mark.parametrize("text,expected", [("1,2.5,-3e-2", (1.0, 2.5, -0.03)), (" 4 ", (4.0,)),
                                           ("+.5, 6.", (0.5, 6.0))])
def test_vector_from_text(text, expected):
    assert VEC.parse(text) == expected


def test_matrix_and_rows_from_text_and_python():
    assert MAT.parse("2,0.5;0.5,1") == ((2.0, 0.5), (0.5, 1.0))
    assert MAT.parse([[2, 0.5], [0.5, 1]]) == ((2.0, 0.5), (0.5, 1.0))
    assert MAT.parse(np.array([[2, 0.5], [0.5, 1]])) == ((2.0, 0.5), (0.5, 1.0))
    assert MAT.parse((1, 2)) == ((1.0, 2.0),)                     # a flat sequence is one row
    assert ROWS.parse("1;2,3;4,5,6,7") == ((1.0,), (2.0, 3.0), (4.0, 5.0, 6.0, 7.0))
    assert VEC.parse(np.array([0.3, 0.7])) == (0.3, 0.7)
    value = MAT.parse("1,0;0,1")
    assert hash(value) == hash(((1.0, 0.0), (0.0, 1.0)))          # hashable: keys a derivation
    assert all(type(e) is float for row in value for e in row)


@pytest.mark.parametrize("param,value,fragment", [
    (VEC, "1;2", "has ';' but is a vector"),
    (VEC, "", "empty value"),
    (VEC, "1,,2", "not a decimal number"),
    (VEC, "1,nan", "not a decimal number"),
    (VEC, "1,1e400", "not a finite number"),
    (VEC, "__import__('os')", "not a decimal number"),
    (VEC, [[1, 2]], "not a vector"),
    (VEC, 3.0, "not a vector"),
    (VEC, [1, True], "not a number"),
    (MAT, "1,2;3", "rows of different lengths (2, 1)"),
    (MAT, "1,2;;3,4", "empty row"),
    (MAT, [[1, 2], 3], "mixes numbers and rows"),
    (MAT, [[1, float("inf")]], "not a finite number"),
    (ROWS, [[1], []], "empty row"),
])
def test_bad_arrays_are_parameter_errors_naming_the_parameter(param, value, fragment):
    with pytest.raises(ParameterError) as exc:
        param.parse(value)
    msg = str(exc.value)
    assert repr(param.name) in msg and fragment in msg and "\n" not in msg, msg


def test_domain_text_says_the_shape_and_the_syntax():
    assert "dim x dim" in MAT.domain_text and "';'" in MAT.domain_text
    assert "dim numbers" in VEC.domain_text and "','" in VEC.domain_text
    assert MAT.describe()["kind"] == "array" and MAT.describe()["shape"] == "matrix"
    with pytest.raises(ValueError):
        Parameter("x", "bad", kind="array", shape="tensor")
    with pytest.raises(ValueError):
        Parameter("x", "bad", kind="complex")
    assert parse_array("q", "1,2") == (1.0, 2.0)


def test_array_parameters_key_the_derivation_and_are_not_compiled_arguments():
    model = replica.api.get_model("diffusion")
    names = [p.name for p in model.real_parameters]
    assert "covariance" not in names and "weights" not in names and "sigma0" in names
    a = model.resolve({"covariance": "2,0.5;0.5,1"})
    b = model.resolve({"covariance": "2,0.5;0.5,1.5"})
    assert model.choices(a)["covariance"] == ((2.0, 0.5), (0.5, 1.0))
    assert model.derivation(a) is model.derivation(model.resolve({"covariance": [[2, 0.5], [0.5, 1]]}))
    assert model.derivation(a) is not model.derivation(b)
    # resolve is idempotent on resolved parameters (the tuples parse to themselves)
    assert model.resolve(a) == a


def test_sweeping_an_array_is_refused(capsys):
    with pytest.raises(ParameterError, match="'covariance' is an array.*cannot be swept"):
        replica.sweep("diffusion", {}, "covariance", [1.0, 2.0])
    rc, out, err = run(capsys, "solve", "diffusion", "--sweep", "covariance=1:2:3")
    assert rc == 2 and out == "" and "cannot be swept" in err and len(err.strip().splitlines()) == 1
    # sweeping a real parameter with an array set works, and the array stays fixed
    rc, out, err = run(capsys, "solve", "diffusion", "--set", "covariance=2,0.5;0.5,1", "--sweep", "steps=5:10:2",
                       "--json")
    assert rc == 0, err
    points = json.loads(out)["points"]
    assert [p["params"]["covariance"] for p in points] == [[[2.0, 0.5], [0.5, 1.0]]] * 2


def test_cli_solve_simulate_compare_with_arrays(capsys, tmp_path):
    rc, out, err = run(capsys, "solve", "diffusion", "--set", "covariance=2,0.5;0.5,1", "--set", "mean=1,-1")
    assert rc == 0, err
    assert "covariance=2,0.5;0.5,1" in out and "mean=1,-1" in out          # printed in the --set syntax
    rc, out, err = run(capsys, "solve", "diffusion", "--set", "covariance=2,0.5;0.5,1", "--json")
    d = json.loads(out)
    assert d["params"]["covariance"] == [[2.0, 0.5], [0.5, 1.0]] and d["params"]["weights"] is None
    rc, out, err = run(capsys, "simulate", "diffusion", "--set", "data=mixture", "--set", "weights=0.3,0.7",
                       "--n", "200", "--trials", "2", "--json", "--cache", str(tmp_path))
    assert rc == 0, err
    d = json.loads(out)
    assert d["params"]["weights"] == [0.3, 0.7] and set(d["observables"]) == {"mean", "variance", "kernel_mean"}
    rc, out2, err = run(capsys, "simulate", "diffusion", "--set", "data=mixture", "--set", "weights=0.3,0.7",
                        "--n", "200", "--trials", "2", "--json", "--cache", str(tmp_path))
    assert out2 == out                                                     # from the cache, identical
    rc, out, err = run(capsys, "compare", "diffusion", "--set", "covariance=2,0.5;0.5,1", "--n", "500,1000",
                       "--trials", "4", "--json")
    assert rc == 0, err
    assert json.loads(out)["params"]["covariance"] == [[2.0, 0.5], [0.5, 1.0]]
    rc, out, err = run(capsys, "models", "--json")
    diff = next(m for m in json.loads(out) if m["name"] == "diffusion")
    cov = next(p for p in diff["parameters"] if p["name"] == "covariance")
    assert cov["kind"] == "array" and cov["default"] is None and "positive definite" in cov["domain"]


def test_cli_bad_arrays_are_one_line_errors_and_never_evaluated(capsys):
    if os.path.exists(PWNED):
        os.remove(PWNED)
    for argv, needle in ((["--set", "covariance=1,2;2,1"], "smallest eigenvalue -1"),
                         (["--set", "data=mixture", "--set", "weights=0.5,0.6"], "does not sum to one"),
                         (["--set", f"mean=__import__('os').system('touch {PWNED}'),1"], "not a decimal number")):
        rc, out, err = run(capsys, "solve", "diffusion", *argv)
        assert rc == 2 and out == "" and needle in err and len(err.strip().splitlines()) == 1, err
    assert not os.path.exists(PWNED)


def test_trial_cache_key_holds_every_entry_exactly(tmp_path):
    k1 = trial_key("diffusion", {"covariance": ((2.0, 0.1), (0.1, 1.0))}, 10, 0)
    k2 = trial_key("diffusion", {"covariance": ((2.0, 0.1 + 1e-16 * 2), (0.1, 1.0))}, 10, 0)
    assert k1["params"]["covariance"] == [["2.0", "0.1"], ["0.1", "1.0"]]
    assert k1 != k2
    cache = TrialCache(tmp_path)
    cache.save(k1, {0: {"mean": 0.5}})
    assert cache.load(k1) == {0: {"mean": 0.5}} and cache.load(k2) == {}
    json.dumps(k1)
