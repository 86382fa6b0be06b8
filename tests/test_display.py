"""Notebook and terminal display, and exports: HTML/LaTeX reprs carry the numbers, CSV and DataFrame
round-trip them exactly."""
from __future__ import annotations

import csv
import io
import re

import pandas as pd
import pytest

import replica
from replica.errors import ReplicaError


@pytest.fixture(scope="module")
def point():
    return replica.solve("sk", {"T": 0.5, "h": 0.3})


def test_point_prints_every_value_once(point):
    text = str(point)
    assert text.startswith("sk at T=0.5, h=0.3")
    names = [ln.split()[0] for ln in text.splitlines()[1:]]
    assert len(names) == len(set(names))
    assert f"{point['q']:.12g}" in text and "converged" in text and "lambda_AT" in text


def test_point_html_and_dataframe(point):
    html = point._repr_html_()
    assert "<table>" in html and f"{point['energy']:.12g}" in html
    df = point.to_dataframe()
    assert df.shape[0] == 1 and df.loc[0, "q"] == point["q"] and df.loc[0, "T"] == 0.5
    assert bool(df.loc[0, "converged"]) is True


def test_sweep_html_csv_dataframe_agree():
    s = replica.sweep("gardner", {"kappa": 0.0}, "alpha", [0.5, 1.0, 1.5])
    df = s.to_dataframe()
    assert list(df["alpha"]) == [0.5, 1.0, 1.5]
    assert list(df["q"]) == list(s.array("q"))       # exact: CSV writes repr-precision floats
    rows = list(csv.reader(io.StringIO(s.to_csv())))
    assert rows[0][:2] == ["alpha", "q"] and len(rows) == 4
    html = s._repr_html_()
    assert html.count("<tr>") == 4 and "did not converge" not in html
    s.points[1].converged = False
    assert "1 point(s) did not converge" in s._repr_html_()


def test_comparison_table_exports():
    c = replica.compare("teacher-student", {"alpha": 2.0, "rule": "hebb"}, [20, 40], trials=6, seed=2)
    df = c.to_dataframe()
    assert set(df["observable"]) == {"R", "eps_g"} and len(df) == 6
    ext = df[(df["observable"] == "R") & (df["n"] == "inf")].iloc[0]
    assert ext["mean"] == c.observables["R"].extrapolated and ext["z"] == c.observables["R"].z
    back = pd.read_csv(io.StringIO(c.to_csv()))
    assert back[back["n"] == 20]["mean"].iloc[0] == c.observables["R"].per_n[0][1].mean
    html = c._repr_html_()
    assert "agrees" in html and "<table>" in html
    assert "N->inf" in str(c) and "theory" in str(c)


def test_model_and_derivation_display():
    m = replica.get_model("gardner")
    html = m._repr_html_()
    for p in m.parameters:
        assert f"<code>{p.name}</code>" in html
    latex = m.derivation()._repr_latex_()
    blocks = re.findall(r"\$\$(.*?)\$\$", latex, re.S)
    assert blocks[0].startswith("s = ") and any(b.startswith(r"\alpha_{c} = ") for b in blocks)


def test_dataframe_without_pandas_is_a_clear_error(monkeypatch, point):
    import builtins
    real = builtins.__import__

    def fake(name, *a, **k):
        if name == "pandas":
            raise ImportError("no pandas")
        return real(name, *a, **k)

    monkeypatch.setattr(builtins, "__import__", fake)
    with pytest.raises(ReplicaError, match="pip install pandas"):
        point.to_dataframe()
