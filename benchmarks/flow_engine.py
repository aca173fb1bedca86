"""Figure: events per second per core of the compiled flow engine on the whole Kent and Medway model,
against the peer: the same model written with SimPy, on the same patients, in the same run (target:
at least 30 times as fast, issue 5).

Both run one replication of one year from the same pre-drawn patients (arrivals, stays, pathways), so
they process the same events; the run checks they reach the same outcome for every patient.

    .venv/bin/python benchmarks/flow_engine.py [--scenario kent_and_medway] [--days 365]
"""

from __future__ import annotations

import argparse
import platform
import time

import numpy as np

from icsys.flow import simpy_reference
from icsys.flow.compiled import compile_scenario
from icsys.flow.patients import draw
from icsys.flow.run import simulate
from icsys.flow.scenario import load_scenario


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="kent_and_medway")
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    scenario = load_scenario(args.scenario)
    scenario = scenario.model_copy(update={"scenario": scenario.scenario.model_copy(update={"days": args.days})})
    model = compile_scenario(scenario)
    started = time.perf_counter()
    patients = draw(model, args.seed, 0)
    drawing = time.perf_counter() - started
    simulate(model, patients)  # compiled (or loaded from the cache) before timing
    times = []
    for _ in range(3):
        started = time.perf_counter()
        *_, fate, _, left_at, events = simulate(model, patients, True)
        times.append(time.perf_counter() - started)
    engine = min(times)
    started = time.perf_counter()
    reference = simpy_reference.run(patients, model.capacity, model.n_days,
                                    (model.change_time, model.change_pool, model.change_delta))
    peer = time.perf_counter() - started
    same = np.array_equal(fate, reference["fate"]) and np.allclose(left_at, reference["left_at"], atol=1e-9,
                                                                     equal_nan=True)
    print(f"{scenario.scenario.name}: {model.n_days} days, {len(model.pools)} pools, {len(model.streams)} streams, "
          f"{len(patients):,} patients (census included)")
    print(f"  {platform.machine()}, Python {platform.python_version()}, one core")
    print(f"  drawing the patients (NumPy)   {drawing:8.2f} s")
    print(f"  compiled event loop (Numba)    {engine:8.3f} s   {events / engine:14,.0f} events/s   (best of 3)")
    print(f"  the same model in SimPy        {peer:8.2f} s   {events / peer:14,.0f} events/s   (peer)")
    print(f"  ratio                          {peer / engine:8.1f} x   (target >= 30 x)")
    print(f"  events                         {events:,}   same outcome for every patient: {'yes' if same else 'NO'}")


if __name__ == "__main__":
    main()
