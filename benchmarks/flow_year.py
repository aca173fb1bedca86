"""Figure: one year of the whole Kent and Medway system, 200 replications, on 2 cores (target: at most
60 s, issue 5). Wall time includes starting the worker processes and summarising the results.

    .venv/bin/python benchmarks/flow_year.py [--scenario kent_and_medway] [--replications 200] [--workers 2]
                                             [--scheduler tcp://host:8786]
"""

from __future__ import annotations

import argparse
import os
import platform
import time

from icsys.flow.compiled import compile_scenario
from icsys.flow.results import summarise
from icsys.flow.run import run
from icsys.flow.scenario import load_scenario


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="kent_and_medway")
    parser.add_argument("--replications", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--scheduler", default=None)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    scenario = load_scenario(args.scenario)
    scenario = scenario.model_copy(update={"scenario": scenario.scenario.model_copy(update={"days": 365})})
    model = compile_scenario(scenario)
    started = time.perf_counter()
    reps = run(model, args.replications, args.seed, workers=args.workers, scheduler=args.scheduler)
    simulated = time.perf_counter() - started
    summary = summarise(model, reps, args.seed)
    wall = time.perf_counter() - started
    events = sum(r.events for r in reps)
    m = summary["measures"]
    where = f"Dask at {args.scheduler}" if args.scheduler else f"{args.workers} local processes"
    print(f"{scenario.scenario.name}: 365 days x {args.replications} replications on {where}")
    print(f"  {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"  wall time            {wall:8.1f} s   (target <= 60 s on 2 cores); summarising {wall - simulated:.1f} s")
    print(f"  per replication      {sum(r.seconds for r in reps) / len(reps):8.2f} s of one core (draw + loop)")
    print(f"  events               {events:,}   {events / wall:,.0f} events/s in all")
    occupancy = m["acute_occupancy_pct"]
    print(f"  acute occupancy      {occupancy['mean']:.1f} % "
          f"(95 % CI {occupancy['low']:.1f} to {occupancy['high']:.1f})")
    print(f"  MFFD (P1-P3)         {m['mffd_mean']['mean']:.0f} patients a day (5th-95th percentile "
          f"{m['mffd_mean']['p5']:.0f} to {m['mffd_mean']['p95']:.0f})")


if __name__ == "__main__":
    main()
