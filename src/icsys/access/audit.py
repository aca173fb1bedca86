"""The audit log: one append-only database of every release of personal data, written only by an `Auditor`.

The audit database is chosen by a URL: `sqlite:///relative/path`, `sqlite:////absolute/path` (the default
is a file beside the store) or `postgresql://user:password@host/database` (psycopg 3). It is never the
analytical store: the web opens that read-only, and an audit record must survive a rebuilt store. The
database itself refuses to change a record: on SQLite, triggers abort any UPDATE or DELETE; on PostgreSQL,
triggers refuse UPDATE, DELETE and TRUNCATE, and `grant_writer` gives an application role INSERT and
SELECT only.

    auditor = Auditor(actor, open_audit("sqlite:///data/demo.audit.sqlite"))
    auditor.record("export", "inpatient_spell", people=1234, destination="out/spells.parquet")
    auditor.record("read", "care.care_plan v3", people=1, destination="api", person="P1A2B3C")

A record about one person names them (`person`, the care service's pseudonym), so that the privacy officer
can list every access to one person (`records(person=...)`, indexed). On PostgreSQL each server thread keeps
its connection (`kept_connection`): opening one per record cost more than the request it audited.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from icsys.access.actor import Actor, ActorError
from icsys.access.policy import ACTIONS
from icsys.errors import InputError

TABLE = "audit_record"
COLUMNS = ("recorded_at", "actor_user", "actor_roles", "actor_organisations", "authentication", "action",
           "purpose", "what", "people", "destination", "person")
APPEND_ONLY = "audit records are append-only"

_SQLITE_DDL = [
    f"""CREATE TABLE IF NOT EXISTS {TABLE} (
        id INTEGER PRIMARY KEY AUTOINCREMENT, recorded_at TEXT NOT NULL, actor_user TEXT NOT NULL,
        actor_roles TEXT NOT NULL, actor_organisations TEXT NOT NULL, authentication TEXT NOT NULL,
        action TEXT NOT NULL, purpose TEXT, what TEXT NOT NULL, people INTEGER, destination TEXT NOT NULL,
        person TEXT)""",
    f"""CREATE TRIGGER IF NOT EXISTS {TABLE}_no_update BEFORE UPDATE ON {TABLE}
        BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}'); END""",
    f"""CREATE TRIGGER IF NOT EXISTS {TABLE}_no_delete BEFORE DELETE ON {TABLE}
        BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}'); END""",
]
_POSTGRES_DDL = [
    f"""CREATE TABLE IF NOT EXISTS {TABLE} (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, recorded_at TIMESTAMPTZ NOT NULL,
        actor_user TEXT NOT NULL, actor_roles TEXT NOT NULL, actor_organisations TEXT NOT NULL,
        authentication TEXT NOT NULL, action TEXT NOT NULL, purpose TEXT, what TEXT NOT NULL, people BIGINT,
        destination TEXT NOT NULL, person TEXT)""",
    f"""CREATE OR REPLACE FUNCTION {TABLE}_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION '{APPEND_ONLY}: % refused', TG_OP; END $$""",
    f"DROP TRIGGER IF EXISTS {TABLE}_no_change ON {TABLE}",
    f"""CREATE TRIGGER {TABLE}_no_change BEFORE UPDATE OR DELETE ON {TABLE}
        FOR EACH ROW EXECUTE FUNCTION {TABLE}_refuse()""",
    f"DROP TRIGGER IF EXISTS {TABLE}_no_truncate ON {TABLE}",
    f"""CREATE TRIGGER {TABLE}_no_truncate BEFORE TRUNCATE ON {TABLE}
        FOR EACH STATEMENT EXECUTE FUNCTION {TABLE}_refuse()""",
    f"REVOKE UPDATE, DELETE, TRUNCATE ON {TABLE} FROM PUBLIC",
]
# Databases made before records named their person: the column (empty in old records) and its index.
_PERSON_COLUMN = f"ALTER TABLE {TABLE} ADD COLUMN person TEXT"
_PERSON_INDEX = f"CREATE INDEX IF NOT EXISTS {TABLE}_person ON {TABLE} (person, id)"


class AuditError(InputError):
    """The audit database cannot be opened or written: nothing is released unrecorded."""


@dataclass(frozen=True)
class AuditRecord:
    """One release of personal data: when, who (user, roles, organisations, how authenticated), what was
    done (action), why (purpose), to what (a table, a cohort, a person), to how many people and where."""

    actor: Actor
    action: str
    what: str
    people: int | None
    destination: str
    person: str | None = None
    recorded_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def row(self) -> tuple[Any, ...]:
        a = self.actor
        return (self.recorded_at, a.user, ",".join(a.roles), ",".join(a.organisations), a.authentication,
                self.action, a.purpose, self.what, self.people, self.destination, self.person)


class _Kept(threading.local):
    def __init__(self) -> None:
        self.connections: dict[str, Any] = {}


_KEPT = _Kept()


def kept_connection(url: str, connect: Callable[[], Any]) -> Any:
    """This thread's open PostgreSQL connection to `url`, made by `connect` the first time (and again when
    the last one broke or was left inside a transaction): one connection per server thread, not per record."""
    con = _KEPT.connections.get(url)
    if con is not None and (con.closed or con.broken or con.info.transaction_status != _idle()):
        drop_connection(url)
        con = None
    if con is None:
        con = _KEPT.connections[url] = connect()
    return con


def drop_connection(url: str) -> None:
    """Forget (and close) this thread's connection to `url`: after an error, the next use connects afresh."""
    con = _KEPT.connections.pop(url, None)
    if con is not None:
        with contextlib.suppress(Exception):  # a broken connection may fail to close: forgotten either way
            con.close()


def _idle() -> Any:
    from psycopg.pq import TransactionStatus

    return TransactionStatus.IDLE


class AuditDatabase:
    """The append-only audit database at `url`; the schema (and its refusals) is created when missing."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.kind, self.target = _parse(url)
        self._ensure_schema()

    def _connect(self) -> Any:
        if self.kind == "sqlite":
            path = Path(self.target)
            if not path.parent.exists():
                raise AuditError(f"audit database {self.url}: folder {path.parent} does not exist")
            try:
                return sqlite3.connect(path, timeout=30, isolation_level=None)
            except sqlite3.Error as exc:
                raise AuditError(f"audit database {self.url}: cannot open: {exc}") from exc
        import psycopg

        try:
            return psycopg.connect(self.target, connect_timeout=10, autocommit=True)
        except psycopg.Error as exc:
            raise AuditError(f"audit database {_redacted(self.url)}: cannot connect: {exc}") from exc

    def _ensure_schema(self) -> None:
        con = self._connect()
        try:
            if self.kind == "sqlite":
                for ddl in _SQLITE_DDL:
                    con.execute(ddl)
                if "person" not in {row[1] for row in con.execute(f"PRAGMA table_info({TABLE})")}:
                    con.execute(_PERSON_COLUMN)
                con.execute(_PERSON_INDEX)
            else:
                with con.transaction():
                    exists = con.execute("SELECT to_regclass(%s)", [TABLE]).fetchone()[0]
                    if exists is None:  # the owner creates it once; an INSERT-only writer never needs to
                        for ddl in _POSTGRES_DDL:
                            con.execute(ddl)
                    has_person = con.execute("SELECT 1 FROM information_schema.columns WHERE table_name = %s "
                                             "AND column_name = 'person' AND table_schema = current_schema()",
                                             [TABLE]).fetchone()
                    if has_person is None:  # a database of an earlier version: its owner adds the column
                        con.execute(_PERSON_COLUMN)
                    if exists is None or has_person is None:
                        con.execute(_PERSON_INDEX)
        except (sqlite3.Error, _pg_error()) as exc:
            raise AuditError(f"audit database {_redacted(self.url)}: cannot prepare: {exc}") from exc
        finally:
            con.close()

    def grant_writer(self, role: str) -> None:
        """PostgreSQL: let `role` (an application's login) append and read records, nothing else."""
        if self.kind != "postgresql":
            raise AuditError("grant_writer is for a PostgreSQL audit database")
        from psycopg import sql

        con = self._connect()
        try:
            with con.transaction():
                con.execute(sql.SQL("REVOKE ALL ON {} FROM {}").format(sql.Identifier(TABLE), sql.Identifier(role)))
                con.execute(sql.SQL("GRANT INSERT, SELECT ON {} TO {}").format(sql.Identifier(TABLE),
                                                                               sql.Identifier(role)))
        finally:
            con.close()

    def append(self, record: AuditRecord) -> None:
        self.append_many([record])

    def append_many(self, records: list[AuditRecord]) -> None:
        """Write `records` in one INSERT (all or none): a request's records cost one round trip, not one each."""
        if not records:
            return
        mark = "?" if self.kind == "sqlite" else "%s"
        values = ", ".join(["(" + ", ".join([mark] * len(COLUMNS)) + ")"] * len(records))
        insert = f"INSERT INTO {TABLE} ({', '.join(COLUMNS)}) VALUES {values}"
        params: list[Any] = []
        for record in records:
            row = record.row()
            if self.kind == "sqlite":
                row = (record.recorded_at.isoformat(timespec="microseconds"), *row[1:])
            params.extend(row)
        if self.kind == "sqlite":  # a SQLite connection is cheap: one per write
            con = self._connect()
            try:
                con.execute(insert, params)
            except sqlite3.Error as exc:
                raise self._unwritten(exc) from exc
            finally:
                con.close()
            return
        for attempt in (1, 2):  # a kept connection the server has since closed: once more on a new one
            try:
                # autocommit: the one INSERT is its own transaction (no BEGIN and COMMIT round trips)
                kept_connection(self.url, self._connect).execute(insert, params)
                return
            except _pg_error() as exc:
                drop_connection(self.url)
                if attempt == 2 or not _is_connection_lost(exc):
                    raise self._unwritten(exc) from exc

    def _unwritten(self, exc: Exception) -> AuditError:
        return AuditError(f"audit database {_redacted(self.url)}: the record could not be written ({exc}); "
                          "nothing was released")

    def _where(self, person: str | None, user: str | None, until: int | None = None) -> tuple[str, list[Any]]:
        mark = "?" if self.kind == "sqlite" else "%s"
        where, params = [], []
        for condition, value in (("person = ", person), ("actor_user = ", user), ("id <= ", until)):
            if value is not None:
                where.append(f"{condition}{mark}")
                params.append(value)
        return (f" WHERE {' AND '.join(where)}" if where else ""), params

    def count(self, *, person: str | None = None, user: str | None = None, until: int | None = None) -> int:
        """How many records `records` would give without a limit."""
        where, params = self._where(person, user, until)
        con = self._connect()
        try:
            return int(con.execute(f"SELECT COUNT(*) FROM {TABLE}{where}", params).fetchone()[0])
        finally:
            con.close()

    def records(self, *, person: str | None = None, user: str | None = None, limit: int | None = None,
                newest_first: bool = False, offset: int = 0, until: int | None = None) -> list[dict[str, Any]]:
        """The records (every one, or those about `person`, or by `user`; none after record `until`), oldest
        first unless `newest_first`, at most `limit` after skipping `offset`, as plain values (times as ISO 8601
        text)."""
        where, params = self._where(person, user, until)
        sql = (f"SELECT id, {', '.join(COLUMNS)} FROM {TABLE}{where}"
               + f" ORDER BY id {'DESC' if newest_first else 'ASC'}"
               + (f" LIMIT {int(limit)}" if limit is not None else (" LIMIT -1" if offset and self.kind == "sqlite"
                                                                    else ""))
               + (f" OFFSET {int(offset)}" if offset else ""))
        con = self._connect()
        try:
            rows = con.execute(sql, params).fetchall()
        finally:
            con.close()
        out = []
        for row in rows:
            record = dict(zip(("id", *COLUMNS), row, strict=True))
            at = record["recorded_at"]
            record["recorded_at"] = at.isoformat() if isinstance(at, datetime) else at
            out.append(record)
        return out


def _is_connection_lost(exc: Exception) -> bool:
    import psycopg

    return isinstance(exc, psycopg.OperationalError | psycopg.InterfaceError)


def _pg_error() -> type[Exception]:
    try:
        import psycopg
    except ImportError:  # pragma: no cover - psycopg is a dependency
        return sqlite3.Error
    return psycopg.Error


def _parse(url: str) -> tuple[str, str]:
    if url.startswith("sqlite:///"):
        return "sqlite", url.removeprefix("sqlite:///") or ""
    if url.startswith(("postgresql://", "postgres://")):
        return "postgresql", url
    raise AuditError(f"audit database {url!r}: use sqlite:///PATH or postgresql://USER@HOST/DATABASE")


def _redacted(url: str) -> str:
    """The URL without its password, for messages."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        credentials, host = rest.rsplit("@", 1)
        return f"{scheme}://{credentials.split(':', 1)[0]}@{host}"
    return url


def sqlite_url(path: Path | str) -> str:
    return f"sqlite:///{Path(path)}"


def beside(store: Path | str) -> str:
    """The default audit database of a store: `<store name>.audit.sqlite` in the same folder."""
    store = Path(store)
    return sqlite_url(store.with_name(f"{store.stem}.audit.sqlite"))


def open_audit(url: str) -> AuditDatabase:
    return AuditDatabase(url)


class Auditor:
    """The only writer of audit records, for one actor. It refuses to exist, or to record, without one.

    `deferred=True` (a web request's auditor) holds the records until `flush()` writes them in one insert;
    the caller flushes before it releases anything (the request's response), and a failed flush releases
    nothing. Otherwise each record is written as it is made."""

    def __init__(self, actor: Actor, database: AuditDatabase | str, *, deferred: bool = False) -> None:
        if not isinstance(actor, Actor):
            raise ActorError("no actor: an audit record names who acted, so nothing is recorded or released")
        self.actor = actor
        self.database = database if isinstance(database, AuditDatabase) else open_audit(database)
        self.deferred = deferred
        self.pending: list[AuditRecord] = []

    def record(self, action: str, what: str, *, people: int | None, destination: str,
               person: str | None = None) -> AuditRecord:
        """One record, written before the release it describes is handed over (no record, no release): now,
        or at the `flush()` of a deferred auditor; `person`: the one person the release is about, if one."""
        who = self.actor
        if not isinstance(who, Actor):
            raise ActorError("no actor: an audit record names who acted")
        if action not in ACTIONS:
            raise ValueError(f"unknown action {action!r}; actions: {', '.join(ACTIONS)}")
        if not what or not destination:
            raise ValueError("an audit record says what was released and where to")
        record = AuditRecord(actor=who, action=action, what=what, people=people, destination=destination,
                             person=person)
        if self.deferred:
            self.pending.append(record)
        else:
            self.database.append(record)
        return record

    def flush(self) -> int:
        """Write the held records in one insert (AuditError if it fails: then release nothing); how many."""
        records, self.pending = self.pending, []
        self.database.append_many(records)
        return len(records)
