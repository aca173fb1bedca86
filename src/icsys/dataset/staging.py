"""Staging a file's rows and loading the valid ones: the steps every format shares (CSV and Parquet here, HES
and FHIR through their adapters), inside the transaction `ingest.load` opens. What was loaded, rejected and
why is gathered in a `LoadReport`."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import duckdb

from icsys.dataset import validate
from icsys.dataset.schema import Table
from icsys.dataset.store import QUARANTINE_TABLE
from icsys.dataset.validate import CHECKED, STAGE, Problem, quote, typed
from icsys.system import System

REPORT_LIMIT = 1000  # problems kept in a report; the count is always complete


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
                record: Callable[[], str] | None = None, extra_checks: list[str] | tuple[str, ...] = (),
                handled: frozenset[str] | set[str] = frozenset()) -> None:
    """Check the staged rows; insert the valid ones (only if there are no invalid ones, unless
    allow_rejects) and quarantine the invalid ones verbatim. An adapter's own checks: see check_staged."""
    bad = validate.check_staged(con, table, present, system, field_names, extra_checks, handled)
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
