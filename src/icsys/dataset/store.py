"""The store: a DuckDB file holding the linked dataset, reached through Ibis for analysis.

DuckDB is the embedded default. Domain code reads through `connect()` (an Ibis backend), so the
same expressions run on Spark or a warehouse; writing goes through DuckDB directly, in transactions.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from icsys.dataset.schema import TABLES, Table
from icsys.errors import InputError

META_TABLE = "icsys_meta"
QUARANTINE_TABLE = "quarantine"
LOAD_LOG_TABLE = "load_log"

_META_DDL = f"CREATE TABLE IF NOT EXISTS {META_TABLE} (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL)"
_QUARANTINE_DDL = f"""CREATE TABLE IF NOT EXISTS {QUARANTINE_TABLE} (
    load_id VARCHAR NOT NULL, loaded_at TIMESTAMP NOT NULL, table_name VARCHAR NOT NULL,
    file VARCHAR NOT NULL, row_number BIGINT NOT NULL, reasons VARCHAR NOT NULL, record VARCHAR NOT NULL)"""


_LOAD_LOG_DDL = f"""CREATE TABLE IF NOT EXISTS {LOAD_LOG_TABLE} (
    load_id VARCHAR NOT NULL, loaded_at TIMESTAMP NOT NULL, loaded_by VARCHAR NOT NULL, file VARCHAR NOT NULL,
    format VARCHAR NOT NULL, table_name VARCHAR NOT NULL, rows_loaded BIGINT NOT NULL,
    rows_quarantined BIGINT NOT NULL)"""


class StoreError(InputError):
    """The store cannot be opened or used, with the reason."""


def table_ddl(table: Table, name: str | None = None) -> str:
    """CREATE TABLE for a schema table. Constraints are checked by validation, not by DuckDB,
    so that a bad row is reported with its reason instead of aborting a bulk insert."""
    cols = ",\n  ".join(f'"{c.name}" {c.sql_type}' for c in table.columns)
    return f'CREATE TABLE IF NOT EXISTS "{name or table.name}" (\n  {cols}\n)'


def open_store(path: Path | str, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open (creating if needed) the store at `path`, with every schema table present."""
    path = Path(path)
    if read_only and not path.exists():
        raise StoreError(f"{path}: no such store (build one with `icsys synth` or `icsys load`)")
    if not read_only and not path.parent.exists():
        raise StoreError(f"{path}: folder {path.parent} does not exist")
    try:
        con = duckdb.connect(str(path), read_only=read_only)
    except duckdb.Error as exc:
        raise StoreError(f"{path}: cannot open as a DuckDB store: {exc}") from exc
    if not read_only:
        create_schema(con)
    return con


def create_schema(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(_META_DDL)
    con.execute(_QUARANTINE_DDL)
    con.execute(_LOAD_LOG_DDL)
    for table in TABLES.values():
        con.execute(table_ddl(table))


def append(con: duckdb.DuckDBPyConnection, name: str, data: pa.Table) -> None:
    """Append an Arrow table to schema table `name`, columns matched by name and cast to the schema."""
    table = TABLES[name]
    con.register("_icsys_append", data)
    try:
        select = ", ".join(f'CAST("{c}" AS {table.column(c).sql_type}) AS "{c}"' if c in data.column_names
                           else f'NULL::{table.column(c).sql_type} AS "{c}"' for c in table.column_names)
        con.execute(f'INSERT INTO "{name}" SELECT {select} FROM _icsys_append')
    finally:
        con.unregister("_icsys_append")


def set_meta(con: duckdb.DuckDBPyConnection, **values: Any) -> None:
    for key, value in values.items():
        con.execute(f"INSERT OR REPLACE INTO {META_TABLE} VALUES (?, ?)", [key, json.dumps(value)])


def get_meta(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    exists = con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = ?",
                         [META_TABLE]).fetchone()
    if not exists or not exists[0]:
        return {}
    return {k: json.loads(v) for k, v in con.execute(f"SELECT key, value FROM {META_TABLE}").fetchall()}


def connect(path: Path | str, read_only: bool = True) -> Any:
    """An Ibis connection to the store: the way domain packages read the dataset (and, writable, store
    their own results beside it). DuckDB's own progress bar is off: commands show their own."""
    import ibis

    path = Path(path)
    if not path.exists():
        raise StoreError(f"{path}: no such store (build one with `icsys synth` or `icsys load`)")
    backend = ibis.duckdb.connect(str(path), read_only=read_only)
    backend.raw_sql("SET enable_progress_bar = false")
    return backend
