"""Replications are reproducible wherever they run, independent of each other, and share their
random numbers across scenarios (common random numbers)."""

from __future__ import annotations

import numpy as np
import pytest
from flow_cases import model_of, small_system

from icsys.flow.patients import draw
from icsys.flow.run import replicate, run


def _same(a: list, b: list) -> None:
    assert [r.index for r in a] == [r.index for r in b]
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x.pools, y.pools)
        np.testing.assert_array_equal(x.ed, y.ed)
        assert x.fates == y.fates


def test_same_seed_same_results_in_process_local_processes_and_dask() -> None:
    from distributed import LocalCluster

    model = model_of(small_system(days=60))
    here = run(model, 4, seed=99, workers=1)
    processes = run(model, 4, seed=99, workers=2)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        on_dask = run(model, 4, seed=99, scheduler=cluster.scheduler_address)
    _same(here, processes)
    _same(here, on_dask)
    assert not np.array_equal(here[0].pools, here[1].pools)  # replications differ
    other_seed = replicate(model, 100, 0)
    assert not np.array_equal(here[0].pools, other_seed.pools)


def test_unreachable_scheduler_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from icsys.flow import run as runner
    from icsys.flow.run import ClusterError

    monkeypatch.setattr(runner, "CONNECT_TIMEOUT", "1s")
    with pytest.raises(ClusterError, match="cannot reach"):
        run(model_of(small_system(days=10)), 2, seed=1, scheduler="tcp://127.0.0.1:9")


def test_common_random_numbers_a_surge_adds_patients_and_moves_none() -> None:
    base = small_system()
    surge = small_system()
    surge["surge"] = [{"name": "winter", "start": "2025-12-01", "end": "2026-01-31", "multiplier": 1.3}]
    a, b = draw(model_of(base), 5, 0), draw(model_of(surge), 5, 0)
    for stream in (0, 1, 2):  # the A&E streams (one through majors cubicles, its majors not admitted too) and GP
        pa, pb = _by_arrival(a, stream), _by_arrival(b, stream)
        assert len(pb) > len(pa)
        # every patient of the base arrives at the same moment with the same stays in the surge scenario
        index = np.searchsorted(b.arrival[pb], a.arrival[pa])
        np.testing.assert_array_equal(b.arrival[pb][index], a.arrival[pa])
        np.testing.assert_array_equal(b.hold[pb][index], a.hold[pa])
        np.testing.assert_array_equal(b.pool[pb][index], a.pool[pa])
    elective = 3  # a stream the surge does not touch is identical
    np.testing.assert_array_equal(a.arrival[a.stream == elective], b.arrival[b.stream == elective])


def _by_arrival(p: object, stream: int) -> np.ndarray:
    rows = np.flatnonzero(p.stream == stream)  # type: ignore[attr-defined]
    return rows[np.argsort(p.arrival[rows], kind="stable")]  # type: ignore[attr-defined]


def test_a_new_stream_leaves_the_others_alone() -> None:
    base = small_system()
    more = small_system()
    more["arrivals"] = [*more["arrivals"], {"name": "extra", "source": "other", "pool": "acute", "per_day": 2,
                                            "los_days": {"distribution": "exponential", "mean": 2}}]
    a, b = draw(model_of(base), 5, 3), draw(model_of(more), 5, 3)
    np.testing.assert_array_equal(np.sort(a.arrival[a.stream == 0]), np.sort(b.arrival[b.stream == 0]))
