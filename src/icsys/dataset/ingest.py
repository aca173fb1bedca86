"""Loading files into the store: validated against the schema, all or nothing.

Strict by default: if any row is invalid nothing is loaded and the report names every problem by
file, row, field and reason. With `allow_rejects` the valid rows are loaded and every invalid row is
kept verbatim, with its reasons, in the `quarantine` table. Either way a load is one transaction:
a process killed midway leaves the store as it was.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import duckdb

from icsys.access import Auditor, policy
from icsys.dataset import validate
from icsys.dataset.schema import TABLES, Table
from icsys.dataset.store import LOAD_LOG_TABLE, QUARANTINE_TABLE, StoreError, open_store
from icsys.dataset.validate import CHECKED, STAGE, FileProblem, Problem, quote, typed
from icsys.errors import InputError
from icsys.system import System, load_system

FORMATS = ("csv", "parquet", "hes-apc", "hes-ae", "hes-op", "fhir")
REPORT_LIMIT = 1000  # problems kept in a report; the count is always complete


class LoadError(InputError):
    """A file-level problem: the load did not start or was refused whole."""


class LoadRejected(Exception):
    """Rows were invalid in strict mode: nothing was loaded. Carries the report."""

    def __init__(self, report: LoadReport) -> None:
        super().__init__(f"{report.file}: {report.rows_rejected} invalid row(s); nothing loaded")
        self.report = report


@dataclass
class LoadReport:
    load_id: str
    file: str
    format: str
    loaded: dict[str, int] = field(default_factory=dict)  # table -> rows loaded
    rows_rejected: int = 0
    problem_count: int = 0
    problems: list[Problem] = field(default_factory=list)
    strict: bool = True

    def to_text(self, limit: int = 50) -> str:
        lines = []
        if self.rows_rejected and self.strict:
            lines.append(f"{self.file}: rejected: {self.rows_rejected:,} invalid row(s), nothing loaded")
        for table, rows in self.loaded.items():
            lines.append(f"{self.file}: loaded {rows:,} row(s) into {table} (load {self.load_id})")
        if self.rows_rejected and not self.strict:
            lines.append(f"{self.file}: {self.rows_rejected:,} invalid row(s) kept in {QUARANTINE_TABLE} "
                         f"with their reasons (load {self.load_id})")
        lines += [str(p) for p in self.problems[:limit]]
        if self.problem_count > limit:
            lines.append(f"... and {self.problem_count - limit:,} more problem(s)")
        return "\n".join(lines)

    def to_json(self) -> str:
        data = asdict(self)
        data["problems"] = [asdict(p) for p in self.problems]
        return json.dumps(data, indent=2)


def detect_format(file: Path, fmt: str | None) -> str:
    if fmt:
        if fmt not in FORMATS:
            raise LoadError(f"--format {fmt}: unknown; use one of {', '.join(FORMATS)}")
        return fmt
    by_suffix = {".csv": "csv", ".parquet": "parquet", ".json": "fhir", ".ndjson": "fhir"}
    found = by_suffix.get(file.suffix.lower())
    if not found:
        raise LoadError(f"{file}: cannot tell the format from the extension {file.suffix or '(none)'}; "
                        f"give --format ({', '.join(FORMATS)})")
    return found


def load(db: Path, table: str | None, file: Path, fmt: str | None = None, allow_rejects: bool = False,
         system: System | None = None, *, auditor: Auditor) -> LoadReport:
    """Validate `file` and load it into the store at `db`; see the module docstring. Only an actor who may
    load does; the auditor records the load inside its transaction (no record, no load)."""
    policy.require(auditor.actor, policy.LOAD)
    db, file = Path(db), Path(file)
    fmt = detect_format(file, fmt)
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
    new_store = not db.exists()
    try:
        con = open_store(db)
    except StoreError as exc:
        raise LoadError(str(exc)) from exc
    report = LoadReport(load_id=uuid.uuid4().hex[:12], file=str(file), format=fmt, strict=not allow_rejects)
    try:
        _run(con, report, fmt, table, file, system or load_system(), allow_rejects, auditor)
    except BaseException:
        con.close()
        if new_store:  # a failed first load leaves no empty store behind
            db.unlink(missing_ok=True)
            Path(f"{db}.wal").unlink(missing_ok=True)
        raise
    con.close()
    return report


def _run(con: duckdb.DuckDBPyConnection, report: LoadReport, fmt: str, table: str | None, file: Path,
         system: System, allow_rejects: bool, auditor: Auditor) -> None:
    con.execute("BEGIN TRANSACTION")
    try:
        if fmt in ("csv", "parquet"):
            load_table_file(con, report, TABLES[table], file, fmt, system, allow_rejects)  # type: ignore[index]
        elif fmt.startswith("hes-"):
            from icsys.dataset.adapters.hes import load_hes

            load_hes(con, report, fmt, file, system, allow_rejects)
        else:
            from icsys.dataset.adapters.fhir import load_fhir

            load_fhir(con, report, file, system, allow_rejects)
        if report.rows_rejected and not allow_rejects:
            raise LoadRejected(report)
        _log(con, report, auditor.actor.user)
        loaded = ", ".join(f"{t} {n:,} rows" for t, n in report.loaded.items()) or "no rows"
        auditor.record(policy.LOAD, f"file {report.file} ({report.format}): {loaded}, "
                       f"{report.rows_rejected:,} quarantined", people=None, destination=str(con_path(con)))
    except FileProblem as exc:
        con.execute("ROLLBACK")
        raise LoadError(str(exc)) from exc
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


def con_path(con: duckdb.DuckDBPyConnection) -> str:
    return str(con.execute("SELECT path FROM duckdb_databases() WHERE database_name = current_database()")
               .fetchone()[0])


def _log(con: duckdb.DuckDBPyConnection, report: LoadReport, who: str) -> None:
    """Who loaded what into which table, when, inside the load's own transaction (so it is there
    exactly when the rows are)."""
    quarantined = report.rows_rejected
    for table, rows in (report.loaded or {"(none)": 0}).items():
        con.execute(f"INSERT INTO {LOAD_LOG_TABLE} VALUES (?, now()::TIMESTAMP, ?, ?, ?, ?, ?, ?)",
                    [report.load_id, who, report.file, report.format, table, rows, quarantined])
        quarantined = 0


def load_table_file(con: duckdb.DuckDBPyConnection, report: LoadReport, table: Table, file: Path, fmt: str,
                    system: System, allow_rejects: bool) -> None:
    """A CSV or Parquet file of one table. A clean file takes the fast path (read once into its types,
    checked with set-wise predicates); any doubt sends it down the slow path, which names each problem."""
    columns = validate.file_columns(con, file, fmt)
    validate.check_columns(table, columns, str(file))
    try:
        after, inserted = validate.insert_typed(con, table, file, fmt, columns)
        if validate.typed_is_valid(con, table, columns, system, after):
            report.loaded[table.name] = inserted
            return
    except duckdb.Error:
        pass  # a value that does not fit its type: the slow path will name it
    con.execute("ROLLBACK")
    con.execute("BEGIN TRANSACTION")
    columns = validate.stage_file(con, file, fmt)
    load_staged(con, report, table, columns, system, allow_rejects)


def load_staged(con: duckdb.DuckDBPyConnection, report: LoadReport, table: Table, present: list[str], system: System,
                allow_rejects: bool, field_names: dict[str, str] | None = None,
                record: Callable[[], str] | None = None) -> None:
    """Check the staged rows; insert the valid ones (only if there are no invalid ones, unless
    allow_rejects) and quarantine the invalid ones verbatim."""
    bad = validate.check_staged(con, table, present, system, field_names)
    if bad:
        report.rows_rejected += bad
        report.problem_count += con.execute(f"SELECT sum(len(problems)) FROM {CHECKED}").fetchone()[0]
        report.problems += validate.problems(con, report.file, REPORT_LIMIT - len(report.problems))
        if not allow_rejects:
            return
    cols = [c for c in table.column_names if c in present]
    values = ", ".join(typed(table.column(c)) for c in cols)
    inserted = con.execute(
        f"INSERT INTO {quote(table.name)} ({', '.join(quote(c) for c in cols)}) SELECT {values} FROM {STAGE} s "
        f"JOIN {CHECKED} c USING (_row) WHERE len(c.problems) = 0").fetchone()[0]
    report.loaded[table.name] = report.loaded.get(table.name, 0) + int(inserted)
    if bad:
        raw = record() if record else "json_object(" + ", ".join(
            f"{validate.literal(c)}, s.{quote(c)}" for c in present) + ")"
        con.execute(
            f"INSERT INTO {QUARANTINE_TABLE} SELECT {validate.literal(report.load_id)}, now()::TIMESTAMP, "
            f"{validate.literal(table.name)}, {validate.literal(report.file)}, s._row, "
            f"array_to_string(c.problems, '; '), {raw}::VARCHAR FROM {STAGE} s JOIN {CHECKED} c USING (_row) "
            f"WHERE len(c.problems) > 0")
