"""Write a table of the store to CSV or Parquet, whole or not at all."""

from __future__ import annotations

import os
from pathlib import Path

from icsys.dataset.schema import TABLES
from icsys.dataset.store import ACCESS_LOG_TABLE, LOAD_LOG_TABLE, QUARANTINE_TABLE, open_store
from icsys.errors import InputError

FORMATS = {".csv": "(FORMAT csv, HEADER true)", ".parquet": "(FORMAT parquet, COMPRESSION zstd)"}


class ExportError(InputError):
    """An export that cannot be done, with the reason."""


def check_export(table: str, out: Path) -> str:
    """The COPY format for `out`, or an ExportError naming what is wrong with the request."""
    fmt = FORMATS.get(out.suffix.lower())
    if fmt is None:
        raise ExportError(f"--out {out}: unknown format {out.suffix or '(none)'}; use .csv or .parquet")
    extra = (QUARANTINE_TABLE, LOAD_LOG_TABLE, ACCESS_LOG_TABLE)
    if table not in TABLES and table not in extra:
        raise ExportError(f"--table {table}: unknown table; tables are: {', '.join([*TABLES, *extra])}")
    if not out.parent.exists():
        raise ExportError(f"--out {out}: folder {out.parent} does not exist")
    return fmt


def count_rows(db: Path, table: str) -> int:
    """Rows an export of `table` would write (for the audit record made before it)."""
    if table not in TABLES and table not in (QUARANTINE_TABLE, LOAD_LOG_TABLE, ACCESS_LOG_TABLE):
        raise ExportError(f"--table {table}: unknown table; tables are: {', '.join(TABLES)}")
    con = open_store(db, read_only=True)
    try:
        return int(con.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0])
    finally:
        con.close()


def export_table(db: Path, table: str, out: Path) -> int:
    """Copy `table` to `out` (format from its extension); return the rows written."""
    out = Path(out)
    fmt = check_export(table, out)
    partial = out.with_name(f".{out.name}.partial")
    con = open_store(db, read_only=True)
    try:
        con.execute(f"COPY (SELECT * FROM \"{table}\") TO '{_quote(partial)}' {fmt}")
        rows = con.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]
        os.replace(partial, out)
    finally:
        con.close()
        partial.unlink(missing_ok=True)
    return int(rows)


def _quote(path: Path) -> str:
    return str(path).replace("'", "''")
