"""Validated loading: what a person loading real files meets, with real DuckDB stores."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import nhs_number
import numpy as np
import pytest

from icsys.access import Actor, Auditor
from icsys.access.audit import beside
from icsys.dataset import ingest
from icsys.dataset.ingest import LoadError, LoadRejected
from icsys.dataset.store import Store
from icsys.dataset.validate import nhs_number_valid
from support import assert_clear_error, icsys

MANAGER = Actor("dmitri", ("data_manager",))



def load(store: Store, *args, **kwargs):  # loads by a data manager, audited beside the store
    return ingest.load(store, *args, auditor=Auditor(MANAGER, beside(store.path)), **kwargs)


PERSON_HEADER = ("person_id,nhs_number,sex,birth_date,ethnicity,lsoa_code,imd_decile,practice_code,"
                 "registration_start,registration_end,death_date,place_of_death")
GOOD_PEOPLE = [
    "1,9434765919,F,1950-03-01,A,E01100001,3,G82100,2000-01-01,,,",
    "2,9000871093,M,1988-09-01,H,E01100002,7,G82100,2010-05-05,,,",
]
AE_HEADER = "attendance_id,person_id,site_code,department_type,arrival_time,departure_time,arrival_mode,acuity,disposal"


def writable(path: Path) -> Store:
    return Store.open(path, read_only=False, create=True)


def write(path: Path, header: str, rows: list[str]) -> Path:
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


def counts(db: Path) -> dict[str, int]:
    with duckdb.connect(str(db), read_only=True) as con:
        return {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                for t in ("person", "ae_attendance", "inpatient_spell", "quarantine")}


@pytest.fixture
def store(tmp_path: Path) -> Path:
    db = tmp_path / "store.duckdb"
    report = load(writable(db), "person", write(tmp_path / "people.csv", PERSON_HEADER, GOOD_PEOPLE))
    assert report.loaded == {"person": 2}
    return db


def test_clean_file_loads_with_types(store: Path, tmp_path: Path) -> None:
    rows = ["1,1,RPA02,1,2025-01-06 10:00:00,2025-01-06 13:30:00,walk_in,3,discharged",
            "2,2,RPA02,1,2025-01-06 11:00:00,2025-01-06 17:00:00,ambulance,2,admitted"]
    report = load(writable(store), "ae_attendance", write(tmp_path / "ae.csv", AE_HEADER, rows))
    assert report.loaded == {"ae_attendance": 2} and report.rows_rejected == 0
    with duckdb.connect(str(store), read_only=True) as con:
        hours = con.execute("SELECT epoch(departure_time - arrival_time) / 3600 FROM ae_attendance "
                            "ORDER BY attendance_id").fetchall()
    assert [h[0] for h in hours] == [3.5, 6.0]


@pytest.mark.parametrize(("row", "field", "reason"), [
    ("3,9434765918,F,1950-03-01,A,E01100001,3,G82100,2000-01-01,,,", "nhs_number", "check digit"),
    ("3,94347659,F,1950-03-01,A,E01100001,3,G82100,2000-01-01,,,", "nhs_number", "expected form"),
    ("3,9000000009,X,1950-03-01,A,E01100001,3,G82100,2000-01-01,,,", "sex", "'X' is not a known code"),
    ("3,9000000009,F,1950-03-17,A,E01100001,3,G82100,2000-01-01,,,", "birth_date", "first of a month"),
    ("3,9000000009,F,1950-13-01,A,E01100001,3,G82100,2000-01-01,,,", "birth_date", "is not a date"),
    ("3,9000000009,F,1950-03-01,A,E01100001,11,G82100,2000-01-01,,,", "imd_decile", "above 10"),
    ("3,9000000009,F,1950-03-01,A,E01100001,3,X9999,2000-01-01,,,", "practice_code", "not a practice"),
    ("3,9000000009,,1950-03-01,A,E01100001,3,G82100,2000-01-01,,,", "sex", "missing required value"),
    ("3,9000000009,F,1950-03-01,A,E01100001,3,G82100,1940-01-01,,,", "registration_start", "is before birth_date"),
    ("1,9434765919,F,1950-03-01,A,E01100001,3,G82100,2000-01-01,,,", "person_id", "already in the store"),
])
def test_each_bad_value_is_named_and_nothing_loads(store: Path, tmp_path: Path, row: str, field: str,
                                                    reason: str) -> None:
    before = counts(store)
    good = "4,4000000004,M,1970-01-01,A,E01100001,5,G82100,2001-01-01,,,"
    path = write(tmp_path / "bad.csv", PERSON_HEADER, [good, row])
    with pytest.raises(LoadRejected) as caught:
        load(writable(store), "person", path)
    problems = caught.value.report.problems
    assert any(p.row == 2 and p.field == field and reason in p.reason for p in problems), problems
    assert all(p.row == 2 for p in problems), "the good row has no problem"
    assert counts(store) == before


def test_published_nhs_number_example_and_random_numbers() -> None:
    con = duckdb.connect()
    check = lambda n: con.execute(f"SELECT {nhs_number_valid(repr(n))}").fetchone()[0]  # noqa: E731
    assert check("9434765919") and not check("9434765918")
    rng = np.random.default_rng(3)
    for stem in rng.integers(400_000_000, 499_999_999, 200):
        for last in range(10):
            number = f"{stem}{last}"
            assert check(number) == nhs_number.is_valid(number), number


def test_duplicates_within_the_file(store: Path, tmp_path: Path) -> None:
    rows = ["5,1,RPA02,1,2025-01-06 10:00:00,2025-01-06 13:30:00,walk_in,3,discharged"] * 2
    with pytest.raises(LoadRejected) as caught:
        load(writable(store), "ae_attendance", write(tmp_path / "dup.csv", AE_HEADER, rows))
    assert {p.row for p in caught.value.report.problems} == {1, 2}
    assert "more than once" in caught.value.report.problems[0].reason


def test_reference_and_order_problems(store: Path, tmp_path: Path) -> None:
    rows = ["6,99,RPA02,1,2025-01-06 10:00:00,2025-01-06 13:30:00,walk_in,3,discharged",
            "7,1,RPA02,1,2025-01-06 10:00:00,2025-01-06 09:30:00,walk_in,3,discharged",
            "8,1,RPA02,1,2025-01-06 10:00:00,2025-01-06 11:30:00,on_foot,3,discharged"]
    with pytest.raises(LoadRejected) as caught:
        load(writable(store), "ae_attendance", write(tmp_path / "refs.csv", AE_HEADER, rows))
    by_row = {p.row: p for p in caught.value.report.problems}
    assert by_row[1].field == "person_id" and "does not match any person" in by_row[1].reason
    assert by_row[2].field == "departure_time" and "before arrival_time" in by_row[2].reason
    assert by_row[3].field == "arrival_mode" and "'on_foot'" in by_row[3].reason


def test_allow_rejects_quarantines_bad_rows_verbatim(store: Path, tmp_path: Path) -> None:
    rows = ["9,1,RPA02,1,2025-01-06 10:00:00,2025-01-06 13:30:00,walk_in,3,discharged",
            "10,1,NOPE,1,2025-01-06 10:00:00,2025-01-06 13:30:00,walk_in,3,discharged"]
    report = load(writable(store), "ae_attendance", write(tmp_path / "mixed.csv", AE_HEADER, rows), allow_rejects=True)
    assert report.loaded == {"ae_attendance": 1} and report.rows_rejected == 1
    with duckdb.connect(str(store), read_only=True) as con:
        row, reasons, record = con.execute("SELECT row_number, reasons, record FROM quarantine").fetchone()
    assert row == 2 and "site_code: 'NOPE' is not a site" in reasons
    assert json.loads(record)["site_code"] == "NOPE" and json.loads(record)["attendance_id"] == "10"


@pytest.mark.parametrize(("make", "message"), [
    (lambda p: p.write_text("", encoding="utf-8"), "is empty"),
    (lambda p: p.write_text("a,b\n1,2\n", encoding="utf-8"), "missing required column(s): attendance_id"),
    (lambda p: None, "no such file"),
])
def test_file_level_problems(store: Path, tmp_path: Path, make, message: str) -> None:
    path = tmp_path / "f.csv"
    make(path)
    with pytest.raises(LoadError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load(writable(store), "ae_attendance", path)


def test_failed_first_load_leaves_no_store(tmp_path: Path) -> None:
    db = tmp_path / "new.duckdb"
    with pytest.raises(LoadRejected):
        load(writable(db), "person", write(tmp_path / "p.csv", PERSON_HEADER,
                                           ["1,1,F,1950-03-01,A,E01100001,3,G82100,,,,"]))
    assert not db.exists()


def test_parquet_loads(store: Path, tmp_path: Path) -> None:
    csv = write(tmp_path / "ae.csv", AE_HEADER, ["11,2,RPA02,1,2025-02-01 08:00:00,2025-02-01 09:00:00,walk_in,4,"
                                                 "discharged"])
    parquet = tmp_path / "ae.parquet"
    duckdb.sql(f"COPY (SELECT * FROM read_csv('{csv}', all_varchar = true)) TO '{parquet}'")
    assert load(writable(store), "ae_attendance", parquet).loaded == {"ae_attendance": 1}


def test_killed_load_leaves_the_store_as_it_was(store: Path, tmp_path: Path) -> None:
    rows = [f"{i},1,RPA02,1,2025-01-06 10:00:00,2025-01-06 13:30:00,walk_in,3,discharged"
            for i in range(100, 1_500_100)]
    big = write(tmp_path / "big.csv", AE_HEADER, rows)
    before = counts(store)
    proc = subprocess.Popen([sys.executable, "-m", "icsys", "load", "--db", str(store), "--table", "ae_attendance",
                             str(big)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1.0)
    proc.send_signal(signal.SIGKILL)
    # (start-up and 1.5 M rows at about 1 M rows/s take well over the second slept)
    assert proc.wait() == -signal.SIGKILL, "the load finished before it could be killed"
    assert counts(store) == before


def test_cli_reports_and_exits_2(store: Path, tmp_path: Path) -> None:
    path = write(tmp_path / "bad.csv", AE_HEADER, ["12,1,RPA02,7,2025-01-06 10:00:00,2025-01-06 13:30:00,walk_in,3,"
                                                    "discharged"])
    result = icsys("load", "--db", store, "--table", "ae_attendance", path)
    assert_clear_error(result, "row 1: department_type: '7' is not a known code", "nothing loaded")


def test_every_load_is_logged_with_who_and_what(store: Path, tmp_path: Path) -> None:
    rows = ["13,1,RPA02,1,2025-01-06 10:00:00,2025-01-06 13:30:00,walk_in,3,discharged",
            "14,1,NOPE,1,2025-01-06 10:00:00,2025-01-06 13:30:00,walk_in,3,discharged"]
    report = load(writable(store), "ae_attendance", write(tmp_path / "log.csv", AE_HEADER, rows), allow_rejects=True)
    with pytest.raises(LoadRejected):
        load(writable(store), "ae_attendance", write(tmp_path / "log2.csv", AE_HEADER, rows[1:]))
    with duckdb.connect(str(store), read_only=True) as con:
        log = con.execute("SELECT load_id, loaded_by, table_name, rows_loaded, rows_quarantined FROM load_log "
                          "ORDER BY loaded_at").fetchall()
    assert [r[2:] for r in log] == [("person", 2, 0), ("ae_attendance", 1, 1)], "a rejected load leaves no entry"
    assert log[-1][0] == report.load_id and log[-1][1]


@pytest.mark.parametrize("far", [31, 10**15], ids=["keys close together", "keys far apart"])
def test_a_key_already_in_the_store_is_refused(store: Path, tmp_path: Path, far: int) -> None:
    visit = ",1,RPA02,1,2025-01-06 10:00:00,2025-01-06 13:30:00,walk_in,3,discharged"
    assert load(writable(store), "ae_attendance", write(tmp_path / "a.csv", AE_HEADER, [f"30{visit}", f"{far}{visit}"])
                ).loaded == {"ae_attendance": 2}
    with pytest.raises(LoadRejected) as caught:
        load(writable(store), "ae_attendance", write(tmp_path / "b.csv", AE_HEADER, [f"32{visit}", f"{far}{visit}"]))
    assert [(p.row, p.field, p.reason) for p in caught.value.report.problems] == [
        (2, "attendance_id", f"'{far}' is already in the store")]


def test_a_clean_file_has_the_same_rows_and_figures_however_it_is_checked(store: Path, tmp_path: Path) -> None:
    """A clean file is checked as it is read; the same rows with a code padded by spaces are checked as text
    (and the code trimmed). Both give the same rows, and the figures worked by hand: 16 cells a row, of
    which the 9 of the file are filled (8 where acuity is empty)."""
    rows = ["20,1,RPA02,1,2025-01-06 10:00:00,2025-01-06 13:30:00,walk_in,3,discharged",
            "21,2,RPA02,1,2025-01-31 23:00:00,2025-02-01 01:30:00,walk_in,,discharged",
            "22,1,RPA02,1,2025-02-03 10:00:00,2025-02-03 12:00:00,ambulance,2,admitted"]
    other = tmp_path / "other" / "store.duckdb"
    other.parent.mkdir()
    load(writable(other), "person", write(tmp_path / "people2.csv", PERSON_HEADER, GOOD_PEOPLE))
    load(writable(store), "ae_attendance", write(tmp_path / "clean.csv", AE_HEADER, rows))
    load(writable(other), "ae_attendance", write(tmp_path / "padded.csv", AE_HEADER,
                                                 [rows[0].replace("RPA02", " RPA02 "), *rows[1:]]))
    figures = ("SELECT strftime(month, '%Y-%m'), rows, rows_loaded, rows_linked, cells_expected, cells_filled "
               "FROM load_quality WHERE table_name = 'ae_attendance' ORDER BY month")
    found = []
    for db in (store, other):
        with duckdb.connect(str(db), read_only=True) as con:
            found.append((con.execute("SELECT * FROM ae_attendance ORDER BY attendance_id").fetchall(),
                          con.execute(figures).fetchall()))
    assert found[0] == found[1]
    assert [r[2] for r in found[0][0]] == ["RPA02"] * 3
    assert found[0][1] == [("2025-01", 2, 2, 2, 32, 17), ("2025-02", 1, 1, 1, 16, 9)]
