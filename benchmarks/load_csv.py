"""Figure: validated loading from CSV, rows per second (target >= 1 million rows/s, issue 2), against
the peer: DuckDB's own CSV reader inserting the same file with no validation, in the same run.

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
from icsys.dataset.store import create_schema, table_ddl


def plain_insert(db: Path, csv: Path, keep_order: bool) -> float:
    """The peer: DuckDB's CSV reader straight into a table of the same shape, no validation."""
    with duckdb.connect(str(db)) as con:
        create_schema(con)
        con.execute(table_ddl(TABLES["ae_attendance"], "plain_ae"))
        con.execute(f"SET preserve_insertion_order = {str(keep_order).lower()}")
        start = time.perf_counter()
        con.execute(f"INSERT INTO plain_ae SELECT * FROM read_csv('{csv}', header = true)")
        return time.perf_counter() - start


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
        load(store, "person", people, auditor=Auditor(Actor(os_user(), ("data_manager",)), beside(store)))
        start = time.perf_counter()
        report = load(store, "ae_attendance", attendances,
                      auditor=Auditor(Actor(os_user(), ("data_manager",)), beside(store)))
        ours = time.perf_counter() - start

        peer = plain_insert(tmp_path / "plain.duckdb", attendances, keep_order=True)
        peer_unordered = plain_insert(tmp_path / "plain2.duckdb", attendances, keep_order=False)
        size_mb = attendances.stat().st_size / 1024**2
    rows = report.loaded["ae_attendance"]
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"DuckDB {duckdb.__version__}")
    print(f"file: {rows:,} A&E attendances, {size_mb:,.0f} MB CSV")
    print(f"  icsys load (validated, strict)   {ours:6.2f} s  {rows / ours:>12,.0f} rows/s  (target >= 1,000,000)")
    print(f"  DuckDB read_csv, no validation   {peer:6.2f} s  {rows / peer:>12,.0f} rows/s  (peer, default settings)")
    print(f"    ... insertion order not kept   {peer_unordered:6.2f} s  {rows / peer_unordered:>12,.0f} rows/s  "
          "(peer, as icsys inserts)")
    print(f"  cost of validation               {ours / peer_unordered:6.2f} x the plain insert with the same settings")


if __name__ == "__main__":
    main()
