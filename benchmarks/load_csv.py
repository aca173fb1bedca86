"""Figure: validated loading from CSV, rows per second (target >= 1 million rows/s, issue 2), against
the peer: DuckDB's own CSV reader inserting the same file with no validation, in the same run. The machine is
shared: each figure has its CPU time (every thread of this process) beside it, and the load average is printed.

Builds a small synthetic store for the people, then a CSV of N A&E attendances referring to them.

    .venv/bin/python benchmarks/load_csv.py [--rows 2000000]
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

from icsys.access import Actor, Auditor
from icsys.access.actor import os_user
from icsys.access.audit import beside
from icsys.dataset.ingest import load
from icsys.dataset.schema import TABLES
from icsys.dataset.store import Store, create_schema, table_ddl


def plain_insert(db: Path, csv: Path, keep_order: bool) -> tuple[float, float]:
    """The peer: DuckDB's CSV reader straight into a table of the same shape, no validation; wall and CPU seconds."""
    with duckdb.connect(str(db)) as con:
        create_schema(con)
        con.execute(table_ddl(TABLES["ae_attendance"], "plain_ae"))
        con.execute(f"SET preserve_insertion_order = {str(keep_order).lower()}")
        start, cpu = time.perf_counter(), time.process_time()
        con.execute(f"INSERT INTO plain_ae SELECT * FROM read_csv('{csv}', header = true)")
        return time.perf_counter() - start, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        source = tmp_path / "source.duckdb"
        subprocess.run([sys.executable, "-m", "icsys", "synth", "--scale", "0.05", "--years", "1", "--db", str(source),
                        "--quiet"], check=True, capture_output=True)
        people, attendances = tmp_path / "person.csv", tmp_path / "ae_attendance.csv"
        with duckdb.connect(str(source), read_only=True) as con:
            con.execute(f"COPY person TO '{people}' (HEADER)")
            n = con.execute("SELECT count(*) FROM ae_attendance").fetchone()[0]
            copies = -(-args.rows // n)
            con.execute(f"""COPY (SELECT row_number() OVER () AS attendance_id, a.* EXCLUDE (attendance_id)
                FROM ae_attendance a, range({copies}) LIMIT {args.rows}) TO '{attendances}' (HEADER)""")
        store = tmp_path / "store.duckdb"
        auditor = Auditor(Actor(os_user(), ("data_manager",)), beside(store))
        load(Store.open(store, read_only=False, create=True), "person", people, auditor=auditor)
        before = os.getloadavg()
        start, cpu = time.perf_counter(), time.process_time()
        report = load(Store.open(store, read_only=False, create=True), "ae_attendance", attendances, auditor=auditor)
        ours, ours_cpu = time.perf_counter() - start, time.process_time() - cpu

        peer, peer_cpu = plain_insert(tmp_path / "plain.duckdb", attendances, keep_order=True)
        peer_unordered, unordered_cpu = plain_insert(tmp_path / "plain2.duckdb", attendances, keep_order=False)
        size_mb = attendances.stat().st_size / 1024**2
    rows = report.loaded["ae_attendance"]
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"DuckDB {duckdb.__version__}")
    print("load average (1, 5, 15 min): before the load " + ", ".join(f"{x:.2f}" for x in before) + "; after the peers "
          + ", ".join(f"{x:.2f}" for x in os.getloadavg()))
    print(f"file: {rows:,} A&E attendances, {size_mb:,.0f} MB CSV")
    print(f"  icsys load (validated, strict)   {ours:6.2f} s  {rows / ours:>12,.0f} rows/s  {ours_cpu:5.2f} s CPU  "
          "(target >= 1,000,000)")
    print(f"  DuckDB read_csv, no validation   {peer:6.2f} s  {rows / peer:>12,.0f} rows/s  {peer_cpu:5.2f} s CPU  "
          "(peer, default settings)")
    print(f"    ... insertion order not kept   {peer_unordered:6.2f} s  {rows / peer_unordered:>12,.0f} rows/s  "
          f"{unordered_cpu:5.2f} s CPU  (peer, as icsys inserts)")
    print(f"  cost of validation               {ours / peer_unordered:6.2f} x the plain insert with the same settings "
          f"({ours_cpu / unordered_cpu:.2f} x its CPU time)")


if __name__ == "__main__":
    main()
