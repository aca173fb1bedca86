"""The Auditor refuses to record without an actor; the audit database itself refuses to change a record,
on SQLite always and on PostgreSQL when ICSYS_TEST_POSTGRES_URL names one (.ci/run sets it up)."""

from __future__ import annotations

import os
import sqlite3
import uuid
from pathlib import Path

import pytest

from icsys.access import Actor, ActorError, Auditor, open_audit
from icsys.access.audit import AuditError, beside

GRACE = Actor("grace", ("clinician",), organisations=("G82001",), purpose="direct care")


def test_no_auditor_without_an_actor(tmp_path: Path):
    with pytest.raises(ActorError):
        Auditor(None, f"sqlite:///{tmp_path / 'audit.sqlite'}")  # type: ignore[arg-type]


def test_a_record_holds_who_what_why_how_many_and_where(tmp_path: Path):
    auditor = Auditor(GRACE, f"sqlite:///{tmp_path / 'audit.sqlite'}")
    auditor.record("list", "cohort frail as of 2026-03-31", people=7, destination="screen")
    [record] = auditor.database.records()
    assert {k: v for k, v in record.items() if k != "recorded_at"} == {
        "id": 1, "actor_user": "grace", "actor_roles": "clinician", "actor_organisations": "G82001",
        "authentication": "os-user", "action": "list", "purpose": "direct care",
        "what": "cohort frail as of 2026-03-31", "people": 7, "destination": "screen", "person": None}
    assert record["recorded_at"].endswith("+00:00")


def _three_records(auditor: Auditor) -> None:
    auditor.record("read", "care.person", people=1, destination="api", person="P1")
    auditor.record("list", "care.task", people=2, destination="api")
    auditor.record("read", "care.care_plan v2", people=1, destination="api", person="P1")


def test_every_access_to_one_person_is_listed(tmp_path: Path):
    auditor = Auditor(GRACE, f"sqlite:///{tmp_path / 'audit.sqlite'}")
    _three_records(auditor)
    db = auditor.database
    assert [r["what"] for r in db.records(person="P1")] == ["care.person", "care.care_plan v2"]
    assert [r["what"] for r in db.records(person="P1", newest_first=True, limit=1)] == ["care.care_plan v2"]
    assert db.records(person="P2") == []
    assert [r["id"] for r in db.records(user="grace")] == [1, 2, 3]


def test_a_database_of_an_earlier_version_gains_the_person_column(tmp_path: Path):
    path = tmp_path / "audit.sqlite"
    con = sqlite3.connect(path)
    con.execute("""CREATE TABLE audit_record (id INTEGER PRIMARY KEY AUTOINCREMENT, recorded_at TEXT NOT NULL,
        actor_user TEXT NOT NULL, actor_roles TEXT NOT NULL, actor_organisations TEXT NOT NULL,
        authentication TEXT NOT NULL, action TEXT NOT NULL, purpose TEXT, what TEXT NOT NULL, people INTEGER,
        destination TEXT NOT NULL)""")
    con.execute("INSERT INTO audit_record VALUES (1, '2026-01-01', 'old', 'clinician', 'G1', 'os-user', 'read', "
                "NULL, 'person 9', 1, 'screen')")
    con.commit()
    con.close()
    auditor = Auditor(GRACE, f"sqlite:///{path}")
    auditor.record("read", "care.person", people=1, destination="api", person="P9")
    assert [(r["actor_user"], r["person"]) for r in auditor.database.records()] == [("old", None), ("grace", "P9")]


def test_sqlite_refuses_update_and_delete(tmp_path: Path):
    path = tmp_path / "audit.sqlite"
    Auditor(GRACE, f"sqlite:///{path}").record("read", "person 1", people=1, destination="screen")
    con = sqlite3.connect(path)
    for statement in ("UPDATE audit_record SET people = 0", "DELETE FROM audit_record"):
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            con.execute(statement)
    assert con.execute("SELECT people FROM audit_record").fetchall() == [(1,)]
    con.close()


def test_the_default_audit_database_is_beside_the_store(tmp_path: Path):
    assert beside(tmp_path / "km.duckdb") == f"sqlite:///{tmp_path / 'km.audit.sqlite'}"


def test_a_bad_url_is_refused():
    with pytest.raises(AuditError, match="use sqlite:///PATH or postgresql://"):
        open_audit("mysql://nowhere/audit")
    with pytest.raises(AuditError, match="does not exist"):
        open_audit("sqlite:////no/such/folder/audit.sqlite")


POSTGRES = os.environ.get("ICSYS_TEST_POSTGRES_URL")
WRITER = os.environ.get("ICSYS_TEST_POSTGRES_WRITER_URL")
needs_postgres = pytest.mark.skipif(not POSTGRES, reason="ICSYS_TEST_POSTGRES_URL not set (.ci/run sets it)")


@pytest.fixture
def postgres_url() -> str:
    """A fresh schema of the test database, so runs do not see each other's records."""
    import psycopg

    schema = f"audit_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(POSTGRES, autocommit=True) as con:
        con.execute(f"CREATE SCHEMA {schema}")
        if WRITER:
            con.execute(f"GRANT USAGE ON SCHEMA {schema} TO {_user(WRITER)}")
    yield f"{POSTGRES}?options=-csearch_path%3D{schema}"
    with psycopg.connect(POSTGRES, autocommit=True) as con:
        con.execute(f"DROP SCHEMA {schema} CASCADE")


def _user(url: str) -> str:
    return url.split("://", 1)[1].split(":", 1)[0].split("@", 1)[0]


@needs_postgres
def test_postgres_refuses_update_delete_and_truncate(postgres_url: str):
    import psycopg

    auditor = Auditor(GRACE, postgres_url)
    auditor.record("export", "inpatient_spell", people=3, destination="out/spells.parquet")
    with psycopg.connect(postgres_url, autocommit=True) as con:  # the owner of the table, even
        for statement in ("UPDATE audit_record SET people = 0", "DELETE FROM audit_record",
                          "TRUNCATE audit_record"):
            with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
                con.execute(statement)
    [record] = auditor.database.records()
    assert (record["actor_user"], record["people"], record["destination"]) == ("grace", 3, "out/spells.parquet")


@needs_postgres
def test_postgres_lists_one_persons_accesses_on_a_kept_connection(postgres_url: str):
    from icsys.access.audit import _KEPT

    auditor = Auditor(GRACE, postgres_url)
    _three_records(auditor)
    kept = _KEPT.connections[postgres_url]
    auditor.record("read", "care.timeline", people=1, destination="api", person="P1")
    assert _KEPT.connections[postgres_url] is kept  # one connection for the thread, not one per record
    kept.close()  # as when the server ends an idle session: the next record connects again
    auditor.record("read", "care.person", people=1, destination="api", person="P2")
    assert [r["what"] for r in auditor.database.records(person="P1")] == ["care.person", "care.care_plan v2",
                                                                        "care.timeline"]
    assert len(auditor.database.records()) == 5


@needs_postgres
@pytest.mark.skipif(not WRITER, reason="ICSYS_TEST_POSTGRES_WRITER_URL not set (.ci/run sets it)")
def test_postgres_writer_may_only_insert_and_select(postgres_url: str):
    import psycopg

    open_audit(postgres_url).grant_writer(_user(WRITER))
    schema_options = postgres_url.split("?", 1)[1]
    writer_url = f"{WRITER}?{schema_options}"
    Auditor(GRACE, writer_url).record("read", "person 1", people=1, destination="screen")
    assert [r["people"] for r in open_audit(writer_url).records()] == [1]
    with psycopg.connect(writer_url, autocommit=True) as con:
        for statement in ("UPDATE audit_record SET people = 0", "DELETE FROM audit_record",
                          "TRUNCATE audit_record", "DROP TABLE audit_record"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                con.execute(statement)
