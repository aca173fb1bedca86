"""Loading files into the store: validated against the schema, all or nothing.

The rows are staged and checked by `staging` (which the HES and FHIR adapters use too); this module opens the
store, picks the adapter and commits. Strict by default: if any row is invalid nothing is loaded and the
report names every problem by file, row, field and reason. With `allow_rejects` the valid rows are loaded and
every invalid row is kept verbatim, with its reasons, in the `quarantine` table. Either way a load is one
transaction: a process killed midway leaves the store as it was.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import duckdb

from icsys.access import Auditor, policy
from icsys.access.reidentify import ReidentificationError
from icsys.dataset import commissioner
from icsys.dataset.adapters.extract import load_extract
from icsys.dataset.adapters.fhir import load_fhir
from icsys.dataset.adapters.mapping import formats as extract_formats
from icsys.dataset.adapters.mapping import recognise
from icsys.dataset.adapters.reading import fields as header_fields
from icsys.dataset.linkage import MODES, check_links, reidentification
from icsys.dataset.schema import TABLES
from icsys.dataset.staging import LoadReport, load_table_file
from icsys.dataset.store import LOAD_LOG_TABLE, Store, StoreError
from icsys.dataset.validate import FileProblem
from icsys.errors import InputError
from icsys.system import System, load_system

# Table files, FHIR, and every extract layout in adapters/mappings/ (a new layout is a file there).
FORMATS = ("csv", "parquet", *extract_formats(), "fhir")


class LoadError(InputError):
    """A file-level problem: the load did not start or was refused whole."""


class LoadRejected(Exception):
    """Rows were invalid in strict mode: nothing was loaded. Carries the report."""

    def __init__(self, report: LoadReport) -> None:
        super().__init__(f"{report.file}: {report.rows_rejected} invalid row(s); nothing loaded")
        self.report = report


def detect_format(file: Path, fmt: str | None, table: str | None = None) -> str:
    """The format given, else an extract layout the file's header is (when no table is named), else the
    format of the file's extension."""
    if fmt:
        if fmt not in FORMATS:
            raise LoadError(f"--format {fmt}: unknown; use one of {', '.join(FORMATS)}")
        return fmt
    by_suffix = {".csv": "csv", ".parquet": "parquet", ".json": "fhir", ".ndjson": "fhir"}
    found = by_suffix.get(file.suffix.lower())
    if found != "fhir" and not table and file.is_file() and file.stat().st_size:
        try:
            layout = recognise(header_fields(file))
        except (FileProblem, OSError, UnicodeDecodeError):
            layout = None
        found = layout or found
    if not found:
        raise LoadError(f"{file}: cannot tell the format from the extension {file.suffix or '(none)'}; "
                        f"give --format ({', '.join(FORMATS)})")
    return found


def reid_beside(store: Store) -> str:
    """The default re-identification store of a DuckDB store: `<store name>.reid.sqlite` in its folder."""
    from icsys.access.audit import sqlite_url

    path = Path(store.path or store.location)
    return sqlite_url(path.with_name(f"{path.stem}.reid.sqlite"))


def load(store: Store, table: str | None, file: Path, fmt: str | None = None, allow_rejects: bool = False,
         system: System | None = None, *, auditor: Auditor, link: str | None = None, source: str | None = None,
         refresh: bool = False, reid: str | None = None) -> LoadReport:
    """Validate `file` and load it into the store, in one transaction; see the module docstring. Only an
    actor who may load does; the auditor records the load inside its transaction (no record, no load).
    `link` (known, create or apart) says what to do with rows whose person key links to no one (default:
    create for the person table, known for the rest); `source` names the source the person keys belong to
    (default FORMAT:TABLE); `refresh`: the file restates the months it covers, which it replaces whole; `reid` is the
    re-identification store's URL (default beside the store) that NHS numbers are linked through."""
    policy.require(auditor.actor, policy.LOAD)
    if link is not None and link not in MODES:
        raise LoadError(f"--link {link}: unknown; use one of {', '.join(MODES)}")
    file = Path(file)
    fmt = detect_format(file, fmt, table)
    if not file.exists():
        raise LoadError(f"{file}: no such file")
    if file.is_dir():
        raise LoadError(f"{file}: is a folder, not a file")
    if file.stat().st_size == 0:
        raise LoadError(f"{file}: is empty")
    if fmt in ("csv", "parquet") and not table:
        raise LoadError(f"{file}: say which table to load it into with --table ({', '.join(TABLES)})")
    if table and table not in TABLES:
        raise LoadError(f"--table {table}: unknown table; tables are: {', '.join(TABLES)}")
    report = LoadReport(load_id=uuid.uuid4().hex[:12], file=str(file), format=fmt, strict=not allow_rejects,
                        link_mode=link or "")
    options = {"link": link, "source": source, "refresh": refresh}
    try:
        with reidentification(reid or reid_beside(store), auditor) as links:
            with store.transaction() as tx:
                # a failed load publishes nothing (a first one leaves no store)
                _run(tx.con, report, fmt, table, file, system or load_system(), allow_rejects, auditor,
                     store.location, options)
            try:  # only once the analytical store has published: a rolled-back load links no one
                links.commit()
            except ReidentificationError as exc:
                raise LoadError(f"{file}: loaded (load {report.load_id}), but the NHS-number links of its new people "
                                f"could not be written to the re-identification store ({exc}): their rows are in "
                                "the store, but a later file will not find them by NHS number") from exc
    except (StoreError, ReidentificationError) as exc:
        raise LoadError(str(exc)) from exc
    return report


def _run(con: duckdb.DuckDBPyConnection, report: LoadReport, fmt: str, table: str | None, file: Path,
         system: System, allow_rejects: bool, auditor: Auditor, destination: str, options: dict) -> None:
    con.execute("BEGIN TRANSACTION")
    try:
        if fmt in ("csv", "parquet"):
            load_table_file(con, report, TABLES[table], file, fmt, system, allow_rejects,  # type: ignore[index]
                            **options)
        elif fmt in extract_formats():
            load_extract(con, report, fmt, file, system, allow_rejects, link=options["link"] or "known",
                         source=options["source"], refresh=options["refresh"])
        else:
            load_fhir(con, report, file, system, allow_rejects)
        if report.rows_rejected and not allow_rejects:
            raise LoadRejected(report)
        _mark(con, report, system)
        check_links()
        _log(con, report, auditor.actor.user)
        loaded = ", ".join(f"{t} {n:,} rows" for t, n in report.loaded.items()) or "no rows"
        auditor.record(policy.LOAD, f"file {report.file} ({report.format}): {loaded}, "
                       f"{report.rows_rejected:,} quarantined", people=None, destination=destination)
    except FileProblem as exc:
        con.execute("ROLLBACK")
        raise LoadError(str(exc)) from exc
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


def _mark(con: duckdb.DuckDBPyConnection, report: LoadReport, system: System) -> None:
    """The loaded rows flagged: providers outside the ICS, the responsible commissioner, people registered
    outside it (icsys.dataset.commissioner)."""
    for name in report.loaded:
        if name in TABLES:
            outside, not_ours = commissioner.mark(con, TABLES[name], system)
            report.rows_outside_provider += outside
            report.rows_not_commissioned += not_ours


def _log(con: duckdb.DuckDBPyConnection, report: LoadReport, who: str) -> None:
    """Who loaded what into which table, when, inside the load's own transaction (so it is there
    exactly when the rows are)."""
    quarantined, once = report.rows_rejected, True
    for table, rows in (report.loaded or {"(none)": 0}).items():
        counts = [report.rows_replaced, report.rows_unlinked, report.rows_opted_out] if once else [0, 0, 0]
        con.execute(f"INSERT INTO {LOAD_LOG_TABLE} (load_id, loaded_at, loaded_by, file, format, table_name, "
                    "rows_loaded, rows_quarantined, rows_replaced, rows_unlinked, rows_opted_out, link_mode, source) "
                    "VALUES (?, now()::TIMESTAMP, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [report.load_id, who, report.file, report.format, table, rows, quarantined, *counts,
                     report.link_mode or None, report.source or report.format])
        quarantined, once = 0, False
