"""Refreshes that supersede restated rows, and the data-quality figures, against hand-worked answers."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from icsys.dataset import quality
from icsys.dataset.ingest import LoadRejected
from icsys.dataset.store import Store
from support import assert_clear_error, icsys
from support.extracts import load, write
from support.extracts import rows as sql

PEOPLE = ("person_id,sex,birth_date,ethnicity,practice_code\n"
          "1,F,1950-03-01,A,G82100\n2,M,1988-09-01,H,G82100\n")
EVENTS = "event_id,{key},event_date,snomed_code,value,unit,practice_code\n"


@pytest.fixture
def db(tmp_path: Path) -> Path:
    db = tmp_path / "store.duckdb"
    assert load(db, "person", write(tmp_path / "people.csv", PEOPLE)).loaded == {"person": 2}
    return db


def test_a_refresh_supersedes_the_rows_it_restates(db: Path, tmp_path: Path) -> None:
    january = EVENTS.format(key="person_id") + "1,1,2025-01-10,38341003,150,mm[Hg],G82100\n" \
        "2,1,2025-01-20,38341003,140,mm[Hg],G82100\n"
    load(db, "clinical_event", write(tmp_path / "jan.csv", january))
    restated = EVENTS.format(key="person_id") + "2,1,2025-01-20,38341003,160,mm[Hg],G82100\n" \
        "3,2,2025-02-03,38341003,130,mm[Hg],G82100\n"
    path = write(tmp_path / "feb.csv", restated)
    with pytest.raises(LoadRejected) as caught:  # without --refresh a restated row is a duplicate
        load(db, "clinical_event", path)
    assert "already in the store" in caught.value.report.problems[0].reason
    report = load(db, "clinical_event", path, refresh=True)
    # the refresh restates January whole: event 1, which it omits, goes with event 2, which it restates
    assert report.loaded == {"clinical_event": 2} and report.rows_replaced == 2
    assert report.replaced_months == {"clinical_event": ["2025-01"]}
    assert sql(db, "SELECT event_id, value FROM clinical_event ORDER BY 1") == [(2, 160.0), (3, 130.0)]
    assert sql(db, f"SELECT row_key, month::VARCHAR FROM load_replaced WHERE load_id = '{report.load_id}' "
               "ORDER BY 1") == [("1", "2025-01-01"), ("2", "2025-01-01")]
    assert sql(db, f"SELECT rows_replaced FROM load_log WHERE load_id = '{report.load_id}'") == [(2,)]


def test_a_refresh_keeps_the_months_it_does_not_restate(db: Path, tmp_path: Path) -> None:
    """December and January loaded; a refresh of January alone (one row, a new key) leaves December as it was
    and replaces both January rows."""
    first = EVENTS.format(key="person_id") + "1,1,2024-12-10,38341003,150,mm[Hg],G82100\n" \
        "2,1,2025-01-20,38341003,140,mm[Hg],G82100\n4,2,2025-01-31,38341003,120,mm[Hg],G82100\n"
    load(db, "clinical_event", write(tmp_path / "first.csv", first))
    january = EVENTS.format(key="person_id") + "5,2,2025-01-03,38341003,125,mm[Hg],G82100\n"
    report = load(db, "clinical_event", write(tmp_path / "jan.csv", january), refresh=True)
    assert report.rows_replaced == 2 and report.replaced_months == {"clinical_event": ["2025-01"]}
    assert sql(db, "SELECT event_id, value FROM clinical_event ORDER BY 1") == [(1, 150.0), (5, 125.0)]


def test_a_refused_refresh_replaces_nothing(db: Path, tmp_path: Path) -> None:
    load(db, "clinical_event", write(tmp_path / "jan.csv", EVENTS.format(key="person_id") +
                                     "1,1,2025-01-10,38341003,150,mm[Hg],G82100\n"))
    bad = EVENTS.format(key="person_id") + "1,1,2025-01-10,38341003,170,mm[Hg],G82100\n" \
        "2,1,2025-01-11,123,,,G82100\n"
    with pytest.raises(LoadRejected):
        load(db, "clinical_event", write(tmp_path / "bad.csv", bad), refresh=True)
    assert sql(db, "SELECT event_id, value FROM clinical_event") == [(1, 150.0)]
    assert sql(db, "SELECT count(*) FROM load_replaced") == [(0,)]


def _two_loads(db: Path, tmp_path: Path) -> tuple:
    """Load A creates person 3 from token T1 (January, 5 of 7 cells). Load B (kept apart, rejects allowed):
    January: T1 (7 cells) linked and loaded, T2 not linked (apart); February: T1 with a SNOMED code of
    5 digits (invalid, quarantined), T1 (5 of 7 cells) loaded."""
    first = EVENTS.format(key="person_token") + "1,T1,2025-01-05,38341003,,,G82100\n"
    a = load(db, "clinical_event", write(tmp_path / "a.csv", first), link="create", source="gp")
    second = EVENTS.format(key="person_token") + "10,T1,2025-01-10,38341003,150,mm[Hg],G82100\n" \
        "11,T2,2025-01-20,38341003,,,G82100\n12,T1,2025-02-03,12345,,,G82100\n13,T1,2025-02-14,38341003,,,G82100\n"
    b = load(db, "clinical_event", write(tmp_path / "b.csv", second), link="apart", source="gp", allow_rejects=True)
    return a, b


def _late(month_end: date) -> int:
    return (date.today() - month_end).days


def test_the_figures_of_one_load(db: Path, tmp_path: Path) -> None:
    _, b = _two_loads(db, tmp_path)
    keys = ("month", "rows", "rows_loaded", "rows_quarantined", "rows_unlinked", "rows_linked", "cells_expected",
            "cells_filled", "days_after_month_end")
    assert [tuple(q[k] for k in keys) for q in b.quality] == [
        ("2025-01-01", 2, 1, 0, 1, 1, 7, 7, _late(date(2025, 1, 31))),
        ("2025-02-01", 2, 1, 1, 0, 2, 7, 5, _late(date(2025, 2, 28))),
    ]


def test_the_figures_of_the_store_by_source_and_month(db: Path, tmp_path: Path) -> None:
    _two_loads(db, tmp_path)
    with Store.open(db) as store:
        figures = quality.report(store)
    events = [r for r in figures["by_month"] if r["table_name"] == "clinical_event"]
    # January: 3 rows in two loads; 2 loaded, none invalid; 12 of 14 cells; 2 of 3 rows linked.
    # February: 2 rows; 1 loaded, 1 invalid; 5 of 7 cells; both linked.
    got = [(r["source"], r["month"], r["loads"], r["rows"], r["validity"], r["completeness"], r["linkage_rate"])
           for r in events]
    assert got == [("gp", "2025-01", 2, 3, 1.0, 0.8571, 0.6667), ("gp", "2025-02", 1, 2, 0.5, 0.7143, 1.0)]
    assert events[1]["median_days_after_month_end"] == _late(date(2025, 2, 28))
    assert {"table_name": "clinical_event", "reason": "snomed_code: '…' does not have the expected form",
            "rows": 1} in figures["quarantined"]


def test_cli_writes_the_table_and_the_page(db: Path, tmp_path: Path) -> None:
    _two_loads(db, tmp_path)
    out = tmp_path / "dq"
    result = icsys("data-quality", "--db", db, "--out", out)
    assert result.returncode == 0, result.stderr
    rows = (out / "data_quality.csv").read_text(encoding="utf-8").splitlines()
    assert rows[0].startswith("source,table_name,month,loads,rows") and len(rows) == 1 + 3  # person, Jan, Feb
    page = (out / "data_quality.html").read_text(encoding="utf-8")
    assert "85.7%" in page and "66.7%" in page and "T1" not in page and "12345" not in page
    assert json.loads((out / "data_quality.json").read_text(encoding="utf-8"))["by_month"]
    assert_clear_error(icsys("data-quality", "--db", db, "--out", out, "--load", "nope"), "no load 'nope'")


def test_an_extract_refresh_replaces_the_months_it_restates(tmp_path: Path) -> None:
    """HES APC: spells of March (person 1) and April (person 2) loaded; a refresh restating March with one spell
    (numbered on load, so it restates by month, not key) supersedes spell 1 and leaves April's spell 2."""
    from support.extracts import store_with_people

    store = store_with_people(tmp_path)
    source = Path(__file__).parents[1] / "fixtures" / "extracts" / "hes_apc_episodes.csv"
    load(store, None, source, fmt="hes-apc")
    header = source.read_text(encoding="utf-8").splitlines()[0]
    march = write(tmp_path / "march.csv", header + "\n9434765919,1003,1,2025-03-02,RPA,RPA02,RPA02,2025-03-02,"
                  "1000,2025-03-04,1200,21,1,300,300,I500,19,restated\n")
    report = load(store, None, march, fmt="hes-apc", refresh=True)
    assert report.loaded == {"inpatient_spell": 1} and report.rows_replaced == 1
    assert report.replaced_months == {"inpatient_spell": ["2025-03"]}
    assert sql(store, "SELECT spell_id, person_id, admission_time::VARCHAR FROM inpatient_spell ORDER BY 1") == \
        [(2, 2, "2025-04-10 00:00:00"), (3, 1, "2025-03-02 10:00:00")]
    assert sql(store, f"SELECT row_key, month::VARCHAR FROM load_replaced WHERE load_id = '{report.load_id}'") == \
        [("1", "2025-03-01")]
