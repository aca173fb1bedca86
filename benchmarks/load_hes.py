"""Figure: loading and linking a year of HES Admitted Patient Care for an ICS of 1.86 million people (issue 11):
about 600,000 episodes in the HES extract layout, assembled into spells, every code checked against the HES
value sets, each episode's person key linked; rows (episodes) per second, beside DuckDB's own read of the same
file (no mapping, no spells, no validation) in the same run.

The people are written straight into the store, their NHS numbers linked in the re-identification store beside
it (their load is not the figure); the episodes are a CSV in the
HES layout: 480,000 spells, a quarter of them of two episodes (listed in reverse episode order, so the
assembly must sort them), sites of the Kent and Medway definition, HES codes including 82, 99 and '&'.

    .venv/bin/python benchmarks/load_hes.py [--people 1860000] [--spells 480000]
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

import duckdb

from icsys.access import Actor, Auditor
from icsys.access.actor import os_user
from icsys.access.audit import beside
from icsys.access.reidentify import ReidentificationStore
from icsys.dataset.ingest import load, reid_beside
from icsys.dataset.store import Store, open_store
from icsys.system import load_system


def people(store: Path, n: int, practices: list[str], auditor: Auditor) -> int:
    """n people with valid NHS numbers in the 900-999 million test range (modulus 11 check digit; bases
    giving 10 skipped)."""
    digits = " + ".join(f"CAST(substr(b, {i}, 1) AS INTEGER) * {11 - i}" for i in range(1, 10))
    reid = reid_beside(Store.open(store, read_only=False, create=True))  # before the store exists
    with open_store(store) as con:  # a new store, with the schema's tables
        con.execute(f"""CREATE TEMP TABLE nhs AS SELECT row_number() OVER (ORDER BY b) AS person_id, b || cd AS nhs
            FROM (SELECT b, CAST((11 - ({digits}) % 11) % 11 AS VARCHAR) AS cd
                  FROM (SELECT CAST(900000000 + range AS VARCHAR) AS b FROM range({int(n * 1.2)})))
            WHERE cd <> '10' ORDER BY b LIMIT {n}""")
        practice = "[" + ", ".join(f"'{p}'" for p in practices) + "]"
        con.execute(f"""INSERT INTO person (person_id, sex, birth_date, ethnicity, practice_code)
            SELECT person_id, CASE WHEN person_id % 2 = 0 THEN 'F' ELSE 'M' END,
                   DATE '1930-01-01' + INTERVAL (person_id % 1000) MONTH, 'A',
                   {practice}[1 + person_id % {len(practices)}] FROM nhs""")
        links = dict(con.execute("SELECT nhs, CAST(person_id AS VARCHAR) FROM nhs").fetchall())
        con.execute("COPY nhs TO '" + str(store.with_suffix(".nhs.csv")) + "' (HEADER)")  # for the episodes
        # the NHS numbers live in the re-identification store beside the store (ADR 010), as a load leaves them
        ReidentificationStore(reid).link_many(auditor, links, why="benchmark people")
        return con.execute("SELECT count(*) FROM person").fetchone()[0]


def episodes(store: Path, out: Path, spells: int, sites: list[str]) -> int:
    site = "[" + ", ".join(f"'{s}'" for s in sites) + "]"
    with duckdb.connect(str(store)) as con:
        n = con.execute("SELECT count(*) FROM person").fetchone()[0]
        con.execute(f"""COPY (
            WITH s AS (SELECT range AS s, 1 + (hash(range) % {n}) AS pid,
                              DATE '2024-04-01' + CAST(range % 365 AS INTEGER) AS admitted,
                              CASE WHEN range % 4 = 0 THEN 2 ELSE 1 END AS eps FROM range({spells})),
            e AS (SELECT s.*, ep FROM s, range(1, 3) t(ep) WHERE ep <= eps)
            SELECT p.nhs AS NEWNHSNO, 'SP' || e.s AS PROVSPNOPS, 100000000 + e.s * 2 + ep AS EPIKEY,
                   ep AS EPIORDER,
                   strftime(admitted + CAST(ep - 1 AS INTEGER) * 2, '%Y-%m-%d') AS EPISTART,
                   left({site}[1 + e.s % {len(sites)}], 3) AS PROCODE3, {site}[1 + e.s % {len(sites)}] AS SITETRET,
                   strftime(admitted, '%Y-%m-%d') AS ADMIDATE,
                   lpad(CAST(e.s % 24 AS VARCHAR), 2, '0') || '15' AS ADMITIME,
                   CASE WHEN ep = eps THEN strftime(admitted + CAST(eps * 2 AS INTEGER), '%Y-%m-%d') END AS DISDATE,
                   CASE WHEN ep = eps THEN '1030' END AS DISTIME,
                   ['21', '11', '82', '99', '2A', '13'][1 + e.s % 6] AS ADMIMETH,
                   ['1', '2', '5'][1 + e.s % 3] AS CLASSPAT,
                   CASE WHEN e.s % 10 = 0 THEN '&' ELSE '300' END AS TRETSPEF, '301' AS MAINSPEF,
                   ['J189', 'I500', 'N390', 'R69X'][1 + e.s % 4] AS DIAG_4_01,
                   CASE WHEN ep = eps THEN ['19', '54', '52', '79'][1 + e.s % 4] ELSE '98' END AS DISDEST
            FROM e JOIN read_csv('{store.with_suffix(".nhs.csv")}') p ON p.person_id = e.pid ORDER BY e.s, ep DESC)
            TO '{out}' (HEADER)""")
        return con.execute(f"SELECT count(*) FROM read_csv('{out}')").fetchone()[0]


def duckdb_read(csv: Path) -> float:
    """The peer: DuckDB reading the same file into a table, with its own type detection, nothing else."""
    with duckdb.connect() as con:
        start = time.perf_counter()
        con.execute(f"CREATE TABLE episodes AS SELECT * FROM read_csv('{csv}', header = true)")
        return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=1_860_000)
    parser.add_argument("--spells", type=int, default=480_000)
    args = parser.parse_args()
    system = load_system()
    with tempfile.TemporaryDirectory() as tmp:
        store, csv = Path(tmp) / "store.duckdb", Path(tmp) / "hes_apc.csv"
        auditor = Auditor(Actor(os_user(), ("data_manager",)), beside(store))
        persons = people(store, args.people, [p.code for p in system.practice], auditor)
        rows = episodes(store, csv, args.spells, [s.code for s in system.site])
        size_mb = csv.stat().st_size / 1024**2
        start = time.perf_counter()
        report = load(Store.open(store, read_only=False, create=True), None, csv, fmt="hes-apc", system=system,
                      auditor=auditor)
        ours = time.perf_counter() - start
        peer = duckdb_read(csv)
    spells = report.loaded["inpatient_spell"]
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"DuckDB {duckdb.__version__}, load average {os.getloadavg()[0]:.1f}")
    print(f"file: {rows:,} HES APC episodes ({size_mb:,.0f} MB CSV) for {persons:,} people -> {spells:,} spells, "
          f"{report.rows_rejected:,} rejected")
    print(f"  icsys load --format hes-apc (read, map, spells, link, validate)  {ours:6.2f} s  "
          f"{rows / ours:>10,.0f} episodes/s")
    print(f"  DuckDB read_csv into a table, nothing else                      {peer:6.2f} s  "
          f"{rows / peer:>10,.0f} rows/s  (peer)")
    print(f"  cost of mapping, assembly, linkage and validation               {ours / peer:6.2f} x the plain read")


if __name__ == "__main__":
    main()
