"""The small store checked in under tests/fixtures/km_small: one Parquet file per dataset table and the
store's metadata as JSON, so that it outlives changes to the generator and to the store's file format.

`store_from_fixture` rebuilds a DuckDB store from it through the public loading path (`icsys load`, one
table at a time, validated against the schema of the day: a column added since is left empty) and then
writes the metadata (system, scale, dates covered) that `icsys load` does not set.
`write_fixture` made the folder once (see its README); it is kept to remake it deliberately.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb

from support.cli import icsys_json

FIXTURE = Path(__file__).parent.parent / "fixtures" / "km_small"
META_FILE = "meta.json"
TABLES_FILE = "tables.json"  # the tables in an order that loads each after those it refers to, with their rows
META_TABLE = "icsys_meta"  # key VARCHAR, value VARCHAR holding JSON, as `icsys synth` writes it


def write_fixture(source: Path, folder: Path = FIXTURE) -> dict[str, int]:
    """Each non-empty dataset table of `source`, sorted by its key, as zstd Parquet; the metadata as JSON."""
    from icsys.dataset.schema import TABLES

    folder.mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = {}
    with duckdb.connect(str(source), read_only=True) as con:
        for name, table in TABLES.items():
            rows = con.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0]  # type: ignore[index]
            if not rows:
                continue
            order = f'ORDER BY "{table.primary_key}"' if table.primary_key else ""
            out = folder / f"{name}.parquet"
            con.execute(f"COPY (SELECT * FROM \"{name}\" {order}) TO '{out}' "
                        "(FORMAT parquet, COMPRESSION zstd, COMPRESSION_LEVEL 19)")
            counts[name] = rows
        meta = {k: json.loads(v) for k, v in con.execute(f"SELECT key, value FROM {META_TABLE} ORDER BY key")
                .fetchall()}
    (folder / META_FILE).write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    (folder / TABLES_FILE).write_text(json.dumps(counts, indent=2) + "\n", encoding="utf-8")
    return counts


def fixture_tables(folder: Path = FIXTURE) -> dict[str, int]:
    """Table name: rows, in loading order."""
    return json.loads((folder / TABLES_FILE).read_text(encoding="utf-8"))


def store_from_fixture(db: Path, folder: Path = FIXTURE) -> Path:
    """A new DuckDB store at `db` holding the fixture's tables and metadata."""
    for name, rows in fixture_tables(folder).items():
        report = icsys_json("load", folder / f"{name}.parquet", "--table", name, "--db", db, "--json")
        assert report["loaded"] == {name: rows}, report
    meta = json.loads((folder / META_FILE).read_text(encoding="utf-8"))
    with duckdb.connect(str(db)) as con:
        con.execute(f"CREATE TABLE IF NOT EXISTS {META_TABLE} (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL)")
        con.executemany(f"INSERT OR REPLACE INTO {META_TABLE} VALUES (?, ?)",
                        [[k, json.dumps(v)] for k, v in meta.items()])
    return db
