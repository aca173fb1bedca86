"""Linking each source's person key to the person: the spine's one pseudonym across all sources.

A load stages its rows with the source's own person key (an NHS number, a PSEUDO_HESID, a token of a
pseudonymisation service) and `link_people` fills `person_id`, the dataset's pseudonym, from

- the re-identification store for NHS numbers (`icsys.access.reidentify`, its own database: the NHS number
  never enters the analytical store; the staged column is emptied once linked), and
- the `person_link` table of the store for every other kind of key (a key means something only within its
  source, so it is looked up by source, kind and value).

A key that links to no one is dealt with as the load's mode says: `known` refuses the row (quarantined with
the reason, or the whole load in strict mode), `create` allocates a new pseudonym (and a person row carrying
only that pseudonym, unless the rows are people themselves), `apart` moves the row to `unlinked_record`,
counted in the load report. Rows of people on the National Data Opt-out list are not loaded at all: the
analytical store serves planning and population health, purposes beyond individual care (docs/adr/010).

The re-identification store and the data manager's auditor are given by `reidentification(...)`, a context
the load opens around its work; a load of NHS numbers without one is refused. The links a load makes are held
by that context (and read back by the load's own look-ups) until the load calls `commit()` after its analytical
transaction has published: a load that fails or is rolled back leaves no link behind.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import duckdb

from icsys.dataset.validate import FileProblem, Problem, literal, nhs_number_valid, quote

if TYPE_CHECKING:
    from icsys.access import Auditor
    from icsys.access.reidentify import ReidentificationStore
    from icsys.dataset.staging import LoadReport

KEY_KINDS = ("nhs_number", "pseudo_hesid", "token")
MODES = ("known", "create", "apart")
LINK_TABLE = "person_link"
UNLINKED_TABLE = "unlinked_record"
KEYS = "_icsys_link_keys"  # distinct staged keys and the person each links to


@dataclass
class Reidentification:
    url: str
    auditor: Auditor
    _store: ReidentificationStore | None = None
    pending: dict[str, str] = field(default_factory=dict)  # NHS number -> pseudonym, linked by this load
    why: str = ""

    def link(self, links: dict[str, str], why: str) -> None:
        """Links of this load, written only by `commit` (after the analytical store has published)."""
        self.pending.update(links)
        self.why = why

    def person_ids(self, numbers: list[str]) -> dict[str, str]:
        """The links the store holds, and those this load has made, for `numbers`."""
        found = self.store.person_ids(self.auditor, numbers) if numbers else {}
        return found | {n: self.pending[n] for n in numbers if n in self.pending}

    def largest(self) -> int:
        held = int(self.store.largest_numeric_person_id() or 0)
        return max([held, *(int(p) for p in self.pending.values() if str(p).isdigit())])

    def check(self) -> None:
        """Before the analytical commit: the links this load would write fit the store (a pseudonym linked to two
        NHS numbers would otherwise fail only after the rows were published)."""
        if not self.pending:
            return
        from icsys.access.reidentify import TABLE, ReidentificationError

        ids = list(dict.fromkeys(self.pending.values()))
        if len(ids) < len(self.pending):
            raise ReidentificationError("the file links two NHS numbers to one person_id; nothing loaded")
        # the store's chunked look-up (an IN list of pseudonyms); no audit: only the load's own new links
        held = self.store._in_chunks(f"SELECT nhs_number, person_id FROM {TABLE} WHERE person_id IN ({{marks}})",
                                     ids)
        clash = [p for n, p in held if self.pending.get(n) != p]
        if clash:
            more = f" (and {len(clash) - 1} more)" if len(clash) > 1 else ""
            raise ReidentificationError(f"person_id {clash[0]}{more} of the file is already linked to another NHS "
                                        "number in the re-identification store; nothing loaded")

    def commit(self) -> None:
        """Write this load's links, in one transaction of the re-identification store."""
        if self.pending:
            self.store.link_many(self.auditor, self.pending, why=self.why)
            self.pending = {}

    @property
    def store(self) -> ReidentificationStore:
        """Opened when a load first needs it (a load without NHS numbers never touches it)."""
        if self._store is None:
            from icsys.access.reidentify import open_reidentification

            self._store = open_reidentification(self.url)
        return self._store


_CURRENT: ContextVar[Reidentification | None] = ContextVar("icsys_reidentification", default=None)


@contextmanager
def reidentification(url: str, auditor: Auditor) -> Iterator[Reidentification]:
    """The re-identification store (by URL) a load links NHS numbers through, and the auditor of its links.
    The links are written when the caller calls `commit()` on what it yields, after its own commit."""
    context = Reidentification(url, auditor)
    token = _CURRENT.set(context)
    try:
        yield context
    finally:
        _CURRENT.reset(token)


def link_people(con: duckdb.DuckDBPyConnection, report: LoadReport, stage: str, key_column: str, key_kind: str,
                source: str, mode: str, system: Any, *, people: bool = False, table_name: str = "",
                label: str = "") -> None:
    """Fill `person_id` of the staged table `stage` (text columns and `_row`, the row of the file) from each
    row's `key_column`, a person key of kind `key_kind`; rows that cannot be linked go as `mode` says and are
    counted in `report`. A row that already states a person_id keeps it, and its key is linked to it.
    `people`: the staged rows are the person table's own (so `create` adds no person row for them).
    `system` is the system definition (kept for adapters that scope a link by organisation). `label` names the
    key in messages as the source wrote it (an extract's NEWNHSNO), when `key_column` is a staging name."""
    if key_kind not in KEY_KINDS:
        raise ValueError(f"key kind {key_kind!r}: use one of {', '.join(KEY_KINDS)}")
    if mode not in MODES:
        raise FileProblem(f"--link {mode}: unknown; use one of {', '.join(MODES)}")
    report.link_mode, report.source = mode, source
    table_name = table_name or ("person" if people else stage)
    con.execute(f"ALTER TABLE {stage} ADD COLUMN IF NOT EXISTS person_id VARCHAR")
    # The key and the stated person_id worked out once (the checks below read them many times).
    raw = f"NULLIF(trim(regexp_replace(CAST({quote(key_column)} AS VARCHAR), '[ -]', '', 'g')), '')" \
        if key_kind == "nhs_number" else f"NULLIF(trim(CAST({quote(key_column)} AS VARCHAR)), '')"
    con.execute(f"ALTER TABLE {stage} ADD COLUMN IF NOT EXISTS _link_key VARCHAR")
    con.execute(f"ALTER TABLE {stage} ADD COLUMN IF NOT EXISTS _link_stated VARCHAR")
    con.execute(f"UPDATE {stage} SET _link_key = {raw}, _link_stated = NULLIF(trim(CAST(person_id AS VARCHAR)), '')")
    key, stated = "_link_key", "_link_stated"
    con.execute(f"DROP TABLE IF EXISTS {KEYS}")
    con.execute(f"CREATE TEMP TABLE {KEYS} AS SELECT {key} AS key, min(_row) AS first_row, "
                f"any_value({stated}) AS stated, count(DISTINCT {stated}) AS stated_count, "
                f"NULL::VARCHAR AS person_id, TRUE AS form_ok, TRUE AS valid, FALSE AS linked FROM {stage} "
                f"WHERE {key} IS NOT NULL GROUP BY 1")
    _refuse(con, report, stage, table_name, key_kind, key_column,
            f"{key} IS NULL AND {stated} IS NULL", f"{label or key_column}: missing: the row names no person")
    if key_kind == "nhs_number":
        con.execute(f"UPDATE {KEYS} SET form_ok = regexp_matches(key, '^[0-9]{{10}}$')")
        con.execute(f"UPDATE {KEYS} SET valid = CASE WHEN form_ok THEN {nhs_number_valid('key')} ELSE FALSE END")
        _refuse(con, report, stage, table_name, key_kind, key_column,
                f"{key} IN (SELECT key FROM {KEYS} WHERE NOT form_ok)",
                f"{label or key_column}: does not have the expected form of an NHS number (10 digits)")
        _refuse(con, report, stage, table_name, key_kind, key_column,
                f"{key} IN (SELECT key FROM {KEYS} WHERE NOT valid)",
                f"{label or key_column}: fails the NHS number check digit or is outside the NHS number ranges")
        con.execute(f"DELETE FROM {KEYS} WHERE NOT valid")
        _opt_out(con, report, stage, key)
        _known_nhs(con)
    else:
        con.execute(f"UPDATE {KEYS} k SET person_id = CAST(l.person_id AS VARCHAR) FROM {LINK_TABLE} l "
                    f"WHERE l.source = {literal(source)} AND l.key_kind = {literal(key_kind)} AND l.key_value = k.key")
    _conflicts(con, report, stage, table_name, key_kind, key_column, key)
    if not people and mode != "create":
        # a link must lead to a person of the store (a pseudonym may be older than a rolled-back load);
        # --link create makes that person, under the pseudonym the link already gives
        con.execute(f"UPDATE {KEYS} k SET person_id = NULL WHERE person_id IS NOT NULL AND NOT EXISTS "
                    f"(SELECT 1 FROM person p WHERE CAST(p.person_id AS VARCHAR) = k.person_id)")
    con.execute(f"UPDATE {KEYS} SET person_id = stated WHERE person_id IS NULL AND stated IS NOT NULL")
    unlinked = f"{stated} IS NULL AND {key} IN (SELECT key FROM {KEYS} WHERE person_id IS NULL)"
    if mode == "known":
        _refuse(con, report, stage, table_name, key_kind, key_column, unlinked,
                f"{label or key_column}: not linked to a known person (load the people first, or use --link create "
                "to add them, or --link apart to keep such rows apart)", unlinked=True)
    elif mode == "apart":
        _keep_apart(con, report, stage, table_name, key_kind, key_column, key, unlinked, source)
    else:
        _create(con, report, people, key_kind)
    _record_links(con, report, key_kind, source)
    con.execute(f"UPDATE {stage} s SET person_id = coalesce(s._link_stated, k.person_id) FROM {KEYS} k "
                "WHERE s._link_key = k.key")
    report.rows_linked += con.execute(f"SELECT count(*) FROM {stage} WHERE person_id IS NOT NULL").fetchone()[0]
    if key_kind == "nhs_number":  # the number has done its work: it does not enter the analytical store
        con.execute(f"UPDATE {stage} SET {quote(key_column)} = NULL")
    con.execute(f"ALTER TABLE {stage} DROP COLUMN _link_key")
    con.execute(f"ALTER TABLE {stage} DROP COLUMN _link_stated")
    con.execute(f"DROP TABLE IF EXISTS {KEYS}")


def _record(con: duckdb.DuckDBPyConnection, stage: str, key_kind: str, key_column: str) -> str:
    """The staged row as JSON, without the internal columns, and without the key if it is an NHS number."""
    columns = [r[0] for r in con.execute(f"DESCRIBE {stage}").fetchall()]
    keep = [c for c in columns if not c.startswith("_") and c != "person_id"
            and not (key_kind == "nhs_number" and c == key_column)]
    return "json_object(" + ", ".join(f"{literal(c)}, s.{quote(c)}" for c in keep) + ")::VARCHAR"


def _refuse(con: duckdb.DuckDBPyConnection, report: LoadReport, stage: str, table_name: str, key_kind: str,
            key_column: str, where: str, reason: str, unlinked: bool = False) -> None:
    """Rows that cannot be linked are quarantined with the reason (the whole load fails in strict mode)."""
    rows = [r[0] for r in con.execute(f"SELECT _row FROM {stage} WHERE {where} ORDER BY _row").fetchall()]
    if not rows:
        return
    field, _, why = reason.partition(": ")
    report.rows_rejected += len(rows)
    report.problem_count += len(rows)
    if unlinked:
        report.rows_unlinked += len(rows)
    room = max(0, 1000 - len(report.problems))
    report.problems += [Problem(report.file, int(r), field, why) for r in rows[:room]]
    con.execute(f"INSERT INTO quarantine (load_id, loaded_at, table_name, file, row_number, reasons, record) "
                f"SELECT {literal(report.load_id)}, now()::TIMESTAMP, {literal(table_name)}, {literal(report.file)}, "
                f"_row, {literal(reason)}, {_record(con, stage, key_kind, key_column)} FROM {stage} s WHERE {where}")
    con.execute(f"DELETE FROM {stage} WHERE {where}")


def _opt_out(con: duckdb.DuckDBPyConnection, report: LoadReport, stage: str, key: str) -> None:
    """People on the National Data Opt-out list: their rows are not loaded (and not kept: nothing of them)."""
    numbers = [r[0] for r in con.execute(f"SELECT key FROM {KEYS}").fetchall()]
    found = _context().store.opted_out(numbers) if numbers else set()
    if not found:
        return
    import pyarrow as pa

    con.register("_icsys_opted_out_list", pa.table({"key": sorted(found)}))
    con.execute("CREATE OR REPLACE TEMP TABLE _icsys_opted_out AS SELECT key FROM _icsys_opted_out_list")
    con.unregister("_icsys_opted_out_list")
    gone = con.execute(f"DELETE FROM {stage} WHERE {key} IN (SELECT key FROM _icsys_opted_out)").fetchone()[0]
    con.execute(f"DELETE FROM {KEYS} WHERE key IN (SELECT key FROM _icsys_opted_out)")
    con.execute("DROP TABLE _icsys_opted_out")
    report.rows_opted_out += int(gone)


def _context() -> Reidentification:
    found = _CURRENT.get()
    if found is None:
        raise FileProblem("this file carries NHS numbers, which are linked through the re-identification store: "
                          "give --reid URL (or load through `icsys load`, which opens the default one)")
    return found


def _known_nhs(con: duckdb.DuckDBPyConnection) -> None:
    numbers = [r[0] for r in con.execute(f"SELECT key FROM {KEYS}").fetchall()]
    found = _context().person_ids(numbers)
    if found:
        import pyarrow as pa

        con.register("_icsys_found", pa.table({"key": list(found), "person_id": list(found.values())}))
        try:
            con.execute(f"UPDATE {KEYS} k SET person_id = f.person_id, linked = TRUE FROM _icsys_found f "
                        "WHERE k.key = f.key")
        finally:
            con.unregister("_icsys_found")
    foreign = con.execute(f"SELECT count(*) FROM {KEYS} WHERE NOT regexp_matches(person_id, '^[0-9]+$')"
                          ).fetchone()[0]
    if foreign:  # linked by the care service to a person it registered: not one of this store's pseudonyms
        con.execute(f"UPDATE {KEYS} SET person_id = NULL WHERE NOT regexp_matches(person_id, '^[0-9]+$')")


def _conflicts(con: duckdb.DuckDBPyConnection, report: LoadReport, stage: str, table_name: str, key_kind: str,
               key_column: str, key: str) -> None:
    """A row that states a person_id other than the one its key links to, or a key stated with two."""
    bad = f"SELECT key FROM {KEYS} WHERE stated_count > 1 OR (person_id IS NOT NULL AND stated IS NOT NULL AND " \
          "person_id <> stated)"
    _refuse(con, report, stage, table_name, key_kind, key_column, f"{key} IN ({bad})",
            f"{key_column}: linked to another person than the row's person_id")
    con.execute(f"DELETE FROM {KEYS} WHERE key IN ({bad})")


def _keep_apart(con: duckdb.DuckDBPyConnection, report: LoadReport, stage: str, table_name: str, key_kind: str,
                key_column: str, key: str, unlinked: str, source: str) -> None:
    value = "NULL" if key_kind == "nhs_number" else key
    moved = con.execute(
        f"INSERT INTO {UNLINKED_TABLE} (load_id, loaded_at, source, table_name, row_number, key_kind, key_value, "
        f"record) SELECT {literal(report.load_id)}, now()::TIMESTAMP, {literal(source)}, {literal(table_name)}, "
        f"_row, {literal(key_kind)}, {value}, {_record(con, stage, key_kind, key_column)} FROM {stage} s "
        f"WHERE {unlinked}").fetchone()[0]
    report.rows_unlinked += int(moved)
    con.execute(f"DELETE FROM {stage} WHERE {unlinked}")
    con.execute(f"DELETE FROM {KEYS} WHERE person_id IS NULL")


def check_links() -> None:
    """The links of the current load fit the re-identification store (see Reidentification.check)."""
    found = _CURRENT.get()
    if found is not None:
        found.check()


def nhs_person(con: duckdb.DuckDBPyConnection, nhs: str) -> tuple[str, str | None] | None:
    """The person of this store an NHS number is linked to (through the re-identification store) and their
    practice, or None: for adapters (FHIR) that resolve one reference at a time."""
    found = _context().person_ids([nhs]).get(nhs)
    if found is None or not str(found).isdigit():  # a care-service person is not one of this store's pseudonyms
        return None
    row = con.execute("SELECT practice_code FROM person WHERE person_id = ?", [int(found)]).fetchone()
    return (str(found), row[0]) if row else None


def largest_pseudonym(con: duckdb.DuckDBPyConnection) -> int:
    """The largest pseudonym given by the store or the re-identification store: new people go above it."""
    largest = int(con.execute("SELECT coalesce(max(person_id), 0) FROM person").fetchone()[0])
    ctx = _CURRENT.get()
    if ctx is not None:  # a pseudonym linked to an NHS number by a load that was rolled back is still taken
        largest = max(largest, ctx.largest())
    return largest


def link_new_nhs(report: LoadReport, links: dict[str, str]) -> None:
    """Record the NHS numbers of people an adapter created (number -> new pseudonym) in the
    re-identification store; the numbers themselves never enter the analytical store."""
    _context().link(links, why=f"load {report.load_id}")


def _create(con: duckdb.DuckDBPyConnection, report: LoadReport, people: bool, key_kind: str) -> None:
    """A new pseudonym for each key that links to no one, above every pseudonym the store or the
    re-identification store has given (so one is never given twice), in the order of the file."""
    largest = largest_pseudonym(con)
    stated = con.execute(f"SELECT coalesce(max(TRY_CAST(stated AS BIGINT)), 0) FROM {KEYS}").fetchone()[0]
    base = max(int(largest), int(stated))
    con.execute(f"UPDATE {KEYS} k SET person_id = CAST(n.id AS VARCHAR) FROM (SELECT key, {base} + row_number() "
                f"OVER (ORDER BY first_row) AS id FROM {KEYS} WHERE person_id IS NULL) n WHERE k.key = n.key")
    new = (f"SELECT DISTINCT CAST(person_id AS BIGINT) AS person_id FROM {KEYS} k WHERE person_id IS NOT NULL AND "
           "NOT EXISTS (SELECT 1 FROM person p WHERE p.person_id = CAST(k.person_id AS BIGINT))")
    report.people_created += con.execute(f"SELECT count(*) FROM ({new})").fetchone()[0]
    if not people:  # the person row carries only the pseudonym until a registration extract comes
        con.execute(f"INSERT INTO person (person_id) {new}")


def _record_links(con: duckdb.DuckDBPyConnection, report: LoadReport, key_kind: str, source: str) -> None:
    """New links: NHS numbers to the re-identification store, other keys to person_link."""
    if key_kind == "nhs_number":
        new = con.execute(f"SELECT key, person_id FROM {KEYS} WHERE person_id IS NOT NULL AND NOT linked").fetchall()
        _context().link(dict(new), why=f"load {report.load_id}")
        return
    con.execute(f"INSERT INTO {LINK_TABLE} (source, key_kind, key_value, person_id, load_id, linked_at) "
                f"SELECT {literal(source)}, {literal(key_kind)}, key, CAST(person_id AS BIGINT), "
                f"{literal(report.load_id)}, now()::TIMESTAMP FROM {KEYS} k WHERE person_id IS NOT NULL AND NOT EXISTS "
                f"(SELECT 1 FROM {LINK_TABLE} l WHERE l.source = {literal(source)} AND l.key_kind = "
                f"{literal(key_kind)} AND l.key_value = k.key)")
