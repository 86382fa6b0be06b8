"""Figures: the rendered image is not blank and holds the artists a reader needs (theory line,
simulation error bars per N, the extrapolation, axes in the model's notation)."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.image as mpimg  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import replica  # noqa: E402
from replica.simulation import math_label  # noqa: E402

from cli_helpers import run  # noqa: E402


def _ink(path) -> float:
    """Fraction of pixels that are not white."""
    img = mpimg.imread(str(path))
    rgb = img[..., :3]
    return float(np.mean(np.any(rgb < 0.95, axis=-1)))


def test_comparison_figure_has_theory_simulation_and_extrapolation(tmp_path):
    comp = replica.compare("teacher-student", {"alpha": 2.0, "rule": "hebb"}, [50, 100, 200], trials=10, seed=1)
    fig = comp.figure()
    ax_R, ax_eps = fig.axes
    assert ax_R.get_xlabel() == "$1/N$" and ax_R.get_ylabel() == "$R$" and ax_eps.get_ylabel() == r"$\varepsilon_{g}$"
    # theory: a horizontal line at the theory value
    [theory] = [ln for ln in ax_R.get_lines() if ln.get_label() == "theory"]
    assert np.allclose(theory.get_ydata(), comp.observables["R"].theory)
    # simulation: one point per N at 1/N, with error bars; the extrapolation at 1/N = 0
    labels = {c.get_label(): c for c in ax_R.containers}
    sim = labels["simulation"].lines[0]
    assert np.allclose(sim.get_xdata(), [1 / 50, 1 / 100, 1 / 200])
    assert np.allclose(sim.get_ydata(), [e.mean for _, e in comp.observables["R"].per_n])
    ext = labels["N→∞ extrapolation"].lines[0]
    assert np.allclose(ext.get_xdata(), [0.0]) and np.allclose(ext.get_ydata(), comp.observables["R"].extrapolated)
    for suffix in ("png", "pdf"):
        comp.plot(str(tmp_path / f"c.{suffix}"))
        assert (tmp_path / f"c.{suffix}").stat().st_size > 5000
    assert 0.02 < _ink(tmp_path / "c.png") < 0.6


def test_sweep_figure_marks_points_that_did_not_converge(tmp_path):
    sweep = replica.sweep("gardner", {"kappa": 0.0}, "alpha", list(np.linspace(0.2, 1.8, 9)))
    fig = sweep.figure()
    [ax_q] = [ax for ax in fig.axes if ax.get_ylabel() == "$q$"]
    assert ax_q.get_xlabel() == r"$\alpha$"
    [line] = ax_q.get_lines()
    assert np.allclose(line.get_xdata(), sweep.values) and np.allclose(line.get_ydata(), sweep.array("q"))
    # a point forced to be flagged is drawn as a cross, not dropped
    sweep.points[3].converged = False
    fig = sweep.figure(["q"])
    [ax] = fig.axes
    good, bad = ax.get_lines()
    assert len(good.get_xdata()) == 8 and np.allclose(bad.get_xdata(), [sweep.values[3]])
    sweep.plot(str(tmp_path / "s.png"), ["q"])
    assert _ink(tmp_path / "s.png") > 0.01


def test_cli_plots(tmp_path, capsys):
    rc, out, err = run(capsys, "solve", "gardner", "--sweep", "alpha=0.2:1.8:5", "--plot", str(tmp_path / "a.png"))
    assert rc == 0 and _ink(tmp_path / "a.png") > 0.01, err
    rc, out, err = run(capsys, "simulate", "teacher-student", "--set", "alpha=2", "--set", "rule=hebb",
                       "--n", "50", "--trials", "5", "--plot", str(tmp_path / "b.png"))
    assert rc == 0 and "plot written" in out and _ink(tmp_path / "b.png") > 0.01, err
    rc, out, err = run(capsys, "solve", "gardner", "--plot", str(tmp_path / "c.png"))
    assert rc == 2 and "needs a sweep" in err
    rc, out, err = run(capsys, "solve", "gardner", "--sweep", "alpha=0.2:1.8:5", "--plot", str(tmp_path / "d.png"),
                       "--plot-observables", "nope")
    assert rc == 2 and "nope" in err and "Traceback" not in err


@pytest.mark.parametrize("name,label", [("alpha_c", r"$\alpha_{c}$"), ("eps_g", r"$\varepsilon_{g}$"),
                                        ("kappa", r"$\kappa$"), ("q", "$q$"), ("energy", "energy"),
                                        ("top_eigenvalue", "top_eigenvalue"), ("free_energy", "free_energy")])
def test_math_labels(name, label):
    assert math_label(name) == label
