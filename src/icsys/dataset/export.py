"""Write a table of the store to CSV or Parquet, whole or not at all, as the actor may see it: a table of
person-level rows is cut to the actor's scope (pseudonymised for an analyst, its organisations' people for
a clinician) and its release recorded by the Auditor before the file is put in place."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from icsys.access import Auditor, policy
from icsys.dataset.schema import ALL_TABLES
from icsys.dataset.store import QUARANTINE_TABLE
from icsys.errors import InputError

if TYPE_CHECKING:
    from icsys.dataset.store import Store

FORMATS = (".csv", ".parquet")
# Rows as a source sent them (refused, or not linked) and each source's person keys: a data manager's only.
RAW_TABLES = (QUARANTINE_TABLE, "unlinked_record", "person_link")


class ExportError(InputError):
    """An export that cannot be done, with the reason."""


def check_export(table: str, out: Path) -> str:
    """The format of `out`, or an ExportError naming what is wrong with the request."""
    fmt = out.suffix.lower()
    if fmt not in FORMATS:
        raise ExportError(f"--out {out}: unknown format {out.suffix or '(none)'}; use .csv or .parquet")
    if table not in ALL_TABLES:  # the dataset's own tables and those icsys derives, as the schema declares
        raise ExportError(f"--table {table}: unknown table; tables are: {', '.join(ALL_TABLES)}")
    if not out.parent.exists():
        raise ExportError(f"--out {out}: folder {out.parent} does not exist")
    return fmt


def export_table(store: Store, table: str, out: Path, *, auditor: Auditor) -> int:
    """Copy `table` to `out` (format from its extension) as the auditor's actor may see it; return the
    rows written. The release is recorded (people: distinct person_id) before the file appears."""
    out = Path(out)
    fmt = check_export(table, out)
    actor = auditor.actor
    partial = out.with_name(f".{out.name}.partial")
    backend = store.backend
    try:
        expr = backend.table(table)
        people = None
        if table in RAW_TABLES:  # raw records and source keys: identifiable, not cut by organisation
            policy.require(actor, policy.EXPORT, identifiable=True, all_organisations=True)
        elif "person_id" in expr.columns:
            person = backend.table("person") if table != "person" else None
            expr = policy.scope(actor, policy.EXPORT).ibis_view(expr, people=person)
        else:
            policy.require(actor, policy.EXPORT)
        if fmt == ".csv":
            backend.to_csv(expr, partial, header=True)
        else:
            backend.to_parquet(expr, partial, compression="zstd")
        rows = int(expr.count().execute())
        if "person_id" in expr.columns:
            people = int(expr.person_id.nunique().execute())
        auditor.record(policy.EXPORT, f"table {table}", people=people,
                       destination=str(out))  # no record, no file
        os.replace(partial, out)
    finally:
        partial.unlink(missing_ok=True)
    return rows


def check_export_all(out: Path) -> None:
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ExportError(f"--out {out}: for --all, give a new or empty folder")
    if not out.parent.exists():
        raise ExportError(f"--out {out}: folder {out.parent} does not exist")


def export_all(store: Store, out: Path, *, auditor: Auditor) -> dict[str, int]:
    """Every table of the store (the dataset's, what icsys derived, icsys_meta) as `out/NAME.parquet`, the
    folder a Spark store reads (`--engine spark --spark-tables FOLDER`); whole or not at all. A copy of the
    whole store is identifiable data of every organisation (a data manager's release), recorded by the
    Auditor before the folder appears."""
    out = Path(out)
    check_export_all(out)
    policy.require(auditor.actor, policy.EXPORT, identifiable=True, all_organisations=True)
    partial = out.with_name(f".{out.name}.partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir()
    con = store.con
    try:
        rows = {}
        for name in store.tables():
            con.execute(f"COPY (SELECT * FROM \"{name}\") TO '{_quote(partial / (name + '.parquet'))}' "
                        "(FORMAT parquet, COMPRESSION zstd)")
            rows[name] = int(con.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0])  # type: ignore[index]
        people = rows.get("person")
        auditor.record(policy.EXPORT, "every table", people=people, destination=str(out))  # no record, no folder
        if out.exists():
            out.rmdir()
        os.replace(partial, out)
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    return rows


def _quote(path: Path) -> str:
    return str(path).replace("'", "''")
