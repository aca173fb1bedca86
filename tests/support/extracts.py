"""Loading extracts in tests: as a data manager, audited beside the store, onto two people of the store."""

from __future__ import annotations

from pathlib import Path

import duckdb

from icsys.access import Actor, Auditor
from icsys.access.audit import beside
from icsys.dataset import ingest
from icsys.dataset.store import Store

MANAGER = Actor("dmitri", ("data_manager",))
PEOPLE = ("person_id,nhs_number,sex,birth_date,ethnicity,lsoa_code,imd_decile,practice_code,registration_start\n"
          "1,9434765919,F,1950-03-01,A,E01100001,3,G82100,2000-01-01\n"
          "2,9000871093,M,1988-09-01,H,E01100002,7,G82100,2010-05-05\n")


def load(db: Path, *args, **kwargs):
    """ingest.load on the store at `db` (made if new), by a data manager."""
    store = Store.open(db, read_only=False, create=True)
    return ingest.load(store, *args, auditor=Auditor(MANAGER, beside(store.path)), **kwargs)


def write(path: Path, text: str) -> Path:
    """`text` written to `path` as UTF-8; the path, to hand to a load."""
    path.write_text(text, encoding="utf-8")
    return path


def rows(db: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql).fetchall()


def store_with_people(tmp_path: Path) -> Path:
    """A store holding the two PEOPLE (NHS numbers linked in its re-identification store)."""
    people = tmp_path / "people.csv"
    people.write_text(PEOPLE, encoding="utf-8")
    db = tmp_path / "s.duckdb"
    load(db, "person", people)
    return db
