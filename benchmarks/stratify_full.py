"""Figures of issue 3 on a store (the full Kent and Medway: 1.86 M people, 3 years): training the
emergency-admission risk model and its card's figures on the held-out year; then `icsys population
stratify` with the stored model (target <= 30 s on 2 cores). Build the store first with
benchmarks/synth_full.py --db PATH.

    .venv/bin/python benchmarks/stratify_full.py --db /tmp/km.duckdb [--as-of 2026-03-31]
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import tempfile
import time
from datetime import date
from pathlib import Path

import duckdb

from icsys.access import Actor, Auditor
from icsys.access.actor import os_user
from icsys.access.audit import beside
from icsys.population import risk
from icsys.population.stratify import stratify


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, required=True)
    parser.add_argument("--as-of", type=date.fromisoformat, default=date(2026, 3, 31))
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    with tempfile.TemporaryDirectory(dir=args.db.parent) as tmp:
        work = Path(tmp) / "store.duckdb"
        shutil.copy(args.db, work)  # the source store is left as it was
        auditor = Auditor(Actor(os_user(), ("data_manager",)), beside(work))
        start = time.perf_counter()
        trained = risk.train(work, say=lambda _: None, auditor=auditor)
        trained_in = time.perf_counter() - start
        start = time.perf_counter()
        people = stratify(work, args.as_of, say=lambda _: None, auditor=auditor)
        seconds = time.perf_counter() - start
        with duckdb.connect(str(work), read_only=True) as con:
            events = con.execute("SELECT count(*) FROM clinical_event").fetchone()[0]
    card = trained.card
    print(f"risk model trained on {card['train_people']:,} people ({card['train_as_of']}), validated on "
          f"{card['validation']['people']:,} ({card['validate_as_of']}): {trained_in:.1f} s")
    print(f"  {'held-out year':<16} {'AUROC':>6} {'AUPRC':>6} {'slope':>6} {'interc.':>7} {'Brier':>6}"
          f" {'PPV 0.5%':>8} {'PPV 1%':>7} {'PPV 5%':>7} {'sens 5%':>7}")
    for name, m in {"this model": card["validation"], **card["baselines"]}.items():
        top = m["top"]
        print(f"  {name:<16} {m['auroc']:6.3f} {m['auprc']:6.3f} {m['calibration_slope']:6.2f} "
              f"{m['calibration_intercept']:7.2f} {m['brier']:6.3f} {top['0.5%']['ppv']:8.3f} {top['1.0%']['ppv']:7.3f}"
              f" {top['5.0%']['ppv']:7.3f} {top['5.0%']['sensitivity']:7.3f}")
    print(f"icsys population stratify --as-of {args.as_of} (model stored): {people:,} people, {events:,} coded events")
    print(f"  wall time {seconds:6.1f} s  (target <= 30 s)   {people / seconds:,.0f} people/s")


if __name__ == "__main__":
    main()
