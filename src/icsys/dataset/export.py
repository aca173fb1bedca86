"""Write a table of the store to CSV or Parquet, whole or not at all."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from icsys.dataset.schema import TABLES
from icsys.dataset.store import ACCESS_LOG_TABLE, LOAD_LOG_TABLE, QUARANTINE_TABLE
from icsys.errors import InputError

if TYPE_CHECKING:
    from icsys.dataset.store import Store

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


def count_rows(store: Store, table: str) -> int:
    """Rows an export of `table` would write (for the audit record made before it)."""
    if table not in TABLES and table not in (QUARANTINE_TABLE, LOAD_LOG_TABLE, ACCESS_LOG_TABLE):
        raise ExportError(f"--table {table}: unknown table; tables are: {', '.join(TABLES)}")
    return int(store.con.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0])  # type: ignore[index]


def export_table(store: Store, table: str, out: Path) -> int:
    """Copy `table` to `out` (format from its extension); return the rows written."""
    out = Path(out)
    fmt = check_export(table, out)
    partial = out.with_name(f".{out.name}.partial")
    con = store.con
    try:
        con.execute(f"COPY (SELECT * FROM \"{table}\") TO '{_quote(partial)}' {fmt}")
        rows = con.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]  # type: ignore[index]
        os.replace(partial, out)
    finally:
        partial.unlink(missing_ok=True)
    return int(rows)


def check_export_all(out: Path) -> None:
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ExportError(f"--out {out}: for --all, give a new or empty folder")
    if not out.parent.exists():
        raise ExportError(f"--out {out}: folder {out.parent} does not exist")


def export_all(store: Store, out: Path) -> dict[str, int]:
    """Every table of the store (the dataset's, what icsys derived, icsys_meta) as `out/NAME.parquet`, the
    folder a Spark store reads (`--engine spark --spark-tables FOLDER`); whole or not at all."""
    out = Path(out)
    check_export_all(out)
    partial = out.with_name(f".{out.name}.partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir()
    con = store.con
    try:
        rows = {}
        for name in store.tables():
            con.execute(f"COPY (SELECT * FROM \"{name}\") TO '{_quote(partial / (name + '.parquet'))}' "
                        f"{FORMATS['.parquet']}")
            rows[name] = int(con.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0])  # type: ignore[index]
        if out.exists():
            out.rmdir()
        os.replace(partial, out)
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    return rows


def _quote(path: Path) -> str:
    return str(path).replace("'", "''")
