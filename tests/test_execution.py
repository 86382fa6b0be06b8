"""How trials run never changes what they give: serial, local processes and a local Dask cluster
are bit-identical for one seed; the trial cache reuses finished trials and never serves rows
computed for other inputs; the progress bar stays out of pipes."""
from __future__ import annotations

import json

import pytest

import replica
from replica.errors import ParameterError
from replica.execution import Progress, TrialCache, trial_key

from cli_helpers import run  # noqa: E402

MODEL, PARAMS = "teacher-student", {"alpha": 2.0, "rule": "hebb"}


def _rows(comp):
    return {k: [(n, e.mean, e.stderr) for n, e in o.per_n] + [o.extrapolated, o.extrapolated_stderr]
            for k, o in comp.observables.items()}


@pytest.fixture(scope="module")
def serial():
    return replica.compare(MODEL, PARAMS, [20, 40], trials=12, seed=5)


def test_two_workers_are_bit_identical_to_serial(serial):
    assert _rows(replica.compare(MODEL, PARAMS, [20, 40], trials=12, seed=5, workers=2)) == _rows(serial)


@pytest.mark.slow
def test_a_local_dask_cluster_is_bit_identical_to_serial(serial):
    from dask import distributed
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        comp = replica.compare(MODEL, PARAMS, [20, 40], trials=12, seed=5, scheduler=cluster.scheduler_address)
    assert _rows(comp) == _rows(serial)


def test_an_unreachable_scheduler_is_a_clear_error():
    with pytest.raises(ParameterError, match="scheduler='tcp://127.0.0.1:9'"):
        replica.simulate(MODEL, PARAMS, 20, 2, seed=1, scheduler="tcp://127.0.0.1:9")


def test_bad_workers_is_named():
    with pytest.raises(ParameterError, match="workers=0"):
        replica.simulate(MODEL, PARAMS, 20, 2, seed=1, workers=0)


def test_the_cache_reuses_finished_trials_and_gives_the_same_result(tmp_path, monkeypatch, serial):
    import replica.simulation as sim
    calls = []
    real = sim._run_trial
    monkeypatch.setattr(sim, "_run_trial", lambda job: calls.append(job[-1]) or real(job))
    first = replica.compare(MODEL, PARAMS, [20, 40], trials=8, seed=5, cache=tmp_path)
    assert sorted(calls) == sorted(list(range(8)) * 2)
    calls.clear()
    # more trials: only the new ones run; the whole answer equals the uncached run
    again = replica.compare(MODEL, PARAMS, [20, 40], trials=12, seed=5, cache=tmp_path)
    assert sorted(calls) == sorted(list(range(8, 12)) * 2)
    assert _rows(again) == _rows(serial)
    calls.clear()
    replica.compare(MODEL, PARAMS, [20, 40], trials=8, seed=5, cache=tmp_path)
    assert calls == []
    assert _rows(first) != _rows(serial)        # 8 trials are not 12: the cache did not over-serve


@pytest.mark.parametrize("change", [{"seed": 6}, {"n": 21}, {"params": {"alpha": 2.0000000000000004}},
                                    {"params": {"rule": "gibbs"}}])
def test_the_cache_never_serves_other_inputs(tmp_path, change):
    cache = TrialCache(tmp_path)
    params = replica.get_model(MODEL).resolve(PARAMS)
    key = trial_key(MODEL, params, 20, 5)
    cache.save(key, {0: {"R": 0.5}})
    other = dict(params, **change.get("params", {}))
    other_key = trial_key(MODEL, other, change.get("n", 20), change.get("seed", 5))
    assert cache.load(other_key) == {}
    assert cache.load(key) == {0: {"R": 0.5}}


def test_a_tampered_cache_file_for_another_key_is_ignored(tmp_path):
    cache = TrialCache(tmp_path)
    key = trial_key(MODEL, {"alpha": 2.0}, 20, 5)
    cache.save(key, {0: {"R": 0.5}})
    [path] = tmp_path.iterdir()
    data = json.loads(path.read_text())
    data["key"]["seed"] = 6
    path.write_text(json.dumps(data))
    assert cache.load(key) == {}


def test_cache_round_trip_is_exact(tmp_path):
    cache = TrialCache(tmp_path)
    key = trial_key(MODEL, {"alpha": 2.0}, 20, 5)
    x = 0.1 + 0.2
    cache.save(key, {3: {"R": x}})
    assert cache.load(key)[3]["R"] == x


def test_progress_bar_only_when_enabled(capsys):
    bar = Progress(3, "x", enabled=False)
    for _ in range(3):
        bar.update()
    bar.close()
    assert capsys.readouterr().err == ""
    bar = Progress(2, "sim", enabled=True)
    bar.update()
    bar.update()
    bar.close()
    err = capsys.readouterr().err
    assert "sim [" in err and "2/2" in err and "left" in err


def test_cli_is_quiet_in_a_pipe(capsys, tmp_path):
    rc, out, err = run(capsys, "simulate", MODEL, "--set", "alpha=2", "--set", "rule=hebb", "--n", "20",
                       "--trials", "4", "--cache", str(tmp_path / "c"))
    assert rc == 0 and err == ""
    assert any((tmp_path / "c").iterdir())


def test_point_by_point_sweeps_show_progress_only_when_asked(capsys):
    # hopfield without T: closed-form T -> 0 results, solved point by point
    replica.sweep("hopfield", {}, "alpha", [0.05, 0.1, 0.12], progress=True)
    err = capsys.readouterr().err
    assert "hopfield sweep of alpha" in err and "3/3" in err
    replica.sweep("hopfield", {}, "alpha", [0.05, 0.1, 0.12])
    assert capsys.readouterr().err == ""
