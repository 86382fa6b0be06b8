"""Running simulation trials: serially, on local processes, or on a Dask cluster; with an on-disk
cache of finished trials and a progress bar.

Every trial draws from its own generator, ``SeedSequence(seed, spawn_key=(n, trial))``, so the
rows (and every estimate built from them) are bit-identical whichever way the trials run and in
whatever order they finish.

* ``workers=K`` runs trials on ``K`` local processes (``concurrent.futures``).
* ``scheduler="tcp://host:port"`` (or a ``dask.distributed.Client``) runs them on a Dask cluster.
  Dask is optional (``pip install 'replica[dask]'``): the Dask team's scheduler does the
  scheduling, data movement and fault tolerance that a cluster needs and that we would not write
  as well.
* ``cache=DIR`` keeps each finished trial in ``DIR``, keyed by the package version, the model, its
  resolved parameters, ``N``, the seed and the trial index (a SHA-256 of all of them, with the key
  stored beside the rows and compared on load), so a re-run reuses finished trials and never
  returns rows computed for different inputs.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

from .errors import ParameterError


def trial_key(model_name: str, params: dict, n: int, seed: int) -> dict:
    from . import __version__
    return {"replica": __version__, "model": model_name,
            "params": {k: _jsonable(v) for k, v in sorted(params.items())}, "n": int(n), "seed": int(seed)}


def _jsonable(v):
    if v is None or isinstance(v, (bool, int, str)):
        return v
    if isinstance(v, float):
        return repr(v)                      # exact: 0.1 and 0.1000000000000001 are different inputs
    if isinstance(v, (tuple, list)):
        return [_jsonable(e) for e in v]    # array parameters: every entry exactly
    return str(v)                           # mpmath numbers: every digit


class TrialCache:
    """Finished trials on disk: one JSON file per (model, parameters, N, seed)."""

    def __init__(self, directory: str | os.PathLike):
        self.directory = Path(directory)
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ParameterError(f"cache={str(directory)!r} cannot be used as a folder: {exc}") from exc

    def _path(self, key: dict) -> Path:
        digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()
        return self.directory / f"{key['model']}-{digest[:32]}.json"

    def load(self, key: dict) -> dict:
        """Finished rows ``{trial index: row}`` for exactly this key (a file for another key is ignored)."""
        path = self._path(key)
        if not path.is_file():
            return {}
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            return {}                       # a torn write: recompute
        if data.get("key") != key:
            return {}
        return {int(k): {name: float(v) for name, v in row.items()} for k, row in data["trials"].items()}

    def save(self, key: dict, rows: dict) -> None:
        path = self._path(key)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        # floats as repr strings: the round trip is exact
        tmp.write_text(json.dumps({"key": key, "trials": {str(k): {name: repr(float(v)) for name, v in row.items()}
                                                          for k, row in sorted(rows.items())}}))
        os.replace(tmp, path)


class Progress:
    """A one-line progress bar with the time left, on stderr; silent unless ``enabled``."""

    def __init__(self, total: int, label: str, enabled: bool):
        self.total, self.label, self.enabled = total, label, enabled and total > 0
        self.done, self.t0, self._last = 0, time.perf_counter(), 0.0

    def update(self, k: int = 1) -> None:
        self.done += k
        if not self.enabled:
            return
        now = time.perf_counter()
        if now - self._last < 0.1 and self.done < self.total:
            return
        self._last = now
        elapsed = now - self.t0
        left = elapsed / self.done * (self.total - self.done) if self.done else math.inf
        width = 30
        fill = int(width * self.done / self.total)
        sys.stderr.write(f"\r{self.label} [{'#' * fill}{'.' * (width - fill)}] {self.done}/{self.total} "
                         f"{elapsed:5.1f}s elapsed, {_clock(left)} left ")
        sys.stderr.flush()

    def close(self) -> None:
        if self.enabled:
            sys.stderr.write("\n")
            sys.stderr.flush()


def _clock(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "?"
    m, s = divmod(int(seconds + 0.5), 60)
    return f"{m}:{s:02d}"


def interactive() -> bool:
    """Whether a progress bar belongs on stderr (a terminal, not a pipe or a file)."""
    return sys.stderr.isatty()


def run_trials(fn, jobs: list, workers: int = 1, scheduler=None, progress: Progress | None = None) -> list:
    """``[fn(job) for job in jobs]``, in the order of ``jobs``, however they are executed."""
    if not isinstance(workers, int) or isinstance(workers, bool) or workers < 1:
        raise ParameterError(f"workers={workers} is out of range; allowed: an integer >= 1")
    progress = progress or Progress(len(jobs), "", False)
    if scheduler is not None:
        return _run_dask(fn, jobs, scheduler, progress)
    if workers == 1 or len(jobs) <= 1:
        out = []
        for job in jobs:
            out.append(fn(job))
            progress.update()
        return out
    out = [None] * len(jobs)
    with ProcessPoolExecutor(max_workers=workers) as pool:
        futures = {pool.submit(fn, job): i for i, job in enumerate(jobs)}
        for fut in as_completed(futures):
            out[futures[fut]] = fut.result()
            progress.update()
    return out


def _run_dask(fn, jobs, scheduler, progress):
    try:
        from dask.distributed import Client, as_completed as dask_completed
    except ImportError as exc:
        raise ParameterError("scheduler: running on a Dask cluster needs dask.distributed "
                             "(pip install 'replica[dask]')") from exc
    own = not isinstance(scheduler, Client)
    try:
        client = Client(scheduler, timeout="10s") if own else scheduler
    except (OSError, TimeoutError) as exc:
        raise ParameterError(f"scheduler={scheduler!r}: cannot connect to a Dask scheduler there ({exc})") from exc
    try:
        futures = client.map(fn, jobs, pure=False)
        index = {f.key: i for i, f in enumerate(futures)}
        out = [None] * len(jobs)
        for fut in dask_completed(futures):
            out[index[fut.key]] = fut.result()
            progress.update()
        return out
    finally:
        if own:
            client.close()
