"""Differential test: the compiled loop and the same model written with SimPy, on the same patients,
must admit, delay, turn away and discharge every patient at the same moments."""

from __future__ import annotations

import numpy as np
from conftest import model_of, small_system

from icsys.flow import engine
from icsys.flow.patients import draw
from icsys.flow.run import simulate
from icsys.flow.simpy_reference import run as simpy_run


def test_compiled_loop_agrees_with_simpy_patient_by_patient() -> None:
    model = model_of(small_system())
    for replication in range(3):
        patients = draw(model, 2025, replication)
        _, _, _, fate, starts, left_at, _ = simulate(model, patients, detail=True)
        reference = simpy_run(patients, model.capacity, model.n_days,
                              (model.change_time, model.change_pool, model.change_delta))
        np.testing.assert_array_equal(fate, reference["fate"])
        np.testing.assert_allclose(starts, reference["starts"], rtol=0, atol=1e-9, equal_nan=True)
        np.testing.assert_allclose(left_at, reference["left_at"], rtol=0, atol=1e-9, equal_nan=True)
        # the run exercised what it is meant to: queues, turning away, giving up, virtual ward, onward moves
        assert (fate == engine.TURNED_AWAY).any() and (fate == engine.RENEGED).any()
        assert np.isfinite(starts[:, 1]).any() and np.isfinite(starts[:, 3]).any()
