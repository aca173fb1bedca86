"""Replications: each one draws its patients from (seed, replication) and runs the compiled loop, so a
replication gives the same result wherever it runs. They run in local processes by default, or on a
Dask cluster given its scheduler address."""

from __future__ import annotations

import multiprocessing
import os
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field

import numpy as np

from icsys.errors import InputError
from icsys.flow import engine
from icsys.flow.compiled import Model
from icsys.flow.patients import Patients, draw

Progress = Callable[[str, int, int], None]
CONNECT_TIMEOUT = "10s"


class ClusterError(InputError):
    """The Dask scheduler cannot be reached or used."""


@dataclass
class Replication:
    index: int
    pools: np.ndarray  # (engine.POOL_STATS, pools, days)
    mffd: np.ndarray  # (2, 4, days): mean and midnight count by pathway, acute pools
    ed: np.ndarray  # (7, departments, days): admitted (4 measures), not admitted (attended, within 4h, over 12h)
    diverted: np.ndarray  # (days,)
    avoided: np.ndarray
    fates: dict[str, int]
    events: int
    seconds: float
    detail: dict[str, np.ndarray] = field(default_factory=dict)


def replicate(model: Model, seed: int, index: int, detail: bool = False) -> Replication:
    started = time.perf_counter()
    patients = draw(model, seed, index)
    stats, mffd, ed, fate, starts, left_at, events = simulate(model, patients, detail)
    counts = np.bincount(fate, minlength=5)
    fates = {"not yet arrived": int(counts[engine.WAITING_TO_ARRIVE]), "in the system": int(counts[engine.IN_SYSTEM]),
             "left": int(counts[engine.LEFT]), "turned away": int(counts[engine.TURNED_AWAY]),
             "gave up waiting": int(counts[engine.RENEGED])}
    ed_all = np.concatenate([ed, patients.ed_attend[None], patients.ed_within_4h[None], patients.ed_over_12h[None]])
    extra = {}
    if detail:
        extra = {"fate": fate, "starts": starts, "left_at": left_at, "request": patients.request,
                 "arrival": patients.arrival, "pool": patients.pool, "hold": patients.hold,
                 "stream": patients.stream, "pathway": patients.pathway}
    return Replication(index=index, pools=stats.astype(np.float32), mffd=mffd.astype(np.float32),
                       ed=ed_all.astype(np.float32), diverted=patients.diverted, avoided=patients.avoided,
                       fates=fates, events=int(events), seconds=time.perf_counter() - started, detail=extra)


def simulate(model: Model, p: Patients, detail: bool = False) -> tuple:
    return engine.simulate(p.order, p.floats, p.ints, model.capacity, model.core, model.is_acute, model.is_ed,
                           model.change_time,
                           model.change_pool, model.change_delta, model.n_days, len(model.departments), detail)


def _chunk(model: Model, seed: int, indices: list[int]) -> list[Replication]:
    return [replicate(model, seed, i) for i in indices]


def _chunks(replications: int, workers: int) -> list[list[int]]:
    size = max(1, replications // (workers * 4))
    return [list(range(i, min(i + size, replications))) for i in range(0, replications, size)]


def run(model: Model, replications: int, seed: int, workers: int | None = None, scheduler: str | None = None,
        progress: Progress | None = None) -> list[Replication]:
    """All replications, in order of index."""
    update = progress or (lambda *_: None)
    if scheduler:
        done = _on_dask(model, replications, seed, scheduler, update)
    else:
        workers = min(workers or (os.cpu_count() or 1 if _worth_processes(model, replications) else 1), replications)
        done = list(_local(model, replications, seed, workers, update))
    return sorted(done, key=lambda r: r.index)


def _worth_processes(model: Model, replications: int) -> bool:
    """Starting processes costs seconds: worth it only for more than about a million patients in all."""
    patients = sum(float(s.admitted_hourly.sum()) for s in model.streams) + sum(p.census for p in model.pools)
    return patients * replications > 1_000_000


def _local(model: Model, replications: int, seed: int, workers: int, update: Progress) -> Iterator[Replication]:
    update("simulating", 0, replications)
    if workers <= 1:
        for i in range(replications):
            yield replicate(model, seed, i)
            update("simulating", i + 1, replications)
        return
    finished = 0
    # spawn: a fork would copy the progress bar's thread and its locks
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = [pool.submit(_chunk, model, seed, c) for c in _chunks(replications, workers)]
        for future in as_completed(futures):
            for rep in future.result():
                finished += 1
                yield rep
            update("simulating", finished, replications)


def _on_dask(model: Model, replications: int, seed: int, scheduler: str, update: Progress) -> list[Replication]:
    from distributed import Client
    from distributed import as_completed as dask_completed

    try:
        client = Client(scheduler, timeout=CONNECT_TIMEOUT)
    except (OSError, TimeoutError, ValueError) as exc:
        raise ClusterError(f"--scheduler {scheduler}: cannot reach the Dask scheduler ({exc})") from exc
    with client:
        workers = max(1, sum(client.nthreads().values()))
        shared = client.scatter(model, broadcast=True)
        futures = [client.submit(_chunk, shared, seed, c, pure=False) for c in _chunks(replications, workers)]
        done: list[Replication] = []
        update("simulating on the cluster", 0, replications)
        for future in dask_completed(futures):
            done += future.result()
            update("simulating on the cluster", len(done), replications)
    return done
