"""The ``replica`` command line, end to end.

Most tests call :func:`replica.cli.main` in-process (fast: the compiled
derivations are cached between calls) and read stdout/stderr with ``capsys``;
a few run ``python -m replica`` in a subprocess to check the real exit status
and that stderr holds no traceback. Expected numbers are computed here
independently (mpmath closed forms, scipy quadrature and root finding), never
taken from the package.
"""
from __future__ import annotations

import csv
import io
import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import mpmath
import numpy as np
import pytest
import sympy
from scipy import integrate, optimize, special


ROOT = Path(__file__).resolve().parents[1]
PWNED = "/tmp/replica_pwned"


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------
from cli_helpers import run, run_json  # noqa: E402  (tests/ is on sys.path under pytest)


def assert_user_error(rc, err, *needles):
    """Exit status 2 and exactly one stderr line ``replica: error: ...`` naming every needle."""
    assert rc == 2, f"exit status {rc!r}, expected 2; stderr: {err!r}"
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got {lines!r}"
    assert lines[0].startswith("replica: error: "), lines[0]
    for needle in needles:
        assert needle in lines[0], f"{needle!r} not named in {lines[0]!r}"


def start(*argv):
    """``python -m replica argv...`` in a subprocess (started, not waited for)."""
    env = dict(os.environ, OMP_NUM_THREADS="1")
    return subprocess.Popen([sys.executable, "-m", "replica", *argv], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(proc, timeout=120):
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out, err


def gaussian_average(f):
    """int Dz f(z) by adaptive quadrature (independent of the package's quadrature)."""
    value, _ = integrate.quad(lambda z: math.exp(-z * z / 2) / math.sqrt(2 * math.pi) * f(z),
                              -np.inf, np.inf, epsabs=1e-14, epsrel=1e-13, limit=200)
    return value


def gardner_capacity(kappa, dps=30):
    """Gardner (1988): alpha_c = 1 / [(1 + k^2) H(-k) + k phi(k)], H(-k) = Phi(k)."""
    with mpmath.workdps(dps):
        k = mpmath.mpf(kappa)
        return 1 / ((1 + k**2) * mpmath.ncdf(k) + k * mpmath.npdf(k))


def gardner_q(alpha, kappa=0.0):
    """RS overlap below capacity: q/(1-q) = alpha int Dt g(u)^2, u = (kappa + sqrt(q) t)/sqrt(1-q),
    g = phi/H (stationarity of s(q), the t-term integrated by parts; Gardner 1988)."""
    def g(u):
        return math.sqrt(2 / math.pi) / special.erfcx(u / math.sqrt(2))

    def eq(q):
        s = math.sqrt(q / (1 - q))
        return q / (1 - q) - alpha * gaussian_average(lambda t: g(kappa / math.sqrt(1 - q) + s * t) ** 2)

    return optimize.brentq(eq, 1e-6, 1 - 1e-6, xtol=1e-15, rtol=1e-14)


def sk_q_equation(q, T, h):
    """q - int Dz tanh^2((sqrt(q) z + h)/T): zero at the RS saddle point (SK 1975)."""
    return q - gaussian_average(lambda z: math.tanh((math.sqrt(q) * z + h) / T) ** 2)


def sk_lambda_at(q, T, h):
    """de Almeida-Thouless eigenvalue 1 - beta^2 int Dz sech^4(beta (sqrt(q) z + h))."""
    return 1 - gaussian_average(lambda z: (1 - math.tanh((math.sqrt(q) * z + h) / T) ** 2) ** 2) / T**2


# ---------------------------------------------------------------------------
# models
# ---------------------------------------------------------------------------
EXPECTED_PARAMETERS = {
    "gardner": {"kappa": ("(-inf, inf)", 0.0), "alpha": ("(0, inf)", None)},
    "sk": {"T": ("(0, inf)", 1.0), "h": ("[0, inf)", 0.0), "rsb": ("one of 0, 1, full", "0")},
}
EXPECTED_OBSERVABLES = {
    "gardner": {"alpha_c", "q"},
    "sk": {"q", "m", "energy", "entropy", "free_energy", "ground_state_energy", "h_AT", "q0", "q1", "x",
           "discretisation_error", "ground_state_error", "k"},
}


def _model_blocks(text):
    """Split `replica models` text into {name: lines of its block}."""
    blocks, current = {}, None
    for line in text.splitlines():
        m = re.match(r"^([\w.-]+): ", line)
        if m:
            current = m.group(1)
            blocks[current] = []
        elif current is not None and line.strip():
            blocks[current].append(line)
    return blocks


def test_models_text(capsys):
    rc, out, err = run(capsys, "models")
    assert rc == 0 and err == ""
    blocks = _model_blocks(out)
    assert set(EXPECTED_PARAMETERS) <= set(blocks)
    for name, params in EXPECTED_PARAMETERS.items():
        lines = blocks[name]
        i_par = lines.index("  parameters:")
        i_obs = lines.index("  observables:")
        assert i_par < i_obs
        par_lines = lines[i_par + 1:i_obs]
        assert len(par_lines) == len(params)
        for pname, (domain, default) in params.items():
            [line] = [ln for ln in par_lines if ln.split()[0] == pname]
            assert f"domain {domain}" in line
            assert line.rstrip().endswith("default unset" if default is None else f"default {default}")
            meaning = line.split(None, 1)[1].split("; domain")[0].strip()
            assert len(meaning) > 3, line
        obs_names = {ln.split()[0] for ln in lines[i_obs + 1:]}
        assert obs_names == EXPECTED_OBSERVABLES[name]


def test_models_json(capsys):
    models = {m["name"]: m for m in run_json(capsys, "models", "--json")}
    assert set(EXPECTED_PARAMETERS) <= set(models)
    for m in models.values():                  # every model, not only the two known ones
        assert m["parameters"], m["name"]
        for p in m["parameters"]:
            assert {"name", "meaning", "domain", "default"} <= set(p), p
            assert isinstance(p["meaning"], str) and p["meaning"].strip()
            assert isinstance(p["domain"], str) and p["domain"].strip()
        for o in m["observables"]:
            assert o["meaning"].strip()
    for name, params in EXPECTED_PARAMETERS.items():
        got = {p["name"]: (p["domain"], p["default"]) for p in models[name]["parameters"]}
        assert got == params
        assert {o["name"] for o in models[name]["observables"]} == EXPECTED_OBSERVABLES[name]


# ---------------------------------------------------------------------------
# derive
# ---------------------------------------------------------------------------
def test_derive_gardner_text(capsys):
    rc, out, err = run(capsys, "derive", "gardner")
    assert rc == 0 and err == ""
    for heading in ("Free energy:", "Saddle-point equations:", "Limits:", "Stability:"):
        assert heading in out
    assert "LnH(" in out and "int Dt" in out
    # the derived capacity, read back as an expression, is Gardner's closed form
    [line] = [ln for ln in out.splitlines() if ln.strip().startswith("alpha_c = ")]
    rhs = line.split("=", 1)[1].split("    [")[0]
    assert "H(" in rhs
    x = sympy.Symbol("x")
    kappa = sympy.Symbol("kappa")
    expr = sympy.sympify(rhs, locals={"H": sympy.Lambda(x, sympy.erfc(x / sympy.sqrt(2)) / 2),
                                      "kappa": kappa})
    for k in (-0.5, 0.0, 0.5, 2.0):
        assert float(expr.subs(kappa, k).evalf(30)) == pytest.approx(float(gardner_capacity(k)), rel=1e-14)


def test_derive_sk_latex(capsys):
    rc, out, err = run(capsys, "derive", "sk", "--latex")
    assert rc == 0 and err == ""
    assert r"\documentclass" not in out               # a fragment, not a document
    assert out.count(r"\begin{dmath*}") == out.count(r"\end{dmath*}") >= 4
    assert out.count(r"\left") == out.count(r"\right")
    assert out.count("{") == out.count("}")
    assert r"\int Dz" in out
    assert r"\ln 2\cosh" in out
    assert r"\tanh^{2}" in out                        # q = int Dz tanh^2(...)
    assert r"\lambda_{AT}" in out
    assert "LogTwoCosh" not in out and "GaussianAverage" not in out


def test_derive_gardner_writes_standalone_document(capsys, tmp_path):
    target = tmp_path / "gardner.tex"
    rc, out, err = run(capsys, "derive", "gardner", "-o", str(target))
    assert rc == 0 and err == ""
    assert str(target) in out
    tex = target.read_text()
    assert tex.lstrip().startswith(r"\documentclass")
    assert tex.index(r"\begin{document}") < tex.index(r"\end{document}")
    assert tex.rstrip().endswith(r"\end{document}")
    assert re.search(r"H\\left\(|H\(", tex)
    assert r"\alpha_{c}" in tex or "alpha_c" in tex
    assert tex.count("{") == tex.count("}")


# ---------------------------------------------------------------------------
# solve: single points
# ---------------------------------------------------------------------------
REQUIRED_KEYS = {"model", "params", "order_parameters", "observables", "free_energy", "converged",
                 "residual", "iterations"}
OPTIONAL_KEYS = {"stability", "message", "dps"}


def test_solve_gardner_capacity_json(capsys):
    d = run_json(capsys, "solve", "gardner", "--set", "kappa=0.5", "--json")
    assert REQUIRED_KEYS <= set(d) <= REQUIRED_KEYS | OPTIONAL_KEYS
    assert d["model"] == "gardner"
    assert d["params"]["kappa"] == 0.5
    assert d["converged"] is True
    assert isinstance(d["observables"]["alpha_c"], float)
    assert abs(d["observables"]["alpha_c"] - float(gardner_capacity(0.5))) < 1e-12


def test_solve_gardner_capacity_high_precision(capsys):
    d = run_json(capsys, "solve", "gardner", "--set", "kappa=1", "--dps", "40", "--json")
    value = d["observables"]["alpha_c"]
    assert isinstance(value, str) and re.fullmatch(r"-?\d+\.\d+", value), value
    assert len(value.replace(".", "").lstrip("0")) >= 35      # the digits are actually printed
    assert d["dps"] == 40
    with mpmath.workdps(50):
        err = abs(mpmath.mpf(value) - gardner_capacity(1, dps=50))
        assert err < mpmath.mpf("1e-30"), mpmath.nstr(err, 5)


def test_solve_high_precision_reads_decimals_exactly(capsys):
    """At --dps, kappa=0.1 is the decimal 0.1, not the double nearest to it (which is off by 5.6e-18)."""
    d = run_json(capsys, "solve", "gardner", "--set", "kappa=0.1", "--dps", "40", "--json")
    with mpmath.workdps(50):
        err = abs(mpmath.mpf(d["observables"]["alpha_c"]) - gardner_capacity("0.1", dps=50))
        assert err < mpmath.mpf("1e-30"), mpmath.nstr(err, 5)


def test_solve_gardner_overlap_below_capacity(capsys):
    d = run_json(capsys, "solve", "gardner", "--set", "alpha=1", "--json")
    assert d["converged"] is True
    assert d["order_parameters"]["q"] == pytest.approx(gardner_q(1.0), abs=1e-10)
    assert d["stability"]["name"] == "replicon" and d["stability"]["stable"] is True


def test_solve_sk_at_stability(capsys):
    d = run_json(capsys, "solve", "sk", "--set", "T=0.5", "--set", "h=1.0", "--json")
    assert d["converged"] is True
    q = d["order_parameters"]["q"]
    assert abs(sk_q_equation(q, 0.5, 1.0)) < 1e-10
    st = d["stability"]
    assert st["name"] == "lambda_AT"
    assert st["stable"] is True
    assert st["eigenvalue"] == pytest.approx(sk_lambda_at(q, 0.5, 1.0), abs=1e-9)
    assert st["eigenvalue"] > 0

    d0 = run_json(capsys, "solve", "sk", "--set", "T=0.5", "--set", "h=0", "--json")
    q0 = d0["order_parameters"]["q"]
    assert q0 > 0.1 and abs(sk_q_equation(q0, 0.5, 0.0)) < 1e-10
    assert d0["stability"]["name"] == "lambda_AT"
    assert d0["stability"]["stable"] is False
    assert d0["stability"]["eigenvalue"] == pytest.approx(sk_lambda_at(q0, 0.5, 0.0), abs=1e-9)
    assert d0["stability"]["eigenvalue"] < 0


def test_solve_text_output(capsys):
    rc, out, err = run(capsys, "solve", "sk", "--set", "T=0.5", "--set", "h=1.0")
    assert rc == 0
    assert out.startswith("sk at T=0.5, h=1")
    assert re.search(r"converged\s+True", out)
    assert "stability lambda_AT" in out and "stable" in out and "UNSTABLE" not in out


# ---------------------------------------------------------------------------
# solve: sweeps
# ---------------------------------------------------------------------------
def test_sweep_gardner_json(capsys):
    d = run_json(capsys, "solve", "gardner", "--sweep", "alpha=0.2:1.8:9", "--json")
    assert d["model"] == "gardner" and d["sweep"] == "alpha"
    points = d["points"]
    assert len(points) == 9
    alphas = [p["params"]["alpha"] for p in points]
    assert alphas == pytest.approx(np.linspace(0.2, 1.8, 9).tolist(), abs=1e-15)
    assert all(p["converged"] is True for p in points)
    q = [p["order_parameters"]["q"] for p in points]
    assert all(0 < a < b < 1 for a, b in zip(q, q[1:])), q
    assert all(p["observables"]["alpha_c"] == pytest.approx(2.0, abs=1e-13) for p in points)
    # one point against an independent solution of the saddle-point equation
    [mid] = [p for p in points if abs(p["params"]["alpha"] - 1.0) < 1e-12]
    assert mid["order_parameters"]["q"] == pytest.approx(gardner_q(1.0), abs=1e-10)


def test_sweep_gardner_csv(capsys):
    rc, out, err = run(capsys, "solve", "gardner", "--sweep", "alpha=0.2:1.8:9", "--csv")
    assert rc == 0 and err == ""
    rows = list(csv.reader(io.StringIO(out)))
    header, data = rows[0], rows[1:]
    assert header[0] == "alpha"
    assert {"q", "alpha_c", "converged", "residual"} <= set(header)
    assert len(data) == 9
    assert all(len(r) == len(header) for r in data)
    col = {name: header.index(name) for name in header}
    assert [float(r[0]) for r in data] == pytest.approx(np.linspace(0.2, 1.8, 9).tolist())
    assert all(r[col["converged"]] == "True" for r in data)
    q = [float(r[col["q"]]) for r in data]
    assert all(a < b for a, b in zip(q, q[1:]))


def test_sweep_csv_header_has_unique_columns(capsys):
    """A CSV with two columns of one name is read wrongly by csv.DictReader and pandas."""
    rc, out, _ = run(capsys, "solve", "sk", "--sweep", "T=0.5:1.5:3", "--csv")
    assert rc == 0
    header = next(csv.reader(io.StringIO(out)))
    assert len(header) == len(set(header)), f"duplicate CSV columns: {header}"


def test_sweep_sk_paramagnet(capsys):
    d = run_json(capsys, "solve", "sk", "--sweep", "T=0.3:2:12", "--json")
    points = d["points"]
    assert len(points) == 12
    assert all(p["converged"] is True for p in points)
    hot = [p for p in points if p["params"]["T"] > 1]
    cold = [p for p in points if p["params"]["T"] < 0.95]
    assert len(hot) == 7 and len(cold) == 5
    for p in hot:
        assert abs(p["order_parameters"]["q"]) < 1e-10, p
        assert p["stability"]["stable"] is True
    for p in cold:                                    # spin-glass phase: q > 0, RS unstable at h = 0
        T, q = p["params"]["T"], p["order_parameters"]["q"]
        assert q > 0.05 and abs(sk_q_equation(q, T, 0.0)) < 1e-9
        assert p["stability"]["stable"] is False


# ---------------------------------------------------------------------------
# bad input: exit 2, one line on stderr naming the culprit, no traceback
# ---------------------------------------------------------------------------
BAD_INPUT = [
    pytest.param(["solve", "no_such_model"], ["no_such_model"], id="unknown-model"),
    pytest.param(["solve", "gardner", "--set", "foo=1"], ["'foo'"], id="unknown-parameter"),
    pytest.param(["solve", "gardner", "--set", "alpha=0"], ["'alpha'"], id="alpha=0"),
    pytest.param(["solve", "gardner", "--set", "alpha=-1"], ["'alpha'"], id="alpha=-1"),
    pytest.param(["solve", "sk", "--set", "T=0"], ["'T'"], id="T=0"),
    pytest.param(["solve", "sk", "--set", "T=-1"], ["'T'"], id="T=-1"),
    pytest.param(["solve", "sk", "--set", "h=-0.5"], ["'h'"], id="h=-0.5"),
    pytest.param(["solve", "gardner", "--set", "alpha=3"], ["'alpha'", "alpha_c"], id="above-capacity"),
    pytest.param(["simulate", "sk", "--n", "1", "--trials", "5"], ["n="], id="simulate-n=1"),
    pytest.param(["simulate", "sk", "--n", "6", "--trials", "0"], ["trials"], id="trials=0"),
    pytest.param(["solve", "gardner", "--sweep", "alpha=1:2"], ["alpha=1:2"], id="sweep-two-fields"),
    pytest.param(["solve", "gardner", "--sweep", "alpha=a:b:3"], ["alpha", "'a'"], id="sweep-not-numbers"),
    pytest.param(["solve", "gardner", "--sweep", "alpha=0.1:1:0"], ["alpha=0.1:1:0", "NUM"], id="sweep-num=0"),
    pytest.param(["solve", "gardner", "--dps", "0"], ["dps"], id="dps=0"),
    pytest.param(["solve", "gardner", "--set", "kappa=nan"], ["'kappa'"], id="kappa=nan"),
    # 1e400 overflows to inf: an infinite margin is not a margin, and alpha_c(inf) is nan
    pytest.param(["solve", "gardner", "--set", "kappa=1e400"], ["'kappa'"], id="kappa=1e400"),
    # the simulators reject inf / negative kappa with a ValueError: must be a one-line user error
    pytest.param(["simulate", "sk", "--set", "T=1e400", "--n", "4", "--trials", "2"], ["'T'"],
                 id="simulate-T=1e400"),
    pytest.param(["simulate", "gardner", "--set", "kappa=-0.5", "--n", "4", "--trials", "2"], ["kappa"],
                 id="simulate-gardner-kappa<0"),
]


@pytest.mark.parametrize("argv, needles", BAD_INPUT)
def test_bad_input_is_a_one_line_error(capsys, argv, needles):
    rc, out, err = run(capsys, *argv)
    assert_user_error(rc, err, *needles)
    assert out == ""


def test_values_are_never_evaluated(capsys):
    if os.path.exists(PWNED):
        os.remove(PWNED)
    payload = "kappa=__import__('os').system('touch /tmp/replica_pwned')"
    rc, out, err = run(capsys, "solve", "gardner", "--set", payload)
    assert_user_error(rc, err, "'kappa'", "not a decimal number")
    rc, out, err = run(capsys, "solve", "gardner", "--sweep", "kappa=__import__('os'):1:3")
    assert_user_error(rc, err, "'kappa'")
    assert not os.path.exists(PWNED)


def test_entry_point_subprocess():
    """``python -m replica``: exit status 2 and one stderr line for bad input, 0 for good input,
    never a traceback (the processes run concurrently to keep the test fast)."""
    if os.path.exists(PWNED):
        os.remove(PWNED)
    bad = {
        ("solve", "no_such_model"): "no_such_model",
        ("derive", "gardner", "--set", "kappa=__import__('os').system('touch /tmp/replica_pwned')"): "'kappa'",
        ("solve", "gardner", "--set", "kappa=1e400"): "'kappa'",
    }
    good = ("solve", "gardner", "--set", "kappa=0.5", "--json")
    procs = {argv: start(*argv) for argv in [good, *bad]}
    failures = []
    for argv, proc in procs.items():
        rc, out, err = finish(proc)
        try:
            if argv == good:
                assert rc == 0, err
                assert err == ""
                assert abs(json.loads(out)["observables"]["alpha_c"] - float(gardner_capacity(0.5))) < 1e-12
            else:
                assert_user_error(rc, err, bad[argv])
        except AssertionError as exc:
            failures.append(f"replica {' '.join(argv)}: {exc}")
    assert not os.path.exists(PWNED), "a --set value was evaluated"
    assert not failures, "\n".join(failures)


# ---------------------------------------------------------------------------
# simulate / compare / verify
# ---------------------------------------------------------------------------
SIM = ("simulate", "sk", "--set", "T=2", "--n", "8", "--trials", "20")


def test_simulate_is_reproducible(capsys):
    rc1, out1, _ = run(capsys, *SIM, "--seed", "3", "--json")
    rc2, out2, _ = run(capsys, *SIM, "--seed", "3", "--json")
    assert rc1 == rc2 == 0
    assert out1 == out2
    d = json.loads(out1)
    assert d["n"] == 8 and d["trials"] == 20 and d["seed"] == 3
    # at h = 0 the finite-N q vanishes by symmetry, so only the energy is simulated
    assert set(d["observables"]) == {"energy"}
    e = d["observables"]["energy"]
    assert e["n"] == 20 and e["stderr"] > 0
    assert -0.35 < e["mean"] < -0.1                     # paramagnet: e -> -1/(2T) = -0.25 as N -> oo
    other = json.loads(run(capsys, *SIM, "--seed", "4", "--json")[1])
    assert other["observables"]["energy"]["mean"] != e["mean"]    # the seed matters


def test_simulate_does_not_depend_on_workers(capsys):
    one = run_json(capsys, *SIM, "--seed", "3", "--workers", "1", "--json")
    two = run_json(capsys, *SIM, "--seed", "3", "--workers", "2", "--json")
    assert one["observables"] == two["observables"]


def test_compare_json_and_plot(capsys, tmp_path):
    png = tmp_path / "sk.png"
    d = run_json(capsys, "compare", "sk", "--set", "T=2", "--n", "6,8,10", "--trials", "40", "--seed", "1",
                 "--json", "--plot", str(png))
    assert d["n"] == [6, 8, 10] and d["trials"] == 40 and d["seed"] == 1
    # at h = 0 the finite-N q vanishes by symmetry, so only the energy is simulated
    assert set(d["observables"]) == {"energy"}
    for name, o in d["observables"].items():
        assert {"theory", "per_n", "extrapolated", "extrapolated_stderr", "z", "agrees"} <= set(o)
        assert [p["n"] for p in o["per_n"]] == [6, 8, 10]
        for p in o["per_n"]:
            assert set(p) == {"n", "mean", "stderr"}
            assert isinstance(p["mean"], float) and p["stderr"] > 0      # 40 instances never all equal
        assert isinstance(o["agrees"], bool)
        assert o["agrees"] == (abs(o["z"]) <= 3)
    energy = d["observables"]["energy"]
    assert energy["theory"] == pytest.approx(-0.25, abs=1e-12)           # -1/(2T)
    assert energy["extrapolated_stderr"] > 0
    assert energy["z"] == pytest.approx((energy["extrapolated"] - energy["theory"])
                                        / energy["extrapolated_stderr"], rel=1e-6)
    assert energy["agrees"] is True and d["agrees"] is True
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(data) > 1000


def test_verify_quick(capsys):
    rc, out, err = run(capsys, "verify", "sk", "--quick")
    assert rc == 0, out
    lines = out.strip().splitlines()
    m = re.fullmatch(r"(\d+) passed, 0 failed", lines[-1])
    assert m, lines[-1]
    passed = int(m.group(1))
    assert passed >= 1
    assert passed == sum(ln.startswith("PASS") for ln in lines[:-1]) == len(lines) - 1
    assert all("sk" in ln.split()[1] for ln in lines[:-1])


def test_scripts_end_quietly_when_the_reader_closes_the_pipe():
    """`python -m replica.minnorm_digits --json | head`: no BrokenPipeError traceback (run_script)."""
    import subprocess
    import sys
    code = ("from replica.cli import run_script\n"
            "def main(argv=None):\n"
            "    for _ in range(200000):\n"
            "        print('x' * 100)\n"
            "    return 0\n"
            "run_script(main)\n")
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.read(10)
    proc.stdout.close()                     # the reader goes away mid-output
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 0
    assert "Traceback" not in err and "BrokenPipe" not in err, err


@pytest.mark.parametrize("argv,text", [
    # Gardner's alpha_c = 1/int_{-kappa}^oo Dt (t + kappa)^2 ~ 2e352 at kappa = -40: beyond double precision
    (["solve", "gardner", "--set", "kappa=-40"], "alpha_c = 2.19508e+352 is outside the range of double precision"),
    (["solve", "gardner", "--set", "kappa=1e308"], "alpha_c = 1.0e-616 is outside the range of double precision"),
    # found by fuzzing: these raised ZeroDivisionError tracebacks
    (["solve", "ising-perceptron", "--set", "kappa=-40", "--set", "rsb=1"], "did not converge"),
    (["solve", "sk", "--set", "rsb=1", "--set", "T=0.1", "--set", "h=5"], "the optimal u = beta x runs to 0"),
])
def test_values_beyond_reach_are_one_line_errors(capsys, argv, text):
    rc, out, err = run(capsys, *argv)
    assert rc == 2 and text in err and "Traceback" not in err and len(err.strip().splitlines()) == 1, err


def test_dps_prints_every_digit_and_values_beyond_the_double_range(capsys):
    import mpmath
    rc, out, err = run(capsys, "solve", "gardner", "--set", "kappa=-40", "--dps", "20")
    assert rc in (0, None), err
    line = next(ln for ln in out.splitlines() if ln.strip().startswith("alpha_c"))
    with mpmath.workdps(60):     # independent: int_a^oo Dt (t - a)^2 = (1 + a^2) H(a) - a phi(a), a = 40 (60 digits:
        a = mpmath.mpf(40)       # the two terms cancel to 3 parts in 1e4)
        ref = 1 / ((1 + a * a) * mpmath.erfc(a / mpmath.sqrt(2)) / 2 - a * mpmath.npdf(a))
        assert mpmath.almosteq(mpmath.mpf(line.split()[-1]), ref, rel_eps=mpmath.mpf(10) ** -19)


def test_a_variant_without_theory_says_so(capsys):
    rc, out, err = run(capsys, "solve", "expansion-perceptron", "--set", "units=sparse")
    assert rc in (0, None), err
    assert "no theory value at these parameters: The input-driven sparse expansion" in out
